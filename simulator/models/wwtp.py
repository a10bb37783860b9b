"""The park's central wastewater treatment plant (WWTP) and its outfall monitoring station.

A 12,000 m3/day activated-sludge plant (domain.md §0, §4.3) stepped on a 60 s grid:

1. **Influent flow.** ``Q_ww = Q_mean * S(hod) * L(t) * D_day * (1 + s_q x_t)``, where ``S`` is
   the industrial-park diurnal shape (BSM1's dry-weather shape damped to 0.6 of its swing
   [W18][D], peaks moved to 09-11 h and 14-16 h for shifts and canteens [A]), ``L`` is the
   park's production index (1 = a normal weekday) through a 6 h lag (sewer travel and tenants'
   own holding tanks: Sundays, holidays and Tet come through it), ``D_day`` a day level and
   ``x`` AR(1) noise. Rain adds inflow ``A_eff * rain`` routed through two linear reservoirs,
   giving +10-30 % for 2-6 h after heavy rain [A] and diluting the wastewater.
2. **Influent quality** (COD, BOD5, TSS, NH4-N, TN, TP, pH, temperature, colour): means of
   domain.md §4.3 [A] swinging with the diurnal shape, AR(1) noise, and rare tenant dumps
   (acid, alkaline, organic or ammonia shocks of 1-4 h at Poisson times, seeded [A]).
3. **Equalisation.** The tank absorbs the swings: a level controller pumps
   ``Q_bio = Q_slow (V / V_set)^0.3`` (``Q_slow`` a 48 h lag of the inflow), so the flow to
   biology varies about +-10 % [A], the level drifts down on Sundays and Tet without running
   dry, and a full tank overflows; the tank also mixes the concentrations (4 h lag).
4. **Aeration.** ``dDO/dt = kLa (DO_sat(T) - DO) - OUR - Q_bio/V_aer * DO`` with
   ``kLa = c_air * air`` and the oxygen uptake rate from the load removed (0.5 g O2 per g COD,
   4.57 g O2 per g NH4-N nitrified) plus endogenous respiration. A PI controller sets the air
   flow on the *measured* DO (setpoint 2.0 mg/L, so DO-probe fouling shows in the blower power);
   it holds its integral while the probe calibrates. Explicit Euler at 60 s (kLa dt < 0.2).
5. **Treatment.** Effluent = first-order lag (HRT 12 h) of ``(1 - eta) * C_bio`` where the
   removals are COD 86 %, BOD5 93 %, TSS 92 %, TP 70 %, colour 83 % (domain.md §4.3 means) and
   ``eta_NH4 = min(0.98, 0.94 * m(DO) / m(DO_sp)) * f(T)`` with the Monod term
   ``m(DO) = DO / (K_O + DO)``, K_O = 0.5 mg/L, and ``f(T) = min(1, 1.07^(T - 15))`` [A]
   (nitrification slows in cold water). COD and BOD removal also falls without oxygen. An
   effluent noise factor applies after the lag, capped so the effluent never exceeds the
   equally lagged influent (the plant removes, it never adds).
6. **Power.** Blowers ``e_air * air``; pumps (lift in proportion to ``Q_bio``, sludge return and
   recycle constant); other loads constant. With ``grid_ok`` False everything stops: no air, no
   pumping, ``load_kw = 0``, DO falls to 0 within about 25 min and effluent NH4 rises over the
   following hours (fault F20); the inflow keeps arriving by gravity and fills the tank. The
   optional drivers ``blower_ok`` and ``pump_ok`` stop only the blowers or only the pumps (the
   equipment faults of F20) while the rest of the plant keeps its supply.
7. **Instruments** (domain.md §4.4): every analyser has noise, drift reset at calibration,
   weekly calibration (status 01, value frozen 10-30 min) and rare errors (status 02). The DO
   probe fouls (-1 mg/L per month [W20]) until its monthly cleaning.

**Two grids.** The model steps every 60 s (``interval_s = 60``): the ``wwtp`` process record
and the ``wwtp_quality`` panel (influent, effluent) come at every step. The DONRE station
record (``monitoring_station``) is a block with its own ``t_ms``: the steps that fall on the
300 s grid (epoch ms divisible by 300,000), sampling the plant state at that instant. A window
that contains no such instant yields an empty station block. The station's random draws are
consumed per station instant, so splits never shift them.

The compliance flag of each station parameter is ``limit.low <= reported <= limit.high`` for
the configured standard (:mod:`simulator.standards`); a frozen reading carries its frozen flag,
and its status says it is not a live measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from parkwire.assets.water import STATUS_CALIBRATING, STATUS_ERROR
from parkwire.quantities import asset_type
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
from simulator.models.wwtp_analysers import Analyser, AnalyserSpec, Reading
from simulator.models.wwtp_parts import (
    Ar1,
    IntervalSchedule,
    Lag,
    do_saturation_mgl,
    periodic_interp,
)
from simulator.rng import Stream, device_rng
from simulator.standards import Limit, load_standard

#: Industrial-park diurnal flow shape, values at hour centres 00:30..23:30 [1] ([A]): the swing
#: of BSM1's dry-weather shape damped to 0.6 (hourly 0.78-1.31, [W18][D]), with peaks at
#: 09-11 h (shift activity) and 14-16 h (canteen, afternoon shift); normalised to mean 1.
_SHAPE_RAW = (0.86, 0.81, 0.78, 0.78, 0.80, 0.86, 0.95, 1.05, 1.16, 1.26, 1.31, 1.22,
              1.10, 1.13, 1.24, 1.28, 1.16, 1.04, 0.99, 0.96, 0.94, 0.92, 0.90, 0.88)
DIURNAL_SHAPE: tuple[float, ...] = tuple(v * 24.0 / sum(_SHAPE_RAW) for v in _SHAPE_RAW)

#: Concentration channels, in array column order.
CONC = ("cod_mgl", "bod5_mgl", "tss_mgl", "nh4_n_mgl", "tn_mgl", "tp_mgl", "colour_ptco")
_COD, _BOD, _TSS, _NH4, _TN, _TP, _COL = range(7)
#: Station parameters with a compliance flag: (field, status field, flag field).
STATION_LIMITED = (("temp_c", "temp_status", "temp_ok"), ("ph", "ph_status", "ph_ok"),
                   ("tss_mgl", "tss_status", "tss_ok"), ("cod_mgl", "cod_status", "cod_ok"),
                   ("nh4_n_mgl", "nh4_n_status", "nh4_n_ok"))
_STATION_MS = 300_000
_DAY_MS = 86_400_000
# Columns of the per-step standard normal draws (one generator, time-major).
_N_FLOW, _N_COD, _N_NH4, _N_TSS, _N_PH, _N_TP, _N_DO, _N_NH4A, _N_MLSS = range(9)
_N_EFF = 9  # 8 effluent columns follow: 7 concentrations and pH
_NOISE_COLS = 17


@dataclass(frozen=True, slots=True)
class WwtpSpec:
    """The plant, its influent and its instruments. Defaults describe RefPark (domain.md §0).

    Attributes:
        plant_id: device id prefix (``wwtp`` gives ``wwtp-plant``, ``wwtp-station``...).
        timezone: the park's IANA time zone (diurnal shape, calibration hours).
        q_design_m3d: design flow [m3/day] (12,000, domain.md §0).
        production_lag_h: lag of the production index before it scales the flow [h] ([A]).
            6 h passes Sunday (~0.78 of a weekday) and Tet; an index that already carries the
            shift rhythm then widens the diurnal swing a little (hourly 0.73-1.42 instead of
            0.77-1.29 with RefPark's tenants); a longer lag damps that but blurs the days.
        v_eq_m3: equalisation tank volume [m3] ([A], 14 h of mean flow).
        eq_set_pct: equalisation level setpoint [%] ([A]).
        eq_exponent: level law exponent k in ``Q_bio = Q_slow (V / V_set)^k`` [1] ([A]).
        eq_mix_h: concentration mixing lag of the equalisation tank [h] ([A]).
        v_aer_m3: aerated volume [m3] ([A]).
        hrt_h: hydraulic lag influent to effluent concentrations [h] (10-16 h, §4.3 [A]).
        cod_in_mgl: influent COD mean [mg/L] (§4.3 [A]).
        bod_cod: influent BOD5/COD ratio [1] (§4.3 [A]).
        tss_in_mgl: influent TSS mean [mg/L].
        nh4_in_mgl: influent NH4-N mean [mg/L].
        tn_nh4: influent TN/NH4-N ratio [1] (40/25, §4.3 [A]).
        tp_in_mgl: influent TP mean [mg/L].
        ph_in: influent pH mean [1].
        colour_in_ptco: influent colour mean [Pt-Co].
        conc_swing: diurnal swing of concentrations relative to the flow shape's [1] ([A]).
        removal_cod: COD removal at normal DO [1] (85-92 %, §4.3).
        removal_bod: BOD5 removal [1].
        removal_tss: TSS removal [1].
        removal_tp: TP removal [1].
        removal_colour: colour removal [1].
        removal_nh4: NH4-N removal at the DO setpoint [1].
        removal_tn: TN removal with full nitrification [1].
        k_o_mgl: oxygen half-saturation of nitrification [mg/L] (0.5, §4.3 [A]).
        nitrif_theta: Arrhenius factor of nitrification per degC below ``nitrif_t_ref_c`` [1].
        nitrif_t_ref_c: temperature below which nitrification slows [degC] ([A]).
        do_setpoint_mgl: DO setpoint [mg/L] (2.0, §4.3).
        alpha_sote: field oxygen transfer efficiency of the diffusers [1] ([A]).
        air_min_m3h: blower turndown limit [m3/h] ([A]).
        air_max_m3h: blower capacity [m3/h] ([A]).
        pi_kp: PI gain [(m3/h air) per (mg/L)] ([A]).
        pi_ti_h: PI integral time [h] ([A]).
        our_endo_mgl_h: endogenous oxygen uptake [mg/L/h] ([A]).
        blower_kwh_per_m3: blower specific energy [kWh per m3 air] ([A]).
        pump_lift_kw: lift pumps at the mean flow [kW] ([A]).
        pump_recycle_kw: sludge return and internal recycle pumps [kW] ([A]).
        other_kw: mixers, dosing, UV, dewatering, buildings [kW] ([A]).
        rain_area_m2: impervious area draining into the sewer [m2] ([A], calibrated to §4.3).
        rain_tau_h: time constant of each of two rain reservoirs [h] ([A]).
        dumps_per_year: tenant dumps per year [1/yr] ([A]).
        standard: effluent standard (a built-in id or a TOML path).
        column: the standard's column (``A`` for RefPark, domain.md §0).
        kq: receiving-water factor; None = look it up from ``receiving_flow_m3s``.
        kf: discharge-flow factor; None = look it up from ``q_design_m3d``.
        receiving_flow_m3s: receiving river flow for the Kq lookup [m3/s].
        calibration_min: shortest calibration [min] (§4.4).
        calibration_max: longest calibration [min] (§4.4).
        error_min_h: shortest analyser error [h] ([A]).
        error_max_h: longest analyser error [h] ([A]).
        tx_outages_per_year: station link outages per year ([A]).
        ups_min: station UPS autonomy in a grid outage [min] ([A]).
        do_fouling_mgl_day: DO probe fouling drift [mg/L/day] (-1 per month, [W20]; sign [A]).
        do_cleaning_weeks: weeks between DO probe cleanings ([A]).
        nh4_drift_mgl_day: sd of the NH4 ISE drift rate [mg/L/day] ([W20][W22] magnitude, [A]).
        ph_drift_day: sd of the pH drift rate [1/day] (0.05 per week, domain.md §6 F02).
    """

    plant_id: str = "wwtp"
    timezone: str = "Asia/Ho_Chi_Minh"
    q_design_m3d: float = 12_000.0
    production_lag_h: float = 6.0
    v_eq_m3: float = 7_000.0
    eq_set_pct: float = 60.0
    eq_exponent: float = 0.3
    eq_mix_h: float = 4.0
    v_aer_m3: float = 4_000.0
    hrt_h: float = 12.0
    cod_in_mgl: float = 250.0
    bod_cod: float = 0.52
    tss_in_mgl: float = 150.0
    nh4_in_mgl: float = 25.0
    tn_nh4: float = 1.6
    tp_in_mgl: float = 5.0
    ph_in: float = 7.2
    colour_in_ptco: float = 150.0
    conc_swing: float = 0.8
    removal_cod: float = 0.86
    removal_bod: float = 0.93
    removal_tss: float = 0.92
    removal_tp: float = 0.70
    removal_colour: float = 0.83
    removal_nh4: float = 0.94
    removal_tn: float = 0.70
    k_o_mgl: float = 0.5
    nitrif_theta: float = 1.07
    nitrif_t_ref_c: float = 15.0
    do_setpoint_mgl: float = 2.0
    alpha_sote: float = 0.18
    air_min_m3h: float = 1_500.0
    air_max_m3h: float = 10_000.0
    pi_kp: float = 800.0
    pi_ti_h: float = 0.25
    our_endo_mgl_h: float = 5.0
    blower_kwh_per_m3: float = 0.022
    pump_lift_kw: float = 20.0
    pump_recycle_kw: float = 18.0
    other_kw: float = 35.0
    rain_area_m2: float = 20_000.0
    rain_tau_h: float = 1.5
    dumps_per_year: float = 12.0
    standard: str = "qcvn40_2011"
    column: str = "A"
    kq: float | None = 1.0
    kf: float | None = 1.0
    receiving_flow_m3s: float | None = None
    calibration_min: float = 10.0
    calibration_max: float = 30.0
    error_min_h: float = 0.5
    error_max_h: float = 6.0
    tx_outages_per_year: float = 12.0
    ups_min: float = 60.0
    do_fouling_mgl_day: float = -1.0 / 30.0
    do_cleaning_weeks: int = 4
    nh4_drift_mgl_day: float = 0.1
    ph_drift_day: float = 0.05 / 7.0

    def __post_init__(self) -> None:
        positive = ("q_design_m3d", "production_lag_h", "v_eq_m3", "eq_set_pct", "eq_mix_h",
                    "v_aer_m3", "hrt_h",
                    "cod_in_mgl", "tss_in_mgl", "nh4_in_mgl", "tp_in_mgl", "colour_in_ptco",
                    "k_o_mgl", "nitrif_theta", "do_setpoint_mgl", "alpha_sote", "air_max_m3h",
                    "pi_kp", "pi_ti_h", "rain_tau_h", "calibration_min", "error_min_h")
        for name in positive:
            if not getattr(self, name) > 0.0:
                msg = f"WwtpSpec.{name} must be > 0, got {getattr(self, name)!r}"
                raise ValueError(msg)
        ratios = ("bod_cod", "removal_cod", "removal_bod", "removal_tss", "removal_tp",
                  "removal_colour", "removal_nh4", "removal_tn")
        for name in ratios:
            if not 0.0 <= getattr(self, name) < 1.0:
                msg = f"WwtpSpec.{name} must be a fraction in [0, 1), got {getattr(self, name)!r}"
                raise ValueError(msg)
        for low, high in (("air_min_m3h", "air_max_m3h"), ("calibration_min", "calibration_max"),
                          ("error_min_h", "error_max_h")):
            if not 0.0 <= getattr(self, low) <= getattr(self, high):
                msg = f"WwtpSpec.{low} must lie in [0, {high}], got {getattr(self, low)!r}"
                raise ValueError(msg)
        if not self.eq_set_pct < 100.0:
            msg = f"WwtpSpec.eq_set_pct must be below 100, got {self.eq_set_pct!r}"
            raise ValueError(msg)
        if self.do_cleaning_weeks < 1:
            msg = f"WwtpSpec.do_cleaning_weeks must be >= 1, got {self.do_cleaning_weeks!r}"
            raise ValueError(msg)

    @property
    def q_mean_m3h(self) -> float:
        """Mean inflow on a normal weekday [m3/h]."""
        return self.q_design_m3d / 24.0

    def limits(self) -> dict[str, Limit]:
        """Return the effective effluent limits (Cmax = C x Kq x Kf) for this plant."""
        standard = load_standard(self.standard)
        kq = self.kq if self.kq is not None else (
            standard.kq(self.receiving_flow_m3s) if self.receiving_flow_m3s is not None
            else 1.0)
        kf = self.kf if self.kf is not None else standard.kf(self.q_design_m3d)
        return standard.limits(self.column, kq=kq, kf=kf)


@dataclass(slots=True)
class _State:
    """The plant's state carried from one step call to the next."""

    v_eq: float
    do: float
    do_meas: float
    air: float
    integral: float
    q_out: float
    last_ok_ms: float
    switches: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(
        ("plant", "blowers", "pumps"), True))
    station_ok: dict[str, bool] = field(default_factory=dict)
    started: bool = False


