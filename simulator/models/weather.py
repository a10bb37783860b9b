"""Park-level weather: sun, clear sky, stochastic clouds, air temperature, humidity, wind, rain.

One :class:`WeatherModel` per park is the shared driver of the domains: solar uses the
irradiance, air temperature and wind; the WWTP uses rain and air temperature; security uses
rain and wind. ``step(t_ms)`` returns a :class:`Weather` of arrays aligned with ``t_ms``.

Clouds (domain.md §3.3, [D]): a 3-state hourly Markov regime (clear, broken, overcast) with
``P = p_stay I + (1 - p_stay) 1 πᵀ`` (stationary distribution exactly π) and, within a regime,
a standardised AR(1) process ``x`` at 1 min::

    π(month) = t [0.70, 0.25, 0.05] + (1 - t) [0.02, 0.18, 0.80],   t such that π·μ = target
    Kc = clip(mu_r + sigma_r x, 0.05, 1.35),  x_k = phi_r x_{k-1} + sqrt(1 - phi_r²) e_k
    GHI = Kc GHI_clear;   DNI, DHI = erbs(GHI, zenith, day of year)

Rain (per local day, [S9] rain days south, [A] north) forces the overcast regime during its
hours. Because forced overcast lowers the mean, the target of the free chain is raised so that
the month's mean Kc stays at the climate's Kc̄ (method in docs/models/solar.md).

Air temperature: monthly mean (interpolated between mid-months) plus a diurnal wave with its
minimum at 06:00 and maximum at 14:00 local; its amplitude shrinks with cloudiness (±3.5 °C
clear, ±2 °C overcast). Humidity is anti-correlated with the diurnal wave and rises with
cloud and rain; wind is a 0.5-3 m/s diurnal breeze with AR(1) gusts, stronger in storms.

Everything is generated one local day at a time, in order, from generators kept in the model
(a per-park NOISE stream, one DAY stream per local day), on a 1-min grid aligned to the
epoch; queries interpolate that grid. A run therefore gives the same weather however it is
split into calls.
"""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta

import numpy as np
from pvlib import irradiance
from scipy.signal import lfilter

from simulator.calendar import local_time
from simulator.models.output import BoolArray, FloatArray, IntArray
from simulator.models.weather_climate import SiteClimate, region_climate
from simulator.models.weather_sun import SunTable, clear_sky, day_of_year
from simulator.rng import Stream, device_rng

_MS_PER_MIN = 60_000
_MS_PER_DAY = 86_400_000
_MIN_PER_DAY = 1440
#: Regime order: clear, broken, overcast.
CLEAR, BROKEN, OVERCAST = 0, 1, 2


