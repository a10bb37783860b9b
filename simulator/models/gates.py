"""Park gates: workers and vehicles in and out around shift changes, access-control events.

Worker flow (domain.md §5.1, [A]): each shift ``s`` that runs on local day ``d`` brings a cohort
of ``N_sd ~ Poisson(N_s * a_d)`` workers (``a_d`` the day's activity). Each cohort is split over
the gates and the travel modes, grouped into vehicles (motorbikes with 1.1, cars with 1.5 and
company buses with 40 people on average), and every vehicle gets an arrival instant drawn from
``Normal(start - 20 min, 12 min)`` and a departure instant from ``Normal(end + 10 min, 8 min)``,
both truncated to +-45 min. That is the non-homogeneous Poisson process of §5.1, with one
refinement: the people who leave are the people who came, so over a day every gate's in-count
equals its out-count for each completed shift and the on-site headcount is never negative.

Trucks arrive as a Poisson process of 60 per hour (06:00-22:00) and 20 per hour at night, times
0.6 on Sundays and holidays and 0.2 during Tet, stay a log-normal dwell (median 90 min) and leave
by the gate they came in.

Access control (§5.1 [A]): every person passing badges once (tailgaters excepted, 0.05%);
refused reads (2% of reads) are extra reads by people who then get through after a guard check;
number-plate reads for cars, buses and trucks succeed 98% of the time. ``events="all"`` publishes
every read, as a real access-control server logs them; ``events="exceptions"`` keeps only
refusals, tailgating, forced and held doors and unread plates (the counts are in telemetry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from operator import attrgetter

import numpy as np
from scipy.special import ndtr

from simulator.calendar import day_kinds, local_time
from simulator.models.episodes import (
    MS,
    FloatArray,
    IntArray,
    as_float,
    exposure_s,
    local_midnight_ms,
    normal_quantile,
    occurrences,
    stamp,
)
from simulator.models.output import DeviceSpec, EventRecord, EventValue, ModelOutput, TelemetryBlock
from simulator.rng import Stream, device_rng

#: Monday..Saturday, the usual Vietnamese factory week (0 = Monday).
WORKDAYS = (0, 1, 2, 3, 4, 5)
#: Every day of the week (continuous-process shifts).
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
#: Travel modes in the order of :attr:`GatesSpec.mode_share`.
MODES = ("motorbike", "bus", "car")
_DIRECTIONS = ("in", "out")
_PROVINCES = (99, 98, 29, 30, 15, 16, 14, 89)  # Bac Ninh, Bac Giang, Ha Noi, Hai Phong, ...
_DENY_REASONS = ("expired", "wrong_zone", "unknown_card", "anti_passback")
#: Access-control exceptions a scenario can inject in bursts (domain.md §6 F23).
INJECTABLE_EVENTS = ("door_forced", "door_held_open", "tailgating", "badge_denied")
# Pseudo device id of the park-level streams of this model.
#: Event order: time, then device (output.ModelOutput).
_ORDER = attrgetter("ts_ms", "device_id")
_STREAM_ID = "security.gates"


class EventDetail(StrEnum):
    """Which access-control events the gates publish."""

    ALL = "all"
    """Every badge read and plate read, plus the exceptions."""
    EXCEPTIONS = "exceptions"
    """Only refusals, tailgating, forced and held-open doors, unread plates."""


class _Kind(StrEnum):
    """Event kinds; also the key of each kind's detail generator."""

    BADGE = "badge"
    DENIED = "denied"
    TAILGATE = "tailgate"
    PLATE = "plate"
    TRUCK = "truck"
    DOOR = "door"


@dataclass(frozen=True, slots=True)
class Shift:
    """One shift of the park's workforce (the lead derives these from tenants' patterns).

    Attributes:
        start_h: local start hour [h], 0 <= start_h < 24.
        end_h: local end hour [h]; at or before start_h means the next day.
        workers: people on this shift on a normal day [1].
        days: weekdays the shift runs (0 = Monday), by its start day.
    """

    start_h: float
    end_h: float
    workers: int
    days: tuple[int, ...] = WORKDAYS

    @property
    def length_h(self) -> float:
        """Shift length [h]."""
        return (self.end_h - self.start_h) % 24.0 or 24.0


@dataclass(frozen=True, slots=True)
class Gate:
    """One park gate.

    Attributes:
        gate_id: device id (slug, ``gate-`` prefix).
        kind: ``main`` (people and cars), ``truck`` or ``secondary``.
        people_share: share of the workforce using this gate [1].
        truck_share: share of the truck flow using this gate [1].
        lanes: badge readers / turnstile lanes (an event detail) [1].
    """

    gate_id: str
    kind: str
    people_share: float
    truck_share: float
    lanes: int = 4


