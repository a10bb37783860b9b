"""The MQTT client against scripted fake brokers: timeouts, refusals, bad bytes, QoS 2 paths."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from simulator.mqtt import ConnectOptions, MqttConnection, MqttError, TlsOptions
from simulator.mqtt import packets as pk

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


async def _read_packet(reader: asyncio.StreamReader) -> pk.Packet:
    parser = pk.PacketReader()
    while True:
        got = parser.feed(await reader.read(1))
        if got:
            return got[0]


@pytest.fixture
async def fake_broker() -> AsyncIterator[Callable[[Script], Coroutine[Any, Any, int]]]:
    """Start a one-connection TCP server that runs the given script; return its port."""
    servers: list[asyncio.Server] = []

    async def start(script: Script) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await script(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass  # the client hung up first: that is what several tests do
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_silent_broker_times_out(fake_broker: Any) -> None:
    """A server that accepts but never sends CONNACK gives a timeout error naming it."""
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    port = await fake_broker(silent)
    with pytest.raises(MqttError, match=r"did not answer within 0\.2 s"):
        await MqttConnection.open(ConnectOptions(port=port, connect_timeout=0.2))


async def test_refusal_reason_is_reported(fake_broker: Any) -> None:
    """A CONNACK with a refusal code becomes a readable reason."""
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_packet(reader)
        writer.write(b"\x20\x02\x00\x05")
        await writer.drain()
        await reader.read()

    port = await fake_broker(refuse)
    with pytest.raises(MqttError, match="refused the connection: not authorised"):
        await MqttConnection.open(ConnectOptions(port=port))


async def test_receive_maximum_lowers_the_bound_and_disconnect_is_reported(
        fake_broker: Any) -> None:
    """An MQTT 5 receive maximum caps max_inflight; a broker DISCONNECT fails waiters."""
    async def v5(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_packet(reader)
        writer.write(b"\x20\x06\x00\x00\x03\x21\x00\x02")  # receive maximum 2
        await _read_packet(reader)  # first publish
        writer.write(b"\xe0\x01\x8b")  # server shutting down
        await writer.drain()
        await reader.read()

    port = await fake_broker(v5)
    conn = await MqttConnection.open(ConnectOptions(port=port, protocol=5, max_inflight=50))
    assert conn.max_inflight == 2
    await conn.publish("a", b"1", qos=1)
    with pytest.raises(MqttError, match="0x8b"):
        await conn.wait_all_acked()
    assert [p.payload for p in conn.unacked()] == [b"1"]


async def test_qos2_flow_rejections_and_garbage(fake_broker: Any) -> None:
    """PUBREC leads to PUBREL then PUBCOMP; error codes count as rejected; garbage closes."""
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_packet(reader)
        writer.write(b"\x20\x03\x00\x00\x00")
        first, second, third = [(await _read_packet(reader)).body[3:5] for _ in range(3)]
        writer.write(b"\x50\x02" + first)  # PUBREC
        rel = await _read_packet(reader)
        assert rel.kind == pk.PUBREL
        writer.write(b"\x70\x02" + first + b"\x70\x02" + first)  # PUBCOMP, then a duplicate
        writer.write(b"\x50\x03" + second + b"\x80")  # PUBREC with an error code
        writer.write(b"\x40\x03" + third + b"\x97")  # PUBACK: quota exceeded
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(b"\x30\xff\xff\xff\xff\x7f")  # malformed length
        await writer.drain()
        await reader.read()

    port = await fake_broker(script)
    conn = await MqttConnection.open(ConnectOptions(port=port, protocol=5, keepalive=0))
    await conn.publish("t", b"a", qos=2)
    await conn.publish("t", b"b", qos=2)
    await conn.publish("t", b"c", qos=1)
    await conn.wait_all_acked()
    assert (conn.acked, conn.rejected) == (1, 2)
    with pytest.raises(MqttError, match="malformed"):
        await conn.wait_closed()
    with pytest.raises(MqttError, match="malformed"):
        await conn.drain()


async def test_connection_refused_on_a_closed_port() -> None:
    """Nothing listening: MqttError says it cannot connect."""
    from tests.servers import free_port

    with pytest.raises(MqttError, match="cannot connect"):
        await MqttConnection.open(ConnectOptions(port=free_port()))


def test_tls_options_build_contexts(tmp_path: Any) -> None:
    """The default TLS context verifies; insecure turns verification off."""
    import ssl

    assert TlsOptions().context().verify_mode is ssl.CERT_REQUIRED
    loose = TlsOptions(insecure=True).context()
    assert loose.verify_mode is ssl.CERT_NONE
    assert not loose.check_hostname
