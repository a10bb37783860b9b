"""The codec: encoding, decoding, and every reason a message is rejected."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import orjson
import pytest

from parkwire import (
    ASSET_TYPES,
    MAX_PAYLOAD_BYTES,
    AssetType,
    DecodeError,
    DecodeReason,
    DeviceState,
    Domain,
    Event,
    Kind,
    Quality,
    Quantity,
    Status,
    Telemetry,
    Topic,
    ValueType,
    codec,
    decode,
    encode,
    parse_topic,
)

TELEMETRY = "refpark/bac-ninh/energy/meter/mtr-t017/telemetry"
STATUS = "refpark/bac-ninh/energy/meter/mtr-t017/status"
EVENT = "refpark/bac-ninh/energy/meter/mtr-t017/event"
TS = "2026-03-01T17:00:00.000Z"
TS_MS = 1_772_384_400_000


def payload(**fields: Any) -> bytes:
    """Return a valid telemetry body with *fields* replaced (None removes a field)."""
    body: dict[str, Any] = {"v": 1, "ts": TS, "seq": 5, "readings": {"p_kw": 812.4}}
    body.update(fields)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


def event_payload(**fields: Any) -> bytes:
    """Return a valid event body with *fields* replaced (None removes a field)."""
    body: dict[str, Any] = {"v": 1, "ts": TS, "seq": 0, "event": "breaker_trip",
                            "data": {"feeder": "f03"}}
    body.update(fields)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


def rejected(topic: str, data: bytes) -> DecodeError:
    """Decode *data*, which must fail, and return the error."""
    with pytest.raises(DecodeError) as caught:
        decode(topic, data)
    return caught.value


# --- encoding ---------------------------------------------------------------------------------


def test_encode_telemetry_writes_the_documented_envelope() -> None:
    """Good-quality telemetry omits 'quality' and keeps the readings in order."""
    message = Telemetry(Topic.parse(TELEMETRY), TS_MS, 1842, {"p_kw": 812.4, "pf": 0.937})
    assert orjson.loads(encode(message)) == {
        "v": 1, "ts": TS, "seq": 1842, "readings": {"p_kw": 812.4, "pf": 0.937}}
    assert encode(message).startswith(b'{"v":1,"ts":"2026-03-01T17:00:00.000Z","seq":1842,')


@pytest.mark.parametrize("quality", [Quality.UNCERTAIN, Quality.BAD, Quality.STALE])
def test_encode_telemetry_writes_non_good_quality(quality: Quality) -> None:
    """Any quality other than good is written out and read back."""
    message = Telemetry(Topic.parse(TELEMETRY), TS_MS, 0, {"p_kw": 1.0}, quality)
    assert orjson.loads(encode(message))["quality"] == quality.value
    assert decode(TELEMETRY, encode(message)) == message


def test_encode_status() -> None:
    """A status message has no sequence number, only the state."""
    message = Status(Topic.parse(STATUS), TS_MS, DeviceState.OFFLINE)
    assert orjson.loads(encode(message)) == {"v": 1, "ts": TS, "state": "offline"}


def test_encode_event() -> None:
    """An event carries its type and scalar data."""
    message = Event(Topic.parse(EVENT), TS_MS, 3, "breaker_trip", {"feeder": "f03", "ka": 4.2})
    assert orjson.loads(encode(message)) == {
        "v": 1, "ts": TS, "seq": 3, "event": "breaker_trip", "data": {"feeder": "f03", "ka": 4.2}}


# --- decoding valid messages -------------------------------------------------------------------


def test_decode_telemetry() -> None:
    """A valid telemetry payload becomes a Telemetry value with epoch-ms time."""
    message = decode(TELEMETRY, payload())
    assert message == Telemetry(Topic.parse(TELEMETRY), TS_MS, 5, {"p_kw": 812.4})


@pytest.mark.parametrize("state", list(DeviceState))
def test_decode_status(state: DeviceState) -> None:
    """Both status values decode."""
    data = json.dumps({"v": 1, "ts": TS, "state": state.value}).encode()
    assert decode(STATUS, data) == Status(Topic.parse(STATUS), TS_MS, state)


def test_decode_event_without_data() -> None:
    """An event's 'data' is optional and defaults to empty."""
    message = decode(EVENT, event_payload(data=None))
    assert isinstance(message, Event)
    assert (message.event, dict(message.data)) == ("breaker_trip", {})


