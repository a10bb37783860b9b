"""Site climates of the two reference regions: location, turbidity, cloudiness, temperature, rain.

Each :class:`SiteClimate` holds twelve monthly values per quantity (January first). Sources
(domain.md §3.1, §3.3, §10):

* Linke turbidity: the SoDa climatology shipped with pvlib 0.16.1 [P1], read once at
  development time with ``pvlib.clearsky.lookup_linke_turbidity(..., interp_turbidity=False)``
  and cached here so that no HDF5 file is opened at run time. (domain.md's TL rows are the
  same numbers shifted by one month; the values here are pvlib's own.)
* Monthly clear-sky index ``kc_mean``: domain.md's "typical" tables, [A], shaped to
  [S1][S2][S3][S4][S9][S14].
* Monthly mean air temperature: south from the HCMC WMO table [S9]; north [A], a Hanoi table
  built to match [S5] (annual 23.2 °C, Dec-Feb 17.2 °C, Jun-Aug 29.2 °C).
* Rain days per month: south from [S9]; north [A] (Hanoi-like, drizzle months Feb-Apr).
* Mean relative humidity: south within the 68-83 % of [S9]; north [A].
"""

from __future__ import annotations

from dataclasses import dataclass

Monthly = tuple[float, float, float, float, float, float, float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class SiteClimate:
    """Location and monthly climate of a park site.

    Attributes:
        name: preset name (``north``, ``south``) or a user label.
        latitude_deg: latitude [deg, north positive].
        longitude_deg: longitude [deg, east positive].
        altitude_m: altitude above sea level [m].
        linke_turbidity: Linke turbidity TL by month [1], placed mid-month and interpolated
            by day of year like pvlib does.
        kc_mean: target monthly clear-sky index Kc̄ = GHI / GHI_clear (energy ratio) [1].
        t_mean_c: monthly mean air temperature [°C].
        t_amplitude_c: half the clear-day diurnal temperature range [°C]; overcast days get
            about 57 % of it (±2 °C for ±3.5 °C, domain.md §3.3).
        rain_days: days with rain per month [d].
        rh_mean_pct: monthly mean relative humidity [%].
        rainy_months: months (1-12) of the rainy season, when damp mornings trip inverters on
            insulation faults (domain.md §3.5).
    """

    name: str
    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    linke_turbidity: Monthly
    kc_mean: Monthly
    t_mean_c: Monthly
    t_amplitude_c: float
    rain_days: Monthly
    rh_mean_pct: Monthly
    rainy_months: tuple[int, ...]

    def __post_init__(self) -> None:
        for label in ("linke_turbidity", "kc_mean", "t_mean_c", "rain_days", "rh_mean_pct"):
            values = getattr(self, label)
            if len(values) != 12:
                msg = f"climate {self.name}: {label} needs 12 monthly values, got {len(values)}"
                raise ValueError(msg)
        if not -90.0 <= self.latitude_deg <= 90.0 or not -180.0 <= self.longitude_deg <= 180.0:
            msg = (f"climate {self.name}: latitude/longitude ({self.latitude_deg}, "
                   f"{self.longitude_deg}) outside [-90, 90] x [-180, 180] degrees")
            raise ValueError(msg)
        if not all(0.05 <= kc <= 1.0 for kc in self.kc_mean):
            msg = f"climate {self.name}: kc_mean values must lie in [0.05, 1.0]"
            raise ValueError(msg)
        if not all(0.0 <= d <= 31.0 for d in self.rain_days):
            msg = f"climate {self.name}: rain_days must lie in [0, 31] per month"
            raise ValueError(msg)
        if not all(1 <= m <= 12 for m in self.rainy_months):
            msg = f"climate {self.name}: rainy_months must be month numbers 1..12"
            raise ValueError(msg)


#: VSIP Bac Ninh-like northern site (domain.md §0; coordinates [A]).
NORTH = SiteClimate(
    name="north", latitude_deg=21.13, longitude_deg=105.98, altitude_m=10.0,
    linke_turbidity=(3.25, 3.40, 3.90, 4.45, 4.95, 5.05, 5.15, 4.95, 4.50, 4.00, 3.55, 3.50),
    kc_mean=(0.54, 0.43, 0.42, 0.51, 0.64, 0.64, 0.67, 0.66, 0.65, 0.66, 0.67, 0.64),
    t_mean_c=(16.4, 17.0, 19.4, 22.9, 26.3, 29.1, 29.5, 29.0, 26.5, 23.9, 20.2, 18.2),
    t_amplitude_c=3.5,
    rain_days=(7.0, 9.0, 12.0, 11.0, 13.0, 14.0, 15.0, 16.0, 12.0, 9.0, 6.0, 5.0),
    rh_mean_pct=(80.0, 84.0, 86.0, 86.0, 82.0, 82.0, 83.0, 85.0, 83.0, 80.0, 78.0, 78.0),
    rainy_months=(5, 6, 7, 8, 9, 10),
)

#: Amata Dong Nai-like southern site (domain.md §0; coordinates [A]).
SOUTH = SiteClimate(
    name="south", latitude_deg=10.95, longitude_deg=106.87, altitude_m=20.0,
    linke_turbidity=(3.90, 4.00, 4.70, 5.05, 5.15, 5.20, 5.30, 5.45, 5.25, 4.80, 4.45, 4.30),
    kc_mean=(0.81, 0.83, 0.84, 0.81, 0.72, 0.67, 0.67, 0.66, 0.63, 0.66, 0.75, 0.81),
    t_mean_c=(26.4, 27.7, 29.2, 30.2, 29.6, 28.5, 28.2, 28.1, 27.9, 27.6, 26.9, 26.1),
    t_amplitude_c=3.5,
    rain_days=(2.4, 1.0, 1.9, 5.4, 17.8, 19.0, 22.9, 22.4, 23.1, 20.9, 12.1, 6.7),
    rh_mean_pct=(72.0, 70.0, 68.0, 70.0, 78.0, 82.0, 83.0, 83.0, 83.0, 83.0, 80.0, 75.0),
    rainy_months=(5, 6, 7, 8, 9, 10, 11),
)

#: Region presets by name (the scenario's ``site.region``).
REGIONS: dict[str, SiteClimate] = {"north": NORTH, "south": SOUTH}


def region_climate(region: str) -> SiteClimate:
    """Return the preset climate of *region*; a ValueError names the known ones."""
    try:
        return REGIONS[region]
    except KeyError:
        known = ", ".join(sorted(REGIONS))
        msg = f"weather.region: unknown region {region!r}; expected one of: {known}"
        raise ValueError(msg) from None
