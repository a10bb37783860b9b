"""The collector against real servers: mosquitto in, DuckDB and victoria-metrics out."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson
import pytest

from collector import Collector, CollectorConfig, EmbeddedStore
from collector.observability import health_report
from collector.sinks import MemorySink
from collector.source import MqttConnectError
from collector.store import DeadLetter
from parkwire import Message
from tests.collector.helpers import MALFORMED, messages, publish_all, telemetry
from tests.servers import Mosquitto, VictoriaMetrics

pytestmark = pytest.mark.integration


def _config(tmp_path: Path, broker: Mosquitto, **kw: object) -> CollectorConfig:
    base: dict[str, object] = {"mqtt_port": broker.port, "client_id": "it-collector",
                               "batch_size": 500, "batch_interval_s": 0.1,
                               "db_path": tmp_path / "park.duckdb",
                               "dead_letter_path": tmp_path / "dead.jsonl",
                               "buffer_dir": tmp_path / "buffer"}
    base.update(kw)
    return CollectorConfig(**base).validate()  # type: ignore[arg-type]


async def _collect(collector: Collector, items: Sequence[tuple[str, bytes]], port: int,
                   expected: int) -> None:
    """Run *collector*, publish *items* once it is subscribed, stop when all are acked."""
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    end = time.monotonic() + 60
    while not collector.stats().connected:
        assert time.monotonic() < end
        assert not task.done()
        await asyncio.sleep(0.02)
    await asyncio.to_thread(publish_all, port, list(items))
    while collector.stats().acked < expected:
        assert time.monotonic() < end, collector.stats()
        await asyncio.sleep(0.02)
    stop.set()
    await task


async def test_every_message_reaches_duckdb_once_and_bad_ones_are_dead_lettered(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    """Published valid messages are all in DuckDB exactly once; malformed ones dead-lettered."""
    items = messages(20, 50)
    bad = [(t, p) for t, p, _ in MALFORMED]
    config = _config(tmp_path, mosquitto)
    async with Collector(config) as collector:
        await _collect(collector, items + bad, mosquitto.port, len(items) + len(bad))
        stats = collector.stats()
    assert (stats.written, stats.invalid, stats.dead_lettered) == (1000, 5, 5)
    with EmbeddedStore(config.db_path) as store:
        counts = store.count_by_device()
        dead = store.query("SELECT reason, count(*) FROM dead_letter GROUP BY 1 ORDER BY 1")
    assert counts == {f"mtr-{d:03d}": (50, 0, 49, 50) for d in range(20)}
    assert dead == [("invalid_json", 2), ("out_of_range", 1), ("unencodable", 1),
                    ("unknown_asset_type", 1)]
    lines = (tmp_path / "dead.jsonl").read_bytes().splitlines()
    assert sorted(orjson.loads(x)["reason"] for x in lines) == sorted(r for *_, r in MALFORMED)


async def test_victoria_metrics_stores_every_message_with_escaped_tags(
        tmp_path: Path, mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics) -> None:
    """Through /api/v2/write every seq of every device arrives, odd device ids included."""
    odd = "mtr a,b=c"
    items = messages(10, 30) + [telemetry(odd, seq) for seq in range(30)]
    config = _config(tmp_path, mosquitto, influx_url=victoria_metrics.url, influx_org="o",
                     influx_bucket="b", influx_token="t")  # noqa: S106
    async with Collector(config) as collector:
        await _collect(collector, items, mosquitto.port, len(items))
    series = victoria_metrics.export('{__name__="energy_meter_seq"}')
    seqs: dict[str, list[float]] = {}
    for s in series:
        assert s["metric"]["park"] == "refpark"
        seqs.setdefault(s["metric"]["device_id"], []).extend(s["values"])
    assert set(seqs) == {f"mtr-{d:03d}" for d in range(10)} | {odd}
    assert all(sorted(v) == list(range(30)) for v in seqs.values())
    power = victoria_metrics.export('{__name__="energy_meter_p_kw",device_id="mtr-001"}')
    assert power[0]["values"][0] == pytest.approx(500.0)


async def test_restart_picks_up_messages_published_while_down(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    """The persistent session queues messages while the collector is stopped."""
    config = _config(tmp_path, mosquitto)
    async with Collector(config) as collector:
        await _collect(collector, messages(5, 10), mosquitto.port, 50)
    await asyncio.to_thread(publish_all, mosquitto.port,
                            [telemetry(f"mtr-{d:03d}", s) for s in range(10, 30) for d in range(5)])
    async with Collector(config) as collector:
        stop = asyncio.Event()
        task = asyncio.create_task(collector.run(stop))
        end = time.monotonic() + 30
        while collector.stats().acked < 100:
            assert time.monotonic() < end, collector.stats()
            await asyncio.sleep(0.02)
        stop.set()
        await task
    with EmbeddedStore(config.db_path) as store:
        assert store.count_by_device() == {f"mtr-{d:03d}": (30, 0, 29, 30) for d in range(5)}


class _SlowSink(MemorySink):
    """Records the collector's queue depth at every write, and writes slowly."""

    def __init__(self) -> None:
        super().__init__()
        self.collector: Collector | None = None
        self.depths: list[int] = []

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        assert self.collector is not None
        self.depths.append(self.collector.stats().queue_depth)
        time.sleep(0.02)
        super().write(messages, dead_letters)


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_unacknowledged_messages_stay_bounded(
        tmp_path: Path, mosquitto: Mosquitto, protocol: str) -> None:
    """max_pending back-pressure bounds what is held, for both protocol versions.

    mosquitto 2.0.11 with ``max_inflight_messages 0`` sends more than the client's v5 Receive
    Maximum (900 in flight for a maximum of 200 was observed), so the collector's own bound is
    the one that holds.
    """
    config = _config(tmp_path, mosquitto, mqtt_protocol=protocol, receive_maximum=200,
                     batch_size=100, max_pending=300)
    sink = _SlowSink()
    collector = Collector(config, sink=sink)
    sink.collector = collector
    await _collect(collector, messages(10, 200), mosquitto.port, 2000)
    assert len(sink.messages) == 2000
    assert max(sink.depths) <= 300
    assert collector.stats().paused > 0


