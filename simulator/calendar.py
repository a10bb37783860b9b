"""Local time, working days, Vietnamese holidays, Tet and time-of-use tariff windows.

Everything here works on arrays of epoch milliseconds and is cached per year, so it costs
almost nothing per step. Sources: Vietnam's public holidays from the ``holidays`` package
(domain.md [E13]); Tet window and ramp-back defaults from domain.md §2.3 (assumptions [A]);
TOU windows from EVN's three-price tariff, Circular 16/2014/TT-BCT (domain.md §2.4, [E3][E20]),
and the unconfirmed 2026 proposal ([E22]).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import IntEnum
from functools import lru_cache

import holidays
import numpy as np
import numpy.typing as npt

#: Days of the Tet break before Lunar New Year's day 1 (domain.md §2.3, [A]).
TET_DAYS_BEFORE = 2
#: Days of the Tet break after day 1 ([A]).
TET_DAYS_AFTER = 5
#: Production level on the first workdays after the break, in order ([A], workforce return).
RAMP_BACK = (0.5, 0.8)
_TET_NAME = "Lunar New Year"
_MS_PER_DAY = 86_400_000
# Offsets are evaluated per quarter hour: every real zone changes offset on such a boundary.
_BUCKET_MS = 900_000
_EPOCH_DAY = date(1970, 1, 1).toordinal()

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Tou(IntEnum):
    """Time-of-use period codes (also indexes of the TOU registers)."""

    OFFPEAK = 0
    NORMAL = 1
    PEAK = 2


@dataclass(frozen=True, slots=True)
class LocalTime:
    """Local-time decomposition of step timestamps.

    Attributes:
        hod: hour of day, fractional [h, 0..24).
        dow: day of week, 0 = Monday.
        day: local day number (days since 1970-01-01 in local time).
    """

    hod: FloatArray
    dow: IntArray
    day: IntArray


def local_time(t_ms: IntArray, timezone: str) -> LocalTime:
    """Split UTC epoch-millisecond timestamps into local hour, weekday and day number."""
    offsets = _offsets_ms(t_ms, timezone)
    local = t_ms + offsets
    day = local // _MS_PER_DAY
    hod = (local - day * _MS_PER_DAY).astype(np.float64) / 3_600_000.0
    # 1970-01-01 was a Thursday (weekday 3).
    dow = (day + 3) % 7
    return LocalTime(hod, dow, day)


def _offsets_ms(t_ms: IntArray, timezone: str) -> IntArray:
    buckets, inverse = np.unique(t_ms // _BUCKET_MS, return_inverse=True)
    zone = zoneinfo.ZoneInfo(timezone)
    values = np.empty(len(buckets), dtype=np.int64)
    for index, bucket in enumerate(buckets.tolist()):
        moment = datetime.fromtimestamp(bucket * (_BUCKET_MS // 1000), tz=UTC).astimezone(zone)
        offset = moment.utcoffset() or timedelta(0)
        values[index] = int(offset.total_seconds() * 1000)
    return values[inverse.reshape(t_ms.shape)]


@dataclass(frozen=True, slots=True)
class DayKinds:
    """Calendar facts for a run of local days (arrays aligned with the days asked for).

    Attributes:
        dow: day of week, 0 = Monday.
        holiday: a public holiday outside the Tet break.
        tet: inside the Tet break.
        ramp: production level on a post-Tet return day, else 1 [1].
    """

    dow: IntArray
    holiday: npt.NDArray[np.bool_]
    tet: npt.NDArray[np.bool_]
    ramp: FloatArray


def day_kinds(days: IntArray) -> DayKinds:
    """Classify local day numbers (days since 1970-01-01) for the Vietnamese calendar."""
    holiday = np.zeros(len(days), dtype=bool)
    tet = np.zeros(len(days), dtype=bool)
    ramp = np.ones(len(days), dtype=np.float64)
    for index, number in enumerate(days.tolist()):
        kind = _year_table(date.fromordinal(number + _EPOCH_DAY).year).get(number)
        if kind is not None:
            holiday[index], tet[index], ramp[index] = kind
    return DayKinds((days + 3) % 7, holiday, tet, ramp)


@lru_cache(maxsize=16)
def _year_table(year: int) -> dict[int, tuple[bool, bool, float]]:
    """Return {day number: (holiday, tet, ramp)} for the unusual days of *year*."""
    # Ask for the neighbouring years too: a late-January Tet's break or ramp-back can
    # spill into February and a holiday list per year would miss nothing then.
    vn = holidays.country_holidays("VN", years=[year - 1, year, year + 1])
    table: dict[int, tuple[bool, bool, float]] = {}
    for day in vn:
        if day.year == year:
            table[day.toordinal() - _EPOCH_DAY] = (True, False, 1.0)
    for day, name in vn.items():
        if name != _TET_NAME or abs(day.year - year) > 1:
            continue
        first = day - timedelta(days=TET_DAYS_BEFORE)
        last = day + timedelta(days=TET_DAYS_AFTER)
        current = first
        while current <= last:
            if current.year == year:
                table[current.toordinal() - _EPOCH_DAY] = (False, True, 1.0)
            current += timedelta(days=1)
        returned = 0
        current = last + timedelta(days=1)
        while returned < len(RAMP_BACK):
            if current.weekday() < 6 and current not in vn:
                if current.year == year:
                    table[current.toordinal() - _EPOCH_DAY] = (False, False, RAMP_BACK[returned])
                returned += 1
            current += timedelta(days=1)
    return table


def tou_period(hod: FloatArray, dow: IntArray, profile: str) -> npt.NDArray[np.int8]:
    """Return the TOU period (:class:`Tou` code) of each step.

    Args:
        hod: local hour of day [h].
        dow: day of week, 0 = Monday.
        profile: ``evn_2014`` (Circular 16/2014: peak 09:30-11:30 and 17:00-20:00 Mon-Sat,
            off-peak 22:00-04:00) or ``proposed_2026`` (peak 17:30-22:30 Mon-Sat, off-peak
            00:00-06:00). Sundays have no peak in either.
    """
    weekday = dow < 6
    if profile == "evn_2014":
        peak = weekday & (((hod >= 9.5) & (hod < 11.5)) | ((hod >= 17.0) & (hod < 20.0)))
        offpeak = (hod >= 22.0) | (hod < 4.0)
    elif profile == "proposed_2026":
        peak = weekday & (hod >= 17.5) & (hod < 22.5)
        offpeak = hod < 6.0
    else:
        msg = f"unknown TOU profile {profile!r}; expected evn_2014 or proposed_2026"
        raise ValueError(msg)
    period = np.full(hod.shape, Tou.NORMAL, dtype=np.int8)
    period[offpeak] = Tou.OFFPEAK
    period[peak] = Tou.PEAK
    return period


def day_of_year(days: IntArray) -> IntArray:
    """Return the day of year (1..366) of local day numbers (days since 1970-01-01)."""
    dates = days.astype("datetime64[D]")
    offset: IntArray = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    return offset + 1
