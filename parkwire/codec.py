"""The one codec: message objects to JSON payload bytes and back, with full validation.

:func:`decode` is what a collector calls on every message it receives. It never raises
anything but :class:`~parkwire.errors.DecodeError`, whose ``reason`` says what was wrong, so a
collector can count and dead-letter a bad message without ever crashing on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson

from parkwire.envelope import (
    SCHEMA_VERSION,
    DeviceState,
    Event,
    EventValue,
    Message,
    Quality,
    Reading,
    Status,
    Telemetry,
    format_ts,
    to_epoch_ms,
)
from parkwire.errors import DecodeError, DecodeReason
from parkwire.quantities import ASSET_TYPES, AssetType, Quantity, ValueType
from parkwire.topics import Channel, Topic

#: Largest payload accepted, in bytes. A meter message is about 500 bytes.
MAX_PAYLOAD_BYTES = 64 * 1024
#: Largest sequence number (signed 64-bit, so every database can store it).
MAX_SEQ = 2**63 - 1
#: Longest event type / data key / string value accepted, in characters.
MAX_TEXT = 256

# Parsing a topic costs a few microseconds; a park has a few thousand distinct ones, so a
# bounded cache of the valid ones pays for itself on the collector's hot path.
_TOPIC_CACHE: dict[str, tuple[Topic, AssetType]] = {}
_TOPIC_CACHE_MAX = 100_000
# Devices that report on one schedule share timestamps; remember the recent ones.
_TS_CACHE: dict[str, int] = {}
_TS_CACHE_MAX = 4096


def encode(message: Message) -> bytes:
    """Serialise *message* to its JSON payload (the topic is ``str(message.topic)``)."""
    body: dict[str, Any]
    if isinstance(message, Telemetry):
        body = {"v": SCHEMA_VERSION, "ts": format_ts(message.ts_ms), "seq": message.seq}
        if message.quality is not Quality.GOOD:
            body["quality"] = message.quality.value
        body["readings"] = dict(message.readings)
    elif isinstance(message, Status):
        body = {"v": SCHEMA_VERSION, "ts": format_ts(message.ts_ms),
                "state": message.state.value}
    else:
        body = {"v": SCHEMA_VERSION, "ts": format_ts(message.ts_ms), "seq": message.seq,
                "event": message.event, "data": dict(message.data)}
    return orjson.dumps(body)


def parse_topic(topic: str) -> tuple[Topic, AssetType]:
    """Parse *topic* and look up its asset type, raising :class:`DecodeError` on failure."""
    hit = _TOPIC_CACHE.get(topic)
    if hit is not None:
        return hit
    parsed = Topic.parse(topic)
    asset = ASSET_TYPES.get(parsed.asset_type)
    if asset is None:
        raise DecodeError(
            DecodeReason.UNKNOWN_ASSET_TYPE,
            f"asset type {parsed.asset_type[:40]!r} is not in the registry; known: "
            f"{', '.join(sorted(ASSET_TYPES))}",
        )
    if asset.domain is not parsed.domain:
        raise DecodeError(
            DecodeReason.BAD_TOPIC,
            f"asset type {asset.name!r} belongs to domain {asset.domain.value!r}, "
            f"not {parsed.domain.value!r}",
        )
    if len(_TOPIC_CACHE) >= _TOPIC_CACHE_MAX:
        _TOPIC_CACHE.clear()
    _TOPIC_CACHE[topic] = (parsed, asset)
    return parsed, asset


def decode(topic: str, payload: bytes | bytearray | memoryview) -> Message:
    """Parse and validate one message from the wire.

    Args:
        topic: the MQTT topic it arrived on.
        payload: the raw payload bytes.

    Returns:
        A :class:`Telemetry`, :class:`Status` or :class:`Event`.

    Raises:
        DecodeError: the message breaks the contract; ``reason`` says how.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError(
            DecodeReason.TOO_LARGE,
            f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}",
        )
    parsed, asset = parse_topic(topic)
    if parsed.channel is Channel.TELEMETRY:
        fast = _fast_telemetry(parsed, asset, payload)
        if fast is not None:
            return fast
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(DecodeReason.INVALID_JSON, f"payload is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise DecodeError(DecodeReason.NOT_AN_OBJECT,
                          f"payload is a JSON {type(body).__name__}, not an object")
    version = body.get("v")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise DecodeError(
            DecodeReason.SCHEMA_VERSION,
            f"schema version 'v' is {version!r}; this collector reads {SCHEMA_VERSION}",
        )
    ts_ms = _timestamp(body)
    channel = parsed.channel
    if channel is Channel.TELEMETRY:
        return Telemetry(parsed, ts_ms, _seq(body), _readings(body, asset), _quality(body))
    if channel is Channel.STATUS:
        state = body.get("state")
        if state not in ("online", "offline"):
            raise DecodeError(DecodeReason.BAD_VALUE,
                              f"'state' is {_show(state)}; expected 'online' or 'offline'")
        return Status(parsed, ts_ms, DeviceState(state))
    return Event(parsed, ts_ms, _seq(body), _event_type(body), _event_data(body))


