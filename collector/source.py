"""The MQTT source: paho-mqtt driven by the asyncio event loop, acknowledging manually.

paho-mqtt is used rather than aiomqtt because paho offers ``manual_ack=True``: a QoS 1
message's PUBACK is sent only when :meth:`MqttSource.ack` is called, after the message is
durable. aiomqtt 2.x acknowledges on receipt, before the application has stored anything.

The client runs on the event loop's thread through socket callbacks (``add_reader`` /
``add_writer`` calling paho's ``loop_read`` / ``loop_write``, plus ``loop_misc`` once a second
for keep-alive), so decoding and batching need no locks. Each readable event drains up to
:data:`READ_BURST` packets, which saves an event-loop round trip per message.
"""

# paho fixes the signatures of its callbacks, so some arguments go unused.
# ruff: noqa: ARG002

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector.config import CollectorConfig
from collector.mqtt_client import BufferedClient

_log = logging.getLogger(__name__)

#: Packets read per readable event before yielding to the event loop.
READ_BURST = 2000

#: Called for every message: topic, payload, packet id, QoS.
MessageHandler = Callable[[str, bytes, int, int], None]


class Source(Protocol):
    """What the collector needs from a message source (MQTT, or a fake in tests)."""

    @property
    def generation(self) -> int:
        """Connection number; packet ids are only valid within one generation."""

    @property
    def connected(self) -> bool:
        """Whether acknowledgements can be sent now."""

    async def start(self, handler: MessageHandler) -> None:
        """Connect and subscribe; messages then flow to *handler*."""

    def ack(self, mids: Sequence[int]) -> None:
        """Acknowledge QoS 1 messages *mids* of the current generation, in this order."""

    def pause(self) -> None:
        """Stop reading messages (back-pressure)."""

    def resume(self) -> None:
        """Read messages again."""

    async def close(self) -> None:
        """Send pending acknowledgements and disconnect."""


def reconnect_delay(attempt: int) -> float:
    """Seconds before reconnect *attempt* (0-based): 0.2 s doubling to 30 s, jittered -50 %."""
    return min(30.0, 0.2 * 2.0 ** min(attempt, 16)) * random.uniform(0.5, 1.0)


def tls_context(ca_file: str = "", cert_file: str = "", key_file: str = "") -> ssl.SSLContext:
    """Return a TLS client context that checks the broker's certificate and host name.

    Args:
        ca_file: CA certificate(s) to trust; empty = the system's trust store.
        cert_file: client certificate for mutual TLS (optional).
        key_file: its private key (default: in *cert_file*).
    """
    context = ssl.create_default_context(cafile=ca_file or None)
    if cert_file:
        context.load_cert_chain(cert_file, key_file or None)
    return context


class MqttConnectError(ConnectionError):
    """The broker could not be reached or refused the connection or subscription."""


