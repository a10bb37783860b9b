"""The Collector pipeline with a fake source and in-memory sinks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from collector import Collector
from collector.service import check_storable
from collector.sinks import FaultySink, MemorySink
from parkwire import Channel, Domain, Event, Topic, encode
from tests.collector.fakes import FakeSource
from tests.collector.helpers import MALFORMED, T0, fast_config, telemetry, wait_until


async def test_valid_and_invalid_messages_are_stored_then_acked_in_order(tmp_path: Path) -> None:
    """Every message is acked in arrival order only after its batch was written."""
    source, sink = FakeSource(), MemorySink()
    collector = Collector(fast_config(tmp_path), sink=sink, source=source)
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    mids = []
    for seq in range(15):
        mids.append(source.feed(*telemetry("mtr-001", seq)))
        if seq == 7:
            mids.extend(source.feed(t, p) for t, p, _ in MALFORMED)
    await wait_until(lambda: len(source.acks) == len(mids))
    stop.set()
    await task
    assert source.acks == mids
    assert [m.seq for m in sink.messages] == list(range(15))  # type: ignore[union-attr]
    stats = collector.stats()
    assert (stats.received, stats.written, stats.invalid) == (20, 15, 5)
    assert stats.dead_lettered == 5
    assert stats.acked == 20
    assert stats.queue_depth == 0
    assert dict(stats.invalid_by_reason) == {"invalid_json": 2, "out_of_range": 1,
                                             "unencodable": 1, "unknown_asset_type": 1}
    lines = [orjson.loads(x) for x in (tmp_path / "dl.jsonl").read_bytes().splitlines()]
    assert [x["reason"] for x in lines] == [r for _, _, r in MALFORMED]
    assert lines[1]["payload_encoding"] == "base64"
    assert source.closed


async def test_failed_writes_are_retried_and_never_acked_before_success(tmp_path: Path) -> None:
    """A failing sink keeps the batch, counts retries, and acks only after it succeeds."""
    # The sink keeps failing until the test has looked: with full-jitter backoff a few
    # scripted failures could all pass before the first look.
    source, sink = FakeSource(), FaultySink(failures=10**9)
    collector = Collector(fast_config(tmp_path), sink=sink, source=source)
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    for seq in range(10):
        source.feed(*telemetry("mtr-001", seq))
    await wait_until(lambda: sink.attempts >= 3)
    assert source.acks == []
    sink.failures = 0
    await wait_until(lambda: len(source.acks) == 10)
    stop.set()
    await task
    assert collector.stats().retries == sink.attempts - 1  # every attempt but the last failed
    assert len(sink.messages) == 10


async def test_reading_pauses_at_max_pending_and_resumes(tmp_path: Path) -> None:
    """At max_pending the source is paused (back-pressure), and resumed after acks."""
    source, sink = FakeSource(), FaultySink(failures=1000)
    collector = Collector(fast_config(tmp_path, batch_interval_s=10.0), sink=sink, source=source)
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    for seq in range(30):
        source.feed(*telemetry("mtr-001", seq))
    assert source.paused
    assert collector.stats().paused == 1
    assert collector.stats().queue_depth == 30
    sink.failures = 0
    await wait_until(lambda: not source.paused)
    await wait_until(lambda: len(source.acks) == 30)
    stop.set()
    await task


async def test_stop_drains_the_open_batch(tmp_path: Path) -> None:
    """Setting stop writes and acks a partial batch before run returns."""
    source, sink = FakeSource(), MemorySink()
    collector = Collector(fast_config(tmp_path, batch_interval_s=60.0), sink=sink, source=source)
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    source.feed(*telemetry("mtr-001", 0))
    source.feed(*telemetry("mtr-001", 1), qos=0)
    stop.set()
    await task
    assert source.acks == [1]
    assert len(sink.messages) == 2


async def test_drain_gives_up_after_timeout_without_acking(tmp_path: Path) -> None:
    """A sink that never recovers leaves the batch unacked (the broker keeps it)."""
    source, sink = FakeSource(), FaultySink(failures=10**6)
    collector = Collector(fast_config(tmp_path), sink=sink, source=source, drain_timeout_s=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    source.feed(*telemetry("mtr-001", 0))
    stop.set()
    await task
    assert source.acks == []
    assert collector.stats().queue_depth == 1


async def test_batches_from_an_old_connection_are_not_acked(tmp_path: Path) -> None:
    """Packet ids from before a reconnect are not acked; they are counted instead."""
    source, sink = FakeSource(), FaultySink(failures=2)
    collector = Collector(fast_config(tmp_path), sink=sink, source=source)
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    for seq in range(10):
        source.feed(*telemetry("mtr-001", seq))
    source.reconnect()
    await wait_until(lambda: collector.stats().batches == 1)
    stop.set()
    await task
    assert source.acks == []
    assert collector.stats().not_acked_after_reconnect == 10


async def test_embedded_sink_is_opened_by_the_context_manager(tmp_path: Path) -> None:
    """Without an injected sink the configuration's sink (DuckDB) is opened and closed."""
    source = FakeSource()
    collector = Collector(fast_config(tmp_path), source=source)
    with pytest.raises(RuntimeError, match="async with"):
        _ = collector.sink
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    source.feed(*telemetry("mtr-001", 0))
    await wait_until(lambda: len(source.acks) == 1)
    stop.set()
    await task
    assert (tmp_path / "p.duckdb").exists()


def test_only_events_with_line_breaks_are_unstorable() -> None:
    """check_storable refuses line breaks in event strings and accepts normal events."""
    topic = Topic("p", "s", Domain.SECURITY, "meter", "d", Channel.EVENT)
    check_storable(Event(topic, T0, 1, "door_forced", {"gate": "g1", "n": 2}))
    with pytest.raises(ValueError, match="line break"):
        check_storable(Event(topic, T0, 1, "door_forced", {"gate": "g\n1"}))
    assert encode(Event(topic, T0, 1, "x", {}))


async def test_a_retried_batch_logs_its_dead_letters_once(tmp_path: Path) -> None:
    """Sink failures make the batch retry, but its rejected message is logged exactly once."""
    source, sink = FakeSource(), FaultySink(failures=10**9)
    config = fast_config(tmp_path)
    collector = Collector(config, sink=sink, source=source)
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    source.feed(*telemetry("mtr-001", 0))
    source.feed("refpark/bac-ninh/energy/meter/mtr-001/telemetry", b"not json")
    await wait_until(lambda: sink.attempts >= 3)
    sink.failures = 0
    await wait_until(lambda: len(source.acks) == 2)
    stop.set()
    await task
    lines = config.dead_letter_path.read_text().splitlines()
    assert len(lines) == 1
    assert orjson.loads(lines[0])["reason"] == "invalid_json"