def default_shifts() -> tuple[Shift, ...]:
    """Return §5.1's headcount split [A]: 11,000 day, 5,500 evening, 3,500 night (20,000).

    Three-shift continuous processes (06/14/22) run every day; the 07:30 day shift and the
    12-hour 20:00 night shift run Monday to Saturday.
    """
    return (
        Shift(7.5, 16.5, 7_000, WORKDAYS),
        Shift(6.0, 14.0, 4_000, EVERY_DAY),
        Shift(14.0, 22.0, 5_500, EVERY_DAY),
        Shift(22.0, 6.0, 2_000, EVERY_DAY),
        Shift(20.0, 8.0, 1_500, WORKDAYS),
    )


def default_gates() -> tuple[Gate, ...]:
    """Return domain.md §0's six gates [A]: 2 main, 2 truck, 2 secondary."""
    return (
        Gate("gate-main-1", "main", 0.30, 0.0, 6),
        Gate("gate-main-2", "main", 0.30, 0.0, 6),
        Gate("gate-truck-1", "truck", 0.0, 0.5, 2),
        Gate("gate-truck-2", "truck", 0.0, 0.5, 2),
        Gate("gate-sec-1", "secondary", 0.20, 0.0, 4),
        Gate("gate-sec-2", "secondary", 0.20, 0.0, 4),
    )


@dataclass(frozen=True, slots=True)
class GatesSpec:
    """Gate and access-control parameters (domain.md §5.1; all [A] unless cited).

    Attributes:
        gates: the gates.
        shifts: the workforce's shifts.
        timezone: IANA zone of the park's local time.
        workforce: size of the badge-id pool (workers on the roll) [1].
        arrive_lead_min: mean arrival before shift start [min].
        depart_lag_min: mean departure after shift end [min].
        sigma_in_min: spread of arrivals [min].
        sigma_out_min: spread of departures [min].
        truncate_min: arrivals and departures lie within +- this of their mean [min].
        mode_share: share of people by motorbike, company bus, car [1].
        occupancy: mean people per motorbike, bus, car [1] (motorbikes and cars 1 to 2).
        truck_day_per_h: park-wide truck arrivals 06:00-22:00 [1/h].
        truck_night_per_h: park-wide truck arrivals 22:00-06:00 [1/h].
        truck_sunday_factor: truck flow factor on Sundays and public holidays [1].
        truck_tet_factor: truck flow factor during the Tet break [1].
        container_share: share of trucks carrying a container [1].
        truck_dwell_median_min: median truck stay inside the park [min].
        truck_dwell_sigma: log-normal sigma of the stay [1].
        holiday_activity: attendance on public holidays, when no day_activity driver [1].
        tet_activity: attendance during Tet, when no day_activity driver [1].
        denied_share: refused badge reads, share of all reads (1-3% in §5.1) [1].
        tailgating_share: people passing without a read [1].
        held_open_per_day: door-held-open (> 30 s) events per gate and day [1/d].
        forced_per_day: door-forced events per gate and day [1/d].
        lpr_read_rate: number-plate read success (97-99% in §5.1) [1].
        events: which access-control events to publish.
        interval_s: telemetry interval [s], a multiple of 10.
    """

    gates: tuple[Gate, ...] = field(default_factory=default_gates)
    shifts: tuple[Shift, ...] = field(default_factory=default_shifts)
    timezone: str = "Asia/Ho_Chi_Minh"
    workforce: int = 20_000
    arrive_lead_min: float = 20.0
    depart_lag_min: float = 10.0
    sigma_in_min: float = 12.0
    sigma_out_min: float = 8.0
    truncate_min: float = 45.0
    mode_share: tuple[float, float, float] = (0.75, 0.20, 0.05)
    occupancy: tuple[float, float, float] = (1.1, 40.0, 1.5)
    truck_day_per_h: float = 60.0
    truck_night_per_h: float = 20.0
    truck_sunday_factor: float = 0.6
    truck_tet_factor: float = 0.2
    container_share: float = 0.5
    truck_dwell_median_min: float = 90.0
    truck_dwell_sigma: float = 0.5
    holiday_activity: float = 0.3
    tet_activity: float = 0.05
    denied_share: float = 0.02
    tailgating_share: float = 0.0005
    held_open_per_day: float = 2.0
    forced_per_day: float = 0.05
    lpr_read_rate: float = 0.98
    events: EventDetail = EventDetail.ALL
    interval_s: int = 60

    def __post_init__(self) -> None:
        problems = []
        if self.interval_s <= 0 or self.interval_s % 10:
            problems.append(f"interval_s = {self.interval_s}: expected a positive multiple of 10")
        if not self.gates:
            problems.append("gates is empty: expected at least one gate")
        if self.shifts and sum(g.people_share for g in self.gates) <= 0:
            problems.append("gates[*].people_share sums to 0 but there are shifts")
        for index, shift in enumerate(self.shifts):
            if not 0 <= shift.start_h < 24 or not 0 <= shift.end_h < 24 or shift.workers < 0:
                problems.append(f"shifts[{index}] = {shift}: expected hours in [0, 24), "
                                "workers >= 0")
            elif shift.length_h < 2.0:
                problems.append(f"shifts[{index}]: lasts {shift.length_h} h; expected >= 2 h "
                                "(arrivals and departures must not overlap)")
        problems.extend(f"{name}: expected {len(MODES)} values ({', '.join(MODES)})"
                        for name in ("mode_share", "occupancy")
                        if len(getattr(self, name)) != len(MODES))
        if any(not 1.0 <= self.occupancy[i] <= 2.0 for i in (0, 2)):
            problems.append("occupancy of motorbikes and cars: expected 1 to 2 people")
        problems.extend(f"{name} = {getattr(self, name)}: expected a share in [0, 1]"
                        for name in ("denied_share", "tailgating_share", "lpr_read_rate",
                                     "container_share")
                        if not 0.0 <= getattr(self, name) <= 1.0)
        if problems:
            raise ValueError("GatesSpec: " + "; ".join(problems))


