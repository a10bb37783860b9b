"""MQTT packet encoding and parsing, byte by byte (no broker)."""

from __future__ import annotations

import pytest

from simulator.mqtt import packets as pk


@pytest.mark.parametrize(("n", "raw"), [
    (0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16_383, b"\xff\x7f"),
    (16_384, b"\x80\x80\x01"), (268_435_455, b"\xff\xff\xff\x7f"),
])
def test_varint_round_trip(n: int, raw: bytes) -> None:
    """Remaining lengths encode as the spec's examples and read back."""
    assert pk.varint(n) == raw
    assert pk.read_varint(raw, 0) == (n, len(raw))


def test_varint_limits() -> None:
    """Too large a length and a truncated varint are protocol errors."""
    with pytest.raises(pk.ProtocolError, match="exceeds"):
        pk.varint(pk.MAX_REMAINING + 1)
    with pytest.raises(pk.ProtocolError, match="malformed"):
        pk.read_varint(b"\x80\x80", 0)


def test_connect_v311_with_will_and_login() -> None:
    """CONNECT 3.1.1 carries flags, keepalive, client id, will, user and password in order."""
    raw = pk.connect(pk.Connect("gw", keepalive=30, username="u", password="p",  # noqa: S106
                                will_topic="a/b", will_payload=b"off", will_qos=1,
                                will_retain=True))
    body = b"\x00\x04MQTT\x04" + bytes([0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02]) + b"\x00\x1e"
    body += b"\x00\x02gw" + b"\x00\x03a/b" + b"\x00\x03off" + b"\x00\x01u" + b"\x00\x01p"
    assert raw == b"\x10" + bytes([len(body)]) + body


def test_connect_v5_has_empty_property_blocks() -> None:
    """CONNECT 5 adds an empty property block after keepalive and before the will."""
    raw = pk.connect(pk.Connect("c", protocol=5, clean_start=False, will_topic="w"))
    assert raw[2:10] == b"\x00\x04MQTT\x05\x04"
    assert raw[12] == 0  # connect properties
    assert raw[13:16] == b"\x00\x01c"
    assert raw[16] == 0  # will properties
    with pytest.raises(pk.ProtocolError, match="not supported"):
        pk.connect(pk.Connect("c", protocol=3))
    with pytest.raises(pk.ProtocolError, match="65535"):
        pk.connect(pk.Connect("c" * 70_000))


def test_publish_layouts() -> None:
    """PUBLISH has the QoS/retain/dup bits, the packet id for QoS>0 and v5 properties."""
    assert pk.publish(b"t", b"x") == b"\x30\x04\x00\x01tx"
    assert pk.publish(b"t", b"x", 1, retain=True, packet_id=7) == b"\x33\x06\x00\x01t\x00\x07x"
    assert pk.publish(b"t", b"x", 2, packet_id=1, v5=True, dup=True) == (
        b"\x3c\x07\x00\x01t\x00\x01\x00x")


@pytest.mark.parametrize("v5", [False, True])
def test_batch_equals_one_publish_per_message(v5: bool) -> None:
    """The bulk QoS 0 encoder gives exactly the bytes of single PUBLISH packets."""
    messages = [(b"park/a", b"{}"), (b"p/" + b"x" * 200, b"y" * 20_000), (b"t", b"")]
    expected = b"".join(pk.publish(t, p, v5=v5) for t, p in messages)
    assert pk.publish_qos0_batch(messages, v5) == expected


def test_acks() -> None:
    """PUBREL carries its mandatory flags; acks parse with and without a reason code."""
    assert pk.ack(pk.PUBACK, 258) == b"\x40\x02\x01\x02"
    assert pk.ack(pk.PUBREL, 1) == b"\x62\x02\x00\x01"
    assert pk.parse_ack(b"\x01\x02") == (258, 0)
    assert pk.parse_ack(b"\x00\x05\x87\x00") == (5, 0x87)
    with pytest.raises(pk.ProtocolError, match="too short"):
        pk.parse_ack(b"\x01")


def test_reader_reassembles_packets_split_anywhere() -> None:
    """Packets fed one byte at a time come out whole and in order."""
    stream = pk.ack(pk.PUBACK, 1) + pk.publish(b"t", b"z" * 300) + b"\xd0\x00"
    reader = pk.PacketReader()
    out: list[pk.Packet] = []
    for i in range(len(stream)):
        out += reader.feed(stream[i:i + 1])
    assert [p.kind for p in out] == [pk.PUBACK, pk.PUBLISH, pk.PINGRESP]
    assert out[0].body == b"\x00\x01"
    assert out[1].body.endswith(b"z" * 300)


def test_reader_rejects_malformed_and_oversized() -> None:
    """A five-byte length and a packet above the limit are protocol errors."""
    with pytest.raises(pk.ProtocolError, match="malformed"):
        pk.PacketReader().feed(b"\x30\xff\xff\xff\xff\x01")
    with pytest.raises(pk.ProtocolError, match="exceeds"):
        pk.PacketReader(max_packet=10).feed(b"\x30\x0b")


def test_connack_v311_and_v5_properties() -> None:
    """CONNACK codes parse; v5 properties give receive maximum, maximum QoS and a reason."""
    assert pk.parse_connack(b"\x01\x00", v5=False) == pk.ConnAck(True, 0)
    props = (b"\x21\x00\x0a" + b"\x24\x01" + b"\x1f\x00\x02hi" + b"\x11\x00\x00\x00\x3c"
             + b"\x0b\x05" + b"\x26\x00\x01k\x00\x01v")
    body = b"\x00\x00" + bytes([len(props)]) + props
    ack = pk.parse_connack(body, v5=True)
    assert (ack.receive_maximum, ack.maximum_qos, ack.reason) == (10, 1, "hi")
    assert pk.parse_connack(b"\x00\x86", v5=True).code == 0x86
    with pytest.raises(pk.ProtocolError, match="too short"):
        pk.parse_connack(b"\x00", v5=False)
    with pytest.raises(pk.ProtocolError, match="unknown"):
        pk.parse_connack(b"\x00\x00\x02\x7f\x00", v5=True)
    with pytest.raises(pk.ProtocolError, match="overruns"):
        pk.parse_connack(b"\x00\x00\x01\x21\x00\x0a", v5=True)
