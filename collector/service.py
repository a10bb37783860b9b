"""The Collector service: source -> decode/validate -> batch -> sink -> ack.

Everything but the sink write runs on the event loop's thread. A message is acknowledged to
the broker only after its batch was stored (or, if it was invalid, after its dead-letter
record was written and flushed), and acknowledgements go out in the order messages arrived.
What a failed sink write does depends on the error's class (:mod:`collector.sinks.base`):
a retryable failure keeps the batch and retries it with capped exponential back-off and full
jitter (never less than the server's ``Retry-After``); a rejected batch is written to the
dead-letter log (reason ``sink_rejected``) and then acknowledged; a fatal error stops the
collector without acknowledging, so the broker keeps the messages.

The outage buffer (:mod:`collector.buffer`): while the sink fails with retryable errors, each
batch is appended to the on-disk buffer and fsynced, and then acknowledged. The sink is probed
again after the back-off delay, always with the oldest buffered batch first; once it answers,
the backlog is written oldest first, one batch at a time and interleaved with the live
batches (one live, one buffered), so the returning database sees the collector's ordinary
single-flight load. Without a buffer (``buffer.max_bytes = 0``), or when it is full under the
``block`` policy, the batch stays in memory, unacknowledged, and is retried.

Bounds and overflow policies:

* MQTT 5 Receive Maximum (``receive_maximum``) caps unacknowledged messages the broker sends;
* ``max_pending`` caps messages held in memory; at the cap the collector stops reading the
  socket (policy *back-pressure*, counted in ``paused``), so nothing is ever dropped: further
  messages wait in the broker's persistent session;
* batches are written one at a time (single flight), so at most
  ``ceil(max_pending / batch_size)`` sealed batches wait;
* the outage buffer is bounded by ``buffer.max_bytes`` with the policy ``buffer.overflow``
  (``block``: stop acknowledging, then back-pressure as above; ``drop_oldest``: delete the
  oldest buffered batches, counted in ``dropped``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType

from collector.buffer import (
    BufferCorruptError,
    OutageBuffer,
    OverflowPolicy,
    decode_record,
    encode_record,
)
from collector.config import CollectorConfig
from collector.deadletter import DeadLetterLog, dead_letter
from collector.lineprotocol import LineProtocolError, escape_key, format_value
from collector.observability import ObservabilityServer
from collector.sinks.base import FatalSinkError, RejectedBatchError, Sink, SinkError
from collector.sinks.embedded import EmbeddedSink
from collector.sinks.influx import InfluxSink
from collector.source import MqttSource, Source
from collector.stats import BufferGauges, CollectorStats, Counters, stats_fields
from collector.store import DeadLetter
from parkwire import DecodeError, Event, Message, decode, encode

_log = logging.getLogger(__name__)

#: Reason code of a valid message that no store could hold (a line break in an event string).
UNENCODABLE = "unencodable"
#: Reason code of a valid message the sink refused (HTTP 400/413/422, a DuckDB data error).
SINK_REJECTED = "sink_rejected"
#: Reason code of a buffered message that no longer decodes (the contract changed meanwhile).
BUFFER_UNDECODABLE = "buffer_undecodable"
#: While a sink keeps failing, log at most once per this many seconds (not once per attempt).
RETRY_LOG_INTERVAL_S = 30.0


@dataclass(slots=True)
class Batch:
    """Messages received together, written together, acknowledged together in order.

    Attributes:
        generation: the source connection the packet ids belong to.
        messages: valid messages to store.
        dead_letters: rejected messages to log.
        mids: packet ids to acknowledge (QoS 1 only), in arrival order.
        count: every message in the batch, valid or not.
        first_at: monotonic time of the first message.
        rejected: valid messages the sink refused, moved to ``dead_letters``.
        logged: how many of ``dead_letters`` are already in the dead-letter log (a batch
            retried after a sink failure must not log them again).
        raw: (topic, payload) of each valid message as received, for the outage buffer.
        buffered: the batch went to the outage buffer, not to the sink.
    """

    generation: int
    messages: list[Message] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    mids: list[int] = field(default_factory=list)
    count: int = 0
    first_at: float = 0.0
    rejected: int = 0
    logged: int = 0
    raw: list[tuple[str, bytes]] = field(default_factory=list)
    buffered: bool = False


def check_storable(message: Message) -> None:
    """Raise :class:`LineProtocolError` if a store cannot hold *message* unchanged.

    Topic segments cannot hold line breaks (the contract forbids control characters) and
    readings are numbers, so only an event's type and data can fail.
    """
    if type(message) is Event:
        escape_key(message.event, "event type")
        for key, value in message.data.items():
            escape_key(key, "event data key")
            format_value(value)


def build_sink(config: CollectorConfig) -> Sink:
    """Return the sink the configuration selects."""
    if config.sink == "influx":
        return InfluxSink(config.influx_url, config.influx_org, config.influx_bucket,
                          config.token(), config.influx_timeout_s)
    return EmbeddedSink(config.db_path)


class Collector:
    """Subscribes, validates, batches, stores and acknowledges; an async context manager.

    Args:
        config: validated settings.
        sink: overrides the sink the settings select (tests, demos).
        source: overrides the MQTT source (tests use a fake).
        drain_timeout_s: on stop, how long to keep writing in-flight batches (default
            ``config.drain_timeout_s``); what is left then goes to the outage buffer, or stays
            unacknowledged in the broker's session when there is none.
        rng: source of the retry jitter (tests pass a seeded one).
        sleep: how to wait between retries (tests pass one that records the delays).
    """

    def __init__(self, config: CollectorConfig, *, sink: Sink | None = None,
                 source: Source | None = None, drain_timeout_s: float | None = None,
                 rng: random.Random | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self._rng = rng if rng is not None else random.Random()  # jitter, not secrets
        self._sleep = sleep if sleep is not None else asyncio.sleep
        self.config = config
        self._sink = sink
        self._source: Source = source if source is not None else MqttSource.from_config(config)
        self._dead_log = DeadLetterLog(config.dead_letter_path, config.dead_letter_max_bytes,
                                       config.dead_letter_backups)
        self._drain_timeout_s = (config.drain_timeout_s if drain_timeout_s is None
                                 else drain_timeout_s)
        self._counters = Counters()
        self._current = Batch(0)
        self._sealed: deque[Batch] = deque()
        self._sealed_ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        # Set while no buffered record is being written: a stop waits for the one in flight,
        # so it is popped and counted instead of being replayed by the next run.
        self._replay_idle = asyncio.Event()
        self._replay_idle.set()
        self._pending = 0
        self._paused = False
        self._buffer: OutageBuffer | None = None
        # Sink health, as the writer last saw it: while down, batches go to the buffer until
        # the probe time; the delay doubles per failure (capped) and resets on success.
        self._sink_down = False
        self._probe_at = 0.0
        self._delay = config.retry_initial_s
        self._failures = 0
        self._logged_at = -RETRY_LOG_INTERVAL_S
        self._stopping = False
        self._stats_at = 0.0
        self._stats_refused = False  # logged once

    @property
    def sink(self) -> Sink:
        """The sink in use (opened on entering the context)."""
        if self._sink is None:
            msg = "the collector's sink is opened by `async with Collector(...)`"
            raise RuntimeError(msg)
        return self._sink

    async def __aenter__(self) -> Collector:
        if self._sink is None:
            self._sink = await asyncio.to_thread(build_sink, self.config)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._sink is not None:
            await asyncio.to_thread(self._sink.close)

    def stats(self) -> CollectorStats:
        """Return a snapshot of the counters."""
        buffer = self._buffer
        gauges = None
        if buffer is not None:
            gauges = BufferGauges(buffer.messages, buffer.bytes, buffer.max_bytes,
                                  buffer.policy.value, buffer.dropped, buffer.full_events)
        elif self.config.buffer_max_bytes == 0:
            gauges = BufferGauges(overflow="block")
        else:
            gauges = BufferGauges(max_bytes=self.config.buffer_max_bytes,
                                  overflow=self.config.buffer_overflow)
        return self._counters.snapshot(self._pending, connected=self._source.connected,
                                       buffer=gauges)

    # -- intake (hot path, event-loop thread) ------------------------------------------------

    def _on_message(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        counters = self._counters
        counters.received += 1
        batch = self._current
        if batch.count == 0:
            batch.first_at = time.monotonic()
            batch.generation = self._source.generation
        try:
            message = decode(topic, payload)
            if type(message) is Event:
                check_storable(message)
        except DecodeError as exc:
            self._reject(batch, topic, payload, exc.reason.value, exc.detail)
        except LineProtocolError as exc:
            self._reject(batch, topic, payload, UNENCODABLE, str(exc))
        else:
            counters.decoded += 1
            batch.messages.append(message)
            batch.raw.append((topic, payload))
        if qos:
            batch.mids.append(mid)
        batch.count += 1
        self._pending += 1
        if batch.count >= self.config.batch_size:
            self._seal()
        if self._pending >= self.config.max_pending and not self._paused:
            self._paused = True
            counters.paused += 1
            self._source.pause()

    def _reject(self, batch: Batch, topic: str, payload: bytes, reason: str,
                detail: str) -> None:
        self._counters.invalid_by_reason[reason] += 1
        batch.dead_letters.append(
            dead_letter(int(time.time() * 1000), topic, bytes(payload), reason, detail))
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("rejected a message on %s: %s: %s", topic[:200], reason, detail)

    def _seal(self) -> None:
        if self._current.count:
            self._sealed.append(self._current)
            self._current = Batch(self._source.generation)
            self._sealed_ready.set()
            self._idle.clear()

    # -- writing and acknowledging -----------------------------------------------------------

    async def _writer(self) -> None:
        """Single flight: store and ack live batches, drain the buffer, write stats points."""
        while True:
            worked = False
            if self._sealed:
                batch = self._sealed[0]
                await self._store(batch)
                self._sealed.popleft()
                self._acknowledge(batch)
                worked = True
            if not self._sealed:
                self._idle.set()
            if self._buffer and not self._stopping and self._sink_usable():
                # One buffered batch per live batch: the backlog drains while new messages
                # keep flowing, and the database never gets more than one batch at a time.
                await self._drain_one()
                worked = True
            if self._stats_due():
                await self._write_stats()
            if worked:
                continue
            self._sealed_ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sealed_ready.wait(), self._idle_wait())

    def _sink_usable(self) -> bool:
        """Whether the sink may be tried now: not known to be down, or its probe is due."""
        return not self._sink_down or time.monotonic() >= self._probe_at

    def _idle_wait(self) -> float | None:
        """How long the idle writer may sleep before a probe or a stats point is due."""
        waits = []
        if self._buffer and self._sink_down and not self._stopping:
            waits.append(self._probe_at - time.monotonic())
        if self.config.stats_interval_s:
            waits.append(self._stats_at - time.monotonic())
        return max(0.0, min(waits)) if waits else None

    async def _store(self, batch: Batch) -> None:
        """Make *batch* durable: in the sink, else in the outage buffer; fatal errors raise."""
        buffer = self._buffer
        while True:
            wait: float | None = None
            if buffer and self._sink_down and self._sink_usable() and not self._stopping:
                await self._drain_one()  # the probe: the oldest batch goes first
            if buffer is None or self._sink_usable():
                try:
                    await asyncio.to_thread(self._write_batch, batch)
                except FatalSinkError as exc:
                    self._counters.last_write_error = str(exc)  # reported by /health
                    self._counters.sink_reachable = False
                    raise
                except SinkError as exc:  # retryable (a plain SinkError counts as retryable)
                    wait = self._mark_down(exc, batch.count)
                else:
                    self._mark_up()
                    return
            if buffer is not None and await self._buffer_batch(batch):
                return
            if wait is None:
                wait = max(0.0, self._probe_at - time.monotonic())
            await self._sleep(wait)

    def _mark_down(self, exc: SinkError, count: int, *, retry: bool = True) -> float:
        """Record a failed sink write; return the back-off wait before the next attempt."""
        counters = self._counters
        self._failures += 1
        if retry:
            counters.retries += 1
        counters.last_write_error = str(exc)  # reported by /health
        counters.sink_reachable = False
        wait = self.retry_wait(self._delay, exc)
        self._delay = min(self.config.retry_max_s, self._delay * 2)
        self._sink_down = True
        now = time.monotonic()
        self._probe_at = now + wait
        if now - self._logged_at >= RETRY_LOG_INTERVAL_S:
            self._logged_at = now
            where = ("buffering on disk" if self._buffer is not None
                     else f"holding {count} messages unacknowledged")
            _log.warning("sink write failed %d time(s) (%s); %s, next attempt in %.2f s",
                         self._failures, exc, where, wait)
        return wait

    def _mark_up(self) -> None:
        """Record a successful sink write."""
        if self._failures:
            _log.info("sink write succeeded after %d failed attempt(s)", self._failures)
        self._failures = 0
        self._delay = self.config.retry_initial_s
        self._sink_down = False
        self._counters.last_write_error = None
        self._counters.sink_reachable = True

    def retry_wait(self, delay: float, exc: SinkError) -> float:
        """Return the wait before the next attempt: full jitter below *delay*, >= Retry-After."""
        wait = self._rng.uniform(0.0, delay)
        retry_after: float | None = getattr(exc, "retry_after_s", None)
        return max(wait, retry_after) if retry_after is not None else wait

    def _log_dead_letters(self, batch: Batch) -> None:
        """Write the batch's dead letters to the log once (before its ack, whatever happens)."""
        if batch.logged < len(batch.dead_letters):
            try:
                self._dead_log.write(batch.dead_letters[batch.logged:])
            except OSError as exc:
                msg = f"cannot write the dead-letter log {self._dead_log.path}: {exc}"
                raise SinkError(msg) from exc
            batch.logged = len(batch.dead_letters)

    def _write_batch(self, batch: Batch) -> None:
        self._log_dead_letters(batch)
        try:
            self.sink.write(batch.messages, batch.dead_letters)
        except RejectedBatchError as exc:
            self._divert_rejected(batch, str(exc))

    def _divert_rejected(self, batch: Batch, detail: str) -> None:
        """Move a refused batch's messages to the dead-letter log, so acking loses nothing."""
        letters = self._reject_letters(batch.messages, detail)
        batch.dead_letters.extend(letters)
        batch.logged = len(batch.dead_letters)
        batch.rejected += len(letters)
        batch.messages = []

    def _reject_letters(self, messages: list[Message], detail: str) -> list[DeadLetter]:
        now_ms = int(time.time() * 1000)
        letters = [dead_letter(now_ms, str(m.topic), encode(m), SINK_REJECTED, detail)
                   for m in messages]
        try:
            self._dead_log.write(letters)
        except OSError as exc:
            msg = f"cannot write the dead-letter log {self._dead_log.path}: {exc}"
            raise SinkError(msg) from exc
        _log.error("the sink refused %d messages; they are in the dead-letter log %s with "
                   "reason %s: %s", len(letters), self._dead_log.path, SINK_REJECTED, detail)
        return letters

    # -- the outage buffer -----------------------------------------------------------------

    async def _buffer_batch(self, batch: Batch) -> bool:
        """Append *batch* to the outage buffer (fsynced); False if there is no room for it."""
        buffer = self._buffer
        if buffer is None:
            return False
        try:
            await asyncio.to_thread(self._log_dead_letters, batch)
            body = encode_record(batch.raw, batch.dead_letters)
            stored = await asyncio.to_thread(buffer.append, body, len(batch.raw))
        except (SinkError, OSError) as exc:
            _log.error("cannot write the outage buffer %s: %s", buffer.directory, exc)
            return False
        if stored:
            batch.buffered = True
        return stored

    async def _drain_one(self) -> bool:
        """Write the oldest buffered batch to the sink; True once it is stored (and removed)."""
        self._replay_idle.clear()
        try:
            return await self._replay_oldest()
        finally:
            self._replay_idle.set()

    async def _replay_oldest(self) -> bool:
        """The body of :meth:`_drain_one`: peek, write, pop, count."""
        buffer = self._buffer
        assert buffer is not None
        try:
            head = await asyncio.to_thread(buffer.peek)
        except OSError as exc:
            # A disk problem, not a database one: wait as long as the longest back-off.
            _log.error("cannot read the outage buffer %s: %s", buffer.directory, exc)
            self._sink_down = True
            self._probe_at = time.monotonic() + self.config.retry_max_s
            return False
        if head is None:
            return True
        record_id, body, count = head
        try:
            written, rejected, newest = await asyncio.to_thread(self._write_buffered, body)
        except FatalSinkError as exc:
            self._counters.last_write_error = str(exc)
            self._counters.sink_reachable = False
            raise
        except SinkError as exc:
            self._mark_down(exc, count)
            return False
        except BufferCorruptError as exc:
            # CRC-valid but unparsable: only a bug can do this. Never silent: logged, counted.
            _log.error("outage buffer %s: dropping a record of %d messages that does not "
                       "parse (%s)", buffer.directory, count, exc)
            buffer.dropped += count
            await asyncio.to_thread(buffer.pop, record_id)
            return True
        self._mark_up()
        await asyncio.to_thread(buffer.pop, record_id)
        counters = self._counters
        counters.drained += count
        counters.written += written
        counters.rejected += rejected
        counters.dead_lettered += rejected
        if newest is not None:
            self._note_newest(newest)
        return True

    def _write_buffered(self, body: bytes) -> tuple[int, int, int | None]:
        """Decode a buffered record and write it.

        Returns:
            messages written, messages dead-lettered instead, newest timestamp written.
        """
        record = decode_record(body)
        messages: list[Message] = []
        letters = list(record.dead_letters)
        undecodable: list[DeadLetter] = []
        for topic, payload in record.items:
            try:
                messages.append(decode(topic, payload))
            except DecodeError as exc:
                undecodable.append(dead_letter(int(time.time() * 1000), topic, payload,
                                               BUFFER_UNDECODABLE, exc.detail))
        if undecodable:
            try:
                self._dead_log.write(undecodable)
            except OSError as exc:
                msg = f"cannot write the dead-letter log {self._dead_log.path}: {exc}"
                raise SinkError(msg) from exc
            letters.extend(undecodable)
        try:
            self.sink.write(messages, letters)
        except RejectedBatchError as exc:
            rejected = self._reject_letters(messages, str(exc))
            return 0, len(rejected) + len(undecodable), None
        newest = max(m.ts_ms for m in messages) if messages else None
        return len(messages), len(undecodable), newest

    def _note_newest(self, newest: int) -> None:
        counters = self._counters
        if counters.newest_ts_ms is None or newest > counters.newest_ts_ms:
            counters.newest_ts_ms = newest

    # -- acknowledging and stats -----------------------------------------------------------

    def _acknowledge(self, batch: Batch) -> None:
        counters = self._counters
        if batch.buffered:
            counters.buffered += len(batch.raw)
        else:
            counters.written += len(batch.messages)
            counters.rejected += batch.rejected
            if batch.messages:
                self._note_newest(max(m.ts_ms for m in batch.messages))
        counters.dead_lettered += len(batch.dead_letters)
        counters.batches += 1
        source = self._source
        if batch.generation == source.generation and source.connected:
            source.ack(batch.mids)
            counters.acked += len(batch.mids)
        else:
            # Packet ids died with the old connection; the broker redelivers these messages.
            counters.not_acked_after_reconnect += len(batch.mids)
        counters.last_batch_latency_s = time.monotonic() - batch.first_at
        self._pending -= batch.count
        if self._paused and self._pending <= self.config.max_pending - self.config.batch_size:
            self._paused = False
            source.resume()

    def _stats_due(self) -> bool:
        return bool(self.config.stats_interval_s) and time.monotonic() >= self._stats_at

    async def _write_stats(self) -> None:
        """Write the counters as one ``collector`` point through the sink, if it can."""
        self._stats_at = time.monotonic() + self.config.stats_interval_s
        write = getattr(self.sink, "write_stats", None)
        if write is None or (self._sink_down and not self._sink_usable()):
            return  # a point skipped loses nothing: the next one has the same running totals
        now_ms = int(time.time() * 1000)
        fields = stats_fields(self.stats(), now_ms)
        try:
            await asyncio.to_thread(write, now_ms, self.config.client_id, fields)
        except RejectedBatchError as exc:
            # The database answered, so it is reachable; it only refused this point.
            if not self._stats_refused:
                _log.warning("the sink refused the collector's stats point: %s", exc)
            self._stats_refused = True
        except SinkError as exc:
            # Not retried; it tells whether the database is reachable before any message.
            self._mark_down(exc, 0, retry=False)
        else:
            self._mark_up()

    async def _ticker(self) -> None:
        interval = self.config.batch_interval_s
        while True:
            await asyncio.sleep(min(interval, 0.25))
            batch = self._current
            if batch.count and time.monotonic() - batch.first_at >= interval:
                self._seal()

    # -- running -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Collect until *stop* is set, then store and acknowledge what is in flight.

        Raises:
            collector.source.MqttConnectError: the broker cannot be reached at start-up.
            FatalSinkError: the sink's settings are wrong (nothing further is acknowledged).
        """
        if self._sink is None:
            async with self:
                await self._run(stop)
        else:
            await self._run(stop)

    def sink_name(self) -> str:
        """Name of the sink in use, or of the one the settings select before it is opened."""
        return self._sink.name if self._sink is not None else self.config.sink

    async def _run(self, stop: asyncio.Event | None) -> None:
        """Run the pipeline, with the /metrics and /health server when a port is configured."""
        config = self.config
        if config.buffer_max_bytes:
            self._buffer = await asyncio.to_thread(
                OutageBuffer, config.buffer_path, config.buffer_max_bytes,
                OverflowPolicy(config.buffer_overflow))
        try:
            if not config.metrics_port:
                await self._pipeline(stop)
                return
            server = await ObservabilityServer(self.stats, self.sink_name,
                                               host=config.metrics_host,
                                               port=config.metrics_port).start()
            _log.info("serving /metrics and /health on http://%s:%d", config.metrics_host,
                      server.port)
            try:
                await self._pipeline(stop)
            finally:
                await server.close()
        finally:
            if self._buffer is not None:
                # In a thread: it waits for an append still running in one (after a deadline).
                await asyncio.to_thread(self._buffer.close)

    async def _pipeline(self, stop: asyncio.Event | None) -> None:
        stop = stop if stop is not None else asyncio.Event()
        await self._source.start(self._on_message)
        writer = asyncio.create_task(self._writer(), name="collector-writer")
        ticker = asyncio.create_task(self._ticker(), name="collector-ticker")
        stopped = asyncio.create_task(stop.wait(), name="collector-stop")
        try:
            done, _ = await asyncio.wait({writer, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if writer in done:
                writer.result()  # re-raise what broke the writer
            await self._drain(writer)
        finally:
            for task in (writer, ticker, stopped):
                if task.done():
                    continue  # its result or error was already taken; awaiting re-raises
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._source.close()

    async def _quiet(self) -> None:
        """Return once no live batch is waiting and no buffered record is being written."""
        await self._idle.wait()
        await self._replay_idle.wait()

    async def _drain(self, writer: asyncio.Task[None]) -> None:
        """Stop reading, then make every received batch durable within the drain deadline.

        Batches go to the sink, or to the outage buffer while it is down; at the deadline
        whatever is still unwritten is put in the buffer (a write still running in its
        thread may land too: idempotent writes make that harmless). Without room in a
        buffer, the rest stays unacknowledged and the broker redelivers it next run.
        """
        self._stopping = True
        self._source.pause()
        self._seal()
        self._sealed_ready.set()  # wake an idle writer
        idle = asyncio.create_task(self._quiet())
        try:
            done, _ = await asyncio.wait({writer, idle}, timeout=self._drain_timeout_s,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            idle.cancel()
        if writer in done:
            writer.result()  # a fatal sink error: raise it
        if self._idle.is_set() and self._replay_idle.is_set():
            return
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        spilled = 0
        while self._sealed and await self._buffer_batch(self._sealed[0]):
            batch = self._sealed.popleft()
            self._acknowledge(batch)
            spilled += batch.count
        if spilled:
            _log.warning("drain deadline (%.1f s) reached: %d messages put in the outage "
                         "buffer instead of the database", self._drain_timeout_s, spilled)
        if self._pending:
            _log.warning("stopping with %d messages unwritten after %.1f s; the broker keeps "
                         "them for the next run", self._pending, self._drain_timeout_s)
