"""The message envelope: what travels in an MQTT payload, as typed Python values.

Every payload is a JSON object with a schema version ``v`` and a UTC timestamp ``ts``:

* telemetry: ``{"v": 1, "ts": "2026-03-01T17:00:00.000Z", "seq": 1842, "readings": {...}}``
  plus ``"quality"`` when it is not ``good``;
* status: ``{"v": 1, "ts": ..., "state": "online"}`` (retained; ``offline`` by last will);
* event: ``{"v": 1, "ts": ..., "seq": 7, "event": "door_forced", "data": {...}}``.

``seq`` counts one device's messages on one channel: it starts at 0 and grows by exactly one
per message, so a consumer can find gaps (loss) and repeats (redelivery). Timestamps are kept
as integer milliseconds since the Unix epoch (UTC) in memory, and written as RFC 3339 UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from parkwire.topics import Topic

#: The envelope version this package reads and writes.
SCHEMA_VERSION = 1

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

#: A telemetry reading's value.
Reading = float | int | bool
#: A value in an event's data.
EventValue = float | int | bool | str


class Quality(StrEnum):
    """Data quality of a telemetry message, as an operator would read it."""

    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"
    STALE = "stale"


class DeviceState(StrEnum):
    """Value of a retained status message."""

    ONLINE = "online"
    OFFLINE = "offline"


#: "YYYY-MM-DDTHH:MM:" by epoch minute: timestamps come in runs within a minute, and the
#: calendar arithmetic is the costly part of formatting one (bounded; cleared when full).
_MINUTE_PREFIX: dict[int, str] = {}
_MINUTE_PREFIX_MAX = 4096


def format_ts(ts_ms: int) -> str:
    """Render epoch milliseconds as RFC 3339 UTC with millisecond precision.

    >>> format_ts(1772384400000)
    '2026-03-01T17:00:00.000Z'
    """
    secs, millis = divmod(ts_ms, 1000)
    minute, sec = divmod(secs, 60)
    prefix = _MINUTE_PREFIX.get(minute)
    if prefix is None:
        moment = _EPOCH + timedelta(minutes=minute)
        # strftime's %Y does not zero-pad years below 1000 on glibc; RFC 3339 needs 4 digits.
        prefix = f"{moment.year:04d}-{moment:%m-%dT%H:%M}:"
        if len(_MINUTE_PREFIX) >= _MINUTE_PREFIX_MAX:
            _MINUTE_PREFIX.clear()
        _MINUTE_PREFIX[minute] = prefix
    return f"{prefix}{sec:02d}.{millis:03d}Z"


def to_epoch_ms(moment: datetime) -> int:
    """Convert a timezone-aware datetime to integer epoch milliseconds (exact, truncating)."""
    if moment.tzinfo is None:
        msg = "naive datetime: a timezone is required"
        raise ValueError(msg)
    return (moment - _EPOCH) // _MS


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Periodic readings of one device.

    Attributes:
        topic: where it was (or will be) published; channel ``telemetry``.
        ts_ms: measurement time, epoch milliseconds UTC.
        seq: the device's telemetry sequence number (0, 1, 2, ...).
        readings: quantity name to value; names come from :mod:`parkwire.quantities`.
        quality: data quality flag.
    """

    topic: Topic
    ts_ms: int
    seq: int
    readings: Mapping[str, Reading]
    quality: Quality = Quality.GOOD


@dataclass(frozen=True, slots=True)
class Status:
    """A device's or publisher's online/offline state (published retained).

    Attributes:
        topic: channel ``status``.
        ts_ms: when the state was set, epoch milliseconds UTC.
        state: online or offline.
    """

    topic: Topic
    ts_ms: int
    state: DeviceState


@dataclass(frozen=True, slots=True)
class Event:
    """A discrete occurrence (alarm, access, fault) that must be delivered at least once.

    Attributes:
        topic: channel ``event``.
        ts_ms: when it happened, epoch milliseconds UTC.
        seq: the device's event sequence number.
        event: event type, a short snake_case code.
        data: details; values are scalars.
    """

    topic: Topic
    ts_ms: int
    seq: int
    event: str
    data: Mapping[str, EventValue] = field(default_factory=dict)


#: Any decoded message.
Message = Telemetry | Status | Event
