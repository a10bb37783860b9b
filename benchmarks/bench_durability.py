"""Durability benchmarks: sustained ingest, backlog drain and outage-buffer drain, real servers.

The collector runs in its own process (this module's ``_collect`` child: the in-process
:class:`collector.Collector` with the sink the settings select, wrapped to count write
requests), so its peak memory is its own and it does not share a GIL with the publisher. The
publisher is a second child (``_publish``: the simulator's :class:`GatewayPublisher`).
mosquitto 2.0.11 (persistence on, explicit limits) and victoria-metrics 1.79.5 come from
``tests.servers``; DuckDB is the collector's embedded store. Messages are meter telemetry from
the generator ``bench_collector`` uses (250 devices, 19 readings, about 540 bytes).

Scenarios (each on fresh servers):

1. ``sustained``: the collector is up; a publisher pushes N QoS 1 messages as fast as it can;
   the rate is N / (first publish .. last message stored and acknowledged).
2. ``drain``: N QoS 1 messages wait in the broker for the collector's persistent session;
   the collector starts; the rate is N / (start .. all stored). Reported with the number of
   write requests (counted at the sink and, for victoria-metrics, by the server), the largest
   batch, the most writes in flight at once and the collector's peak RSS, next to what a
   naive per-message writer would do (a 2,000-message sample, extrapolated).
3. ``outage``: live traffic at a fixed rate; victoria-metrics is stopped for a few seconds
   (the collector buffers on disk), then started again; the time until the buffer is empty.

References in the same run: the same pipeline with DuckDB's ``fsync_mode = 'none'``; the
same collector fed QoS 0 (the collector has no QoS setting; it subscribes at QoS 1, so a QoS 0
publish is delivered at QoS 0: no acknowledgements at all); and the paho + influxdb-client
subscriber of ``bench_collector`` (acknowledges on receipt).

Run alone: ``.venv/bin/python -m benchmarks.bench_durability --messages 100000``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from collector import Collector, CollectorConfig, EmbeddedStore
from collector.mapping import LineEncoder
from collector.service import build_sink
from collector.sinks.base import Sink
from collector.stats import CollectorStats
from collector.store import DeadLetter
from parkwire import Message, decode
from tests.collector.helpers import messages, publish_all
from tests.servers import Mosquitto, VictoriaMetrics, peak_rss_kib

ROOT = Path(__file__).resolve().parent.parent
DEVICES = 250
TOPIC_FILTER = "+/+/+/+/+/+"
#: Messages the naive per-message writer is timed on (its rate is extrapolated to N).
NAIVE_SAMPLE = 2_000
#: The paho + influxdb-client reference is slow (about 4,000 msg/s): cap its backlog.
REFERENCE_CAP = 50_000


class CountingSink:
    """Wraps a sink to count write requests, the largest batch and writes in flight at once."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.name = inner.name
        self.writes = 0
        self.max_batch = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        """Forward one batch, counting it (failed attempts count too: each is a request)."""
        with self._lock:
            self.writes += 1
            self.max_batch = max(self.max_batch, len(messages))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self.inner.write(messages, dead_letters)
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self) -> None:
        """Close the wrapped sink."""
        self.inner.close()


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _bench_collector() -> Any:
    """Return ``benchmarks.bench_collector`` (its session helper and reference subscriber).

    Loaded by name: mypy checks ``benchmarks/`` files as top-level modules, so a static
    ``from benchmarks.bench_collector import ...`` would make it see that file twice.
    """
    return importlib.import_module("benchmarks.bench_collector")


def _create_session(port: int, client_id: str) -> None:
    _bench_collector()._create_session(port, client_id, TOPIC_FILTER)


# -- child processes --------------------------------------------------------------------------


