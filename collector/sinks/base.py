"""The sink protocol shared by the InfluxDB, embedded and in-memory sinks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from collector.store import DeadLetter
from parkwire import Message


class SinkError(Exception):
    """A batch could not be stored; the collector keeps it and retries."""


class Sink(Protocol):
    """Stores batches. Called from a worker thread, one batch at a time (single flight)."""

    name: str

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        """Store *messages* (and, where the sink keeps them, *dead_letters*) durably.

        Raises:
            SinkError: nothing or not everything was stored; the same batch will be retried.
        """

    def close(self) -> None:
        """Release connections and files."""
