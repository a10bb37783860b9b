"""The generation engine: a scenario plus a seed in, windows of meter readings out.

:class:`Engine` steps the energy model of a whole park on a fixed time grid. Each call to
:meth:`Engine.generate` returns the next ``steps`` grid steps as a :class:`Window` of numeric
arrays (no encoding); the window encodes itself to MQTT messages or JSON lines on demand.
Output depends only on (scenario, seed, start time): never on how a run is cut into windows.

Devices: one ``meter`` per tenant (``mtr-<tenant>``), one ``mv_meter`` per 22 kV feeder
(``mtr-<feeder>``) and one ``mv_meter`` for the substation incomer (``mtr-<substation>``).
"""

from __future__ import annotations

import functools
import heapq
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from parkwire import Channel, Domain, Topic
from simulator import calendar
from simulator.assemble import Assembler, round_block
from simulator.domains import (
    Context,
    PartResult,
    SecurityPart,
    SolarPart,
    WaterPart,
    weather_model,
)
from simulator.encode import EventLine, ValueBlock, messages, step_bounds, to_jsonl
from simulator.models import electrical, load, network
from simulator.models.common import CommonLoadSpec, common_load_kw
from simulator.models.output import DeviceSpec
from simulator.rng import Stream, device_rng
from simulator.scenario import ARCHETYPES, SHIFT_PATTERNS, Scenario
from simulator.scenario.scale import block_id

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Correlation time of park-wide frequency and supply-voltage wander [s] ([A]).
GRID_TAU_S = 600.0
#: Frequency: nominal, standard deviation and clamp (domain.md §2.5: 50 +- 0.05, +-0.2) [Hz].
FREQ_NOMINAL, FREQ_SD, FREQ_CLAMP = 50.0, 0.05, 0.2
#: Park-wide relative supply-voltage wander: standard deviation and clamp [1] ([A]).
BUS_SD, BUS_CLAMP = 0.008, 0.03
#: Fast relative voltage jitter at 0.4 kV and 22 kV [1] ([A]).
LV_JITTER, MV_JITTER = 0.002, 0.0008
#: Share of production-weighted tenant THDi seen on a feeder (harmonic cancellation) [1] ([A]).
MV_THD_I_SHARE = 0.6
_TENANT_DRAWS = 7  # load, pf, va, vb, vc, thd_v, thd_i
_MV_DRAWS = 5  # va, vb, vc, thd_v, thd_i
_REGISTERS = ("kwh_imp", "kwh_exp", "kvarh_imp", "kwh_offpeak", "kwh_normal", "kwh_peak")
# Share of a meter's history energy in each TOU register (off-peak, normal, peak) [A].
_HISTORY_TOU = (0.27, 0.55, 0.18)
_DAY_CACHE_MAX = 64


#: Power factor of the park's common loads (LED drivers, offices, pumps) [1] ([A]).
COMMON_PF = 0.93
#: Power factor of the wastewater plant (blowers and pumps on drives) [1] ([A]).
WWTP_PF = 0.88
#: Typical current distortion of the extra LV meters' loads [%] ([A]).
EXTRA_THD_I_PCT = 12.0


class Part(Protocol):
    """A domain model adapter (see :mod:`simulator.domains`)."""

    @property
    def devices(self) -> tuple[DeviceSpec, ...]:
        """The devices it simulates."""
        ...

    def step(self, ctx: Context) -> PartResult:
        """Step the window."""
        ...


