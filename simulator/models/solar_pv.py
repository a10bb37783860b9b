"""The pvlib chain from weather to AC power, as pure vectorised functions (domain.md §3.2).

Per module plane (a few per park; roofs share them)::

    POA    = get_total_irradiance(tilt, azimuth, apparent zenith, azimuth, DNI, GHI, DHI,
                                  albedo, model="isotropic")
    E_eff  = POA_direct * iam.physical(aoi) + POA_diffuse
    T_cell = pvsyst_cell(POA_global, T_air, wind, u_c)
    P_dc   = pvwatts_dc(E_eff, T_cell, 1 kW/kWp, gamma_pdc) * (1 - losses)     [kW per kWp]

then per inverter ``P_ac = pvlib.inverter.pvwatts(P_dc, P_ac0 / eta_nom, eta_nom)``, which
clips at the AC rating ``P_ac0`` [P1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pvlib import iam, inverter, irradiance, pvsystem, temperature

from simulator.models.output import FloatArray
from simulator.models.weather import Weather


@dataclass(frozen=True, slots=True)
class PlaneOutput:
    """Irradiance, cell temperature and DC yield of module planes; arrays (n, planes).

    Attributes:
        poa: plane-of-array global irradiance [W/m²].
        effective: irradiance reaching the cells after reflection losses [W/m²].
        t_cell: cell temperature [°C].
        dc_kw_per_kwp: DC power per kWp of modules, after system losses [kW/kWp].
    """

    poa: FloatArray
    effective: FloatArray
    t_cell: FloatArray
    dc_kw_per_kwp: FloatArray


def plane_output(weather: Weather, tilt_deg: FloatArray, azimuth_deg: FloatArray, *,
                 albedo: float, u_c: float, gamma_pdc: float,
                 losses_pct: float) -> PlaneOutput:
    """Run the plane part of the chain for planes (*tilt_deg*, *azimuth_deg*) at once."""
    zenith = weather.apparent_zenith[:, None]
    azimuth = weather.azimuth[:, None]
    poa = irradiance.get_total_irradiance(
        tilt_deg, azimuth_deg, zenith, azimuth, weather.dni[:, None], weather.ghi[:, None],
        weather.dhi[:, None], albedo=albedo, model="isotropic")
    aoi = irradiance.aoi(tilt_deg, azimuth_deg, zenith, azimuth)
    direct = np.asarray(poa["poa_direct"], dtype=np.float64)
    diffuse = np.broadcast_to(np.asarray(poa["poa_diffuse"], dtype=np.float64), direct.shape)
    glob = np.maximum(np.asarray(poa["poa_global"], dtype=np.float64), 0.0)
    effective = np.maximum(direct * np.asarray(iam.physical(aoi), dtype=np.float64) + diffuse,
                           0.0)
    t_cell = np.asarray(temperature.pvsyst_cell(glob, weather.t_air_c[:, None],
                                                weather.wind_ms[:, None], u_c=u_c),
                        dtype=np.float64)
    dc = np.asarray(pvsystem.pvwatts_dc(effective, t_cell, 1.0, gamma_pdc), dtype=np.float64)
    return PlaneOutput(glob, effective, t_cell,
                       np.maximum(dc, 0.0) * (1.0 - losses_pct / 100.0))


def inverter_ac_kw(dc_kw: FloatArray, ac_rating_kw: FloatArray, eta_nom: float) -> FloatArray:
    """PVWatts inverter: AC power [kW] from DC power [kW], clipped at *ac_rating_kw*."""
    ac = inverter.pvwatts(dc_kw, ac_rating_kw / eta_nom, eta_inv_nom=eta_nom)
    return np.asarray(ac, dtype=np.float64)