class _Watch:
    """Samples the collector's counters and notes when each phase of a scenario happened."""

    def __init__(self, out: dict[str, Any], expected: int, stall_s: float) -> None:
        self.out = out
        self.expected = expected
        self.stall_s = stall_s
        self.ready = False
        self.last_written = -1
        self.last_change = time.monotonic()
        self.buffer_peak = 0
        self.was_down = False

    def finished(self, stats: CollectorStats) -> bool:
        """Record this sample; True once everything is stored (or nothing moved for long)."""
        out, now = self.out, time.monotonic()
        if not self.ready and stats.connected:
            self.ready = True
            print("ready", flush=True)
        if stats.received:
            out.setdefault("first_received_at", now)
        if stats.buffer_messages > self.buffer_peak:
            self.buffer_peak = stats.buffer_messages
            out.setdefault("first_buffered_at", now)
            out.setdefault("written_before_buffering", stats.written)
            out["buffer_peak_at"] = now
        if stats.sink_reachable is False:
            self.was_down = True
        elif self.was_down and stats.sink_reachable:
            out.setdefault("sink_back_at", now)
        if self.buffer_peak and not stats.buffer_messages:
            out.setdefault("buffer_empty_at", now)
        if stats.written != self.last_written:
            self.last_written, self.last_change = stats.written, now
        done = (stats.written >= self.expected and not stats.queue_depth
                and not stats.buffer_messages)
        if done or now - self.last_change > self.stall_s:
            out["all_stored_at"] = now
            out["complete"] = done
            return True
        return False


async def _collect(spec: dict[str, Any]) -> dict[str, Any]:
    """The collector child: run until *expected* messages are stored, sampling its counters."""
    work = Path(spec["workdir"])
    config = CollectorConfig(
        mqtt_port=spec["port"], client_id=spec["client_id"], topic=TOPIC_FILTER,
        influx_url=spec.get("vm_url", ""), influx_org="o", influx_bucket="b",
        influx_token="x",  # noqa: S106 - victoria-metrics ignores the token
        db_path=work / "park.duckdb", dead_letter_path=work / "dl.jsonl",
        buffer_dir=work / "buffer", stats_interval_s=0).validate()
    inner = build_sink(config)
    if not spec.get("fsync", True):
        # Not a product setting: the store keeps DuckDB's default. Set here, on the store's
        # own connection, only to show what the commit's fsync costs.
        inner.store.query("SET fsync_mode = 'none'")  # type: ignore[attr-defined]
    sink = CountingSink(inner)
    expected = int(spec["expected"])
    out: dict[str, Any] = {}
    stop = asyncio.Event()
    async with Collector(config, sink=sink) as collector:
        out["rss_start_kib"] = _rss_kib()
        out["retry_max_s"] = config.retry_max_s
        out["run_started_at"] = time.monotonic()
        task = asyncio.create_task(collector.run(stop))
        watch = _Watch(out, expected, float(spec.get("stall_s", 60)))
        while not watch.finished(collector.stats()):
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        stop.set()
        await task
        final = collector.stats()
    out.update(received=final.received, written=final.written, acked=final.acked,
               batches=final.batches, buffered=final.buffered, drained=final.drained,
               retries=final.retries, paused=final.paused,
               buffer_peak_messages=watch.buffer_peak,
               sink_writes=sink.writes, largest_batch=sink.max_batch,
               max_writes_in_flight=sink.max_in_flight,
               # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent
               # across exec, so it would report the benchmark's own peak.
               peak_rss_kib=peak_rss_kib(os.getpid()))
    return out


