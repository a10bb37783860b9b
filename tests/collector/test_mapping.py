"""Mapping messages to points, and the fast line encoder agreeing with the generic one."""

from __future__ import annotations

import pytest

from collector.lineprotocol import LineProtocolError, encode_point
from collector.mapping import LineEncoder, to_point
from collector.sinks import InfluxSink, SinkError
from parkwire import Channel, DeviceState, Domain, Event, Quality, Status, Telemetry, Topic
from tests.collector.helpers import T0, meter_reading, meter_topic

TAGS = {"park": "refpark", "site": "bac-ninh", "asset_type": "meter", "device_id": "mtr 1,x"}


def test_telemetry_point_types_fields_by_the_registry() -> None:
    """A float quantity sent as an integer is stored as a float; seq is an int field."""
    message = Telemetry(meter_topic("mtr 1,x"), T0, 5, {"p_kw": 0, "pf": 0.9}, Quality.BAD)
    point = to_point(message)
    assert point.measurement == "energy_meter"
    assert point.tags == TAGS
    assert point.fields == {"p_kw": 0.0, "pf": 0.9, "seq": 5, "quality": "bad"}
    assert type(point.fields["p_kw"]) is float
    line = LineEncoder().encode(message)
    assert line == encode_point(point.measurement, point.tags, point.fields, point.time_ms)
    assert "p_kw=0.0," in line


def test_status_and_event_points() -> None:
    """Status goes to device_status with state and online; events carry type tag and data."""
    topic = meter_topic("d1")
    status = to_point(Status(topic.with_channel(Channel.STATUS), T0, DeviceState.OFFLINE))
    assert status.measurement == "device_status"
    assert status.fields == {"state": "offline", "online": False}
    event_topic = Topic("p", "s", Domain.SECURITY, "meter", "d1", Channel.EVENT)
    event = to_point(Event(event_topic, T0, 2, "door_forced", {"seq": 9, "gate": "g"}))
    assert event.measurement == "event"
    assert event.tags["event"] == "door_forced"
    assert event.fields == {"seq": 2, "data_seq": 9, "gate": "g"}
    encoder = LineEncoder()
    line = encoder.encode(Event(event_topic, T0, 2, "door_forced", {"gate": "g"}))
    assert line.startswith("event,asset_type=meter,device_id=d1,event=door_forced,")
    with pytest.raises(LineProtocolError):
        encoder.encode(Event(event_topic, T0, 2, "x", {"gate": "a\nb"}))


def test_encoder_cache_is_bounded_and_follows_topics() -> None:
    """The series cache is cleared at its bound and never mixes devices up."""
    encoder = LineEncoder(max_cached_series=2)
    lines = [encoder.encode(Telemetry(meter_topic(f"m{i}"), T0, 0, meter_reading(0)))
             for i in range(5)]
    assert [line.split(",")[2] for line in lines] == [f"device_id=m{i}" for i in range(5)]


def test_influx_sink_reports_an_unreachable_server() -> None:
    """A connection failure becomes SinkError without the token in the message."""
    sink = InfluxSink("http://127.0.0.1:1", "o", "b", "very-secret", timeout_s=1)
    message = Telemetry(meter_topic("m"), T0, 0, meter_reading(0))
    with pytest.raises(SinkError, match="unreachable") as info:
        sink.write([message], [])
    assert "very-secret" not in str(info.value)
    sink.write([], [])
    sink.close()