def test_decode_event_with_every_scalar_type() -> None:
    """Event data may hold strings, integers, floats and booleans."""
    data = {"feeder": "f03", "count": 2, "ka": 4.2, "reclosed": False}
    message = decode(EVENT, event_payload(data=data))
    assert isinstance(message, Event)
    assert dict(message.data) == data


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_decode_accepts_any_bytes_like(kind: type[bytes | bytearray | memoryview]) -> None:
    """Payloads arrive as bytes, bytearray or memoryview depending on the MQTT client."""
    assert decode(TELEMETRY, kind(payload())).ts_ms == TS_MS


def test_decode_accepts_offsets_and_converts_to_utc() -> None:
    """A timestamp written with +07:00 is the same instant as its UTC form."""
    assert decode(TELEMETRY, payload(ts="2026-03-02T00:00:00+07:00")).ts_ms == TS_MS


def test_decode_accepts_integers_for_float_quantities() -> None:
    """JSON has one number type; 812 for a float quantity is fine."""
    message = decode(TELEMETRY, payload(readings={"p_kw": 812, "v_ln_a": 0}))
    assert isinstance(message, Telemetry)
    assert message.readings == {"p_kw": 812, "v_ln_a": 0}


def test_decode_accepts_range_limits() -> None:
    """The plausible range is inclusive at both ends."""
    pf = ASSET_TYPES["meter"].quantities["pf"]
    message = decode(TELEMETRY, payload(readings={"pf": pf.maximum, "i_a": 0.0}))
    assert isinstance(message, Telemetry)


def test_decode_accepts_maximum_payload_size() -> None:
    """A payload of exactly MAX_PAYLOAD_BYTES is still read."""
    base = payload()
    padded = base[:-1] + b" " * (MAX_PAYLOAD_BYTES - len(base)) + b"}"
    assert len(padded) == MAX_PAYLOAD_BYTES
    assert decode(TELEMETRY, padded).ts_ms == TS_MS


def test_decode_accepts_maximum_sequence_number() -> None:
    """Seq may go up to 2**63 - 1 (a signed 64-bit column)."""
    assert decode(TELEMETRY, payload(seq=codec.MAX_SEQ)).seq == codec.MAX_SEQ  # type: ignore[union-attr]


def test_mv_meter_ranges_are_its_own() -> None:
    """12.7 kV phase voltage is valid on a 22 kV meter and out of range on a 0.4 kV one."""
    mv = "refpark/bac-ninh/energy/mv_meter/mtr-ss01-f03/telemetry"
    assert decode(mv, payload(readings={"v_ln_a": 12_700.0})).topic.asset_type == "mv_meter"
    assert rejected(TELEMETRY, payload(readings={"v_ln_a": 12_700.0})).reason is (
        DecodeReason.OUT_OF_RANGE)


def test_gateway_status() -> None:
    """The simulator's own connection reports status under the system domain."""
    topic = "refpark/bac-ninh/system/gateway/sim-01/status"
    data = json.dumps({"v": 1, "ts": TS, "state": "online"}).encode()
    assert decode(topic, data).topic.domain is Domain.SYSTEM


# --- every rejection reason --------------------------------------------------------------------

