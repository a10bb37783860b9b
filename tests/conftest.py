"""Fixtures shared by every test layer: real servers for integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.proxy import LatencyProxy
from tests.servers import Mosquitto, VictoriaMetrics


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh mosquitto broker on a free loopback port, stopped after the test."""
    with Mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


@pytest.fixture
def victoria_metrics(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """A fresh victoria-metrics on a free loopback port, stopped after the test."""
    with VictoriaMetrics(tmp_path / "victoria-metrics") as vm:
        yield vm


@pytest.fixture
def vm_proxy(victoria_metrics: VictoriaMetrics) -> Iterator[LatencyProxy]:
    """A latency-injecting proxy in front of ``victoria_metrics`` (no delay until told)."""
    with LatencyProxy(victoria_metrics.port) as proxy:
        yield proxy
