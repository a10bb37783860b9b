"""The integration fixtures start real servers that work and clean up after themselves."""

from __future__ import annotations

import urllib.request

import pytest

from tests.servers import Mosquitto, VictoriaMetrics, mqtt_round_trip

pytestmark = pytest.mark.integration


def test_mosquitto_round_trip(mosquitto: Mosquitto) -> None:
    """A message published to the fixture broker comes back to a subscriber."""
    assert mqtt_round_trip(mosquitto.port) == [b"hello"]


def test_victoria_metrics_stores_line_protocol(victoria_metrics: VictoriaMetrics) -> None:
    """Line protocol written to /api/v2/write is returned by /api/v1/export."""
    body = b"energy_meter,device_id=m1 p_kw=12.5 1772384400000"
    req = urllib.request.Request(  # noqa: S310
        f"{victoria_metrics.url}/api/v2/write?precision=ms", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
        assert resp.status == 204
    series = victoria_metrics.export('{__name__="energy_meter_p_kw"}')
    assert len(series) == 1
    assert series[0]["metric"]["device_id"] == "m1"
    assert series[0]["values"] == [12.5]
    assert series[0]["timestamps"] == [1772384400000]


def test_server_stops_cleanly(tmp_path: object) -> None:
    """stop() leaves no process behind."""
    from pathlib import Path

    broker = Mosquitto(Path(str(tmp_path)) / "m").start()
    assert broker.process is not None
    broker.stop()
    assert broker.process.poll() is not None
