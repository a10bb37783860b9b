"""Scale-out: two collectors in one MQTT 5 shared subscription split one stream.

mosquitto hands each message of ``$share/GROUP/<filter>`` to one member of the group, so
two collectors with different client ids store disjoint shares of the park's telemetry; the
reconcile shows every message stored exactly once and both collectors doing part of the work.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from collector.config import CollectorConfig
from collector.leave import leave_group
from parkwire import subscription
from tests.collector.helpers import session_exists
from tests.collector.reconcile import (
    RunningCollector,
    SeqPublisher,
    influx_config,
    reconcile,
    wait_stored,
)
from tests.servers import Mosquitto, VictoriaMetrics

pytestmark = pytest.mark.integration

GROUP_TOPIC = f"$share/collectors/{subscription()}"


def _group(tmp_path: Path, mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics,
           protocol: str) -> list[CollectorConfig]:
    """Settings of two collectors, a and b, in one shared subscription."""
    configs = [influx_config(tmp_path / name, mosquitto.port, victoria_metrics.url,
                             client_id=name, topic=GROUP_TOPIC, mqtt_protocol=protocol)
               for name in ("collector-a", "collector-b")]
    for config in configs:
        config.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
    return configs


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_two_collectors_in_a_shared_subscription_store_every_message_once(
        tmp_path: Path, mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics,
        protocol: str) -> None:
    """Both collectors receive a share; together they store each published message once."""
    configs = _group(tmp_path, mosquitto, victoria_metrics, protocol)
    async with RunningCollector(configs[0]) as first, RunningCollector(configs[1]) as second:
        with SeqPublisher(mosquitto.port, devices=20) as publisher:
            await asyncio.to_thread(publisher.publish_rounds, 150)
            await asyncio.to_thread(publisher.wait_acked)
            await wait_stored(victoria_metrics, publisher.acked)
        shares = [run.collector.stats().written for run in (first, second)]
        received = [run.collector.stats().received for run in (first, second)]
    result = await asyncio.to_thread(reconcile, victoria_metrics, publisher.acked,
                                     publisher.attempted())
    print(result.summary())  # the figures, shown by pytest -rP
    assert result.exact, result.summary()
    assert result.published == 3000
    assert result.rewrites == 0  # no message went to both collectors
    assert sum(received) == 3000
    assert min(shares) > 0, shares
    assert sum(shares) == 3000


def test_the_configuration_accepts_a_shared_subscription_filter(tmp_path: Path) -> None:
    """A `$share/GROUP/filter` topic passes validation unchanged (it is the subscription)."""
    config = influx_config(tmp_path, 1883, "http://127.0.0.1:8086", topic=GROUP_TOPIC)
    assert config.topic == "$share/collectors/+/+/+/+/+/+"


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_a_stopped_member_keeps_its_share_until_it_leaves(
        tmp_path: Path, mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics,
        protocol: str) -> None:
    """Mosquitto queues a stopped member's share; --leave stores it and ends the session."""
    configs = _group(tmp_path, mosquitto, victoria_metrics, protocol)
    async with RunningCollector(configs[0]) as first:
        async with RunningCollector(configs[1]):
            pass  # b joins the group, then stops; its persistent session stays
        with SeqPublisher(mosquitto.port, devices=20) as publisher:
            await asyncio.to_thread(publisher.publish_rounds, 100)
            await asyncio.to_thread(publisher.wait_acked)
            await first.wait(lambda: first.collector.stats().written == 1000, 30, "a's share")
            await asyncio.sleep(1.0)
            # The broker still gives b every other message, queued in b's session.
            assert first.collector.stats().received == 1000
            left = await leave_group(configs[1], quiet_s=1.0)
            assert left.ended
            assert left.stats.received == left.stats.written == 1000
            # b's session is gone: the group is a alone, which now gets every message.
            await asyncio.to_thread(publisher.publish_rounds, 50)
            await asyncio.to_thread(publisher.wait_acked)
            await wait_stored(victoria_metrics, publisher.acked)
            assert first.collector.stats().received == 2000
    result = await asyncio.to_thread(reconcile, victoria_metrics, publisher.acked,
                                     publisher.attempted())
    assert result.exact, result.summary()
    assert result.published == 3000
    assert not await asyncio.to_thread(session_exists, mosquitto.port, "collector-b",
                                       protocol)

