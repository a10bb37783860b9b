"""A paho-mqtt client that reads and writes its socket in large chunks.

paho 2.x reads each packet with several tiny ``recv`` calls (fixed header byte, each length
byte, then the body) and sends every PUBACK with its own ``send``. Each call releases and
re-acquires the GIL; while the sink thread is busy, re-acquiring can wait a whole switch
interval (5 ms), so at tens of thousands of messages a second most time went to waiting.
This subclass serves paho's small reads from one large ``recv`` buffer and coalesces writes
into one ``send`` per :meth:`loop_write`. It overrides ``_sock_recv`` and ``_sock_send``,
private methods of paho 2.x (the dependency is pinned ``<3``); the integration tests run the
collector through it against a real broker.
"""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

#: Bytes asked of the socket per ``recv``.
RECV_CHUNK = 256 * 1024


class BufferedClient(mqtt.Client):
    """paho ``Client`` with buffered socket reads and coalesced writes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0
        self._wbuf = bytearray()

    @property
    def buffered(self) -> bool:
        """Whether received bytes are waiting in the buffer (the socket may look idle)."""
        return self._rpos < len(self._rbuf)

    def reset_buffers(self) -> None:
        """Forget buffered bytes (a new socket was opened)."""
        self._rbuf, self._rpos = b"", 0
        self._wbuf.clear()

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
            except BlockingIOError:
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
