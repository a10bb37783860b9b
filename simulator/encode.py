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
    SCHEMA_VERSION,
    Channel,
    DeviceState,
    Domain,
    Status,
    Topic,
    encode,
    format_ts,
)

FloatArray = npt.NDArray[np.float64]

@dataclass(frozen=True, slots=True)
class ValueBlock:
    """Readings of all devices of one asset type over a window.

    Attributes:
        asset_type: parkwire asset type of every device in the block.
        fields: quantity names, in emission order.
        device_ids: devices, in emission order.
        topics: telemetry topic of each device.
        data: rounded readings, shape (n steps, m devices, f fields).
    """

    asset_type: str
    fields: tuple[str, ...]
    device_ids: tuple[str, ...]
    topics: tuple[str, ...]
    data: FloatArray

    def field(self, name: str) -> FloatArray:
        """Return one quantity for every step and device, shape (n, m)."""
        return self.data[:, :, self.fields.index(name)]


def _row_texts(block: ValueBlock, rows: int) -> list[bytes]:
    """Return each device-step's readings as orjson prints them, comma-separated, no keys.

    orjson formats a float64 array's elements exactly as it formats Python floats (shortest
    round-trip), so dumping the whole block in one C call and splitting the text gives the
    same digits as encoding each reading alone, without creating a Python float per value.
    """
    dumped = orjson.dumps(block.data.reshape(rows, len(block.fields)),
                          option=orjson.OPT_SERIALIZE_NUMPY)
    return dumped[2:-2].split(b"],[")


def to_jsonl(blocks: tuple[ValueBlock, ...], t_ms: npt.NDArray[np.int64], seq0: int) -> bytes:
    """Return one ``{"topic":...,"payload":{...}}`` line per message, time-ordered."""
    n = len(t_ms)
    stamps = [format_ts(t).encode() for t in t_ms.tolist()]
    prepared = []
    for block in blocks:
        m = len(block.topics)
        # "p_kw":%s,"q_kvar":%s,... : the readings object with a slot per value.
        body = b",".join(b'"%s":%%s' % name.encode() for name in block.fields)
        heads = [b'{"topic":"%s","payload":{"v":%d,"ts":"' % (topic.encode(), SCHEMA_VERSION)
                 for topic in block.topics]
        prepared.append((m, heads, _row_texts(block, n * m), b"{" + body + b"}}}\n"))
    out: list[bytes] = []
    append = out.append
    for step in range(n):
        middle = b'%s","seq":%d,"readings":' % (stamps[step], seq0 + step)
        for m, heads, rows, body in prepared:
            base = step * m
            for j in range(m):
                append(heads[j] + middle + body % tuple(rows[base + j].split(b",")))
    return b"".join(out)


def messages(blocks: tuple[ValueBlock, ...], t_ms: npt.NDArray[np.int64],
             seq0: int) -> list[tuple[str, bytes]]:
    """Return (topic, payload bytes) for every message, time-ordered."""
    text = to_jsonl(blocks, t_ms, seq0)
    if not text:
        return []
    lines = text[:-1].split(b"\n")
    topics = [topic for block in blocks for topic in block.topics] * len(t_ms)
    # Each line is {"topic":"<topic>","payload":<payload>} and topics are ASCII slugs, so the
    # payload starts len('{"topic":"' + topic + '","payload":') bytes in and ends before "}".
    return [(topic, line[len(topic) + 22:-1])
            for topic, line in zip(topics, lines, strict=True)]


def status_payload(ts_ms: int, online: bool) -> bytes:
    """Return the parkwire status payload (``online``/``offline``) stamped *ts_ms*."""
    # The codec never writes the topic into the payload; any valid topic will do.
    placeholder = Topic("park", "site", Domain.SYSTEM, "gateway", "status", Channel.STATUS)
    state = DeviceState.ONLINE if online else DeviceState.OFFLINE
    return encode(Status(placeholder, ts_ms, state))
