"""The central WWTP model: physical invariants, drivers, faults, determinism, registry ranges."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
import pytest

from parkwire import ASSET_TYPES, ValueType
from simulator.models.output import ModelOutput, TelemetryBlock
from simulator.models.wwtp import CONC, DIURNAL_SHAPE, STATION_LIMITED, WwtpModel, WwtpSpec
from simulator.models.wwtp_analysers import Analyser, AnalyserSpec
from simulator.models.wwtp_parts import IntervalSchedule, Lag, PeriodicWindows, hold
from simulator.standards import StandardError
from tests.simulator.conftest import MONDAY_MS

MIN = 60_000
DAY = 1440
WEEK = 7 * DAY
OUTAGE = (4 * DAY + 600, 4 * DAY + 780)  # Friday 10:00-13:00 local, 3 h without supply
RAIN = (2 * DAY + 300, 2 * DAY + 360)  # Wednesday 05:00-06:00 local, 20 mm/h


@dataclass(frozen=True)
class Run:
    """Drivers and output of one simulated stretch."""

    t_ms: np.ndarray
    grid: np.ndarray
    out: ModelOutput

    def block(self, asset_type: str) -> TelemetryBlock:
        """Return the telemetry block of *asset_type*."""
        return next(b for b in self.out.telemetry if b.asset_type == asset_type)

    def plant(self, name: str) -> np.ndarray:
        """Return one process field as a vector."""
        return self.block("wwtp").values[name][:, 0]

    def quality(self, name: str, location: int) -> np.ndarray:
        """Return one quality field at a location (0 influent, 1 effluent)."""
        return self.block("wwtp_quality").values[name][:, location]


def _drivers(n: int, *, rain: bool = True, outage: bool = True,
             t_air: float = 27.0) -> dict[str, np.ndarray]:
    steps = np.arange(n)
    production = np.where((steps // DAY) % 7 == 6, 0.7, 1.0)  # Sunday at 0.7
    rain_mm_h = np.zeros(n)
    if rain:
        rain_mm_h[RAIN[0]:RAIN[1]] = 20.0
    grid = np.ones(n, dtype=bool)
    if outage:
        grid[OUTAGE[0]:OUTAGE[1]] = False
    t_air_c = t_air + 3.0 * np.sin(2 * np.pi * (steps / DAY - 0.375))
    return {"production": production, "rain_mm_h": rain_mm_h, "t_air_c": t_air_c,
            "grid_ok": grid}


def _run(spec: WwtpSpec, n: int, seed: int = 7, **kwargs: object) -> Run:
    drivers = _drivers(n, **kwargs)  # type: ignore[arg-type]
    t_ms = MONDAY_MS + MIN * np.arange(n, dtype=np.int64)
    out = WwtpModel(spec, seed, MONDAY_MS).step(t_ms, **drivers)
    return Run(t_ms, drivers["grid_ok"], out)


@pytest.fixture(scope="module")
def week() -> Run:
    """One reference-park week from Monday: Sunday at 0.7, a rain burst, a 3 h outage."""
    return _run(WwtpSpec(), WEEK)


@pytest.fixture(scope="module")
def dry_week() -> Run:
    """The same week and seed without rain and without the outage."""
    return _run(WwtpSpec(), WEEK, rain=False, outage=False)


def test_diurnal_shape_is_the_damped_bsm1_swing() -> None:
    """The hourly shape has mean 1, BSM1's damped extremes (0.78-1.31) and day-time peaks."""
    shape = np.array(DIURNAL_SHAPE)
    assert shape.mean() == pytest.approx(1.0)
    assert shape.min() == pytest.approx(0.78, abs=0.03)
    assert shape.max() == pytest.approx(1.31, abs=0.03)
    assert 9 <= int(np.argmax(shape[:12])) <= 11
    assert 14 <= 12 + int(np.argmax(shape[12:])) <= 16


