"""The on-disk outage buffer: framing, bound, overflow policies, crash recovery, replay."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

from collector import Collector, CollectorConfig
from collector.buffer import (
    MAGIC,
    BufferCorruptError,
    OutageBuffer,
    OverflowPolicy,
    decode_record,
    encode_record,
)
from collector.config import MIN_BUFFER_BYTES
from collector.observability import health_report
from collector.service import BUFFER_UNDECODABLE, SINK_REJECTED
from collector.sinks import FatalSinkError, FaultySink, MemorySink, RejectedBatchError
from collector.store import DeadLetter
from parkwire import Message
from tests.collector.fakes import FakeSource
from tests.collector.helpers import fast_config, telemetry, wait_until

LETTER = DeadLetter(1, "a/b", "invalid_json", "payload is not JSON", "{x", "utf-8")


def _record(first: int, count: int = 3) -> bytes:
    return encode_record([telemetry("mtr-001", s) for s in range(first, first + count)])


def _drain(buffer: OutageBuffer) -> list[bytes]:
    bodies = []
    while (head := buffer.peek()) is not None:
        record_id, body, _ = head
        bodies.append(body)
        buffer.pop(record_id)
    return bodies


def test_record_round_trip_keeps_topics_payloads_and_dead_letters() -> None:
    """A record decodes to the exact topics, payload bytes and dead letters encoded."""
    items = [telemetry("mtr-001", 0), ("p/s/é/x/y/telemetry", b"\xff\x00raw")]
    batch = decode_record(encode_record(items, [LETTER]))
    assert batch.items == items
    assert batch.dead_letters == [LETTER]
    assert decode_record(encode_record([])).items == []


def test_a_malformed_body_raises_buffer_corrupt() -> None:
    """A body whose lengths do not add up is reported, never half-read."""
    body = encode_record([telemetry("mtr-001", 0)])
    with pytest.raises(BufferCorruptError):
        decode_record(body[:-5])
    with pytest.raises(BufferCorruptError):
        decode_record(body + b"x")
    with pytest.raises(BufferCorruptError):
        decode_record(b"\x01")


def test_records_come_back_oldest_first_across_segments(tmp_path: Path) -> None:
    """Appends span several segments; peek/pop return them in order and delete used segments."""
    buffer = OutageBuffer(tmp_path, 10_000_000, segment_bytes=2000)
    bodies = [_record(i * 3) for i in range(6)]
    for body in bodies:
        assert buffer.append(body, 3)
    assert (buffer.records, buffer.messages) == (6, 18)
    assert len(list(tmp_path.glob("*.seg"))) > 1
    assert _drain(buffer) == bodies
    assert (buffer.records, buffer.messages, buffer.bytes) == (0, 0, 0)
    assert not list(tmp_path.glob("*.seg"))
    assert not buffer
    buffer.pop(12345)  # popping an empty buffer is harmless
    assert buffer.append(bodies[0], 3)  # and it keeps working after being emptied
    assert _drain(buffer) == bodies[:1]
    buffer.close()


def test_block_policy_refuses_what_does_not_fit(tmp_path: Path) -> None:
    """Under block a full buffer refuses the record, counts it, and keeps what it has."""
    body = _record(0)
    size = len(body) + 8
    buffer = OutageBuffer(tmp_path, size * 2, OverflowPolicy.BLOCK)
    assert buffer.append(body, 3)
    assert buffer.append(body, 3)
    assert not buffer.append(body, 3)
    assert not buffer.append(body, 3)
    assert (buffer.records, buffer.full_events, buffer.dropped) == (2, 2, 0)
    assert buffer.bytes <= buffer.max_bytes
    buffer.close()


def test_drop_oldest_policy_deletes_and_counts_the_oldest(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture,
                                                          ) -> None:
    """Under drop_oldest the oldest records make room; their messages are counted and logged."""
    bodies = [_record(i * 3) for i in range(4)]
    size = len(bodies[0]) + 8
    buffer = OutageBuffer(tmp_path, size * 2 + 20, OverflowPolicy.DROP_OLDEST,
                          segment_bytes=size)
    with caplog.at_level(logging.WARNING):
        for body in bodies:
            assert buffer.append(body, 3)
    assert (buffer.dropped, buffer.full_events, buffer.records) == (6, 2, 2)
    assert sum("drop_oldest" in r.message for r in caplog.records) == 1  # once per interval
    assert _drain(buffer) == bodies[2:]
    buffer.close()


def test_a_record_larger_than_the_whole_buffer_is_refused(tmp_path: Path) -> None:
    """Even drop_oldest cannot make room for a record over max_bytes: it is refused."""
    buffer = OutageBuffer(tmp_path, 100, OverflowPolicy.DROP_OLDEST)
    assert not buffer.append(_record(0), 3)
    assert buffer.records == 0
    assert OutageBuffer(tmp_path / "zero", 0).append(b"x", 1) is False


def test_pop_of_a_record_dropped_meanwhile_keeps_the_new_head(tmp_path: Path) -> None:
    """A stale record id (dropped while it was being written) does not remove the next one."""
    body = _record(0)
    buffer = OutageBuffer(tmp_path, (len(body) + 8) * 2 + 20, OverflowPolicy.DROP_OLDEST)
    buffer.append(body, 3)
    head = buffer.peek()
    assert head is not None
    buffer.append(_record(3), 3)
    buffer.append(_record(6), 3)  # drops the record being "written"
    buffer.pop(head[0])
    assert buffer.records == 2
    buffer.close()


def test_restart_replays_what_was_not_drained(tmp_path: Path) -> None:
    """Records appended (and not drained) before a stop are there after reopening, in order."""
    bodies = [_record(i * 3) for i in range(5)]
    first = OutageBuffer(tmp_path, 10_000_000, segment_bytes=1500)
    for body in bodies:
        first.append(body, 3)
    head = first.peek()
    assert head is not None
    first.pop(head[0])
    # No close(): a SIGKILL leaves the files as they are.
    second = OutageBuffer(tmp_path, 10_000_000, segment_bytes=1500)
    assert (second.records, second.messages) == (4, 12)
    assert _drain(second) == bodies[1:]
    third = OutageBuffer(tmp_path, 10_000_000)
    assert third.records == 0
    third.append(bodies[0], 3)
    third.close()
    assert _drain(OutageBuffer(tmp_path, 10_000_000)) == bodies[:1]


@pytest.mark.parametrize("damage", ["torn_header", "torn_body", "flipped_bit", "no_magic"])
def test_a_torn_or_corrupt_tail_is_cut_and_logged(tmp_path: Path, damage: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Recovery keeps the records before the damage, cuts the rest, and says so in the log."""
    bodies = [_record(i * 3) for i in range(3)]
    buffer = OutageBuffer(tmp_path, 10_000_000)
    for body in bodies:
        buffer.append(body, 3)
    buffer.close()
    (segment,) = tmp_path.glob("*.seg")
    data = bytearray(segment.read_bytes())
    last = len(data) - (len(bodies[2]) + 8)
    if damage == "torn_header":
        data = data[:last + 5]
    elif damage == "torn_body":
        data = data[:-7]
    elif damage == "flipped_bit":
        data[-1] ^= 0x01
    else:
        data[:len(MAGIC)] = b"garbage!"
    segment.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        reopened = OutageBuffer(tmp_path, 10_000_000)
    kept = [] if damage == "no_magic" else bodies[:2]
    assert _drain(reopened) == kept
    assert reopened.truncated_bytes > 0
    assert any("cutting off" in r.message for r in caplog.records)