@dataclass(frozen=True, slots=True)
class WeatherSpec:
    """Parameters of the park weather (defaults: domain.md §3.3; all [A] unless cited).

    Attributes:
        park_id: park identifier; names the park's random streams (``weather.<park_id>``).
        region: climate preset, ``north`` or ``south`` (domain.md §0).
        climate: a full site climate; overrides *region* when given.
        timezone: IANA zone of the park's local time.
        kc_override: force the clear-sky index to this value everywhere (1.0 = clear sky,
            used for calibration and demos); None = stochastic clouds.
        p_stay: hourly probability that the Markov chain keeps its regime [1] ([D]).
        regime_mu: mean Kc of the clear, broken, overcast regimes [1] ([D]).
        regime_sigma: Kc standard deviation within each regime [1] ([D]).
        regime_phi: 1-min AR(1) coefficient within each regime [1] ([D]).
        kc_min: lower clip of Kc [1].
        kc_max: upper clip of Kc; values above 1 are cloud-enhancement spikes [1].
        position_grid_s: solar position grid [s]; 0 = exact SPA at every instant (slow).
        rain_mean_mm_h: mean rain intensity of a rain event [mm/h].
        rain_duration_h: shortest and longest rain event [h].
        rain_afternoon_share: share of rain events starting 13:00-19:00 (convective) [1].
        wind_base_ms: night-time and afternoon mean wind speed [m/s].
        wind_range_ms: clip range of the wind speed outside storms [m/s].
        storm_wind_ms: extra wind during rain [m/s].
    """

    park_id: str = "refpark"
    region: str = "north"
    climate: SiteClimate | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    kc_override: float | None = None
    p_stay: float = 0.85
    regime_mu: tuple[float, float, float] = (0.98, 0.65, 0.28)
    regime_sigma: tuple[float, float, float] = (0.02, 0.22, 0.10)
    regime_phi: tuple[float, float, float] = (0.95, 0.80, 0.97)
    kc_min: float = 0.05
    kc_max: float = 1.35
    position_grid_s: int = 300
    rain_mean_mm_h: float = 6.0
    rain_duration_h: tuple[float, float] = (0.5, 3.0)
    rain_afternoon_share: float = 0.7
    wind_base_ms: tuple[float, float] = (1.0, 2.2)
    wind_range_ms: tuple[float, float] = (0.5, 3.0)
    storm_wind_ms: float = 2.5

    def __post_init__(self) -> None:
        if self.climate is None:
            region_climate(self.region)  # raises a ValueError naming the known regions
        if self.kc_override is not None and not 0.0 <= self.kc_override <= self.kc_max:
            msg = f"weather.kc_override: {self.kc_override} outside [0, {self.kc_max}]"
            raise ValueError(msg)
        if not 0.0 <= self.p_stay < 1.0:
            msg = f"weather.p_stay: {self.p_stay} outside [0, 1)"
            raise ValueError(msg)
        if not all(0.0 <= phi < 1.0 for phi in self.regime_phi):
            msg = f"weather.regime_phi: {self.regime_phi} must each lie in [0, 1)"
            raise ValueError(msg)
        if self.position_grid_s < 0 or (self.position_grid_s and 86_400 % self.position_grid_s):
            msg = (f"weather.position_grid_s: {self.position_grid_s} must be 0 or divide a day "
                   "(e.g. 60, 300)")
            raise ValueError(msg)
        low, high = self.rain_duration_h
        if not 0.0 < low <= high <= 24.0:
            msg = f"weather.rain_duration_h: {self.rain_duration_h} must satisfy 0 < lo <= hi <= 24"
            raise ValueError(msg)

    @property
    def site(self) -> SiteClimate:
        """The site climate in force (the explicit one, else the region preset)."""
        return self.climate if self.climate is not None else region_climate(self.region)


@dataclass(frozen=True, slots=True)
class Weather:
    """Weather at some instants; every array is aligned with ``t_ms``.

    Attributes:
        t_ms: the instants [ms since epoch, UTC].
        zenith: true solar zenith angle [deg].
        apparent_zenith: refraction-corrected solar zenith angle [deg].
        azimuth: solar azimuth, clockwise from north [deg].
        ghi_clear: clear-sky global horizontal irradiance [W/m²].
        dni_clear: clear-sky direct normal irradiance [W/m²].
        dhi_clear: clear-sky diffuse horizontal irradiance [W/m²].
        kc: clear-sky index [1].
        regime: cloud regime in force (0 clear, 1 broken, 2 overcast) as floats.
        ghi: global horizontal irradiance [W/m²].
        dni: direct normal irradiance [W/m²].
        dhi: diffuse horizontal irradiance [W/m²].
        t_air_c: air temperature [°C].
        rh_pct: relative humidity [%].
        wind_ms: wind speed at 10 m [m/s].
        rain_mm_h: rain rate [mm/h].
    """

    t_ms: IntArray
    zenith: FloatArray
    apparent_zenith: FloatArray
    azimuth: FloatArray
    ghi_clear: FloatArray
    dni_clear: FloatArray
    dhi_clear: FloatArray
    kc: FloatArray
    regime: FloatArray
    ghi: FloatArray
    dni: FloatArray
    dhi: FloatArray
    t_air_c: FloatArray
    rh_pct: FloatArray
    wind_ms: FloatArray
    rain_mm_h: FloatArray

    def rows(self, index: slice | IntArray | BoolArray) -> Weather:
        """Return the weather at a subset of the instants (a slice, indices or a mask)."""
        return Weather(**{name: getattr(self, name)[index] for name in _WEATHER_FIELDS})


@dataclass(frozen=True, slots=True)
class _Day:
    """One generated local day on the 1-min grid (1440 values each)."""

    start_ms: int
    kc: FloatArray
    regime: FloatArray
    amplitude: FloatArray
    cloud: FloatArray
    rain: FloatArray
    wind: FloatArray


