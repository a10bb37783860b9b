"""Fire-alarm panels: false alarms, pre-alarms, faults, disablements, supervisory, power.

Each tenant has one addressable panel and the common areas five more (domain.md §0: 65 panels,
about 15,000 detector heads). Conditions start as Poisson processes per panel and last a
log-normal time (all rates [A] except the false-alarm benchmark):

* false fire alarms: ``rate = heads * r / 1000`` per year with ``r`` = 24.3, so ~1 a day
  park-wide, the figure for modern multi-sensor systems; 65 (~2.7 a day) is the benchmark
  upper bound of [F1] (§5.4). Half are preceded by a pre-alarm (reported with the alarm,
  just before it); the alarm stays until staff reset the panel (median 15 min);
* pre-alarms that do not escalate (one per false alarm), clearing by themselves in 1-3 min;
* faults (loop open/short, dirty detector, earth fault) 6 per panel-year, median 4 h;
* disablements (maintenance, hot work) 12 per panel-year, median 4 h;
* supervisory (sprinkler valve, pump) 4 per panel-year, median 30 min;
* battery low (ageing battery) 0.5 per panel-year, median 72 h until replaced.

Real fires are not spontaneous: :meth:`FireModel.inject_fire` schedules one (pre-alarm, smoke
alarm, heat alarm, sprinkler flow). Panels keep their standby battery (24 V, 24 h [A]) through a
grid outage: ``power_fail`` at once, ``battery_low`` when the voltage falls below 22.8 V.

Telemetry every 60 s: ``state`` (:class:`parkwire.assets.security.FirePanelState`, the most
severe active condition), counts of active alarms, faults and disablements, the installed
detector count, ``mains_ok``, ``battery_ok`` and ``v_battery``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter

import numpy as np

from parkwire.assets.security import FirePanelState
from simulator.models.episodes import (
    DAY_S,
    MS,
    BoolArray,
    Episodes,
    FloatArray,
    IntArray,
    SupplyTracker,
    as_bool,
    exposure_s,
    normal_quantile,
    occurrences,
    report_instants,
    stamp,
)
from simulator.models.output import DeviceSpec, EventRecord, EventValue, ModelOutput, TelemetryBlock
from simulator.rng import Stream, device_rng

#: Event order: time, then device (output.ModelOutput).
_ORDER = attrgetter("ts_ms", "device_id")
_STREAM_ID = "fire.panels"
_DETECTORS = ("smoke", "heat", "multi", "call_point")
_DETECTOR_P = (0.45, 0.15, 0.3, 0.1)
_FIELDS = ("state", "alarms_active", "faults_active", "disablements_active", "detectors",
           "mains_ok", "battery_ok", "v_battery")
_FAULTS = ("loop_open", "loop_short", "detector_dirty", "earth_fault")
_CONDITIONS = ("sprinkler_valve", "fire_pump", "tank_level")


def default_tenant_ids() -> tuple[str, ...]:
    """Return the reference park's tenant ids, ``t001`` to ``t060``."""
    return tuple(f"t{k:03d}" for k in range(1, 61))


@dataclass(frozen=True, slots=True)
class FireSpec:
    """Fire-alarm parameters (domain.md §0 and §5.4; [A] unless cited).

    Attributes:
        tenant_ids: one panel per tenant.
        common_panels: panels of the common areas (offices, WWTP, substation...).
        detectors: detector heads park-wide [1].
        detector_spread: log-normal sigma of heads per panel [1].
        false_alarms_per_1000_heads_year: false alarms [1/a per 1000 heads] ([F1]: 65 is
            the upper bound; 24.3 gives ~1 a day park-wide).
        pre_alarm_share: share of false alarms preceded by a pre-alarm [1].
        lone_pre_alarm_ratio: pre-alarms that do not escalate, per false alarm [1].
        reset_median_min: median time before staff reset an alarm [min].
        faults_per_year: fault conditions per panel [1/a].
        fault_median_h: median fault duration [h].
        disablements_per_year: disablements per panel [1/a].
        disablement_median_h: median disablement [h].
        supervisory_per_year: supervisory conditions per panel [1/a].
        supervisory_median_min: median supervisory duration [min].
        battery_low_per_year: ageing-battery alarms per panel [1/a].
        battery_median_h: median time to replace a battery [h].
        float_v: battery voltage on mains (24 V lead-acid float) [V].
        standby_h: battery autonomy (the voltage reaches 21 V) [h].
        low_v: battery-low threshold [V].
        interval_s: telemetry interval [s], a multiple of 10.
    """

    tenant_ids: tuple[str, ...] = field(default_factory=default_tenant_ids)
    common_panels: int = 5
    detectors: int = 15_000
    detector_spread: float = 0.5
    false_alarms_per_1000_heads_year: float = 24.3
    pre_alarm_share: float = 0.5
    lone_pre_alarm_ratio: float = 1.0
    reset_median_min: float = 15.0
    faults_per_year: float = 6.0
    fault_median_h: float = 4.0
    disablements_per_year: float = 12.0
    disablement_median_h: float = 4.0
    supervisory_per_year: float = 4.0
    supervisory_median_min: float = 30.0
    battery_low_per_year: float = 0.5
    battery_median_h: float = 72.0
    float_v: float = 27.3
    standby_h: float = 24.0
    low_v: float = 22.8
    interval_s: int = 60

    def __post_init__(self) -> None:
        if len(self.tenant_ids) + self.common_panels < 1 or self.detectors < 1:
            msg = "FireSpec: expected at least one panel and one detector"
            raise ValueError(msg)
        if self.interval_s <= 0 or self.interval_s % 10:
            msg = f"FireSpec: interval_s = {self.interval_s}: expected a positive multiple of 10"
            raise ValueError(msg)