def test_unreadable_cursor_and_stray_files_are_tolerated(tmp_path: Path) -> None:
    """A garbled cursor file means "start at the oldest record"; foreign files are ignored."""
    buffer = OutageBuffer(tmp_path, 10_000_000)
    buffer.append(_record(0), 3)
    buffer.close()
    (tmp_path / "cursor").write_text("not json")
    (tmp_path / "notes.seg").write_text("not a segment number")
    assert OutageBuffer(tmp_path, 10_000_000).records == 1


# -- the collector with a buffer: outage, recovery, overflow, restart, shutdown -------------


def _buffered_config(tmp_path: Path, **kw: object) -> CollectorConfig:
    return fast_config(tmp_path, buffer_max_bytes=MIN_BUFFER_BYTES, **kw)


async def _start(collector: Collector, source: FakeSource) -> tuple[asyncio.Task[None],
                                                                    asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    return task, stop


def _seqs(sink: MemorySink) -> list[int]:
    return [m.seq for m in sink.messages]  # type: ignore[union-attr]


async def test_outage_buffers_acks_then_drains_oldest_first(tmp_path: Path) -> None:
    """While the sink fails, batches are buffered and acked; on recovery they drain in order."""
    source, sink = FakeSource(), FaultySink(failures=10**9)
    collector = Collector(_buffered_config(tmp_path), sink=sink, source=source)
    task, stop = await _start(collector, source)
    mids = [source.feed(*telemetry("mtr-001", seq)) for seq in range(30)]
    await wait_until(lambda: source.acks == mids)  # acked once on disk, database still down
    stats = collector.stats()
    assert (stats.buffered, stats.buffer_messages, stats.written) == (30, 30, 0)
    assert stats.sink_reachable is False
    assert sink.messages == []
    sink.failures = 0
    # New messages keep flowing while the backlog drains.
    mids += [source.feed(*telemetry("mtr-001", seq)) for seq in range(30, 40)]
    await wait_until(lambda: collector.stats().buffer_messages == 0
                     and len(sink.messages) == 40)
    stop.set()
    await task
    assert source.acks == mids
    assert sorted(_seqs(sink)) == list(range(40))
    drained = [s for s in _seqs(sink) if s < 30]
    assert drained == sorted(drained)  # oldest first
    stats = collector.stats()
    assert stats.drained == stats.buffered >= 30  # later ones too, if the probe was not due
    assert (stats.written, stats.acked, stats.sink_reachable) == (40, 40, True)
    assert not list(collector.config.buffer_path.glob("*.seg"))


async def test_full_buffer_under_block_stops_acking_and_loses_nothing(tmp_path: Path) -> None:
    """A full buffer (block) leaves batches unacked, pauses reading, then all is stored."""
    config = dataclasses.replace(_buffered_config(tmp_path), buffer_max_bytes=20_000)
    source, sink = FakeSource(), FaultySink(failures=10**9)
    collector = Collector(config, sink=sink, source=source)
    task, stop = await _start(collector, source)
    mids: list[int] = []
    # Keep publishing (as a broker would) until the buffer is full and reading has paused.
    while not (source.paused and collector.stats().buffer_full):
        assert len(mids) < 1000
        if not source.paused:
            mids.append(source.feed(*telemetry("mtr-001", len(mids))))
        await asyncio.sleep(0.001)
    stats = collector.stats()
    assert stats.buffer_bytes <= 20_000
    assert len(source.acks) == stats.buffered < len(mids)  # the rest is held, unacked
    assert stats.dropped == 0
    sink.failures = 0
    await wait_until(lambda: source.acks == mids and collector.stats().buffer_messages == 0)
    stop.set()
    await task
    assert sorted(_seqs(sink)) == list(range(len(mids)))


async def test_full_buffer_under_drop_oldest_counts_what_it_drops(tmp_path: Path) -> None:
    """drop_oldest keeps acking; what was dropped is counted and everything else is stored."""
    config = dataclasses.replace(_buffered_config(tmp_path, buffer_overflow="drop_oldest"),
                                 buffer_max_bytes=20_000)
    source, sink = FakeSource(), FaultySink(failures=10**9)
    collector = Collector(config, sink=sink, source=source)
    task, stop = await _start(collector, source)
    mids = []
    for seq in range(100):
        mids.append(source.feed(*telemetry("mtr-001", seq)))
        await wait_until(lambda: len(source.acks) >= len(mids) // 10 * 10)
    await wait_until(lambda: source.acks == mids)
    stats = collector.stats()
    assert stats.dropped > 0
    assert stats.buffer_messages + stats.dropped == 100
    sink.failures = 0
    await wait_until(lambda: collector.stats().buffer_messages == 0)
    stop.set()
    await task
    kept = _seqs(sink)
    assert len(kept) == 100 - stats.dropped
    assert kept == list(range(stats.dropped, 100))  # the oldest went first


async def test_restart_replays_the_buffer_of_a_killed_collector(tmp_path: Path) -> None:
    """Batches buffered (and acked) before a crash are written by the next run."""
    config = _buffered_config(tmp_path)
    source, dead_sink = FakeSource(), FaultySink(failures=10**9)
    first = Collector(config, sink=dead_sink, source=source, drain_timeout_s=0.2)
    task, stop = await _start(first, source)
    mids = [source.feed(*telemetry("mtr-001", seq)) for seq in range(25)]
    source.feed("refpark/bac-ninh/energy/meter/mtr-001/telemetry", b"{broken")
    await wait_until(lambda: len(source.acks) == 26)
    assert source.acks[:25] == mids
    stop.set()
    await task
    # The second run starts with a working sink and an empty broker.
    source2, sink = FakeSource(), MemorySink()
    second = Collector(config, sink=sink, source=source2)
    task, stop = await _start(second, source2)
    await wait_until(lambda: second.stats().buffer_messages == 0)
    stop.set()
    await task
    assert _seqs(sink) == list(range(25))
    assert [d.reason for d in sink.dead_letters] == ["invalid_json"]
    assert second.stats().drained == 25


async def test_stop_waits_for_the_buffered_record_being_written(tmp_path: Path) -> None:
    """A stop during a replay write lets it finish: the record is popped and counted once."""
    config = _buffered_config(tmp_path)
    source, dead_sink = FakeSource(), FaultySink(failures=10**9)
    first = Collector(config, sink=dead_sink, source=source)
    task, stop = await _start(first, source)
    mids = [source.feed(*telemetry("mtr-001", seq)) for seq in range(10)]
    await wait_until(lambda: source.acks == mids)
    stop.set()
    await task
    entered, release = threading.Event(), threading.Event()

    class SlowSink(MemorySink):
        def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
            entered.set()
            release.wait(10)
            super().write(messages, dead_letters)

    source2, sink = FakeSource(), SlowSink()
    second = Collector(config, sink=sink, source=source2, drain_timeout_s=5.0)
    task, stop = await _start(second, source2)
    await wait_until(entered.is_set)  # the replay of the first record is in the sink
    stop.set()
    await asyncio.sleep(0.05)
    assert not task.done()  # the stop waits for it
    release.set()
    await task
    stats = second.stats()
    assert stats.buffer_messages + stats.drained == 10
    assert stats.drained == len(sink.messages) > 0
    assert sorted(_seqs(sink)) == list(range(stats.drained))


async def test_drain_deadline_puts_a_stuck_batch_in_the_buffer(tmp_path: Path) -> None:
    """On stop, a sink that hangs past the deadline: the batches are buffered and acked."""
    release = threading.Event()

    class HangingSink(MemorySink):
        def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
            release.wait(10)
            super().write(messages, dead_letters)

    source, sink = FakeSource(), HangingSink()
    config = _buffered_config(tmp_path, batch_interval_s=60.0)
    collector = Collector(config, sink=sink, source=source, drain_timeout_s=0.2)
    task, stop = await _start(collector, source)
    mids = [source.feed(*telemetry("mtr-001", seq)) for seq in range(15)]
    stop.set()
    await task
    release.set()
    assert source.acks == mids
    stats = collector.stats()
    assert stats.buffered == 15
    assert stats.queue_depth == 0
    assert OutageBuffer(config.buffer_path, MIN_BUFFER_BYTES).messages == 15


async def test_counters_are_written_as_a_collector_measurement(tmp_path: Path) -> None:
    """Every stats interval one `collector` point goes through the sink, DuckDB included."""
    config = fast_config(tmp_path, stats_interval_s=0.05)
    source = FakeSource()
    async with Collector(config, source=source) as collector:
        task, stop = await _start(collector, source)
        source.feed(*telemetry("mtr-001", 0))
        await wait_until(lambda: collector.stats().written == 1)
        await asyncio.sleep(0.15)
        stop.set()
        await task
        store = collector.sink.store  # type: ignore[attr-defined]
        rows = store.query("SELECT client_id, max(received), max(written) FROM collector "
                           "GROUP BY client_id")
        assert rows == [("smartpark-collector", 1, 1)]
    memory = MemorySink()
    source = FakeSource()
    collector = Collector(config, sink=memory, source=source)
    task, stop = await _start(collector, source)
    await wait_until(lambda: len(memory.stats_points) >= 2)
    stop.set()
    await task
    _, client, fields = memory.stats_points[-1]
    assert client == "smartpark-collector"
    assert {"received", "buffered", "dropped", "buffer_bytes", "batch_latency_s",
            "sink_reachable"} <= set(fields)
    assert "lag_s" not in fields  # nothing stored yet


async def test_database_down_at_start_is_reported_before_any_message(tmp_path: Path) -> None:
    """The first stats point finds the database unreachable; health says so."""
    config = _buffered_config(tmp_path, stats_interval_s=0.05)
    source, sink = FakeSource(), FaultySink(failures=10**9)
    collector = Collector(config, sink=sink, source=source)
    task, stop = await _start(collector, source)
    await wait_until(lambda: collector.stats().sink_reachable is False)
    status, body = health_report(collector.stats(), "faulty")
    assert status == 503
    assert body["database"] == {"reachable": False}
    sink.failures = 0
    await wait_until(lambda: collector.stats().sink_reachable is True)
    stop.set()
    await task


def _preload(tmp_path: Path, items: list[tuple[str, bytes]]) -> None:
    """Leave one buffered batch on disk, as a previous run would."""
    buffer = OutageBuffer(_buffered_config(tmp_path).buffer_path, MIN_BUFFER_BYTES)
    buffer.append(encode_record(items, [LETTER]), len(items))
    buffer.close()


async def test_a_refused_buffered_batch_is_dead_lettered_and_removed(tmp_path: Path) -> None:
    """A drained batch the database refuses goes to the dead-letter log, not back to disk."""
    _preload(tmp_path, [telemetry("mtr-001", s) for s in range(4)]
             + [("refpark/bac-ninh/energy/meter/mtr-001/telemetry", b"{now broken")])
    source = FakeSource()
    sink = FaultySink(1, error=lambda: RejectedBatchError("HTTP 400: bad line"))
    collector = Collector(_buffered_config(tmp_path), sink=sink, source=source)
    task, stop = await _start(collector, source)
    await wait_until(lambda: collector.stats().buffer_messages == 0)
    stop.set()
    await task
    stats = collector.stats()
    assert (stats.drained, stats.written, stats.rejected, stats.dead_lettered) == (5, 0, 5, 5)
    reasons = [orjson.loads(x)["reason"]
               for x in (tmp_path / "dl.jsonl").read_bytes().splitlines()]
    assert sorted(reasons) == [BUFFER_UNDECODABLE] + [SINK_REJECTED] * 4


async def test_a_buffered_batch_that_no_longer_decodes_is_dead_lettered(tmp_path: Path) -> None:
    """A buffered payload the contract now refuses is dead-lettered; the rest is stored."""
    _preload(tmp_path, [telemetry("mtr-001", 0),
                        ("refpark/bac-ninh/energy/meter/mtr-001/telemetry", b"[]")])
    source, sink = FakeSource(), MemorySink()
    collector = Collector(_buffered_config(tmp_path), sink=sink, source=source)
    task, stop = await _start(collector, source)
    await wait_until(lambda: collector.stats().drained == 2)
    stop.set()
    await task
    assert _seqs(sink) == [0]
    assert [d.reason for d in sink.dead_letters] == ["invalid_json", BUFFER_UNDECODABLE]
    assert collector.stats().newest_ts_ms is not None


async def test_a_fatal_error_while_draining_stops_the_collector(tmp_path: Path) -> None:
    """Wrong credentials discovered on a drain stop the collector; the record stays on disk."""
    _preload(tmp_path, [telemetry("mtr-001", 0)])
    source = FakeSource()
    sink = FaultySink(1, error=lambda: FatalSinkError("HTTP 401; check INFLUX_TOKEN"))
    collector = Collector(_buffered_config(tmp_path), sink=sink, source=source)
    with pytest.raises(FatalSinkError):
        await collector.run(asyncio.Event())
    assert OutageBuffer(_buffered_config(tmp_path).buffer_path, MIN_BUFFER_BYTES).messages == 1


async def test_an_unparsable_record_is_dropped_counted_and_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A CRC-valid record that does not parse is dropped with an error, never silently."""
    buffer = OutageBuffer(_buffered_config(tmp_path).buffer_path, MIN_BUFFER_BYTES)
    buffer.append(b"\x05\x00\x00\x00\x00\x00\x00\x00", 5)
    buffer.close()
    source = FakeSource()
    collector = Collector(_buffered_config(tmp_path), sink=MemorySink(), source=source)
    with caplog.at_level(logging.ERROR):
        task, stop = await _start(collector, source)
        await wait_until(lambda: collector.stats().dropped == 5)
        stop.set()
        await task
    assert collector.stats().buffer_messages == 0
    assert any("does not parse" in r.message for r in caplog.records)


async def test_an_unwritable_buffer_falls_back_to_holding_unacked(tmp_path: Path) -> None:
    """If the buffer directory cannot be written, the batch is kept and retried, not acked."""
    source, sink = FakeSource(), FaultySink(failures=10**9)
    collector = Collector(_buffered_config(tmp_path), sink=sink, source=source,
                          drain_timeout_s=0.2)
    task, stop = await _start(collector, source)
    assert collector._buffer is not None
    collector._buffer.max_bytes = MIN_BUFFER_BYTES

    def broken(body: bytes, count: int) -> bool:
        raise OSError(28, "No space left on device")

    collector._buffer._append = broken  # type: ignore[method-assign]
    for seq in range(10):
        source.feed(*telemetry("mtr-001", seq))
    await wait_until(lambda: sink.attempts >= 2)
    stop.set()
    await task
    assert source.acks == []
    assert collector.stats().queue_depth == 10


async def test_a_refused_stats_point_does_not_mark_the_database_down(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A 400 on the stats point is logged once; the database still counts as reachable."""

    class PickySink(MemorySink):
        def write_stats(self, ts_ms: int, client_id: str,
                        fields: object) -> None:
            msg = "HTTP 400: field type conflict"
            raise RejectedBatchError(msg)

    source, sink = FakeSource(), PickySink()
    collector = Collector(fast_config(tmp_path, stats_interval_s=0.02), sink=sink,
                          source=source)
    with caplog.at_level(logging.WARNING):
        task, stop = await _start(collector, source)
        source.feed(*telemetry("mtr-001", 0))
        await wait_until(lambda: collector.stats().written == 1)
        await asyncio.sleep(0.1)
        stop.set()
        await task
    assert collector.stats().sink_reachable is True
    assert sum("stats point" in r.message for r in caplog.records) == 1
