"""Rooftop PV model: physical invariants, states and faults, zero export, determinism, ranges."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from parkwire import asset_type
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
from simulator.models.output import ModelOutput
from simulator.models.solar import INVERTER, STATION, SolarModel
from simulator.models.solar_fleet import (
    REFPARK_TENANTS,
    MetStationSpec,
    RoofSpec,
    SolarSpec,
    default_fleet,
)
from simulator.models.weather import Weather, WeatherModel, WeatherSpec

JULY = 1_751_302_800_000  # 2025-07-01 00:00 +07
JANUARY = 1_735_664_400_000  # 2025-01-01 00:00 +07
DAY_MS = 86_400_000

ROOFS = (
    RoofSpec("roof-t001", "t001", 132.0, n_inverters=1, inverter_kw=110.0),
    RoofSpec("roof-t002", "t002", 240.0, tilt_deg=5.0, azimuth_deg=90.0, east_west=True,
             n_inverters=2, inverter_kw=100.0),
)


def small_spec(**changes: object) -> SolarSpec:
    """Two roofs (south, east/west), three inverters, one station, no random trips."""
    base = SolarSpec(roofs=ROOFS, iso_trip_prob=0.0, interval_s=60)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def instants(start: int, days: float, step_s: int = 60) -> np.ndarray:
    """Instants from *start* over *days* every *step_s* seconds."""
    return start + np.arange(0, int(days * 86_400), step_s, dtype=np.int64) * 1000


def weather_for(t: np.ndarray, *, seed: int = 1, **changes: object) -> Weather:
    """The park weather at *t*."""
    spec = dataclasses.replace(WeatherSpec(), **changes)  # type: ignore[arg-type]
    return WeatherModel(spec, seed, int(t[0])).step(t)


def run(spec: SolarSpec, t: np.ndarray, weather: Weather, **drivers: object) -> ModelOutput:
    """One step call over *t*."""
    return SolarModel(spec, 7, int(t[0])).step(t, weather=weather, **drivers)  # type: ignore[arg-type]


def block(output: ModelOutput, asset: str) -> dict[str, np.ndarray]:
    """The values of *output*'s block of *asset*."""
    return next(b for b in output.telemetry if b.asset_type == asset).values


def test_devices_and_fields_follow_the_registry() -> None:
    """Inverters and stations are declared with tags, and blocks carry every registry field."""
    model = SolarModel(small_spec(), 1, JULY)
    assert model.inverter_ids == ("inv-t001-01", "inv-t002-01", "inv-t002-02")
    assert [d.asset_type for d in model.devices] == [INVERTER] * 3 + [STATION]
    assert model.devices[1].tags == {"tenant_id": "t002", "roof_id": "roof-t002"}
    t = instants(JULY, 0.1)
    output = model.step(t, weather=weather_for(t))
    for telemetry in output.telemetry:
        assert set(telemetry.values) == set(asset_type(telemetry.asset_type).field_names)
        for values in telemetry.values.values():
            assert values.shape == (t.size, len(telemetry.device_ids))


def test_pv_is_zero_at_night_and_sleeping() -> None:
    """With the sun down every inverter sleeps and delivers nothing."""
    t = instants(JULY, 2)
    weather = weather_for(t)
    values = block(run(small_spec(), t, weather), INVERTER)
    night = weather.apparent_zenith > 92.0
    assert night.any()
    assert np.all(values["W"][night] == 0.0)
    assert np.all(values["DCW"][night] == 0.0)
    assert np.all(values["St"][night] == ST_SLEEPING)
    assert np.all(values["DCV"][night] == 0.0)


def test_ac_never_exceeds_the_inverter_rating() -> None:
    """Even on an oversized array under cloud enhancement, W stays at or below the rating."""
    roof = RoofSpec("roof-t009", "t009", 200.0, n_inverters=1, inverter_kw=110.0)
    t = instants(JULY, 3)
    weather = weather_for(t)
    values = block(run(small_spec(roofs=(roof,)), t, weather), INVERTER)
    assert values["W"].max() <= 110_000.0 + 1e-6
    assert values["W"].max() == pytest.approx(110_000.0)  # it does clip
    assert np.all(values["VA"] >= values["W"])


def test_wh_is_the_integral_of_w() -> None:
    """WH grows by W x interval every step, carried across calls."""
    t = instants(JULY, 1)
    weather = weather_for(t)
    model = SolarModel(small_spec(), 3, JULY)
    first = block(model.step(t[:500], weather=_cut(weather, 0, 500)), INVERTER)
    rest = block(model.step(t[500:], weather=_cut(weather, 500, t.size)), INVERTER)
    wh = np.vstack([first["WH"], rest["WH"]])
    w = np.vstack([first["W"], rest["W"]])
    np.testing.assert_allclose(np.diff(wh, axis=0), w[1:] * 60.0 / 3600.0, rtol=0, atol=1e-6)
    assert np.all(wh[0] > 0.0)  # the counters start from a commissioning total


