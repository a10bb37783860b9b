"""Collector throughput: messages stored per second with nothing lost, against real servers.

For each run: a fresh mosquitto and victoria-metrics; the collector's persistent session is
created, N QoS 1 meter messages are pre-loaded into it while it is away, then the collector
starts and the clock runs until every message is stored and acknowledged. The same backlog is
then drained by a *reference* subscriber written the way most tutorials do it (paho with
automatic acks, influxdb-client ``Point`` objects, batches of 5000 written synchronously).
Every run reconciles what was stored by device and sequence number.

Run alone: ``.venv/bin/python benchmarks/bench_collector.py --messages 200000 --runs 3``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS
from paho.mqtt.enums import CallbackAPIVersion

from collector import Collector, CollectorConfig, EmbeddedStore
from tests.collector.helpers import messages, publish_all
from tests.servers import Mosquitto, VictoriaMetrics

DEVICES = 250


def _create_session(port: int, client_id: str, topic: str = "+/+/+/+/+/+") -> None:
    """Connect once with a persistent session and subscribe, so the broker queues for it."""
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    client.on_subscribe = lambda *_: done.set()
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    client.subscribe(topic, qos=1)
    done.wait(10)
    client.disconnect()
    client.loop_stop()


async def _run_collector(config: CollectorConfig, total: int) -> float:
    stop = asyncio.Event()
    async with Collector(config) as collector:
        start = time.perf_counter()
        task = asyncio.create_task(collector.run(stop))
        while collector.stats().acked < total:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - start
        stop.set()
        await task
        assert collector.stats().written == total
    return elapsed


def _vm_reconcile(vm: VictoriaMetrics, devices: int, per_device: int) -> bool:
    series = vm.export('{__name__="energy_meter_seq"}')
    seqs: dict[str, list[float]] = {}
    for s in series:
        seqs.setdefault(s["metric"]["device_id"], []).extend(s["values"])
    return len(seqs) == devices and all(
        sorted(v) == list(range(per_device)) for v in seqs.values())


def _reference(port: int, url: str, total: int) -> float:
    """Drain the backlog the usual way: paho auto-ack + influxdb-client Points, 5000 per write."""
    client_db = InfluxDBClient(url=url, token="x", org="o")  # noqa: S106
    write_api = client_db.write_api(write_options=SYNCHRONOUS)
    buffer: list[Point] = []
    count = 0
    done = threading.Event()
    start = time.perf_counter()

    def on_message(_client: Any, _userdata: Any, message: Any) -> None:
        nonlocal count
        parts = message.topic.split("/")
        body = json.loads(message.payload)
        point: Any = Point("energy_meter")  # type: ignore[no-untyped-call]
        point = (point.tag("park", parts[0]).tag("site", parts[1])
                 .tag("asset_type", parts[3]).tag("device_id", parts[4])
                 .field("seq", body["seq"]).time(body["ts"]))
        for key, value in body["readings"].items():
            point.field(key, value)
        buffer.append(point)
        count += 1
        if len(buffer) >= 5000 or count == total:
            write_api.write(bucket="b", record=buffer)
            buffer.clear()
        if count == total:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="reference",
                         protocol=mqtt.MQTTv5)
    client.on_message = on_message
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    start = time.perf_counter()
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.subscribe("+/+/+/+/+/+", qos=1)
    client.loop_start()
    done.wait(600)
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    write_api.close()  # type: ignore[no-untyped-call]
    client_db.close()  # type: ignore[no-untyped-call]
    return elapsed


def one_run(total: int, workdir: Path) -> dict[str, Any]:
    """Measure the collector (into VM and DuckDB) and the reference on fresh servers."""
    per_device = total // DEVICES
    items = messages(DEVICES, per_device)
    total = len(items)
    result: dict[str, Any] = {}
    for target in ("victoria_metrics", "duckdb", "reference"):
        with Mosquitto(workdir / target / "mq") as broker, \
                VictoriaMetrics(workdir / target / "vm") as vm:
            client_id = "reference" if target == "reference" else "bench-collector"
            _create_session(broker.port, client_id)
            publish_all(broker.port, items)
            if target == "reference":
                elapsed = _reference(broker.port, vm.url, total)
                ok = _vm_reconcile(vm, DEVICES, per_device)
            else:
                config = CollectorConfig(
                    mqtt_port=broker.port, client_id=client_id,
                    influx_url=vm.url if target == "victoria_metrics" else "",
                    influx_org="o", influx_bucket="b", influx_token="x",  # noqa: S106
                    db_path=workdir / target / "park.duckdb",
                    dead_letter_path=workdir / target / "dl.jsonl").validate()
                elapsed = asyncio.run(_run_collector(config, total))
                if target == "victoria_metrics":
                    ok = _vm_reconcile(vm, DEVICES, per_device)
                else:
                    with EmbeddedStore(config.db_path) as store:
                        counts = store.count_by_device()
                    ok = len(counts) == DEVICES and all(
                        c == (per_device, 0, per_device - 1, per_device)
                        for c in counts.values())
            result[target] = {"seconds": elapsed, "msg_per_s": total / elapsed, "complete": ok}
    return result


def measure_collector(messages_total: int = 200_000, runs: int = 3) -> dict[str, Any]:
    """Return median msg/s into VictoriaMetrics and DuckDB, the reference's, and the ratios.

    Args:
        messages_total: QoS 1 meter messages pre-loaded per run (about 540 bytes each).
        runs: repetitions; medians are reported.
    """
    with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
        all_runs = [one_run(messages_total, Path(tmp) / f"run{index}") for index in range(runs)]
    medians = {t: statistics.median(r[t]["msg_per_s"] for r in all_runs)
               for t in ("victoria_metrics", "duckdb", "reference")}
    return {
        "messages": messages_total,
        "runs": runs,
        "collector_victoria_metrics_msg_per_s": round(medians["victoria_metrics"]),
        "collector_duckdb_msg_per_s": round(medians["duckdb"]),
        "reference_paho_influxdb_client_msg_per_s": round(medians["reference"]),
        "ratio_victoria_metrics_vs_reference": round(
            medians["victoria_metrics"] / medians["reference"], 2),
        "ratio_duckdb_vs_reference": round(medians["duckdb"] / medians["reference"], 2),
        "nothing_lost": all(r[t]["complete"] for r in all_runs for t in r),
        "per_run": all_runs,
    }


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(orjson.dumps(measure_collector(args.messages, args.runs),
                       option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