# Condition kinds, in the column order of the count draw.
_ALARM, _PRE, _FAULT, _DISABLE, _SUPERVISORY, _BATTERY = range(6)
# Order of kinds starting on the same step (pre-alarm before alarm).
_SEQUENCE = (1, 0, 2, 3, 4, 5)


class FireModel:
    """The park's fire-alarm panels (see the module docstring)."""

    def __init__(self, spec: FireSpec, seed: int, start_ms: int) -> None:
        self.spec = spec
        self.interval_s = spec.interval_s
        devices = [DeviceSpec(f"fap-{t}", "fire_panel", {"tenant_id": t, "area": "tenant"})
                   for t in spec.tenant_ids]
        devices += [DeviceSpec(f"fap-c{k + 1:02d}", "fire_panel", {"area": "common"})
                    for k in range(spec.common_panels)]
        self.devices = tuple(devices)
        self.panel_ids = tuple(d.device_id for d in devices)
        n = len(devices)
        init = device_rng(seed, _STREAM_ID, Stream.INIT)
        weights = np.exp(spec.detector_spread * init.standard_normal(n))
        heads = np.floor(spec.detectors * weights / weights.sum())
        heads[np.argsort(-(spec.detectors * weights / weights.sum() - heads))[
            : spec.detectors - int(heads.sum())]] += 1  # largest remainders: exact total
        self.heads = heads.astype(np.int64)
        self._counts = device_rng(seed, _STREAM_ID, Stream.EVENT)
        self._detail = [device_rng(seed, _STREAM_ID, Stream.EVENT, k + 1) for k in range(6)]
        self._inject = device_rng(seed, _STREAM_ID, Stream.FAULT)
        self._noise = device_rng(seed, _STREAM_ID, Stream.NOISE)
        self._episodes = [Episodes.empty(n) for _ in range(6)]
        self._points = np.zeros(n, np.int64)
        self._first = True
        self._supply = SupplyTracker()
        self._mains = True
        self._battery_ok = np.ones(n, dtype=bool)
        self._last_ms = start_ms - spec.interval_s * MS
        self._injected: list[tuple[int, int, int, dict[str, EventValue], int]] = []

    def inject_fire(self, t_ms: int, panel: int) -> list[tuple[int, str]]:
        """Schedule a real fire on *panel*: pre-alarm, smoke alarm, heat alarm, sprinkler flow.

        Args:
            t_ms: instant of the first sign (smoke pre-alarm) [epoch ms]; after stepped time.
            panel: panel index, 0-based (tenants first, then common areas).

        Returns:
            The scheduled (epoch ms, event type) sequence.
        """
        if not 0 <= panel < len(self.devices):
            msg = f"panel {panel} is outside 0..{len(self.devices) - 1}"
            raise ValueError(msg)
        if t_ms <= self._last_ms:
            msg = f"fire at {t_ms} is not after the last stepped instant {self._last_ms}"
            raise ValueError(msg)
        u = self._inject.random(4)
        zone, loop = 1 + int(u[0] * 8), 1 + int(u[1] * 4)
        device = 1 + int(u[2] * 120)
        hold = 2 * 3_600_000  # the fire brigade hands the panel back after ~2 h [A]
        plan: list[tuple[int, int, dict[str, EventValue], int]] = [
            (0, _PRE, {"zone": zone, "loop": loop, "device": device, "detector": "smoke",
                       "level_pct": 80.0}, 3 * 60_000),
            (30_000, _ALARM, {"zone": zone, "loop": loop, "device": device,
                              "detector": "smoke"}, hold),
            (120_000 + int(u[3] * 60_000), _ALARM, {"zone": zone, "loop": loop,
                                                    "device": device + 1, "detector": "heat"},
             hold),
            (240_000, _SUPERVISORY, {"condition": "sprinkler_flow"}, hold),
        ]
        for offset, kind, data, duration in plan:
            self._injected.append((int(t_ms) + offset, panel, kind, data, duration))
        self._injected.sort(key=lambda item: (item[0], item[1], item[2]))
        return [(int(t_ms) + offset, _NAMES[kind][0]) for offset, kind, _, _ in plan]

    def step(self, t_ms: IntArray, *, grid_ok: BoolArray | None = None) -> ModelOutput:
        """Advance over *t_ms* (consecutive instants of this model's grid).

        Args:
            t_ms: instants [epoch ms UTC].
            grid_ok: mains supply present per step; None = always.

        Returns:
            One ``fire_panel`` block and the panel events.
        """
        spec = self.spec
        steps, n = len(t_ms), len(self.devices)
        if steps == 0:
            return ModelOutput((TelemetryBlock("fire_panel", self.panel_ids, t_ms, {
                name: np.zeros((0, n)) for name in _FIELDS}),))
        grid = as_bool(grid_ok, steps, default=True)
        exposure = exposure_s(t_ms, self.interval_s, first_of_run=self._first)
        self._first = False
        false_per_s = self.heads * spec.false_alarms_per_1000_heads_year / 1000.0 / 365.0 / DAY_S
        per_year = np.array([spec.faults_per_year, spec.disablements_per_year,
                             spec.supervisory_per_year, spec.battery_low_per_year])
        rates = np.concatenate([
            np.stack([false_per_s, false_per_s * spec.lone_pre_alarm_ratio], axis=1),
            np.repeat((per_year / 365.0 / DAY_S)[None, :], n, axis=0)], axis=1)  # (n, 6)
        counts = self._counts.poisson(exposure[:, None, None] * rates[None, :, :])
        events: list[EventRecord] = []
        for tracker in self._episodes:
            tracker.open_window()
        self._start_conditions(t_ms, counts, events)
        masks = [tracker.mask(t_ms) for tracker in self._episodes]
        for kind, tracker in enumerate(self._episodes):
            ended = tracker.close_window(t_ms)
            if _NAMES[kind][1]:
                events.extend(EventRecord(ts, self.panel_ids[p], _NAMES[kind][1])
                              for ts, p in ended)
        outage_h = self._supply.outage_s(t_ms, grid) / 3600.0
        v_level = self._battery_voltage(outage_h, masks[_BATTERY])
        # The panel judges the battery on its smoothed voltage: no flicker at the threshold.
        battery_ok = (v_level >= spec.low_v) & ~masks[_BATTERY]
        v_battery = v_level + 0.03 * self._noise.standard_normal((steps, n))
        self._power_events(t_ms, grid, battery_ok, events)
        mains = np.repeat(grid[:, None], n, axis=1)
        state = np.full((steps, n), float(FirePanelState.NORMAL))
        for flag, code in ((masks[_DISABLE], FirePanelState.DISABLEMENT),
                           (~mains, FirePanelState.POWER_FAIL),
                           (masks[_FAULT] | ~battery_ok, FirePanelState.FAULT),
                           (masks[_SUPERVISORY], FirePanelState.SUPERVISORY),
                           (masks[_PRE], FirePanelState.PRE_ALARM),
                           (masks[_ALARM], FirePanelState.FIRE_ALARM)):
            state[flag] = float(code)
        values = {
            "state": state,
            "alarms_active": masks[_ALARM].astype(np.float64) + masks[_PRE],
            "faults_active": masks[_FAULT].astype(np.float64) + ~battery_ok,
            "disablements_active": np.where(masks[_DISABLE], self._points[None, :], 0),
            "detectors": np.repeat(self.heads[None, :], steps, axis=0),
            "mains_ok": mains,
            "battery_ok": battery_ok,
            "v_battery": v_battery,
        }
        self._last_ms = int(t_ms[-1])
        events.sort(key=_ORDER)
        block = TelemetryBlock("fire_panel", self.panel_ids, t_ms,
                               {k: np.asarray(v, dtype=np.float64) for k, v in values.items()})
        return ModelOutput((block,), tuple(events))

    def _start_conditions(self, t_ms: IntArray, counts: IntArray,
                          events: list[EventRecord]) -> None:
        """Start the drawn (and the injected) conditions in time order and emit their events."""
        spec = self.spec
        steps, panels, kinds = occurrences(counts)
        starts: list[tuple[int, int, int, dict[str, EventValue], int]] = []
        medians_ms = (spec.reset_median_min * 60_000, 120_000.0, spec.fault_median_h * 3.6e6,
                      spec.disablement_median_h * 3.6e6, spec.supervisory_median_min * 60_000,
                      spec.battery_median_h * 3.6e6)
        for kind in range(6):
            pick = kinds == kind
            u = self._detail[kind].random((int(pick.sum()), 6))
            ts = stamp(t_ms, steps[pick])
            lasts = medians_ms[kind] * np.exp(0.7 * normal_quantile(u[:, 0]))
            for i, panel in enumerate(panels[pick].tolist()):
                data = _details(kind, u[i, 1:5])
                if kind == _ALARM and u[i, 5] < spec.pre_alarm_share:
                    # The detector crossed its warning level seconds before alarming; both are
                    # reported at the step, the pre-alarm first.
                    starts.append((int(ts[i]), panel, _PRE, {**data, "level_pct": 75.0}, 90_000))
                starts.append((int(ts[i]), panel, kind, data, int(lasts[i])))
        while self._injected and self._injected[0][0] <= int(t_ms[-1]):
            # Scheduled after the previous window (inject_fire checks), so inside this one.
            at, panel, kind, data, duration = self._injected.pop(0)
            reported = int(report_instants(t_ms, np.array([at]))[0])
            starts.append((reported, panel, kind, data, duration))
        # A pre-alarm goes before the alarm it announces when both fall on one step.
        starts.sort(key=lambda s: (s[0], s[1], _SEQUENCE[s[2]]))
        for ts_ms, panel, kind, data, duration in starts:
            if kind == _DISABLE and not self._episodes[kind].busy(ts_ms, panel):
                self._points[panel] = int(data["points"])
            started = self._episodes[kind].begin(ts_ms, panel, ts_ms + duration)
            if (started or kind == _ALARM) and _NAMES[kind][0]:
                events.append(EventRecord(ts_ms, self.panel_ids[panel], _NAMES[kind][0], data))

    def _battery_voltage(self, outage_h: FloatArray, ageing: BoolArray) -> FloatArray:
        """Float voltage on mains; a linear discharge to 21 V over the standby time on battery."""
        spec = self.spec
        on_battery = 25.6 - (25.6 - 21.0) * outage_h / spec.standby_h
        v = np.where(outage_h[:, None] > 0, np.maximum(on_battery, 18.0)[:, None],
                     spec.float_v) + np.zeros(ageing.shape)
        # An aged battery holds its float voltage but sags as soon as it carries the load.
        return np.where(ageing & (outage_h[:, None] > 0), v - 2.0, v)

    def _power_events(self, t_ms: IntArray, grid: BoolArray, battery_ok: BoolArray,
                      events: list[EventRecord]) -> None:
        """Emit power_fail/power_restored and battery_low/battery_ok on changes."""
        previous = np.concatenate([[self._mains], grid[:-1]])
        for step in np.nonzero(previous != grid)[0].tolist():
            name = "power_restored" if grid[step] else "power_fail"
            events.extend(EventRecord(int(t_ms[step]), p, name) for p in self.panel_ids)
        self._mains = bool(grid[-1])
        stacked = np.vstack([self._battery_ok[None, :], battery_ok])
        steps, panels = np.nonzero(stacked[1:] != stacked[:-1])
        events.extend(EventRecord(int(t_ms[s]), self.panel_ids[p],
                                  "battery_ok" if battery_ok[s, p] else "battery_low")
                      for s, p in zip(steps.tolist(), panels.tolist(), strict=True))
        self._battery_ok = battery_ok[-1].copy()