def test_every_value_is_inside_the_registry_range(week: Run) -> None:
    """Over a simulated week every field of every block is present and plausible."""
    for block in week.out.telemetry:
        asset = ASSET_TYPES[block.asset_type]
        assert set(block.values) == set(asset.field_names)
        for name, quantity in asset.quantities.items():
            values = block.values[name]
            assert values.shape == (len(block.t_ms), len(block.device_ids))
            assert np.isfinite(values).all(), name
            assert values.min() >= quantity.minimum, name
            assert values.max() <= quantity.maximum, name
            if quantity.value_type is not ValueType.FLOAT:
                assert np.array_equal(values, np.round(values)), name


def test_flows_are_never_negative(week: Run) -> None:
    """Inflow, flow to biology, effluent flow and station flows are >= 0."""
    for name in ("q_in_m3h", "q_bio_m3h"):
        assert week.plant(name).min() >= 0.0
    station = week.block("monitoring_station").values
    assert station["q_in_m3h"].min() >= 0.0
    assert station["q_out_m3h"].min() >= 0.0


def test_mean_flow_and_sunday_factor(dry_week: Run) -> None:
    """Weekdays average the 500 m3/h design mean; Sunday's 0.7 production comes through."""
    q = dry_week.plant("q_in_m3h").reshape(7, DAY).mean(axis=1)
    assert q[:5].mean() == pytest.approx(500.0, rel=0.06)
    # The 6 h lag carries Saturday into early Sunday; the day as a whole is well below.
    assert q[6] / q[:5].mean() == pytest.approx(0.78, abs=0.05)


def test_rain_adds_inflow_for_hours(week: Run, dry_week: Run) -> None:
    """A 20 mm/h hour adds 10-30 % to the inflow at its peak, above 5 % for 2-6 h."""
    extra = week.plant("q_in_m3h") - dry_week.plant("q_in_m3h")
    rain_window = slice(RAIN[0] - 60, RAIN[0] + 12 * 60)
    assert np.abs(extra[: RAIN[0]]).max() == 0.0  # same seed: only the rain differs before
    relative = extra[rain_window] / 500.0
    assert 0.10 <= relative.max() <= 0.30
    hours_above = (relative > 0.05).sum() / 60.0
    assert 2.0 <= hours_above <= 6.0


def test_equalisation_smooths_the_flow_to_biology(dry_week: Run) -> None:
    """The flow to biology keeps within about +-10 % while the inflow swings +-30 %."""
    weekdays = slice(DAY, 5 * DAY)
    q_in = dry_week.plant("q_in_m3h")[weekdays]
    q_bio = dry_week.plant("q_bio_m3h")[weekdays]
    assert np.percentile(q_in, 95) / np.percentile(q_in, 5) > 1.5
    lo, hi = np.percentile(q_bio / q_bio.mean(), [5, 95])
    assert lo > 0.88
    assert hi < 1.12


def test_equalisation_mass_balance(week: Run) -> None:
    """The tank's volume change equals inflow minus pumped flow (no overflow in the week)."""
    spec = WwtpSpec()
    level = week.plant("eq_level_pct")
    assert level.max() < 100.0
    volume = level / 100.0 * spec.v_eq_m3
    net = np.cumsum(week.plant("q_in_m3h") - week.plant("q_bio_m3h")) / 60.0
    np.testing.assert_allclose(volume - volume[0], net - net[0], atol=1e-6)


def test_effluent_never_worse_than_what_came_in(week: Run) -> None:
    """Each effluent concentration stays below the influent lagged through the plant."""
    spec = WwtpSpec()
    influent = np.column_stack([week.quality(k, 0) for k in CONC])
    model_means = np.array([spec.cod_in_mgl, spec.cod_in_mgl * spec.bod_cod, spec.tss_in_mgl,
                            spec.nh4_in_mgl, spec.nh4_in_mgl * spec.tn_nh4, spec.tp_in_mgl,
                            spec.colour_in_ptco])
    mixed = Lag(spec.eq_mix_h * 3600, 60, model_means)(influent)
    ceiling = Lag(spec.hrt_h * 3600, 60, model_means)(mixed)
    effluent = np.column_stack([week.quality(k, 1) for k in CONC])
    assert (effluent <= ceiling * (1 + 1e-12)).all()


