"""The buffered paho client's PUBLISH fast path, fed crafted packets through a fake socket."""

from __future__ import annotations

import socket

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collector.mqtt_client import BufferedClient


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def publish(topic: str, payload: bytes, mid: int, qos: int = 1, props: bytes | None = None,
            ) -> bytes:
    """Encode one PUBLISH packet (props is the v5 property block, None for 3.1.1)."""
    body = len(topic.encode()).to_bytes(2, "big") + topic.encode()
    if qos:
        body += mid.to_bytes(2, "big")
    if props is not None:
        body += _varint(len(props)) + props
    body += payload
    return bytes([0x30 | (qos << 1)]) + _varint(len(body)) + body


class _Sock:
    """A non-blocking socket stand-in that returns prepared chunks."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def recv(self, size: int) -> bytes:
        if not self.chunks:
            raise BlockingIOError
        chunk = self.chunks.pop(0)
        assert len(chunk) <= size
        return chunk

    def close(self) -> None:
        """Nothing to release."""


class _Recorder:
    """Collects delivered messages; says stop after *stop_after* of them."""

    def __init__(self, stop_after: int = 10**9) -> None:
        self.got: list[tuple[str, bytes, int, int]] = []
        self.stop_after = stop_after

    def __call__(self, topic: str, payload: bytes, mid: int, qos: int) -> bool:
        self.got.append((topic, payload, mid, qos))
        return len(self.got) < self.stop_after


def _client(protocol: int, chunks: list[bytes]) -> BufferedClient:
    client = BufferedClient(CallbackAPIVersion.VERSION2, client_id="t", protocol=protocol)
    client._sock = _Sock(chunks)  # type: ignore[assignment]
    return client


def _fill(client: BufferedClient) -> None:
    """Make the client pull its first chunk into the buffer, as paho's first recv would."""
    client._sock_recv(1)
    client._rpos = 0


def test_fast_path_delivers_complete_publishes_and_leaves_the_rest_to_paho() -> None:
    """Complete v5 PUBLISHes are delivered; a split one and a PINGRESP go through paho."""
    first = publish("a/b", b"one", 1, props=b"\x02\x00\x00\x00\x10")
    second = publish("a/\xe9", b"two" * 100, 2, qos=0, props=b"")
    third = publish("a/c", b"three", 3, props=b"")
    data = first + second + third[:4]
    client = _client(mqtt.MQTTv5, [data, third[4:] + b"\xd0\x00"])
    client.manual_ack_set(True)
    recorder = _Recorder()

    def on_message(_client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        recorder(message.topic, bytes(message.payload), message.mid, message.qos)

    client.on_message = on_message
    _fill(client)
    assert client.read_publishes(recorder, 100) == 2
    assert recorder.got == [("a/b", b"one", 1, 1), ("a/\xe9", b"two" * 100, 0, 0)]
    assert client.buffered
    client.loop_read()  # paho assembles the split PUBLISH from the buffer and the socket
    assert recorder.got[-1] == ("a/c", b"three", 3, 1)
    assert client.read_publishes(recorder, 100) == 0  # a PINGRESP is not a PUBLISH


def test_fast_path_for_mqtt_311_and_stopping_early() -> None:
    """Without v5 properties packets parse too; a handler returning False stops the loop."""
    packets = b"".join(publish("x/y", b"%d" % i, i + 1) for i in range(5))
    client = _client(mqtt.MQTTv311, [packets])
    _fill(client)
    recorder = _Recorder(stop_after=2)
    assert client.read_publishes(recorder, 100) == 2
    recorder.stop_after = 10**9
    assert client.read_publishes(recorder, 2) == 2
    assert [m[2] for m in recorder.got] == [1, 2, 3, 4]
    client._in_packet["command"] = 0x30  # paho mid-packet: the fast path keeps out
    assert client.read_publishes(recorder, 100) == 0


def _connected_client() -> tuple[BufferedClient, socket.socket]:
    """A client whose socket is one end of a socketpair; returns (client, the other end)."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    client = BufferedClient(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client._sock = ours  # what paho sets on connect
    return client, theirs


def test_unread_bytes_count_as_a_sign_of_life() -> None:
    """A paused reader with bytes waiting refreshes paho's keep-alive clock without reading."""
    client, peer = _connected_client()
    client._last_bytes_received = 0.0
    client._ping_t = 5.0
    peer.send(b"\xd0\x00")  # a PINGRESP
    client.note_alive_if_readable()
    assert client._last_bytes_received > 0.0
    assert client._ping_t == 0
    assert client._sock.recv(2) == b"\xd0\x00"  # type: ignore[union-attr]  # not consumed
    peer.close()
    client._sock.close()  # type: ignore[union-attr]


def test_silence_is_not_a_sign_of_life() -> None:
    """With nothing waiting (or no socket) the keep-alive clock is left alone."""
    client, peer = _connected_client()
    client._last_bytes_received = 0.0
    client.note_alive_if_readable()
    assert client._last_bytes_received == 0.0
    peer.close()
    client.note_alive_if_readable()  # end of stream: left to the next read to report
    assert client._last_bytes_received == 0.0
    client._sock.close()  # type: ignore[union-attr]
    client._sock = None
    client.note_alive_if_readable()
    assert client._last_bytes_received == 0.0
