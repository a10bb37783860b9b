"""Rooftop PV fleet description: roofs, their inverters, met stations and model parameters.

The reference fleet (domain.md §3.4, [A]) is 8 MWp DC on 25 roofs of 150-800 kWp, tilted
5-10° and facing south or east/west, with 110 kW string inverters at a DC/AC ratio near 1.2
(≈ 60 inverters) and one met station. :func:`default_fleet` builds it deterministically from a
list of tenant ids.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
#: Tenant ids of the reference park (``t001`` .. ``t060``).
#: Highest DC/AC ratio the default fleet accepts before adding an inverter [1] ([A]).
_MAX_DC_AC = 1.35
REFPARK_TENANTS: tuple[str, ...] = tuple(f"t{number:03d}" for number in range(1, 61))


@dataclass(frozen=True, slots=True)
class RoofSpec:
    """One tenant roof and its PV array.

    Attributes:
        roof_id: slug, unique in the park (``roof-t017``).
        tenant_id: the tenant whose meter the array feeds (zero-export applies there).
        kwp_dc: array DC rating at STC [kWp].
        tilt_deg: module tilt from horizontal [deg].
        azimuth_deg: azimuth the modules face, clockwise from north [deg] (180 = south). For
            an east/west roof, the azimuth of the first face.
        east_west: half the array faces ``azimuth_deg``, half the opposite direction.
        n_inverters: string inverters on the roof; the DC is shared equally between them.
        inverter_kw: AC rating of each inverter [kW].
        zero_export: the tenant's export is limited to zero (Decree 135/2024, domain.md §1).
    """

    roof_id: str
    tenant_id: str
    kwp_dc: float
    tilt_deg: float = 10.0
    azimuth_deg: float = 180.0
    east_west: bool = False
    n_inverters: int = 1
    inverter_kw: float = 110.0
    zero_export: bool = True

    def __post_init__(self) -> None:
        where = f"solar.roofs[{self.roof_id}]"
        if not _SLUG.fullmatch(self.roof_id):
            msg = f"{where}.roof_id: {self.roof_id!r} is not a slug (a-z, 0-9, '-')"
            raise ValueError(msg)
        if self.kwp_dc <= 0.0 or self.inverter_kw <= 0.0 or self.n_inverters < 1:
            msg = (f"{where}: kwp_dc ({self.kwp_dc}), inverter_kw ({self.inverter_kw}) and "
                   f"n_inverters ({self.n_inverters}) must be positive")
            raise ValueError(msg)
        if not 0.0 <= self.tilt_deg <= 90.0 or not 0.0 <= self.azimuth_deg < 360.0:
            msg = (f"{where}: tilt_deg must lie in [0, 90] and azimuth_deg in [0, 360), got "
                   f"{self.tilt_deg} and {self.azimuth_deg}")
            raise ValueError(msg)

    @property
    def inverter_ids(self) -> tuple[str, ...]:
        """Device ids of the roof's inverters (``inv-t017-01`` for ``roof-t017``)."""
        stem = self.roof_id.removeprefix("roof-")
        return tuple(f"inv-{stem}-{k:02d}" for k in range(1, self.n_inverters + 1))


@dataclass(frozen=True, slots=True)
class MetStationSpec:
    """A PV meteorological station.

    Attributes:
        station_id: device id (``met-01``).
        tilt_deg: tilt of its plane-of-array pyranometer [deg].
        azimuth_deg: azimuth of that pyranometer [deg].
    """

    station_id: str = "met-01"
    tilt_deg: float = 10.0
    azimuth_deg: float = 180.0


def default_fleet(tenant_ids: Sequence[str] = REFPARK_TENANTS, *, total_kwp: float = 8_000.0,
                  n_roofs: int = 25, inverter_kw: float = 110.0,
                  dc_ac_ratio: float = 1.2) -> tuple[RoofSpec, ...]:
    """Build the reference fleet on *n_roofs* of *tenant_ids*, deterministically.

    Roofs go to evenly spaced tenants of the list; sizes follow a skewed 150-800 kWp ladder
    (many mid-sized roofs, a few large ones) scaled to *total_kwp* and laid out in a fixed
    shuffled order; every third roof is east/west at 5°, the others face south at 10°. A roof
    gets ``n = ceil(kWp / (1.35 * inverter_kw))`` inverters (DC/AC at most 1.35), each rated
    *inverter_kw* or, where that would leave the DC/AC ratio under *dc_ac_ratio*, the next
    5 kW step above ``kWp / (dc_ac_ratio * n)`` (the reference fleet: 70 inverters, 34 of them
    110 kW, DC/AC 1.13-1.32).
    """
    if not tenant_ids:
        msg = "default_fleet: tenant_ids is empty; give the park's tenant ids (t001, ...)"
        raise ValueError(msg)
    count = min(n_roofs, len(tenant_ids))
    chosen = [tenant_ids[int((k + 0.5) * len(tenant_ids) / count)] for k in range(count)]
    ladder = 150.0 + 650.0 * ((np.arange(count) + 0.5) / count) ** 2.8
    sizes = ladder * total_kwp / ladder.sum()
    order = np.random.default_rng(20_240_135).permutation(count)
    roofs = []
    for k, tenant in enumerate(chosen):
        kwp = round(float(np.clip(sizes[order[k]], 150.0, 800.0)), 1)
        n_inverters = math.ceil(kwp / (_MAX_DC_AC * inverter_kw))
        rating = min(inverter_kw, 5.0 * math.ceil(kwp / (dc_ac_ratio * n_inverters) / 5.0))
        east_west = k % 3 == 2
        roofs.append(RoofSpec(
            roof_id=f"roof-{tenant}", tenant_id=tenant, kwp_dc=kwp,
            tilt_deg=5.0 if east_west else 10.0, azimuth_deg=90.0 if east_west else 180.0,
            east_west=east_west,
            n_inverters=n_inverters, inverter_kw=rating,
        ))
    return tuple(roofs)


