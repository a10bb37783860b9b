"""Simulator publishing throughput through a real mosquitto, against two references.

Three publishers send the same refpark payloads (generated once by the engine) to a fresh
mosquitto; a ``mosquitto_sub`` subscriber counts receipt, so "published" means the broker
got the message and passed it on. Each publisher's figure is messages / seconds from its
first publish until the subscriber has them all.

* ``smartpark``: the simulator's own path (:class:`simulator.publisher.GatewayPublisher`),
  one call per simulation step, as ``smartpark simulate`` does.
* ``bare_paho``: the simplest paho-mqtt 2.x loop: ``loop_start()`` then ``publish()`` per
  message (at QoS 1, paho's inflight limit raised to 1000 and at most 1000 outstanding).
* ``mosquitto_pub``: the C client, ``mosquitto_pub -l`` fed the payload lines on stdin. It
  publishes every line to ONE topic (that is how ``-l`` works); topics are about as long.

A run in which the subscriber did not get every message within 20 s of the publisher
finishing is left out of the rate and counted in ``messages_lost`` (``mosquitto_pub -l`` at
QoS 1 can exit before its queue is flushed).

Run ``python benchmarks/bench_publish.py`` (or ``benchmarks/run.py``). Medians of --runs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from simulator.encode import status_payload
from simulator.engine import Engine
from simulator.mqtt import ConnectOptions
from simulator.publisher import GatewayPublisher, PublisherSettings
from simulator.scenario import load_scenario
from tests.servers import Mosquitto, require_binary

T0 = 1_772_384_400_000  # 2026-03-02T00:00:00+07:00


def refpark_steps(messages: int) -> list[list[tuple[str, bytes]]]:
    """Generate about *messages* refpark messages, grouped per step."""
    engine = Engine(load_scenario("refpark"), 7, T0)
    steps = max(1, -(-messages // len(engine.devices)))
    window = engine.generate(steps)
    msgs = window.messages()
    bounds = window.step_bounds()
    return [msgs[bounds[k]:bounds[k + 1]] for k in range(steps)]


class _Counter:
    """A mosquitto_sub that exits after *total* messages; one payload line each in a file."""

    def __init__(self, port: int, total: int, qos: int, sink: Path) -> None:
        self.sink = sink
        with sink.open("wb") as out:
            self.proc = subprocess.Popen(
                [require_binary("mosquitto_sub"), "-p", str(port), "-t", "#", "-q", str(qos),
                 "-C", str(total)], stdout=out)
        time.sleep(0.3)  # let the subscription register

    def wait(self, grace_s: float = 20.0) -> tuple[float, int]:
        """Return (time all arrived, count); after *grace_s* without them, give up."""
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        done = time.perf_counter()
        return done, self.sink.read_bytes().count(b"\n")


def _ours(port: int, steps: list[list[tuple[str, bytes]]], qos: int) -> float:
    async def go() -> float:
        settings = PublisherSettings(ConnectOptions(port=port, client_id="bench-ours"), qos=qos)
        pub = GatewayPublisher(settings, "bench/gateway/status", [],
                               status_payload=status_payload, now_ms=lambda: T0)
        await pub.start()
        start = time.perf_counter()
        for step in steps:
            await pub.publish(step)
        await pub.close()
        return start
    return asyncio.run(go())


def _paho(port: int, steps: list[list[tuple[str, bytes]]], qos: int) -> float:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-paho")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    start = time.perf_counter()
    # paho loses messages once more than 65,535 wait for acknowledgement (message ids wrap),
    # so even the bare loop has to bound what is outstanding at QoS 1/2.
    outstanding: collections.deque[paho.MQTTMessageInfo] = collections.deque()
    for step in steps:
        for topic, payload in step:
            outstanding.append(client.publish(topic, payload, qos))
            if qos and len(outstanding) >= 1000:
                outstanding.popleft().wait_for_publish(timeout=600)
    for info in outstanding:
        info.wait_for_publish(timeout=600)
    client.disconnect()
    client.loop_stop()
    return start


def _mosquitto_pub(port: int, steps: list[list[tuple[str, bytes]]], qos: int) -> float:
    topic = steps[0][0][0]
    data = b"".join(payload + b"\n" for step in steps for _, payload in step)
    start = time.perf_counter()
    subprocess.run([require_binary("mosquitto_pub"), "-p", str(port), "-t", topic, "-l",
                    "-q", str(qos)], input=data, check=True)
    return start


PUBLISHERS = {"smartpark": _ours, "bare_paho": _paho, "mosquitto_pub": _mosquitto_pub}


def measure_publish(messages: int = 100_000, runs: int = 3,
                    qos_levels: tuple[int, ...] = (0, 1)) -> dict[str, Any]:
    """Return median msg/s per publisher and QoS, and smartpark's ratios to the references."""
    steps = refpark_steps(messages)
    total = sum(len(s) for s in steps)
    payload_bytes = statistics.mean(len(p) for _, p in steps[0])
    result: dict[str, Any] = {"messages": total, "runs": runs,
                              "mean_payload_bytes": round(payload_bytes)}
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        for qos in qos_levels:
            rates: dict[str, list[float]] = {name: [] for name in PUBLISHERS}
            lost: dict[str, int] = dict.fromkeys(PUBLISHERS, 0)
            for run in range(runs):
                for name, publish in PUBLISHERS.items():
                    work = Path(tmp) / f"q{qos}-{run}-{name}"
                    with Mosquitto(work) as broker:
                        counter = _Counter(broker.port, total, qos, Path(tmp) / f"{work.name}.txt")
                        start = publish(broker.port, steps, qos)
                        done, got = counter.wait()
                    lost[name] += total - got
                    if got == total:
                        rates[name].append(total / (done - start))
            med = {name: statistics.median(r) if r else float("nan") for name, r in rates.items()}
            result[f"qos{qos}"] = {
                **{f"{name}_msg_per_s": round(v) if r else None
                   for (name, v), r in zip(med.items(), rates.values(), strict=True)},
                "ratio_vs_bare_paho": round(med["smartpark"] / med["bare_paho"], 2),
                "ratio_vs_mosquitto_pub": round(med["smartpark"] / med["mosquitto_pub"], 2),
                "messages_lost": lost,
                "per_run": {name: [round(v) for v in r] for name, r in rates.items()},
            }
    return result


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(orjson.dumps(measure_publish(args.messages, args.runs),
                       option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
