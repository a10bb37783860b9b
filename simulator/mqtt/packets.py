"""MQTT control packets as bytes: the encoders a publisher needs and a stream parser.

Covers MQTT 3.1.1 (protocol level 4) and MQTT 5 (level 5) for a client that connects,
publishes at QoS 0/1/2, pings and disconnects. Nothing here does I/O, so every byte layout is
unit-tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass

# Control packet types (the high nibble of the first byte).
CONNECT = 1
CONNACK = 2
PUBLISH = 3
PUBACK = 4
PUBREC = 5
PUBREL = 6
PUBCOMP = 7
SUBSCRIBE = 8
SUBACK = 9
PINGREQ = 12
PINGRESP = 13
DISCONNECT = 14

#: Largest value the variable-length "remaining length" can hold (256 MiB - 1).
MAX_REMAINING = 268_435_455
#: Packet identifiers are 16-bit and never 0.
MAX_PACKET_ID = 65_535

PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"

# MQTT 5 property identifiers, grouped by how their value is laid out (spec §2.2.2.2).
_PROP_BYTE = frozenset({0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A})
_PROP_TWO = frozenset({0x13, 0x21, 0x22, 0x23})
_PROP_FOUR = frozenset({0x02, 0x11, 0x18, 0x27})
_PROP_VARINT = frozenset({0x0B})
_PROP_BLOB = frozenset({0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F})
_PROP_PAIR = frozenset({0x26})
PROP_RECEIVE_MAXIMUM = 0x21
PROP_MAXIMUM_QOS = 0x24
PROP_REASON_STRING = 0x1F

# Remaining-length prefixes for the common sizes, precomputed: PUBLISH encoding is the
# simulator's hot path and most packets are a few hundred bytes.
_VARINT_CACHE = tuple(
    bytes([n]) if n < 128 else bytes([(n & 0x7F) | 0x80, n >> 7]) for n in range(16_384)
)


class ProtocolError(Exception):
    """The peer sent bytes that are not valid MQTT (or a value out of range was given)."""


def varint(n: int) -> bytes:
    """Encode *n* as an MQTT variable byte integer (remaining length)."""
    if n < 16_384:
        return _VARINT_CACHE[n]
    if n > MAX_REMAINING:
        msg = f"packet of {n} bytes exceeds MQTT's limit of {MAX_REMAINING}"
        raise ProtocolError(msg)
    out = bytearray()
    while True:
        digit = n & 0x7F
        n >>= 7
        if n:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def _text(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    if len(raw) > 65_535:
        msg = f"string field of {len(raw)} bytes exceeds 65535"
        raise ProtocolError(msg)
    return len(raw).to_bytes(2, "big") + raw


@dataclass(frozen=True, slots=True)
class Connect:
    """Everything a CONNECT packet carries.

    Attributes:
        client_id: the client identifier.
        keepalive: seconds; 0 disables the broker's keep-alive check.
        protocol: 4 for MQTT 3.1.1, 5 for MQTT 5.
        clean_start: start a fresh session.
        username: optional user name.
        password: optional password.
        will_topic: last-will topic, or ``None`` for no will.
        will_payload: last-will payload.
        will_qos: last-will QoS.
        will_retain: retain the last will.
    """

    client_id: str
    keepalive: int = 60
    protocol: int = 4
    clean_start: bool = True
    username: str | None = None
    password: str | None = None
    will_topic: str | None = None
    will_payload: bytes = b""
    will_qos: int = 0
    will_retain: bool = False


def connect(c: Connect) -> bytes:
    """Encode a CONNECT packet."""
    if c.protocol not in (4, 5):
        msg = f"MQTT protocol level {c.protocol} is not supported; use 4 (3.1.1) or 5"
        raise ProtocolError(msg)
    v5 = c.protocol == 5
    flags = 0x02 if c.clean_start else 0
    payload = [_text(c.client_id)]
    if c.will_topic is not None:
        flags |= 0x04 | (c.will_qos << 3) | (0x20 if c.will_retain else 0)
        if v5:
            payload.append(b"\x00")  # no will properties
        payload += [_text(c.will_topic), _text(c.will_payload)]
    if c.username is not None:
        flags |= 0x80
        payload.append(_text(c.username))
    if c.password is not None:
        flags |= 0x40
        payload.append(_text(c.password))
    header = b"\x00\x04MQTT" + bytes([c.protocol, flags]) + c.keepalive.to_bytes(2, "big")
    if v5:
        header += b"\x00"  # no connect properties
    body = header + b"".join(payload)
    return b"\x10" + varint(len(body)) + body


def publish(topic: bytes, payload: bytes, qos: int = 0, *, retain: bool = False,
            packet_id: int = 0, v5: bool = False, dup: bool = False) -> bytes:
    """Encode one PUBLISH packet; *topic* is already UTF-8 encoded."""
    first = 0x30 | (qos << 1) | (0x01 if retain else 0) | (0x08 if dup else 0)
    extra = (2 if qos else 0) + (1 if v5 else 0)
    head = bytes([first]) + varint(2 + len(topic) + extra + len(payload))
    head += len(topic).to_bytes(2, "big") + topic
    if qos:
        head += packet_id.to_bytes(2, "big")
    if v5:
        head += b"\x00"  # no publish properties
    return head + payload


def publish_qos0_batch(messages: list[tuple[bytes, bytes]], v5: bool = False) -> bytes:
    """Encode many QoS 0 PUBLISH packets into one buffer (one write, one syscall).

    This is the simulator's hot path, so it is a tight loop over precomputed length prefixes
    rather than a call to :func:`publish` per message.
    """
    parts: list[bytes] = []
    add = parts.append
    cache = _VARINT_CACHE
    tail = b"\x00" if v5 else b""
    extra = 3 if v5 else 2
    for topic, payload in messages:
        size = extra + len(topic) + len(payload)
        prefix = cache[size] if size < 16_384 else varint(size)
        add(b"\x30" + prefix + len(topic).to_bytes(2, "big") + topic + tail)
        add(payload)
    return b"".join(parts)


def ack(kind: int, packet_id: int) -> bytes:
    """Encode a PUBACK, PUBREC, PUBREL or PUBCOMP (PUBREL carries the mandatory flags 0b0010)."""
    first = (kind << 4) | (0x02 if kind == PUBREL else 0)
    return bytes([first, 2]) + packet_id.to_bytes(2, "big")


@dataclass(frozen=True, slots=True)
class Packet:
    """One received packet: its type, the low-nibble flags and the bytes after the header."""

    kind: int
    flags: int
    body: bytes


class PacketReader:
    """Incremental parser: feed it bytes as they arrive, take out whole packets."""

    def __init__(self, max_packet: int = MAX_REMAINING) -> None:
        self._buf = bytearray()
        self._max = max_packet

    def feed(self, data: bytes) -> list[Packet]:
        """Add *data* and return every packet now complete, in order."""
        buf = self._buf
        buf += data
        packets: list[Packet] = []
        pos = 0
        end = len(buf)
        while end - pos >= 2:
            length = 0
            shift = 0
            i = pos + 1
            complete = False
            while i < end:
                byte = buf[i]
                i += 1
                length |= (byte & 0x7F) << shift
                if not byte & 0x80:
                    complete = True
                    break
                shift += 7
                if shift > 21:
                    msg = "malformed remaining length (more than 4 bytes)"
                    raise ProtocolError(msg)
            if not complete:
                break
            if length > self._max:
                msg = f"packet of {length} bytes exceeds the limit of {self._max}"
                raise ProtocolError(msg)
            if end - i < length:
                break
            first = buf[pos]
            packets.append(Packet(first >> 4, first & 0x0F, bytes(buf[i:i + length])))
            pos = i + length
        if pos:
            del buf[:pos]
        return packets


@dataclass(frozen=True, slots=True)
class ConnAck:
    """A decoded CONNACK."""

    session_present: bool
    code: int
    receive_maximum: int = MAX_PACKET_ID
    maximum_qos: int = 2
    reason: str = ""


#: Why a broker refused a connection, by CONNACK return code (3.1.1 and 5).
CONNACK_REASONS = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
    0x80: "unspecified error",
    0x81: "malformed packet",
    0x82: "protocol error",
    0x84: "unsupported protocol version",
    0x85: "client identifier not valid",
    0x86: "bad user name or password",
    0x87: "not authorised",
    0x88: "server unavailable",
    0x89: "server busy",
    0x8A: "banned",
    0x8C: "bad authentication method",
    0x95: "packet too large",
    0x97: "quota exceeded",
    0x9F: "connection rate exceeded",
}


def parse_properties(data: bytes, pos: int) -> tuple[dict[int, int | bytes], int]:
    """Parse an MQTT 5 property block at *pos*; return the properties and the end offset."""
    length, pos = read_varint(data, pos)
    end = pos + length
    props: dict[int, int | bytes] = {}
    while pos < end:
        ident = data[pos]
        pos += 1
        if ident in _PROP_BYTE:
            props[ident] = data[pos]
            pos += 1
        elif ident in _PROP_TWO:
            props[ident] = int.from_bytes(data[pos:pos + 2], "big")
            pos += 2
        elif ident in _PROP_FOUR:
            props[ident] = int.from_bytes(data[pos:pos + 4], "big")
            pos += 4
        elif ident in _PROP_VARINT:
            props[ident], pos = read_varint(data, pos)
        elif ident in _PROP_BLOB:
            size = int.from_bytes(data[pos:pos + 2], "big")
            props[ident] = bytes(data[pos + 2:pos + 2 + size])
            pos += 2 + size
        elif ident in _PROP_PAIR:
            for _ in range(2):
                pos += 2 + int.from_bytes(data[pos:pos + 2], "big")
        else:
            msg = f"unknown MQTT 5 property 0x{ident:02x}"
            raise ProtocolError(msg)
    if pos != end:
        msg = "MQTT 5 property block overruns its length"
        raise ProtocolError(msg)
    return props, end


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a variable byte integer at *pos*; return it and the offset after it."""
    value = 0
    for shift in (0, 7, 14, 21):
        if pos >= len(data):
            break
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    msg = "malformed variable byte integer"
    raise ProtocolError(msg)