@dataclass(frozen=True, slots=True)
class SolarSpec:
    """Parameters of the rooftop PV model (defaults: the reference park; [A] unless cited).

    Attributes:
        park_id: names the park-level random streams (``solar.<park_id>``).
        roofs: the roofs (default: :func:`default_fleet` on the RefPark tenants).
        stations: met stations (default: one, ``met-01``).
        interval_s: telemetry interval of inverters and stations [s].
        albedo: ground reflectance for transposition [1] (domain.md §3.2).
        u_c: PVsyst constant heat-loss factor [W/(m²·K)]; 20 = semi-integrated roof rack [P1].
        gamma_pdc: power temperature coefficient [1/K] (domain.md §3.2).
        losses_pct: PVWatts system losses (soiling, shading, mismatch, wiring...) [%] [P1].
        eta_inv_nom: inverter nominal efficiency [1] (domain.md §3.2).
        export_margin: zero-export limit as a share of the tenant load [1] (domain.md §3.4).
        sleep_poa_wm2: below this plane-of-array irradiance the inverter sleeps [W/m²].
        start_poa_wm2: in the morning, it connects above this irradiance [W/m²] (§3.5).
        iso_trip_prob: chance per inverter per rainy-season morning of an insulation trip [1]
            (§3.5: 0.5-2 %).
        iso_window_h: local hours in which morning insulation trips start [h].
        iso_clear_min: shortest and longest insulation trip [min].
        reconnect_s: shortest and longest reconnection delay after the grid returns [s].
        snk_limit_c: heat-sink temperature above which the inverter derates [°C] (§3.5).
        derate_per_c: power reduction per °C of heat sink above the limit [1/K].
        snk_rise_load_c: heat-sink rise over air at full load [K].
        snk_rise_sun_c: heat-sink rise over air in full sun (rooftop mounting) [K].
        v_ln_nominal: nominal phase voltage [V] (Vietnam 220/380 V).
        f_nominal: nominal grid frequency [Hz].
        vmp_stc_v: string MPP voltage at STC [V].
        beta_vmp: MPP voltage temperature coefficient [1/K].
        filter_var_ratio: capacitive reactive power of the output filter while connected,
            as a share of the rating [1].
        yield_kwh_per_kwp: specific yield used to draw each inverter's initial WH [kWh/kWp/yr].
        age_years: range of inverter ages for the initial WH [yr].
    """

    park_id: str = "refpark"
    roofs: tuple[RoofSpec, ...] = field(default_factory=default_fleet)
    stations: tuple[MetStationSpec, ...] = (MetStationSpec(),)
    interval_s: int = 10
    albedo: float = 0.2
    u_c: float = 20.0
    gamma_pdc: float = -0.0034
    losses_pct: float = 14.08
    eta_inv_nom: float = 0.98
    export_margin: float = 0.98
    sleep_poa_wm2: float = 20.0
    start_poa_wm2: float = 40.0
    iso_trip_prob: float = 0.01
    iso_window_h: tuple[float, float] = (6.0, 9.0)
    iso_clear_min: tuple[float, float] = (30.0, 180.0)
    reconnect_s: tuple[float, float] = (60.0, 300.0)
    snk_limit_c: float = 65.0
    derate_per_c: float = 0.02
    snk_rise_load_c: float = 25.0
    snk_rise_sun_c: float = 8.0
    v_ln_nominal: float = 220.0
    f_nominal: float = 50.0
    vmp_stc_v: float = 620.0
    beta_vmp: float = -0.0035
    filter_var_ratio: float = 0.01
    yield_kwh_per_kwp: float = 1_100.0
    age_years: tuple[float, float] = (0.5, 5.0)

    def __post_init__(self) -> None:
        if self.interval_s <= 0 or self.interval_s % 10:
            msg = f"solar.interval_s: {self.interval_s} must be a positive multiple of 10 s"
            raise ValueError(msg)
        ids = [r.roof_id for r in self.roofs] + [s.station_id for s in self.stations]
        ids += [i for r in self.roofs for i in r.inverter_ids]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            msg = f"solar: duplicate roof/inverter/station ids: {', '.join(duplicates)}"
            raise ValueError(msg)
        if not 0.0 <= self.losses_pct < 100.0 or not 0.0 < self.eta_inv_nom <= 1.0:
            msg = (f"solar: losses_pct ({self.losses_pct}) must lie in [0, 100) and "
                   f"eta_inv_nom ({self.eta_inv_nom}) in (0, 1]")
            raise ValueError(msg)
        if not 0.0 <= self.iso_trip_prob <= 1.0:
            msg = f"solar.iso_trip_prob: {self.iso_trip_prob} outside [0, 1]"
            raise ValueError(msg)
        if not self.sleep_poa_wm2 <= self.start_poa_wm2:
            msg = "solar: sleep_poa_wm2 must not exceed start_poa_wm2"
            raise ValueError(msg)

    @property
    def total_kwp(self) -> float:
        """DC rating of the whole fleet [kWp]."""
        return math.fsum(r.kwp_dc for r in self.roofs)

    @classmethod
    def reference(cls, tenant_ids: Sequence[str] = REFPARK_TENANTS, **overrides: object
                  ) -> SolarSpec:
        """The reference fleet (:func:`default_fleet`) on *tenant_ids*, other fields overridden."""
        return cls(roofs=default_fleet(tenant_ids), **overrides)  # type: ignore[arg-type]
