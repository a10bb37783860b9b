"""Local time, Vietnamese holidays, the Tet break and TOU windows."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from simulator.calendar import Tou, day_kinds, local_time, tou_period
from simulator.rng import Stream, device_key, device_rng

_EPOCH = date(1970, 1, 1).toordinal()


def _day(text: str) -> int:
    return date.fromisoformat(text).toordinal() - _EPOCH


def test_local_time_in_vietnam() -> None:
    """UTC 17:00 on Sunday 1 March 2026 is Monday 00:00 in Ho Chi Minh City."""
    when = local_time(np.array([1_772_384_400_000, 1_772_384_400_000 + 37_800_000]),
                      "Asia/Ho_Chi_Minh")
    assert when.hod.tolist() == [0.0, 10.5]
    assert when.dow.tolist() == [0, 0]
    assert when.day.tolist() == [_day("2026-03-02")] * 2


def test_local_time_follows_daylight_saving() -> None:
    """A zone with DST changes offset at its transition (Berlin, 29 March 2026 01:00 UTC)."""
    before, after = 1_774_745_100_000, 1_774_746_000_000  # 00:45 and 01:00 UTC
    when = local_time(np.array([before, after]), "Europe/Berlin")
    assert when.hod.tolist() == [1.75, 3.0]


def test_tet_2026_break_and_ramp_back() -> None:
    """Tet 2026 (day 1 = 17 Feb): break 15-22 Feb, then 50 % and 80 % on the first workdays."""
    days = np.array([_day(d) for d in ("2026-02-14", "2026-02-15", "2026-02-22", "2026-02-23",
                                       "2026-02-24", "2026-02-25")])
    kinds = day_kinds(days)
    assert kinds.tet.tolist() == [False, True, True, False, False, False]
    assert kinds.ramp.tolist() == [1.0, 1.0, 1.0, 0.5, 0.8, 1.0]


def test_public_holidays_outside_tet() -> None:
    """Reunification Day and National Day are holidays; an ordinary Tuesday is not."""
    kinds = day_kinds(np.array([_day("2026-04-30"), _day("2026-09-02"), _day("2026-03-03")]))
    assert kinds.holiday.tolist() == [True, True, False]
    assert not kinds.tet.any()


def test_evn_2014_windows() -> None:
    """EVN 2014: peak 09:30-11:30 and 17:00-20:00 Mon-Sat; off-peak 22:00-04:00; no Sunday peak."""
    hod = np.array([3.9, 4.0, 9.5, 11.5, 17.0, 19.99, 20.0, 22.0, 10.0])
    dow = np.array([0, 0, 1, 2, 5, 5, 5, 5, 6])
    assert tou_period(hod, dow, "evn_2014").tolist() == [
        Tou.OFFPEAK, Tou.NORMAL, Tou.PEAK, Tou.NORMAL, Tou.PEAK, Tou.PEAK, Tou.NORMAL,
        Tou.OFFPEAK, Tou.NORMAL]


def test_proposed_2026_windows() -> None:
    """The 2026 proposal: peak 17:30-22:30 Mon-Sat, off-peak 00:00-06:00."""
    hod = np.array([5.9, 6.0, 17.5, 22.4, 22.5, 18.0])
    dow = np.array([0, 0, 0, 0, 0, 6])
    assert tou_period(hod, dow, "proposed_2026").tolist() == [
        Tou.OFFPEAK, Tou.NORMAL, Tou.PEAK, Tou.PEAK, Tou.NORMAL, Tou.NORMAL]
    with pytest.raises(ValueError, match="unknown TOU profile"):
        tou_period(hod, dow, "flat")


def test_device_streams_are_stable_and_distinct() -> None:
    """Keys are stable across runs (not Python's salted hash); streams differ by purpose."""
    assert device_key("mtr-t001") == device_key("mtr-t001") != device_key("mtr-t002")
    assert device_key("mtr-t001") == 0x9AFD_3A2B_0A21_C24D
    a = device_rng(1, "mtr-t001", Stream.NOISE).standard_normal(4)
    b = device_rng(1, "mtr-t001", Stream.NOISE).standard_normal(4)
    c = device_rng(1, "mtr-t001", Stream.INIT).standard_normal(4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