def test_zero_export_keeps_ac_below_the_tenant_load() -> None:
    """With a small tenant load, AC <= 0.98 x load, the rest is curtailed, St is THROTTLED."""
    t = instants(JULY, 1)
    weather = weather_for(t, kc_override=1.0)
    load = np.column_stack([np.full(t.size, 40.0), np.full(t.size, 500.0)])
    output = run(small_spec(), t, weather, tenant_load_kw=load)
    ac = output.coupling["pv_ac_kw"]
    curtailed = output.coupling["pv_curtailed_kw"]
    assert np.all(ac <= 0.98 * load + 1e-9)
    assert curtailed[:, 0].max() > 30.0
    assert np.all(curtailed >= -1e-9)
    free = run(small_spec(), t, weather)
    np.testing.assert_allclose(ac + curtailed, free.coupling["pv_ac_kw"], atol=1e-9)
    values = block(output, INVERTER)
    throttled = curtailed[:, 0] > 1e-6
    assert np.all(values["St"][throttled, 0] == ST_THROTTLED)
    np.testing.assert_allclose(values["W"][:, 0] / 1000.0, ac[:, 0])
    # The big tenant absorbs everything: no curtailment, MPPT at noon.
    assert curtailed[:, 1].max() == 0.0
    assert ST_MPPT in values["St"][:, 1]


def test_zero_export_is_per_tenant_and_can_be_switched_off() -> None:
    """Two roofs of one tenant share its limit; a roof without zero export is never curtailed."""
    roofs = (RoofSpec("roof-t005-a", "t005", 100.0), RoofSpec("roof-t005-b", "t005", 100.0),
             RoofSpec("roof-t006", "t006", 100.0, zero_export=False))
    t = instants(JULY, 1)
    weather = weather_for(t, kc_override=1.0)
    load = np.full((t.size, 3), 60.0)
    output = run(small_spec(roofs=roofs), t, weather, tenant_load_kw=load)
    ac = output.coupling["pv_ac_kw"]
    assert np.all(ac[:, 0] + ac[:, 1] <= 0.98 * 60.0 + 1e-9)
    assert ac[:, 2].max() > 60.0
    assert output.coupling["pv_curtailed_kw"][:, 2].max() == 0.0


def test_grid_loss_trips_every_inverter_and_reconnects_after_a_delay() -> None:
    """grid_ok False: W = 0, St FAULT, Evt1 GRID_DISCONNECT; then 60-300 s of STANDBY."""
    t = instants(JULY, 1, 10)
    weather = weather_for(t, kc_override=1.0)
    grid = np.ones(t.size, dtype=bool)
    noon = int(np.argmin(np.abs(t - (JULY + 12 * 3_600_000))))
    grid[noon:noon + 180] = False  # 30 min outage
    output = run(small_spec(interval_s=10), t, weather, grid_ok=grid)
    values = block(output, INVERTER)
    out = slice(noon, noon + 180)
    assert np.all(values["W"][out] == 0.0)
    assert np.all(values["St"][out] == ST_FAULT)
    assert np.all(values["Evt1"][out].astype(int) & (1 << EVT_GRID_DISCONNECT))
    assert np.all(values["Hz"][out] == 0.0)
    assert np.all(values["PhVphA"][out] == 0.0)
    after = values["St"][noon + 180:noon + 180 + 40]
    for column in range(after.shape[1]):
        standby = int((after[:, column] == ST_STANDBY).sum())
        assert 6 <= standby <= 30  # 60-300 s at 10 s steps
        assert after[standby, column] == ST_MPPT
    events = [e for e in output.events if e.event == "inverter_fault"]
    assert len(events) == 3
    assert all(e.data["cause"] == "grid_disconnect" for e in events)
    assert len([e for e in output.events if e.event == "inverter_fault_cleared"]) == 3


def test_per_roof_grid_state_and_reconnect_carried_across_calls() -> None:
    """grid_ok per roof trips only that roof; a delay running at a call boundary continues."""
    t = instants(JULY, 1, 10)
    weather = weather_for(t, kc_override=1.0)
    grid = np.ones((t.size, 2), dtype=bool)
    noon = int(np.argmin(np.abs(t - (JULY + 12 * 3_600_000))))
    grid[noon:noon + 30, 1] = False
    whole = run(small_spec(interval_s=10), t, weather, grid_ok=grid)
    values = block(whole, INVERTER)
    assert np.all(values["St"][noon:noon + 30, 1:] == ST_FAULT)
    assert np.all(values["St"][noon:noon + 30, 0] == ST_MPPT)
    model = SolarModel(small_spec(interval_s=10), 7, int(t[0]))
    cut = noon + 32  # inside the reconnection delay
    parts = [model.step(t[a:b], weather=_cut(weather, a, b), grid_ok=grid[a:b])
             for a, b in ((0, cut), (cut, t.size))]
    joined = np.vstack([block(p, INVERTER)["St"] for p in parts])
    np.testing.assert_array_equal(joined, values["St"])


