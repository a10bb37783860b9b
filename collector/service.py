"""The Collector service: source -> decode/validate -> batch -> sink -> ack.

Everything but the sink write runs on the event loop's thread. A message is acknowledged to
the broker only after its batch was stored (or, if it was invalid, after its dead-letter
record was written and flushed), and acknowledgements go out in the order messages arrived.
What a failed sink write does depends on the error's class (:mod:`collector.sinks.base`):
a retryable failure keeps the batch and retries it with capped exponential back-off and full
jitter (never less than the server's ``Retry-After``); a rejected batch is written to the
dead-letter log (reason ``sink_rejected``) and then acknowledged; a fatal error stops the
collector without acknowledging, so the broker keeps the messages.

Bounds and overflow policies:

* MQTT 5 Receive Maximum (``receive_maximum``) caps unacknowledged messages the broker sends;
* ``max_pending`` caps messages held in memory; at the cap the collector stops reading the
  socket (policy *back-pressure*, counted in ``paused``), so nothing is ever dropped: further
  messages wait in the broker's persistent session;
* batches are written one at a time (single flight), so at most
  ``ceil(max_pending / batch_size)`` sealed batches wait.
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

from collector.config import CollectorConfig
from collector.deadletter import DeadLetterLog, dead_letter
from collector.lineprotocol import LineProtocolError, escape_key, format_value
from collector.observability import ObservabilityServer
from collector.sinks.base import FatalSinkError, RejectedBatchError, Sink, SinkError
from collector.sinks.embedded import EmbeddedSink
from collector.sinks.influx import InfluxSink
from collector.source import MqttSource, Source
from collector.stats import CollectorStats, Counters
from collector.store import DeadLetter
from parkwire import DecodeError, Event, Message, decode, encode

_log = logging.getLogger(__name__)

#: Reason code of a valid message that no store could hold (a line break in an event string).
UNENCODABLE = "unencodable"
#: Reason code of a valid message the sink refused (HTTP 400/413/422, a DuckDB data error).
SINK_REJECTED = "sink_rejected"
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
    """

    generation: int
    messages: list[Message] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    mids: list[int] = field(default_factory=list)
    count: int = 0
    first_at: float = 0.0
    rejected: int = 0
    logged: int = 0


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
        drain_timeout_s: on stop, how long to keep retrying unwritten batches before giving
            up on them (unacknowledged messages stay in the broker's session, so none is lost).
        rng: source of the retry jitter (tests pass a seeded one).
        sleep: how to wait between retries (tests pass one that records the delays).
    """

    def __init__(self, config: CollectorConfig, *, sink: Sink | None = None,
                 source: Source | None = None, drain_timeout_s: float = 30.0,
                 rng: random.Random | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self._rng = rng if rng is not None else random.Random()  # jitter, not secrets
        self._sleep = sleep if sleep is not None else asyncio.sleep
        self.config = config
        self._sink = sink
        self._source: Source = source if source is not None else MqttSource(config)
        self._dead_log = DeadLetterLog(config.dead_letter_path, config.dead_letter_max_bytes,
                                       config.dead_letter_backups)
        self._drain_timeout_s = drain_timeout_s
        self._counters = Counters()
        self._current = Batch(0)
        self._sealed: deque[Batch] = deque()
        self._sealed_ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._pending = 0
        self._paused = False

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
        return self._counters.snapshot(self._pending, connected=self._source.connected)

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
        while True:
            await self._sealed_ready.wait()
            while self._sealed:
                batch = self._sealed[0]
                await self._store(batch)
                self._sealed.popleft()
                self._acknowledge(batch)
            self._sealed_ready.clear()
            self._idle.set()

    async def _store(self, batch: Batch) -> None:
        """Write *batch* until it is durable; a :class:`FatalSinkError` propagates."""
        delay = self.config.retry_initial_s
        failures, logged_at = 0, -RETRY_LOG_INTERVAL_S
        while True:
            try:
                await asyncio.to_thread(self._write_batch, batch)
            except FatalSinkError as exc:
                self._counters.last_write_error = str(exc)  # reported by /health
                raise
            except SinkError as exc:  # retryable (a plain SinkError counts as retryable)
                failures += 1
                self._counters.retries += 1
                self._counters.last_write_error = str(exc)  # reported by /health
                wait = self.retry_wait(delay, exc)
                now = time.monotonic()
                if now - logged_at >= RETRY_LOG_INTERVAL_S:
                    logged_at = now
                    _log.warning("sink write failed %d time(s) (%s); retrying %d messages, "
                                 "next in %.2f s", failures, exc, batch.count, wait)
                await self._sleep(wait)
                delay = min(self.config.retry_max_s, delay * 2)
            else:
                if failures:
                    _log.info("sink write succeeded after %d failed attempt(s)", failures)
                return

    def retry_wait(self, delay: float, exc: SinkError) -> float:
        """Return the wait before the next attempt: full jitter below *delay*, >= Retry-After."""
        wait = self._rng.uniform(0.0, delay)
        retry_after: float | None = getattr(exc, "retry_after_s", None)
        return max(wait, retry_after) if retry_after is not None else wait

    def _write_batch(self, batch: Batch) -> None:
        if batch.logged < len(batch.dead_letters):
            try:
                self._dead_log.write(batch.dead_letters[batch.logged:])
            except OSError as exc:
                msg = f"cannot write the dead-letter log {self._dead_log.path}: {exc}"
                raise SinkError(msg) from exc
            batch.logged = len(batch.dead_letters)
        try:
            self.sink.write(batch.messages, batch.dead_letters)
        except RejectedBatchError as exc:
            self._divert_rejected(batch, str(exc))

    def _divert_rejected(self, batch: Batch, detail: str) -> None:
        """Move a refused batch's messages to the dead-letter log, so acking loses nothing."""
        now_ms = int(time.time() * 1000)
        letters = [dead_letter(now_ms, str(m.topic), encode(m), SINK_REJECTED, detail)
                   for m in batch.messages]
        try:
            self._dead_log.write(letters)
        except OSError as exc:
            msg = f"cannot write the dead-letter log {self._dead_log.path}: {exc}"
            raise SinkError(msg) from exc
        _log.error("the sink refused %d messages; they are in the dead-letter log %s with "
                   "reason %s: %s", len(letters), self._dead_log.path, SINK_REJECTED, detail)
        batch.dead_letters.extend(letters)
        batch.logged = len(batch.dead_letters)
        batch.rejected += len(letters)
        batch.messages = []

    def _acknowledge(self, batch: Batch) -> None:
        counters = self._counters
        counters.written += len(batch.messages)
        counters.dead_lettered += len(batch.dead_letters)
        counters.rejected += batch.rejected
        counters.batches += 1
        source = self._source
        if batch.generation == source.generation and source.connected:
            source.ack(batch.mids)
            counters.acked += len(batch.mids)
        else:
            # Packet ids died with the old connection; the broker redelivers these messages.
            counters.not_acked_after_reconnect += len(batch.mids)
        counters.last_batch_latency_s = time.monotonic() - batch.first_at
        counters.last_write_error = None
        if batch.messages:
            newest = max(m.ts_ms for m in batch.messages)
            if counters.newest_ts_ms is None or newest > counters.newest_ts_ms:
                counters.newest_ts_ms = newest
        self._pending -= batch.count
        if self._paused and self._pending <= self.config.max_pending - self.config.batch_size:
            self._paused = False
            source.resume()

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
        if not self.config.metrics_port:
            await self._pipeline(stop)
            return
        server = await ObservabilityServer(self.stats, self.sink_name,
                                           host=self.config.metrics_host,
                                           port=self.config.metrics_port).start()
        _log.info("serving /metrics and /health on http://%s:%d", self.config.metrics_host,
                  server.port)
        try:
            await self._pipeline(stop)
        finally:
            await server.close()

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
            await self._drain()
        finally:
            for task in (writer, ticker, stopped):
                if task.done():
                    continue  # its result or error was already taken; awaiting re-raises
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._source.close()

    async def _drain(self) -> None:
        """Stop reading, seal the open batch and wait until every batch is acknowledged."""
        self._source.pause()
        self._seal()
        try:
            await asyncio.wait_for(self._idle.wait(), self._drain_timeout_s)
        except TimeoutError:
            _log.warning("stopping with %d messages unwritten after %.0f s; the broker keeps "
                         "them for the next run", self._pending, self._drain_timeout_s)
