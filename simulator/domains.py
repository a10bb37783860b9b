"""The engine's adapters from a scenario to the domain models, and the couplings between them.

Each adapter ("part") builds one domain's model from the scenario's section, picks the
instants of the window that lie on the model's own grid, hands it the drivers it needs from
the rest of the park, and returns what the rest of the park needs from it:

* weather drives solar (irradiance, temperature), the plant (rain, air temperature) and
  security (rain, wind, air temperature);
* the tenants' gross load drives zero-export curtailment of their rooftop PV, and their
  day-level production (the same load equation with each day's mean shape) the plant's inflow;
* rooftop PV lowers the tenants' metered import; the plant's load is metered on its feeder;
* the feeders' supply trips inverters (on the roof's tenant feeder), stops the plant (on its
  feeder) and puts security systems on battery (on the common-load feeder).

Values a model reports on a coarser grid than the meters' are held (zero-order) on the
meters' grid, carrying the last value across windows.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulator.calendar import LocalTime
from simulator.models import load
from simulator.models.cctv import CctvSpec
from simulator.models.fire import FireSpec
from simulator.models.gates import Gate, GatesSpec, default_gates, default_shifts
from simulator.models.output import DeviceSpec, EventRecord, ModelOutput, TelemetryBlock
from simulator.models.perimeter import PerimeterSpec
from simulator.models.security import SecurityModel, SecuritySpec
from simulator.models.solar import SolarModel
from simulator.models.solar_fleet import MetStationSpec, RoofSpec, SolarSpec, default_fleet
from simulator.models.weather import Weather, WeatherModel, WeatherSpec
from simulator.models.weather_climate import region_climate
from simulator.models.wwtp import WwtpModel, WwtpSpec
from simulator.rng import Stream, device_rng
from simulator.scenario import SHIFT_PATTERNS, Scenario
from simulator.scenario.scale import block_id

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Fire detector heads per fire-alarm panel in the reference park (15,000 / 65) [1].
DETECTORS_PER_PANEL = 15_000 / 65


@dataclass(frozen=True, slots=True)
class Context:
    """What one window's parts can read.

    Attributes:
        t_ms: the window's steps on the meters' grid [ms since epoch, UTC], (n,).
        when: local time of each step.
        p_gross: tenants' load before rooftop PV [kW], (n, tenants).
        p_daily: tenants' mean load over each step's day, without noise [kW], (n, tenants).
        supply_ok: each feeder's supply, (n, feeders).
        weather: the park weather at every step, or None when no part needs it.
    """

    t_ms: IntArray
    when: LocalTime
    p_gross: FloatArray
    p_daily: FloatArray
    supply_ok: BoolArray
    weather: Weather | None


@dataclass(frozen=True, slots=True)
class PartResult:
    """One part's contribution to a window.

    Attributes:
        output: the model's telemetry and events.
        pv_kw: rooftop PV delivered behind each tenant's meter on the meters' grid [kW],
            (n, tenants), or None.
        extra_kw: load of extra LV meters on the meters' grid, by meter id [kW], (n,).
    """

    output: ModelOutput
    pv_kw: FloatArray | None = None
    extra_kw: dict[str, FloatArray] = dataclasses.field(default_factory=dict)


def grid_rows(t_ms: IntArray, interval_s: int) -> IntArray:
    """Return the indices of the steps that fall on a model's own *interval_s* grid."""
    rows: IntArray = np.flatnonzero(t_ms % (interval_s * 1000) == 0).astype(np.int64)
    return rows


class Hold:
    """Zero-order hold of a coarse series onto the meters' grid, across windows.

    Before the very first sample (a run starting between two instants of the coarse grid)
    the first sample is used: the only place where the hold looks ahead.

    Args:
        channels: number of series held side by side.
    """

    def __init__(self, channels: int) -> None:
        self._last: FloatArray | None = None
        self._channels = channels

    def prime(self, values: FloatArray) -> None:
        """Set the value(s) in force before the first sample."""
        self._last = np.asarray(values, dtype=np.float64).copy()

    def __call__(self, rows: IntArray, values: FloatArray, steps: int) -> FloatArray:
        """Spread *values* (k, c) sampled at *rows* over *steps* steps, shape (steps, c)."""
        values = values.reshape(len(rows), self._channels)
        last = self._last
        if last is None:
            last = values[0] if len(values) else np.zeros(self._channels)
        filled = np.vstack([last[np.newaxis], values])
        index = np.searchsorted(rows, np.arange(steps), side="right")
        if len(values):
            self._last = values[-1].copy()
        elif self._last is None:
            return np.zeros((steps, self._channels))
        held: FloatArray = filled[index]
        return held


