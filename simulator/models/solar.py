"""Rooftop PV fleet model: SunSpec Model 103 inverters and a PV met station.

``SolarModel.step`` takes the park :class:`~simulator.models.weather.Weather`, the gross load
of the tenant under each roof and the grid state, and returns inverter and met-station
telemetry plus the coupling arrays ``pv_ac_kw`` and ``pv_curtailed_kw`` (per roof).

Per step (all vectorised over steps x inverters; domain.md §3.2-§3.5):

1. plane chain (:mod:`simulator.models.solar_pv`) for the few distinct module planes;
2. DC per inverter = plane yield x the inverter's kWp on each plane; PVWatts inverter with
   clipping at its AC rating;
3. operating state: SLEEPING below ``sleep_poa_wm2``, STARTING (no output) in the morning
   below ``start_poa_wm2``, FAULT on a morning insulation trip (Evt1 bit 0) or while the grid
   is lost (bit 4), STANDBY during the 60-300 s reconnection delay (bit 4 kept), THROTTLED
   when the heat sink passes ``snk_limit_c`` (bit 7) or zero-export curtails, else MPPT;
4. zero export: a tenant's PV is scaled so that it never exceeds ``export_margin`` x its load;
5. electrical points (voltages, currents, VA, var, PF, DC side, temperatures) and ``WH``,
   the running integral of ``W`` (each sample's power held over the interval it ends).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from parkwire.assets.solar import (
    EVT_GRID_DISCONNECT,
    EVT_GROUND_FAULT,
    EVT_OVER_TEMP,
    ST_FAULT,
    ST_MPPT,
    ST_SLEEPING,
    ST_STANDBY,
    ST_STARTING,
    ST_THROTTLED,
)
from simulator.calendar import local_time
from simulator.models.output import (
    BoolArray,
    DeviceSpec,
    EventRecord,
    FloatArray,
    IntArray,
    ModelOutput,
    TelemetryBlock,
)
from simulator.models.solar_fleet import SolarSpec
from simulator.models.solar_pv import PlaneOutput, inverter_ac_kw, plane_output
from simulator.models.weather import Weather
from simulator.models.weather_climate import NORTH
from simulator.rng import Stream, device_rng

INVERTER = "inverter"
STATION = "weather_station"
_SQRT3 = math.sqrt(3.0)
#: SAPM's open-rack back-of-module to cell difference at 1000 W/m² [K] [P1].
_BACK_OF_MODULE_DT = 3.0


@dataclass(frozen=True, slots=True)
class _IsoDay:
    """Insulation trips of one local day: per inverter, tripped or not, from/to hour."""

    tripped: BoolArray
    start_h: FloatArray
    end_h: FloatArray


class SolarModel:
    """The park's rooftop PV inverters and met stations.

    Args:
        spec: fleet and parameters.
        seed: the run's master seed.
        start_ms: first instant the run will ask for [ms since epoch, UTC].
        timezone: the park's IANA zone (local hours of the state machine and faults).
        rainy_months: months (1-12) in which morning insulation trips happen; pass the
            park climate's (``WeatherSpec.site.rainy_months``), north by default.
    """

    def __init__(self, spec: SolarSpec, seed: int, start_ms: int, *,
                 timezone: str = "Asia/Ho_Chi_Minh",
                 rainy_months: tuple[int, ...] = NORTH.rainy_months) -> None:
        self.spec = spec
        self.interval_s = spec.interval_s
        self._seed = seed
        self._timezone = timezone
        self._rainy = frozenset(rainy_months)
        roofs = spec.roofs
        self.roof_ids: tuple[str, ...] = tuple(r.roof_id for r in roofs)
        self.roof_tenants: tuple[str, ...] = tuple(r.tenant_id for r in roofs)
        self.inverter_ids: tuple[str, ...] = tuple(i for r in roofs for i in r.inverter_ids)
        self.station_ids: tuple[str, ...] = tuple(s.station_id for s in spec.stations)
        self.devices: tuple[DeviceSpec, ...] = tuple(
            DeviceSpec(inv, INVERTER, {"tenant_id": r.tenant_id, "roof_id": r.roof_id})
            for r in roofs for inv in r.inverter_ids
        ) + tuple(DeviceSpec(s, STATION) for s in self.station_ids)
        self._build_geometry()
        self._build_devices(start_ms)

    def _build_geometry(self) -> None:
        """Distinct planes, each inverter's kWp per plane, inverter -> roof -> tenant maps."""
        spec = self.spec
        planes: list[tuple[float, float]] = []

        def plane(tilt: float, azimuth: float) -> int:
            key = (tilt, azimuth % 360.0)
            if key not in planes:
                planes.append(key)
            return planes.index(key)

        n_inv = len(self.inverter_ids)
        kw_on_plane: list[list[tuple[int, float]]] = []
        roof_of: list[int] = []
        rating: list[float] = []
        for index, roof in enumerate(spec.roofs):
            share = roof.kwp_dc / roof.n_inverters
            faces = [plane(roof.tilt_deg, roof.azimuth_deg)]
            if roof.east_west:
                faces.append(plane(roof.tilt_deg, roof.azimuth_deg + 180.0))
            for _ in range(roof.n_inverters):
                kw_on_plane.append([(face, share / len(faces)) for face in faces])
                roof_of.append(index)
                rating.append(roof.inverter_kw)
        self._station_planes = np.array([plane(s.tilt_deg, s.azimuth_deg)
                                         for s in spec.stations], dtype=np.int64)
        self._plane_tilt = np.array([p[0] for p in planes])
        self._plane_azimuth = np.array([p[1] for p in planes])
        self._kwp = np.zeros((len(planes), n_inv))
        for inv, parts in enumerate(kw_on_plane):
            for face, kw in parts:
                self._kwp[face, inv] += kw
        self._kwp_inv = self._kwp.sum(axis=0)
        self._frac = np.divide(self._kwp, self._kwp_inv, out=np.zeros_like(self._kwp),
                               where=self._kwp_inv > 0)
        self._roof_of = np.array(roof_of, dtype=np.int64)
        self._rating_kw = np.array(rating)
        n_roofs = len(spec.roofs)
        self._inv_to_roof = np.zeros((n_inv, n_roofs))
        self._inv_to_roof[np.arange(n_inv), self._roof_of] = 1.0
        tenants = sorted({r.tenant_id for r in spec.roofs if r.zero_export})
        self._roof_to_tenant = np.zeros((n_roofs, len(tenants)))
        first_roof = np.zeros(len(tenants), dtype=np.int64)
        for index, roof in enumerate(spec.roofs):
            if roof.zero_export:
                column = tenants.index(roof.tenant_id)
                if not self._roof_to_tenant[:, column].any():
                    first_roof[column] = index
                self._roof_to_tenant[index, column] = 1.0
        self._tenant_first_roof = first_roof

    def _build_devices(self, start_ms: int) -> None:
        """Per-device constants (INIT streams) and the carried state."""
        spec = self.spec
        n_inv = len(self.inverter_ids)
        self._v_offset = np.empty(n_inv)
        self._unbalance = np.empty((3, n_inv))
        self._cab_offset = np.empty(n_inv)
        self._wh = np.empty(n_inv)
        low, high = spec.age_years
        for k, inv in enumerate(self.inverter_ids):
            rng = device_rng(self._seed, inv, Stream.INIT)
            draws = rng.random(6)
            self._v_offset[k] = 0.02 * (draws[0] - 0.5)
            self._unbalance[:, k] = 0.01 * (draws[1:4] - 0.5)
            self._cab_offset[k] = 3.0 * (draws[4] - 0.5)
            age = low + (high - low) * draws[5]
            self._wh[k] = age * spec.yield_kwh_per_kwp * self._kwp_inv[k] * 1000.0
        self._gains = np.array([1.0 + 0.03 * (device_rng(self._seed, s, Stream.INIT).random()
                                              - 0.5) for s in self.station_ids])
        self._reconnect_rng = [device_rng(self._seed, inv, Stream.EVENT)
                               for inv in self.inverter_ids]
        self._grid_noise = device_rng(self._seed, f"solar.{spec.park_id}", Stream.NOISE)
        self._grid_state = np.zeros(2)  # AR(1) of park voltage and frequency deviations
        self._wait_until = np.full(n_inv, -1, dtype=np.int64)
        self._grid_prev = np.ones(n_inv, dtype=bool)
        self._fault_prev = np.zeros(n_inv, dtype=np.int64)
        self._last_t = start_ms - spec.interval_s * 1000
        self._iso_days: dict[int, _IsoDay] = {}

    # -- public ----------------------------------------------------------------------------

    def step(self, t_ms: IntArray, *, weather: Weather, tenant_load_kw: FloatArray | None = None,
             grid_ok: BoolArray | None = None) -> ModelOutput:
        """Simulate the instants *t_ms* (see the module docstring).

        Args:
            t_ms: consecutive instants of the model grid [ms since epoch, UTC].
            weather: the park weather at exactly these instants.
            tenant_load_kw: gross load of the tenant under each roof [kW], shape
                (n, roofs); None = no load information, no curtailment.
            grid_ok: supply present, shape (n,) for the park or (n, roofs) per roof;
                None = always present.
        """
        t_ms = np.asarray(t_ms, dtype=np.int64)
        n, n_inv, n_roofs = t_ms.size, len(self.inverter_ids), len(self.roof_ids)
        if not np.array_equal(weather.t_ms, t_ms):
            msg = "SolarModel.step: weather.t_ms must equal t_ms (step the weather on this grid)"
            raise ValueError(msg)
        grid = self._grid_per_inverter(grid_ok, n)
        spec = self.spec
        planes = plane_output(weather, self._plane_tilt, self._plane_azimuth,
                              albedo=spec.albedo, u_c=spec.u_c, gamma_pdc=spec.gamma_pdc,
                              losses_pct=spec.losses_pct)
        poa = planes.poa @ self._frac
        t_cell = planes.t_cell @ self._frac
        dc_avail = planes.dc_kw_per_kwp @ self._kwp
        ac_avail = inverter_ac_kw(dc_avail, self._rating_kw, spec.eta_inv_nom)

        hod = local_time(t_ms, self._timezone).hod if n else np.empty(0)
        iso = self._iso_mask(t_ms)
        waiting = self._reconnect_mask(t_ms, grid)
        awake = poa >= spec.sleep_poa_wm2
        starting = awake & (hod[:, None] < 12.0) & (poa < spec.start_poa_wm2)
        producing = awake & ~starting & ~iso & grid & ~waiting

        # Heat-sink derating: T_snk = T_air + k_load x + k_sun G, and above the limit the power
        # share x is cut by derate_per_c per K; solved for the steady point in closed form.
        t_air = weather.t_air_c[:, None]
        x_avail = ac_avail / self._rating_kw
        sun = spec.snk_rise_sun_c * poa / 1000.0
        x_limit = ((1.0 - spec.derate_per_c * (t_air + sun - spec.snk_limit_c))
                   / (1.0 + spec.derate_per_c * spec.snk_rise_load_c))
        hot = producing & (t_air + sun + spec.snk_rise_load_c * x_avail > spec.snk_limit_c) & (
            x_avail > x_limit)
        ac = np.where(producing, np.where(hot, np.minimum(ac_avail, x_limit * self._rating_kw),
                                          ac_avail), 0.0)
        ac = np.maximum(ac, 0.0)

        roof_ac = ac @ self._inv_to_roof
        roof_factor = self._export_factor(roof_ac, tenant_load_kw, n)
        w_kw = ac * roof_factor[:, self._roof_of]
        curtailing = producing & (roof_factor[:, self._roof_of] < 1.0 - 1e-9)
        roof_w = roof_ac * roof_factor

        lost = ~grid
        state = np.full((n, n_inv), float(ST_SLEEPING))
        state[starting] = ST_STARTING
        state[producing] = ST_MPPT
        state[producing & (hot | curtailing)] = ST_THROTTLED
        state[waiting] = ST_STANDBY
        state[iso | lost] = ST_FAULT
        evt = (np.where(iso, 1 << EVT_GROUND_FAULT, 0) | np.where(lost | waiting,
                                                                  1 << EVT_GRID_DISCONNECT, 0)
               | np.where(hot, 1 << EVT_OVER_TEMP, 0))

        values = self._electrical(t_ms, w_kw, dc_avail, poa=poa, t_cell=t_cell, t_air=t_air,
                                  grid=grid, producing=producing)
        values["St"] = state
        values["Evt1"] = evt.astype(np.float64)
        events = self._fault_events(t_ms, iso, lost)
        blocks = (TelemetryBlock(INVERTER, self.inverter_ids, t_ms, values),
                  self._station_block(t_ms, weather, planes))
        coupling = {"pv_ac_kw": roof_w.reshape(n, n_roofs),
                    "pv_curtailed_kw": (roof_ac - roof_w).reshape(n, n_roofs)}
        return ModelOutput(blocks, events, coupling)

    # -- pieces ----------------------------------------------------------------------------

    def _grid_per_inverter(self, grid_ok: BoolArray | None, n: int) -> BoolArray:
        n_inv = len(self.inverter_ids)
        if grid_ok is None:
            return np.ones((n, n_inv), dtype=bool)
        grid = np.asarray(grid_ok, dtype=bool)
        if grid.shape == (n,):
            return np.repeat(grid[:, None], n_inv, axis=1)
        if grid.shape == (n, len(self.roof_ids)):
            return grid[:, self._roof_of]
        msg = (f"SolarModel.step: grid_ok has shape {grid.shape}; expected ({n},) or "
               f"({n}, {len(self.roof_ids)}) (steps, roofs)")
        raise ValueError(msg)

    def _export_factor(self, roof_ac: FloatArray, tenant_load_kw: FloatArray | None,
                       n: int) -> FloatArray:
        """Per roof, the share of its available AC the tenant's zero-export limit allows."""
        factor = np.ones_like(roof_ac)
        if tenant_load_kw is None or self._roof_to_tenant.shape[1] == 0:
            return factor
        load = np.asarray(tenant_load_kw, dtype=np.float64)
        if load.shape != (n, len(self.roof_ids)):
            msg = (f"SolarModel.step: tenant_load_kw has shape {load.shape}; expected "
                   f"({n}, {len(self.roof_ids)}) (steps, roofs)")
            raise ValueError(msg)
        tenant_ac = roof_ac @ self._roof_to_tenant
        limit = self.spec.export_margin * np.maximum(load[:, self._tenant_first_roof], 0.0)
        tenant_factor = np.divide(limit, tenant_ac, out=np.ones_like(tenant_ac),
                                  where=tenant_ac > limit)
        exported = self._roof_to_tenant.any(axis=1)
        factor[:, exported] = (tenant_factor @ self._roof_to_tenant.T)[:, exported]
        return factor

    def _iso_day(self, day: int) -> _IsoDay:
        """Morning insulation trips of local *day* (one FAULT stream per inverter and day)."""
        cached = self._iso_days.get(day)
        if cached is not None:
            return cached
        spec = self.spec
        n_inv = len(self.inverter_ids)
        month = (np.datetime64(day, "D").astype("datetime64[M]").astype(np.int64) % 12) + 1
        draws = np.zeros((n_inv, 3))
        if int(month) in self._rainy and spec.iso_trip_prob > 0.0:
            for k, inv in enumerate(self.inverter_ids):
                draws[k] = device_rng(self._seed, inv, Stream.FAULT, day).random(3)
        else:
            draws[:, 0] = 1.0
        low_h, high_h = spec.iso_window_h
        start = low_h + (high_h - low_h) * draws[:, 1]
        low_m, high_m = spec.iso_clear_min
        result = _IsoDay(draws[:, 0] < spec.iso_trip_prob, start,
                         start + (low_m + (high_m - low_m) * draws[:, 2]) / 60.0)
        self._iso_days = {d: v for d, v in self._iso_days.items() if d >= day - 1}
        self._iso_days[day] = result
        return result

    def _iso_mask(self, t_ms: IntArray) -> BoolArray:
        mask = np.zeros((t_ms.size, len(self.inverter_ids)), dtype=bool)
        if t_ms.size == 0:
            return mask
        local = local_time(t_ms, self._timezone)
        for day in np.unique(local.day).tolist():
            trips = self._iso_day(int(day))
            if not trips.tripped.any():
                continue
            rows = local.day == day
            hod = local.hod[rows, None]
            mask[rows] = trips.tripped & (hod >= trips.start_h) & (hod < trips.end_h)
        return mask

    def _reconnect_mask(self, t_ms: IntArray, grid: BoolArray) -> BoolArray:
        """Steps spent waiting to reconnect after the grid returned (carried across calls)."""
        n, n_inv = grid.shape
        waiting = np.zeros((n, n_inv), dtype=bool)
        if n == 0:
            return waiting
        previous = np.vstack([self._grid_prev[None, :], grid[:-1]])
        low, high = self.spec.reconnect_s
        # Deadlines carried in from the last call behave like a return before this window.
        starts: list[tuple[int, int, int]] = [
            (0, int(i), int(self._wait_until[i])) for i in np.nonzero(self._wait_until >= 0)[0]]
        for k, i in zip(*np.nonzero(grid & ~previous), strict=True):
            delay_ms = int(1000.0 * self._reconnect_rng[i].uniform(low, high))
            starts.append((int(k), int(i), int(t_ms[k]) + delay_ms))
        self._wait_until[:] = -1
        for k, i, deadline in starts:
            column = grid[k:, i]
            lost_again = np.flatnonzero(~column)
            end = k + (int(lost_again[0]) if lost_again.size else column.size)
            waiting[k:end, i] = t_ms[k:end] < deadline
            if end == n and deadline > t_ms[-1]:
                self._wait_until[i] = deadline
        self._grid_prev = grid[-1].copy()
        return waiting

    def _fault_events(self, t_ms: IntArray, iso: BoolArray, lost: BoolArray
                      ) -> tuple[EventRecord, ...]:
        """``inverter_fault`` / ``inverter_fault_cleared`` on each change of the fault cause."""
        if t_ms.size == 0:
            return ()
        cause = np.where(lost, 2, np.where(iso, 1, 0)).astype(np.int64)
        previous = np.vstack([self._fault_prev[None, :], cause[:-1]])
        self._fault_prev = cause[-1].copy()
        names = {1: "ground_fault", 2: "grid_disconnect"}
        bits = {1: 1 << EVT_GROUND_FAULT, 2: 1 << EVT_GRID_DISCONNECT}
        events = []
        for k, i in zip(*np.nonzero(cause != previous), strict=True):
            now, before = int(cause[k, i]), int(previous[k, i])
            if before:
                events.append(EventRecord(int(t_ms[k]), self.inverter_ids[i],
                                          "inverter_fault_cleared", {"cause": names[before]}))
            if now:
                events.append(EventRecord(int(t_ms[k]), self.inverter_ids[i], "inverter_fault",
                                          {"cause": names[now], "evt1": bits[now]}))
        events.sort(key=lambda e: (e.ts_ms, e.device_id))
        return tuple(events)

    def _electrical(self, t_ms: IntArray, w_kw: FloatArray, dc_avail: FloatArray, *,
                    poa: FloatArray, t_cell: FloatArray, t_air: FloatArray, grid: BoolArray,
                    producing: BoolArray) -> dict[str, FloatArray]:
        """SunSpec AC, DC and temperature points from the delivered power."""
        spec = self.spec
        n = t_ms.size
        rated_w = self._rating_kw * 1000.0
        w = w_kw * 1000.0
        # Park voltage and frequency wander slowly (AR(1), ~15 min memory), same for all.
        phi = math.exp(-spec.interval_s / 900.0)
        eps = self._grid_noise.standard_normal((n, 2))
        wander = np.empty((n, 2))
        for column in range(2):
            path, _ = lfilter([math.sqrt(1.0 - phi * phi)], [1.0, -phi], eps[:, column],
                              zi=[phi * self._grid_state[column]])
            wander[:, column] = path
        if n:
            self._grid_state = wander[-1].copy()
        x = w / rated_w
        v_park = spec.v_ln_nominal * (1.0 + 0.01 * wander[:, :1])
        phase_v = [np.where(grid, v_park * (1.0 + self._v_offset + self._unbalance[p]
                                            + 0.015 * x), 0.0) for p in range(3)]
        connected = producing & (w > 0.0)
        var = np.where(connected, -spec.filter_var_ratio * rated_w, 0.0)
        va = np.hypot(w, var)
        pf = 100.0 * np.divide(w, va, out=np.zeros_like(w), where=va > 0.0)
        per_phase = va / 3.0
        amps = [np.divide(per_phase, v, out=np.zeros_like(v), where=v > 1.0) * (
            1.0 + self._unbalance[p]) for p, v in enumerate(phase_v)]
        dcw = np.where(connected, w / spec.eta_inv_nom, 0.0)
        g = np.maximum(poa, 1.0)
        vmp = spec.vmp_stc_v * (1.0 + spec.beta_vmp * (t_cell - 25.0)) * np.clip(
            1.0 + 0.06 * np.log(g / 1000.0), 0.5, 1.1)
        voc = 1.2 * vmp
        # Off the MPP (clipping, throttling) the string voltage moves toward open circuit.
        unused = 1.0 - np.divide(dcw, dc_avail * 1000.0, out=np.ones_like(dcw),
                                 where=dc_avail > 0.0)
        dcv = np.where(connected, np.minimum(vmp * (1.0 + 0.2 * np.clip(unused, 0.0, 1.0)), voc),
                       np.where(poa > 1.0, voc, 0.0))
        dca = np.divide(dcw, dcv, out=np.zeros_like(dcw), where=dcv > 0.0)
        snk = t_air + spec.snk_rise_load_c * x + spec.snk_rise_sun_c * poa / 1000.0
        cab = t_air + 0.4 * (snk - t_air) + 1.5 + self._cab_offset
        dt_s = np.diff(np.concatenate(([self._last_t], t_ms))) / 1000.0
        # Sequential sums from the carried total: the same additions however calls are split.
        wh = np.cumsum(np.vstack([self._wh[None, :], w * dt_s[:, None] / 3600.0]), axis=0)[1:]
        if n:
            self._wh = wh[-1].copy()
            self._last_t = int(t_ms[-1])
        va_line = [np.sqrt(a * a + b * b + a * b) for a, b in
                   ((phase_v[0], phase_v[1]), (phase_v[1], phase_v[2]),
                    (phase_v[2], phase_v[0]))]
        hz = np.where(grid, spec.f_nominal + 0.03 * wander[:, 1:], 0.0)
        return {
            "A": amps[0] + amps[1] + amps[2], "AphA": amps[0], "AphB": amps[1],
            "AphC": amps[2], "PPVphAB": va_line[0], "PPVphBC": va_line[1],
            "PPVphCA": va_line[2], "PhVphA": phase_v[0], "PhVphB": phase_v[1],
            "PhVphC": phase_v[2], "W": w, "Hz": hz, "VA": va, "VAr": var, "PF": pf, "WH": wh,
            "DCA": dca, "DCV": dcv, "DCW": dcw, "TmpCab": cab, "TmpSnk": snk,
        }

    def _station_block(self, t_ms: IntArray, weather: Weather, planes: PlaneOutput
                       ) -> TelemetryBlock:
        """Met-station readings: pyranometers (with a per-station gain), temperatures, rain."""
        poa = planes.poa[:, self._station_planes]
        t_cell = planes.t_cell[:, self._station_planes]
        ones = np.ones((t_ms.size, len(self.station_ids)))
        day = weather.ghi_clear > 10.0
        values = {
            "ghi_wm2": weather.ghi[:, None] * self._gains,
            "poa_wm2": poa * self._gains,
            "t_air_c": weather.t_air_c[:, None] * ones,
            "t_module_c": t_cell - _BACK_OF_MODULE_DT * poa / 1000.0,
            "rh_pct": weather.rh_pct[:, None] * ones,
            "wind_ms": weather.wind_ms[:, None] * ones,
            "rain_mmh": weather.rain_mm_h[:, None] * ones,
            "kc": np.where(day, np.clip(weather.kc, 0.0, 2.0), 0.0)[:, None] * ones,
        }
        return TelemetryBlock(STATION, self.station_ids, t_ms, values)