async def test_unreachable_broker_fails_with_a_clear_message(tmp_path: Path) -> None:
    """Starting against a port where nothing listens raises MqttConnectError naming it."""
    config = CollectorConfig(mqtt_port=1, db_path=tmp_path / "p.duckdb",
                             dead_letter_path=tmp_path / "d.jsonl",
                             buffer_dir=tmp_path / "buffer").validate()
    with pytest.raises(MqttConnectError, match=r"127\.0\.0\.1:1"):
        await Collector(config, sink=MemorySink()).run(asyncio.Event())


async def test_broker_restart_reconnects_and_loses_nothing(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    """After the broker restarts the collector reconnects and every message is stored."""
    config = _config(tmp_path, mosquitto)
    async with Collector(config) as collector:
        stop = asyncio.Event()
        task = asyncio.create_task(collector.run(stop))
        end = time.monotonic() + 60
        while not collector.stats().connected:
            assert time.monotonic() < end
            await asyncio.sleep(0.02)
        await asyncio.to_thread(publish_all, mosquitto.port, messages(5, 20))
        while collector.stats().acked < 100:
            assert time.monotonic() < end
            await asyncio.sleep(0.02)
        await asyncio.to_thread(mosquitto.restart)
        while not collector.stats().connected:
            assert time.monotonic() < end, "no reconnect"
            await asyncio.sleep(0.05)
        later = [telemetry(f"mtr-{d:03d}", s) for s in range(20, 40) for d in range(5)]
        await asyncio.to_thread(publish_all, mosquitto.port, later)
        while collector.stats().written < 200:
            assert time.monotonic() < end, collector.stats()
            await asyncio.sleep(0.02)
        stop.set()
        await task
    with EmbeddedStore(config.db_path) as store:
        counts = store.count_by_device()
    assert {d: (lo, hi, n) for d, (_, lo, hi, n) in counts.items()} == {
        f"mtr-{d:03d}": (0, 39, 40) for d in range(5)}


def test_smartpark_collect_stops_cleanly_on_sigterm(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """`smartpark collect` stores what it got, prints a summary and exits 0 on SIGTERM."""
    import signal
    import subprocess
    import sys

    code = ("import sys; from collector.cli import register; import argparse; "
            "p = argparse.ArgumentParser(); register(p.add_subparsers()); "
            "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))")
    db = tmp_path / "p.duckdb"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "collect", "--mqtt-port", str(mosquitto.port),
         "--db", str(db), "--dead-letter", str(tmp_path / "d.jsonl"), "--progress",
         "--client-id", "cli-test", "--buffer-dir", str(tmp_path / "buffer")],
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        assert process.stderr is not None
        while "connected to" not in process.stderr.readline():
            assert time.monotonic() < deadline
        publish_all(mosquitto.port, messages(3, 10))
        time.sleep(1.5)  # at least one batch interval, so the status line has run too
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "received 30, written 30" in err
    with EmbeddedStore(db) as store:
        assert sum(c for c, *_ in store.count_by_device().values()) == 30


def _export_recent(vm: VictoriaMetrics, match: str) -> list[dict[str, object]]:
    """Export *match* including the last 30 s, which /api/v1/export leaves out by default."""
    vm.flush()
    query = urllib.parse.urlencode({"match[]": match, "end": int(time.time()) + 3600})
    with urllib.request.urlopen(f"{vm.url}/api/v1/export?{query}",  # noqa: S310
                                timeout=10) as resp:
        return [orjson.loads(line) for line in resp.read().splitlines()]


async def _wait(predicate: Callable[[], object], what: str, limit: float = 30.0) -> None:
    end = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < end, what
        await asyncio.sleep(0.02)


async def test_database_down_at_start_and_mid_run_buffers_then_stores_everything_once(
        tmp_path: Path, mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics) -> None:
    """Started with victoria-metrics down, then an outage mid-run: all acked, all stored once."""
    await asyncio.to_thread(victoria_metrics.stop)
    config = _config(tmp_path, mosquitto, influx_url=victoria_metrics.url, influx_org="o",
                     influx_bucket="b", influx_token="t",  # noqa: S106
                     retry_initial_s=0.05, retry_max_s=0.3, stats_interval_s=0.2,
                     influx_timeout_s=2.0)
    async with Collector(config) as collector:
        stop = asyncio.Event()
        task = asyncio.create_task(collector.run(stop))
        await _wait(lambda: collector.stats().connected, "not connected")
        await asyncio.to_thread(publish_all, mosquitto.port, messages(10, 20))
        await _wait(lambda: collector.stats().acked == 200, "not acked while the db is down")
        stats = collector.stats()
        assert (stats.buffered, stats.written, stats.sink_reachable) == (200, 0, False)
        status, body = health_report(stats, collector.sink_name())
        assert (status, body["database"]) == (503, {"reachable": False})
        await asyncio.to_thread(victoria_metrics.start)
        await _wait(lambda: collector.stats().written == 200, "backlog not drained")
        await asyncio.to_thread(victoria_metrics.stop)  # a second outage, mid-run
        later = [telemetry(f"mtr-{d:03d}", s) for s in range(20, 40) for d in range(10)]
        await asyncio.to_thread(publish_all, mosquitto.port, later)
        await _wait(lambda: collector.stats().acked == 400, "not acked in the second outage")
        await asyncio.to_thread(victoria_metrics.start)
        await _wait(lambda: collector.stats().written == 400
                    and collector.stats().buffer_messages == 0, "second backlog not drained")
        assert health_report(collector.stats(), "influx")[0] == 200
        await asyncio.sleep(0.6)  # three stats intervals with the database up
        stop.set()
        await task
    seqs: dict[str, list[float]] = {}
    for series in victoria_metrics.export('{__name__="energy_meter_seq"}'):
        seqs.setdefault(series["metric"]["device_id"], []).extend(series["values"])
    assert seqs == {f"mtr-{d:03d}": [float(s) for s in range(40)] for d in range(10)}
    # The counters are recent points, which the export hides unless asked up to a later end.
    points = await asyncio.to_thread(_export_recent, victoria_metrics,
                                     '{__name__=~"collector_.*"}')
    names = {p["metric"]["__name__"] for p in points}  # type: ignore[index]
    assert {"collector_received", "collector_buffered", "collector_buffer_messages",
            "collector_sink_reachable"} <= names
    assert {p["metric"]["client_id"] for p in points} == {"it-collector"}  # type: ignore[index]


def test_sigterm_drains_the_open_batch_and_everything_acked_is_stored(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    """SIGTERM with a batch still open: it is stored and acked, exit 0; nothing is lost."""
    import re
    import signal
    import subprocess
    import sys

    db = tmp_path / "p.duckdb"
    argv = [sys.executable, "-m", "smartpark", "collect", "--mqtt-port", str(mosquitto.port),
            "--db", str(db), "--dead-letter", str(tmp_path / "d.jsonl"),
            "--buffer-dir", str(tmp_path / "buffer"), "--client-id", "sigterm-test",
            "--batch-size", "5000", "--batch-interval", "60", "--drain-timeout", "10"]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        assert process.stderr is not None
        while "connected to" not in process.stderr.readline():
            assert time.monotonic() < deadline
        publish_all(mosquitto.port, messages(5, 60))
        time.sleep(0.5)  # delivered, but the 60 s batch interval keeps them unwritten
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    match = re.search(r"acknowledged ([\d,]+)", err)
    assert match is not None, err
    acked = int(match.group(1).replace(",", ""))
    assert acked > 0
    with EmbeddedStore(db) as store:
        assert sum(c for c, *_ in store.count_by_device().values()) == acked
    # Whatever was not acknowledged is still in the broker's session: a second run gets it.
    config = _config(tmp_path, mosquitto, client_id="sigterm-test", db_path=db)

    async def second_run() -> None:
        async with Collector(config) as collector:
            stop = asyncio.Event()
            task = asyncio.create_task(collector.run(stop))
            await _wait(lambda: collector.stats().connected, "not connected")
            await asyncio.sleep(0.5)
            stop.set()
            await task

    asyncio.run(second_run())
    with EmbeddedStore(db) as store:
        assert store.count_by_device() == {f"mtr-{d:03d}": (60, 0, 59, 60) for d in range(5)}
