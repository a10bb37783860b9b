"""The embedded sink: batches into the DuckDB store (dead letters included, for queries)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb

from collector.sinks.base import RejectedBatchError, RetryableSinkError
from collector.store import DeadLetter, EmbeddedStore
from parkwire import Message

#: DuckDB errors about the values themselves: the same batch would fail every time.
_REFUSED_DATA = (duckdb.ConstraintException, duckdb.ConversionException,
                 duckdb.TypeMismatchException, duckdb.OutOfRangeException)


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
        except _REFUSED_DATA as exc:
            msg = f"DuckDB refused the batch for {self.store.path}: {exc}"
            raise RejectedBatchError(msg) from exc
        except (duckdb.Error, OSError) as exc:
            # Disk full, I/O errors, a lock held by another process: the next try can work.
            msg = f"DuckDB write to {self.store.path} failed: {exc}"
            raise RetryableSinkError(msg) from exc

    def write_stats(self, ts_ms: int, client_id: str,
                    fields: Mapping[str, int | float | bool]) -> None:
        """Append the collector's counters to the ``collector`` table."""
        try:
            self.store.insert_stats(ts_ms, client_id, fields)
        except (duckdb.Error, OSError) as exc:
            msg = f"DuckDB write to {self.store.path} failed: {exc}"
            raise RetryableSinkError(msg) from exc

    def close(self) -> None:
        """Close the database file."""
        self.store.close()