@dataclass(frozen=True, slots=True)
class ExtraMeter:
    """A low-voltage meter whose load another model computes (common loads, a plant).

    Attributes:
        device_id: meter id.
        kind: what it meters: ``common`` (the operator's loads) or ``wwtp`` (a plant).
        feeder: id of the 22 kV feeder it hangs on.
        pf_mean: mean power factor [1].
        rating_kw: reference load for voltage sag and losses [kW].
        tags: its low-cardinality tags.
    """

    device_id: str
    kind: str
    feeder: str
    pf_mean: float
    rating_kw: float
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class Outage:
    """A 22 kV feeder without supply (breaker open, upstream fault) for a while.

    Attributes:
        feeder: the feeder id.
        start_ms: first instant without supply [ms since epoch, UTC].
        end_ms: first instant with supply again [ms since epoch, UTC].
    """

    feeder: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Drivers:
    """Per-window quantities every domain may read (arrays aligned with the steps).

    Attributes:
        when: local time of each step.
        workday: 1 on a working day, 0 on Sundays, holidays and Tet [1], (n,).
        eps: LV meters' standard-normal draws, (n, m, 7).
        mv_eps: MV meters' draws, (n, k, 5).
        noise: LV meters' AR(1) load noise [1], (n, m).
        freq: grid frequency [Hz], (n,).
        bus: relative supply-voltage wander [1], (n,).
        p_gross: tenants' load before rooftop PV [kW], (n, tenants).
        p_daily: tenants' mean load over each step's day, without noise [kW], (n, tenants).
        extra_p: extra LV meters' load [kW], (n, extras).
        supply_ok: whether each feeder has supply at each step, (n, feeders).
    """

    when: calendar.LocalTime
    workday: FloatArray
    eps: FloatArray
    mv_eps: FloatArray
    noise: FloatArray
    freq: FloatArray
    bus: FloatArray
    p_gross: FloatArray
    p_daily: FloatArray
    extra_p: FloatArray
    supply_ok: npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One simulated device.

    Attributes:
        device_id: id, unique in the park (the fifth topic level).
        asset_type: parkwire asset type (``meter`` or ``mv_meter``).
        topic: its telemetry topic.
        status_topic: its retained status topic.
        tags: low-cardinality metadata (tenant_id, zone, feeder, archetype, substation).
    """

    device_id: str
    asset_type: str
    topic: str
    status_topic: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Window:
    """A run of consecutive grid steps for every device.

    Attributes:
        t_ms: step timestamps [ms since epoch, UTC], shape (n,).
        seq0: sequence number of the first step (equal for every device).
        blocks: rounded readings per asset type, in device emission order.
        exact: unrounded values per asset type and quantity, plus network losses
            (``losses`` -> ``feeder_p_kw`` ...), for checks and analysis.
    """

    t_ms: IntArray
    seq0: int
    blocks: tuple[ValueBlock, ...]
    exact: dict[str, dict[str, FloatArray]]
    events: tuple[EventLine, ...] = ()

    @property
    def count(self) -> int:
        """Number of messages in the window (telemetry and events)."""
        n = len(self.t_ms)
        return sum(len(b.step_rows(n)) * len(b.device_ids) for b in self.blocks) \
            + len(self.events)

    def messages(self) -> list[tuple[str, bytes]]:
        """Return (topic, payload) pairs in time order: each step's telemetry, then events."""
        return messages(self.blocks, self.t_ms, self.seq0, self.events)

    def step_bounds(self) -> list[int]:
        """Return n + 1 offsets into :meth:`messages`; step i is ``[b[i], b[i+1])``."""
        return step_bounds(self.blocks, self.t_ms, self.events)

    def to_jsonl(self) -> bytes:
        """Return one ``{"topic":...,"payload":{...}}`` JSON line per message."""
        return to_jsonl(self.blocks, self.t_ms, self.seq0, self.events)

    def last_seqs(self) -> dict[str, int]:
        """Return the last telemetry ``seq`` of every device that emitted, by topic."""
        n = len(self.t_ms)
        out: dict[str, int] = {}
        for block in self.blocks:
            k = len(block.step_rows(n))
            if k:
                last = (self.seq0 if block.seq0 is None else block.seq0) + k - 1
                out.update(dict.fromkeys(block.topics, last))
        return out

    def values(self, asset_type: str) -> ValueBlock:
        """Return the rounded readings of one asset type (``meter`` or ``mv_meter``)."""
        for block in self.blocks:
            if block.asset_type == asset_type:
                return block
        msg = f"no {asset_type!r} devices in this window; have " \
              f"{', '.join(b.asset_type for b in self.blocks)}"
        raise KeyError(msg)