@dataclass(slots=True)
class _Cohort:
    """One shift's workers on one day: people and vehicles per bin, per gate, in and out.

    ``counts[:, :, 0]`` are people, ``[:, :, 1 + mode]`` vehicles of each mode; bin ``b`` is the
    interval ``(b*dt - dt, b*dt]``.
    """

    in_bin: int
    in_counts: IntArray
    out_bin: int
    out_counts: IntArray

    @property
    def end_bin(self) -> int:
        """Last bin with a departure."""
        return self.out_bin + len(self.out_counts) - 1


def calendar_activity(days: IntArray, holiday: float, tet: float) -> FloatArray:
    """Return attendance per local day from the Vietnamese calendar (1, holidays, Tet, ramp)."""
    kinds = day_kinds(days)
    activity = kinds.ramp.copy()
    activity[kinds.holiday] = holiday
    activity[kinds.tet] = tet
    return activity


class GatesModel:
    """Gate traffic and access control for the whole park (see the module docstring)."""

    def __init__(self, spec: GatesSpec, seed: int, start_ms: int) -> None:
        self.spec = spec
        self.interval_s = spec.interval_s
        self.devices = tuple(DeviceSpec(g.gate_id, "gate", {"gate_kind": g.kind})
                             for g in spec.gates)
        self._seed = seed
        self._dt_ms = spec.interval_s * MS
        self._start_ms = start_ms
        self._next_ms: int | None = None
        self._cohorts: dict[tuple[int, int], _Cohort] = {}
        self._on_site = 0.0
        self._counts = device_rng(seed, _STREAM_ID, Stream.EVENT)
        self._detail = {kind: device_rng(seed, _STREAM_ID, Stream.EVENT, index + 1)
                        for index, kind in enumerate(_Kind)}
        # Trucks inside the park: departure ms, gate, plate, container flag, read-ok uniform.
        self._trucks: list[tuple[int, int, str, bool, float]] = []
        self._inject = device_rng(seed, _STREAM_ID, Stream.FAULT)
        self._injected: list[tuple[int, int, str, dict[str, EventValue]]] = []
        people = np.array([g.people_share for g in spec.gates])
        self._people_share = people / people.sum() if people.sum() > 0 else people
        trucks = np.array([g.truck_share for g in spec.gates])
        self._truck_share = trucks / trucks.sum() if trucks.sum() > 0 else trucks

    def inject_access_events(self, t_ms: int, gate: int, event: str, *, count: int = 1,
                             spread_s: float = 60.0) -> list[int]:
        """Schedule a burst of access-control exceptions at a gate (domain.md §6 F23).

        Args:
            t_ms: start of the burst [epoch ms], after the stepped time.
            gate: gate index, 0-based.
            event: one of ``door_forced``, ``door_held_open``, ``tailgating``,
                ``badge_denied`` (refusals also count in the ``badge_denied`` telemetry).
            count: events in the burst.
            spread_s: the burst's events fall uniformly over this many seconds.

        Returns:
            The instants of the events [epoch ms], sorted.
        """
        last = (self._start_ms if self._next_ms is None else self._next_ms) - self._dt_ms
        problems = []
        if not 0 <= gate < len(self.spec.gates):
            problems.append(f"gate {gate} is outside 0..{len(self.spec.gates) - 1}")
        if event not in INJECTABLE_EVENTS:
            problems.append(f"event {event!r} is not one of {', '.join(INJECTABLE_EVENTS)}")
        if count < 1 or spread_s < 0:
            problems.append(f"count = {count}, spread_s = {spread_s}: expected >= 1 and >= 0")
        if t_ms <= last:
            problems.append(f"burst at {t_ms} is not after the last stepped instant {last}")
        if problems:
            raise ValueError("; ".join(problems))
        # Every random detail is drawn now: when the events come out cannot depend on windows.
        u = self._inject.random((count, 5))
        lanes = self.spec.gates[gate].lanes
        instants = []
        for row in u.tolist():
            at = int(t_ms + row[0] * spread_s * MS)
            data: dict[str, EventValue]
            if event in ("door_forced", "door_held_open"):
                data = {"door": f"d{int(row[1] * lanes) + 1}"}
                if event == "door_held_open":
                    data["open_s"] = round(30.0 - 60.0 * math.log1p(-row[2]), 1)
            else:
                data = {"direction": _DIRECTIONS[int(row[3] * 2)],
                        "lane": int(row[1] * lanes) + 1}
                if event == "badge_denied":
                    data["badge_id"] = f"B{int(row[4] * self.spec.workforce):06d}"
                    data["reason"] = _DENY_REASONS[int(row[2] * len(_DENY_REASONS))]
            self._injected.append((at, gate, event, data))
            instants.append(at)
        self._injected.sort(key=lambda item: (item[0], item[1]))
        return sorted(instants)

    @property
    def workers_on_site(self) -> float:
        """People inside the park at the last stepped instant."""
        return self._on_site

    def step(self, t_ms: IntArray, *, day_activity: FloatArray | None = None) -> ModelOutput:
        """Advance over *t_ms* (consecutive instants of this model's grid).

        Args:
            t_ms: instants [epoch ms UTC], multiples of ``interval_s * 1000``.
            day_activity: attendance factor per step [1] (1 normal, lower on Sundays,
                holidays, Tet); a cohort takes the value at its first simulated step. None
                uses the Vietnamese calendar (public holidays, Tet, post-Tet ramp).

        Returns:
            One ``gate`` telemetry block, the access-control events and the coupling arrays
            ``workers_on_site`` and ``trucks_on_site`` [1].
        """
        steps = len(t_ms)
        ids = tuple(g.gate_id for g in self.spec.gates)
        if steps == 0:
            empty = {name: np.zeros((0, len(ids))) for name in _FIELDS}
            return ModelOutput((TelemetryBlock("gate", ids, t_ms, empty),), (),
                               {"workers_on_site": np.zeros(0), "trucks_on_site": np.zeros(0)})
        first = self._next_ms is None
        self._check_grid(t_ms)
        activity = as_float(day_activity, steps, math.nan)
        exposure = exposure_s(t_ms, self.interval_s, first_of_run=first)
        bins = t_ms // self._dt_ms
        people_in, people_out = self._worker_flow(t_ms, bins, activity, first=first)
        lt = local_time(t_ms, self.spec.timezone)
        truck_rate = self._truck_rate(lt.hod, lt.day)  # park-wide [1/s]
        gates = len(ids)
        # One Poisson draw per step for every count kind: time-major, split-safe.
        lam = np.concatenate([
            people_in[:, :, 0] * (self.spec.denied_share / (1 - self.spec.denied_share)),
            people_out[:, :, 0] * (self.spec.denied_share / (1 - self.spec.denied_share)),
            people_in[:, :, 0] * self.spec.tailgating_share,
            people_out[:, :, 0] * self.spec.tailgating_share,
            (truck_rate * exposure)[:, None] * self._truck_share[None, :],
            np.repeat(exposure[:, None], gates, axis=1) * (self.spec.held_open_per_day / 86_400),
            np.repeat(exposure[:, None], gates, axis=1) * (self.spec.forced_per_day / 86_400),
        ], axis=1)
        drawn = self._counts.poisson(lam)
        denied = drawn[:, : 2 * gates].reshape(steps, 2, gates).transpose(0, 2, 1)
        tailgate = np.minimum(drawn[:, 2 * gates: 4 * gates].reshape(steps, 2, gates)
                              .transpose(0, 2, 1),
                              np.stack([people_in[:, :, 0], people_out[:, :, 0]], axis=2))
        trucks_in = drawn[:, 4 * gates: 5 * gates]
        doors = drawn[:, 5 * gates:].reshape(steps, 2, gates)
        events: list[EventRecord] = []
        injected_denied = self._injected_events(t_ms, events)
        people = np.stack([people_in[:, :, 0], people_out[:, :, 0]], axis=2)
        self._badge_events(t_ms, people - tailgate, denied, tailgate, events)
        vehicles = np.stack([people_in[:, :, 2:], people_out[:, :, 2:]], axis=2)  # bus, car
        self._plate_events(t_ms, vehicles, events)
        trucks_out = self._truck_events(t_ms, trucks_in, events)
        self._door_events(t_ms, doors, events)
        values = {
            "people_in": people_in[:, :, 0], "people_out": people_out[:, :, 0],
            "motorbikes_in": people_in[:, :, 1], "motorbikes_out": people_out[:, :, 1],
            "cars_in": people_in[:, :, 3], "cars_out": people_out[:, :, 3],
            "buses_in": people_in[:, :, 2], "buses_out": people_out[:, :, 2],
            "trucks_in": trucks_in, "trucks_out": trucks_out,
            "badge_denied": denied.sum(axis=2) + injected_denied,
        }
        block = TelemetryBlock("gate", ids, t_ms,
                               {k: v.astype(np.float64) for k, v in values.items()})
        net = (people_in[:, :, 0] - people_out[:, :, 0]).sum(axis=1)
        on_site = self._on_site + np.cumsum(net)
        self._on_site = float(on_site[-1])
        truck_net = np.cumsum((trucks_in - trucks_out).sum(axis=1))
        trucks_series = len(self._trucks) - truck_net[-1] + truck_net
        self._next_ms = int(t_ms[-1]) + self._dt_ms
        events.sort(key=_ORDER)
        return ModelOutput((block,), tuple(events), {
            "workers_on_site": on_site.astype(np.float64),
            "trucks_on_site": trucks_series.astype(np.float64)})

    # -- workers -----------------------------------------------------------------------------

    def _injected_events(self, t_ms: IntArray, events: list[EventRecord]) -> IntArray:
        """Emit the scheduled bursts of this window; return injected refusals (steps, gates)."""
        denied = np.zeros((len(t_ms), len(self.spec.gates)), np.int64)
        while self._injected and self._injected[0][0] <= int(t_ms[-1]):
            at, gate, event, data = self._injected.pop(0)
            step = int(np.searchsorted(t_ms, at, side="left"))
            events.append(EventRecord(int(t_ms[step]), self.spec.gates[gate].gate_id, event,
                                      data))
            if event == "badge_denied":
                denied[step, gate] += 1
        return denied

    def _check_grid(self, t_ms: IntArray) -> None:
        if np.any(t_ms % self._dt_ms) or np.any(np.diff(t_ms) != self._dt_ms):
            msg = f"t_ms must be consecutive multiples of {self._dt_ms} ms"
            raise ValueError(msg)
        if self._next_ms is not None and int(t_ms[0]) != self._next_ms:
            msg = f"t_ms starts at {int(t_ms[0])}; expected {self._next_ms} (continue the run)"
            raise ValueError(msg)

    def _worker_flow(self, t_ms: IntArray, bins: IntArray, activity: FloatArray, *,
                     first: bool) -> tuple[IntArray, IntArray]:
        """Return people and vehicles (steps, gates, 1 + modes) coming in and going out."""
        lo, hi = int(bins[0]), int(bins[-1])
        shape = (len(bins), len(self.spec.gates), 1 + len(MODES))
        flow_in = np.zeros(shape, np.int64)
        flow_out = np.zeros(shape, np.int64)
        for key in self._candidates(t_ms):
            cohort = self._cohorts.get(key)
            if cohort is None:
                span = self._span_bins(*key)
                if span[1] < lo or span[0] > hi:
                    continue
                step = max(0, span[0] - lo)
                cohort = self._build(*key, activity=float(activity[step]))
                self._cohorts[key] = cohort
                if first:
                    # What happened before the run started is already inside the park.
                    upto_in = max(0, lo - cohort.in_bin + 1)
                    upto_out = max(0, lo - cohort.out_bin + 1)
                    self._on_site += float(cohort.in_counts[:upto_in, :, 0].sum()
                                           - cohort.out_counts[:upto_out, :, 0].sum())
            _add(flow_in, cohort.in_bin, cohort.in_counts, lo, first=first)
            _add(flow_out, cohort.out_bin, cohort.out_counts, lo, first=first)
        for key in [k for k, c in self._cohorts.items() if c.end_bin <= hi]:
            del self._cohorts[key]  # fully emitted: evicting keeps the table bounded
        return flow_in, flow_out

    def _candidates(self, t_ms: IntArray) -> list[tuple[int, int]]:
        days = local_time(np.array([t_ms[0], t_ms[-1]]), self.spec.timezone).day
        keys: list[tuple[int, int]] = []
        for day in range(int(days[0]) - 2, int(days[1]) + 2):
            weekday = (day + 3) % 7
            keys.extend((day, index) for index, shift in enumerate(self.spec.shifts)
                        if weekday in shift.days and shift.workers > 0)
        return keys

    def _windows_ms(self, day: int, index: int) -> tuple[float, float]:
        """Return the mean arrival and mean departure instants of a cohort [epoch ms]."""
        shift = self.spec.shifts[index]
        start = local_midnight_ms(day, self.spec.timezone) + shift.start_h * 3_600_000
        end = start + shift.length_h * 3_600_000
        return (start - self.spec.arrive_lead_min * 60_000,
                end + self.spec.depart_lag_min * 60_000)

    def _span_bins(self, day: int, index: int) -> tuple[int, int]:
        arrive, depart = self._windows_ms(day, index)
        half = self.spec.truncate_min * 60_000
        return (math.floor((arrive - half) / self._dt_ms) + 1,
                math.ceil((depart + half) / self._dt_ms))

    def _bin_probabilities(self, mean_ms: float, sigma_min: float) -> tuple[int, FloatArray]:
        """Return the first bin and the probability of each bin for one truncated normal."""
        half = self.spec.truncate_min * 60_000
        first = math.floor((mean_ms - half) / self._dt_ms) + 1
        last = math.ceil((mean_ms + half) / self._dt_ms)
        edges = np.arange(first - 1, last + 1, dtype=np.float64) * self._dt_ms
        edges = np.clip(edges, mean_ms - half, mean_ms + half)
        cdf = ndtr((edges - mean_ms) / (sigma_min * 60_000))
        p = np.diff(cdf)
        return first, p / p.sum()

    def _build(self, day: int, index: int, *, activity: float) -> _Cohort:
        """Draw one cohort: its size, gates, modes, vehicles and their instants."""
        spec = self.spec
        shift = spec.shifts[index]
        if math.isnan(activity):
            activity = float(calendar_activity(np.array([day]), spec.holiday_activity,
                                               spec.tet_activity)[0])
        rng = device_rng(self._seed, _STREAM_ID, Stream.DAY, day, index)
        arrive, depart = self._windows_ms(day, index)
        in_bin, p_in = self._bin_probabilities(arrive, spec.sigma_in_min)
        out_bin, p_out = self._bin_probabilities(depart, spec.sigma_out_min)
        gates = len(spec.gates)
        in_counts = np.zeros((len(p_in), gates, 1 + len(MODES)), np.int64)
        out_counts = np.zeros((len(p_out), gates, 1 + len(MODES)), np.int64)
        total = int(rng.poisson(shift.workers * max(activity, 0.0)))
        per_gate = rng.multinomial(total, self._people_share) if total else np.zeros(gates, int)
        for gate, n_gate in enumerate(per_gate.tolist()):
            per_mode = rng.multinomial(n_gate, spec.mode_share)
            for mode, n_mode in enumerate(per_mode.tolist()):
                loads = _vehicle_loads(rng, n_mode, spec.occupancy[mode], bus=mode == 1)
                if not len(loads):
                    continue
                at_in = rng.choice(len(p_in), size=len(loads), p=p_in)
                at_out = rng.choice(len(p_out), size=len(loads), p=p_out)
                for counts, at in ((in_counts, at_in), (out_counts, at_out)):
                    counts[:, gate, 0] += np.bincount(at, loads, len(counts)).astype(np.int64)
                    counts[:, gate, 1 + mode] += np.bincount(at, minlength=len(counts))
        return _Cohort(in_bin, in_counts, out_bin, out_counts)

    # -- trucks ------------------------------------------------------------------------------

    def _truck_rate(self, hod: FloatArray, day: IntArray) -> FloatArray:
        """Return the park-wide truck arrival rate per step [1/s]."""
        spec = self.spec
        unique, inverse = np.unique(day, return_inverse=True)
        kinds = day_kinds(unique)
        factor = np.ones(len(unique))
        factor[(kinds.dow == 6) | kinds.holiday] = spec.truck_sunday_factor
        factor[kinds.tet] = spec.truck_tet_factor
        daytime = (hod >= 6.0) & (hod < 22.0)
        per_h = np.where(daytime, spec.truck_day_per_h, spec.truck_night_per_h)
        return per_h * factor[inverse.reshape(day.shape)] / 3600.0

    def _truck_events(self, t_ms: IntArray, arrivals: IntArray,
                      events: list[EventRecord]) -> IntArray:
        """Emit truck arrivals and departures; return departures per (step, gate)."""
        spec = self.spec
        steps, gates = occurrences(arrivals)
        u = self._detail[_Kind.TRUCK].random((len(steps), 6))
        ts = stamp(t_ms, steps)
        dwell_ms = (spec.truck_dwell_median_min * 60_000
                    * np.exp(spec.truck_dwell_sigma * normal_quantile(u[:, 2])))
        for i in range(len(steps)):
            gate = int(gates[i])
            plate = _plate(u[i, 0], u[i, 1], "C")
            container = bool(u[i, 3] < spec.container_share)
            events.extend(self._truck_event(int(ts[i]), gate, plate, container, "in",
                                            read=float(u[i, 4])))
            self._trucks.append((int(ts[i] + dwell_ms[i]), gate, plate, container,
                                 float(u[i, 5])))
        departures = np.zeros_like(arrivals)
        last = int(t_ms[-1])
        leaving = sorted(tr for tr in self._trucks if tr[0] <= last)
        self._trucks = [tr for tr in self._trucks if tr[0] > last]
        for dep, gate, plate, container, read in leaving:
            step = int(np.searchsorted(t_ms, dep, side="left"))
            departures[step, gate] += 1
            events.extend(self._truck_event(int(t_ms[step]), gate, plate, container, "out",
                                            read=read))
        return departures

    def _truck_event(self, ts: int, gate: int, plate: str, container: bool,
                     direction: str, *, read: float) -> list[EventRecord]:
        """Return the plate event of one truck passing (none for a read in exceptions mode)."""
        gate_id = self.spec.gates[gate].gate_id
        data: dict[str, EventValue] = {"vehicle_class": "truck", "direction": direction,
                                       "container": container}
        if read >= self.spec.lpr_read_rate:
            return [EventRecord(ts, gate_id, "plate_unread", data)]
        if self.spec.events is EventDetail.ALL:
            return [EventRecord(ts, gate_id, "plate_read", {**data, "plate": plate})]
        return []

    # -- access-control events ---------------------------------------------------------------

    def _badge_events(self, t_ms: IntArray, granted: IntArray, denied: IntArray,
                      tailgate: IntArray, events: list[EventRecord]) -> None:
        """Emit badge reads, refusals and tailgating from (steps, gates, direction) counts."""
        spec = self.spec
        kinds: list[tuple[_Kind, str, IntArray]] = [(_Kind.DENIED, "badge_denied", denied),
                                                    (_Kind.TAILGATE, "tailgating", tailgate)]
        if spec.events is EventDetail.ALL:
            kinds.insert(0, (_Kind.BADGE, "badge_granted", granted))
        lanes = np.array([g.lanes for g in spec.gates])
        ids = np.array([g.gate_id for g in spec.gates], dtype=object)
        for kind, name, counts in kinds:
            steps, gates, directions = occurrences(counts)
            u = self._detail[kind].random((len(steps), 3))
            # Columns to plain lists first: per-element numpy indexing would cost more than
            # building the event itself.
            ts = stamp(t_ms, steps).tolist()
            device = ids[gates].tolist()
            direction = np.array(_DIRECTIONS, dtype=object)[directions].tolist()
            lane = ((u[:, 1] * lanes[gates]).astype(np.int64) + 1).tolist()
            if kind is _Kind.TAILGATE:
                events.extend(EventRecord(at, dev, name, {"direction": way, "lane": ln})
                              for at, dev, way, ln in zip(ts, device, direction, lane,
                                                          strict=True))
                continue
            badge = [f"B{b:06d}" for b in (u[:, 0] * spec.workforce).astype(np.int64).tolist()]
            if kind is _Kind.BADGE:
                events.extend(EventRecord(at, dev, name, {"direction": way, "lane": ln,
                                                          "badge_id": bid})
                              for at, dev, way, ln, bid in zip(ts, device, direction, lane,
                                                               badge, strict=True))
                continue
            reason = np.array(_DENY_REASONS, dtype=object)[
                (u[:, 2] * len(_DENY_REASONS)).astype(np.int64)].tolist()
            events.extend(EventRecord(at, dev, name, {"direction": way, "lane": ln,
                                                      "badge_id": bid, "reason": why})
                          for at, dev, way, ln, bid, why in zip(ts, device, direction, lane,
                                                                badge, reason, strict=True))

    def _plate_events(self, t_ms: IntArray, vehicles: IntArray,
                      events: list[EventRecord]) -> None:
        """Emit plate reads for buses and cars from (steps, gates, direction, class) counts."""
        steps, gates, directions, classes = occurrences(vehicles)
        u = self._detail[_Kind.PLATE].random((len(steps), 3))
        ts = stamp(t_ms, steps).tolist()
        for i, gate in enumerate(gates.tolist()):
            vehicle = ("bus", "car")[int(classes[i])]
            data: dict[str, EventValue] = {"vehicle_class": vehicle,
                                           "direction": _DIRECTIONS[int(directions[i])]}
            gate_id = self.spec.gates[gate].gate_id
            if u[i, 0] >= self.spec.lpr_read_rate:
                events.append(EventRecord(ts[i], gate_id, "plate_unread", data))
            elif self.spec.events is EventDetail.ALL:
                data["plate"] = _plate(u[i, 1], u[i, 2], "B" if vehicle == "bus" else "A")
                events.append(EventRecord(ts[i], gate_id, "plate_read", data))

    def _door_events(self, t_ms: IntArray, doors: IntArray, events: list[EventRecord]) -> None:
        """Emit door-held-open and door-forced events from (steps, kind, gates) counts."""
        steps, kinds, gates = occurrences(doors)
        u = self._detail[_Kind.DOOR].random((len(steps), 2))
        ts = stamp(t_ms, steps).tolist()
        for i, gate in enumerate(gates.tolist()):
            g = self.spec.gates[gate]
            data: dict[str, EventValue] = {"door": f"d{int(u[i, 0] * g.lanes) + 1}"}
            if kinds[i] == 0:
                # Held-open alarms fire after 30 s; how long beyond that is exponential.
                data["open_s"] = round(30.0 - 60.0 * math.log1p(-float(u[i, 1])), 1)
                events.append(EventRecord(ts[i], g.gate_id, "door_held_open", data))
            else:
                events.append(EventRecord(ts[i], g.gate_id, "door_forced", data))


