"""One MQTT connection over asyncio, made for publishing: QoS 0 in bulk, QoS 1/2 bounded.

The connection does not reconnect by itself; :mod:`simulator.publisher` owns the session
(reconnects, gateway status, republishing what was not acknowledged). Keeping the two apart
makes this class small enough to test against a real broker byte by byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from simulator.mqtt import packets as pk

_log = logging.getLogger(__name__)

#: Transport buffer size above which writers wait (bytes). Large enough for a whole step.
WRITE_HIGH_WATER = 4 * 1024 * 1024


class MqttError(Exception):
    """The connection failed, was refused or was lost."""


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """TLS settings.

    Attributes:
        ca_file: CA certificate(s) to trust; ``None`` uses the system store.
        cert_file: client certificate for mutual TLS.
        key_file: the client certificate's private key.
        insecure: skip certificate and host-name checks (test brokers only).
    """

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False

    def context(self) -> ssl.SSLContext:
        """Build the client SSL context these options describe."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file is not None:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


@dataclass(frozen=True, slots=True)
class Will:
    """The last will the broker publishes if the connection dies uncleanly."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """How to reach and log in to the broker.

    Attributes:
        host: broker host name or address.
        port: broker port.
        client_id: MQTT client identifier.
        keepalive: seconds between keep-alive pings (0 = none).
        protocol: 4 for MQTT 3.1.1, 5 for MQTT 5.
        username: user name, if the broker wants one.
        password: password (never logged).
        tls: TLS settings, or ``None`` for plain TCP.
        will: last will, or ``None``.
        max_inflight: most QoS 1/2 messages awaiting acknowledgement at once (1..65535).
        connect_timeout: seconds to wait for the TCP/TLS handshake and the CONNACK.
    """

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "smartpark-sim"
    keepalive: int = 60
    protocol: int = 4
    username: str | None = None
    password: str | None = None
    tls: TlsOptions | None = None
    will: Will | None = None
    max_inflight: int = 1000
    connect_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_inflight <= pk.MAX_PACKET_ID:
            msg = f"max_inflight is {self.max_inflight}; it must be within 1..{pk.MAX_PACKET_ID}"
            raise ValueError(msg)
        if self.protocol not in (4, 5):
            msg = f"protocol is {self.protocol}; use 4 (MQTT 3.1.1) or 5 (MQTT 5)"
            raise ValueError(msg)

    def __repr__(self) -> str:
        # The password must never reach a log line or a traceback.
        shown = "***" if self.password is not None else None
        return (f"ConnectOptions(host={self.host!r}, port={self.port}, "
                f"client_id={self.client_id!r}, protocol={self.protocol}, "
                f"username={self.username!r}, password={shown}, tls={self.tls!r}, "
                f"max_inflight={self.max_inflight})")


@dataclass(slots=True)
class Pending:
    """A QoS 1/2 message sent and not yet fully acknowledged."""

    topic: bytes
    payload: bytes
    qos: int
    retain: bool
    counted: bool = True  # counts in acked/rejected (statuses are not telemetry)
    released: bool = False  # QoS 2: PUBREC seen, PUBREL sent


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: MqttConnection) -> None:
        self._owner = owner
        self._reader = pk.PacketReader()

    def data_received(self, data: bytes) -> None:
        try:
            packets = self._reader.feed(data)
        except pk.ProtocolError as exc:
            self._owner._fail(MqttError(f"broker sent malformed data: {exc}"))
            return
        for packet in packets:
            self._owner._on_packet(packet)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._on_lost(exc)

    def pause_writing(self) -> None:
        self._owner._writable.clear()

    def resume_writing(self) -> None:
        self._owner._writable.set()


class MqttConnection:
    """An open MQTT connection. Create it with :meth:`open`; end it with :meth:`disconnect`.

    Counters: ``sent`` (QoS 1/2 messages given a packet id), ``acked`` (QoS 1/2 messages the
    broker confirmed), ``rejected`` (confirmed with an MQTT 5 error reason code).
    """

    def __init__(self, options: ConnectOptions) -> None:
        self.options = options
        self.v5 = options.protocol == 5
        self.acked = 0
        self.rejected = 0
        self.sent = 0
        self._limit = options.max_inflight
        self._inflight: dict[int, Pending] = {}
        self._next_id = 1
        self._transport: asyncio.Transport | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self._slot_freed = asyncio.Event()
        self._all_acked = asyncio.Event()
        self._all_acked.set()
        loop = asyncio.get_running_loop()
        self._connack: asyncio.Future[pk.ConnAck] = loop.create_future()
        self._closed: asyncio.Future[None] = loop.create_future()
        self._error: BaseException | None = None
        self._last_rx = loop.time()
        self._keepalive_task: asyncio.Task[None] | None = None

    # -- life cycle ---------------------------------------------------------------------------

    @classmethod
    async def open(cls, options: ConnectOptions) -> MqttConnection:
        """Connect, log in and return the open connection.

        Raises:
            MqttError: the broker is unreachable, the handshake timed out or it refused us.
        """
        conn = cls(options)
        loop = asyncio.get_running_loop()
        ctx = options.tls.context() if options.tls is not None else None
        where = f"{options.host}:{options.port}"
        try:
            async with asyncio.timeout(options.connect_timeout):
                transport, _ = await loop.create_connection(
                    lambda: _Protocol(conn), options.host, options.port, ssl=ctx,
                    server_hostname=options.host if ctx is not None else None)
                conn._transport = transport
                transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
                will = options.will
                transport.write(pk.connect(pk.Connect(
                    client_id=options.client_id, keepalive=options.keepalive,
                    protocol=options.protocol, username=options.username,
                    password=options.password,
                    will_topic=will.topic if will else None,
                    will_payload=will.payload if will else b"",
                    will_qos=will.qos if will else 0,
                    will_retain=will.retain if will else False)))
                connack = await conn._connack
        except TimeoutError:
            conn._abort()
            msg = f"MQTT broker {where} did not answer within {options.connect_timeout} s"
            raise MqttError(msg) from None
        except (OSError, ssl.SSLError) as exc:
            conn._abort()
            msg = f"cannot connect to MQTT broker {where}: {exc}"
            raise MqttError(msg) from exc
        if connack.code != 0:
            conn._abort()
            why = pk.CONNACK_REASONS.get(connack.code, f"code {connack.code}")
            msg = f"MQTT broker {where} refused the connection: {why}"
            raise MqttError(msg)
        conn._limit = max(1, min(conn._limit, connack.receive_maximum))
        if options.keepalive > 0:
            conn._keepalive_task = asyncio.create_task(conn._keepalive(options.keepalive))
        return conn

    @property
    def is_open(self) -> bool:
        """Whether the connection is still usable."""
        return not self._closed.done()

    @property
    def max_inflight(self) -> int:
        """Effective bound on unacknowledged QoS 1/2 messages (ours, or the broker's if lower)."""
        return self._limit

    @property
    def inflight(self) -> int:
        """QoS 1/2 messages awaiting acknowledgement now."""
        return len(self._inflight)

    async def disconnect(self) -> None:
        """Send DISCONNECT and close (the broker then discards the last will)."""
        if self.is_open and self._transport is not None:
            self._transport.write(pk.DISCONNECT_PACKET)
            self._transport.close()
            with contextlib.suppress(MqttError):
                await self.wait_closed()
        self._stop_keepalive()

    async def wait_closed(self) -> None:
        """Wait until the connection ends; raise :class:`MqttError` if it ended by a failure."""
        await asyncio.shield(self._closed)
        if self._error is not None:
            raise MqttError(str(self._error)) from self._error

    def abort(self) -> None:
        """Drop the TCP connection without DISCONNECT (the broker publishes the last will)."""
        self._abort()

    # -- publishing ---------------------------------------------------------------------------

    def write_qos0(self, messages: list[tuple[bytes, bytes]]) -> None:
        """Write many QoS 0 messages (UTF-8 topic, payload) in one buffer.

        Call :meth:`drain` afterwards to respect the transport's flow control.
        """
        self._write(pk.publish_qos0_batch(messages, self.v5))

    async def publish(self, topic: str | bytes, payload: bytes, qos: int = 0,
                      retain: bool = False, *, counted: bool = True) -> None:
        """Publish one message; for QoS 1/2, first wait for a free inflight slot.

        Returns when the message is written, not when it is acknowledged
        (see :meth:`wait_all_acked`). With *counted* false its acknowledgement does not count
        in :attr:`acked`.
        """
        raw = topic.encode() if isinstance(topic, str) else topic
        if qos == 0:
            self._write(pk.publish(raw, payload, 0, retain=retain, v5=self.v5))
            return
        await self._wait_slot()
        self._write(self._register(Pending(raw, payload, qos, retain, counted)))

    async def publish_many(self, messages: Iterable[tuple[bytes, bytes]], qos: int) -> None:
        """Publish many non-retained messages at *qos*, batching writes between slot waits."""
        if qos == 0:
            self.write_qos0(list(messages))
            await self.drain()
            return
        batch: list[bytes] = []
        for topic, payload in messages:
            if len(self._inflight) >= self._limit:
                if batch:
                    self._write(b"".join(batch))
                    batch.clear()
                await self._wait_slot()
            batch.append(self._register(Pending(topic, payload, qos, retain=False)))
        if batch:
            self._write(b"".join(batch))
        await self.drain()

    async def drain(self) -> None:
        """Wait while the transport's buffer is above its high-water mark."""
        while not self._writable.is_set():
            self._check_open()
            await self._wait_or_closed(self._writable)
        self._check_open()

    async def wait_all_acked(self) -> None:
        """Wait until every QoS 1/2 message sent so far is acknowledged."""
        while self._inflight:
            self._check_open()
            await self._wait_or_closed(self._all_acked)
        self._check_open()

    def unacked(self) -> list[Pending]:
        """Return the messages still awaiting acknowledgement, oldest first."""
        return list(self._inflight.values())

    # -- internals ----------------------------------------------------------------------------

    async def _wait_or_closed(self, event: asyncio.Event) -> None:
        waiter: asyncio.Future[Any] = asyncio.ensure_future(event.wait())
        closed: asyncio.Future[Any] = self._closed
        await asyncio.wait({waiter, closed}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()

    def _check_open(self) -> None:
        if not self.is_open:
            msg = (f"MQTT connection lost: {self._error}" if self._error
                   else "MQTT connection closed")
            raise MqttError(msg)

    def _write(self, data: bytes) -> None:
        self._check_open()
        assert self._transport is not None
        self._transport.write(data)

    async def _wait_slot(self) -> None:
        while len(self._inflight) >= self._limit:
            self._check_open()
            self._slot_freed.clear()
            await self._wait_or_closed(self._slot_freed)
        self._check_open()

    def _register(self, pending: Pending) -> bytes:
        inflight = self._inflight
        pid = self._next_id
        # The slot wait guarantees fewer than 65535 ids are taken, so this loop ends.
        while pid in inflight:
            pid = pid % pk.MAX_PACKET_ID + 1
        self._next_id = pid % pk.MAX_PACKET_ID + 1
        inflight[pid] = pending
        self.sent += 1
        self._all_acked.clear()
        return pk.publish(pending.topic, pending.payload, pending.qos,
                          retain=pending.retain, packet_id=pid, v5=self.v5)

    def _complete(self, pid: int, code: int) -> None:
        pending = self._inflight.pop(pid, None)
        if pending is None:
            return  # an ack for a message we no longer track (duplicate): ignore
        if not pending.counted:
            pass
        elif code >= 0x80:
            self.rejected += 1
        else:
            self.acked += 1
        self._slot_freed.set()
        if not self._inflight:
            self._all_acked.set()

    def _on_packet(self, packet: pk.Packet) -> None:
        self._last_rx = asyncio.get_running_loop().time()
        kind = packet.kind
        try:
            if kind in (pk.PUBACK, pk.PUBCOMP):
                pid, code = pk.parse_ack(packet.body)
                self._complete(pid, code)
            elif kind == pk.PUBREC:
                pid, code = pk.parse_ack(packet.body)
                pending = self._inflight.get(pid)
                if code >= 0x80 or pending is None:
                    self._complete(pid, code)
                else:
                    pending.released = True
                    self._write(pk.ack(pk.PUBREL, pid))
            elif kind == pk.CONNACK:
                if not self._connack.done():
                    self._connack.set_result(pk.parse_connack(packet.body, self.v5))
            elif kind == pk.DISCONNECT:
                code = packet.body[0] if packet.body else 0
                self._fail(MqttError(f"broker disconnected us (reason code 0x{code:02x})"))
            # PINGRESP only refreshes _last_rx; we subscribe to nothing, so no PUBLISH arrives.
        except pk.ProtocolError as exc:
            self._fail(MqttError(f"broker sent a malformed packet: {exc}"))

    async def _keepalive(self, keepalive: int) -> None:
        loop = asyncio.get_running_loop()
        while self.is_open:
            await asyncio.sleep(keepalive / 2)
            if self._closed.done():
                return
            if loop.time() - self._last_rx > keepalive * 1.5:
                self._fail(MqttError(f"no answer from the broker for {keepalive * 1.5:g} s"))
                return
            self._write(pk.PINGREQ_PACKET)

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._abort()

    def _abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()
        else:
            self._on_lost(None)

    def _stop_keepalive(self) -> None:
        task = self._keepalive_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def _on_lost(self, exc: Exception | None) -> None:
        if self._closed.done():
            return
        if exc is not None and self._error is None:
            self._error = exc
        if not self._connack.done():
            self._connack.set_exception(MqttError(f"connection closed during login: {exc}"))
            self._connack.exception()  # mark retrieved: open() reports it its own way
        self._closed.set_result(None)
        # Wake every waiter so it sees the closed connection and raises.
        self._slot_freed.set()
        self._writable.set()
        self._all_acked.set()
        self._stop_keepalive()
        _log.debug("MQTT connection to %s:%s closed (%s)", self.options.host, self.options.port,
                   self._error)