async def _publish(spec: dict[str, Any]) -> dict[str, Any]:
    """The publisher child: publish the generator's messages, one step (all devices) at a time.

    With ``rate`` > 0 the steps are paced to that many messages per second (live traffic);
    otherwise they go as fast as the publisher can.
    """
    from simulator.encode import status_payload
    from simulator.mqtt import ConnectOptions
    from simulator.publisher import GatewayPublisher, PublisherSettings

    items = messages(DEVICES, spec["per_device"])
    steps = [items[k:k + DEVICES] for k in range(0, len(items), DEVICES)]
    settings = PublisherSettings(ConnectOptions(port=spec["port"], client_id="bench-pub"),
                                 qos=spec["qos"], close_timeout_s=120)
    publisher = GatewayPublisher(settings, "bench/gateway/status", [],
                                 status_payload=status_payload, now_ms=lambda: 0)
    await publisher.start()
    print("started", flush=True)
    interval = DEVICES / spec["rate"] if spec.get("rate") else 0.0
    start = time.monotonic()
    for index, step in enumerate(steps):
        if interval:
            delay = start + index * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await publisher.publish(step)
    sent = time.monotonic()
    await publisher.close()  # waits for the broker's acknowledgements at QoS 1
    return {"first_publish_at": start, "last_publish_at": sent,
            "publisher_done_at": time.monotonic()}


