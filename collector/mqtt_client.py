"""A paho-mqtt client that reads and writes its socket in large chunks.

paho 2.x reads each packet with several tiny ``recv`` calls (fixed header byte, each length
byte, then the body) and sends every PUBACK with its own ``send``. Each call releases and
re-acquires the GIL; while the sink thread is busy, re-acquiring can wait a whole switch
interval (5 ms), so at tens of thousands of messages a second most time went to waiting.
This subclass serves paho's small reads from one large ``recv`` buffer and coalesces writes
into one ``send`` per :meth:`loop_write`.

It also has a fast path for the one packet that arrives by the ten thousand: when paho is
between packets, :meth:`BufferedClient.read_publishes` parses complete QoS 0/1 PUBLISH
packets straight from the buffer and hands (topic, payload, packet id, QoS) to the caller,
skipping paho's per-message objects (``MQTTMessage``, MQTT 5 ``Properties``, a
``threading.Condition``, topic matching). Every other packet, and any PUBLISH not yet complete
in the buffer, goes through paho's own ``loop_read`` unchanged, so connection handling stays
paho's. The class touches private members of paho 2.x (``_sock_recv``, ``_sock_send``,
``_in_packet``, ``_last_bytes_received``); the dependency is pinned ``<3`` and the integration
tests run the collector through this class against a real broker.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes

#: PUBACK fixed header: packet type 4, remaining length 2 (the packet id follows).
PUBACK = PacketTypes.PUBACK << 4
_PUBACK_HEAD = bytes((PUBACK, 2))

#: Bytes asked of the socket per ``recv``.
RECV_CHUNK = 256 * 1024

#: Receives topic, payload, packet id and QoS of one PUBLISH; returns False to stop reading.
PublishHandler = Callable[[str, bytes, int, int], bool]


class BufferedClient(mqtt.Client):
    """paho ``Client`` with buffered socket reads and coalesced writes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0
        self._wbuf = bytearray()

    @property
    def buffered(self) -> bool:
        """Whether received bytes wait in a buffer (the socket may then look idle).

        Over TLS the SSL object holds decrypted bytes of a record already taken from the
        socket; they do not make the socket readable again, so they count as buffered.
        """
        if self._rpos < len(self._rbuf):
            return True
        sock = self._sock
        return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0

    def ack_many(self, mids: Sequence[int]) -> None:
        """Queue the PUBACKs of *mids* as one write, in order.

        paho builds, queues and signals one packet per ``ack()``; at tens of thousands of
        messages a second that is a tenth of the collector's time. A PUBACK with success is
        the same four bytes in MQTT 3.1.1 and 5 (type, length 2, packet id), so a batch's
        acknowledgements are joined and handed to paho's queue as a single packet.
        """
        if not mids:
            return
        blob = b"".join([_PUBACK_HEAD + mid.to_bytes(2, "big") for mid in mids])
        self._packet_queue(PUBACK, blob, 0, 1)

    def note_alive_if_readable(self) -> None:
        """Count unread bytes on the socket as a sign of life for the keep-alive check.

        A paused reader leaves the broker's packets (PINGRESP included) in the socket, so
        paho would see silence and drop a healthy connection; peeking without consuming
        tells whether the broker is still sending.
        """
        sock = self._sock
        if not isinstance(sock, socket.socket):
            return
        try:
            data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:
            return  # nothing waiting (or an error the next read reports)
        if data:
            with self._msgtime_mutex:
                self._last_bytes_received = mqtt.time_func()
            self._ping_t = 0

    def reset_buffers(self) -> None:
        """Forget buffered bytes (a new socket was opened)."""
        self._rbuf, self._rpos = b"", 0
        self._wbuf.clear()

    def read_publishes(self, deliver: PublishHandler, limit: int) -> int:
        """Deliver up to *limit* complete QoS 0/1 PUBLISH packets waiting in the buffer.

        Stops at the first other packet, an incomplete packet, or when *deliver* returns
        False; paho's ``loop_read`` then carries on from exactly that byte. Returns the number
        of messages delivered.
        """
        if self._in_packet["command"] != 0:
            return 0  # paho is in the middle of a packet
        buf, pos = self._rbuf, self._rpos
        end = len(buf)
        v5 = self._protocol == mqtt.MQTTv5
        count = 0
        while count < limit and pos < end:
            first = buf[pos]
            if first & 0xF0 != 0x30 or first & 0x06 == 0x06 or first & 0x06 == 0x04:
                break  # not a PUBLISH, or QoS 2 (never subscribed to): paho handles it
            length, index = _varint(buf, pos + 1, min(end, pos + 5))
            body_end = index + length
            if length < 0 or body_end > end:
                break  # length or body not complete in the buffer (or malformed: paho decides)
            topic_end = index + 2 + ((buf[index] << 8) | buf[index + 1])
            qos = (first >> 1) & 0x03
            cursor = topic_end
            mid = 0
            if qos:
                mid = (buf[cursor] << 8) | buf[cursor + 1]
                cursor += 2
            if v5:
                props, cursor = _varint(buf, cursor, min(body_end, cursor + 4))
                cursor = body_end + 1 if props < 0 else cursor + props
            if cursor > body_end:
                break  # malformed: let paho report it
            topic = buf[index + 2:topic_end].decode("utf-8", "replace")
            payload = buf[cursor:body_end]
            pos = body_end
            self._rpos = pos  # consumed before delivery, so a pause leaves a clean state
            count += 1
            if not deliver(topic, payload, mid, qos):
                break
        if count:
            with self._msgtime_mutex:
                self._last_bytes_received = mqtt.time_func()
        return count

    def _sock_recv(self, bufsize: int) -> bytes:
        pos = self._rpos
        if pos >= len(self._rbuf):
            data = super()._sock_recv(RECV_CHUNK)
            if not data:
                return data  # the peer closed the connection
            self._rbuf, pos = data, 0
        end = pos + bufsize
        chunk = self._rbuf[pos:end]
        self._rpos = pos + len(chunk)
        return chunk

    def _sock_send(self, buf: bytes | bytearray) -> int:
        # Collected here, sent by _flush() at the end of loop_write().
        self._wbuf += buf
        return len(buf)

    def loop_write(self) -> MQTTErrorCode:
        """Let paho serialise its queued packets, then send them in as few calls as possible."""
        rc = super().loop_write()
        self._flush()
        return rc

    def _flush(self) -> None:
        sock = self._sock
        while self._wbuf and sock is not None:
            try:
                sent = sock.send(self._wbuf)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                # Kernel buffer full (or TLS needs another round): finish when writable.
                self._call_socket_register_write()
                return
            except OSError:
                # The read side notices the broken connection and reconnects.
                self._wbuf.clear()
                return
            del self._wbuf[:sent]
        if not self._wbuf and sock is not None and not super().want_write():
            self._call_socket_unregister_write()

    def want_write(self) -> bool:
        """Whether anything is queued or buffered for sending."""
        return bool(self._wbuf) or super().want_write()


def _varint(buf: bytes, index: int, limit: int) -> tuple[int, int]:
    """Decode an MQTT variable byte integer at *index*; (-1, index) if unfinished by *limit*."""
    value, mult = 0, 1
    while index < limit:
        byte = buf[index]
        value += (byte & 0x7F) * mult
        mult <<= 7
        index += 1
        if not byte & 0x80:
            return value, index
    return -1, index
