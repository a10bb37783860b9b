"""Fault tests: real mosquitto (persistent), real victoria-metrics, exact accounting by seq.

Each test publishes meter telemetry at QoS 1 with a per-device sequence number, injects one
fault while messages flow, then reconciles what the broker acknowledged to the publisher with
what victoria-metrics stored (:mod:`tests.collector.reconcile`): nothing missing, one point
per device and timestamp, each stored seq where its timestamp puts it, and the collector's
memory within its bound. victoria-metrics runs with deduplication (InfluxDB's overwrite
semantics), so a redelivered message rewrites the same point; the raw export proves every
such rewrite carried the same value.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.collector.reconcile import (
    RunningCollector,
    SeqPublisher,
    influx_config,
    reconcile,
    wait_stored,
)
from tests.proxy import LatencyProxy
from tests.servers import Mosquitto, VictoriaMetrics, peak_rss_kib

pytestmark = pytest.mark.integration

DEVICES = 20
#: Resident memory the collector process may reach (it holds at most max_pending messages).
RSS_LIMIT_KIB = 400 * 1024


def _start_collect(tmp_path: Path, broker: Mosquitto, vm: VictoriaMetrics,
                   run: int) -> tuple[subprocess.Popen[bytes], Path]:
    """Start `smartpark collect` into *vm*; return the process once it is subscribed."""
    log = tmp_path / f"collect-{run}.log"
    env = {**os.environ, "INFLUX_ORG": "park", "INFLUX_BUCKET": "telemetry",
           "INFLUX_TOKEN": "test-token"}
    binary = Path(sys.executable).parent / "smartpark"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(binary), "collect", "--mqtt-port", str(broker.port), "--client-id",
             "kill9-collector", "--influx-url", vm.url, "--batch-size", "500",
             "--batch-interval", "0.1", "--max-pending", "2000",
             "--dead-letter", str(tmp_path / "dead.jsonl"),
             "--buffer-dir", str(tmp_path / "buffer")],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 30
    while b"connected to" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"smartpark collect did not connect: {log.read_text()}")
        time.sleep(0.02)
    return process, log


def test_kill_9_of_the_collector_mid_stream_loses_nothing(
        tmp_path: Path, mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics) -> None:
    """SIGKILL while writing, then a restart: every acknowledged message stored exactly once."""
    process, _ = _start_collect(tmp_path, mosquitto, victoria_metrics, 1)
    try:
        with SeqPublisher(mosquitto.port, DEVICES) as publisher:
            publisher.publish_rounds(100, 0.002)
            deadline = time.monotonic() + 30
            while not victoria_metrics.export('{__name__="energy_meter_seq"}'):
                assert time.monotonic() < deadline, "nothing stored before the kill"
                time.sleep(0.05)
            publisher.publish_rounds(100)  # a backlog the dying collector is working through
            peak = peak_rss_kib(process.pid)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            publisher.publish_rounds(50)  # queued in the session while no collector runs
            publisher.wait_acked()
            process, _ = _start_collect(tmp_path, mosquitto, victoria_metrics, 2)
            asyncio.run(wait_stored(victoria_metrics, publisher.acked))
            peak = max(peak, peak_rss_kib(process.pid))
        result = reconcile(victoria_metrics, publisher.acked, publisher.attempted())
    finally:
        process.kill()
        process.wait(timeout=10)
    print(result.summary(), f"peak RSS {peak} KiB")  # figures, shown by pytest -rP
    assert result.exact, result.summary()
    assert result.published == DEVICES * 250
    assert peak < RSS_LIMIT_KIB


async def test_broker_restart_while_the_collector_waits_on_a_stalled_database(
        tmp_path: Path, mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics,
        vm_proxy: LatencyProxy) -> None:
    """The broker restarts while the collector is paused behind a stalled write: nothing lost."""
    config = influx_config(tmp_path, mosquitto.port, f"http://127.0.0.1:{vm_proxy.port}",
                           max_pending=1000, influx_timeout_s=2.0)
    async with RunningCollector(config) as run:
        with SeqPublisher(mosquitto.port, DEVICES) as publisher:
            vm_proxy.stall()
            await asyncio.to_thread(publisher.publish_rounds, 100)  # 2,000: beyond max_pending
            await run.wait(lambda: run.collector.stats().paused > 0, 20, "never paused")
            await asyncio.to_thread(mosquitto.restart)
            await asyncio.to_thread(publisher.publish_rounds, 50)
            vm_proxy.release()
            await run.wait(lambda: run.source.reconnects >= 1, 30, "no reconnect")
            await asyncio.to_thread(publisher.wait_acked)
            await wait_stored(victoria_metrics, publisher.acked)
        result = await asyncio.to_thread(reconcile, victoria_metrics, publisher.acked,
                                         publisher.attempted())
    print(result.summary(), f"max queue {run.max_depth}")  # figures, shown by pytest -rP
    assert result.exact, result.summary()
    assert result.published == DEVICES * 150
    assert run.max_depth <= config.max_pending


async def test_database_down_for_30_seconds_loses_nothing(
        tmp_path: Path, mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics) -> None:
    """victoria-metrics stopped for 30 s under a steady stream: retries, back-pressure, no loss."""
    config = influx_config(tmp_path, mosquitto.port, victoria_metrics.url)
    async with RunningCollector(config) as run:
        with SeqPublisher(mosquitto.port, DEVICES) as publisher:
            await asyncio.to_thread(publisher.publish_rounds, 20)
            await wait_stored(victoria_metrics, publisher.acked)
            await asyncio.to_thread(victoria_metrics.stop)
            # 30 s of outage with the park still reporting: 20 devices every 0.25 s.
            await asyncio.to_thread(publisher.publish_rounds, 120, 0.25)
            await asyncio.to_thread(victoria_metrics.start)
            await asyncio.to_thread(publisher.wait_acked)
            await wait_stored(victoria_metrics, publisher.acked)
        stats = run.collector.stats()
        result = await asyncio.to_thread(reconcile, victoria_metrics, publisher.acked,
                                         publisher.attempted())
    print(result.summary(), f"max queue {run.max_depth}, retries {stats.retries}, buffered "
          f"{stats.buffered}, drained {stats.drained}, paused {stats.paused}")  # pytest -rP
    assert result.exact, result.summary()
    assert result.published == DEVICES * 140
    assert stats.retries + stats.buffered > 0  # the outage was seen
    assert run.max_depth <= config.max_pending


async def test_slow_database_loses_nothing_and_stays_bounded(
        tmp_path: Path, mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics,
        vm_proxy: LatencyProxy) -> None:
    """Every write delayed (and once stalled for 2 s): back-pressure holds memory, no loss."""
    config = influx_config(tmp_path, mosquitto.port, f"http://127.0.0.1:{vm_proxy.port}",
                           max_pending=1000, influx_timeout_s=10.0)
    vm_proxy.delay_s = 0.1
    async with RunningCollector(config) as run:
        with SeqPublisher(mosquitto.port, DEVICES) as publisher:
            await asyncio.to_thread(publisher.publish_rounds, 150)
            vm_proxy.stall()
            await asyncio.sleep(2.0)
            vm_proxy.release()
            await asyncio.to_thread(publisher.publish_rounds, 50)
            await asyncio.to_thread(publisher.wait_acked)
            await wait_stored(victoria_metrics, publisher.acked)
        stats = run.collector.stats()
        result = await asyncio.to_thread(reconcile, victoria_metrics, publisher.acked,
                                         publisher.attempted())
    print(result.summary(), f"max queue {run.max_depth}, retries {stats.retries}, buffered "
          f"{stats.buffered}, drained {stats.drained}, paused {stats.paused}")  # pytest -rP
    assert result.exact, result.summary()
    assert result.published == DEVICES * 200
    assert run.max_depth <= config.max_pending


async def test_broker_killed_with_sigkill_keeps_what_it_had_saved(
        tmp_path: Path, mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics) -> None:
    """Queued for an absent collector, autosaved, then kill -9 of mosquitto: all stored.

    mosquitto writes its persistence file every second here (autosave_interval 1, 10 in the
    compose stack); what it acknowledged after its last save dies with a SIGKILL. That is the
    broker's durability boundary, not the collector's, so the test waits past one save.
    """
    config = influx_config(tmp_path, mosquitto.port, victoria_metrics.url)
    async with RunningCollector(config):
        pass  # creates the persistent session, then leaves
    with SeqPublisher(mosquitto.port, DEVICES) as publisher:
        await asyncio.to_thread(publisher.publish_rounds, 50)
        await asyncio.to_thread(publisher.wait_acked)
    await asyncio.sleep(2.5)  # past the next autosave
    await asyncio.to_thread(mosquitto.restart, hard=True)
    async with RunningCollector(config) as run:
        assert run.source.session_present
        await wait_stored(victoria_metrics, publisher.acked)
    result = await asyncio.to_thread(reconcile, victoria_metrics, publisher.acked,
                                     publisher.attempted())
    print(result.summary(), f"max queue {run.max_depth}")  # figures, shown by pytest -rP
    assert result.exact, result.summary()
    assert result.published == DEVICES * 50