REJECTIONS = [
    pytest.param(TELEMETRY, b"{" + b" " * MAX_PAYLOAD_BYTES + b"}", DecodeReason.TOO_LARGE,
                 f"bytes; the limit is {MAX_PAYLOAD_BYTES}", id="too_large"),
    pytest.param("refpark/energy/meter/telemetry", payload(), DecodeReason.BAD_TOPIC,
                 "has 4 levels; expected 6", id="bad_topic-levels"),
    pytest.param("refpark/bac-ninh/energy/gateway/sim/status", payload(), DecodeReason.BAD_TOPIC,
                 "asset type 'gateway' belongs to domain 'system', not 'energy'",
                 id="bad_topic-domain-mismatch"),
    pytest.param("refpark/bac-ninh/energy/pump/p-1/telemetry", payload(),
                 DecodeReason.UNKNOWN_ASSET_TYPE,
                 "asset type 'pump' is not in the registry; known: camera, fire_panel",
                 id="unknown_asset_type"),
    pytest.param(TELEMETRY, b'{"v": 1,', DecodeReason.INVALID_JSON, "payload is not JSON",
                 id="invalid_json-truncated"),
    pytest.param(TELEMETRY, b"\xff\xfe", DecodeReason.INVALID_JSON, "payload is not JSON",
                 id="invalid_json-not-utf8"),
    pytest.param(TELEMETRY, b'{"v": 1, "x": NaN}', DecodeReason.INVALID_JSON,
                 "payload is not JSON", id="invalid_json-nan-literal"),
    pytest.param(TELEMETRY, b'{"v": 1, "x": 1e400}', DecodeReason.INVALID_JSON,
                 "infinity", id="invalid_json-overflowing-number"),
    pytest.param(TELEMETRY, b"", DecodeReason.INVALID_JSON, "payload is not JSON",
                 id="invalid_json-empty"),
    pytest.param(TELEMETRY, b"[1, 2]", DecodeReason.NOT_AN_OBJECT,
                 "payload is a JSON list, not an object", id="not_an_object"),
    pytest.param(TELEMETRY, b'"online"', DecodeReason.NOT_AN_OBJECT,
                 "payload is a JSON str, not an object", id="not_an_object-string"),
    pytest.param(TELEMETRY, payload(v=None), DecodeReason.SCHEMA_VERSION,
                 "schema version 'v' is None; this collector reads 1", id="schema_version-missing"),
    pytest.param(TELEMETRY, payload(v=2), DecodeReason.SCHEMA_VERSION,
                 "'v' is 2", id="schema_version-future"),
    pytest.param(TELEMETRY, payload(v=True), DecodeReason.SCHEMA_VERSION,
                 "'v' is True", id="schema_version-bool"),
    pytest.param(TELEMETRY, payload(v="1"), DecodeReason.SCHEMA_VERSION,
                 "'v' is '1'", id="schema_version-string"),
    pytest.param(TELEMETRY, payload(ts=None), DecodeReason.MISSING_FIELD,
                 "'ts' (RFC 3339 UTC timestamp) is missing", id="missing_field-ts"),
    pytest.param(TELEMETRY, payload(seq=None), DecodeReason.MISSING_FIELD,
                 "'seq' (sequence number) is missing", id="missing_field-seq"),
    pytest.param(TELEMETRY, payload(readings=None), DecodeReason.MISSING_FIELD,
                 "'readings' is missing", id="missing_field-readings"),
    pytest.param(EVENT, event_payload(event=None), DecodeReason.MISSING_FIELD,
                 "'event' (event type) is missing", id="missing_field-event"),
    pytest.param(EVENT, event_payload(seq=None), DecodeReason.MISSING_FIELD,
                 "'seq' (sequence number) is missing", id="missing_field-event-seq"),
    pytest.param(TELEMETRY, payload(ts=1772384400000), DecodeReason.BAD_TYPE,
                 "'ts' is 1772384400000; expected a string", id="bad_type-ts"),
    pytest.param(TELEMETRY, payload(seq="5"), DecodeReason.BAD_TYPE,
                 "'seq' is '5'; expected an integer", id="bad_type-seq-string"),
    pytest.param(TELEMETRY, payload(seq=5.0), DecodeReason.BAD_TYPE,
                 "'seq' is 5.0; expected an integer", id="bad_type-seq-float"),
    pytest.param(TELEMETRY, payload(seq=True), DecodeReason.BAD_TYPE,
                 "'seq' is True; expected an integer", id="bad_type-seq-bool"),
    pytest.param(TELEMETRY, payload(readings=[812.4]), DecodeReason.BAD_TYPE,
                 "'readings' is [812.4]; expected an object", id="bad_type-readings"),
    pytest.param(TELEMETRY, payload(readings={"p_kw": "812.4"}), DecodeReason.BAD_TYPE,
                 "reading 'p_kw' is '812.4'; expected a number", id="bad_type-reading-string"),
    pytest.param(TELEMETRY, payload(readings={"p_kw": True}), DecodeReason.BAD_TYPE,
                 "reading 'p_kw' is True; expected a number", id="bad_type-reading-bool"),
    pytest.param(TELEMETRY, payload(readings={"p_kw": None}), DecodeReason.BAD_TYPE,
                 "reading 'p_kw' is None; expected a number", id="bad_type-reading-null"),
    pytest.param(EVENT, event_payload(event=7), DecodeReason.BAD_TYPE,
                 "'event' is 7; expected a short non-empty string", id="bad_type-event"),
    pytest.param(EVENT, event_payload(event=""), DecodeReason.BAD_TYPE,
                 "'event' is ''; expected a short non-empty string", id="bad_type-event-empty"),
    pytest.param(EVENT, event_payload(event="x" * 257), DecodeReason.BAD_TYPE,
                 "expected a short non-empty string", id="bad_type-event-long"),
    pytest.param(EVENT, event_payload(data=["f03"]), DecodeReason.BAD_TYPE,
                 "'data' is ['f03']; expected an object", id="bad_type-data"),
    pytest.param(EVENT, event_payload(data={"feeders": ["f03"]}), DecodeReason.BAD_TYPE,
                 "'data.feeders' is ['f03']; expected a scalar", id="bad_type-data-value"),
    pytest.param(EVENT, event_payload(data={"feeder": None}), DecodeReason.BAD_TYPE,
                 "'data.feeder' is None; expected a scalar", id="bad_type-data-null"),
    pytest.param(TELEMETRY, payload(ts="yesterday"), DecodeReason.BAD_TIMESTAMP,
                 "'ts' 'yesterday' is not an RFC 3339 timestamp", id="bad_timestamp-garbage"),
    pytest.param(TELEMETRY, payload(ts="2026-02-30T00:00:00Z"), DecodeReason.BAD_TIMESTAMP,
                 "is not an RFC 3339 timestamp", id="bad_timestamp-no-such-day"),
    pytest.param(TELEMETRY, payload(ts="2026-03-01T17:00:00"), DecodeReason.BAD_TIMESTAMP,
                 "has no UTC offset; write it with 'Z'", id="bad_timestamp-naive"),
    pytest.param(TELEMETRY, payload(seq=-1), DecodeReason.BAD_SEQUENCE,
                 "'seq' -1 is outside 0..9223372036854775807", id="bad_sequence-negative"),
    pytest.param(TELEMETRY, payload(seq=2**63), DecodeReason.BAD_SEQUENCE,
                 "is outside 0..", id="bad_sequence-too-big"),
    pytest.param(TELEMETRY, payload(readings={"p_kw": 1.0, "p_mw": 1.0}),
                 DecodeReason.UNKNOWN_QUANTITY,
                 "reading 'p_mw' is not a quantity of asset type 'meter'",
                 id="unknown_quantity"),
    pytest.param(TELEMETRY, payload(readings={"v_ln_a": 1e9}), DecodeReason.OUT_OF_RANGE,
                 "reading 'v_ln_a' = 1000000000.0 V is outside the plausible range 0..300",
                 id="out_of_range-float"),
    pytest.param(TELEMETRY, payload(readings={"pf": -1}), DecodeReason.OUT_OF_RANGE,
                 "reading 'pf' = -1 1 is outside the plausible range 0..1",
                 id="out_of_range-int"),
    pytest.param(TELEMETRY, payload(readings={}), DecodeReason.BAD_VALUE,
                 "'readings' is empty", id="bad_value-no-readings"),
    pytest.param(TELEMETRY, payload(quality="excellent"), DecodeReason.BAD_VALUE,
                 "'quality' is 'excellent'; expected one of good, uncertain, bad, stale",
                 id="bad_value-quality"),
    pytest.param(TELEMETRY, payload(quality=["bad"]), DecodeReason.BAD_VALUE,
                 "'quality' is ['bad']", id="bad_value-quality-unhashable"),
    pytest.param(STATUS, json.dumps({"v": 1, "ts": TS, "state": "maybe"}).encode(),
                 DecodeReason.BAD_VALUE, "'state' is 'maybe'; expected 'online' or 'offline'",
                 id="bad_value-state"),
    pytest.param(STATUS, json.dumps({"v": 1, "ts": TS}).encode(), DecodeReason.BAD_VALUE,
                 "'state' is None", id="bad_value-state-missing"),
    pytest.param(EVENT, event_payload(data={"k" * 257: 1}), DecodeReason.BAD_VALUE,
                 "'data' key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk'... is too long",
                 id="bad_value-data-key"),
    pytest.param(EVENT, event_payload(data={"note": "n" * 257}), DecodeReason.BAD_VALUE,
                 "'data.note' is too long", id="bad_value-data-string"),
]


