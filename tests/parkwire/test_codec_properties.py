"""Property tests of the codec: round trips, and decode never crashing on hostile input."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from parkwire import (
    ASSET_TYPES,
    AssetType,
    Channel,
    DecodeError,
    DecodeReason,
    Message,
    Telemetry,
    decode,
    encode,
)
from parkwire.codec import MAX_PAYLOAD_BYTES
from tests.parkwire.strategies import JSON_VALUES, TELEMETRY_ASSETS, messages, readings


def examples(count: int) -> settings:
    """Settings for *count* examples; no deadline, so a busy CI machine cannot cause flakes."""
    return settings(max_examples=count, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


TOPIC = "refpark/bac-ninh/energy/meter/mtr-t017/telemetry"


def outcome_of(topic: str, payload: bytes) -> DecodeReason | None:
    """Decode; return None on success or the reason of the DecodeError.

    Any other exception propagates and fails the test: that is the property under test.
    A rejection without a detail counts as a failure too (every rejection must explain itself).
    """
    try:
        decode(topic, payload)
    except DecodeError as error:
        if not error.detail:
            msg = f"{error.reason} rejection without a detail"
            raise AssertionError(msg) from error
        return error.reason
    return None


@examples(500)
@given(messages())
def test_round_trip(message: Message) -> None:
    """decode(topic, encode(m)) == m for every valid message, unicode ids included."""
    payload = encode(message)
    assert len(payload) <= MAX_PAYLOAD_BYTES
    assert decode(str(message.topic), payload) == message


@examples(200)
@given(messages())
def test_encoding_is_deterministic(message: Message) -> None:
    """Decoding gives one canonical form: re-encoding it is stable, byte for byte."""
    once = encode(decode(str(message.topic), encode(message)))
    assert once == encode(decode(str(message.topic), once))


@examples(200)
@given(messages())
def test_decoded_readings_follow_the_registry_order(message: Message) -> None:
    """Readings decode in the registry's order, whatever order the payload used."""
    decoded = decode(str(message.topic), encode(message))
    if isinstance(message, Telemetry):
        assert isinstance(decoded, Telemetry)
        order = list(ASSET_TYPES[message.topic.asset_type].quantities)
        assert list(decoded.readings) == [name for name in order if name in message.readings]


@examples(1500)
@given(st.text(max_size=300), st.binary(max_size=300))
@example("refpark/bac-ninh/energy/meter/mtr-t017/telemetry", b'{"v":1}')
@example("refpark/bac-ninh/energy/meter/mtr-t017/telemetry", b"\x00")
def test_decode_arbitrary_bytes_raises_only_decode_error(topic: str, payload: bytes) -> None:
    """Any topic with any bytes either decodes or raises DecodeError, never anything else."""
    try:
        decode(topic, payload)
    except DecodeError as error:
        rejection = error
    else:
        return
    assert isinstance(rejection.reason, DecodeReason)
    assert rejection.detail


@examples(500)
@given(st.sampled_from(list(Channel)), JSON_VALUES)
def test_decode_arbitrary_json_raises_only_decode_error(channel: Channel, body: Any) -> None:
    """Any JSON document on a valid topic decodes or raises DecodeError."""
    topic = TOPIC.replace("telemetry", channel.value)
    assert outcome_of(topic, orjson.dumps(body)) is not DecodeReason.BAD_TOPIC


def _valid_body(channel: Channel) -> dict[str, Any]:
    body: dict[str, Any] = {"v": 1, "ts": "2026-03-01T17:00:00.000Z"}
    if channel is Channel.TELEMETRY:
        body |= {"seq": 0, "readings": {"p_kw": 1.0}, "quality": "good"}
    elif channel is Channel.STATUS:
        body["state"] = "online"
    else:
        body |= {"seq": 0, "event": "door_forced", "data": {"gate": "g2"}}
    return body


@examples(500)
@given(st.sampled_from(list(Channel)), st.data())
def test_decode_near_valid_json_raises_only_decode_error(
    channel: Channel, data: st.DataObject
) -> None:
    """A valid body with one field replaced by arbitrary JSON decodes or raises DecodeError."""
    body = _valid_body(channel)
    key = data.draw(st.sampled_from([*body, "readings", "data", "quality"]), label="key")
    if key in ("readings", "data") and data.draw(st.booleans(), label="nested"):
        inner = data.draw(st.sampled_from([*ASSET_TYPES["meter"].field_names, "x"]))
        body[key] = {inner: data.draw(JSON_VALUES, label="value")}
    else:
        body[key] = data.draw(JSON_VALUES, label="value")
    outcome = outcome_of(TOPIC.replace("telemetry", channel.value), orjson.dumps(body))
    assert outcome is not DecodeReason.BAD_TOPIC


@examples(300)
@given(st.sampled_from(TELEMETRY_ASSETS).flatmap(lambda a: st.tuples(st.just(a), readings(a))))
def test_in_range_readings_always_pass(
    case: tuple[AssetType, dict[str, float | int | bool]],
) -> None:
    """Every reading inside its registry range is accepted, at both ends of every range."""
    asset, values = case
    topic = f"refpark/bac-ninh/{asset.domain.value}/{asset.name}/d-1/telemetry"
    body = {"v": 1, "ts": "2026-03-01T17:00:00.000Z", "seq": 1, "readings": values}
    message = decode(topic, orjson.dumps(body))
    assert isinstance(message, Telemetry)
    assert message.readings == values