class Engine:
    """Generates a park's meter readings, window after window.

    Args:
        scenario: the park.
        seed: master seed; same scenario + seed + start => identical output.
        start_ms: first step [ms since epoch, UTC]; a multiple of the grid interval.

    Raises:
        ValueError: *start_ms* is not on the grid.
    """

    def __init__(self, scenario: Scenario, seed: int, start_ms: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.interval_ms = scenario.energy.interval_s * 1000
        if start_ms % self.interval_ms:
            msg = (f"start_ms {start_ms} is not on the {scenario.energy.interval_s} s grid; "
                   f"use a multiple of {self.interval_ms}, e.g. "
                   f"{start_ms - start_ms % self.interval_ms}")
            raise ValueError(msg)
        self.start_ms = start_ms
        self.next_ms = start_ms
        self.park = scenario.park.id
        self.site = scenario.site.id
        self._seq = 0
        self._dt_h = scenario.energy.interval_s / 3600.0
        self._phi = load.ar1_coefficient(scenario.energy.interval_s)
        self._phi_grid = load.ar1_coefficient(scenario.energy.interval_s, GRID_TAU_S)
        self._day_cache: dict[int, tuple[FloatArray, FloatArray]] = {}
        self._common_spec = CommonLoadSpec()
        self._outages: list[Outage] = []
        self._parts = self._build_parts(start_ms)
        self._extras = self._extra_meters()
        self._setup_tenants()
        self._setup_network()
        meters = self._device_infos()
        self._noise_rngs = [device_rng(seed, d.device_id, Stream.NOISE) for d in meters]
        m, k = self._lv_count, self._mv_count
        self._meter_names = (
            ([d.device_id for d in meters[:m]], [d.topic for d in meters[:m]]),
            ([d.device_id for d in meters[m:m + k]], [d.topic for d in meters[m:m + k]]))
        model_devices = tuple(d for part in self._parts for d in part.devices)
        self._assembler = Assembler(self.park, self.site, model_devices)
        self.devices: tuple[DeviceInfo, ...] = tuple(meters) + tuple(
            DeviceInfo(d.device_id, d.asset_type, self._assembler.topic(d.device_id),
                       self._assembler.topic(d.device_id, Channel.STATUS), d.tags)
            for d in model_devices)
        grid_id = f"grid.{self.park}"
        self._grid_rng = device_rng(seed, grid_id, Stream.NOISE)
        self._grid_state = self._phi_grid * device_rng(seed, grid_id, Stream.INIT) \
            .standard_normal(2)

    # --- set-up ----------------------------------------------------------------------

    def _build_parts(self, start_ms: int) -> list[Part]:
        """The domain models the scenario asks for, in coupling order, and the weather."""
        scenario = self.scenario
        parts: list[Part] = []
        if scenario.solar is not None:
            parts.append(SolarPart(scenario, self.seed, start_ms))
        if scenario.water is not None:
            self._water: WaterPart | None = WaterPart(scenario, self.seed, start_ms)
            parts.append(self._water)
        else:
            self._water = None
        if scenario.security is not None:
            parts.append(SecurityPart(scenario, self.seed, start_ms))
        self._weather = weather_model(scenario, self.seed, start_ms) if parts else None
        return parts

    def _extra_meters(self) -> list[ExtraMeter]:
        """Low-voltage meters whose load comes from another model (common loads, plants)."""
        extras: list[ExtraMeter] = []
        common = self.scenario.common
        for b, feeder in enumerate(common.feeders if common else ()):
            extras.append(ExtraMeter(block_id("mtr-common", b), "common", feeder, COMMON_PF,
                                     self._common_spec.peak_kw,
                                     {"feeder": feeder, "archetype": "common"}))
        water = self.scenario.water
        if water is not None and self._water is not None:
            for b, feeder in enumerate(water.feeders):
                extras.append(ExtraMeter(block_id("mtr-wwtp", b), "wwtp", feeder, WWTP_PF,
                                         self._water.rating_kw,
                                         {"feeder": feeder, "archetype": "wwtp"}))
        return extras

    def _setup_tenants(self) -> None:
        tenants = self.scenario.tenants
        archs = [ARCHETYPES[t.archetype] for t in tenants]
        self._peak = np.array([t.peak_kw for t in tenants])
        self._base = np.array([t.base for t in tenants])
        self._sat = np.array([a.sat_factor for a in archs])
        self._sun = np.array([a.sun_factor for a in archs])
        self._sigma = np.array([a.sigma for a in archs])
        self._tet_act = np.array([a.tet_activity for a in archs])
        self._hol_act = np.array([a.holiday_activity for a in archs])
        self._patterns = sorted({t.shift for t in tenants})
        self._pattern_index = np.array([self._patterns.index(t.shift) for t in tenants])
        # Day-mean of each shift pattern's shape by weekday (for the day-level production).
        hod = np.arange(0.0, 24.0, 0.25)
        self._mean_shape = np.array([
            [load.shift_shape(hod, np.full(hod.shape, dow, dtype=np.int64),
                              SHIFT_PATTERNS[name]).mean() for name in self._patterns]
            for dow in range(7)])
        # Metering constants cover every LV meter: the tenants, then the extra meters.
        rows = [(f"mtr-{t.id}", t.pf_mean, a.pf_sd, a.thd_i_pct, t.peak_kw)
                for t, a in zip(tenants, archs, strict=True)]
        rows += [(e.device_id, e.pf_mean, 0.01, EXTRA_THD_I_PCT, e.rating_kw)
                 for e in self._extras]
        m = len(rows)
        self._lv_rating = np.array([r[4] for r in rows])
        pf, offset, share = np.empty(m), np.empty((m, 3)), np.empty((m, 3))
        sag, thd_v, thd_i = np.empty(m), np.empty(m), np.empty(m)
        counters, noise_state = np.zeros((m, len(_REGISTERS))), np.empty(m)
        for j, (device_id, pf_mean, pf_sd, thd_i_pct, rating) in enumerate(rows):
            rng = device_rng(self.seed, device_id, Stream.INIT)
            z = rng.standard_normal(8)
            pf[j] = np.clip(pf_mean + pf_sd * np.clip(z[0], -2.0, 2.0), 0.6, 0.99)
            tap = rng.uniform(-0.01, 0.015)
            offset[j] = tap + 0.003 * z[1:4]
            share[j] = electrical.phase_shares(z[4:7][np.newaxis], np.array(
                [rng.uniform(0.02, 0.08)]))[0]
            sag[j] = rng.uniform(0.005, 0.02)
            thd_v[j] = rng.uniform(1.0, 3.0)
            thd_i[j] = thd_i_pct * rng.lognormal(0.0, 0.2)
            noise_state[j] = self._phi * z[7]
            # A meter a few years old, at a typical load factor of 0.55 [A].
            history = rating * 0.55 * 8760.0 * rng.uniform(0.5, 4.0)
            counters[j] = _history_registers(history, pf_mean)
        self._pf, self._lv_offset, self._lv_share = pf, offset, share
        self._sag, self._thd_v, self._thd_i = sag, thd_v, thd_i
        self._noise_state = noise_state
        self._tenant_counters = counters

    def _setup_network(self) -> None:
        energy = self.scenario.energy
        feeders = energy.feeders
        lv_feeders = [t.feeder for t in self.scenario.tenants] + \
            [e.feeder for e in self._extras]
        self._feeder_members = [
            np.array([j for j, feeder in enumerate(lv_feeders) if feeder == f.id],
                     dtype=np.int64)
            for f in feeders
        ]
        feeder_ids = [f.id for f in feeders]
        self._lv_feeder = np.array([feeder_ids.index(f) for f in lv_feeders], dtype=np.int64)
        feeder_peak = np.array([self._lv_rating[idx].sum() for idx in self._feeder_members])
        self._feeder_k = np.array([network.feeder_loss_coefficient(p) for p in feeder_peak])
        self._feeder_s_ref = np.maximum(network.DIVERSITY * feeder_peak / 0.9, 1.0)
        subs = energy.substations
        self._feeder_sub = np.array([subs.index(energy.feeder_substation(f)) for f in feeders],
                                    dtype=np.int64)
        self._mv_v = np.array([energy.feeder_substation(f).secondary_kv for f in feeders]
                              + [s.secondary_kv for s in subs]) * 1000.0 / math.sqrt(3.0)
        mv_ids = [f"mtr-{f.id}" for f in feeders] + [f"mtr-{s.id}" for s in subs]
        k = len(mv_ids)
        offset, share, thd_v = np.empty((k, 3)), np.empty((k, 3)), np.empty(k)
        for j, device_id in enumerate(mv_ids):
            rng = device_rng(self.seed, device_id, Stream.INIT)
            z = rng.standard_normal(6)
            offset[j] = rng.uniform(-0.01, 0.015) + 0.002 * z[:3]
            share[j] = electrical.phase_shares(z[3:6][np.newaxis],
                                               np.array([rng.uniform(0.005, 0.02)]))[0]
            thd_v[j] = rng.uniform(0.8, 1.5)
        self._mv_offset, self._mv_share, self._mv_thd_v = offset, share, thd_v
        # The network meters' registers start where the tenants' histories plus 0.8 % of
        # line losses and 0.4 % of transformer losses would have brought them [A].
        counters = np.zeros((k, len(_REGISTERS)))
        for f, idx in enumerate(self._feeder_members):
            counters[f] = self._tenant_counters[idx].sum(axis=0) * 1.008
        for b in range(len(subs)):
            counters[len(feeders) + b] = counters[:len(feeders)][self._feeder_sub == b] \
                .sum(axis=0) * 1.004
        self._mv_counters = counters

    def _device_infos(self) -> list[DeviceInfo]:
        scenario = self.scenario
        infos = [self._info(f"mtr-{t.id}", "meter", {
            "tenant_id": t.id, "zone": t.zone, "feeder": t.feeder, "archetype": t.archetype})
            for t in scenario.tenants]
        infos += [self._info(e.device_id, "meter", e.tags) for e in self._extras]
        energy = scenario.energy
        infos += [self._info(f"mtr-{f.id}", "mv_meter",
                             {"feeder": f.id, "substation": energy.feeder_substation(f).id})
                  for f in energy.feeders]
        infos += [self._info(f"mtr-{s.id}", "mv_meter", {"substation": s.id})
                  for s in energy.substations]
        return infos

    def _info(self, device_id: str, asset_type: str, tags: dict[str, str]) -> DeviceInfo:
        topic = Topic(self.park, self.site, Domain.ENERGY, asset_type, device_id,
                      Channel.TELEMETRY)
        return DeviceInfo(device_id, asset_type, str(topic),
                          str(topic.with_channel(Channel.STATUS)), tags)

    def gateway_status_topic(self, client_id: str) -> str:
        """Return the retained status topic of the publishing gateway *client_id*."""
        return str(Topic(self.park, self.site, Domain.SYSTEM, "gateway", client_id,
                         Channel.STATUS))

    # --- generation --------------------------------------------------------------------

    def generate(self, steps: int) -> Window:
        """Generate the next *steps* grid steps for every device.

        Raises:
            ValueError: *steps* is negative.
        """
        if steps < 0:
            msg = f"steps must be >= 0, got {steps}"
            raise ValueError(msg)
        # The models multiply small matrices (roofs x inverters); OpenBLAS's thread pool costs
        # more than it saves there (1.06 -> 1.28 M messages/s on 2 cores, benchmarks.md) and
        # would take the other core from a broker or collector running alongside.
        with _blas_controller().limit(limits=1, user_api="blas"):
            return self._generate(steps)

    def _generate(self, steps: int) -> Window:
        t_ms = self.next_ms + np.arange(steps, dtype=np.int64) * self.interval_ms
        seq0 = self._seq
        drivers = self._drivers(t_ms)
        weather = self._weather.step(t_ms) if self._weather is not None and steps else None
        ctx = Context(t_ms, drivers.when, drivers.p_gross, drivers.p_daily, drivers.supply_ok,
                      weather)
        pv: FloatArray | None = None
        results = []
        extra_index = {e.device_id: j for j, e in enumerate(self._extras)}
        for part in self._parts if steps else ():
            result = part.step(ctx)
            results.append(result)
            if result.pv_kw is not None:
                pv = result.pv_kw if pv is None else pv + result.pv_kw
            for meter, kw in result.extra_kw.items():
                drivers.extra_p[:, extra_index[meter]] = kw
        lv_vals, mv_vals, losses = self._meters(drivers, pv)
        self.next_ms += steps * self.interval_ms
        self._seq += steps
        (lv_ids, lv_topics), (mv_ids, mv_topics) = self._meter_names
        blocks = [_block("meter", lv_ids, lv_topics, lv_vals),
                  _block("mv_meter", mv_ids, mv_topics, mv_vals)]
        t0 = int(t_ms[0]) if steps else self.next_ms
        for result in results:
            blocks += [self._assembler.block(b, t0, self.interval_ms)
                       for b in result.output.telemetry]
        records = heapq.merge(*(r.output.events for r in results),
                              key=lambda e: (e.ts_ms, e.device_id))
        events = self._assembler.events(tuple(records), t0, self.interval_ms)
        exact = {"meter": lv_vals, "mv_meter": mv_vals, "losses": losses,
                 "tenant_gross": {"p_kw": drivers.p_gross},
                 "tenant_pv": {"p_kw": pv if pv is not None else np.zeros_like(drivers.p_gross)},
                 "coupling": {name: values for r in results
                              for name, values in r.output.coupling.items()}}
        return Window(t_ms, seq0, tuple(blocks), exact, tuple(events))

    @property
    def _lv_count(self) -> int:
        return len(self.scenario.tenants) + len(self._extras)

    @property
    def _mv_count(self) -> int:
        return len(self.scenario.energy.feeders) + len(self.scenario.energy.substations)

    def _draws(self, steps: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        m, k = self._lv_count, self._mv_count
        tenant = np.stack([rng.standard_normal((steps, _TENANT_DRAWS))
                           for rng in self._noise_rngs[:m]], axis=1)
        mv = np.stack([rng.standard_normal((steps, _MV_DRAWS))
                       for rng in self._noise_rngs[m:m + k]], axis=1)
        grid = self._grid_rng.standard_normal((steps, 2))
        return tenant, mv, grid

    def _day_factors(self, days: IntArray) -> tuple[FloatArray, FloatArray]:
        """Return the day level D_d and holiday activity H_d per (unique day, tenant)."""
        kinds = calendar.day_kinds(days)
        level = np.empty((len(days), len(self.scenario.tenants)))
        activity = np.empty_like(level)
        for i, day in enumerate(days.tolist()):
            cached = self._day_cache.get(day)
            if cached is None:
                z = np.array([
                    device_rng(self.seed, f"mtr-{t.id}", Stream.DAY, day + 1_000_000)
                    .standard_normal() for t in self.scenario.tenants])
                act = np.where(kinds.tet[i], self._tet_act,
                               np.where(kinds.holiday[i], self._hol_act, kinds.ramp[i]))
                cached = (np.exp(load.DAY_LEVEL_SD * z), act)
                if len(self._day_cache) >= _DAY_CACHE_MAX:
                    self._day_cache.clear()
                self._day_cache[day] = cached
            level[i], activity[i] = cached
        return level, activity

    def _drivers(self, t_ms: IntArray) -> Drivers:
        """Park-wide calendar, grid wander and the tenants' gross (pre-PV) load."""
        n = len(t_ms)
        when = calendar.local_time(t_ms, self.scenario.site.timezone)
        days, day_index = np.unique(when.day, return_inverse=True)
        level, activity = self._day_factors(days)
        shapes = np.empty((n, len(self._patterns)))
        for k, name in enumerate(self._patterns):
            shapes[:, k] = load.shift_shape(when.hod, when.dow, SHIFT_PATTERNS[name])
        eps, mv_eps, grid_eps = self._draws(n)

        # Park-wide frequency and supply-voltage wander (one shared stream).
        grid, self._grid_state = load.ar1(grid_eps, self._phi_grid, self._grid_state)
        freq = np.clip(FREQ_NOMINAL + FREQ_SD * grid[:, 0], FREQ_NOMINAL - FREQ_CLAMP,
                       FREQ_NOMINAL + FREQ_CLAMP)
        bus = np.clip(BUS_SD * grid[:, 1], -BUS_CLAMP, BUS_CLAMP)

        # Every LV meter's AR(1) state advances; the load equation uses the tenants' part.
        noise, self._noise_state = load.ar1(eps[:, :, 0], self._phi, self._noise_state)
        t = len(self.scenario.tenants)
        p_gross = load.active_power(
            peak_kw=self._peak * load.CONTRACT_UTILISATION, base=self._base,
            day_level=level[day_index],
            shape=shapes[:, self._pattern_index],
            weekday=load.weekday_factor(when.dow, self._sat, self._sun),
            activity=activity[day_index], sigma=self._sigma, noise=noise[:, :t])
        kinds = calendar.day_kinds(days)
        workday = ((kinds.dow < 6) & ~kinds.holiday & ~kinds.tet).astype(np.float64)
        # The same equation with each day's mean shape and no noise: the day's production
        # level, which paces slow processes (the plant's inflow) without the shift rhythm.
        weekday = load.weekday_factor(kinds.dow, self._sat, self._sun)
        shape = self._mean_shape[kinds.dow][:, self._pattern_index]
        daily = self._peak * load.CONTRACT_UTILISATION * level * (
            self._base + (1.0 - self._base) * shape * weekday * activity)
        return Drivers(when=when, workday=workday[day_index], eps=eps, mv_eps=mv_eps,
                       noise=noise, freq=freq, bus=bus, p_gross=p_gross,
                       p_daily=daily[day_index],
                       extra_p=self._extra_loads(when, workday[day_index], noise[:, t:]),
                       supply_ok=self.supply(t_ms))

    def add_outage(self, outage: Outage) -> None:
        """Take a feeder's supply away for a while (faults and what-if demonstrations).

        Every meter on the feeder reads 0 V, 0 A and 0 Hz and its registers stop; the
        coupled domains see it through :meth:`supply` (inverters trip, plant blowers stop).

        Raises:
            ValueError: the feeder is unknown or the interval is empty.
        """
        ids = [f.id for f in self.scenario.energy.feeders]
        if outage.feeder not in ids:
            msg = f"no feeder {outage.feeder!r}; have {', '.join(ids)}"
            raise ValueError(msg)
        if outage.end_ms <= outage.start_ms:
            msg = f"outage of {outage.feeder} ends before it starts"
            raise ValueError(msg)
        self._outages.append(outage)

    def supply(self, t_ms: IntArray) -> npt.NDArray[np.bool_]:
        """Return whether each feeder has supply at each instant, shape (n, feeders)."""
        feeders = [f.id for f in self.scenario.energy.feeders]
        ok = np.ones((len(t_ms), len(feeders)), dtype=bool)
        for outage in self._outages:
            f = feeders.index(outage.feeder)
            ok[:, f] &= (t_ms < outage.start_ms) | (t_ms >= outage.end_ms)
        return ok

    def _extra_loads(self, when: calendar.LocalTime, workday: FloatArray,
                     noise: FloatArray) -> FloatArray:
        """Active power of the extra LV meters [kW], shape (n, extras)."""
        out = np.zeros((len(when.hod), len(self._extras)))
        for j, extra in enumerate(self._extras):
            if extra.kind == "common":
                day_of_year = calendar.day_of_year(when.day).astype(np.float64)
                out[:, j] = common_load_kw(
                    spec=self._common_spec, hod=when.hod, day_of_year=day_of_year,
                    workday=workday, latitude_deg=self.scenario.site.lat, noise=noise[:, j])
        return out

    def _meters(self, d: Drivers, pv_kw: FloatArray | None = None) -> tuple[
            dict[str, FloatArray], dict[str, FloatArray], dict[str, FloatArray]]:
        """Every meter's readings from the drivers and what PV covers behind each tenant."""
        energy = self.scenario.energy
        eps = d.eps
        lv_ok = d.supply_ok[:, self._lv_feeder]
        gross = np.concatenate([d.p_gross, d.extra_p], axis=1) * lv_ok
        # Rooftop PV behind the meter reduces the imported active power only: inverters run
        # at unity power factor, so the meter's reactive power (and its PF penalty) stays.
        p = gross if pv_kw is None else gross - np.pad(
            pv_kw, ((0, 0), (0, len(self._extras))))
        pf_load = electrical.power_factor(self._pf, d.noise, eps[:, :, 1])
        q = electrical.reactive_power(gross, pf_load)
        s = electrical.apparent_power(p, q)
        pf = electrical.displacement_pf(p, s)
        loading = gross / self._lv_rating
        v = electrical.phase_voltages(
            nominal_v=energy.nominal_voltage_ln_v, bus=d.bus, offset=self._lv_offset,
            sag=self._sag * loading, eps=eps[:, :, 2:5], jitter=LV_JITTER)
        i = electrical.phase_currents(s, self._lv_share, v)
        v *= lv_ok[:, :, np.newaxis]
        thd_v = np.maximum(self._thd_v + 0.1 * eps[:, :, 5], 0.1)
        thd_i = np.clip(self._thd_i * (1.0 + 0.6 * (1.0 - np.minimum(loading, 1.0)))
                        + 0.3 * eps[:, :, 6], 0.5, 150.0)
        period = calendar.tou_period(d.when.hod, d.when.dow, energy.tou_profile)
        registers, self._tenant_counters = electrical.integrate(
            self._tenant_counters, self._increments(p, q, period))
        lv_vals = _quantities(p=p, q=q, s=s, pf=pf, v=v, i=i, freq=d.freq[:, np.newaxis] * lv_ok,
                              thd_v=thd_v * lv_ok, thd_i=thd_i * lv_ok, registers=registers)
        mv_vals, losses = self._network(p=p, q=q, thd_i=thd_i, mv_eps=d.mv_eps, bus=d.bus,
                                        freq=d.freq, period=period, supply_ok=d.supply_ok)
        return lv_vals, mv_vals, losses

    def _network(self, *, p: FloatArray, q: FloatArray, thd_i: FloatArray, mv_eps: FloatArray,
                 bus: FloatArray, freq: FloatArray, period: npt.NDArray[np.int8],
                 supply_ok: npt.NDArray[np.bool_]) -> tuple[
            dict[str, FloatArray], dict[str, FloatArray]]:
        """Feeder and incomer meters from the tenants' P [kW], Q [kvar] and THDi [%]."""
        n = len(p)
        energy = self.scenario.energy

        # Feeders: tenants summed one by one in scenario order (a fixed order keeps the sums
        # bit-identical however the run is split), plus line losses.
        f_count = len(energy.feeders)
        fp, fq, fh = np.zeros((n, f_count)), np.zeros((n, f_count)), np.zeros((n, f_count))
        for f, members in enumerate(self._feeder_members):
            for j in members.tolist():
                fp[:, f] += p[:, j]
                fq[:, f] += q[:, j]
                fh[:, f] += p[:, j] * thd_i[:, j]
        line = network.feeder_losses(fp, fq, self._feeder_k)
        feeder_thd_i = MV_THD_I_SHARE * fh / np.where(fp > 0.0, fp, 1.0)
        fp_total, fq_total = fp + line.p_kw, fq + line.q_kvar
        subs = energy.substations
        k = len(subs)
        sp, sq, sh = np.zeros((n, k)), np.zeros((n, k)), np.zeros((n, k))
        for f, b in enumerate(self._feeder_sub.tolist()):
            sp[:, b] += fp_total[:, f]
            sq[:, b] += fq_total[:, f]
            sh[:, b] += fp_total[:, f] * feeder_thd_i[:, f]
        units = np.array([s.transformers for s in subs], dtype=np.float64)
        rating = np.array([s.transformer_mva * 1000.0 for s in subs])
        tx = network.transformer_losses(sp, sq, units, rating)
        ss_thd_i = sh / np.where(sp > 0.0, sp, 1.0)
        mp = np.concatenate([fp_total, sp + tx.p_kw], axis=1)
        mq = np.concatenate([fq_total, sq + tx.q_kvar], axis=1)
        ms = electrical.apparent_power(mp, mq)
        mpf = electrical.displacement_pf(mp, ms)
        s_ref = np.append(self._feeder_s_ref, units * rating)
        sag = 0.01 * ms / s_ref  # about 1 % drop at the reference load [A]
        mv = electrical.phase_voltages(nominal_v=self._mv_v, bus=bus, offset=self._mv_offset,
                                       sag=sag, eps=mv_eps[:, :, 0:3], jitter=MV_JITTER)
        mi = electrical.phase_currents(ms, self._mv_share, mv)
        # An open feeder breaker leaves its meter (on the feeder side) without voltage.
        mv_ok = np.concatenate([supply_ok, np.ones((n, k), dtype=bool)], axis=1)
        mv *= mv_ok[:, :, np.newaxis]
        m_thd_v = np.maximum(self._mv_thd_v + 0.05 * mv_eps[:, :, 3], 0.1) * mv_ok
        m_thd_i = np.clip(np.concatenate([feeder_thd_i, ss_thd_i], axis=1)
                          + 0.2 * mv_eps[:, :, 4], 0.3, 150.0)
        mv_registers, self._mv_counters = electrical.integrate(
            self._mv_counters, self._increments(mp, mq, period))
        mv_vals = _quantities(p=mp, q=mq, s=ms, pf=mpf, v=mv, i=mi,
                              freq=freq[:, np.newaxis] * mv_ok, thd_v=m_thd_v,
                              thd_i=m_thd_i * mv_ok, registers=mv_registers)
        losses = {"feeder_p_kw": line.p_kw, "feeder_q_kvar": line.q_kvar,
                  "transformer_p_kw": tx.p_kw, "transformer_q_kvar": tx.q_kvar}
        return mv_vals, losses

    def _increments(self, p: FloatArray, q: FloatArray,
                    period: npt.NDArray[np.int8]) -> FloatArray:
        """Energy of each step's interval per register [kWh, kvarh], shape (n, m, 6)."""
        imp = np.maximum(p, 0.0) * self._dt_h
        out = np.empty((*p.shape, len(_REGISTERS)))
        out[:, :, 0] = imp
        out[:, :, 1] = np.maximum(-p, 0.0) * self._dt_h
        out[:, :, 2] = np.maximum(q, 0.0) * self._dt_h
        for code in calendar.Tou:
            out[:, :, 3 + int(code)] = np.where(period[:, np.newaxis] == code, imp, 0.0)
        return out


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """The process's BLAS thread pools, inspected once (after numpy, scipy and pvlib load)."""
    return ThreadpoolController()


def _history_registers(kwh: float, pf_mean: float) -> FloatArray:
    """Initial registers for a meter that has imported *kwh* so far [kWh, kvarh]."""
    kvarh = kwh * math.tan(math.acos(pf_mean))
    offpeak, normal, peak = (kwh * share for share in _HISTORY_TOU)
    return np.array([kwh, 0.0, kvarh, offpeak, normal, peak])


def _quantities(*, p: FloatArray, q: FloatArray, s: FloatArray, pf: FloatArray, v: FloatArray,
                i: FloatArray, freq: FloatArray, thd_v: FloatArray, thd_i: FloatArray,
                registers: FloatArray) -> dict[str, FloatArray]:
    """Name every computed quantity with its parkwire field name, all shaped (n, m)."""
    out: dict[str, FloatArray] = {
        "p_kw": p, "q_kvar": q, "s_kva": s, "pf": pf,
        "v_ln_a": v[:, :, 0], "v_ln_b": v[:, :, 1], "v_ln_c": v[:, :, 2],
        "i_a": i[:, :, 0], "i_b": i[:, :, 1], "i_c": i[:, :, 2],
        "freq_hz": np.broadcast_to(freq, p.shape),
        "thd_v_pct": thd_v, "thd_i_pct": thd_i,
    }
    for index, name in enumerate(_REGISTERS):
        out[name] = registers[:, :, index]
    return out


def _block(asset_type: str, ids: list[str], topics: list[str],
           values: dict[str, Any]) -> ValueBlock:
    """Round each quantity to its parkwire resolution and pack (n, m, f) in field order."""
    fields, data = round_block(asset_type, values)
    return ValueBlock(asset_type, fields, tuple(ids), tuple(topics), data)