@pytest.mark.parametrize(("topic", "data", "reason", "detail"), REJECTIONS)
def test_rejection(topic: str, data: bytes, reason: DecodeReason, detail: str) -> None:
    """Each broken message is rejected with its reason and a detail that names the problem."""
    error = rejected(topic, data)
    assert error.reason is reason
    assert detail in error.detail
    assert str(error) == f"{reason.value}: {error.detail}"


def test_every_reason_has_a_rejection_case() -> None:
    """The table above (plus the non-finite tests below) exercises every DecodeReason."""
    covered = {case.values[2] for case in REJECTIONS} | {DecodeReason.NON_FINITE}
    assert covered == set(DecodeReason)


def test_long_values_are_shortened_in_details() -> None:
    """A huge offending value is cut to a readable length in the error detail."""
    error = rejected(TELEMETRY, payload(readings={"p_kw": "x" * 5000}))
    assert error.detail.endswith("...; expected a number")
    assert len(error.detail) < 120


def test_checks_run_in_a_predictable_order() -> None:
    """Size is checked before the topic, the topic before the JSON, so counters are stable."""
    huge = b"x" * (MAX_PAYLOAD_BYTES + 1)
    assert rejected("bad topic", huge).reason is DecodeReason.TOO_LARGE
    assert rejected("bad topic", b"not json").reason is DecodeReason.BAD_TOPIC