def test_effluent_below_influent_in_normal_operation(dry_week: Run) -> None:
    """Without faults, every effluent concentration is below the influent at every minute."""
    for name in CONC:
        assert (dry_week.quality(name, 1) < dry_week.quality(name, 0)).all(), name


def test_removal_and_effluent_levels(dry_week: Run) -> None:
    """COD removal lands in 85-92 %; effluent means sit near domain.md §4.3's well-run plant."""
    cod_in, cod_out = dry_week.quality("cod_mgl", 0), dry_week.quality("cod_mgl", 1)
    assert 0.85 <= 1 - cod_out.mean() / cod_in.mean() <= 0.92
    assert dry_week.quality("nh4_n_mgl", 1).mean() < 2.5
    assert dry_week.quality("tss_mgl", 1).mean() == pytest.approx(12.0, rel=0.3)
    assert dry_week.quality("ph", 1).mean() == pytest.approx(7.3, abs=0.15)


def test_do_control_holds_the_setpoint(dry_week: Run) -> None:
    """With supply, the PI-controlled blowers keep the measured DO near 2.0 mg/L."""
    do = dry_week.plant("do_mgl")[dry_week.plant("do_status") == 0]
    assert np.median(do) == pytest.approx(2.0, abs=0.1)
    assert dry_week.plant("air_m3h").min() >= WwtpSpec().air_min_m3h


def test_grid_loss_stops_blowers_and_do_falls(week: Run) -> None:
    """No supply: blowers, pumps and load at 0; DO < 0.3 mg/L within 30 min; NH4 then rises."""
    start, end = OUTAGE
    off = slice(start, end)
    for name in ("blower_kw", "pump_kw", "load_kw", "air_m3h", "running", "q_bio_m3h"):
        assert (week.plant(name)[off] == 0.0).all(), name
    assert (week.plant("running")[:start] == 1.0).all()
    assert week.plant("do_mgl")[start + 30] < 0.3
    nh4 = week.quality("nh4_n_mgl", 1)
    assert nh4[end + 60] > nh4[start] + 2.0
    hourly = nh4[start:end + 1:60]
    assert (np.diff(hourly) > 0).all()
    assert (week.out.coupling["load_kw"][off] == 0.0).all()
    events = [(e.ts_ms, e.event) for e in week.out.events if e.device_id == "wwtp-plant"]
    assert events == [(int(week.t_ms[start]), "plant_stopped"),
                      (int(week.t_ms[end]), "plant_started")]


def test_coupling_outputs(week: Run) -> None:
    """load_kw is the plant's total load (blowers + pumps + other); q_in_m3h the inflow."""
    coupling = week.out.coupling
    assert set(coupling) == {"load_kw", "q_in_m3h"}
    np.testing.assert_array_equal(coupling["load_kw"], week.plant("load_kw"))
    np.testing.assert_array_equal(coupling["q_in_m3h"], week.plant("q_in_m3h"))
    on = week.grid
    np.testing.assert_allclose(week.plant("load_kw")[on],
                               (week.plant("blower_kw") + week.plant("pump_kw"))[on]
                               + WwtpSpec().other_kw)
    assert 120.0 < week.plant("load_kw")[on].mean() < 300.0


def test_station_record_on_the_300_s_grid(week: Run) -> None:
    """The station block holds exactly the instants divisible by 300 s."""
    station = week.block("monitoring_station")
    assert (station.t_ms % 300_000 == 0).all()
    assert len(station.t_ms) == WEEK // 5
    assert station.device_ids == ("wwtp-station",)


def test_compliance_flags_agree_with_limits(week: Run) -> None:
    """Each *_ok flag is exactly 'reported value within the configured column-A limit'."""
    limits = WwtpSpec().limits()
    values = week.block("monitoring_station").values
    for name, _, flag in STATION_LIMITED:
        expected = limits[name].complies(values[name][:, 0])
        np.testing.assert_array_equal(values[flag][:, 0] == 1.0, expected)


