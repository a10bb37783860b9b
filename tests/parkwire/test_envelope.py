"""The envelope's time helpers and message types."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkwire import (
    SCHEMA_VERSION,
    Channel,
    DeviceState,
    Domain,
    Event,
    Quality,
    Status,
    Telemetry,
    Topic,
    format_ts,
    to_epoch_ms,
)

ICT = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh: UTC+7, no daylight saving
TOPIC = Topic("refpark", "bac-ninh", Domain.ENERGY, "meter", "mtr-t017", Channel.TELEMETRY)
# Every millisecond datetime can represent (years 1..9999).
MIN_MS = -62_135_596_800_000
MAX_MS = 253_402_300_799_999


@pytest.mark.parametrize(
    ("ts_ms", "text"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (1, "1970-01-01T00:00:00.001Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (1_772_384_400_000, "2026-03-01T17:00:00.000Z"),
        (1_772_410_500_123, "2026-03-02T00:15:00.123Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (MIN_MS, "0001-01-01T00:00:00.000Z"),
        (MAX_MS, "9999-12-31T23:59:59.999Z"),
    ],
)
def test_format_ts_known_values(ts_ms: int, text: str) -> None:
    """format_ts writes RFC 3339 UTC with exactly three fractional digits and a Z."""
    assert format_ts(ts_ms) == text


@pytest.mark.parametrize(
    ("moment", "ts_ms"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
        (datetime(2026, 3, 2, 0, 0, tzinfo=ICT), 1_772_384_400_000),
        (datetime(2026, 3, 1, 17, 0, 0, 999, tzinfo=UTC), 1_772_384_400_000),
        (datetime(2026, 3, 1, 17, 0, 0, 1000, tzinfo=UTC), 1_772_384_400_001),
        (datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), -1),
    ],
)
def test_to_epoch_ms_known_values(moment: datetime, ts_ms: int) -> None:
    """to_epoch_ms honours the offset and truncates sub-millisecond parts towards the past."""
    assert to_epoch_ms(moment) == ts_ms


def test_to_epoch_ms_rejects_naive_datetimes() -> None:
    """A datetime without a timezone is ambiguous and refused."""
    with pytest.raises(ValueError, match="naive datetime: a timezone is required"):
        to_epoch_ms(datetime(2026, 3, 1, 17, 0))


@given(st.integers(MIN_MS, MAX_MS))
def test_format_then_parse_round_trips(ts_ms: int) -> None:
    """Any representable millisecond survives format_ts -> fromisoformat -> to_epoch_ms."""
    assert to_epoch_ms(datetime.fromisoformat(format_ts(ts_ms))) == ts_ms


@given(st.integers(MIN_MS, MAX_MS - 1))
def test_format_ts_sorts_like_time(ts_ms: int) -> None:
    """Formatted timestamps sort as strings in time order (handy in logs and file names)."""
    assert format_ts(ts_ms) < format_ts(ts_ms + 1)


def test_messages_are_frozen() -> None:
    """Messages are immutable values, safe to share between tasks."""
    message = Telemetry(TOPIC, 0, 0, {"p_kw": 1.0})
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.seq = 1  # type: ignore[misc]


def test_message_defaults() -> None:
    """Telemetry is good quality and an event has empty data unless told otherwise."""
    assert Telemetry(TOPIC, 0, 0, {"p_kw": 1.0}).quality is Quality.GOOD
    event = Event(TOPIC.with_channel(Channel.EVENT), 0, 0, "door_forced")
    assert event.data == {}


def test_enums_use_wire_values() -> None:
    """Enum values are the exact strings on the wire."""
    assert [q.value for q in Quality] == ["good", "uncertain", "bad", "stale"]
    assert [s.value for s in DeviceState] == ["online", "offline"]
    assert Status(TOPIC.with_channel(Channel.STATUS), 0, DeviceState.ONLINE).state == "online"
    assert SCHEMA_VERSION == 1
