"""The integration fixtures start real servers that work and clean up after themselves."""

from __future__ import annotations

import urllib.request

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.servers import Mosquitto, VictoriaMetrics

pytestmark = pytest.mark.integration


def test_mosquitto_round_trip(mosquitto: Mosquitto) -> None:
    """A message published to the fixture broker comes back to a subscriber."""
    got: list[bytes] = []
    sub = mqtt.Client(CallbackAPIVersion.VERSION2)
    sub.on_message = lambda _c, _u, msg: got.append(bytes(msg.payload))
    sub.connect("127.0.0.1", mosquitto.port)
    sub.subscribe("t/#", qos=1)
    sub.loop_start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2)
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    import time

    time.sleep(0.2)
    pub.publish("t/x", b"hello", qos=1).wait_for_publish(5)
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    pub.loop_stop()
    sub.loop_stop()
    assert got == [b"hello"]


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
