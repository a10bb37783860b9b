"""The sink protocol shared by the InfluxDB, embedded and in-memory sinks, and its errors.

A failed write raises one of three :class:`SinkError` subclasses, and the class decides what
the collector does with the batch (see ``docs/collector.md``):

* :class:`RetryableSinkError`: the store is away or busy; the same batch is retried with
  back-off. A plain :class:`SinkError` is treated the same way.
* :class:`RejectedBatchError`: the store refused the data itself; the batch goes to the
  dead-letter log and is acknowledged.
* :class:`FatalSinkError`: the settings are wrong; the collector stops without acknowledging.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from collector.store import DeadLetter
from parkwire import Message


class SinkError(Exception):
    """A batch could not be stored; the collector keeps it and retries."""


class RetryableSinkError(SinkError):
    """The store is unreachable, overloaded or timed out: retrying the same batch can work.

    Args:
        message: what failed (no secrets).
        retry_after_s: the server asked to wait at least this long (``Retry-After``).
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RejectedBatchError(SinkError):
    """The store refused the data itself (HTTP 400/413/422 style); retrying cannot help."""


class FatalSinkError(SinkError):
    """The configuration is wrong (bad token, unknown bucket): a person has to fix it."""


class Sink(Protocol):
    """Stores batches. Called from a worker thread, one batch at a time (single flight)."""

    name: str

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        """Store *messages* (and, where the sink keeps them, *dead_letters*) durably.

        Raises:
            RetryableSinkError: nothing or not everything was stored; retry the same batch.
            RejectedBatchError: the store refuses this batch's data; do not retry it.
            FatalSinkError: the sink is misconfigured; stop and let a person fix it.
        """

    def close(self) -> None:
        """Release connections and files."""


class StatsSink(Protocol):
    """A sink that can also store the collector's own counters (optional for sinks).

    The collector writes one point of the ``collector`` measurement per stats interval
    through the sink when it has this method; a failure is logged and the point skipped
    (the next one carries the same cumulative counters).
    """

    def write_stats(self, ts_ms: int, client_id: str,
                    fields: Mapping[str, int | float | bool]) -> None:
        """Store one ``collector`` point tagged with *client_id* at *ts_ms*."""
