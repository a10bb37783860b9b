"""Park weather: sun and clear sky against pvlib, clouds, temperature, rain, determinism."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest
from pvlib import clearsky, location

from simulator.models.weather import (
    BROKEN,
    CLEAR,
    OVERCAST,
    Weather,
    WeatherModel,
    WeatherSpec,
    diurnal_shape,
    regime_weights,
)
from simulator.models.weather_climate import NORTH, SOUTH, SiteClimate, region_climate
from simulator.models.weather_sun import linke_turbidity, sun_position

# pvlib 0.16 still calls pandas APIs that pandas 3.1 deprecates (reference pipelines only).
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

# 2025-07-01 00:00 and 2025-01-01 00:00 in Vietnam (UTC+7).
JULY = 1_751_302_800_000
JANUARY = 1_735_664_400_000
DAY_MS = 86_400_000


def grid(start: int, days: float, step_s: int) -> np.ndarray:
    """Instants from *start* over *days* every *step_s* seconds."""
    return start + np.arange(0, int(days * 86_400), step_s, dtype=np.int64) * 1000


def week(region: str = "north", start: int = JULY, seed: int = 3) -> Weather:
    """A simulated week at 60 s."""
    return WeatherModel(WeatherSpec(region=region), seed, start).step(grid(start, 7, 60))


def test_irradiance_is_never_negative_and_dark_at_night() -> None:
    """GHI, DNI, DHI and clear-sky values are >= 0, and zero when the sun is down."""
    weather = week()
    for name in ("ghi", "dni", "dhi", "ghi_clear", "dni_clear", "dhi_clear"):
        values = getattr(weather, name)
        assert np.all(np.isfinite(values)), name
        assert values.min() >= 0.0, name
    night = weather.zenith > 91.0
    assert night.any()
    assert np.all(weather.ghi[night] == 0.0)
    assert np.all(weather.dni[night] == 0.0)
    assert weather.ghi.max() > 700.0


def test_split_calls_give_the_same_weather() -> None:
    """One call over two days equals calls over uneven pieces (days, hours, single steps)."""
    t = grid(JULY, 2, 10)
    whole = WeatherModel(WeatherSpec(), 11, JULY).step(t)
    model = WeatherModel(WeatherSpec(), 11, JULY)
    cuts = [0, 1, 7, 360, 8_640, 8_641, 12_000, t.size]
    parts = [model.step(t[a:b]) for a, b in itertools.pairwise(cuts)]
    for field in dataclasses.fields(Weather):
        joined = np.concatenate([getattr(part, field.name) for part in parts])
        np.testing.assert_array_equal(joined, getattr(whole, field.name), err_msg=field.name)


def test_seeds_change_clouds_not_the_sun() -> None:
    """Another seed draws other clouds; the sun and the clear sky are the same."""
    one, two = week(seed=1), week(seed=2)
    np.testing.assert_array_equal(one.ghi_clear, two.ghi_clear)
    assert not np.array_equal(one.kc, two.kc)


def test_empty_step_returns_empty_arrays() -> None:
    """A call with no instants returns empty arrays and leaves the stream untouched."""
    model = WeatherModel(WeatherSpec(), 5, JULY)
    empty = model.step(np.empty(0, dtype=np.int64))
    assert all(getattr(empty, f.name).size == 0 for f in dataclasses.fields(Weather))
    t = grid(JULY, 0.5, 60)
    np.testing.assert_array_equal(model.step(t).kc, WeatherModel(WeatherSpec(), 5, JULY).step(t).kc)


def test_interpolated_sun_position_is_within_a_hundredth_of_a_degree() -> None:
    """The 300 s grid plus unit-vector interpolation stays within 0.01° of SPA everywhere."""
    t = grid(JULY, 2, 37)
    fast, exact = sun_position(t, NORTH, 300), sun_position(t, NORTH, 0)
    assert np.abs(fast.zenith - exact.zenith).max() < 0.01
    assert np.abs(fast.apparent_zenith - exact.apparent_zenith).max() < 0.01
    up = exact.zenith < 85.0
    assert np.abs((fast.azimuth - exact.azimuth + 180.0) % 360.0 - 180.0)[up].max() < 0.1


@pytest.mark.parametrize("site", [NORTH, SOUTH], ids=lambda s: s.name)
def test_sun_and_clear_sky_match_pvlib_location(site: SiteClimate) -> None:
    """Sun position and Ineichen clear sky agree with pvlib's Location for the same site."""
    t = grid(JANUARY + 150 * DAY_MS, 1, 300)
    spec = WeatherSpec(region=site.name, kc_override=1.0, position_grid_s=0)
    weather = WeatherModel(spec, 1, int(t[0])).step(t)
    times = pd.DatetimeIndex(t.astype("datetime64[ms]")).tz_localize("UTC")
    place = location.Location(site.latitude_deg, site.longitude_deg, altitude=site.altitude_m)
    position = place.get_solarposition(times)
    with np.errstate(divide="ignore", invalid="ignore"):
        sky = place.get_clearsky(times, solar_position=position)
    np.testing.assert_allclose(weather.apparent_zenith, position["apparent_zenith"], atol=0.01)
    np.testing.assert_allclose(weather.ghi_clear, sky["ghi"], atol=0.5)
    np.testing.assert_allclose(weather.dni_clear, sky["dni"], atol=0.5)
    np.testing.assert_allclose(weather.ghi, weather.ghi_clear)


