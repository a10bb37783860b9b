"""The dead-letter log: rejected messages as JSON lines, flushed before they are acknowledged.

Each line holds ``received_at`` (RFC 3339 UTC), ``topic``, ``payload`` (text, or base64 when
the bytes are not UTF-8; ``payload_encoding`` says which), ``reason`` and ``detail``. The
file is bounded: when it passes ``max_bytes`` it is rotated to ``.1`` (``.1`` to ``.2`` ...)
and files beyond ``backups`` are deleted, so disk use stays under
``max_bytes * (backups + 1)`` plus one batch. Payloads are cut at 64 KiB by the codec already.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path

import orjson

from collector.store import DeadLetter
from parkwire import format_ts


def dead_letter(received_at_ms: int, topic: str, payload: bytes, reason: str,
                detail: str) -> DeadLetter:
    """Build a dead letter, keeping the payload as text when it is UTF-8."""
    try:
        text, encoding = payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(payload).decode("ascii"), "base64"
    return DeadLetter(received_at_ms, topic, reason, detail, text, encoding)


class DeadLetterLog:
    """Append-only JSON-lines file with size-based rotation.

    Args:
        path: the file.
        max_bytes: rotate once the file is at least this large.
        backups: rotated files to keep.
        fsync: also ``fsync`` after each write (durable against power loss, slower).
    """

    def __init__(self, path: Path, max_bytes: int = 64 * 1024 * 1024, backups: int = 3,
                 *, fsync: bool = False) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.fsync = fsync
        self.rotations = 0

    def write(self, letters: Sequence[DeadLetter]) -> None:
        """Append *letters* and flush them to the operating system before returning."""
        if not letters:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = b"".join(
            orjson.dumps({
                "received_at": format_ts(d.received_at_ms), "topic": d.topic,
                "reason": d.reason, "detail": d.detail, "payload": d.payload,
                "payload_encoding": d.payload_encoding,
            }) + b"\n"
            for d in letters
        )
        with self.path.open("ab") as handle:
            handle.write(data)
            handle.flush()
            if self.fsync:
                os.fsync(handle.fileno())
            size = handle.tell()
        if size >= self.max_bytes:
            self._rotate()

    def _rotate(self) -> None:
        self.rotations += 1
        if self.backups == 0:
            self.path.unlink()
            return
        oldest = self.path.with_name(f"{self.path.name}.{self.backups}")
        oldest.unlink(missing_ok=True)
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.rename(self.path.with_name(f"{self.path.name}.{index + 1}"))
        self.path.rename(self.path.with_name(f"{self.path.name}.1"))
