"""Map decoded messages to database points: measurement, tags, fields and time.

* Telemetry goes to its asset type's ``measurement`` (``energy_meter`` for both meter types);
  fields are the readings (typed by the registry, so a float quantity sent as ``0`` is still
  written as the float ``0.0`` and never changes a column's type), ``seq`` as an integer and
  ``quality`` as a string when it is not ``good``.
* Status goes to ``device_status`` with ``state`` (string) and ``online`` (boolean, so stores
  that keep only numbers still see it).
* Events go to ``event`` with ``seq``, and the data values as fields; the event type is a tag
  (``event``), because event types are a small fixed vocabulary and operators group by them.

Tags are always ``park, site, asset_type, device_id`` (low cardinality: a park has thousands of
devices, not millions). Time is the message's ``ts`` in epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from collector.lineprotocol import (
    FieldValue,
    LineProtocolError,
    escape_key,
    format_value,
    series_key,
)
from parkwire import (
    ASSET_TYPES,
    Event,
    Message,
    Quality,
    Reading,
    Status,
    Telemetry,
    Topic,
    ValueType,
)

#: Measurement of status messages.
STATUS_MEASUREMENT = "device_status"
#: Measurement of event messages.
EVENT_MEASUREMENT = "event"
#: Field names an event's data cannot use verbatim (they get a ``data_`` prefix).
RESERVED_EVENT_FIELDS = frozenset({"seq"})


@dataclass(frozen=True, slots=True)
class Point:
    """One database point.

    Attributes:
        measurement: table / measurement name.
        tags: indexed, low-cardinality strings.
        fields: the values.
        time_ms: epoch milliseconds UTC.
    """

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time_ms: int


def tags_of(topic: Topic) -> dict[str, str]:
    """Return the tag set of a device's topic."""
    return {"park": topic.park, "site": topic.site, "asset_type": topic.asset_type,
            "device_id": topic.device_id}


def telemetry_fields(message: Telemetry) -> dict[str, FieldValue]:
    """Return the typed field set of a telemetry message."""
    quantities = ASSET_TYPES[message.topic.asset_type].quantities
    fields: dict[str, FieldValue] = {}
    for name, value in message.readings.items():
        if quantities[name].value_type is ValueType.FLOAT:
            fields[name] = float(value)
        else:
            fields[name] = value
    fields["seq"] = message.seq
    if message.quality is not Quality.GOOD:
        fields["quality"] = message.quality.value
    return fields


def event_fields(message: Event) -> dict[str, FieldValue]:
    """Return the field set of an event: ``seq`` plus its data."""
    fields: dict[str, FieldValue] = {"seq": message.seq}
    for key, value in message.data.items():
        fields[f"data_{key}" if key in RESERVED_EVENT_FIELDS else key] = value
    return fields


def to_point(message: Message) -> Point:
    """Return the point *message* is stored as."""
    topic = message.topic
    tags = tags_of(topic)
    if isinstance(message, Telemetry):
        measurement = ASSET_TYPES[topic.asset_type].measurement
        return Point(measurement, tags, telemetry_fields(message), message.ts_ms)
    if isinstance(message, Status):
        return Point(STATUS_MEASUREMENT, tags,
                     {"state": message.state.value, "online": message.state.value == "online"},
                     message.ts_ms)
    tags["event"] = message.event
    return Point(EVENT_MEASUREMENT, tags, event_fields(message), message.ts_ms)


#: Cached per series: its topic, escaped "measurement,tags " prefix, per-quantity (key=, is
#: float) and the %-formats already built for each ordered set of reading names ("" = none).
_Series = tuple[Topic, str, dict[str, tuple[str, bool]], dict[tuple[str, ...], str]]


_ONLY_FLOATS = {float}


def _format_for(names: tuple[str, ...], template: dict[str, tuple[str, bool]]) -> str:
    """Return ``"a=%r,b=%r"`` for *names* when all are float quantities, else ``""``."""
    if not all(template[name][1] for name in names):
        return ""
    return ",".join(template[name][0].replace("%", "%%") + "%r" for name in names)


class LineEncoder:
    """Encode messages to line protocol, caching each series' escaped prefix.

    The hot path is telemetry: its series prefix (measurement and tags) is cached per topic and
    its field keys are registry names, so only the values are formatted per message.
    """

    def __init__(self, max_cached_series: int = 100_000) -> None:
        # Keyed by id(topic): parkwire hands out one Topic object per topic string, and hashing
        # a dataclass costs more than the rest of the lookup. Each entry keeps its Topic, so
        # the id cannot be reused while the entry exists; the identity check guards the rest.
        self._series: dict[int, _Series] = {}
        self._max = max_cached_series

    def _entry(self, topic: Topic) -> _Series:
        asset = ASSET_TYPES[topic.asset_type]
        prefix = series_key(asset.measurement, tags_of(topic).items()) + " "
        template = {q.name: (q.name + "=", q.value_type is ValueType.FLOAT)
                    for q in asset.quantities.values()}
        if len(self._series) >= self._max:
            self._series.clear()
        entry: _Series = (topic, prefix, template, {})
        self._series[id(topic)] = entry
        return entry

    def encode(self, message: Message) -> str:
        """Return *message* as one line of line protocol (no trailing newline).

        Raises:
            LineProtocolError: a name or value cannot be carried by line protocol.
        """
        if type(message) is Telemetry:
            topic = message.topic
            entry = self._series.get(id(topic))
            if entry is None or entry[0] is not topic:
                entry = self._entry(topic)
            readings = message.readings
            names = tuple(readings)
            formats = entry[3]
            fmt = formats.get(names)
            if fmt is None:
                fmt = formats[names] = _format_for(names, entry[2])
            values = tuple(readings.values())
            if fmt and set(map(type, values)) == _ONLY_FLOATS:
                # Every reading is a float of a float quantity: one C-level %-format writes
                # them all, with the same repr() digits as the one-by-one path.
                body = fmt % values
            else:
                body = self._fields_one_by_one(readings, entry[2])
            if message.quality is not Quality.GOOD:
                return (f'{entry[1]}{body},seq={message.seq}i,'
                        f'quality="{message.quality.value}" {message.ts_ms}')
            return f"{entry[1]}{body},seq={message.seq}i {message.ts_ms}"
        return self._encode_point(message)

    @staticmethod
    def _fields_one_by_one(readings: Mapping[str, Reading],
                           template: dict[str, tuple[str, bool]]) -> str:
        parts = []
        for name, value in readings.items():
            key, is_float = template[name]
            if type(value) is float:
                parts.append(key + repr(value))
            elif is_float:
                parts.append(key + repr(float(value)))
            else:
                parts.append(key + format_value(value))
        return ",".join(parts)

    @staticmethod
    def _encode_point(message: Message) -> str:
        point = to_point(message)
        fields = ",".join(
            f"{escape_key(k, 'field key')}={format_value(v)}" for k, v in point.fields.items()
        )
        return f"{series_key(point.measurement, point.tags.items())} {fields} {point.time_ms}"


__all__ = ["LineEncoder", "LineProtocolError", "Point", "to_point"]
