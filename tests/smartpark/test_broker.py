"""The demo's embedded broker starts, carries messages and stops without leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from smartpark import broker as broker_module
from smartpark.broker import EmbeddedBroker, choose_broker
from tests.servers import mqtt_round_trip

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["amqtt", "mosquitto"])
def test_embedded_broker_carries_a_message(kind: str) -> None:
    """Each embedded broker kind accepts a subscriber and delivers a QoS 1 message to it."""
    resolved = choose_broker(kind)
    with EmbeddedBroker(resolved) as broker:
        protocol = (MQTTProtocolVersion.MQTTv5 if broker.mqtt_version == "5"
                    else MQTTProtocolVersion.MQTTv311)
        assert mqtt_round_trip(broker.port, protocol, b"one") == [b"one"]
        process = broker._process
    assert process is not None
    assert process.poll() is not None


def test_choose_broker_prefers_mosquitto_when_installed() -> None:
    """'auto' picks the C broker when its binary exists, which it does on test machines."""
    assert choose_broker("auto") == "mosquitto"


def test_choose_broker_falls_back_to_amqtt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a mosquitto binary, 'auto' picks amqtt and 'mosquitto' is a clear error."""
    monkeypatch.setattr(broker_module, "mosquitto_binary", lambda: None)
    assert choose_broker("auto") == "amqtt"
    with pytest.raises(ValueError, match="apt-get install mosquitto"):
        choose_broker("mosquitto")


def test_choose_broker_rejects_unknown_names() -> None:
    """A misspelt broker name names the accepted values."""
    with pytest.raises(ValueError, match="expected auto, mosquitto or amqtt"):
        choose_broker("hivemq")


def test_broker_start_failure_reports_its_log(tmp_path: Path) -> None:
    """A broker that cannot listen fails at start-up with the broker's own log."""
    broken = EmbeddedBroker("amqtt", port=70000, workdir=tmp_path)
    with pytest.raises(RuntimeError, match="exited at start-up"):
        broken.start(timeout=10)
    broken.stop()
