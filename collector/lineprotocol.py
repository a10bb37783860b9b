r"""InfluxDB line protocol encoding, written for the collector's hot path.

One line per point: ``measurement[,tag=value...] field=value[,field=value...] timestamp``.

Escaping rules (InfluxDB line-protocol reference):

* measurement: backslash, comma and space are escaped with a backslash;
* tag keys, tag values and field keys: backslash, comma, equals sign and space;
* string field values: enclosed in double quotes; double quote and backslash escaped.

Newlines end a point and no escape for them exists in line protocol, so any string holding a
line break (``\n`` or ``\r``) is *rejected* with :class:`LineProtocolError`; the collector
dead-letters such a message rather than silently altering it. Empty names are rejected too.
Integers get the ``i`` suffix, booleans are ``true``/``false`` and floats use ``repr`` (the
shortest text that round-trips exactly). Non-finite floats are rejected (InfluxDB refuses them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

#: A field value as line protocol can carry it.
FieldValue = float | int | bool | str

_MEASUREMENT = str.maketrans({"\\": "\\\\", ",": "\\,", " ": "\\ "})
_KEY = str.maketrans({"\\": "\\\\", ",": "\\,", "=": "\\=", " ": "\\ "})
_STRING = str.maketrans({"\\": "\\\\", '"': '\\"'})


class LineProtocolError(ValueError):
    """A name or value cannot be written as line protocol (line break, empty, non-finite)."""


def _check(text: str, what: str) -> None:
    if not text:
        msg = f"{what} is empty"
        raise LineProtocolError(msg)
    if "\n" in text or "\r" in text:
        msg = f"{what} {text[:60]!r} contains a line break, which line protocol cannot carry"
        raise LineProtocolError(msg)


def escape_measurement(name: str) -> str:
    """Return *name* escaped for the measurement position."""
    _check(name, "measurement")
    return name.translate(_MEASUREMENT)


def escape_key(text: str, what: str = "tag or field key") -> str:
    """Return *text* escaped as a tag key, tag value or field key."""
    _check(text, what)
    return text.translate(_KEY)


def format_value(value: FieldValue) -> str:
    """Return one field value in line-protocol syntax."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            msg = f"field value {value!r} is not finite"
            raise LineProtocolError(msg)
        return repr(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return f"{value}i"
    if kind is str:
        if "\n" in value or "\r" in value:  # type: ignore[operator]
            msg = f"string field value {value[:60]!r} contains a line break"  # type: ignore[index]
            raise LineProtocolError(msg)
        return '"' + value.translate(_STRING) + '"'  # type: ignore[union-attr]
    msg = f"field value {value!r} has unsupported type {kind.__name__}"
    raise LineProtocolError(msg)


def series_key(measurement: str, tags: Iterable[tuple[str, str]]) -> str:
    """Return the escaped ``measurement,tag=value,...`` prefix; tags are sorted by key."""
    parts = [escape_measurement(measurement)]
    parts.extend(
        f"{escape_key(k, 'tag key')}={escape_key(v, 'tag value')}" for k, v in sorted(tags)
    )
    return ",".join(parts)


def encode_fields(fields: Mapping[str, FieldValue]) -> str:
    """Return the escaped ``key=value,...`` field set (at least one field is required)."""
    if not fields:
        msg = "a point needs at least one field"
        raise LineProtocolError(msg)
    return ",".join(f"{escape_key(k, 'field key')}={format_value(v)}" for k, v in fields.items())


def encode_point(
    measurement: str,
    tags: Mapping[str, str],
    fields: Mapping[str, FieldValue],
    time_ms: int,
) -> str:
    """Return one point as a line (without the trailing newline), timestamp in milliseconds."""
    return f"{series_key(measurement, tags.items())} {encode_fields(fields)} {int(time_ms)}"
