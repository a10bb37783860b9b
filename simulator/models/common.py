"""The park's common loads: road lighting, the operations centre and shared services.

These loads are the park operator's own, metered on one low-voltage meter (``mtr-common``)
and carried by the substation like any tenant. Nothing in domain.md sizes them, so every
number here is an engineering assumption [A] for a 300 ha park:

* road and area lighting: about 8 km of roads with a 150 W LED pole every 30 m (about 270
  poles, 40 kW) plus gates, car parks and the fence line (about 80 kW): 120 kW from dusk to
  dawn, switched by a photocell at a solar elevation near -3 deg (approximated here by local
  sunset/sunrise hours that move with the season);
* operations centre and administration: 80 kW always on (servers, the CCTV recorders,
  network, security systems) plus 170 kW of offices and air conditioning on working days
  07:30-17:30;
* shared services (water supply booster pumps, fire-water jockey pumps): 60 kW, always on.

P(t) = lighting(t) + 80 + 170 * office(t) * workday(t) + 60, with +-3 % AR(1) noise [kW].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulator.models.load import ar1, ar1_coefficient, bump

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class CommonLoadSpec:
    """Sizes of the park's common loads (all [A], see the module docstring).

    Attributes:
        lighting_kw: road and area lighting when on [kW].
        always_on_kw: operations centre, servers and security systems [kW].
        office_kw: offices and air conditioning on working days [kW].
        services_kw: booster and jockey pumps [kW].
        noise_sd: relative size of the AR(1) fluctuation [1].
        power_factor: mean displacement power factor [1].
    """

    lighting_kw: float = 120.0
    always_on_kw: float = 80.0
    office_kw: float = 170.0
    services_kw: float = 60.0
    noise_sd: float = 0.03
    power_factor: float = 0.93

    @property
    def peak_kw(self) -> float:
        """Largest load the model can ask for, before noise [kW]."""
        return self.lighting_kw + self.always_on_kw + self.office_kw + self.services_kw


def night_hours(day_of_year: FloatArray, latitude_deg: float) -> tuple[FloatArray, FloatArray]:
    """Return local (sunset, sunrise) hours by day of year, from the solar declination.

    Uses Cooper's declination and the hour-angle of sunset for a horizon at -3 deg elevation
    (when photocells switch), ignoring the equation of time and longitude offset within the
    time zone (minutes: immaterial for a lighting load).
    """
    decl = math.radians(23.45) * np.sin(2.0 * np.pi * (284.0 + day_of_year) / 365.0)
    lat = math.radians(latitude_deg)
    h0 = math.radians(-3.0)
    cos_w = (math.sin(h0) - math.sin(lat) * np.sin(decl)) / (math.cos(lat) * np.cos(decl))
    half_day_h = np.degrees(np.arccos(np.clip(cos_w, -1.0, 1.0))) / 15.0
    return 12.0 + half_day_h, 12.0 - half_day_h


def common_load_kw(*, spec: CommonLoadSpec, hod: FloatArray, day_of_year: FloatArray,
                   workday: FloatArray, latitude_deg: float, noise: FloatArray) -> FloatArray:
    """Evaluate the common-load equation (module docstring) per step [kW], shape (n,).

    Args:
        spec: load sizes.
        hod: local hour of day [h].
        day_of_year: local day of year [1..366].
        workday: 1 on a working day, 0 on Sundays and public holidays [1].
        latitude_deg: site latitude [deg N], for the lighting hours.
        noise: unit-variance AR(1) process [1].
    """
    sunset, sunrise = night_hours(day_of_year, latitude_deg)
    lighting = ((hod >= sunset) | (hod < sunrise)).astype(np.float64)
    office = bump(hod, 7.5, 17.5, 0.5)
    p = (spec.lighting_kw * lighting + spec.always_on_kw + spec.office_kw * office * workday
         + spec.services_kw)
    return np.maximum(p * (1.0 + spec.noise_sd * noise), 0.0)


class CommonLoadModel:
    """Steps the common loads; keeps the AR(1) noise state between calls.

    Args:
        spec: load sizes.
        latitude_deg: site latitude [deg N].
        interval_s: step length [s].
        initial_noise: starting AR(1) value [1].
    """

    def __init__(self, spec: CommonLoadSpec, latitude_deg: float, interval_s: float,
                 initial_noise: float) -> None:
        self.spec = spec
        self.latitude_deg = latitude_deg
        self._phi = ar1_coefficient(interval_s)
        self._state = np.array([self._phi * initial_noise])

    def step(self, *, hod: FloatArray, day_of_year: FloatArray, workday: FloatArray,
             eps: FloatArray) -> FloatArray:
        """Return the load per step [kW] for standard-normal innovations *eps*, shape (n,)."""
        noise, self._state = ar1(eps[:, np.newaxis], self._phi, self._state)
        return common_load_kw(spec=self.spec, hod=hod, day_of_year=day_of_year, workday=workday,
                              latitude_deg=self.latitude_deg, noise=noise[:, 0])