def regime_weights(target: float, mu: tuple[float, float, float]) -> FloatArray:
    """Return π = t·sunny + (1 - t)·dull with π·μ = *target* (t clipped to [0, 1])."""
    sunny = np.array([0.70, 0.25, 0.05])
    dull = np.array([0.02, 0.18, 0.80])
    mu_arr = np.asarray(mu)
    high, low = float(sunny @ mu_arr), float(dull @ mu_arr)
    share = min(1.0, max(0.0, (target - low) / (high - low)))
    weights: FloatArray = share * sunny + (1.0 - share) * dull
    return weights


def diurnal_shape(hod: FloatArray) -> FloatArray:
    """Diurnal temperature wave in [-1, 1]: -1 at 06:00, +1 at 14:00, zero daily mean."""
    rising = (hod >= 6.0) & (hod < 14.0)
    since_peak = np.where(hod >= 14.0, hod - 14.0, hod + 10.0)
    shape: FloatArray = np.where(rising, -np.cos(np.pi * (hod - 6.0) / 8.0),
                                 np.cos(np.pi * since_peak / 16.0))
    return shape


class WeatherModel:
    """The park's weather, generated day by day from seeded streams.

    Args:
        spec: parameters.
        seed: the run's master seed.
        start_ms: first instant the run will ask for [ms since epoch, UTC].
    """

    def __init__(self, spec: WeatherSpec, seed: int, start_ms: int) -> None:
        self.spec = spec
        self.site = spec.site
        self._seed = seed
        self._stream_id = f"weather.{spec.park_id}"
        self._noise = device_rng(seed, self._stream_id, Stream.NOISE)
        self._zone = zoneinfo.ZoneInfo(spec.timezone)
        self._sun = SunTable(self.site, spec.position_grid_s)
        self._days: dict[int, _Day] = {}
        self._next_day = self._local_day(start_ms)
        self._regime = CLEAR
        self._x = 0.0
        self._gust = 0.0
        self._cloud = 0.0
        mu_overcast = spec.regime_mu[OVERCAST]
        self._pi = []
        for month in range(12):
            forced = self._forced_overcast_share(month)
            target = (self.site.kc_mean[month] - forced * mu_overcast) / (1.0 - forced)
            self._pi.append(np.cumsum(regime_weights(target, spec.regime_mu)))

    def _forced_overcast_share(self, month: int) -> float:
        """Expected share of daylight hours forced overcast by rain in *month* (0-based)."""
        low, high = self.spec.rain_duration_h
        # Hours touched by an event: its mean duration plus on average one partial hour.
        touched_h = (low + high) / 2.0 + 1.0
        # Afternoon events fall mostly in daylight (13-18 h); others cover the day uniformly.
        daylight = self.spec.rain_afternoon_share * 0.8 + (1 - self.spec.rain_afternoon_share) * 0.5
        days_in_month = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month]
        p_rain = min(1.0, self.site.rain_days[month] / days_in_month)
        return min(0.9, p_rain * touched_h * daylight / 12.0)

    def _offset_ms(self, utc_ms: int) -> int:
        moment = datetime.fromtimestamp(utc_ms / 1000.0, tz=UTC).astimezone(self._zone)
        return int((moment.utcoffset() or timedelta(0)).total_seconds() * 1000)

    def _local_day(self, utc_ms: int) -> int:
        return (utc_ms + self._offset_ms(utc_ms)) // _MS_PER_DAY

    def _day_start_ms(self, day: int) -> int:
        guess = day * _MS_PER_DAY
        return guess - self._offset_ms(guess)

    def step(self, t_ms: IntArray) -> Weather:
        """Return the weather at *t_ms* (increasing, at or after ``start_ms``)."""
        t_ms = np.asarray(t_ms, dtype=np.int64)
        spec, site = self.spec, self.site
        sun = self._sun.position(t_ms)
        with np.errstate(divide="ignore", invalid="ignore"):
            clear = clear_sky(t_ms, sun, site)
        minute = self._minute_values(t_ms)
        kc = minute["kc"] if spec.kc_override is None else np.full(t_ms.shape, spec.kc_override)
        ghi = kc * clear.ghi
        doy, _ = day_of_year(t_ms)
        split = irradiance.erbs(ghi, sun.zenith, doy.astype(np.float64))
        dni = np.nan_to_num(np.asarray(split["dni"], dtype=np.float64))
        dhi = np.nan_to_num(np.asarray(split["dhi"], dtype=np.float64))
        hod = local_time(t_ms, spec.timezone).hod
        t_mean = self._monthly_interp(t_ms, site.t_mean_c)
        wave = diurnal_shape(hod)
        t_air = t_mean + minute["amplitude"] * wave
        rh_mean = self._monthly_interp(t_ms, site.rh_mean_pct)
        rain = minute["rain"]
        rh = np.clip(rh_mean - 9.0 * wave + 8.0 * (minute["cloud"] - 0.4)
                     + np.where(rain > 0.0, 10.0, 0.0), 40.0, 100.0)
        return Weather(
            t_ms=t_ms, zenith=sun.zenith, apparent_zenith=sun.apparent_zenith,
            azimuth=sun.azimuth, ghi_clear=clear.ghi, dni_clear=clear.dni, dhi_clear=clear.dhi,
            kc=kc, regime=minute["regime"], ghi=ghi, dni=dni, dhi=dhi, t_air_c=t_air,
            rh_pct=rh, wind_ms=minute["wind"], rain_mm_h=rain,
        )

    def _monthly_interp(self, t_ms: IntArray, monthly: tuple[float, ...]) -> FloatArray:
        """Interpolate monthly means between mid-month nodes (smooth across months)."""
        doy, _ = day_of_year(t_ms)
        values = np.asarray(monthly, dtype=np.float64)
        nodes = np.concatenate(([-15.5], np.cumsum(_MONTH_DAYS) - _MONTH_DAYS / 2.0, [380.5]))
        return np.interp(doy.astype(np.float64), nodes,
                         np.concatenate(([values[-1]], values, [values[0]])))

    def _minute_values(self, t_ms: IntArray) -> dict[str, FloatArray]:
        """Interpolate the 1-min day grids to *t_ms* (generating days as needed)."""
        if t_ms.size == 0:
            return {key: np.empty(0) for key in ("kc", "regime", "amplitude", "cloud", "rain",
                                                 "wind")}
        first_day = self._local_day(int(t_ms[0]))
        last_day = self._local_day(int(t_ms[-1]) + _MS_PER_MIN)
        while self._next_day <= last_day:
            self._days[self._next_day] = self._generate_day(self._next_day)
            self._next_day += 1
        if first_day not in self._days:
            kept = min(self._days) if self._days else self._next_day
            msg = (f"WeatherModel.step: instants start on local day {first_day} but the "
                   f"weather begins at day {kept} (start_ms, or days already left behind); "
                   "step forward in time from start_ms")
            raise ValueError(msg)
        # Forget days before the window: calls move forward in time.
        for old in [day for day in self._days if day < first_day - 1]:
            del self._days[old]
        days = [self._days[day] for day in range(first_day, last_day + 1)]
        grid = np.concatenate([day.start_ms + np.arange(_MIN_PER_DAY) * _MS_PER_MIN
                               for day in days]).astype(np.float64)
        t = t_ms.astype(np.float64)
        out: dict[str, FloatArray] = {}
        for key in ("kc", "amplitude", "cloud", "wind"):
            out[key] = np.interp(t, grid, np.concatenate([getattr(d, key) for d in days]))
        # Regime and rain are held per minute (a rate over the minute, a discrete state).
        index = np.clip(np.searchsorted(grid, t, side="right") - 1, 0, grid.size - 1)
        out["regime"] = np.concatenate([d.regime for d in days])[index]
        out["rain"] = np.concatenate([d.rain for d in days])[index]
        return out

    def _generate_day(self, day: int) -> _Day:
        """Generate local *day* on the 1-min grid, continuing the carried state."""
        spec = self.spec
        start_ms = self._day_start_ms(day)
        month = date.fromordinal(_EPOCH_ORDINAL + day).month - 1
        rain_hourly, rain = self._rain(day, month)
        draws = self._noise.random((24, 2))
        eps = self._noise.standard_normal((_MIN_PER_DAY, 2))
        mu, sigma, phi = (np.asarray(v) for v in (spec.regime_mu, spec.regime_sigma,
                                                  spec.regime_phi))
        kc = np.empty(_MIN_PER_DAY)
        regime = np.empty(_MIN_PER_DAY)
        amplitude = np.empty(_MIN_PER_DAY)
        cloud = np.empty(_MIN_PER_DAY)
        x, state, smooth = self._x, self._regime, self._cloud
        for hour in range(24):
            if draws[hour, 0] >= spec.p_stay:
                state = int(np.searchsorted(self._pi[month], draws[hour, 1], side="right"))
                state = min(state, OVERCAST)
            shown = OVERCAST if rain_hourly[hour] else state
            cut = slice(hour * 60, hour * 60 + 60)
            p = float(phi[shown])
            # x_k = p x_{k-1} + sqrt(1 - p²) e_k, written in closed form for the 60 minutes.
            powers = p ** np.arange(1, 61)
            innovations = math.sqrt(1.0 - p * p) * eps[cut, 0]
            scaled = np.cumsum(innovations / powers) * powers if p > 0 else innovations
            path = powers * x + scaled
            x = float(path[-1])
            kc[cut] = np.clip(mu[shown] + sigma[shown] * path, spec.kc_min, spec.kc_max)
            regime[cut] = shown
            # Cloudiness with a ~6 h memory shrinks the diurnal temperature range.
            smooth += (float(shown == OVERCAST) + 0.5 * float(shown == BROKEN) - smooth) / 6.0
            cloud[cut] = smooth
            amplitude[cut] = self.site.t_amplitude_c * (1.0 - 0.43 * smooth)
        self._x, self._regime, self._cloud = x, state, smooth
        wind = self._wind(eps[:, 1], rain)
        return _Day(start_ms, kc, regime, amplitude, cloud, rain, wind)

    def _rain(self, day: int, month: int) -> tuple[list[bool], FloatArray]:
        """Rain of local *day*: per-hour flags and the 1-min rain rate [mm/h]."""
        spec = self.spec
        rng = device_rng(self._seed, self._stream_id, Stream.DAY, day)
        u, start_u, afternoon_u, duration_u, intensity_u = rng.random(5)
        rate = np.zeros(_MIN_PER_DAY)
        days_in_month = float(_MONTH_DAYS[month])
        if u >= self.site.rain_days[month] / days_in_month:
            return [False] * 24, rate
        if afternoon_u < spec.rain_afternoon_share:
            start_h = 13.0 + 6.0 * start_u
        else:
            start_h = 24.0 * start_u
        low, high = spec.rain_duration_h
        duration_h = low + (high - low) * duration_u
        intensity = -spec.rain_mean_mm_h * math.log(1.0 - intensity_u)  # exponential
        first = int(start_h * 60)
        last = min(_MIN_PER_DAY, int((start_h + duration_h) * 60) + 1)
        # Convective showers peak early and tail off: a falling ramp with the drawn mean.
        ramp = np.linspace(2.0, 0.0, last - first, endpoint=False) if last > first else ()
        rate[first:last] = np.minimum(intensity * np.asarray(ramp), 150.0)
        hours = [bool(rate[h * 60:(h + 1) * 60].any()) for h in range(24)]
        return hours, rate

    def _wind(self, eps: FloatArray, rain: FloatArray) -> FloatArray:
        """Wind [m/s]: diurnal breeze (calm night, afternoon peak) plus AR(1) gusts."""
        spec = self.spec
        hod = np.arange(_MIN_PER_DAY) / 60.0
        night, afternoon = spec.wind_base_ms
        breeze = night + (afternoon - night) * np.clip(np.sin(np.pi * (hod - 9.0) / 10.0), 0, 1)
        phi = 0.97
        # AR(1) gusts, continuing from the previous day's last value.
        gust, _ = lfilter([math.sqrt(1.0 - phi * phi)], [1.0, -phi], eps, zi=[phi * self._gust])
        gust = np.asarray(gust, dtype=np.float64)
        self._gust = float(gust[-1])
        low, high = spec.wind_range_ms
        calm = np.clip(breeze + 0.4 * gust, low, high)
        wind: FloatArray = calm + np.where(rain > 0.0, spec.storm_wind_ms, 0.0)
        return wind


_WEATHER_FIELDS = tuple(f.name for f in fields(Weather))
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.float64)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