def production_normal(scenario: Scenario, members: Sequence[int]) -> float:
    """Return the mean load [kW] of tenants *members* on an ordinary weekday, without noise.

    The park's production index is the tenants' gross load divided by this, so 1 means a
    normal weekday's mean production.
    """
    hod = np.arange(0.0, 24.0, 0.25)
    weekday = np.full(hod.shape, 1, dtype=np.int64)  # a Tuesday
    total = 0.0
    for j in members:
        tenant = scenario.tenants[j]
        shape = load.shift_shape(hod, weekday, SHIFT_PATTERNS[tenant.shift])
        level = tenant.base + (1.0 - tenant.base) * shape
        total += tenant.peak_kw * load.CONTRACT_UTILISATION * float(level.mean())
    return max(total, 1.0)


def _blocks(scenario: Scenario) -> list[list[int]]:
    """Tenant indices of each block of a (possibly scaled) park."""
    per_block = len(scenario.tenants) // scenario.scale
    return [list(range(b * per_block, (b + 1) * per_block)) for b in range(scenario.scale)]


class SolarPart:
    """Rooftop PV: the reference fleet laid on each block's tenants, one met station per block.

    Args:
        scenario: the park (with a ``[solar]`` section).
        seed: master seed.
        start_ms: first step.
    """

    def __init__(self, scenario: Scenario, seed: int, start_ms: int) -> None:
        solar = scenario.solar
        if solar is None:
            msg = "the scenario has no [solar] section"
            raise ValueError(msg)
        k = scenario.scale
        roofs: list[RoofSpec] = []
        stations: list[MetStationSpec] = []
        for b, members in enumerate(_blocks(scenario)):
            ids = [scenario.tenants[j].id for j in members]
            roofs += default_fleet(ids, total_kwp=solar.fleet_kwp / k,
                                   n_roofs=max(1, solar.roofs // k))
            stations.append(MetStationSpec(block_id("met-01", b)))
        spec = SolarSpec(park_id=scenario.park.id, roofs=tuple(roofs), stations=tuple(stations),
                         interval_s=solar.interval_s)
        self.model = SolarModel(spec, seed, start_ms, timezone=scenario.site.timezone,
                                rainy_months=region_climate(scenario.site.region).rainy_months)
        self.devices: tuple[DeviceSpec, ...] = self.model.devices
        self.interval_s = solar.interval_s
        tenant_index = {t.id: j for j, t in enumerate(scenario.tenants)}
        feeder_index = {f.id: i for i, f in enumerate(scenario.energy.feeders)}
        self._roof_tenant = np.array([tenant_index[r.tenant_id] for r in roofs], dtype=np.int64)
        self._roof_feeder = np.array([feeder_index[scenario.tenants[j].feeder]
                                      for j in self._roof_tenant.tolist()], dtype=np.int64)
        # Roof-to-tenant incidence: a tenant's PV is the sum of its roofs' output.
        self._to_tenant = np.zeros((len(roofs), len(scenario.tenants)))
        self._to_tenant[np.arange(len(roofs)), self._roof_tenant] = 1.0
        self._hold = Hold(len(roofs))

    def step(self, ctx: Context) -> PartResult:
        """Step the fleet; return its telemetry and the PV behind each tenant's meter."""
        if ctx.weather is None:
            msg = "solar needs the weather"
            raise ValueError(msg)
        rows = grid_rows(ctx.t_ms, self.interval_s)
        out = self.model.step(
            ctx.t_ms[rows], weather=ctx.weather.rows(rows),
            tenant_load_kw=ctx.p_gross[rows][:, self._roof_tenant],
            grid_ok=ctx.supply_ok[rows][:, self._roof_feeder])
        roof_kw = self._hold(rows, out.coupling["pv_ac_kw"], len(ctx.t_ms))
        return PartResult(out, pv_kw=roof_kw @ self._to_tenant)


class WaterPart:
    """The central wastewater plant(s): one per block, each metered on its own feeder.

    Args:
        scenario: the park (with a ``[water]`` section).
        seed: master seed.
        start_ms: first step.
    """

    def __init__(self, scenario: Scenario, seed: int, start_ms: int) -> None:
        water = scenario.water
        if water is None:
            msg = "the scenario has no [water] section"
            raise ValueError(msg)
        feeder_index = {f.id: i for i, f in enumerate(scenario.energy.feeders)}
        interval_ms = WwtpModel.interval_s * 1000
        # The plants start on their own grid at or before the run's start; an instant before
        # the start is simulated for its load only (so the plants' meters have a value from
        # the first step, whatever the split into windows) and is not reported.
        self._anchor: int | None = start_ms - start_ms % interval_ms
        self.models: list[WwtpModel] = []
        self.meter_ids: list[str] = []
        self._members: list[IntArray] = []
        self._normal: list[float] = []
        self._feeder: list[int] = []
        for b, members in enumerate(_blocks(scenario)):
            spec = WwtpSpec(plant_id=block_id("wwtp", b), timezone=scenario.site.timezone,
                            q_design_m3d=water.design_m3d, standard=water.standard,
                            column=water.column, kq=water.kq, kf=water.kf)
            self.models.append(WwtpModel(spec, seed, self._anchor))
            self.meter_ids.append(block_id("mtr-wwtp", b))
            self._members.append(np.array(members, dtype=np.int64))
            self._normal.append(production_normal(scenario, members))
            self._feeder.append(feeder_index[water.feeders[b]])
        self.devices: tuple[DeviceSpec, ...] = tuple(d for m in self.models for d in m.devices)
        self.interval_s = self.models[0].interval_s
        self._hold = Hold(len(self.models))
        # Activated sludge uses about 0.3-0.6 kWh per m3 treated: 12,000 m3/d at 0.45 kWh/m3
        # is 225 kW on average; the meter's reference load leaves room for peaks [A].
        self.rating_kw = water.design_m3d * 0.05

    def step(self, ctx: Context) -> PartResult:
        """Step every plant; return their telemetry and their meters' load."""
        if ctx.weather is None:
            msg = "the wastewater plant needs the weather"
            raise ValueError(msg)
        rows = grid_rows(ctx.t_ms, self.interval_s)
        t = ctx.t_ms[rows]
        # Drivers at the model's instants; a pre-start anchor takes the first step's.
        source = rows
        if self._anchor is not None and (not len(t) or self._anchor < t[0]):
            t = np.concatenate([[self._anchor], t]).astype(np.int64)
            source = np.concatenate([[0], rows]).astype(np.int64)
        first = int(ctx.t_ms[0])
        self._anchor = None
        # The day's production level, not the instantaneous load: the plant's own diurnal
        # flow shape already carries the shift and canteen rhythm (wastewater.md).
        p_rows = ctx.p_daily[source]
        telemetry: list[TelemetryBlock] = []
        events: list[EventRecord] = []
        loads: list[FloatArray] = []
        inflows: list[FloatArray] = []
        for b, model in enumerate(self.models):
            production = p_rows[:, self._members[b]].sum(axis=1) / self._normal[b]
            out = model.step(t, production=production,
                             rain_mm_h=ctx.weather.rain_mm_h[source],
                             t_air_c=ctx.weather.t_air_c[source],
                             grid_ok=ctx.supply_ok[source][:, self._feeder[b]])
            telemetry += [_from(block, first) for block in out.telemetry]
            events += [e for e in out.events if e.ts_ms >= first]
            loads.append(out.coupling["load_kw"])
            inflows.append(out.coupling["q_in_m3h"])
        load = np.stack(loads, axis=1)
        inflow = np.stack(inflows, axis=1)[len(t) - len(rows):]
        if len(t) > len(rows):  # the anchor: its load fills the steps before the first instant
            self._hold.prime(load[0])
            load = load[1:]
        held = self._hold(rows, load, len(ctx.t_ms))
        merged = tuple(sorted(events, key=lambda e: (e.ts_ms, e.device_id)))
        coupling = {"wwtp_load_kw": held, "q_in_m3h": inflow}
        return PartResult(ModelOutput(tuple(telemetry), merged, coupling),
                          extra_kw={m: held[:, b] for b, m in enumerate(self.meter_ids)})


def _from(block: TelemetryBlock, first_ms: int) -> TelemetryBlock:
    """Return *block* without the instants before *first_ms*."""
    keep = block.t_ms >= first_ms
    if keep.all():
        return block
    return TelemetryBlock(block.asset_type, block.device_ids, block.t_ms[keep],
                          {name: values[keep] for name, values in block.values.items()})


def _gates(count: int, blocks: int) -> tuple[Gate, ...]:
    """Return *count* gates per block in the reference pattern, shares over the whole park."""
    pattern = default_gates()
    chosen = [pattern[i % len(pattern)] for i in range(count)]
    people = sum(g.people_share for g in chosen) or 1.0
    trucks = sum(g.truck_share for g in chosen) or 1.0
    names: dict[str, int] = {}
    gates = []
    for b in range(blocks):
        for gate in chosen:
            names[gate.gate_id] = names.get(gate.gate_id, 0) + 1
            n = names[gate.gate_id]
            base = gate.gate_id if n == 1 else f"{gate.gate_id}-{n}"
            gates.append(dataclasses.replace(
                gate, gate_id=block_id(base, b) if b else base,
                people_share=gate.people_share / people / blocks,
                truck_share=gate.truck_share / trucks / blocks))
        names.clear()
    return tuple(gates)


def security_spec(scenario: Scenario) -> SecuritySpec:
    """Build the security and fire spec from the scenario's ``[security]`` section."""
    security = scenario.security
    if security is None:
        msg = "the scenario has no [security] section"
        raise ValueError(msg)
    k = scenario.scale
    shifts = default_shifts()
    workforce = sum(s.workers for s in shifts)
    factor = security.workers / workforce
    shifts = tuple(dataclasses.replace(s, workers=round(s.workers * factor)) for s in shifts)
    gates = GatesSpec(gates=_gates(security.gates // k, k), shifts=shifts,
                      timezone=scenario.site.timezone, workforce=security.workers)
    perimeter = PerimeterSpec(zones=security.pids_zones)
    default = CctvSpec()
    rest = max(0, security.cameras - security.pids_zones)
    others = default.gate_cameras + default.road_cameras + default.building_cameras
    gate_cams = round(rest * default.gate_cameras / others)
    road_cams = round(rest * default.road_cameras / others)
    cctv = CctvSpec(perimeter_cameras=security.pids_zones if security.cameras else 0,
                    gate_cameras=gate_cams, road_cameras=road_cams,
                    building_cameras=max(0, rest - gate_cams - road_cams))
    panels = len(scenario.tenants) + security.common_fire_panels
    fire = FireSpec(tenant_ids=tuple(t.id for t in scenario.tenants),
                    common_panels=security.common_fire_panels,
                    detectors=math.ceil(panels * DETECTORS_PER_PANEL))
    return SecuritySpec(gates=gates, perimeter=perimeter, cctv=cctv, fire=fire)


class SecurityPart:
    """Gates, perimeter, cameras and fire panels; on the common-load feeder's supply.

    Args:
        scenario: the park (with a ``[security]`` section).
        seed: master seed.
        start_ms: first step.
    """

    def __init__(self, scenario: Scenario, seed: int, start_ms: int) -> None:
        self.model = SecurityModel(security_spec(scenario), seed, start_ms)
        self.devices: tuple[DeviceSpec, ...] = self.model.devices
        self.interval_s = self.model.spec.gates.interval_s
        # The models report what happened during (t - 60 s, t] at t; each occurrence gets its
        # own instant inside that minute (one stream, drawn in event order).
        self._when = device_rng(seed, f"security-events.{scenario.park.id}", Stream.EVENT)
        feeders = [f.id for f in scenario.energy.feeders]
        common = scenario.common.feeders[0] if scenario.common else feeders[0]
        self._feeder = feeders.index(common)

    def step(self, ctx: Context) -> PartResult:
        """Step every security system."""
        rows = grid_rows(ctx.t_ms, self.interval_s)
        weather = ctx.weather
        out = self.model.step(
            ctx.t_ms[rows],
            rain_mm_h=None if weather is None else weather.rain_mm_h[rows],
            wind_ms=None if weather is None else weather.wind_ms[rows],
            air_temp_c=None if weather is None else weather.t_air_c[rows],
            grid_ok=ctx.supply_ok[rows][:, self._feeder])
        return PartResult(dataclasses.replace(out, events=self._spread(out.events)))

    def _spread(self, events: tuple[EventRecord, ...]) -> tuple[EventRecord, ...]:
        """Give each event an instant in the interval its step covers; report it at the step."""
        if not events:
            return events
        back = (self._when.random(len(events)) * self.interval_s * 1000).astype(np.int64)
        offsets = back.tolist()
        # A device's events of one step keep their order (a fault before its clearing): the
        # group's offsets are handed out largest (earliest) first.
        groups: dict[tuple[int, str], list[int]] = {}
        for index, event in enumerate(events):
            groups.setdefault((event.ts_ms, event.device_id), []).append(index)
        for members in groups.values():
            if len(members) > 1:
                for index, offset in zip(members, sorted((offsets[i] for i in members),
                                                         reverse=True), strict=True):
                    offsets[index] = offset
        spread = [EventRecord(e.ts_ms - b, e.device_id, e.event, e.data, e.ts_ms)
                  for e, b in zip(events, offsets, strict=True)]
        spread.sort(key=lambda e: (e.ts_ms, e.device_id))
        return tuple(spread)


def weather_model(scenario: Scenario, seed: int, start_ms: int) -> WeatherModel:
    """Return the park's weather model (region and time zone from the site)."""
    spec = WeatherSpec(park_id=scenario.park.id, region=scenario.site.region,
                       timezone=scenario.site.timezone)
    return WeatherModel(spec, seed, start_ms)