def test_outage_beyond_ups_marks_station_errors(week: Run) -> None:
    """After the UPS runs out the station reports status 02, frozen values and tx_ok = 0."""
    station = week.block("monitoring_station")
    values = station.values
    minutes = (station.t_ms - MONDAY_MS) // MIN
    dead = (minutes > OUTAGE[0] + 60) & (minutes < OUTAGE[1])
    assert dead.sum() > 20
    for name in ("q_in_status", "cod_status", "nh4_n_status", "ph_status"):
        assert (values[name][dead, 0] == 2.0).all()
    assert (values["tx_ok"][dead, 0] == 0.0).all()
    assert np.ptp(values["cod_mgl"][dead, 0]) == 0.0


def test_calibration_freezes_the_value(week: Run) -> None:
    """Status 01 runs last 10-30 min and repeat the last measured value throughout."""
    values = week.block("monitoring_station").values
    seen = 0
    for stem, field in (("ph", "ph"), ("cod", "cod_mgl"), ("nh4_n", "nh4_n_mgl"),
                        ("tss", "tss_mgl")):
        status = values[f"{stem}_status"][:, 0]
        reading = values[field][:, 0]
        calibrating = np.flatnonzero(status == 1.0)
        for run in np.split(calibrating, np.flatnonzero(np.diff(calibrating) > 1) + 1):
            if len(run) == 0 or run[0] == 0:
                continue
            seen += 1
            assert 1 <= len(run) <= 6  # 5-min records inside a 10-30 min window
            assert (reading[run] == reading[run[0] - 1]).all()
    assert seen >= 4  # one per analyser per week


def test_exceedance_events_follow_the_flags(week: Run) -> None:
    """limit_exceeded / limit_restored events mark each flag change, with the limit."""
    values = week.block("monitoring_station").values
    ts = week.block("monitoring_station").t_ms
    events = [e for e in week.out.events if e.device_id == "wwtp-station"]
    expected: list[tuple[int, str, str]] = []
    for name, _, flag in STATION_LIMITED:
        ok = values[flag][:, 0] == 1.0
        previous = np.concatenate([[True], ok[:-1]])
        expected.extend((int(ts[i]), name, "limit_restored" if ok[i] else "limit_exceeded")
                        for i in np.flatnonzero(previous != ok))
    assert sorted((e.ts_ms, e.data["parameter"], e.event) for e in events) == sorted(expected)
    assert any(e == "limit_exceeded" for _, _, e in expected)  # the outage breaches NH4
    exceeded = next(e for e in events if e.event == "limit_exceeded")
    assert exceeded.data["limit"] == WwtpSpec().limits()[str(exceeded.data["parameter"])].high
    assert [e.ts_ms for e in week.out.events] == sorted(e.ts_ms for e in week.out.events)


def test_cold_water_slows_nitrification() -> None:
    """At 8 degC air (water ~10 degC) effluent NH4 is far higher than at 27 degC."""
    cold = _run(WwtpSpec(), 3 * DAY, rain=False, outage=False, t_air=8.0)
    warm = _run(WwtpSpec(), 3 * DAY, rain=False, outage=False, t_air=27.0)
    last_day = slice(2 * DAY, 3 * DAY)
    assert (cold.quality("nh4_n_mgl", 1)[last_day].mean()
            > 2.0 * warm.quality("nh4_n_mgl", 1)[last_day].mean())


def test_tenant_dumps_spike_the_influent() -> None:
    """Frequent dumps push influent pH outside 6-9 and COD well above its normal swing."""
    run = _run(WwtpSpec(dumps_per_year=2000.0), 3 * DAY, rain=False, outage=False)
    ph = run.quality("ph", 0)
    assert ((ph < 6.0) | (ph > 9.0)).any()
    base = _run(WwtpSpec(dumps_per_year=0.0), 3 * DAY, rain=False, outage=False)
    assert run.quality("cod_mgl", 0).max() > 1.5 * base.quality("cod_mgl", 0).max()


