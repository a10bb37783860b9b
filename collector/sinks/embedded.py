"""The embedded sink: batches into the DuckDB store (dead letters included, for queries)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from collector.sinks.base import SinkError
from collector.store import DeadLetter, EmbeddedStore
from parkwire import Message


class EmbeddedSink:
    """Writes to an :class:`EmbeddedStore`; a batch is one committed transaction.

    Args:
        path: the DuckDB file.
    """

    name = "embedded"

    def __init__(self, path: Path) -> None:
        self.store = EmbeddedStore(path)

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        """Insert and commit the batch."""
        try:
            self.store.insert(messages, dead_letters)
        except (duckdb.Error, OSError) as exc:
            msg = f"DuckDB write to {self.store.path} failed: {exc}"
            raise SinkError(msg) from exc

    def close(self) -> None:
        """Close the database file."""
        self.store.close()
