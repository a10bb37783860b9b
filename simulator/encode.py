"""Turn generated value blocks into wire messages: (topic, payload) pairs or JSON lines.

Payloads are byte-for-byte what :func:`parkwire.encode` produces for the same
:class:`parkwire.Telemetry` (``{"v":1,"ts":...,"seq":...,"readings":{...}}``), so consumers
cannot tell the fast paths here from the contract's own encoder. Values arrive already rounded
to each quantity's ``decimals`` so that floats print short.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson

from parkwire import (
    ASSET_TYPES,
    SCHEMA_VERSION,
    Channel,
    DeviceState,
    Domain,
    Status,
    Topic,
    ValueType,
    encode,
    format_ts,
)

FloatArray = npt.NDArray[np.float64]

@dataclass(frozen=True, slots=True)
class ValueBlock:
    """Readings of all devices of one asset type at some of a window's steps.

    Attributes:
        asset_type: parkwire asset type of every device in the block.
        fields: quantity names, in registry order (floats, then ints, then flags).
        device_ids: devices, in emission order.
        topics: telemetry topic of each device.
        data: rounded readings, shape (k emissions, m devices, f fields); ints and flags are
            held as whole floats.
        rows: the window step of each emission, shape (k,), increasing. ``None`` means every
            step of the window (k = n).
        seq0: the devices' sequence number at the first emission; ``None`` means the
            window's own ``seq0``.
    """

    asset_type: str
    fields: tuple[str, ...]
    device_ids: tuple[str, ...]
    topics: tuple[str, ...]
    data: FloatArray
    rows: npt.NDArray[np.int64] | None = None
    seq0: int | None = None

    def field(self, name: str) -> FloatArray:
        """Return one quantity for every emission and device, shape (k, m)."""
        return self.data[:, :, self.fields.index(name)]

    def step_rows(self, steps: int) -> npt.NDArray[np.int64]:
        """Return the window step of each emission, given the window's *steps*."""
        return np.arange(steps, dtype=np.int64) if self.rows is None else self.rows


@dataclass(frozen=True, slots=True)
class EventLine:
    """One encoded event of a window.

    Attributes:
        row: the window step it belongs to (its time is in ``[t_row, t_row + interval)``).
        topic: its event topic.
        payload: the parkwire-encoded event.
    """

    row: int
    topic: str
    payload: bytes


_TYPE_ORDER = (ValueType.FLOAT, ValueType.INT, ValueType.BOOL)


def _type_counts(block: ValueBlock) -> tuple[int, int]:
    """Return how many leading fields are floats and how many after them are ints."""
    quantities = ASSET_TYPES[block.asset_type].quantities
    kinds = [quantities[name].value_type for name in block.fields]
    floats = kinds.count(ValueType.FLOAT)
    ints = kinds.count(ValueType.INT)
    if kinds != sorted(kinds, key=_TYPE_ORDER.index):
        msg = f"{block.asset_type}: fields must be ordered floats, ints, flags; got {kinds}"
        raise ValueError(msg)
    return floats, ints


def _dump_rows(values: npt.NDArray[np.generic]) -> list[bytes]:
    """Return each row of a 2-D array as orjson prints it, comma-separated, no brackets."""
    if values.shape[1] == 0:
        return [b""] * values.shape[0]
    dumped = orjson.dumps(np.ascontiguousarray(values), option=orjson.OPT_SERIALIZE_NUMPY)
    return dumped[2:-2].split(b"],[")


def _row_texts(block: ValueBlock, rows: int) -> list[bytes]:
    """Return each device-emission's readings as orjson prints them, comma-separated, no keys.

    orjson formats a float64 array's elements exactly as it formats Python floats (shortest
    round-trip), so dumping the whole block in one C call and splitting the text gives the
    same digits as encoding each reading alone, without creating a Python float per value.
    Integer and flag fields are dumped from int64 and bool arrays so they print as ``3`` and
    ``true``; the registry orders fields floats-first, so the three texts simply concatenate.
    """
    flat = block.data.reshape(rows, len(block.fields))
    floats, ints = _type_counts(block)
    parts = []
    if floats:
        parts.append(_dump_rows(flat[:, :floats]))
    if ints:
        parts.append(_dump_rows(flat[:, floats:floats + ints].astype(np.int64)))
    if floats + ints < len(block.fields):
        parts.append(_dump_rows(flat[:, floats + ints:] != 0.0))
    if len(parts) == 1:
        return parts[0]
    return [b",".join(columns) for columns in zip(*parts, strict=True)]


