"""The collector's MQTT source reconnects and resubscribes after every broker restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from collector.source import MqttConnectError, MqttSource, reconnect_delay
from tests.collector.reconcile import (
    RunningCollector,
    SeqPublisher,
    influx_config,
    reconcile,
    wait_stored,
)
from tests.servers import Mosquitto, VictoriaMetrics

pytestmark = pytest.mark.integration

RESTARTS = 3


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_collector_resumes_after_each_of_several_broker_restarts(
        tmp_path: Path, mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics,
        protocol: str) -> None:
    """Three broker restarts mid-stream: each time it reconnects, resubscribes, loses nothing."""
    config = influx_config(tmp_path, mosquitto.port, victoria_metrics.url,
                           mqtt_protocol=protocol)
    async with RunningCollector(config) as run:
        with SeqPublisher(mosquitto.port, devices=20) as publisher:
            for restart in range(1, RESTARTS + 1):
                stream = asyncio.create_task(asyncio.to_thread(publisher.publish_rounds, 40,
                                                               0.005))
                await asyncio.sleep(0.1)  # the restart lands while messages flow
                await asyncio.to_thread(mosquitto.restart)
                await stream
                await run.wait(lambda r=restart: run.source.reconnects >= r, 30,  # type: ignore[misc]
                               f"no reconnect after restart {restart}")
                await run.wait(lambda: run.collector.stats().connected, 30, "not connected")
            # Only a live subscription delivers what is published after the last restart.
            await asyncio.to_thread(publisher.publish_rounds, 10)
            await asyncio.to_thread(publisher.wait_acked)
            await wait_stored(victoria_metrics, publisher.acked)
        result = await asyncio.to_thread(reconcile, victoria_metrics, publisher.acked,
                                         publisher.attempted())
    assert run.source.reconnects == RESTARTS
    print(result.summary())  # the figures, shown by pytest -rP
    assert result.exact, result.summary()
    assert result.published == 20 * (RESTARTS * 40 + 10)
    assert run.max_depth <= config.max_pending


def test_reconnect_delay_doubles_to_a_cap_with_jitter() -> None:
    """Delays start near 0.2 s, double per attempt, never exceed 30 s, never drop below half."""
    for attempt in range(40):
        nominal = min(30.0, 0.2 * 2.0 ** min(attempt, 16))
        assert nominal / 2 <= reconnect_delay(attempt) <= nominal


async def test_a_failed_start_leaves_no_reconnect_loop_behind(tmp_path: Path) -> None:
    """A broker that accepts TCP but never answers: start fails once and is not retried."""
    connections = 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read()  # never answer; the client gives up and closes
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = influx_config(tmp_path, port, "http://127.0.0.1:9")
    source = MqttSource(config)
    with pytest.raises(MqttConnectError, match="did not accept"):
        await source.start(lambda *_: None, wait_s=0.3)
    await asyncio.sleep(1.0)  # a reconnect would have happened by now (first delay <= 0.2 s)
    await source.close()
    server.close()
    await server.wait_closed()
    assert connections == 1
    assert source.reconnects == 0


async def test_a_paused_collector_keeps_its_connection_beyond_the_keep_alive(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    """Paused for 3 keep-alive periods with messages waiting: no reconnect, then all read."""
    config = influx_config(tmp_path, mosquitto.port, "http://127.0.0.1:9", keepalive_s=1)
    got: list[int] = []
    source = MqttSource(config)
    await source.start(lambda _t, _p, mid, _q: got.append(mid))
    try:
        source.pause()
        with SeqPublisher(mosquitto.port, devices=5) as publisher:
            await asyncio.to_thread(publisher.publish_rounds, 20)
            await asyncio.to_thread(publisher.wait_acked)
        await asyncio.sleep(3.5)
        assert source.connected
        assert source.reconnects == 0
        source.resume()
        end = asyncio.get_running_loop().time() + 10
        while len(got) < 100:
            assert asyncio.get_running_loop().time() < end, len(got)
            await asyncio.sleep(0.02)
    finally:
        await source.close()
    assert source.reconnects == 0
