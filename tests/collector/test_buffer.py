"""The on-disk outage buffer: framing, bound, overflow policies, crash recovery, replay."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from collector.buffer import (
    MAGIC,
    BufferCorruptError,
    OutageBuffer,
    OverflowPolicy,
    decode_record,
    encode_record,
)
from collector.store import DeadLetter
from tests.collector.helpers import telemetry

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
