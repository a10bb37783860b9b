"""Line-protocol encoding: escaping round-trips for arbitrary unicode, and rejections."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.lineprotocol import (
    FieldValue,
    LineProtocolError,
    encode_point,
    format_value,
)


def _read_until(text: str, i: int, stops: str) -> tuple[str, int]:
    """Read an escaped token from *i* up to an unescaped stop character; return it and the index."""
    out = []
    while i < len(text) and text[i] not in stops:
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i


def parse_line(line: str) -> tuple[str, dict[str, str], dict[str, FieldValue], int]:
    """A small independent line-protocol parser (enough for what the encoder emits)."""
    measurement, i = _read_until(line, 0, ", ")
    tags: dict[str, str] = {}
    while line[i] == ",":
        key, i = _read_until(line, i + 1, "=")
        value, i = _read_until(line, i + 1, ", ")
        tags[key] = value
    fields: dict[str, FieldValue] = {}
    while line[i] in " ,":
        key, i = _read_until(line, i + 1, "=")
        i += 1
        if line[i] == '"':
            text, i = _read_until(line, i + 1, '"')
            fields[key] = text
            i += 1
        else:
            raw, i = _read_until(line, i, ", ")
            fields[key] = _parse_value(raw)
        if line[i] == " " and line[i + 1:].lstrip("-").isdigit():
            break
    return measurement, tags, fields, int(line[i + 1:])


def _parse_value(text: str) -> FieldValue:
    if text in ("true", "false"):
        return text == "true"
    if text.endswith("i"):
        return int(text[:-1])
    return float(text)


NAMES = st.text(st.characters(exclude_characters="\n\r", exclude_categories=["Cs"]),
                min_size=1, max_size=20)
VALUES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.text(st.characters(exclude_characters="\n\r", exclude_categories=["Cs"]),
            max_size=30),
)


@given(measurement=NAMES, tags=st.dictionaries(NAMES, NAMES, max_size=4),
       fields=st.dictionaries(NAMES, VALUES, min_size=1, max_size=5),
       ts=st.integers(0, 2**42))
def test_encode_then_parse_gives_the_same_point(
        measurement: str, tags: dict[str, str], fields: dict[str, FieldValue], ts: int) -> None:
    """Any unicode names and values survive encoding and parsing back unchanged."""
    line = encode_point(measurement, tags, fields, ts)
    assert "\n" not in line
    parsed = parse_line(line)
    assert parsed[0] == measurement
    assert parsed[1] == tags
    assert parsed[2].keys() == fields.keys()
    for key, value in fields.items():
        got = parsed[2][key]
        assert type(got) is type(value)
        assert got == value or (isinstance(value, float) and math.isclose(got, value))  # type: ignore[arg-type]
    assert parsed[3] == ts


def test_tags_are_sorted_and_special_characters_escaped() -> None:
    """Comma, equals, space and backslash are escaped where the spec says; tags are sorted."""
    line = encode_point("m e,a", {"z": "1", "a k": "v=,\\"}, {"f,=": 'q"\\'}, 5)
    assert line == 'm\\ e\\,a,a\\ k=v\\=\\,\\\\,z=1 f\\,\\=="q\\"\\\\" 5'


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", ""])
def test_line_breaks_and_empty_names_are_rejected(bad: str) -> None:
    """A name with a line break or an empty name raises LineProtocolError."""
    with pytest.raises(LineProtocolError):
        encode_point(bad, {}, {"f": 1.0}, 0)
    with pytest.raises(LineProtocolError):
        encode_point("m", {"t": bad}, {"f": 1.0}, 0)


def test_value_formats_and_rejections() -> None:
    """Ints get i, bools are words, floats round-trip; NaN, newlines and objects are refused."""
    assert format_value(3) == "3i"
    assert format_value(True) == "true"
    assert format_value(False) == "false"
    assert float(format_value(0.1)) == 0.1
    for bad in (math.nan, math.inf, "a\nb", [1]):
        with pytest.raises(LineProtocolError):
            format_value(bad)  # type: ignore[arg-type]
    with pytest.raises(LineProtocolError):
        encode_point("m", {}, {}, 0)