# -- fast path for valid telemetry --------------------------------------------------------
#
# A collector spends most of its time decoding telemetry that is valid. msgspec checks the
# whole envelope (types, ranges, unknown quantities) in C, several times faster than the
# checks below. It is only a shortcut: whatever it does not accept is decoded again by the
# full path, which alone decides whether the message is invalid and why, so the error
# reasons and details are the same with or without it.

_FAST_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {}


def _fast_decoder(asset: AssetType) -> msgspec.json.Decoder[Any]:
    """Build (once per asset type) a msgspec decoder of a valid telemetry envelope."""
    decoder = _FAST_DECODERS.get(asset.name)
    if decoder is not None:
        return decoder
    fields = []
    for q in asset.quantities.values():
        int_kind = Annotated[int, msgspec.Meta(ge=math.ceil(q.minimum),
                                               le=math.floor(q.maximum))]
        kind: Any
        if q.value_type is ValueType.BOOL:
            kind = bool
        elif q.value_type is ValueType.INT:
            kind = int_kind
        else:  # the full path accepts an integer for a float quantity and keeps it an int
            kind = int_kind | Annotated[float, msgspec.Meta(ge=q.minimum, le=q.maximum)]
        fields.append((q.name, kind | msgspec.UnsetType, msgspec.UNSET))
    readings = msgspec.defstruct(f"{asset.name}_readings", fields,
                                 forbid_unknown_fields=True, omit_defaults=True)
    envelope = msgspec.defstruct(f"{asset.name}_telemetry", [
        ("v", int), ("ts", str),
        ("seq", Annotated[int, msgspec.Meta(ge=0, le=MAX_SEQ)]),
        ("readings", readings),
        ("quality", Literal["good", "uncertain", "bad", "stale"], "good"),
    ])
    decoder = msgspec.json.Decoder(envelope)
    _FAST_DECODERS[asset.name] = decoder
    return decoder


def _fast_telemetry(topic: Topic, asset: AssetType,
                    payload: bytes | bytearray | memoryview) -> Telemetry | None:
    """Decode a valid telemetry payload quickly; ``None`` means "use the full path"."""
    try:
        body = _fast_decoder(asset).decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        # msgspec raises UnicodeDecodeError for an encoded surrogate (b"\xed\xa0\x80") in
        # a string; the full path then reports it as invalid_json.
        return None
    readings = msgspec.to_builtins(body.readings)
    ts_ms = _TS_CACHE.get(body.ts)
    if body.v != SCHEMA_VERSION or not readings or ts_ms is None:
        return None  # the full path parses new timestamps and words every error
    quality = Quality.GOOD if body.quality == "good" else Quality(body.quality)
    return Telemetry(topic, ts_ms, body.seq, readings, quality)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _timestamp(body: dict[str, Any]) -> int:
    raw = body.get("ts")
    if raw is None:
        raise DecodeError(DecodeReason.MISSING_FIELD, "'ts' (RFC 3339 UTC timestamp) is missing")
    if not isinstance(raw, str):
        raise DecodeError(DecodeReason.BAD_TYPE, f"'ts' is {_show(raw)}; expected a string")
    cached = _TS_CACHE.get(raw)
    if cached is not None:
        return cached
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise DecodeError(DecodeReason.BAD_TIMESTAMP,
                          f"'ts' {_show(raw)} is not an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise DecodeError(DecodeReason.BAD_TIMESTAMP,
                          f"'ts' {_show(raw)} has no UTC offset; write it with 'Z'")
    # Subtracting two aware datetimes cannot overflow (every year 1..9999 fits a timedelta).
    ts_ms = to_epoch_ms(moment)
    if len(_TS_CACHE) >= _TS_CACHE_MAX:
        _TS_CACHE.clear()
    _TS_CACHE[raw] = ts_ms
    return ts_ms


def _seq(body: dict[str, Any]) -> int:
    seq = body.get("seq")
    if seq is None:
        raise DecodeError(DecodeReason.MISSING_FIELD, "'seq' (sequence number) is missing")
    if type(seq) is not int:
        raise DecodeError(DecodeReason.BAD_TYPE, f"'seq' is {_show(seq)}; expected an integer")
    if not 0 <= seq <= MAX_SEQ:
        raise DecodeError(DecodeReason.BAD_SEQUENCE,
                          f"'seq' {seq} is outside 0..{MAX_SEQ}")
    return seq