@pytest.mark.parametrize("site", [NORTH, SOUTH], ids=lambda s: s.name)
def test_cached_linke_turbidity_is_pvlibs_climatology(site: SiteClimate) -> None:
    """The 12 cached TL values are those of pvlib's SoDa file, interpolated the same way."""
    times = pd.date_range("2025-01-01", "2025-12-31", freq="1D", tz="UTC")
    raw = clearsky.lookup_linke_turbidity(times, site.latitude_deg, site.longitude_deg,
                                          interp_turbidity=False)
    assert tuple(raw.groupby(raw.index.month).first().round(2)) == site.linke_turbidity
    smooth = clearsky.lookup_linke_turbidity(times, site.latitude_deg, site.longitude_deg)
    t = (times.as_unit("ms").asi8).astype(np.int64)
    np.testing.assert_allclose(linke_turbidity(t, site), smooth, atol=1e-9)


def test_leap_years_interpolate_turbidity_on_their_own_calendar() -> None:
    """In a leap year the mid-month nodes shift by a day after February, as in pvlib."""
    times = pd.date_range("2024-01-01", "2024-12-31", freq="1D", tz="UTC")
    smooth = clearsky.lookup_linke_turbidity(times, NORTH.latitude_deg, NORTH.longitude_deg)
    t = times.as_unit("ms").asi8.astype(np.int64)
    np.testing.assert_allclose(linke_turbidity(t, NORTH), smooth, atol=1e-9)


def test_forced_clear_sky_index() -> None:
    """kc_override = 1 makes GHI the clear-sky GHI and the regime irrelevant."""
    spec = WeatherSpec(kc_override=1.0)
    weather = WeatherModel(spec, 1, JULY).step(grid(JULY, 1, 300))
    np.testing.assert_array_equal(weather.ghi, weather.ghi_clear)
    assert np.all(weather.kc == 1.0)


def test_clouds_stay_in_their_bounds_and_visit_every_regime() -> None:
    """Kc stays in [kc_min, kc_max] and a rainy-season week shows all three regimes."""
    weather = week()
    assert weather.kc.min() >= 0.05
    assert weather.kc.max() <= 1.35
    assert set(np.unique(weather.regime).tolist()) == {CLEAR, BROKEN, OVERCAST}


