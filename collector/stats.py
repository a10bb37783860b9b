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
        buffered: valid messages written to the on-disk outage buffer (sink down).
        drained: valid messages taken from the outage buffer to the sink (counted in
            ``written``, or in ``rejected`` when the sink refused them).
        dropped: buffered messages deleted unwritten by the ``drop_oldest`` overflow policy.
        buffer_full: times a batch did not fit in the outage buffer.
        buffer_messages: messages in the outage buffer now.
        buffer_bytes: bytes in the outage buffer now.
        buffer_max_bytes: the buffer's bound (0: no buffer).
        buffer_overflow: the overflow policy, ``block`` or ``drop_oldest``.
        sink_reachable: whether the latest sink write (or stats point) succeeded; ``None``
            before the first attempt.
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
    buffered: int = 0
    drained: int = 0
    dropped: int = 0
    buffer_full: int = 0
    buffer_messages: int = 0
    buffer_bytes: int = 0
    buffer_max_bytes: int = 0
    buffer_overflow: str = "block"
    sink_reachable: bool | None = None


@dataclass(frozen=True, slots=True)
class BufferGauges:
    """The outage buffer's state at one moment (all zero when there is no buffer).

    Attributes:
        messages: messages held.
        bytes: bytes held.
        max_bytes: the bound.
        overflow: the overflow policy.
        dropped: messages dropped by ``drop_oldest`` so far.
        full: times a batch did not fit.
    """

    messages: int = 0
    bytes: int = 0
    max_bytes: int = 0
    overflow: str = "block"
    dropped: int = 0
    full: int = 0


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
    buffered: int = 0
    drained: int = 0
    sink_reachable: bool | None = None

    def snapshot(self, queue_depth: int, *, connected: bool,
                 buffer: BufferGauges | None = None) -> CollectorStats:
        """Return a frozen copy."""
        gauges = buffer if buffer is not None else BufferGauges()
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
            buffered=self.buffered, drained=self.drained, dropped=gauges.dropped,
            buffer_full=gauges.full, buffer_messages=gauges.messages,
            buffer_bytes=gauges.bytes, buffer_max_bytes=gauges.max_bytes,
            buffer_overflow=gauges.overflow, sink_reachable=self.sink_reachable,
        )


#: Counters written as the ``collector`` measurement: (field, CollectorStats attribute).
STATS_COUNTERS: tuple[tuple[str, str], ...] = (
    ("received", "received"), ("decoded", "decoded"), ("invalid", "invalid"),
    ("dead_lettered", "dead_lettered"), ("written", "written"), ("retries", "retries"),
    ("acked", "acked"), ("sink_rejected", "rejected"), ("buffered", "buffered"),
    ("drained", "drained"), ("dropped", "dropped"), ("buffer_full", "buffer_full"),
    ("buffer_messages", "buffer_messages"), ("buffer_bytes", "buffer_bytes"),
    ("queue_depth", "queue_depth"), ("paused", "paused"),
    ("not_acked_after_reconnect", "not_acked_after_reconnect"),
)
#: Float fields of the ``collector`` measurement (``lag_s`` only once something is stored).
STATS_FLOATS = ("batch_latency_s", "lag_s")
#: Name of the measurement the collector's own counters are written to.
STATS_MEASUREMENT = "collector"


def stats_fields(stats: CollectorStats, now_ms: int) -> dict[str, int | float | bool]:
    """Return the fields of one ``collector`` point: counters, gauges, latency and lag."""
    fields: dict[str, int | float | bool] = {
        name: int(getattr(stats, attr)) for name, attr in STATS_COUNTERS}
    fields["batch_latency_s"] = float(stats.last_batch_latency_s)
    if stats.newest_ts_ms is not None:
        fields["lag_s"] = (now_ms - stats.newest_ts_ms) / 1000
    fields["connected"] = stats.connected
    fields["sink_reachable"] = bool(stats.sink_reachable)
    return fields