def _block_lines(block: ValueBlock, stamps: list[bytes], seq0: int,
                 steps: int) -> tuple[npt.NDArray[np.int64], int, list[bytes]]:
    """Return (rows, devices per row, JSON lines in row-major order) for one block."""
    rows = block.step_rows(steps)
    m = len(block.topics)
    first = seq0 if block.seq0 is None else block.seq0
    # "p_kw":%s,"q_kvar":%s,... : the readings object with a slot per value.
    body = b"{" + b",".join(b'"%s":%%s' % name.encode() for name in block.fields) + b"}}}\n"
    heads = [b'{"topic":"%s","payload":{"v":%d,"ts":"' % (topic.encode(), SCHEMA_VERSION)
             for topic in block.topics]
    texts = _row_texts(block, len(rows) * m)
    lines: list[bytes] = []
    append = lines.append
    for k, row in enumerate(rows.tolist()):
        middle = b'%s","seq":%d,"readings":' % (stamps[row], first + k)
        base = k * m
        for j in range(m):
            append(heads[j] + middle + body % tuple(texts[base + j].split(b",")))
    return rows, m, lines


def _merged(blocks: tuple[ValueBlock, ...], events: tuple[EventLine, ...],
            t_ms: npt.NDArray[np.int64], seq0: int) -> tuple[list[bytes], list[str], list[int]]:
    """Return (JSON lines, their topics, step offsets) merged in time order.

    Within a step: every block emitting at it (in block order), then the step's events.
    """
    n = len(t_ms)
    stamps = [format_ts(t).encode() for t in t_ms.tolist()]
    prepared = [(*_block_lines(b, stamps, seq0, n), b.topics) for b in blocks]
    lines: list[bytes] = []
    topics: list[str] = []
    bounds = [0]
    pointers = [0] * len(prepared)
    next_event = 0
    for step in range(n):
        for b, (rows, m, block_lines, block_topics) in enumerate(prepared):
            k = pointers[b]
            if k < len(rows) and rows[k] == step:
                lines += block_lines[k * m:(k + 1) * m]
                topics += block_topics
                pointers[b] = k + 1
        while next_event < len(events) and events[next_event].row == step:
            event = events[next_event]
            lines.append(b'{"topic":"%s","payload":%s}\n' % (event.topic.encode(),
                                                             event.payload))
            topics.append(event.topic)
            next_event += 1
        bounds.append(len(lines))
    return lines, topics, bounds


def to_jsonl(blocks: tuple[ValueBlock, ...], t_ms: npt.NDArray[np.int64], seq0: int,
             events: tuple[EventLine, ...] = ()) -> bytes:
    """Return one ``{"topic":...,"payload":{...}}`` line per message, time-ordered."""
    return b"".join(_merged(blocks, events, t_ms, seq0)[0])


def messages(blocks: tuple[ValueBlock, ...], t_ms: npt.NDArray[np.int64], seq0: int,
             events: tuple[EventLine, ...] = ()) -> list[tuple[str, bytes]]:
    """Return (topic, payload bytes) for every message, time-ordered."""
    lines, topics, _ = _merged(blocks, events, t_ms, seq0)
    # Each line is {"topic":"<topic>","payload":<payload>}\n and topics are ASCII slugs, so the
    # payload starts len('{"topic":"' + topic + '","payload":') bytes in and ends before "}".
    return [(topic, line[len(topic) + 22:-2])
            for topic, line in zip(topics, lines, strict=True)]


def step_bounds(blocks: tuple[ValueBlock, ...], t_ms: npt.NDArray[np.int64],
                events: tuple[EventLine, ...] = ()) -> list[int]:
    """Return n + 1 offsets into :func:`messages`; step i is ``[b[i], b[i+1])``."""
    per_step = np.zeros(len(t_ms) + 1, dtype=np.int64)
    for block in blocks:
        np.add.at(per_step, block.step_rows(len(t_ms)) + 1, len(block.topics))
    for event in events:
        per_step[event.row + 1] += 1
    return np.cumsum(per_step).tolist()  # type: ignore[no-any-return]


def status_payload(ts_ms: int, online: bool) -> bytes:
    """Return the parkwire status payload (``online``/``offline``) stamped *ts_ms*."""
    # The codec never writes the topic into the payload; any valid topic will do.
    placeholder = Topic("park", "site", Domain.SYSTEM, "gateway", "status", Channel.STATUS)
    state = DeviceState.ONLINE if online else DeviceState.OFFLINE
    return encode(Status(placeholder, ts_ms, state))
