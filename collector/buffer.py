"""The outage buffer: batches the sink could not take, in a bounded append-only log on disk.

When the database is down the collector writes each batch here, ``fsync``s it, and only then
acknowledges its messages to the broker; when the database is back the batches are written
to it oldest first, one at a time, and removed.

Layout of ``buffer.dir``:

* segment files ``0000000000000001.seg``, ``...2.seg`` ...: an 8-byte magic, then records
  framed as ``<u32 body length><u32 CRC-32 of length and body><body>``. A new segment starts
  when the current one would pass ``segment_bytes``; a segment is deleted once every record
  in it was drained (or dropped).
* ``cursor``: the segment and offset of the oldest record not yet drained. It is replaced
  atomically after each drained record but not fsynced: after a power cut the last drained
  records may be written to the database once more, which idempotent writes make harmless.

A record body holds one batch: the raw MQTT topic and payload of every valid message (they
are decoded again on the way out, so the stored bytes are exactly what the broker delivered)
and the batch's dead letters (for stores that keep them in a table).

On open, every segment is read and every record's CRC checked. A torn or corrupt record (a
crash in the middle of a write, a damaged disk block) and everything after it in that segment
is cut off with a warning; the records before it are kept and drained.

Bound and overflow policy: the framed bytes of records not yet drained never exceed
``max_bytes`` (disk use is at most that plus the drained head of one segment). When a batch
does not fit, :class:`OverflowPolicy` decides: ``block`` refuses it (the collector keeps it
unacknowledged, stops reading at ``max_pending`` and the broker's persistent session holds
the rest); ``drop_oldest`` deletes the oldest records until it fits and counts the messages
dropped. Either way :attr:`OutageBuffer.full_events` counts it and a warning is logged at
most once per :data:`LOG_INTERVAL_S`.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from collector.store import DeadLetter

_log = logging.getLogger(__name__)

#: First bytes of every segment file (format version 1).
MAGIC = b"SPOBUF1\n"
#: Record frame: body length, CRC-32 (of the length bytes, then the body).
_FRAME = struct.Struct("<II")
#: Body head: number of messages, length of the dead-letter JSON at the end.
_HEAD = struct.Struct("<II")
#: Per message: topic length, payload length.
_ITEM = struct.Struct("<HI")
#: Largest body a frame may announce; a larger length is corruption, not a record.
MAX_RECORD_BYTES = 1 << 31
#: Warnings about a full buffer are logged at most once per this many seconds.
LOG_INTERVAL_S = 30.0
#: Segment size when ``max_bytes`` is large (smaller buffers use a sixteenth of it).
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
_SUFFIX = ".seg"


class OverflowPolicy(enum.StrEnum):
    """What the buffer does with a batch that does not fit."""

    BLOCK = "block"
    DROP_OLDEST = "drop_oldest"


class BufferCorruptError(ValueError):
    """A record's body does not have the expected structure."""


@dataclass(frozen=True, slots=True)
class BufferedBatch:
    """A batch read back from the buffer.

    Attributes:
        items: (topic, payload) of each valid message, in arrival order.
        dead_letters: the batch's rejected messages.
    """

    items: list[tuple[str, bytes]]
    dead_letters: list[DeadLetter]


def encode_record(items: Sequence[tuple[str, bytes]],
                  dead_letters: Sequence[DeadLetter] = ()) -> bytes:
    """Return the body of a record holding *items* and *dead_letters*."""
    letters = orjson.dumps([[d.received_at_ms, d.topic, d.reason, d.detail, d.payload,
                             d.payload_encoding] for d in dead_letters]) if dead_letters else b""
    parts = [_HEAD.pack(len(items), len(letters))]
    pack = _ITEM.pack
    for topic, payload in items:
        raw = topic.encode("utf-8")
        parts += (pack(len(raw), len(payload)), raw, payload)
    parts.append(letters)
    return b"".join(parts)


def decode_record(body: bytes) -> BufferedBatch:
    """Parse a record body written by :func:`encode_record`.

    Raises:
        BufferCorruptError: the body does not parse (a CRC-valid record never does this).
    """
    try:
        count, letters_len = _HEAD.unpack_from(body, 0)
        pos, items = _HEAD.size, []
        unpack, step = _ITEM.unpack_from, _ITEM.size
        for _ in range(count):
            topic_len, payload_len = unpack(body, pos)
            pos += step
            topic = body[pos:pos + topic_len].decode("utf-8")
            pos += topic_len
            items.append((topic, body[pos:pos + payload_len]))
            pos += payload_len
        if pos + letters_len != len(body):
            msg = f"record length {len(body)} does not match its contents ({pos + letters_len})"
            raise BufferCorruptError(msg)
        letters = [DeadLetter(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]))
                   for r in orjson.loads(body[pos:])] if letters_len else []
    except (struct.error, UnicodeDecodeError, orjson.JSONDecodeError, IndexError,
            TypeError, ValueError) as exc:
        if isinstance(exc, BufferCorruptError):
            raise
        msg = f"unreadable buffer record: {exc}"
        raise BufferCorruptError(msg) from exc
    return BufferedBatch(items, letters)


