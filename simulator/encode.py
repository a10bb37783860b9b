"""Turn generated value blocks into wire messages: (topic, payload) pairs or JSON lines.

Payloads are byte-for-byte what :func:`parkwire.encode` produces for the same
:class:`parkwire.Telemetry` (``{"v":1,"ts":...,"seq":...,"readings":{...}}``), so consumers
cannot tell the fast paths here from the contract's own encoder. Values arrive already rounded
to each quantity's ``decimals`` so that floats print short.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from parkwire import SCHEMA_VERSION, format_ts

FloatArray = npt.NDArray[np.float64]

# Consecutive line objects in the dumped JSON array are joined by exactly this text, and
# nowhere else: topics are slugs and payloads hold only numbers and a timestamp.
_JOIN = b'},{"topic":'
_NEWLINE_JOIN = b'}\n{"topic":'


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


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic dicts.

    Hundreds of thousands of fresh containers would otherwise trigger repeated full
    collections that find nothing (the dicts hold only numbers and strings).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _line_dicts(blocks: tuple[ValueBlock, ...], t_ms: npt.NDArray[np.int64],
                seq0: int) -> list[dict[str, Any]]:
    """Return one ``{"topic", "payload"}`` dict per message, all devices of step 0 first."""
    n = len(t_ms)
    stamps = [format_ts(t) for t in t_ms.tolist()]
    parts = []
    for block in blocks:
        names = block.fields
        # One C call turns the rounded block into Python floats; zip pairs them with names.
        rows = block.data.reshape(n * len(block.topics), len(names)).tolist()
        parts.append((block.topics, [dict(zip(names, row, strict=True)) for row in rows]))
    lines: list[dict[str, Any]] = []
    extend = lines.extend
    for step in range(n):
        ts, seq = stamps[step], seq0 + step
        for topics, readings in parts:
            m = len(topics)
            extend([{"topic": topic, "payload": {"v": SCHEMA_VERSION, "ts": ts, "seq": seq,
                                                 "readings": values}}
                    for topic, values in zip(topics, readings[step * m:(step + 1) * m],
                                             strict=True)])
    return lines


def to_jsonl(blocks: tuple[ValueBlock, ...], t_ms: npt.NDArray[np.int64], seq0: int) -> bytes:
    """Return one ``{"topic":...,"payload":{...}}`` line per message, time-ordered."""
    with _no_gc():
        lines = _line_dicts(blocks, t_ms, seq0)
        if not lines:
            return b""
        # One orjson call for the whole window, then split the array into lines in one pass.
        dumped = orjson.dumps(lines)
    return dumped[1:-1].replace(_JOIN, _NEWLINE_JOIN) + b"\n"


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