def test_morning_insulation_trips_in_the_rainy_season() -> None:
    """With certain trips, each inverter faults (Evt1 bit 0) once in the morning for 30-180 min."""
    t = instants(JULY, 1)
    weather = weather_for(t, kc_override=1.0)
    output = run(small_spec(iso_trip_prob=1.0), t, weather)
    values = block(output, INVERTER)
    ground = (values["Evt1"].astype(int) & (1 << EVT_GROUND_FAULT)) > 0
    hod = ((t + 7 * 3_600_000) % DAY_MS) / 3_600_000
    for column in range(ground.shape[1]):
        minutes = int(ground[:, column].sum())
        assert 30 <= minutes <= 181
        assert 6.0 <= hod[ground[:, column]].min() < 9.0
    assert np.all(values["St"][ground] == ST_FAULT)
    assert np.all(values["W"][ground] == 0.0)
    faults = [e for e in output.events if e.event == "inverter_fault"]
    assert len(faults) == 3
    assert {e.data["evt1"] for e in faults} == {1}
    dry = run(small_spec(iso_trip_prob=1.0), instants(JANUARY, 1),
              weather_for(instants(JANUARY, 1)))
    assert not dry.events, "no insulation trips in the dry season"
    january = instants(JANUARY, 1)
    damp = SolarModel(small_spec(iso_trip_prob=1.0), 7, JANUARY, rainy_months=(1,)).step(
        january, weather=weather_for(january))
    assert len([e for e in damp.events if e.event == "inverter_fault"]) == 3


def test_morning_start_and_heat_sink_derating() -> None:
    """Dawn passes through STARTING; a 45 °C afternoon derates with Evt1 OVER_TEMP."""
    t = instants(JULY, 1)
    weather = weather_for(t, kc_override=1.1)
    hot = dataclasses.replace(weather, t_air_c=np.full(t.size, 45.0))
    values = block(run(small_spec(), t, hot), INVERTER)
    assert ST_STARTING in values["St"][:, 0]
    derated = (values["Evt1"].astype(int) & (1 << EVT_OVER_TEMP)) > 0
    assert derated.any()
    assert np.all(values["St"][derated] == ST_THROTTLED)
    assert values["W"][derated].max() < 110_000.0
    assert values["TmpSnk"].max() < 75.0


def test_split_calls_give_the_same_output() -> None:
    """One call equals uneven split calls: telemetry, events and coupling are identical."""
    t = instants(JULY, 2, 10)
    weather = weather_for(t)
    spec = small_spec(iso_trip_prob=0.5, interval_s=10)
    load = np.full((t.size, 2), 80.0)
    grid = np.ones(t.size, dtype=bool)
    grid[5_000:5_030] = False
    whole = run(spec, t, weather, tenant_load_kw=load, grid_ok=grid)
    model = SolarModel(spec, 7, int(t[0]))
    cuts = [0, 1, 999, 5_010, 5_031, 9_000, t.size]
    parts = [model.step(t[a:b], weather=_cut(weather, a, b), tenant_load_kw=load[a:b],
                        grid_ok=grid[a:b]) for a, b in itertools.pairwise(cuts)]
    for index, telemetry in enumerate(whole.telemetry):
        for name, values in telemetry.values.items():
            joined = np.vstack([p.telemetry[index].values[name] for p in parts])
            np.testing.assert_array_equal(joined, values, err_msg=name)
    assert [e for p in parts for e in p.events] == list(whole.events)
    for key, values in whole.coupling.items():
        np.testing.assert_array_equal(np.vstack([p.coupling[key] for p in parts]), values)


def test_values_stay_inside_registry_ranges_for_a_week() -> None:
    """Over a simulated week of the reference fleet every field is inside its registry range."""
    for start, region in ((JULY, "south"), (JANUARY, "north")):
        t = instants(start, 7, 60)
        weather = weather_for(t, region=region)
        spec = dataclasses.replace(SolarSpec(), interval_s=60, iso_trip_prob=0.02)
        load = np.full((t.size, len(spec.roofs)), 200.0)
        grid = np.ones(t.size, dtype=bool)
        grid[3_000:3_100] = False
        output = run(spec, t, weather, tenant_load_kw=load, grid_ok=grid)
        for telemetry in output.telemetry:
            registry = asset_type(telemetry.asset_type)
            for name, values in telemetry.values.items():
                quantity = registry.quantities[name]
                assert np.all(np.isfinite(values)), name
                assert quantity.minimum <= values.min(), (name, values.min())
                assert values.max() <= quantity.maximum, (name, values.max())
        st = block(output, INVERTER)["St"]
        assert set(np.unique(st).tolist()) >= {ST_SLEEPING, ST_MPPT, ST_THROTTLED, ST_FAULT}