def test_rain_forces_overcast_and_humidity() -> None:
    """Whenever it rains the regime is overcast, humidity is high and the wind picks up."""
    weather = week(region="south")
    raining = weather.rain_mm_h > 0.0
    assert raining.any(), "a July week in the south has rain"
    assert np.all(weather.regime[raining] == OVERCAST)
    assert weather.rh_pct[raining].mean() > weather.rh_pct[~raining].mean()
    assert weather.wind_ms[raining].mean() > weather.wind_ms[~raining].mean()


def test_weather_ranges_are_plausible() -> None:
    """Temperature, humidity, wind and rain stay in physical ranges for both regions."""
    for region in ("north", "south"):
        for start in (JANUARY, JULY):
            weather = week(region, start)
            assert weather.t_air_c.min() > 5.0
            assert weather.t_air_c.max() < 42.0
            assert weather.rh_pct.min() >= 40.0
            assert weather.rh_pct.max() <= 100.0
            assert weather.wind_ms.min() >= 0.5
            assert weather.wind_ms.max() <= 6.0
            assert weather.rain_mm_h.min() >= 0.0
            assert weather.rain_mm_h.max() <= 150.0


def test_temperature_follows_the_diurnal_wave() -> None:
    """Over a clear week the coolest hour is near 06:00 and the warmest near 14:00 local."""
    spec = WeatherSpec(region="south")
    t = grid(JANUARY + 40 * DAY_MS, 7, 600)
    weather = WeatherModel(spec, 2, int(t[0])).step(t)
    hod = ((t + 7 * 3_600_000) % DAY_MS) // 3_600_000
    hourly = np.array([weather.t_air_c[hod == h].mean() for h in range(24)])
    assert int(hourly.argmin()) in {5, 6}
    assert int(hourly.argmax()) in {13, 14}
    # Humidity is anti-correlated with temperature.
    assert np.corrcoef(weather.t_air_c, weather.rh_pct)[0, 1] < -0.5


def test_monthly_mean_temperature_matches_the_table() -> None:
    """A simulated month averages within 0.6 °C of the climate's monthly mean."""
    t = grid(JULY, 31, 600)
    weather = WeatherModel(WeatherSpec(region="south"), 4, JULY).step(t)
    assert abs(weather.t_air_c.mean() - SOUTH.t_mean_c[6]) < 0.6


def test_north_temperature_table_matches_the_cited_seasons() -> None:
    """The [A] Hanoi table reproduces [S5]: annual 23.2, Dec-Feb 17.2, Jun-Aug 29.2 °C."""
    months = NORTH.t_mean_c
    assert np.mean(months) == pytest.approx(23.2, abs=0.05)
    assert np.mean([months[11], months[0], months[1]]) == pytest.approx(17.2, abs=0.05)
    assert np.mean(months[5:8]) == pytest.approx(29.2, abs=0.05)


def test_regime_weights_hit_the_target_mean() -> None:
    """π·μ equals the target inside the reachable range and saturates outside it."""
    mu = (0.98, 0.65, 0.28)
    for target in (0.4, 0.6, 0.8):
        weights = regime_weights(target, mu)
        assert weights.sum() == pytest.approx(1.0)
        assert float(weights @ np.array(mu)) == pytest.approx(target)
    np.testing.assert_allclose(regime_weights(0.99, mu), [0.70, 0.25, 0.05])
    np.testing.assert_allclose(regime_weights(0.1, mu), [0.02, 0.18, 0.80])