def parse_connack(body: bytes, v5: bool) -> ConnAck:
    """Decode a CONNACK body."""
    if len(body) < 2:
        msg = f"CONNACK of {len(body)} bytes is too short"
        raise ProtocolError(msg)
    session, code = body[0] & 0x01, body[1]
    if not v5 or len(body) == 2:
        return ConnAck(bool(session), code)
    props, _ = parse_properties(body, 2)
    receive_max = props.get(PROP_RECEIVE_MAXIMUM, MAX_PACKET_ID)
    max_qos = props.get(PROP_MAXIMUM_QOS, 2)
    reason = props.get(PROP_REASON_STRING, b"")
    return ConnAck(
        bool(session), code,
        receive_maximum=receive_max if isinstance(receive_max, int) else MAX_PACKET_ID,
        maximum_qos=max_qos if isinstance(max_qos, int) else 2,
        reason=reason.decode(errors="replace") if isinstance(reason, bytes) else "",
    )


def parse_ack(body: bytes) -> tuple[int, int]:
    """Decode PUBACK/PUBREC/PUBREL/PUBCOMP: return (packet id, reason code; 0 = success)."""
    if len(body) < 2:
        msg = f"acknowledgement of {len(body)} bytes is too short"
        raise ProtocolError(msg)
    code = body[2] if len(body) > 2 else 0
    return int.from_bytes(body[:2], "big"), code
