"""The park's gateway connection: MQTT session, statuses, reconnects and delivery counts.

One :class:`GatewayPublisher` is one MQTT client standing for the park's gateway. Its last
will marks the gateway ``offline`` (retained) if it dies; on connect it publishes retained
``online`` for the gateway and every device; on a clean close it publishes retained
``offline`` for each of them, then disconnects.

Delivery guarantee across broker loss:

* QoS 0 (at most once): what was handed to the socket before the loss may be lost; what was
  not yet handed over is sent after reconnecting.
* QoS 1/2 (at least once): every message not yet acknowledged when the connection drops is
  published again on the new connection (the broker may then see it twice; ``seq`` lets a
  consumer drop the repeat). If the publisher gives up reconnecting, or is closed while
  messages are unacknowledged, those messages are counted in ``failed``; none vanish
  uncounted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from simulator.mqtt import ConnectOptions, MqttConnection, MqttError, Will

_log = logging.getLogger(__name__)


class PublisherStopped(Exception):  # noqa: N818 - a signal, not an error
    """Stop was requested while the publisher waited for the broker."""


@dataclass(frozen=True, slots=True)
class PublisherSettings:
    """Session behaviour on top of the connection options.

    Attributes:
        connect: how to reach the broker (the will is set by the publisher).
        qos: QoS of telemetry messages (events use at least 1; statuses 1, retained).
        reconnect_min_s: first wait before reconnecting.
        reconnect_max_s: longest wait between attempts (the wait doubles up to it).
        give_up_after_s: stop trying after this long without a connection.
        close_timeout_s: on close, how long to wait for outstanding acknowledgements.
    """

    connect: ConnectOptions = field(default_factory=ConnectOptions)
    qos: int = 0
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 10.0
    give_up_after_s: float = 60.0
    close_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.qos not in (0, 1, 2):
            msg = f"qos is {self.qos}; it must be 0, 1 or 2"
            raise ValueError(msg)


class GatewayPublisher:
    """Publishes the simulator's messages as the park's gateway.

    Args:
        settings: broker and session settings.
        gateway_topic: the gateway's status topic (its last will goes there).
        device_status_topics: every device's status topic.
        status_payload: builds a status payload from (ts_ms, online).
        now_ms: the timestamp to put on status messages (simulated time).
        stop: when set, waiting for the broker is abandoned.
    """

    def __init__(self, settings: PublisherSettings, gateway_topic: str,
                 device_status_topics: Sequence[str], *,
                 status_payload: Callable[[int, bool], bytes], now_ms: Callable[[], int],
                 stop: asyncio.Event | None = None) -> None:
        self.settings = settings
        self.gateway_topic = gateway_topic
        self.device_status_topics = tuple(device_status_topics)
        self._status_payload = status_payload
        self._now_ms = now_ms
        self._stop = stop or asyncio.Event()
        self._conn: MqttConnection | None = None
        self._topic_bytes: dict[str, bytes] = {}
        self._written_qos0 = 0
        self._acked_before = 0
        self._rejected_before = 0
        self._failed = 0
        self.reconnects = 0
        self.republished = 0

    # -- counters -----------------------------------------------------------------------------

    @property
    def published(self) -> int:
        """Telemetry messages delivered: written (QoS 0) or acknowledged (QoS 1/2)."""
        acked = self._acked_before + (self._conn.acked if self._conn else 0)
        return self._written_qos0 + acked

    @property
    def failed(self) -> int:
        """Messages given up on (never acknowledged, or refused by an MQTT 5 broker)."""
        rejected = self._rejected_before + (self._conn.rejected if self._conn else 0)
        return self._failed + rejected

    @property
    def connected(self) -> bool:
        """Whether a connection is open now."""
        return self._conn is not None and self._conn.is_open

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (once; a failure here raises :class:`MqttError`) and announce online."""
        self._conn = await MqttConnection.open(self._options())
        await self._announce(online=True)

    async def close(self) -> None:
        """Wait for acknowledgements, publish offline statuses, disconnect cleanly."""
        conn = self._conn
        if conn is None or not conn.is_open:
            self._give_up()
            return
        try:
            async with asyncio.timeout(self.settings.close_timeout_s):
                await conn.wait_all_acked()
                await self._announce(online=False)
                await conn.wait_all_acked()
        except (TimeoutError, MqttError) as exc:
            _log.warning("closing the MQTT session uncleanly: %s", exc or "acknowledgements "
                         "did not arrive in time")
        self._give_up()
        await conn.disconnect()

    def abort(self) -> None:
        """Drop the connection without the clean goodbye (tests and fault drills)."""
        if self._conn is not None:
            self._conn.abort()

    # -- publishing ---------------------------------------------------------------------------

    async def publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish (topic, payload) pairs in order, reconnecting as needed.

        Telemetry goes at the configured QoS; events (``.../event`` topics) at least at QoS 1,
        as the contract says: an alarm or a badge read must arrive, a reading may be skipped.

        Raises:
            MqttError: the broker stayed unreachable for ``give_up_after_s``.
            PublisherStopped: stop was requested while waiting for the broker.
        """
        cache = self._topic_bytes
        encoded: list[tuple[bytes, bytes]] = []
        events: list[tuple[bytes, bytes]] = []
        qos0 = self.settings.qos == 0
        for topic, payload in messages:
            raw = cache.get(topic)
            if raw is None:
                raw = cache[topic] = topic.encode()
            if qos0 and raw.endswith(b"/event"):
                events.append((raw, payload))
            else:
                encoded.append((raw, payload))
        if qos0:
            if encoded:
                await self._publish_qos0(encoded)
            if events:
                await self._publish_acked(events, 1)
        else:
            await self._publish_acked(encoded, self.settings.qos)

    async def _ready_or_count(self, pending: int) -> MqttConnection:
        """Return an open connection; if none comes, count *pending* messages as failed."""
        try:
            return await self._ready()
        except (MqttError, PublisherStopped):
            self._failed += pending
            raise

    async def _publish_qos0(self, encoded: list[tuple[bytes, bytes]]) -> None:
        while True:
            conn = await self._ready_or_count(len(encoded))
            try:
                conn.write_qos0(encoded)
            except MqttError:
                continue  # nothing was written: send the whole step on the next connection
            self._written_qos0 += len(encoded)
            with contextlib.suppress(MqttError):
                await conn.drain()  # a loss here is noticed (and handled) on the next step
            return

    async def _publish_acked(self, encoded: list[tuple[bytes, bytes]], qos: int) -> None:
        pending = encoded
        while pending:
            conn = await self._ready_or_count(len(pending))
            before = conn.sent
            try:
                await conn.publish_many(pending, qos)
                return
            except MqttError:
                pending = pending[conn.sent - before:]
                # Unacknowledged ones go first on the next connection (see _ready).

    async def _ready(self) -> MqttConnection:
        conn = self._conn
        if conn is not None and conn.is_open:
            return conn
        return await self._reconnect()

    async def _reconnect(self) -> MqttConnection:
        old = self._conn
        carried = old.unacked() if old is not None else []
        if old is not None:
            self._acked_before += old.acked
            self._rejected_before += old.rejected
            self._conn = None
        settings = self.settings
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.give_up_after_s
        delay = settings.reconnect_min_s
        _log.warning("lost the MQTT broker; reconnecting (%d unacknowledged to republish)",
                     len(carried))
        while True:
            try:
                conn = await MqttConnection.open(self._options())
                break
            except MqttError as exc:
                if loop.time() + delay > deadline:
                    self._failed += sum(1 for item in carried if item.counted)
                    msg = f"gave up after {settings.give_up_after_s:g} s: {exc}"
                    raise MqttError(msg) from exc
                _log.info("reconnect failed (%s); next try in %.1f s", exc, delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stop.wait()
            if self._stop.is_set():
                self._failed += sum(1 for item in carried if item.counted)
                raise PublisherStopped
            delay = min(delay * 2, settings.reconnect_max_s)
        self._conn = conn
        self.reconnects += 1
        _log.warning("reconnected to the MQTT broker (reconnect #%d)", self.reconnects)
        await self._announce(online=True)
        for item in carried:
            await conn.publish(item.topic, item.payload, item.qos, item.retain,
                               counted=item.counted)
        self.republished += len(carried)
        return conn

    # -- statuses -----------------------------------------------------------------------------

    def _options(self) -> ConnectOptions:
        will = Will(self.gateway_topic, self._status(online=False), qos=1, retain=True)
        return replace(self.settings.connect, will=will)

    async def _announce(self, *, online: bool) -> None:
        conn = self._conn
        assert conn is not None
        payload = self._status(online=online)
        topics = (*self.device_status_topics, self.gateway_topic) if not online else (
            self.gateway_topic, *self.device_status_topics)
        for topic in topics:
            await conn.publish(topic, payload, qos=1, retain=True, counted=False)

    def _status(self, *, online: bool) -> bytes:
        return self._status_payload(self._now_ms(), online)

    def _give_up(self) -> None:
        conn = self._conn
        if conn is not None:
            self._failed += sum(1 for item in conn.unacked() if item.counted)
