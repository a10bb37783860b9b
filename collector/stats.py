"""Counters of the collector: a mutable set the pipeline updates, and a frozen snapshot."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class CollectorStats:
    """A snapshot of the collector's counters.

    Attributes:
        received: messages delivered by the broker.
        decoded: messages that passed validation.
        invalid: messages rejected (sum of ``invalid_by_reason``).
        invalid_by_reason: rejected messages per reason code.
        written: valid messages stored by the sink.
        batches: batches stored.
        retries: failed sink writes that were retried.
        acked: messages acknowledged to the broker (only after they were durable).
        dead_lettered: rejected messages written to the dead-letter log.
        rejected: valid messages the sink refused, written to the dead-letter log with reason
            ``sink_rejected`` (also counted in ``dead_lettered``).
        queue_depth: messages received but not yet acknowledged.
        paused: times reading from the broker was paused because too much was pending.
        not_acked_after_reconnect: stored messages whose ack was lost to a reconnect (the
            broker redelivers them, so they may be stored twice).
        last_batch_latency_s: time from a batch's first message to its ack.
        connected: whether the broker connection is up.
        last_write_error: the latest sink write error while writes fail, ``None`` once one
            succeeds (and before any).
        newest_ts_ms: epoch ms of the newest stored message, ``None`` before the first.
    """

    received: int = 0
    decoded: int = 0
    invalid: int = 0
    invalid_by_reason: MappingProxyType[str, int] = field(
        default_factory=lambda: MappingProxyType({}))
    written: int = 0
    batches: int = 0
    retries: int = 0
    acked: int = 0
    dead_lettered: int = 0
    rejected: int = 0
    queue_depth: int = 0
    paused: int = 0
    not_acked_after_reconnect: int = 0
    last_batch_latency_s: float = 0.0
    connected: bool = False
    last_write_error: str | None = None
    newest_ts_ms: int | None = None


@dataclass(slots=True)
class Counters:
    """The live, mutable counters (one event-loop thread updates them)."""

    received: int = 0
    decoded: int = 0
    invalid_by_reason: Counter[str] = field(default_factory=Counter)
    written: int = 0
    batches: int = 0
    retries: int = 0
    acked: int = 0
    dead_lettered: int = 0
    rejected: int = 0
    paused: int = 0
    not_acked_after_reconnect: int = 0
    last_batch_latency_s: float = 0.0
    last_write_error: str | None = None
    newest_ts_ms: int | None = None

    def snapshot(self, queue_depth: int, *, connected: bool) -> CollectorStats:
        """Return a frozen copy."""
        reasons = dict(sorted(self.invalid_by_reason.items()))
        return CollectorStats(
            received=self.received, decoded=self.decoded, invalid=sum(reasons.values()),
            invalid_by_reason=MappingProxyType(reasons), written=self.written,
            batches=self.batches, retries=self.retries, acked=self.acked,
            dead_lettered=self.dead_lettered, rejected=self.rejected,
            queue_depth=queue_depth, paused=self.paused,
            not_acked_after_reconnect=self.not_acked_after_reconnect,
            last_batch_latency_s=self.last_batch_latency_s, connected=connected,
            last_write_error=self.last_write_error, newest_ts_ms=self.newest_ts_ms,
        )