# --- non-finite numbers: orjson refuses them, the codec still checks --------------------------


@pytest.fixture
def nan_tolerant_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap in a JSON parser that accepts NaN/Infinity, as a less strict parser would."""
    monkeypatch.setattr(orjson, "loads", json.loads)


@pytest.mark.usefixtures("nan_tolerant_json")
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_reading_is_rejected(literal: str) -> None:
    """NaN or infinite readings are non_finite even if the JSON parser lets them through."""
    data = payload(readings={"p_kw": 0}).replace(b"0}", f"{literal}}}".encode())
    error = rejected(TELEMETRY, data)
    assert error.reason is DecodeReason.NON_FINITE
    assert error.detail.startswith("reading 'p_kw' is ")


@pytest.mark.usefixtures("nan_tolerant_json")
def test_non_finite_event_data_is_rejected() -> None:
    """A NaN in event data is non_finite."""
    data = event_payload(data={"ka": 0}).replace(b"0}", b"NaN}")
    error = rejected(EVENT, data)
    assert (error.reason, error.detail) == (DecodeReason.NON_FINITE, "'data.ka' is nan")


# --- integer and boolean quantities (none registered yet; the codec must handle them) ----------

PUMP = AssetType(
    "test_pump", Domain.WATER, "test_pump", "A pump used only by these tests",
    MappingProxyType({
        "running": Quantity("running", "", "Motor running", 0, 1, Kind.STATE, ValueType.BOOL, 0),
        "starts": Quantity("starts", "1", "Start count", 0, 1000, Kind.COUNTER, ValueType.INT,
                           0),
        "flow_m3h": Quantity("flow_m3h", "m3/h", "Flow", 0.0, 500.0),
    }),
)
PUMP_TOPIC = "refpark/bac-ninh/water/test_pump/p-1/telemetry"


@pytest.fixture
def with_pump(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register PUMP for the duration of a test, with fresh caches."""
    monkeypatch.setattr(codec, "ASSET_TYPES", {**ASSET_TYPES, PUMP.name: PUMP})
    monkeypatch.setattr(codec, "_TOPIC_CACHE", {})
    monkeypatch.setattr(codec, "_BOUNDS", {})