def test_station_reports_the_weather() -> None:
    """The met station reads the weather (GHI within its ±1.5 % gain) and 0 kc at night."""
    t = instants(JULY, 1)
    weather = weather_for(t)
    values = block(run(small_spec(stations=(MetStationSpec("met-01"),
                                             MetStationSpec("met-02", 20.0, 90.0))),
                       t, weather), STATION)
    day = weather.ghi > 0
    ratio = values["ghi_wm2"][day, 0] / weather.ghi[day]
    assert np.all(np.abs(ratio - ratio[0]) < 1e-9)
    assert abs(ratio[0] - 1.0) <= 0.015
    np.testing.assert_array_equal(values["rain_mmh"][:, 1], weather.rain_mm_h)
    assert np.all(values["kc"][weather.ghi_clear <= 10.0] == 0.0)
    assert not np.array_equal(values["poa_wm2"][:, 0], values["poa_wm2"][:, 1])
    assert values["t_module_c"].max() > weather.t_air_c.max()


def test_empty_step() -> None:
    """No instants: empty blocks, no events, empty coupling arrays of the right width."""
    model = SolarModel(small_spec(), 1, JULY)
    t = np.empty(0, dtype=np.int64)
    output = model.step(t, weather=WeatherModel(WeatherSpec(), 1, JULY).step(t))
    assert output.events == ()
    assert output.coupling["pv_ac_kw"].shape == (0, 2)
    assert all(v.shape == (0, 3) for v in block(output, INVERTER).values())


def test_driver_shapes_are_checked() -> None:
    """Misaligned weather or wrongly shaped drivers raise a ValueError saying what is expected."""
    t = instants(JULY, 0.1)
    weather = weather_for(t)
    model = SolarModel(small_spec(), 1, JULY)
    with pytest.raises(ValueError, match=r"weather\.t_ms must equal t_ms"):
        model.step(t[1:], weather=weather)
    with pytest.raises(ValueError, match=r"grid_ok has shape \(3,\)"):
        model.step(t, weather=weather, grid_ok=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="tenant_load_kw has shape"):
        model.step(t, weather=weather, tenant_load_kw=np.ones((t.size, 5)))


def test_default_fleet_is_the_reference_park() -> None:
    """25 roofs, 8 MWp, 150-800 kWp, tilt 5-10°, DC/AC <= 1.35, same result every time."""
    roofs = default_fleet(REFPARK_TENANTS)
    assert roofs == default_fleet([f"t{k:03d}" for k in range(1, 61)])
    assert len(roofs) == 25
    assert len({r.tenant_id for r in roofs}) == 25
    assert sum(r.kwp_dc for r in roofs) == pytest.approx(8_000.0, abs=2.0)
    assert all(150.0 <= r.kwp_dc <= 800.0 and r.tilt_deg in {5.0, 10.0} for r in roofs)
    assert all(1.1 <= r.kwp_dc / (r.n_inverters * r.inverter_kw) <= 1.35 for r in roofs)
    assert {r.east_west for r in roofs} == {True, False}
    spec = SolarSpec.reference(REFPARK_TENANTS, interval_s=60)
    assert spec.roofs == roofs
    assert spec.interval_s == 60
    assert spec.total_kwp == pytest.approx(8_000.0, abs=2.0)
    assert spec.stations == (MetStationSpec("met-01"),)
    few = default_fleet(["t001", "t002"])
    assert [r.tenant_id for r in few] == ["t001", "t002"]
    with pytest.raises(ValueError, match="tenant_ids is empty"):
        default_fleet([])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RoofSpec("Roof 1", "t001", 100.0), "is not a slug"),
        (lambda: RoofSpec("roof-a", "t001", -1.0), "must be positive"),
        (lambda: RoofSpec("roof-a", "t001", 100.0, tilt_deg=95.0), "tilt_deg"),
        (lambda: small_spec(interval_s=15), "multiple of 10"),
        (lambda: small_spec(roofs=(ROOFS[0], ROOFS[0])), "duplicate"),
        (lambda: small_spec(losses_pct=120.0), "losses_pct"),
        (lambda: small_spec(iso_trip_prob=2.0), "iso_trip_prob"),
        (lambda: small_spec(sleep_poa_wm2=50.0), "sleep_poa_wm2"),
    ],
)
def test_bad_solar_spec_is_rejected(build: object, message: str) -> None:
    """Each invalid setting raises a ValueError naming it."""
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def _cut(weather: Weather, start: int, stop: int) -> Weather:
    """The weather rows [start, stop)."""
    return weather.rows(slice(start, stop))
