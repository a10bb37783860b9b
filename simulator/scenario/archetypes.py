"""Tenant archetypes and shift patterns: the load-shape defaults a scenario builds on.

All figures are the engineering defaults of domain.md §2.2 (marked [A] there): base load
fraction, Saturday/Sunday factors, power factor mean and spread, typical contracted peak, and
the shift schedules bounded by Vietnam's Labour Code 2019 (domain.md [L1]-[L5]). A tenant in a
scenario file picks an archetype and may override some of these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Block:
    """A period when a tenant's production runs, in local hours.

    Attributes:
        start_h: start of production [h local, 0..24).
        end_h: end of production [h local, start_h..24].
        days: weekdays this block applies to (0 = Monday .. 6 = Sunday).
    """

    start_h: float
    end_h: float
    days: frozenset[int] = frozenset(range(7))


@dataclass(frozen=True, slots=True)
class Dip:
    """A meal break that lowers the production load.

    Attributes:
        start_h: start of the break [h local].
        end_h: end of the break [h local].
        depth: fraction of the production load that stops [1].
    """

    start_h: float
    end_h: float
    depth: float


@dataclass(frozen=True, slots=True)
class ShiftPattern:
    """A weekly production schedule.

    Attributes:
        name: identifier used in scenario files.
        description: one line for humans.
        continuous: production runs around the clock (blocks are ignored).
        blocks: production periods when not continuous; the largest covering block wins.
        dips: meal breaks.
        shifts_per_day: how many crews work (1, 2 or 3); decides holiday behaviour.
    """

    name: str
    description: str
    continuous: bool
    blocks: tuple[Block, ...]
    dips: tuple[Dip, ...]
    shifts_per_day: int


_MON_WED_FRI = frozenset({0, 2, 4})

#: Every shift pattern, by name.
SHIFT_PATTERNS = MappingProxyType({
    p.name: p
    for p in (
        ShiftPattern(
            "day_ot", "one shift 07:30-16:30, overtime to 19:00 Mon/Wed/Fri, lunch 11:30-12:30",
            continuous=False,
            blocks=(Block(7.5, 16.5), Block(7.5, 19.0, _MON_WED_FRI)),
            dips=(Dip(11.5, 12.5, 0.35),), shifts_per_day=1),
        ShiftPattern(
            "day", "one shift 08:00-17:00, lunch 12:00-13:00",
            continuous=False, blocks=(Block(8.0, 17.0),),
            dips=(Dip(12.0, 13.0, 0.35),), shifts_per_day=1),
        ShiftPattern(
            "two_shift", "two shifts 06:00-14:00 and 14:00-22:00, 30-min meal breaks",
            continuous=False, blocks=(Block(6.0, 22.0),),
            dips=(Dip(10.0, 10.5, 0.3), Dip(18.0, 18.5, 0.3)), shifts_per_day=2),
        ShiftPattern(
            "extended_day", "one long operating day 06:00-22:00, no breaks",
            continuous=False, blocks=(Block(6.0, 22.0),), dips=(), shifts_per_day=2),
        ShiftPattern(
            "three_shift", "three shifts 06-14-22, around the clock, 30-min meal breaks",
            continuous=True, blocks=(),
            dips=(Dip(2.0, 2.5, 0.2), Dip(10.0, 10.5, 0.2), Dip(18.0, 18.5, 0.2)),
            shifts_per_day=3),
        ShiftPattern(
            "two_by_twelve", "two 12-hour shifts 08-20-08, around the clock, 30-min breaks",
            continuous=True, blocks=(),
            dips=(Dip(0.0, 0.5, 0.2), Dip(12.0, 12.5, 0.2)), shifts_per_day=3),
        ShiftPattern(
            "continuous", "around the clock with no breaks (wet processes)",
            continuous=True, blocks=(), dips=(), shifts_per_day=3),
    )
})


@dataclass(frozen=True, slots=True)
class Archetype:
    """Load-shape defaults of one kind of tenant (domain.md §2.2, all [A]).

    Attributes:
        name: identifier used in scenario files.
        description: one line for humans.
        shift: default shift pattern name.
        base: always-on fraction of the peak (HVAC, compressors, cold rooms) [1].
        sat_factor: Saturday scale of the production part [1].
        sun_factor: Sunday scale of the production part [1].
        peak_kw: typical contracted peak [kW].
        peak_range_kw: plausible range of peaks [kW].
        pf_mean: mean displacement power factor [1].
        pf_sd: tenant-to-tenant spread of the power factor [1].
        thd_i_pct: typical current THD at full load [%].
        tet_activity: fraction of the production part that runs during the Tet break [1].
        holiday_activity: fraction of the production part that runs on other holidays [1].
        sigma: relative size of the short-term load fluctuation [1].
    """

    name: str
    description: str
    shift: str
    base: float
    sat_factor: float
    sun_factor: float
    peak_kw: float
    peak_range_kw: tuple[float, float]
    pf_mean: float
    pf_sd: float
    thd_i_pct: float
    tet_activity: float
    holiday_activity: float
    sigma: float = 0.04


#: Every archetype, by name.
ARCHETYPES = MappingProxyType({
    a.name: a
    for a in (
        Archetype("garment", "garment / textile cut and sew", "day_ot", 0.12, 0.9, 0.15,
                  600.0, (200.0, 1500.0), 0.86, 0.03, 12.0, 0.0, 0.0),
        Archetype("dyeing", "textile dyeing (wet process, 24/7)", "continuous", 0.55, 1.0,
                  0.85, 2000.0, (1000.0, 3000.0), 0.88, 0.02, 8.0, 0.3, 0.8),
        Archetype("electronics", "electronics assembly / SMT (cleanroom HVAC)", "three_shift",
                  0.55, 0.95, 0.85, 2500.0, (800.0, 8000.0), 0.93, 0.02, 10.0, 0.3, 0.8),
        Archetype("food", "food processing with cold rooms", "two_shift", 0.30, 0.95, 0.45,
                  1000.0, (300.0, 3000.0), 0.85, 0.03, 10.0, 0.0, 0.2),
        Archetype("logistics", "logistics warehouse (lighting, chillers)", "extended_day", 0.25,
                  0.8, 0.3, 300.0, (100.0, 1000.0), 0.90, 0.03, 25.0, 0.0, 0.3),
        Archetype("other", "mechanical / other light industry", "day", 0.15, 0.9, 0.2,
                  800.0, (200.0, 2500.0), 0.84, 0.04, 12.0, 0.0, 0.0),
    )
})