def test_diurnal_shape_has_its_extremes_at_six_and_fourteen() -> None:
    """The wave is -1 at 06:00, +1 at 14:00, continuous at midnight, zero on average."""
    hod = np.arange(0, 24, 0.01)
    shape = diurnal_shape(hod)
    assert diurnal_shape(np.array([6.0]))[0] == pytest.approx(-1.0)
    assert diurnal_shape(np.array([14.0]))[0] == pytest.approx(1.0)
    assert shape.mean() == pytest.approx(0.0, abs=1e-3)
    assert abs(shape[0] - diurnal_shape(np.array([23.9999]))[0]) < 1e-3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"region": "east"}, "unknown region 'east'; expected one of: north, south"),
        ({"kc_override": 2.0}, "kc_override"),
        ({"p_stay": 1.0}, "p_stay"),
        ({"regime_phi": (0.9, 1.0, 0.9)}, "regime_phi"),
        ({"position_grid_s": 7}, "position_grid_s"),
        ({"rain_duration_h": (3.0, 1.0)}, "rain_duration_h"),
    ],
)
def test_bad_weather_spec_is_rejected(changes: dict[str, object], message: str) -> None:
    """Each invalid setting raises a ValueError naming it."""
    with pytest.raises(ValueError, match=message):
        WeatherSpec(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kc_mean": (0.5,) * 11}, "kc_mean needs 12 monthly values"),
        ({"latitude_deg": 95.0}, "latitude/longitude"),
        ({"kc_mean": (1.5,) * 12}, "kc_mean values"),
        ({"rain_days": (40.0,) * 12}, "rain_days"),
        ({"rainy_months": (13,)}, "rainy_months"),
    ],
)
def test_bad_climate_is_rejected(changes: dict[str, object], message: str) -> None:
    """A custom climate with a wrong table raises a ValueError naming the table."""
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(NORTH, **changes)  # type: ignore[arg-type]


def test_a_custom_climate_overrides_the_region() -> None:
    """WeatherSpec.climate replaces the region preset."""
    custom = dataclasses.replace(SOUTH, name="custom")
    assert WeatherSpec(region="north", climate=custom).site is custom
    assert region_climate("south") is SOUTH


def test_day_by_day_calls_match_one_call() -> None:
    """Stepping four days one day per call (old days dropped) equals one four-day call."""
    t = grid(JULY, 4, 300)
    whole = WeatherModel(WeatherSpec(), 8, JULY).step(t)
    model = WeatherModel(WeatherSpec(), 8, JULY)
    per_day = [model.step(t[k * 288:(k + 1) * 288]) for k in range(4)]
    np.testing.assert_array_equal(np.concatenate([w.kc for w in per_day]), whole.kc)
    np.testing.assert_array_equal(np.concatenate([w.t_air_c for w in per_day]), whole.t_air_c)


def test_models_on_different_grids_agree_at_common_instants() -> None:
    """A 10 s and a 300 s instance (same spec, seed, start) agree where their instants meet."""
    fine = WeatherModel(WeatherSpec(), 6, JULY).step(grid(JULY, 1, 10))
    coarse = WeatherModel(WeatherSpec(), 6, JULY).step(grid(JULY, 1, 300))
    for field in dataclasses.fields(Weather):
        np.testing.assert_array_equal(getattr(fine, field.name)[::30],
                                      getattr(coarse, field.name), err_msg=field.name)


def test_rows_selects_instants() -> None:
    """Weather.rows subsamples every field, so a coarser domain can reuse a fine series."""
    weather = week()
    coarse = weather.rows(slice(None, None, 5))
    np.testing.assert_array_equal(coarse.t_ms, weather.t_ms[::5])
    np.testing.assert_array_equal(coarse.rain_mm_h, weather.rain_mm_h[::5])
    assert weather.rows(weather.ghi > 0).ghi.min() > 0.0


def test_stepping_before_the_start_is_an_error() -> None:
    """Instants before the start day (or days already left behind) raise a clear error."""
    model = WeatherModel(WeatherSpec(), 1, JULY)
    with pytest.raises(ValueError, match="step forward in time from start_ms"):
        model.step(grid(JULY - DAY_MS, 0.1, 60))
    model.step(grid(JULY + 3 * DAY_MS, 0.1, 60))
    with pytest.raises(ValueError, match="step forward in time"):
        model.step(grid(JULY, 0.1, 60))