def test_determinism_across_window_splits() -> None:
    """One call over N steps equals any split of them: telemetry and events, bit for bit."""
    n = 2 * DAY
    spec = WwtpSpec(dumps_per_year=400.0, tx_outages_per_year=300.0)
    drivers = _drivers(n)
    drivers["grid_ok"][700:820] = False
    t_ms = MONDAY_MS + MIN * np.arange(n, dtype=np.int64)
    whole = WwtpModel(spec, 11, MONDAY_MS).step(t_ms, **drivers)
    model = WwtpModel(spec, 11, MONDAY_MS)
    edges = [0, 1, 3, 299, 300, 301, 719, 1000, 1441, 2000, n]
    parts = [model.step(t_ms[a:b], **{k: v[a:b] for k, v in drivers.items()})
             for a, b in itertools.pairwise(edges)]
    for index, block in enumerate(whole.telemetry):
        joined_t = np.concatenate([p.telemetry[index].t_ms for p in parts])
        np.testing.assert_array_equal(joined_t, block.t_ms)
        for name, values in block.values.items():
            joined = np.concatenate([p.telemetry[index].values[name] for p in parts])
            assert np.array_equal(joined, values), (block.asset_type, name)
    assert [e for p in parts for e in p.events] == list(whole.events)
    for key in whole.coupling:
        np.testing.assert_array_equal(np.concatenate([p.coupling[key] for p in parts]),
                                      whole.coupling[key])


def test_seeds_differ() -> None:
    """Two seeds give different plants; the same seed gives the same plant."""
    a = _run(WwtpSpec(), DAY, seed=1).plant("q_in_m3h")
    b = _run(WwtpSpec(), DAY, seed=2).plant("q_in_m3h")
    c = _run(WwtpSpec(), DAY, seed=1).plant("q_in_m3h")
    assert not np.array_equal(a, b)
    assert np.array_equal(a, c)


def test_empty_step_returns_empty_blocks() -> None:
    """An empty window gives empty blocks with every field, and empty coupling arrays."""
    model = WwtpModel(WwtpSpec(), 1, MONDAY_MS)
    empty = np.zeros(0)
    out = model.step(np.zeros(0, dtype=np.int64), production=empty, rain_mm_h=empty,
                     t_air_c=empty, grid_ok=np.zeros(0, dtype=bool))
    assert [b.asset_type for b in out.telemetry] == ["wwtp", "wwtp_quality",
                                                      "monitoring_station"]
    for block in out.telemetry:
        assert set(block.values) == set(ASSET_TYPES[block.asset_type].field_names)
        assert all(v.shape == (0, len(block.device_ids)) for v in block.values.values())
    assert out.coupling["load_kw"].shape == (0,)


def test_window_without_station_instant_has_an_empty_station_block() -> None:
    """Four minutes off the 300 s grid yield process data but no station record."""
    n = 4
    t_ms = MONDAY_MS + MIN + MIN * np.arange(n, dtype=np.int64)
    out = WwtpModel(WwtpSpec(), 1, MONDAY_MS).step(t_ms, **_drivers(n))
    station = next(b for b in out.telemetry if b.asset_type == "monitoring_station")
    assert len(station.t_ms) == 0
    assert station.values["cod_mgl"].shape == (0, 1)
    assert out.telemetry[0].values["do_mgl"].shape == (4, 1)


def test_driver_shape_mismatch_is_named() -> None:
    """A driver of the wrong length is refused with its name."""
    model = WwtpModel(WwtpSpec(), 1, MONDAY_MS)
    t_ms = MONDAY_MS + MIN * np.arange(3, dtype=np.int64)
    drivers = _drivers(3)
    drivers["rain_mm_h"] = np.zeros(2)
    with pytest.raises(ValueError, match=r"rain_mm_h has shape \(2,\), expected \(3,\)"):
        model.step(t_ms, **drivers)


def test_devices_and_tags() -> None:
    """Four devices with wwtp- ids; the station tag names the standard and column."""
    model = WwtpModel(WwtpSpec(), 1, MONDAY_MS)
    assert [(d.device_id, d.asset_type) for d in model.devices] == [
        ("wwtp-plant", "wwtp"), ("wwtp-influent", "wwtp_quality"),
        ("wwtp-effluent", "wwtp_quality"), ("wwtp-station", "monitoring_station")]
    assert model.devices[3].tags == {"location": "outfall", "standard": "qcvn40_2011-a"}
    assert model.interval_s == 60


