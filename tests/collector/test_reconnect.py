"""The collector's MQTT source reconnects and resubscribes after every broker restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

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