@pytest.mark.usefixtures("with_pump")
def test_bool_and_int_quantities_decode() -> None:
    """Booleans and integers are accepted where the registry says so."""
    data = payload(readings={"running": True, "starts": 12, "flow_m3h": 31.5})
    message = decode(PUMP_TOPIC, data)
    assert isinstance(message, Telemetry)
    assert message.readings == {"running": True, "starts": 12, "flow_m3h": 31.5}


@pytest.mark.usefixtures("with_pump")
@pytest.mark.parametrize(
    ("readings", "reason", "detail"),
    [
        ({"running": 1}, DecodeReason.BAD_TYPE, "reading 'running' is 1; expected true/false"),
        ({"starts": 1.5}, DecodeReason.BAD_TYPE, "reading 'starts' is 1.5; expected an integer"),
        ({"starts": 1001}, DecodeReason.OUT_OF_RANGE, "'starts' = 1001 1 is outside"),
        ({"flow_m3h": 501.0}, DecodeReason.OUT_OF_RANGE, "'flow_m3h' = 501.0 m3/h is outside"),
    ],
)
def test_bool_and_int_quantities_are_type_checked(
    readings: dict[str, object], reason: DecodeReason, detail: str
) -> None:
    """A number for a flag, a fraction for a count or an out-of-range count is rejected."""
    error = rejected(PUMP_TOPIC, payload(readings=readings))
    assert error.reason is reason
    assert detail in error.detail


# --- caches ------------------------------------------------------------------------------------


def test_parse_topic_caches_valid_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    """A topic seen before is answered from the cache, and the cache stays bounded."""
    monkeypatch.setattr(codec, "_TOPIC_CACHE", {})
    monkeypatch.setattr(codec, "_TOPIC_CACHE_MAX", 2)
    first = parse_topic(TELEMETRY)
    assert parse_topic(TELEMETRY)[0] is first[0]
    parse_topic(STATUS)
    parse_topic(EVENT)  # the cache is full: it is emptied, then refilled
    assert set(codec._TOPIC_CACHE) == {EVENT}
    assert first == (Topic.parse(TELEMETRY), ASSET_TYPES["meter"])


def test_invalid_topics_are_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    """Garbage topics never enter the cache (it would let an attacker fill it)."""
    monkeypatch.setattr(codec, "_TOPIC_CACHE", {})
    rejected("refpark/bac-ninh/energy/pump/p-1/telemetry", payload())
    assert codec._TOPIC_CACHE == {}


def test_timestamp_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timestamps are cached, repeats hit the cache, and a full cache is emptied."""
    monkeypatch.setattr(codec, "_TS_CACHE", {})
    monkeypatch.setattr(codec, "_TS_CACHE_MAX", 2)
    stamps = ["2026-03-01T17:00:00.000Z", "2026-03-01T17:00:01.000Z", "2026-03-01T17:00:02.000Z"]
    for ts in [*stamps[:2], stamps[0]]:
        decode(TELEMETRY, payload(ts=ts))
    assert set(codec._TS_CACHE) == set(stamps[:2])
    assert decode(TELEMETRY, payload(ts=stamps[2])).ts_ms == TS_MS + 2000
    assert set(codec._TS_CACHE) == {stamps[2]}