#: Start and end event names per condition kind.
_NAMES = (("fire_alarm", "alarm_reset"), ("pre_alarm", "pre_alarm_cleared"),
          ("fault", "fault_cleared"), ("disablement", "disablement_ended"),
          ("supervisory", "supervisory_cleared"), ("", ""))
# The ageing-battery condition is reported through battery_low / battery_ok, like a discharge.


def _details(kind: int, u: FloatArray) -> dict[str, EventValue]:
    """Return an event's data from uniforms (zone, loop, device or what the condition is)."""
    if kind in (_ALARM, _PRE):
        detector = _DETECTORS[int(np.searchsorted(np.cumsum(_DETECTOR_P), u[0] * 0.999999))]
        data: dict[str, EventValue] = {"zone": 1 + int(u[1] * 8), "loop": 1 + int(u[2] * 4),
                                       "device": 1 + int(u[3] * 120), "detector": detector}
        if kind == _PRE:
            data["level_pct"] = round(60.0 + 35.0 * float(u[0]), 1)
        return data
    if kind == _FAULT:
        return {"fault": _FAULTS[int(u[0] * len(_FAULTS))], "loop": 1 + int(u[1] * 4)}
    if kind == _DISABLE:
        return {"points": 1 + int(u[0] * 20), "zone": 1 + int(u[1] * 8)}
    if kind == _SUPERVISORY:
        return {"condition": _CONDITIONS[int(u[0] * len(_CONDITIONS))]}
    return {"reason": "load_test_failed"}