class MqttSource:
    """A persistent-session QoS 1 subscriber.

    Args:
        config: broker address, protocol, client id, topic, session and flow settings.
        tls_context: connect with TLS using this context (CA, client certificate, checks);
            ``None`` connects in plain MQTT.
        leave: resume the session to leave its group: unsubscribe *config.topic* instead of
            subscribing, so that only what the broker already queued for this client id is
            delivered; :meth:`end_session` then deletes the session.
    """

    def __init__(self, config: CollectorConfig, *,
                 tls_context: ssl.SSLContext | None = None, leave: bool = False) -> None:
        self.config = config
        self._tls_context = tls_context
        self.leave = leave
        self._generation = 0
        self._connected = False
        self._paused = False
        self._closing = False
        self._handler: MessageHandler | None = None
        self._delivered = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Future[None] | None = None
        self._misc_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._started = False
        self._reading = asyncio.Event()  # set while not paused; reconnects wait for it
        self._reading.set()
        self._sock: Any = None
        self.session_present = False
        self.reconnects = 0
        self._client = self._build_client()

    @classmethod
    def from_config(cls, config: CollectorConfig, *, leave: bool = False) -> MqttSource:
        """Build the source *config* describes, with TLS when any TLS setting asks for it."""
        tls = tls_context(config.mqtt_ca_file, config.mqtt_cert_file,
                          config.mqtt_key_file) if config.uses_tls else None
        return cls(config, tls_context=tls, leave=leave)

    def _log_in(self, client: mqtt.Client) -> None:
        """Apply the user name, password and TLS settings to *client*."""
        if self.config.mqtt_username:
            client.username_pw_set(self.config.mqtt_username, self.config.password() or None)
        if self._tls_context is not None:
            client.tls_set_context(self._tls_context)

    @property
    def generation(self) -> int:
        """Connection number, incremented on every successful connect."""
        return self._generation

    @property
    def delivered(self) -> int:
        """Messages delivered to the handler so far (all connections)."""
        return self._delivered

    @property
    def paused(self) -> bool:
        """Whether reading is paused by back-pressure."""
        return self._paused

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up and subscribed."""
        return self._connected

    def _build_client(self) -> BufferedClient:
        config = self.config
        v5 = config.mqtt_protocol == "5"
        client = BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        self._log_in(client)
        # Unlimited outgoing queue: the collector only sends PUBACKs, bounded by what it holds.
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        return client

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, handler: MessageHandler, wait_s: float = 10.0) -> None:
        """Connect, subscribe at QoS 1 and start delivering messages to *handler*.

        Raises:
            MqttConnectError: unreachable broker, refused connection or subscription.
        """
        self._handler = handler
        self._loop = asyncio.get_running_loop()
        await self._connect(wait_s)
        # From here on a lost connection is re-established, never given up on.
        self._started = True
        self._misc_task = asyncio.create_task(self._misc_loop(), name="mqtt-misc")

    async def _connect(self, wait_s: float) -> None:
        assert self._loop is not None
        config = self.config
        self._ready = self._loop.create_future()
        properties = None
        if config.mqtt_protocol == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = config.session_expiry_s
            properties.ReceiveMaximum = config.receive_maximum
        try:
            if config.mqtt_protocol == "5":
                self._client.connect(config.mqtt_host, config.mqtt_port, config.keepalive_s,
                                     clean_start=False, properties=properties)
            else:
                self._client.connect(config.mqtt_host, config.mqtt_port, config.keepalive_s)
        except OSError as exc:
            msg = (f"cannot reach the MQTT broker at {config.mqtt_host}:{config.mqtt_port}: "
                   f"{exc.strerror or exc}")
            raise MqttConnectError(msg) from None
        try:
            await asyncio.wait_for(self._ready, wait_s)
        except TimeoutError:
            self._client.disconnect()
            msg = (f"the MQTT broker at {config.mqtt_host}:{config.mqtt_port} did not accept "
                   f"the connection and subscription within {wait_s:g} s")
            raise MqttConnectError(msg) from None
        except MqttConnectError:
            # Refused connection or subscription: drop the half-open session, so that a
            # reconnect starts over instead of staying "connected" without a subscription.
            self._client.disconnect()
            raise

    async def close(self) -> None:
        """Flush pending PUBACKs, disconnect and stop the background tasks."""
        self._closing = True
        for task in (self._misc_task, self._reconnect_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._connected:
            # PUBACKs queued by the last ack() calls go out before DISCONNECT.
            for _ in range(100):
                if not self._client.want_write():
                    break
                self._client.loop_write()
                await asyncio.sleep(0.01)
            self._client.disconnect()
            self._client.loop_write()
        self._connected = False
        self._drop_socket()

    async def end_session(self, wait_s: float = 10.0) -> None:
        """Delete this client id's session on the broker (after :meth:`close`).

        Connects once more with a clean start and no session expiry, which makes the broker
        discard the session, then disconnects.

        Raises:
            MqttConnectError: the broker cannot be reached or refuses the connection.
        """
        await asyncio.to_thread(self._clean_connect, wait_s)

    def _clean_connect(self, wait_s: float) -> None:
        config = self.config
        v5 = config.mqtt_protocol == "5"
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=config.client_id,
                             protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                             clean_session=None if v5 else True)
        self._log_in(client)
        answered: list[Any] = []
        client.on_connect = lambda _c, _u, _f, reason, _p: answered.append(reason)
        try:
            if v5:
                client.connect(config.mqtt_host, config.mqtt_port, config.keepalive_s,
                               clean_start=True)
            else:
                client.connect(config.mqtt_host, config.mqtt_port, config.keepalive_s)
            deadline = time.monotonic() + wait_s
            while not answered and time.monotonic() < deadline:
                client.loop(timeout=0.1)
        except OSError as exc:
            msg = (f"cannot reach the MQTT broker at {config.mqtt_host}:{config.mqtt_port} "
                   f"to end the session: {exc.strerror or exc}")
            raise MqttConnectError(msg) from None
        if not answered or answered[0].is_failure:
            msg = (f"the MQTT broker did not end the session of {config.client_id!r}: "
                   f"{answered[0] if answered else 'no answer'}")
            raise MqttConnectError(msg)
        client.disconnect()
        client.loop(timeout=0.1)

    # -- flow --------------------------------------------------------------------------------

    def ack(self, mids: Sequence[int]) -> None:
        """Queue the PUBACKs of *mids*; they are written when the socket is writable."""
        self._client.ack_many(mids)

    def pause(self) -> None:
        """Stop reading from the socket; the broker then holds further messages."""
        if not self._paused:
            self._paused = True
            self._reading.clear()
            if self._sock is not None and self._loop is not None:
                self._loop.remove_reader(self._sock)

    def resume(self) -> None:
        """Start reading from the socket again."""
        if self._paused:
            self._paused = False
            self._reading.set()
            if self._sock is not None and self._loop is not None:
                self._loop.add_reader(self._sock, self._on_readable)
                if self._client.buffered:
                    # Bytes already read from the socket will not make it readable again.
                    self._loop.call_soon(self._on_readable)

    # -- paho callbacks (all on the event-loop thread) ---------------------------------------

    def _on_readable(self) -> None:
        client = self._client
        for _ in range(READ_BURST):
            if client.buffered:
                client.read_publishes(self._deliver, READ_BURST)
                if self._paused:
                    return
            before = self._delivered
            # paho reads the next packet: a PUBLISH split across recv calls, or anything else.
            rc = client.loop_read()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or self._paused:
                return
            if self._delivered == before and not client.buffered:
                # The socket had nothing more (or only a non-PUBLISH packet): poll again.
                return
        if client.buffered and self._loop is not None:
            # Burst used up with bytes still buffered: continue after other callbacks ran.
            self._loop.call_soon(self._on_readable)

    def _deliver(self, topic: str, payload: bytes, mid: int, qos: int) -> bool:
        """Fast-path delivery of one PUBLISH; returns whether to keep reading."""
        self._delivered += 1
        if self._ready is not None and not self._ready.done():
            self._set_ready()
        assert self._handler is not None
        self._handler(topic, payload, mid, qos)
        return not self._paused

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        self._delivered += 1
        if self._ready is not None and not self._ready.done():
            # Messages of a resumed session may fill the receive window before the SUBACK
            # can be read; a delivered message proves the subscription is active.
            self._set_ready()
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = message._topic.decode("utf-8", "replace")
        assert self._handler is not None
        self._handler(topic, bytes(message.payload), message.mid, message.qos)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: Any,
                    reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self._fail_ready(f"the MQTT broker refused the connection: {reason_code}")
            return
        self.session_present = bool(flags.session_present)
        # Packet ids are scoped to this connection; a resumed session may deliver queued
        # messages before the SUBACK, so the new generation starts here.
        self._generation += 1
        self._connected = True
        if self.leave:
            # The session keeps its subscription across connections; removing it stops the
            # broker from queuing new messages here, while those already queued still come.
            client.unsubscribe(self.config.topic)
        else:
            client.subscribe(self.config.topic, qos=1)

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int,
                      reason_codes: list[Any], properties: Any) -> None:
        failed = [rc for rc in reason_codes if rc.is_failure]
        if failed:
            self._fail_ready(f"the MQTT broker refused the subscription to "
                             f"{self.config.topic!r}: {failed[0]}")
            return
        self._set_ready()

    def _on_unsubscribe(self, client: mqtt.Client, userdata: object, mid: int,
                        reason_codes: Any, properties: Any) -> None:
        # MQTT 5 may answer "no subscription existed" (a session that already left): fine.
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
            _log.info("connected to %s:%d (session present: %s), unsubscribed from %s to "
                      "leave: storing what the broker queued for %s", self.config.mqtt_host,
                      self.config.mqtt_port, self.session_present, self.config.topic,
                      self.config.client_id)

    def _set_ready(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)
            # Logged once subscribed, not at CONNACK: whoever waits for this line (people,
            # scripts, tests) may publish right away without racing the SUBSCRIBE.
            _log.info("connected to %s:%d (session present: %s), subscribed to %s",
                      self.config.mqtt_host, self.config.mqtt_port, self.session_present,
                      self.config.topic)

    def _fail_ready(self, text: str) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(MqttConnectError(text))
        else:
            _log.error("%s", text)

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: Any,
                       reason_code: Any, properties: Any) -> None:
        was_connected = self._connected
        self._connected = False
        if self._closing or self._loop is None or not self._started:
            return  # closing, or start() itself reports the failure
        if was_connected:
            _log.warning("lost the MQTT connection (%s); reconnecting", reason_code)
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = self._loop.create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        """Reconnect (and resubscribe, in ``_on_connect``) with capped, jittered back-off.

        Runs after every lost connection until connected again or closing; it never gives
        up. While paused it waits: the SUBACK could not be read, and no message could be
        taken anyway; the broker keeps them in the session.
        """
        attempt = 0
        while not self._closing and not self._connected:
            delay = reconnect_delay(attempt)
            attempt += 1
            _log.info("reconnecting to the MQTT broker in %.2f s", delay)
            await asyncio.sleep(delay)
            await self._reading.wait()
            try:
                await self._connect(wait_s=10.0)
            except MqttConnectError as exc:
                _log.warning("%s", exc)
            else:
                self.reconnects += 1

    async def _misc_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self._paused and self._sock is not None:
                # Unread bytes prove the broker alive; without this, paho would drop a
                # connection paused for more than a keep-alive (its PINGRESP is unread).
                self._client.note_alive_if_readable()
            self._client.loop_misc()

    def _on_socket_open(self, client: mqtt.Client, userdata: object, sock: Any) -> None:
        assert self._loop is not None
        self._sock = sock
        self._client.reset_buffers()
        if isinstance(sock, socket.socket):
            # A larger receive buffer lets one readable event carry many messages.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        if not self._paused:
            self._loop.add_reader(sock, self._on_readable)

    def _on_socket_close(self, client: mqtt.Client, userdata: object, sock: Any) -> None:
        self._drop_socket()

    def _drop_socket(self) -> None:
        if self._sock is not None and self._loop is not None:
            self._loop.remove_reader(self._sock)
            self._loop.remove_writer(self._sock)
        self._sock = None

    def _on_register_write(self, client: mqtt.Client, userdata: object, sock: Any) -> None:
        assert self._loop is not None
        self._loop.add_writer(sock, self._on_writable)

    def _on_writable(self) -> None:
        self._client.loop_write()

    def _on_unregister_write(self, client: mqtt.Client, userdata: object, sock: Any) -> None:
        assert self._loop is not None
        self._loop.remove_writer(sock)