_FIELDS = ("people_in", "people_out", "motorbikes_in", "motorbikes_out", "cars_in", "cars_out",
           "buses_in", "buses_out", "trucks_in", "trucks_out", "badge_denied")


def _add(window: IntArray, first_bin: int, counts: IntArray, lo: int, *, first: bool) -> None:
    """Add a cohort's per-bin counts to the window's (steps, gates, k) array."""
    begin = max(first_bin, lo + 1 if first else lo)
    end = min(first_bin + len(counts), lo + len(window))
    if begin < end:
        window[begin - lo: end - lo] += counts[begin - first_bin: end - first_bin]


def _vehicle_loads(rng: np.random.Generator, people: int, occupancy: float, *,
                   bus: bool) -> IntArray:
    """Return the people in each vehicle carrying *people* at a mean *occupancy*."""
    if people == 0:
        return np.zeros(0, np.int64)
    if bus:
        count = math.ceil(people / occupancy)
        return rng.multinomial(people, np.full(count, 1.0 / count)).astype(np.int64)
    # Vehicles carry one or two people; pairs make the mean occupancy.
    pairs = int(rng.binomial(people // 2, min(1.0, 2.0 * (1.0 - 1.0 / occupancy))))
    return np.concatenate([np.full(pairs, 2, np.int64), np.ones(people - 2 * pairs, np.int64)])


def _plate(u_number: float, u_province: float, series: str) -> str:
    """Return a Vietnamese-style number plate (``99A-123.45``) from two uniforms."""
    number = int(u_number * 100_000)
    province = _PROVINCES[int(u_province * len(_PROVINCES))]
    return f"{province}{series}-{number // 100:03d}.{number % 100:02d}"