def _quality(body: dict[str, Any]) -> Quality:
    raw = body.get("quality", "good")
    if raw == "good":
        return Quality.GOOD
    try:
        return Quality(raw)
    except (ValueError, TypeError):
        raise DecodeError(
            DecodeReason.BAD_VALUE,
            f"'quality' is {_show(raw)}; expected one of {', '.join(q.value for q in Quality)}",
        ) from None


def _readings(body: dict[str, Any], asset: AssetType) -> Mapping[str, Reading]:
    readings = body.get("readings")
    if readings is None:
        raise DecodeError(DecodeReason.MISSING_FIELD, "'readings' is missing")
    if not isinstance(readings, dict):
        raise DecodeError(DecodeReason.BAD_TYPE,
                          f"'readings' is {_show(readings)}; expected an object")
    if not readings:
        raise DecodeError(DecodeReason.BAD_VALUE, "'readings' is empty")
    bounds = _bounds(asset)
    for name, value in readings.items():
        spec = bounds.get(name)
        if spec is None:
            raise DecodeError(
                DecodeReason.UNKNOWN_QUANTITY,
                f"reading {name[:60]!r} is not a quantity of asset type {asset.name!r}",
            )
        # Fast path for the common case: a float quantity holding an in-range float. orjson
        # never yields NaN or infinity, and NaN would fail the comparison anyway.
        if type(value) is not float or not spec[0] <= value <= spec[1] or not spec[2]:
            _check_value(asset.quantities[name], value)
    # Readings come back in the registry's order whatever order the payload used, so a
    # decoded message has one canonical form (and the fast path, which builds them in that
    # order, returns exactly the same object).
    return {name: readings[name] for name in bounds if name in readings}


_BOUNDS: dict[str, dict[str, tuple[float, float, bool]]] = {}


def _bounds(asset: AssetType) -> dict[str, tuple[float, float, bool]]:
    """Return (minimum, maximum, is_float) per quantity of *asset*, built once per type."""
    bounds = _BOUNDS.get(asset.name)
    if bounds is None:
        bounds = {
            q.name: (q.minimum, q.maximum, q.value_type is ValueType.FLOAT)
            for q in asset.quantities.values()
        }
        _BOUNDS[asset.name] = bounds
    return bounds


def _check_value(quantity: Quantity, value: object) -> None:
    kind = type(value)
    expected = quantity.value_type
    if expected is ValueType.BOOL:
        if kind is not bool:
            raise DecodeError(DecodeReason.BAD_TYPE,
                              f"reading {quantity.name!r} is {_show(value)}; expected true/false")
        return
    if kind is float:
        if expected is ValueType.INT:
            raise DecodeError(DecodeReason.BAD_TYPE,
                              f"reading {quantity.name!r} is {_show(value)}; expected an integer")
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise DecodeError(DecodeReason.NON_FINITE,
                              f"reading {quantity.name!r} is {_show(value)}")
    elif kind is not int:
        raise DecodeError(DecodeReason.BAD_TYPE,
                          f"reading {quantity.name!r} is {_show(value)}; expected a number")
    if not quantity.minimum <= value <= quantity.maximum:  # type: ignore[operator]
        raise DecodeError(
            DecodeReason.OUT_OF_RANGE,
            f"reading {quantity.name!r} = {_show(value)} {quantity.unit} is outside the "
            f"plausible range {quantity.minimum:g}..{quantity.maximum:g}",
        )


def _event_type(body: dict[str, Any]) -> str:
    event = body.get("event")
    if event is None:
        raise DecodeError(DecodeReason.MISSING_FIELD, "'event' (event type) is missing")
    if not isinstance(event, str) or not event or len(event) > MAX_TEXT:
        raise DecodeError(DecodeReason.BAD_TYPE,
                          f"'event' is {_show(event)}; expected a short non-empty string")
    return event


def _event_data(body: dict[str, Any]) -> Mapping[str, EventValue]:
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise DecodeError(DecodeReason.BAD_TYPE, f"'data' is {_show(data)}; expected an object")
    for key, value in data.items():
        if len(key) > MAX_TEXT:
            raise DecodeError(DecodeReason.BAD_VALUE, f"'data' key {key[:40]!r}... is too long")
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise DecodeError(DecodeReason.BAD_VALUE, f"'data.{key[:40]}' is too long")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise DecodeError(DecodeReason.NON_FINITE, f"'data.{key[:40]}' is {value!r}")
        elif not isinstance(value, int):
            raise DecodeError(DecodeReason.BAD_TYPE,
                              f"'data.{key[:40]}' is {_show(value)}; expected a scalar")
    return data
