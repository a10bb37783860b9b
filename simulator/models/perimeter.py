"""Perimeter intrusion detection (PIDS): nuisance and false alarms per fence zone, zone health.

Alarm intensity per zone (domain.md §5.2, [A] on the weather coupling, [G3] for the ceilings)::

    lambda_zone = lambda_0 * (1 + 3 * rain_flag + 0.5 * wind_ms) + lambda_false

with ``lambda_0 = 1/30`` per day (the post-tuning nuisance ceiling of [G3]), ``rain_flag`` = rain
above 0.5 mm/h, and internal false alarms at ``lambda_false = 1/60`` per day (half the [G3]
ceiling of one per 30 days). Over 80 zones that is ~2.7 nuisance alarms a day when calm and ~20
in a rain storm with 8 m/s of wind. Counts per step are Poisson; each alarm latches the zone's
``alarm`` flag until the operator resets it (5 min [A]).

The zone processor reports what it senses, not why: ``alarm_class`` is its signature
classification (``disturbance``, ``climb``, ``cut``). Wind and rain mostly look like a
disturbance, animals and vegetation like a climb; an intrusion (injected by scenarios only,
:meth:`PerimeterModel.inject_intrusion`) looks like a climb or a cut and is usually followed by
an alarm in the adjacent zone 20-60 s later (§5.2). Telling them apart is the operator's job
(video assessment [G5]).

Health telemetry every 60 s: ``armed``, ``alarm``, ``signal_pct`` (highest sensor level in the
interval, percent of the alarm threshold; it rises with wind and rain), ``tamper`` and
``supply_ok``. The zone processors run on a UPS (2 h [A]); when a grid outage outlasts it they go
dark: disarmed, no signal, no alarms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from simulator.models.episodes import (
    DAY_S,
    MS,
    BoolArray,
    Episodes,
    FloatArray,
    IntArray,
    SupplyTracker,
    as_bool,
    as_float,
    exposure_s,
    occurrences,
    report_instants,
    stamp,
)
from simulator.models.output import DeviceSpec, EventRecord, EventValue, ModelOutput, TelemetryBlock
from simulator.rng import Stream, device_rng

#: Event order: time, then device (output.ModelOutput).
_ORDER = attrgetter("ts_ms", "device_id")
_STREAM_ID = "security.pids"
_SIDES = ("north", "east", "south", "west")
#: Signature classes a zone processor reports.
ALARM_CLASSES = ("disturbance", "climb", "cut")
# P(class) per cause [A]: wind/rain, animals/vegetation, internal, intrusion.
_CLASS_P = {
    "weather": (0.8, 0.2, 0.0),
    "wildlife": (0.5, 0.5, 0.0),
    "internal": (0.9, 0.1, 0.0),
    "intrusion": (0.0, 0.7, 0.3),
}


@dataclass(frozen=True, slots=True)
class PerimeterSpec:
    """PIDS parameters (domain.md §5.2; [A] unless cited).

    Attributes:
        zones: fence zones (80 of 100 m for the ~8 km fence of §0).
        zone_length_m: length of a zone [m].
        nuisance_per_day: calm-weather nuisance alarms per zone [1/d] ([G3] ceiling 1/30).
        rain_factor: extra nuisance intensity while raining, times nuisance_per_day [1].
        wind_factor: extra nuisance intensity per m/s of wind [s/m].
        rain_threshold_mm_h: rain above which rain_flag is 1 [mm/h].
        false_per_day: internal false alarms per zone [1/d] ([G3] ceiling 1/30).
        tamper_per_year: tamper detections per zone [1/a].
        tamper_median_min: median time to clear a tamper [min].
        reset_min: time the operator takes to reset a latched alarm [min].
        ups_runtime_min: UPS autonomy of the zone processors [min].
        signal_base_pct: calm, dry sensor level [% of threshold].
        signal_wind_pct: sensor level added per m/s of wind [%].
        signal_rain_pct: sensor level added while raining [%].
        signal_noise_pct: step-to-step noise of the level [%].
        interval_s: telemetry interval [s], a multiple of 10.
    """

    zones: int = 80
    zone_length_m: float = 100.0
    nuisance_per_day: float = 1.0 / 30.0
    rain_factor: float = 3.0
    wind_factor: float = 0.5
    rain_threshold_mm_h: float = 0.5
    false_per_day: float = 1.0 / 60.0
    tamper_per_year: float = 1.0
    tamper_median_min: float = 30.0
    reset_min: float = 5.0
    ups_runtime_min: float = 120.0
    signal_base_pct: float = 15.0
    signal_wind_pct: float = 4.0
    signal_rain_pct: float = 10.0
    signal_noise_pct: float = 3.0
    interval_s: int = 60

    def __post_init__(self) -> None:
        if self.zones < 2 or self.interval_s <= 0 or self.interval_s % 10:
            msg = (f"PerimeterSpec: zones = {self.zones}, interval_s = {self.interval_s}: "
                   "expected at least 2 zones and a positive multiple of 10 s")
            raise ValueError(msg)


class PerimeterModel:
    """The park's PIDS: one device per fence zone (see the module docstring)."""

    def __init__(self, spec: PerimeterSpec, seed: int, start_ms: int) -> None:
        self.spec = spec
        self.interval_s = spec.interval_s
        self.zone_ids = tuple(f"pids-z{k + 1:02d}" for k in range(spec.zones))
        self.devices = tuple(
            DeviceSpec(zone, "pids_zone", {"side": _SIDES[k * len(_SIDES) // spec.zones]})
            for k, zone in enumerate(self.zone_ids))
        self._start_ms = start_ms
        self._first = True
        self._counts = device_rng(seed, _STREAM_ID, Stream.EVENT)
        self._alarm_detail = device_rng(seed, _STREAM_ID, Stream.EVENT, 1)
        self._tamper_detail = device_rng(seed, _STREAM_ID, Stream.EVENT, 2)
        self._noise = device_rng(seed, _STREAM_ID, Stream.NOISE)
        self._inject = device_rng(seed, _STREAM_ID, Stream.FAULT)
        self._offset = device_rng(seed, _STREAM_ID, Stream.INIT).normal(0.0, 3.0, spec.zones)
        self._latch = Episodes.empty(spec.zones)
        self._tamper = Episodes.empty(spec.zones)
        self._supply = SupplyTracker()
        self._powered = True
        self._injected: list[tuple[int, int, float, float, float]] = []
        self._last_ms = start_ms - spec.interval_s * MS

    def inject_intrusion(self, t_ms: int, zone: int, *, adjacent_delay_s: float | None = None,
                         adjacent: bool = True) -> list[tuple[int, int]]:
        """Schedule a real intrusion: an alarm in *zone* at *t_ms*, then one next to it.

        Args:
            t_ms: instant of the first alarm [epoch ms]; must lie after the stepped time.
            zone: zone index, 0-based.
            adjacent_delay_s: delay of the adjacent-zone alarm [s]; None draws 20-60 s.
            adjacent: whether the intruder also trips the adjacent zone.

        Returns:
            The scheduled alarms as (epoch ms, zone index), for correlating other signals.
        """
        if not 0 <= zone < self.spec.zones:
            msg = f"zone {zone} is outside 0..{self.spec.zones - 1}"
            raise ValueError(msg)
        if t_ms <= self._last_ms:
            msg = f"intrusion at {t_ms} is not after the last stepped instant {self._last_ms}"
            raise ValueError(msg)
        # All of the intrusion's random details are drawn now, so that when the alarms are
        # emitted does not depend on how the run is split into windows.
        u = self._inject.random(8)
        scheduled = [(int(t_ms), zone)]
        if adjacent:
            delay = 20.0 + 40.0 * u[0] if adjacent_delay_s is None else adjacent_delay_s
            neighbour = (zone + (1 if u[1] < 0.5 else -1)) % self.spec.zones
            scheduled.append((int(t_ms + delay * MS), neighbour))
        for index, (at, where) in enumerate(scheduled):
            base = 2 + 3 * index
            self._injected.append((at, where, float(u[base]), float(u[base + 1]),
                                   float(u[base + 2])))
        self._injected.sort()
        return scheduled

    def step(self, t_ms: IntArray, *, rain_mm_h: FloatArray | None = None,
             wind_ms: FloatArray | None = None,
             grid_ok: BoolArray | None = None) -> ModelOutput:
        """Advance over *t_ms* (consecutive instants of this model's grid).

        Args:
            t_ms: instants [epoch ms UTC].
            rain_mm_h: rain intensity per step [mm/h]; None = dry.
            wind_ms: wind speed per step [m/s]; None = calm.
            grid_ok: mains supply present per step; None = always.

        Returns:
            One ``pids_zone`` block and the ``pids_alarm``/``pids_reset``/``pids_tamper``/
            ``pids_tamper_clear``/``pids_supply_lost``/``pids_supply_restored`` events.
        """
        spec = self.spec
        steps, zones = len(t_ms), spec.zones
        rain = as_float(rain_mm_h, steps, 0.0)
        wind = np.maximum(as_float(wind_ms, steps, 0.0), 0.0)
        grid = as_bool(grid_ok, steps, default=True)
        if steps == 0:
            return ModelOutput((TelemetryBlock("pids_zone", self.zone_ids, t_ms, {
                name: np.zeros((0, zones)) for name in _FIELDS}),))
        exposure = exposure_s(t_ms, self.interval_s, first_of_run=self._first)
        self._first = False
        powered = self._supply.outage_s(t_ms, grid) <= spec.ups_runtime_min * 60.0
        wet = (rain > spec.rain_threshold_mm_h).astype(np.float64)
        weather = spec.nuisance_per_day * (spec.rain_factor * wet + spec.wind_factor * wind)
        per_s = np.stack([np.full(steps, spec.nuisance_per_day), weather,
                          np.full(steps, spec.false_per_day),
                          np.full(steps, spec.tamper_per_year / 365.0)], axis=1) / DAY_S
        lam = (per_s * (exposure * powered)[:, None])[:, None, :].repeat(zones, axis=1)
        counts = self._counts.poisson(lam)  # (steps, zones, cause): one time-major draw
        noise = self._noise.standard_normal((steps, zones))
        level = (spec.signal_base_pct + spec.signal_wind_pct * wind + spec.signal_rain_pct * wet
                 )[:, None] + self._offset[None, :] + spec.signal_noise_pct * noise
        level = np.clip(level, 0.0, 95.0)
        events: list[EventRecord] = []
        self._latch.open_window()
        self._tamper.open_window()
        self._alarms(t_ms, counts, level, events)
        self._tampers(t_ms, counts[:, :, 3], events)
        latched = self._latch.mask(t_ms)
        events.extend(EventRecord(ts, self.zone_ids[z], "pids_reset")
                      for ts, z in self._latch.close_window(t_ms))
        events.extend(EventRecord(ts, self.zone_ids[z], "pids_tamper_clear")
                      for ts, z in self._tamper.close_window(t_ms))
        tampered = self._tamper.mask(t_ms)
        self._supply_events(t_ms, powered, events)
        on = powered[:, None].repeat(zones, axis=1)
        values = {
            "armed": on.astype(np.float64),
            "alarm": (latched & on).astype(np.float64),
            "signal_pct": np.where(on, level, 0.0),
            "tamper": (tampered & on).astype(np.float64),
            "supply_ok": on.astype(np.float64),
        }
        events.sort(key=_ORDER)
        self._last_ms = int(t_ms[-1])
        return ModelOutput((TelemetryBlock("pids_zone", self.zone_ids, t_ms, values),),
                           tuple(events))

    def _alarms(self, t_ms: IntArray, counts: IntArray, level: FloatArray,
                events: list[EventRecord]) -> None:
        """Emit spontaneous and injected alarms, latch them and lift the signal level."""
        steps, zones, causes = occurrences(counts[:, :, :3])
        u = self._alarm_detail.random((len(steps), 3))
        ts = stamp(t_ms, steps)
        kind = ("wildlife", "weather", "internal")
        found = [(int(ts[i]), int(zones[i]), kind[int(causes[i])], u[i, 0], u[i, 1], u[i, 2])
                 for i in range(len(steps))]
        last = int(t_ms[-1])
        while self._injected and self._injected[0][0] <= last:
            # Scheduled after the previous window (inject_intrusion checks), so inside this one.
            at, zone, u_class, u_pos, u_peak = self._injected.pop(0)
            reported = int(report_instants(t_ms, np.array([at]))[0])
            found.append((reported, zone, "intrusion", u_class, u_pos, u_peak))
        found.sort(key=lambda f: (f[0], f[1]))
        reset_ms = int(self.spec.reset_min * 60 * MS)
        for at, zone, cause, u_class, u_pos, u_peak in found:
            step = int(np.searchsorted(t_ms, at, side="left"))
            peak = 100.0 + 150.0 * float(u_peak)
            level[step, zone] = max(level[step, zone], peak)
            p = np.cumsum(_CLASS_P[cause])
            data: dict[str, EventValue] = {
                "alarm_class": ALARM_CLASSES[int(np.searchsorted(p, u_class, side="right"))],
                "position_m": round(float(u_pos) * self.spec.zone_length_m, 1),
                "signal_pct": round(peak, 1)}
            events.append(EventRecord(at, self.zone_ids[zone], "pids_alarm", data))
            self._latch.begin(at, zone, at + reset_ms)

    def _tampers(self, t_ms: IntArray, counts: IntArray, events: list[EventRecord]) -> None:
        steps, zones = occurrences(counts)
        u = self._tamper_detail.random(len(steps))
        ts = stamp(t_ms, steps)
        for i in range(len(steps)):
            zone = int(zones[i])
            # Exponential time to clear, with the configured median.
            duration = (self.spec.tamper_median_min * 60 * MS
                        * -math.log1p(-float(u[i])) / math.log(2.0))
            if self._tamper.begin(int(ts[i]), zone, int(ts[i] + duration)):
                events.append(EventRecord(int(ts[i]), self.zone_ids[zone], "pids_tamper"))

    def _supply_events(self, t_ms: IntArray, powered: BoolArray,
                       events: list[EventRecord]) -> None:
        previous = np.concatenate([[self._powered], powered[:-1]])
        for step in np.nonzero(previous != powered)[0].tolist():
            name = "pids_supply_restored" if powered[step] else "pids_supply_lost"
            events.extend(EventRecord(int(t_ms[step]), zone, name) for zone in self.zone_ids)
        self._powered = bool(powered[-1])


_FIELDS = ("armed", "alarm", "signal_pct", "tamper", "supply_ok")
