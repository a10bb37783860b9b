"""In-memory sinks for tests and demos: one that keeps everything, one that fails on demand."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from collector.sinks.base import SinkError
from collector.store import DeadLetter
from parkwire import Message


class MemorySink:
    """Keeps every stored message and dead letter in lists."""

    name = "memory"

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.dead_letters: list[DeadLetter] = []
        self.batches = 0
        self.closed = False
        #: (ts_ms, client_id, fields) of every ``collector`` point written.
        self.stats_points: list[tuple[int, str, dict[str, int | float | bool]]] = []
        self._lock = threading.Lock()

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        """Append the batch."""
        with self._lock:
            self.messages.extend(messages)
            self.dead_letters.extend(dead_letters)
            self.batches += 1

    def write_stats(self, ts_ms: int, client_id: str,
                    fields: Mapping[str, int | float | bool]) -> None:
        """Keep the ``collector`` point."""
        with self._lock:
            self.stats_points.append((ts_ms, client_id, dict(fields)))

    def close(self) -> None:
        """Mark closed."""
        self.closed = True


class FaultySink(MemorySink):
    """A :class:`MemorySink` whose next *failures* writes raise an error.

    Set :attr:`failures` at any time to script an outage; each failed call decrements it.

    Args:
        failures: how many writes fail first.
        error: builds the error each failed write raises (default a plain :class:`SinkError`,
            which the collector retries); script the error classes with it.
    """

    name = "faulty"

    def __init__(self, failures: int = 0,
                 error: Callable[[], SinkError] | None = None) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0
        self.error = error

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        """Fail while :attr:`failures` is positive, then store."""
        self.attempts += 1
        if self.failures > 0:
            self.failures -= 1
            if self.error is not None:
                raise self.error()
            msg = "scripted sink failure"
            raise SinkError(msg)
        super().write(messages, dead_letters)

    def write_stats(self, ts_ms: int, client_id: str,
                    fields: Mapping[str, int | float | bool]) -> None:
        """Fail like :meth:`write` while :attr:`failures` is positive (without using one up)."""
        if self.failures > 0:
            raise self.error() if self.error is not None else SinkError("scripted failure")
        super().write_stats(ts_ms, client_id, fields)