@dataclass(frozen=True, slots=True)
class _Entry:
    """Where one record not yet drained lives."""

    record_id: int
    segment: int
    offset: int
    size: int  # framed size
    count: int  # messages in the record


def _segment_name(index: int) -> str:
    return f"{index:016d}{_SUFFIX}"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OutageBuffer:
    """A bounded, crash-safe FIFO of batches on disk; thread-safe (one lock).

    The collector's writer is its only user, but an append can still be running in a worker
    thread when a drain deadline has passed, so every operation takes the lock (and
    :meth:`close` waits for it).

    Args:
        directory: where the segments live (created when missing).
        max_bytes: bound on the framed bytes of records not yet drained.
        policy: what to do with a batch that does not fit.
        segment_bytes: size at which a new segment file starts.
        fsync: ``fdatasync`` every append before returning (turn off only in benchmarks).
    """

    def __init__(self, directory: Path, max_bytes: int,
                 policy: OverflowPolicy = OverflowPolicy.BLOCK, *,
                 segment_bytes: int | None = None, fsync: bool = True) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.policy = OverflowPolicy(policy)
        self.segment_bytes = segment_bytes or min(DEFAULT_SEGMENT_BYTES,
                                                  max(1024 * 1024, max_bytes // 16))
        self.fsync = fsync
        #: Framed bytes of the records not yet drained.
        self.bytes = 0
        #: Messages in the records not yet drained.
        self.messages = 0
        #: Messages deleted unwritten under ``drop_oldest``.
        self.dropped = 0
        #: Times a batch did not fit (refused under ``block``, or room made under ``drop_oldest``).
        self.full_events = 0
        #: Bytes cut off at open because a record was torn or corrupt.
        self.truncated_bytes = 0
        self._entries: deque[_Entry] = deque()
        self._next_id = 0
        self._tail_index = 0
        self._tail_size = 0
        self._tail: int | None = None  # fd of the tail segment, opened on first append
        self._head_fd: tuple[int, int] | None = None  # (segment, fd) read by peek
        self._logged_at = -LOG_INTERVAL_S
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        self._recover()

    # -- state ---------------------------------------------------------------------------------

    @property
    def records(self) -> int:
        """Records (batches) not yet drained."""
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    # -- opening -------------------------------------------------------------------------------

    def _segments(self) -> list[int]:
        found = []
        for path in self.directory.glob(f"*{_SUFFIX}"):
            with contextlib.suppress(ValueError):
                found.append(int(path.stem))
        return sorted(found)

    def _read_cursor(self) -> tuple[int, int]:
        try:
            data = orjson.loads((self.directory / "cursor").read_bytes())
            return int(data["segment"]), int(data["offset"])
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return 0, 0

    def _recover(self) -> None:
        cursor_segment, cursor_offset = self._read_cursor()
        # New segments must sort after the cursor, or the next open would take them as drained.
        self._tail_index = max(0, cursor_segment - 1)
        for index in self._segments():
            path = self.directory / _segment_name(index)
            if index < cursor_segment:
                path.unlink()  # fully drained before the last stop
                continue
            self._tail_index = index
            self._tail_size = self._scan(index, path,
                                         cursor_offset if index == cursor_segment else 0)
        if self._entries:
            _log.info("outage buffer %s holds %d messages in %d batches (%d bytes) from an "
                      "earlier run; they are written to the database first",
                      self.directory, self.messages, self.records, self.bytes)

    def _scan(self, index: int, path: Path, skip_before: int) -> int:
        """Index the records of one segment; cut a torn or corrupt tail. Returns its size."""
        data = path.read_bytes()
        if data[:len(MAGIC)] != MAGIC:
            self._truncate(path, 0, len(data), "no segment header")
            return 0
        pos, end = len(MAGIC), len(data)
        while pos < end:
            problem = None
            if end - pos < _FRAME.size:
                problem = "torn record header"
            else:
                length, crc = _FRAME.unpack_from(data, pos)
                body_end = pos + _FRAME.size + length
                if length > MAX_RECORD_BYTES or body_end > end:
                    problem = "torn record (shorter than its length)"
                elif zlib.crc32(data[pos + _FRAME.size:body_end],
                                zlib.crc32(data[pos:pos + 4])) != crc:
                    problem = "CRC mismatch"
                else:
                    if pos >= skip_before:
                        count = _HEAD.unpack_from(data, pos + _FRAME.size)[0] if length >= \
                            _HEAD.size else 0
                        self._index(index, pos, body_end - pos, count)
                    pos = body_end
                    continue
            self._truncate(path, pos, end - pos, problem)
            return pos
        return pos

    def _truncate(self, path: Path, keep: int, cut: int, problem: str) -> None:
        _log.warning("outage buffer %s: %s at byte %d; cutting off the last %d bytes (a write "
                     "torn by a crash; the records before it are kept)", path, problem, keep, cut)
        self.truncated_bytes += cut
        if keep == 0:
            path.unlink()
        else:
            os.truncate(path, keep)

    def _index(self, segment: int, offset: int, size: int, count: int) -> None:
        self._entries.append(_Entry(self._next_id, segment, offset, size, count))
        self._next_id += 1
        self.bytes += size
        self.messages += count

    # -- appending -----------------------------------------------------------------------------

    def append(self, body: bytes, count: int) -> bool:
        """Write one record holding *count* messages; durable when this returns True.

        Returns False when the record does not fit and the policy is ``block`` (or when it
        could not fit even in an empty buffer); the caller keeps the batch.
        """
        with self._lock:
            return self._append(body, count)

    def _append(self, body: bytes, count: int) -> bool:
        size = _FRAME.size + len(body)
        if self.bytes + size > self.max_bytes:
            self.full_events += 1
            if self.policy is OverflowPolicy.BLOCK or size > self.max_bytes:
                self._warn_full(size)
                return False
            dropped = 0
            while self._entries and self.bytes + size > self.max_bytes:
                dropped += self._remove_head()
            self.dropped += dropped
            self._warn_full(size, dropped)
        if self._tail is None or (self._tail_size + size > self.segment_bytes
                                  and self._tail_size > len(MAGIC)):
            self._new_segment()
        assert self._tail is not None
        length = len(body).to_bytes(4, "little")
        crc = zlib.crc32(body, zlib.crc32(length))
        offset = self._tail_size
        os.write(self._tail, length + crc.to_bytes(4, "little") + body)
        if self.fsync:
            os.fdatasync(self._tail)
        self._tail_size += size
        self._index(self._tail_index, offset, size, count)
        return True

    def _warn_full(self, size: int, dropped: int = 0) -> None:
        now = time.monotonic()
        if now - self._logged_at < LOG_INTERVAL_S:
            return
        self._logged_at = now
        if dropped:
            _log.warning("outage buffer full (%d of %d bytes): policy drop_oldest deleted the "
                         "oldest %d messages unwritten (%d dropped so far)", self.bytes,
                         self.max_bytes, dropped, self.dropped)
        else:
            _log.warning("outage buffer full (%d of %d bytes, a batch needs %d): policy block "
                         "keeps new messages unacknowledged, so the broker holds them in the "
                         "persistent session (up to its max_queued_messages)", self.bytes,
                         self.max_bytes, size)

    def _new_segment(self) -> None:
        self._close_tail()
        self._tail_index += 1
        path = self.directory / _segment_name(self._tail_index)
        self._tail = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        os.write(self._tail, MAGIC)
        self._tail_size = len(MAGIC)
        if self.fsync:
            os.fdatasync(self._tail)
            _fsync_dir(self.directory)  # the new file's name must survive a crash too

    def _close_tail(self) -> None:
        if self._tail is not None:
            os.close(self._tail)
            self._tail = None

    # -- draining ------------------------------------------------------------------------------

    def peek(self) -> tuple[int, bytes, int] | None:
        """Return (record id, body, messages) of the oldest record, or None when empty."""
        with self._lock:
            return self._peek()

    def _peek(self) -> tuple[int, bytes, int] | None:
        if not self._entries:
            return None
        entry = self._entries[0]
        if self._head_fd is None or self._head_fd[0] != entry.segment:
            self._close_head()
            fd = os.open(self.directory / _segment_name(entry.segment), os.O_RDONLY)
            self._head_fd = (entry.segment, fd)
        framed = os.pread(self._head_fd[1], entry.size, entry.offset)
        return entry.record_id, framed[_FRAME.size:], entry.count

    def pop(self, record_id: int) -> None:
        """Remove the oldest record once it is stored, if it is still record *record_id*.

        (A ``drop_oldest`` append may have removed it meanwhile; then nothing happens.)
        """
        with self._lock:
            if self._entries and self._entries[0].record_id == record_id:
                self._remove_head()

    def _remove_head(self) -> int:
        entry = self._entries.popleft()
        self.bytes -= entry.size
        self.messages -= entry.count
        following = self._entries[0] if self._entries else None
        if following is None or following.segment != entry.segment:
            # That segment is used up: delete it (unless appends still go to it).
            if self._head_fd is not None and self._head_fd[0] == entry.segment:
                self._close_head()
            if entry.segment != self._tail_index or following is None:
                if entry.segment == self._tail_index:
                    self._close_tail()
                (self.directory / _segment_name(entry.segment)).unlink(missing_ok=True)
        if following is not None:
            self._write_cursor(following.segment, following.offset)
        else:
            self._write_cursor(self._tail_index + 1, 0)
        return entry.count

    def _write_cursor(self, segment: int, offset: int) -> None:
        tmp = self.directory / "cursor.tmp"
        tmp.write_bytes(orjson.dumps({"segment": segment, "offset": offset}))
        tmp.replace(self.directory / "cursor")

    def _close_head(self) -> None:
        if self._head_fd is not None:
            os.close(self._head_fd[1])
            self._head_fd = None

    def close(self) -> None:
        """Close the open files (the records stay on disk for the next run)."""
        with self._lock:
            self._close_tail()
            self._close_head()