def test_spec_limits_configurable() -> None:
    """Column B with Kq/Kf looked up from the flows gives Cmax = C x Kq x Kf."""
    spec = WwtpSpec(column="B", kq=None, kf=None, receiving_flow_m3s=30.0)
    limits = spec.limits()
    assert limits["cod_mgl"].high == pytest.approx(150 * 0.9 * 0.9)
    assert limits["ph"].high == 9.0
    assert WwtpSpec(kq=None, kf=None).limits()["cod_mgl"].high == pytest.approx(75 * 0.9)
    assert WwtpSpec().limits()["cod_mgl"].high == 75.0


def _analyser(spec: AnalyserSpec, seed: int = 3) -> Analyser:
    return Analyser(spec, seed=seed, stream_id="test.probe", start_ms=MONDAY_MS,
                    calibration_min=10.0, calibration_max=30.0, error_min_s=1800.0,
                    error_max_s=6 * 3600.0, initial=1.0)


def _instants(days: int, step_min: int = 5) -> tuple[np.ndarray, np.ndarray]:
    t_ms = MONDAY_MS + step_min * MIN * np.arange(days * DAY // step_min, dtype=np.int64)
    return t_ms, t_ms + 7 * 3_600_000  # Vietnam local time (UTC+7, no DST)


def test_do_probe_fouling_drifts_about_one_mg_per_month_and_resets() -> None:
    """The fouling bias grows ~1 mg/L per month, then steps back to 0 after each cleaning."""
    spec = AnalyserSpec("do", 0.0, drift_per_day=-1.0 / 30.0, drift_signed=False,
                        period_weeks=4, errors_per_year=0.0)
    probe = _analyser(spec)
    t_ms, t_local = _instants(84)
    reading = probe.read(np.full(len(t_ms), 2.0), t_ms, t_local, np.zeros(len(t_ms)))
    bias = reading.bias
    assert bias.max() <= 0.0
    assert -3.0 < bias.min() < -0.3  # up to ~4-8 weeks of fouling at 0.5-1.5x the rate
    resets = np.flatnonzero(np.diff(bias) > 0.2)
    assert len(resets) >= 2  # one cleaning per 4 weeks
    gaps_days = np.diff(t_ms[resets]) / 86_400_000
    assert ((gaps_days > 7) & (gaps_days < 53)).all()
    for index in resets:
        assert abs(bias[index + 1]) < 0.05
    calibrating = reading.status == 1.0
    assert 2 * len(resets) <= calibrating.sum() <= 7 * len(resets)
    good = reading.status == 0.0
    np.testing.assert_allclose(reading.value[good], np.maximum(2.0 + bias[good], 0.0))


def test_errors_hold_the_value_and_set_status_02() -> None:
    """In an error episode the status is 02 and the reading repeats the last good value."""
    spec = AnalyserSpec("cod", 0.0, 0.0, period_weeks=0, errors_per_year=200.0)
    probe = _analyser(spec)
    t_ms, t_local = _instants(14)
    true = np.linspace(20.0, 40.0, len(t_ms))
    reading = probe.read(true, t_ms, t_local, np.zeros(len(t_ms)))
    error = reading.status == 2.0
    assert error.any()
    assert not (reading.status == 1.0).any()
    starts = np.flatnonzero(error & ~np.concatenate([[False], error[:-1]]))
    for start in starts[starts > 0]:
        stop = start
        while stop < len(error) and error[stop]:
            stop += 1
        assert (reading.value[start:stop] == true[start - 1]).all()
    np.testing.assert_array_equal(reading.value[~error], true[~error])


def test_forced_error_and_initial_hold() -> None:
    """A forced error from the first instant holds the configured initial value."""
    probe = _analyser(AnalyserSpec("q_in", 0.0, period_weeks=0, errors_per_year=0.0))
    t_ms, t_local = _instants(1)
    forced = np.zeros(len(t_ms), dtype=bool)
    forced[:10] = True
    reading = probe.read(np.full(len(t_ms), 5.0), t_ms, t_local, np.zeros(len(t_ms)), forced)
    assert (reading.value[:10] == 1.0).all()
    assert (reading.status[:10] == 2.0).all()
    assert (reading.value[10:] == 5.0).all()
    assert probe.windows(t_local) is None


def test_hold_and_schedule_helpers() -> None:
    """hold() forward-fills bad readings; a zero-rate schedule never fires."""
    held, last = hold(np.array([1.0, 2.0, 3.0, 4.0]), np.array([False, True, False, True]), 9.0)
    np.testing.assert_array_equal(held, [9.0, 2.0, 2.0, 4.0])
    assert last == 4.0
    empty, same = hold(np.zeros(0), np.zeros(0, dtype=bool), 5.0)
    assert (len(empty), same) == (0, 5.0)
    never = IntervalSchedule(np.random.default_rng(0), 0.0, min_s=60.0, max_s=120.0,
                             start_ms=0)
    mask, touching = never.active(np.arange(0, 10**9, 10**7, dtype=np.int64))
    assert not mask.any()
    assert touching == []
    assert never.active(np.zeros(0, dtype=np.int64))[0].shape == (0,)


def test_weekly_calibration_windows_on_working_hours() -> None:
    """Weekly windows fall Monday-Friday between 08:00 and 16:30 local, 10-30 min long."""
    windows = PeriodicWindows(5, "test.ph", period_weeks=1, min_min=10.0, max_min=30.0,
                              rate=lambda _rng: 0.0)
    _, t_local = _instants(28, step_min=1)
    active = windows.at(t_local).active
    local_minute = (t_local // MIN) % DAY
    weekday = ((t_local // 86_400_000) + 3) % 7
    assert (weekday[active] < 5).all()
    assert (local_minute[active] >= 8 * 60).all()
    assert (local_minute[active] < 16 * 60 + 30).all()
    runs = np.split(np.flatnonzero(active), np.flatnonzero(np.diff(np.flatnonzero(active)) > 1)
                    + 1)
    assert len(runs) == 4
    assert all(10 <= len(r) <= 30 for r in runs)


def test_blower_limits_clamp_the_air_flow() -> None:
    """Too small a blower cannot hold 2 mg/L; a high turndown limit over-aerates."""
    small = _run(WwtpSpec(air_max_m3h=2500.0), DAY, rain=False, outage=False)
    assert small.plant("air_m3h").max() == 2500.0
    assert np.median(small.plant("do_mgl")) < 1.0
    big = _run(WwtpSpec(air_min_m3h=9000.0), DAY, rain=False, outage=False)
    assert big.plant("air_m3h").min() == 9000.0
    assert np.median(big.plant("do_mgl")) > 2.5


def test_long_runs_keep_their_caches_bounded() -> None:
    """Stepping day by day for six weeks keeps working past the day and block caches."""
    model = WwtpModel(WwtpSpec(), 2, MONDAY_MS)
    for day in range(42):
        t_ms = MONDAY_MS + MIN * (day * DAY + np.arange(DAY, dtype=np.int64))
        out = model.step(t_ms, **_drivers(DAY, rain=False, outage=False))
    assert out.telemetry[0].values["do_mgl"].shape == (DAY, 1)
    assert len(model._day_level) <= 33


def _fault_run(**faults: slice) -> Run:
    n = 2 * DAY
    drivers: dict[str, np.ndarray] = dict(_drivers(n, rain=False, outage=False))
    for name, window in faults.items():
        flag = np.ones(n, dtype=bool)
        flag[window] = False
        drivers[name] = flag
    t_ms = MONDAY_MS + MIN * np.arange(n, dtype=np.int64)
    out = WwtpModel(WwtpSpec(), 7, MONDAY_MS).step(t_ms, **drivers)
    return Run(t_ms, drivers["grid_ok"], out)


def test_blower_failure_starves_the_biology() -> None:
    """Blowers failed, pumps running: no air, DO < 0.3 within 30 min, effluent NH4 rises."""
    window = slice(DAY + 600, DAY + 840)
    run = _fault_run(blower_ok=window)
    assert (run.plant("blower_kw")[window] == 0.0).all()
    assert (run.plant("pump_kw")[window] > 0.0).all()
    assert (run.plant("running")[window] == 0.0).all()
    assert run.plant("do_mgl")[window.start + 30] < 0.3
    nh4 = run.quality("nh4_n_mgl", 1)
    assert nh4[window.stop] > nh4[window.start] + 1.5
    events = [(e.event, e.data["cause"]) for e in run.out.events if e.device_id == "wwtp-plant"]
    assert events == [("blowers_stopped", "fault"), ("blowers_started", "fault")]


def test_pump_failure_fills_the_equalisation_tank() -> None:
    """Pumps failed, blowers running: no flow to biology, the tank level climbs, DO rises."""
    window = slice(DAY + 480, DAY + 720)
    run = _fault_run(pump_ok=window)
    assert (run.plant("q_bio_m3h")[window] == 0.0).all()
    assert (run.plant("pump_kw")[window] == 0.0).all()
    level = run.plant("eq_level_pct")
    assert level[window.stop - 1] > level[window.start] + 10.0
    assert run.plant("do_mgl")[window.stop - 1] > 2.0
    assert (run.plant("blower_kw")[window] > 0.0).all()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("v_aer_m3", 0.0, "WwtpSpec.v_aer_m3 must be > 0, got 0.0"),
    ("removal_cod", 1.2, "WwtpSpec.removal_cod must be a fraction in [0, 1), got 1.2"),
    ("air_min_m3h", 20_000.0, "WwtpSpec.air_min_m3h must lie in [0, air_max_m3h]"),
    ("eq_set_pct", 100.0, "WwtpSpec.eq_set_pct must be below 100"),
    ("do_cleaning_weeks", 0, "WwtpSpec.do_cleaning_weeks must be >= 1"),
])
def test_bad_spec_is_refused_with_the_field_name(field: str, value: float, message: str) -> None:
    """An impossible plant parameter raises ValueError naming the field and the value."""
    with pytest.raises(ValueError, match=re.escape(message)):
        WwtpSpec(**{field: value})  # type: ignore[arg-type]


def test_unknown_column_is_refused() -> None:
    """A column the standard does not define is refused when the model is built."""
    with pytest.raises(StandardError, match="unknown column 'C'"):
        WwtpModel(WwtpSpec(column="C"), 1, MONDAY_MS)


def test_tet_week_lowers_the_inflow_without_draining_the_tank() -> None:
    """A week at production 0.3 brings the inflow to ~0.3 of normal; the tank never runs dry."""
    n = 12 * DAY
    drivers = _drivers(n, rain=False, outage=False)
    drivers["production"] = np.where((np.arange(n) >= 2 * DAY) & (np.arange(n) < 9 * DAY),
                                     0.3, 1.0)
    t_ms = MONDAY_MS + MIN * np.arange(n, dtype=np.int64)
    out = WwtpModel(WwtpSpec(), 3, MONDAY_MS).step(t_ms, **drivers)
    plant = out.telemetry[0].values
    daily = plant["q_in_m3h"][:, 0].reshape(12, DAY).mean(axis=1)
    assert daily[4:9].mean() / daily[:2].mean() == pytest.approx(0.3, abs=0.04)
    assert plant["eq_level_pct"][:, 0].min() > 1.0
    q_bio = plant["q_bio_m3h"][:, 0].reshape(12, DAY).mean(axis=1)
    assert q_bio[6:9].mean() == pytest.approx(daily[6:9].mean(), rel=0.15)


@pytest.mark.parametrize("offset_ms", [10_000, 0])
def test_off_grid_instants_are_refused(offset_ms: int) -> None:
    """Instants off the 60 s grid, or with a gap, are refused with the grid named."""
    model = WwtpModel(WwtpSpec(), 1, MONDAY_MS)
    t_ms = MONDAY_MS + offset_ms + MIN * np.array([0, 1, 3], dtype=np.int64)
    with pytest.raises(ValueError, match="consecutive multiples of 60000 ms"):
        model.step(t_ms, **_drivers(3))