class WwtpModel:
    """The central WWTP (see the module docstring); one plant, four devices.

    Devices: ``{id}-plant`` (``wwtp``), ``{id}-influent`` and ``{id}-effluent``
    (``wwtp_quality``), ``{id}-station`` (``monitoring_station``).

    Args:
        spec: the plant.
        seed: the run's seed.
        start_ms: the run's first instant [ms since epoch, UTC].
    """

    interval_s = 60

    def __init__(self, spec: WwtpSpec, seed: int, start_ms: int) -> None:
        self.spec = spec
        self.limits = spec.limits()
        pid = spec.plant_id
        self.plant_device = f"{pid}-plant"
        self.station_device = f"{pid}-station"
        self.quality_devices = (f"{pid}-influent", f"{pid}-effluent")
        tag = f"{load_standard(spec.standard).id}-{spec.column.lower()}"
        self.devices = (
            DeviceSpec(self.plant_device, "wwtp", {"location": "process"}),
            DeviceSpec(self.quality_devices[0], "wwtp_quality", {"location": "influent"}),
            DeviceSpec(self.quality_devices[1], "wwtp_quality", {"location": "effluent"}),
            DeviceSpec(self.station_device, "monitoring_station",
                       {"location": "outfall", "standard": tag}),
        )
        self._seed = seed
        dt = float(self.interval_s)
        hour = 3600.0
        self._noise = device_rng(seed, self.plant_device, Stream.NOISE)
        self._station_noise = device_rng(seed, self.station_device, Stream.NOISE)
        self._ar_flow = Ar1(0.5 * hour, dt, 1)
        self._ar_in = Ar1(2.0 * hour, dt, 5)
        self._ar_eff = Ar1(3.0 * hour, dt, 8)
        self._ar_mlss = Ar1(72.0 * hour, dt, 1)
        q = spec.q_mean_m3h
        self._prod_lag: Lag | None = None  # started from the first production value
        self._rain_lag1 = Lag(spec.rain_tau_h * hour, dt, np.zeros(1))
        self._rain_lag2 = Lag(spec.rain_tau_h * hour, dt, np.zeros(1))
        self._q_slow = Lag(48.0 * hour, dt, np.full(1, q))
        self._t_in_lag: Lag | None = None  # started from the first air temperature
        means = self._conc_means()
        self._eq_mix = Lag(spec.eq_mix_h * hour, dt, np.append(means, spec.ph_in))
        self._eff_lag = Lag(spec.hrt_h * hour, dt, means * (1.0 - self._nominal_removal()))
        self._in_lag = Lag(spec.hrt_h * hour, dt, means)
        self._ph_lag = Lag(spec.hrt_h * hour, dt, np.full(1, spec.ph_in))
        self._temp_lag: Lag | None = None
        self._orp_lag = Lag(20.0 * 60.0, dt, np.full(1, _orp(spec.do_setpoint_mgl)))
        self._dumps = IntervalSchedule(device_rng(seed, f"{pid}.dumps", Stream.EVENT),
                                       spec.dumps_per_year, min_s=3600.0,
                                       max_s=4 * 3600.0, start_ms=start_ms, details=2)
        self._tx = IntervalSchedule(device_rng(seed, f"{self.station_device}.tx", Stream.FAULT),
                                    spec.tx_outages_per_year, min_s=600.0,
                                    max_s=4 * 3600.0, start_ms=start_ms)
        self._day_level: dict[int, float] = {}
        self._analysers = self._make_analysers(start_ms)
        air0 = self._design_air()
        self._state = _State(
            v_eq=spec.v_eq_m3 * spec.eq_set_pct / 100.0, do=spec.do_setpoint_mgl,
            do_meas=spec.do_setpoint_mgl, air=air0, integral=air0, q_out=q * 0.99,
            last_ok_ms=float(start_ms),
            station_ok=dict.fromkeys((name for name, _, _ in STATION_LIMITED), True))

    # -- set-up ------------------------------------------------------------------------------

    def _conc_means(self) -> FloatArray:
        s = self.spec
        return np.array([s.cod_in_mgl, s.cod_in_mgl * s.bod_cod, s.tss_in_mgl, s.nh4_in_mgl,
                         s.nh4_in_mgl * s.tn_nh4, s.tp_in_mgl, s.colour_in_ptco])

    def _nominal_removal(self) -> FloatArray:
        s = self.spec
        return np.array([s.removal_cod, s.removal_bod, s.removal_tss, s.removal_nh4,
                         s.removal_tn, s.removal_tp, s.removal_colour])

    def _kla_per_air(self) -> float:
        # 0.28 kg O2 per m3 of air; transfer at DO = 0 relative to saturation at 20 degC.
        return 0.28 * self.spec.alpha_sote / 9.09 * 1000.0 / self.spec.v_aer_m3

    def _design_air(self) -> float:
        s = self.spec
        o2 = float(self._o2_demand(np.array([s.cod_in_mgl]), np.array([s.nh4_in_mgl]))[0])
        our = s.our_endo_mgl_h + s.q_mean_m3h * o2 / s.v_aer_m3
        sat = float(do_saturation_mgl(np.array([28.0]))[0])
        return our / (self._kla_per_air() * (sat - s.do_setpoint_mgl))

    def _o2_demand(self, cod: FloatArray, nh4: FloatArray) -> FloatArray:
        """Oxygen needed per m3 treated [g/m3]: 0.5 g per g COD removed, 4.57 per g N."""
        s = self.spec
        return 0.5 * s.removal_cod * cod + 4.57 * s.removal_nh4 * nh4

    def _make_analysers(self, start_ms: int) -> dict[str, Analyser]:
        s = self.spec
        specs = {
            # Station (5-min record), instrument behaviour [A] within domain.md §4.4.
            "q_in": AnalyserSpec("q_in", 0.0, 0.01, period_weeks=0, errors_per_year=1.0),
            "q_out": AnalyserSpec("q_out", 0.0, 0.01, period_weeks=0, errors_per_year=1.0),
            "temp": AnalyserSpec("temp", 0.1, period_weeks=0, errors_per_year=0.5),
            "ph": AnalyserSpec("ph", 0.03, drift_per_day=s.ph_drift_day),
            "tss": AnalyserSpec("tss", 0.5, 0.05, drift_per_day=0.1),
            "cod": AnalyserSpec("cod", 1.0, 0.04, drift_per_day=0.2),
            "nh4": AnalyserSpec("nh4", 0.1, 0.03, drift_per_day=s.nh4_drift_mgl_day),
            # Process probes (60 s).
            "do": AnalyserSpec("do", 0.03, drift_per_day=s.do_fouling_mgl_day,
                               drift_signed=False, period_weeks=s.do_cleaning_weeks),
            "nh4_aer": AnalyserSpec("nh4_aer", 0.1, 0.03, drift_per_day=s.nh4_drift_mgl_day),
        }
        firsts = {"q_in": s.q_mean_m3h, "q_out": s.q_mean_m3h, "temp": 28.0, "ph": 7.3,
                  "tss": 12.0, "cod": 35.0, "nh4": 1.5, "do": s.do_setpoint_mgl,
                  "nh4_aer": 1.5}
        owner = {"do": self.plant_device, "nh4_aer": self.plant_device}
        return {name: Analyser(
            spec, seed=self._seed, stream_id=f"{owner.get(name, self.station_device)}.{name}",
            start_ms=start_ms, calibration_min=s.calibration_min,
            calibration_max=s.calibration_max, error_min_s=s.error_min_h * 3600.0,
            error_max_s=s.error_max_h * 3600.0, initial=firsts[name])
            for name, spec in specs.items()}

    # -- stepping ----------------------------------------------------------------------------

    def step(self, t_ms: IntArray, *, production: FloatArray, rain_mm_h: FloatArray,
             t_air_c: FloatArray, grid_ok: BoolArray, blower_ok: BoolArray | None = None,
             pump_ok: BoolArray | None = None) -> ModelOutput:
        """Advance the plant over *t_ms* (consecutive 60 s instants) and report.

        Args:
            t_ms: instants [ms since epoch, UTC], multiples of 60,000, shape (n,).
            production: park production index (1 = a normal weekday's mean), (n,) [1].
            rain_mm_h: rain intensity at the park, (n,) [mm/h].
            t_air_c: air temperature, (n,) [degC].
            grid_ok: True while the plant has supply, (n,).
            blower_ok: False while the blowers have failed (fault F20), (n,); default all True.
            pump_ok: False while the pumps have failed (fault F20), (n,); default all True.

        Returns:
            Blocks ``wwtp`` and ``wwtp_quality`` at every instant, ``monitoring_station`` at the
            instants on the 300 s grid; events ``limit_exceeded`` / ``limit_restored`` (station)
            and ``plant_stopped`` / ``plant_started`` (supply), ``blowers_stopped`` /
            ``blowers_started``, ``pumps_stopped`` / ``pumps_started`` (equipment faults) from
            the plant; coupling ``load_kw`` and
            ``q_in_m3h``, (n,).
        """
        n = len(t_ms)
        blower_ok = np.ones(n, dtype=bool) if blower_ok is None else blower_ok
        pump_ok = np.ones(n, dtype=bool) if pump_ok is None else pump_ok
        for name, array in (("production", production), ("rain_mm_h", rain_mm_h),
                            ("t_air_c", t_air_c), ("grid_ok", grid_ok),
                            ("blower_ok", blower_ok), ("pump_ok", pump_ok)):
            if array.shape != (n,):
                msg = f"wwtp step: {name} has shape {array.shape}, expected ({n},) like t_ms"
                raise ValueError(msg)
        if n == 0:
            return self._empty()
        step_ms = self.interval_s * 1000
        if t_ms[0] % step_ms or (n > 1 and (np.diff(t_ms) != step_ms).any()):
            msg = (f"wwtp step: t_ms must be consecutive multiples of {step_ms} ms "
                   f"(the model's {self.interval_s} s grid)")
            raise ValueError(msg)
        s = self.spec
        grid = np.asarray(grid_ok, dtype=bool)
        switches = {"plant": grid, "blowers": np.asarray(blower_ok, dtype=bool),
                    "pumps": np.asarray(pump_ok, dtype=bool)}
        blowers = grid & switches["blowers"]
        pumps = grid & switches["pumps"]
        if not self._state.started:
            self._prod_lag = Lag(s.production_lag_h * 3600.0, float(self.interval_s),
                                 np.full(1, max(float(production[0]), 0.0)))
            self._t_in_lag = Lag(24.0 * 3600.0, float(self.interval_s),
                                 np.full(1, float(t_air_c[0])))
            self._temp_lag = Lag(s.hrt_h * 3600.0, float(self.interval_s),
                                 np.full(1, float(t_air_c[0]) + 2.0))
            self._state.started = True
        lt = local_time(t_ms, s.timezone)
        t_local = (lt.day * _DAY_MS + np.rint(lt.hod * 3_600_000.0).astype(np.int64))
        eps = self._noise.standard_normal((n, _NOISE_COLS))

        q_in, q_ww, shape = self._inflow(hod=lt.hod, day=lt.day, production=production,
                                         rain_mm_h=rain_mm_h, eps=eps)
        c_in, ph_in, temp_in = self._influent(t_ms=t_ms, shape=shape, q_ww=q_ww, q_in=q_in,
                                              t_air_c=t_air_c, eps=eps)
        mixed = self._eq_mix(np.column_stack([c_in, ph_in]))
        c_bio, ph_bio = mixed[:, :7], mixed[:, 7]
        assert self._temp_lag is not None
        temp_bio = self._temp_lag(temp_in)
        proc = self._process(t_ms=t_ms, t_local=t_local, q_in=q_in, c_bio=c_bio,
                             temp_bio=temp_bio, pumps=pumps, blowers=blowers, eps=eps)
        eff, eff_ph, eff_temp = self._effluent(c_bio, ph_bio, temp_bio, proc["do"],
                                                          eps)
        plant = self._plant_values(t_ms=t_ms, t_local=t_local, q_in=q_in, proc=proc, eff=eff,
                                   temp_bio=temp_bio, eps=eps, grid=grid, pumps=pumps,
                                   blowers=blowers)
        influent_panel = {**{k: c_in[:, i] for i, k in enumerate(CONC)}, "ph": ph_in,
                          "temp_c": temp_in}
        effluent_panel = {**{k: eff[:, i] for i, k in enumerate(CONC)}, "ph": eff_ph,
                          "temp_c": eff_temp}
        quality = {k: np.column_stack([influent_panel[k], effluent_panel[k]])
                   for k in influent_panel}
        station, station_events = self._station(t_ms=t_ms, t_local=t_local, q_in=q_in,
                                                q_out=proc["q_out"], eff=eff, eff_ph=eff_ph,
                                                eff_temp=eff_temp, grid=grid)
        events = sorted(self._plant_events(t_ms, switches) + station_events,
                        key=lambda e: (e.ts_ms, e.device_id))
        return ModelOutput(
            telemetry=(
                TelemetryBlock("wwtp", (self.plant_device,), t_ms.copy(),
                               {k: v[:, np.newaxis] for k, v in plant.items()}),
                TelemetryBlock("wwtp_quality", self.quality_devices, t_ms.copy(), quality),
                station,
            ),
            events=tuple(events),
            coupling={"load_kw": plant["load_kw"].copy(), "q_in_m3h": q_in.copy()},
        )

    def _empty(self) -> ModelOutput:
        blocks = []
        for name, devices in (("wwtp", (self.plant_device,)),
                              ("wwtp_quality", self.quality_devices),
                              ("monitoring_station", (self.station_device,))):
            fields = asset_type(name).field_names
            blocks.append(TelemetryBlock(name, devices, np.zeros(0, dtype=np.int64),
                                         {f: np.zeros((0, len(devices))) for f in fields}))
        return ModelOutput(telemetry=tuple(blocks), events=(),
                           coupling={"load_kw": np.zeros(0), "q_in_m3h": np.zeros(0)})

    def _inflow(self, *, hod: FloatArray, day: IntArray, production: FloatArray,
                rain_mm_h: FloatArray, eps: FloatArray) -> tuple[FloatArray, FloatArray,
                                                                  FloatArray]:
        s = self.spec
        shape = periodic_interp(hod, DIURNAL_SHAPE)
        assert self._prod_lag is not None
        level = self._prod_lag(np.maximum(production, 0.0))
        days, inverse = np.unique(day, return_inverse=True)
        day_level = np.array([self._day(int(d)) for d in days.tolist()])[inverse.reshape(-1)]
        noise = self._ar_flow(eps[:, _N_FLOW:_N_FLOW + 1])[:, 0]
        q_ww = np.maximum(s.q_mean_m3h * shape * level * day_level * (1.0 + 0.04 * noise), 0.0)
        rain_m3h = s.rain_area_m2 * np.maximum(rain_mm_h, 0.0) / 1000.0
        q_rain = self._rain_lag2(self._rain_lag1(rain_m3h))
        return q_ww + q_rain, q_ww, shape

    def _day(self, day: int) -> float:
        found = self._day_level.get(day)
        if found is None:
            rng = device_rng(self._seed, self.plant_device, Stream.DAY, day)
            found = math.exp(float(rng.normal(0.0, 0.04)))
            if len(self._day_level) > 32:
                self._day_level.clear()
            self._day_level[day] = found
        return found

    def _influent(self, *, t_ms: IntArray, shape: FloatArray, q_ww: FloatArray, q_in: FloatArray,
                  t_air_c: FloatArray, eps: FloatArray) -> tuple[FloatArray, FloatArray,
                                                                  FloatArray]:
        s = self.spec
        ar = self._ar_in(eps[:, [_N_COD, _N_NH4, _N_TSS, _N_PH, _N_TP]])
        swing = 1.0 + s.conc_swing * (shape - 1.0)
        means = self._conc_means()
        factor = np.empty((len(t_ms), 7))
        factor[:, _COD] = factor[:, _BOD] = 1.0 + 0.08 * ar[:, 0]
        factor[:, _NH4] = factor[:, _TN] = 1.0 + 0.08 * ar[:, 1]
        factor[:, _TSS] = 1.0 + 0.10 * ar[:, 2]
        factor[:, _TP] = factor[:, _COL] = 1.0 + 0.08 * ar[:, 4]
        ph = s.ph_in + 0.15 * ar[:, 3]
        _, dumps = self._dumps.active(t_ms)
        for interval, inside in dumps:
            kind, size = interval.draws
            if kind < 0.25:  # acid dump (plating, pickling)
                ph = np.where(inside, 3.5 + 1.5 * size, ph)
            elif kind < 0.5:  # alkaline dump (dyeing, cleaning)
                ph = np.where(inside, 9.5 + 2.0 * size, ph)
            elif kind < 0.8:  # organic shock, often coloured (food, textiles)
                boost = np.where(inside, 2.0 + size, 1.0)[:, np.newaxis]
                factor[:, [_COD, _BOD, _COL]] *= boost
            else:  # ammonia shock
                boost = np.where(inside, 1.5 + 0.5 * size, 1.0)[:, np.newaxis]
                factor[:, [_NH4, _TN]] *= boost
        dilution = np.divide(q_ww, q_in, out=np.ones_like(q_in), where=q_in > 0.0)
        conc = np.maximum(means * swing[:, np.newaxis] * factor, 0.0) * dilution[:, np.newaxis]
        assert self._t_in_lag is not None
        temp = self._t_in_lag(np.asarray(t_air_c, dtype=np.float64)) + 2.0
        return conc, np.clip(ph, 1.0, 13.0), temp

    # One flat hot loop on purpose (splitting it costs a call per step): many statements.
    def _process(self, *, t_ms: IntArray, t_local: IntArray, q_in: FloatArray,  # noqa: PLR0915
                 c_bio: FloatArray, temp_bio: FloatArray, pumps: BoolArray,
                 blowers: BoolArray, eps: FloatArray) -> dict[str, FloatArray]:
        """Run the equalisation tank, DO and PI controller (the one sequential loop)."""
        s = self.spec
        st = self._state
        do_probe = self._analysers["do"]
        windows = do_probe.windows(t_local)
        assert windows is not None
        bias = windows.rate * windows.since_h / 24.0
        errors = do_probe.errors(t_ms)
        good = ~(windows.active | errors)
        noise = 0.03 * eps[:, _N_DO]
        q_slow = self._q_slow(q_in)
        o2 = self._o2_demand(c_bio[:, _COD], c_bio[:, _NH4]) / s.v_aer_m3
        sat = do_saturation_mgl(temp_bio)
        dt_h = self.interval_s / 3600.0
        kla_air = self._kla_per_air()
        v_set = s.v_eq_m3 * s.eq_set_pct / 100.0
        ki = s.pi_kp / s.pi_ti_h
        k_out = 1.0 - math.exp(-dt_h / 0.5)
        restart = self._design_air()
        v, do, meas, air, integ, q_out = st.v_eq, st.do, st.do_meas, st.air, st.integral, \
            st.q_out
        # One plain-float loop: the tank level, the DO balance and the PI controller feed each
        # other step by step; everything else is vectorised around it. Constants are hoisted
        # into locals and min/max written as conditionals: this loop is the model's hot spot.
        inv_v_set = 1.0 / v_set
        k_level = s.eq_exponent
        q_cap = 2.5 * s.q_mean_m3h
        v_max, sp, kp = s.v_eq_m3, s.do_setpoint_mgl, s.pi_kp
        a_min, a_max = s.air_min_m3h, s.air_max_m3h
        k_air = dt_h * kla_air
        k_dil = dt_h / s.v_aer_m3
        endo = dt_h * s.our_endo_mgl_h
        ki_dt = ki * dt_h
        inv_dt = 1.0 / dt_h
        cols: tuple[list[float], ...] = ([], [], [], [], [], [])
        qb_l, v_l, do_l, meas_l, air_l, qo_l = cols
        for qi, qs, pumping, aerating, ok, b, e, oi, sa in zip(
                q_in.tolist(), q_slow.tolist(), pumps.tolist(),
                blowers.tolist(), good.tolist(), bias.tolist(), noise.tolist(),
                (dt_h * o2).tolist(), sat.tolist(), strict=True):
            if pumping:
                qb = qs * (v * inv_v_set) ** k_level
                qb = q_cap if qb > q_cap else qb
                limit = v * inv_dt + qi  # cannot pump more than the tank holds
                qb = limit if qb > limit else qb
            else:
                qb = 0.0
            v += (qi - qb) * dt_h
            v = v_max if v > v_max else v  # above full the tank overflows
            do += k_air * air * (sa - do) - endo - qb * oi - qb * k_dil * do
            do = 0.0 if do < 0.0 else do
            if ok:
                meas = do + b + e
                meas = 0.0 if meas < 0.0 else meas
            if aerating:
                err = sp - meas
                if ok:
                    integ += ki_dt * err
                air = kp * err + integ
                if air > a_max:  # clamp with anti-windup
                    air = a_max
                    integ = air - kp * err
                elif air < a_min:
                    air = a_min
                    integ = air - kp * err
            else:
                air, integ = 0.0, restart
            q_out += (qb * 0.99 - q_out) * k_out  # 1 % leaves as waste sludge
            qb_l.append(qb)
            v_l.append(v)
            do_l.append(do)
            meas_l.append(meas)
            air_l.append(air)
            qo_l.append(q_out)
        out = np.array(cols)
        st.v_eq, st.do, st.do_meas, st.air, st.integral, st.q_out = v, do, meas, air, integ, \
            q_out
        do_status = np.where(errors, float(STATUS_ERROR),
                             np.where(windows.active, float(STATUS_CALIBRATING), 0.0))
        return {"q_bio": out[0], "v_eq": out[1], "do": out[2], "do_meas": out[3],
                "air": out[4], "q_out": out[5], "do_status": do_status}

    def _effluent(self, c_bio: FloatArray, ph_bio: FloatArray, temp_bio: FloatArray,
                  do: FloatArray, eps: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Removal, the HRT lag and effluent variability; never above the lagged influent."""
        s = self.spec
        removal = self._nominal_removal()
        monod = do / (s.k_o_mgl + do)
        monod_sp = s.do_setpoint_mgl / (s.k_o_mgl + s.do_setpoint_mgl)
        temp_factor = np.minimum(1.0, s.nitrif_theta ** (temp_bio - s.nitrif_t_ref_c))
        nitrif = np.minimum(monod / monod_sp, 0.96 / s.removal_nh4) * temp_factor
        # Heterotrophs need far less oxygen (K_OH ~ 0.2 mg/L); without it only the settled,
        # particulate part (about half) of the COD/BOD is still removed.
        aerobic = 0.5 + 0.5 * (do / (0.2 + do)) / (s.do_setpoint_mgl / (0.2 + s.do_setpoint_mgl))
        eta = np.tile(removal, (len(do), 1))
        eta[:, _COD] = np.minimum(removal[_COD] * aerobic, 0.98)
        eta[:, _BOD] = np.minimum(removal[_BOD] * aerobic, 0.99)
        eta[:, _NH4] = removal[_NH4] * nitrif
        # TN leaves as NH4 when nitrification stops; 5 % is always taken up by growth.
        eta[:, _TN] = 0.05 + (removal[_TN] - 0.05) * np.minimum(nitrif, 1.0)
        lagged = self._eff_lag((1.0 - eta) * c_bio)
        ceiling = self._in_lag(c_bio)
        ar = self._ar_eff(eps[:, _N_EFF:_N_EFF + 8])
        sd = np.array([0.2, 0.25, 0.3, 0.4, 0.2, 0.3, 0.35])
        eff = np.minimum(lagged * np.exp(sd * ar[:, :7] - 0.5 * sd * sd), ceiling)
        ph = 7.3 + 0.35 * (self._ph_lag(ph_bio) - s.ph_in) + 0.15 * ar[:, 7]
        return eff, ph, temp_bio - 0.5

    def _plant_values(self, *, t_ms: IntArray, t_local: IntArray, q_in: FloatArray,
                      proc: dict[str, FloatArray], eff: FloatArray, temp_bio: FloatArray,
                      eps: FloatArray, grid: BoolArray, pumps: BoolArray,
                      blowers: BoolArray) -> dict[str, FloatArray]:
        s = self.spec
        blower_kw = s.blower_kwh_per_m3 * proc["air"]  # no air when the blowers are off
        pump_kw = pumps * (s.pump_lift_kw * proc["q_bio"] / s.q_mean_m3h + s.pump_recycle_kw)
        load_kw = blower_kw + pump_kw + grid * s.other_kw
        mlss = 3_200.0 + 250.0 * self._ar_mlss(eps[:, _N_MLSS:_N_MLSS + 1])[:, 0]
        orp = self._orp_lag(_orp(proc["do"]))
        nh4 = self._analysers["nh4_aer"].read(eff[:, _NH4], t_ms, t_local, eps[:, _N_NH4A])
        return {
            "q_in_m3h": q_in, "q_bio_m3h": proc["q_bio"],
            "eq_level_pct": np.clip(100.0 * proc["v_eq"] / s.v_eq_m3, 0.0, 100.0),
            "temp_c": temp_bio, "do_mgl": proc["do_meas"], "do_status": proc["do_status"],
            "do_setpoint_mgl": np.full(len(t_ms), s.do_setpoint_mgl), "air_m3h": proc["air"],
            "blower_kw": blower_kw, "pump_kw": pump_kw, "load_kw": load_kw,
            "running": (pumps & blowers).astype(np.float64),
            "nh4_n_mgl": nh4.value, "nh4_n_status": nh4.status, "mlss_mgl": mlss,
            "orp_mv": orp,
        }

    def _station(self, *, t_ms: IntArray, t_local: IntArray, q_in: FloatArray,
                 q_out: FloatArray, eff: FloatArray, eff_ph: FloatArray, eff_temp: FloatArray,
                 grid: BoolArray) -> tuple[TelemetryBlock, list[EventRecord]]:
        """Sample the plant at the 300 s instants as the DONRE station reports it."""
        s = self.spec
        st = self._state
        # Time the supply has been lost, from the last instant with supply (carried over).
        seen = np.where(grid, t_ms.astype(np.float64), -np.inf)
        last_ok = np.maximum.accumulate(np.maximum(seen, st.last_ok_ms))
        st.last_ok_ms = float(last_ok[-1])
        pick = np.flatnonzero(t_ms % _STATION_MS == 0)
        ts = t_ms[pick]
        k = len(ts)
        dead = (ts - last_ok[pick]) > s.ups_min * 60_000.0
        link_down, _ = self._tx.active(ts)
        eps = self._station_noise.standard_normal((k, 7))
        truths = {"q_in": q_in, "q_out": q_out, "temp": eff_temp, "ph": eff_ph,
                  "tss": eff[:, _TSS], "cod": eff[:, _COD], "nh4": eff[:, _NH4]}
        fields = {"q_in": "q_in_m3h", "q_out": "q_out_m3h", "temp": "temp_c", "ph": "ph",
                  "tss": "tss_mgl", "cod": "cod_mgl", "nh4": "nh4_n_mgl"}
        statuses = {"q_in": "q_in_status", "q_out": "q_out_status", "temp": "temp_status",
                    "ph": "ph_status", "tss": "tss_status", "cod": "cod_status",
                    "nh4": "nh4_n_status"}
        values: dict[str, FloatArray] = {}
        readings: dict[str, Reading] = {}
        for column, (name, truth) in enumerate(truths.items()):
            reading = self._analysers[name].read(truth[pick], ts, t_local[pick], eps[:, column],
                                                 dead)
            readings[fields[name]] = reading
            values[fields[name]] = reading.value
            values[statuses[name]] = reading.status
        events: list[EventRecord] = []
        for name, _status, flag in STATION_LIMITED:
            limit = self.limits[name]
            ok = limit.complies(values[name])
            values[flag] = ok.astype(np.float64)
            events.extend(self._flag_events(name, limit, ts, values[name], ok))
        values["tx_ok"] = (~(link_down | dead)).astype(np.float64)
        order = asset_type("monitoring_station").field_names
        block = TelemetryBlock("monitoring_station", (self.station_device,), ts.copy(),
                               {f: values[f][:, np.newaxis] for f in order})
        return block, events

    def _flag_events(self, name: str, limit: Limit, ts: IntArray, value: FloatArray,
                     ok: BoolArray) -> list[EventRecord]:
        st = self._state
        previous = np.concatenate([[st.station_ok[name]], ok[:-1]])
        st.station_ok[name] = bool(ok[-1]) if len(ok) else st.station_ok[name]
        events = []
        for index in np.flatnonzero(previous != ok).tolist():
            bound = limit.high if value[index] > limit.high else limit.low
            if ok[index]:
                events.append(EventRecord(int(ts[index]), self.station_device, "limit_restored",
                                          {"parameter": name, "value": float(value[index])}))
            else:
                events.append(EventRecord(int(ts[index]), self.station_device, "limit_exceeded",
                                          {"parameter": name, "value": float(value[index]),
                                           "limit": float(bound), "unit": limit.unit,
                                           "verified": limit.verified}))
        return events

    def _plant_events(self, t_ms: IntArray,
                      switches: dict[str, BoolArray]) -> list[EventRecord]:
        """Emit ``<what>_stopped`` / ``<what>_started`` when a switch changes state."""
        st = self._state
        events: list[EventRecord] = []
        for what, on in switches.items():
            previous = np.concatenate([[st.switches[what]], on[:-1]])
            st.switches[what] = bool(on[-1])
            cause = "supply" if what == "plant" else "fault"
            events.extend(EventRecord(int(t_ms[i]), self.plant_device,
                                      f"{what}_started" if on[i] else f"{what}_stopped",
                                      {"cause": cause})
                          for i in np.flatnonzero(previous != on).tolist())
        return sorted(events, key=lambda e: e.ts_ms)


def _orp(do: FloatArray | float) -> FloatArray:
    """Aeration-zone ORP from DO [mV] ([A]: +50..+150 aerobic, negative when anoxic, §4.3)."""
    d = np.maximum(np.asarray(do, dtype=np.float64), 0.0)
    return np.asarray(-120.0 + 230.0 * d / (0.25 + d))