def _child(kind: str, spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_durability", kind, orjson.dumps(spec).decode()],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)


def _result(proc: subprocess.Popen[str], timeout: float = 600) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        msg = f"benchmark child exited with {proc.returncode}"
        raise RuntimeError(msg)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    result: dict[str, Any] = orjson.loads(lines[-1])
    return result


def _start_collector(spec: dict[str, Any]) -> subprocess.Popen[str]:
    proc = _child("_collect", spec)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        proc.wait()
        msg = "the collector child did not connect"
        raise RuntimeError(msg)
    return proc


# -- checks -----------------------------------------------------------------------------------


def _missing_vm_once(vm: VictoriaMetrics, per_device: int) -> int:
    present: dict[str, set[float]] = {}
    for series in vm.export('{__name__="energy_meter_seq"}'):
        present.setdefault(series["metric"]["device_id"], set()).update(series["values"])
    wanted = set(map(float, range(per_device)))
    return sum(len(wanted - present.get(f"mtr-{d:03d}", set())) for d in range(DEVICES))


#: How many export attempts (1 s apart) before victoria-metrics' count of a pair is final.
VM_EXPORT_ATTEMPTS = 5
#: Missing pairs seen at the first export, per run, when a later export found them. Observed
#: once on 1.79.5 (before this retry existed): 20,000 of 100,000 points absent from the export
#: right after the drain (force_flush done), although all 20 writes had succeeded. Retrying
#: tells a point that became visible late from one that was lost.
VM_LATE_VISIBLE: list[int] = []


def _missing_vm(vm: VictoriaMetrics, per_device: int) -> int:
    """Return how many (device, seq) pairs victoria-metrics does not hold.

    The export is repeated (up to :data:`VM_EXPORT_ATTEMPTS`) while something is missing;
    what only a later export showed is recorded in :data:`VM_LATE_VISIBLE`.
    """
    first = missing = _missing_vm_once(vm, per_device)
    for _ in range(VM_EXPORT_ATTEMPTS - 1):
        if not missing:
            break
        time.sleep(1)
        missing = _missing_vm_once(vm, per_device)
    if first != missing:
        VM_LATE_VISIBLE.append(first - missing)
    return missing


def _missing_duckdb(path: Path, per_device: int) -> int:
    """Return how many (device, seq) pairs the DuckDB store does not hold."""
    with EmbeddedStore(path, read_only=True) as store:
        counts = store.count_by_device()
    return DEVICES * per_device - sum(c[3] for c in counts.values())


def _vm_write_requests(vm: VictoriaMetrics) -> int:
    """Return the write requests victoria-metrics itself counted on its InfluxDB endpoints."""
    with urllib.request.urlopen(f"{vm.url}/metrics", timeout=10) as resp:  # noqa: S310
        text = resp.read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith("vm_http_requests_total{") and "write" in line and "influx" in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def _missing(target: str, vm: VictoriaMetrics, work: Path, per_device: int) -> int:
    if target == "victoria_metrics":
        return _missing_vm(vm, per_device)
    return _missing_duckdb(work / "park.duckdb", per_device)


def _summary(child: dict[str, Any], start_key: str, total: int) -> dict[str, Any]:
    seconds = child["all_stored_at"] - child[start_key]
    return {"seconds": round(seconds, 2), "msg_per_s": round(total / seconds),
            "received": child["received"], "written": child["written"],
            "redelivered": child["received"] - total, "sink_writes": child["sink_writes"],
            "largest_batch": child["largest_batch"],
            "max_writes_in_flight": child["max_writes_in_flight"], "paused": child["paused"],
            "collector_rss_start_mib": round(child["rss_start_kib"] / 1024, 1),
            "collector_peak_rss_mib": round(child["peak_rss_kib"] / 1024, 1)}


# -- scenarios --------------------------------------------------------------------------------


def sustained(work: Path, target: str, per_device: int, *, qos: int = 1,
              fsync: bool = True) -> dict[str, Any]:
    """Collector up, publisher pushing N messages at *qos* as fast as it can; end-to-end rate."""
    total = DEVICES * per_device
    with Mosquitto(work / "mq") as broker, VictoriaMetrics(work / "vm") as vm:
        _create_session(broker.port, "bench-durable")
        spec = {"port": broker.port, "client_id": "bench-durable", "workdir": str(work),
                "expected": total, "fsync": fsync, "stall_s": 20,
                "vm_url": vm.url if target == "victoria_metrics" else ""}
        collector = _start_collector(spec)
        publisher = _result(_child("_publish", {"port": broker.port, "per_device": per_device,
                                                "qos": qos}))
        child = _result(collector)
        figures = _summary(child, "run_started_at", total)
        seconds = child["all_stored_at"] - publisher["first_publish_at"]
        figures.update(
            seconds=round(seconds, 2), msg_per_s=round(total / seconds),
            publisher_msg_per_s=round(
                total / (publisher["last_publish_at"] - publisher["first_publish_at"])),
            stored_after_last_publish_s=round(
                child["all_stored_at"] - publisher["last_publish_at"], 2),
            missing=_missing(target, vm, work, per_device), complete=child["complete"])
    return figures


def drain(work: Path, target: str, per_device: int) -> dict[str, Any]:
    """N messages queued for the collector's session, then the collector started."""
    total = DEVICES * per_device
    with Mosquitto(work / "mq") as broker, VictoriaMetrics(work / "vm") as vm:
        _create_session(broker.port, "bench-durable")
        publish_all(broker.port, messages(DEVICES, per_device))
        spec = {"port": broker.port, "client_id": "bench-durable", "workdir": str(work),
                "expected": total, "vm_url": vm.url if target == "victoria_metrics" else ""}
        child = _result(_start_collector(spec))
        figures = _summary(child, "run_started_at", total)
        figures["missing"] = _missing(target, vm, work, per_device)
        figures["complete"] = child["complete"]
        if target == "victoria_metrics":
            figures["database_write_requests"] = _vm_write_requests(vm)
            figures["database_peak_rss_mib"] = round(peak_rss_kib(vm.pid) / 1024, 1)
    return figures


def naive(work: Path, target: str, total: int, size: int = NAIVE_SAMPLE) -> dict[str, Any]:
    """Time a per-message writer on a sample: one request (VM) or transaction (DuckDB) each."""
    items = messages(DEVICES, -(-size // DEVICES))[:size]
    sample = [decode(topic, payload) for topic, payload in items]
    with VictoriaMetrics(work / "vm") as vm:
        start = time.perf_counter()
        if target == "victoria_metrics":
            encoder = LineEncoder()
            url = f"{vm.url}/api/v2/write?org=o&bucket=b&precision=ms"
            for message in sample:
                # A new connection and one HTTP request per message, as some bridges do.
                request = urllib.request.Request(  # noqa: S310 - a loopback http URL
                    url, data=encoder.encode(message).encode(), method="POST")
                with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                    pass
        else:
            with EmbeddedStore(work / "naive.duckdb") as store:
                for message in sample:
                    store.insert([message])  # one committed (fsynced) transaction each
        seconds = time.perf_counter() - start
    rate = len(sample) / seconds
    return {"sample_messages": len(sample), "sample_msg_per_s": round(rate),
            "write_requests_for_n": total, "extrapolated_seconds_for_n": round(total / rate, 1)}


def outage(work: Path, live_rate: int, outage_s: float, total_s: float) -> dict[str, Any]:
    """Live traffic into victoria-metrics; the database stopped for *outage_s*, then back."""
    per_device = max(1, round(live_rate * total_s / DEVICES))
    total = DEVICES * per_device
    with Mosquitto(work / "mq") as broker, VictoriaMetrics(work / "vm") as vm:
        _create_session(broker.port, "bench-durable")
        spec = {"port": broker.port, "client_id": "bench-durable", "workdir": str(work),
                "expected": total, "vm_url": vm.url, "stall_s": 120}
        collector = _start_collector(spec)
        publisher = _child("_publish", {"port": broker.port, "per_device": per_device,
                                        "qos": 1, "rate": live_rate})
        assert publisher.stdout is not None
        publisher.stdout.readline()  # "started": connected, about to publish
        time.sleep(min(3.0, total_s / 4))  # live traffic reaches the database first
        vm.stop()
        down_at = time.monotonic()
        time.sleep(outage_s)
        vm.start()
        up_at = time.monotonic()
        published = _result(publisher)
        child = _result(collector)
        missing = _missing_vm(vm, per_device)
    buffered = child["buffered"]
    back = child.get("sink_back_at", up_at)
    empty = child.get("buffer_empty_at", child["all_stored_at"])
    return {
        "live_msg_per_s": live_rate, "messages": total,
        "live_published_msg_per_s": round(
            total / (published["last_publish_at"] - published["first_publish_at"])),
        "outage_s": round(up_at - down_at, 2),
        "written_before_outage": child.get("written_before_buffering", 0),
        "buffered_messages": buffered,
        "buffer_peak_messages": child["buffer_peak_messages"],
        # The collector probes the database after its back-off delay (full jitter, doubling
        # from retry.initial_s up to retry.max_s), so it notices the return this much later;
        # live traffic goes to the buffer meanwhile.
        "retry_max_s": child["retry_max_s"],
        "first_write_after_restart_s": round(back - up_at, 2),
        "buffer_empty_after_restart_s": round(empty - up_at, 2),
        "drain_msg_per_s": round(buffered / (empty - back)) if empty > back else None,
        "sink_writes": child["sink_writes"], "retries": child["retries"],
        "largest_batch": child["largest_batch"],
        "max_writes_in_flight": child["max_writes_in_flight"],
        "collector_peak_rss_mib": round(child["peak_rss_kib"] / 1024, 1),
        "received": child["received"], "written": child["written"],
        "missing": missing, "complete": child["complete"],
    }


def reference(work: Path, per_device: int) -> dict[str, Any]:
    """The paho + influxdb-client subscriber of bench_collector draining the same backlog."""
    total = DEVICES * per_device
    with Mosquitto(work / "mq") as broker, VictoriaMetrics(work / "vm") as vm:
        _create_session(broker.port, "reference")
        publish_all(broker.port, messages(DEVICES, per_device))
        seconds = float(_bench_collector()._reference(broker.port, vm.url, total))
        missing = _missing_vm(vm, per_device)
    return {"messages": total, "seconds": round(seconds, 2),
            "msg_per_s": round(total / seconds), "missing": missing}


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the run with the median rate (all of a run's figures stay together)."""
    ordered = sorted(runs, key=lambda r: r["msg_per_s"])
    return {**ordered[len(ordered) // 2],
            "per_run_msg_per_s": [r["msg_per_s"] for r in runs]}


def measure_durability(messages: int = 100_000, runs: int = 1, *, live_rate: int = 5_000,
                       outage_s: float = 8.0, outage_total_s: float = 20.0,
                       naive_sample: int = NAIVE_SAMPLE) -> dict[str, Any]:
    """Run every durability scenario and its references; return JSON-able figures.

    Args:
        messages: N for the sustained and drain scenarios (rounded to whole steps of 250).
        runs: repetitions of the sustained and drain scenarios (the median-rate run is shown).
        live_rate: msg/s of live traffic in the outage scenario.
        outage_s: how long victoria-metrics is down in the outage scenario.
        outage_total_s: how long the outage scenario publishes.
        naive_sample: messages the per-message writers are timed on.
    """
    per_device = max(1, messages // DEVICES)
    total = DEVICES * per_device
    targets = ("duckdb", "victoria_metrics")
    result: dict[str, Any] = {"messages": total, "runs": runs, "devices": DEVICES,
                              "collector_process": "child process, in-process Collector"}
    VM_LATE_VISIBLE.clear()
    with tempfile.TemporaryDirectory(prefix="bench-durability-") as tmp:
        base = Path(tmp)

        def run(name: str, scenario: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return _median_run([scenario(base / f"{name}-{k}", *args, **kwargs)
                                for k in range(runs)])

        result["sustained"] = {t: run(f"sus-{t}", sustained, t, per_device) for t in targets}
        result["drain"] = {t: run(f"drain-{t}", drain, t, per_device) for t in targets}
        result["naive_per_message"] = {t: naive(base / f"naive-{t}", t, total, naive_sample)
                                       for t in targets}
        result["outage"] = outage(base / "outage", live_rate, outage_s, outage_total_s)
        result["without_durability"] = {
            "duckdb_fsync_off_sustained": run("nofsync", sustained, "duckdb", per_device,
                                              fsync=False),
            "qos0_sustained": {t: run(f"q0-{t}", sustained, t, per_device, qos=0)
                               for t in targets},
            "paho_influxdb_client_drain": reference(
                base / "reference", min(per_device, REFERENCE_CAP // DEVICES)),
        }
    without = result["without_durability"]
    result["ratios"] = {
        "sustained_duckdb_vs_fsync_off": round(
            result["sustained"]["duckdb"]["msg_per_s"]
            / without["duckdb_fsync_off_sustained"]["msg_per_s"], 2),
        **{f"sustained_{t}_vs_qos0": round(
            result["sustained"][t]["msg_per_s"] / without["qos0_sustained"][t]["msg_per_s"], 2)
           for t in targets},
        "drain_victoria_metrics_vs_paho_influxdb_client": round(
            result["drain"]["victoria_metrics"]["msg_per_s"]
            / without["paho_influxdb_client_drain"]["msg_per_s"], 2),
        # A per-message writer makes N requests; this is how many of those one batch replaces.
        **{f"drain_{t}_naive_requests_per_collector_request": round(
            total / result["drain"][t]["sink_writes"]) for t in targets},
    }
    result["victoria_metrics_late_visible_points"] = list(VM_LATE_VISIBLE)
    result["nothing_lost"] = all(
        r["missing"] == 0 for r in (*result["sustained"].values(), *result["drain"].values(),
                                    result["outage"]))
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point (``_collect`` and ``_publish`` are the children's)."""
    args_in = sys.argv[1:] if argv is None else argv
    if args_in and args_in[0] in ("_collect", "_publish"):
        spec = orjson.loads(args_in[1])
        child = _collect if args_in[0] == "_collect" else _publish
        print(orjson.dumps(asyncio.run(child(spec))).decode(), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--live-rate", type=int, default=5_000,
                        help="msg/s of live traffic during the outage scenario")
    parser.add_argument("--outage-s", type=float, default=8.0)
    parser.add_argument("--outage-total-s", type=float, default=20.0)
    parser.add_argument("--naive-sample", type=int, default=NAIVE_SAMPLE)
    args = parser.parse_args(args_in)
    figures = measure_durability(args.messages, args.runs, live_rate=args.live_rate,
                                 outage_s=args.outage_s, outage_total_s=args.outage_total_s,
                                 naive_sample=args.naive_sample)
    print(orjson.dumps(figures,
                       option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
