"""`leave_group`: retiring a collector's session, against the real mosquitto."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from collector.config import CollectorConfig
from collector.leave import leave_group
from collector.source import MqttConnectError, MqttSource
from tests.collector.helpers import fast_config, session_exists
from tests.servers import Mosquitto

pytestmark = pytest.mark.integration


def _config(tmp_path: Path, port: int) -> CollectorConfig:
    return fast_config(tmp_path, mqtt_port=port, client_id="retiring")


async def test_an_interrupted_leave_keeps_the_session(tmp_path: Path,
                                                      mosquitto: Mosquitto) -> None:
    """Stopped before the session is quiet, leave reports ended=False and deletes nothing."""
    stop = asyncio.Event()
    stop.set()
    result = await leave_group(_config(tmp_path, mosquitto.port), stop=stop, quiet_s=30)
    assert not result.ended
    assert await asyncio.to_thread(session_exists, mosquitto.port, "retiring", "5")


async def test_a_quiet_leave_ends_the_session(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """With nothing queued, leave ends the session once the quiet period has passed."""
    shown: list[object] = []
    result = await leave_group(_config(tmp_path, mosquitto.port), quiet_s=0.3,
                               on_start=shown.append)
    assert result.ended
    assert result.stats.received == 0
    assert len(shown) == 1
    assert not await asyncio.to_thread(session_exists, mosquitto.port, "retiring", "5")


async def test_ending_a_session_on_an_unreachable_broker_says_so(tmp_path: Path) -> None:
    """end_session names the broker address when it cannot connect."""
    source = MqttSource(_config(tmp_path, 1), leave=True)
    with pytest.raises(MqttConnectError, match="to end the session"):
        await source.end_session(wait_s=1)
