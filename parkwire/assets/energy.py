"""Energy metering device types: tenant (0.4 kV) and network (22 kV) revenue meters.

Typical values and their sources are in ``docs/models/energy.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

from parkwire.schema import AssetType, Kind, Quantity, quantity_map
from parkwire.topics import Domain


def _meter_quantities(p_max_kw: float, v_ln_max: float, i_max: float) -> Mapping[str, Quantity]:
    """Quantities of a three-phase revenue meter; only the ranges differ between LV and MV."""
    s_max = p_max_kw * 1.25
    counter_max = 1e12
    return quantity_map(
        Quantity("p_kw", "kW", "Active power, total of three phases (import positive)",
                 -p_max_kw, p_max_kw, decimals=2),
        Quantity("q_kvar", "kvar", "Reactive power, total (inductive positive)",
                 -p_max_kw, p_max_kw, decimals=2),
        Quantity("s_kva", "kVA", "Apparent power, total", 0.0, s_max, decimals=2),
        Quantity("pf", "1", "Power factor (displacement, magnitude)", 0.0, 1.0, decimals=3),
        Quantity("v_ln_a", "V", "Phase A to neutral voltage", 0.0, v_ln_max, decimals=1),
        Quantity("v_ln_b", "V", "Phase B to neutral voltage", 0.0, v_ln_max, decimals=1),
        Quantity("v_ln_c", "V", "Phase C to neutral voltage", 0.0, v_ln_max, decimals=1),
        Quantity("i_a", "A", "Phase A current", 0.0, i_max, decimals=1),
        Quantity("i_b", "A", "Phase B current", 0.0, i_max, decimals=1),
        Quantity("i_c", "A", "Phase C current", 0.0, i_max, decimals=1),
        Quantity("freq_hz", "Hz", "Grid frequency (0 when the supply is lost)", 0.0, 65.0,
                 decimals=3),
        Quantity("thd_v_pct", "%", "Voltage total harmonic distortion", 0.0, 100.0, decimals=2),
        Quantity("thd_i_pct", "%", "Current total harmonic distortion", 0.0, 200.0, decimals=2),
        Quantity("kwh_imp", "kWh", "Imported active energy register", 0.0, counter_max,
                 Kind.COUNTER, decimals=3),
        Quantity("kwh_exp", "kWh", "Exported active energy register", 0.0, counter_max,
                 Kind.COUNTER, decimals=3),
        Quantity("kvarh_imp", "kvarh", "Imported (inductive) reactive energy register", 0.0,
                 counter_max, Kind.COUNTER, decimals=3),
        Quantity("kwh_peak", "kWh", "Imported energy in EVN peak hours (TOU register)", 0.0,
                 counter_max, Kind.COUNTER, decimals=3),
        Quantity("kwh_normal", "kWh", "Imported energy in EVN normal hours (TOU register)", 0.0,
                 counter_max, Kind.COUNTER, decimals=3),
        Quantity("kwh_offpeak", "kWh", "Imported energy in EVN off-peak hours (TOU register)",
                 0.0, counter_max, Kind.COUNTER, decimals=3),
    )


#: The energy domain's device types, plus the publisher gateway (status only).
ASSET_TYPES: tuple[AssetType, ...] = (
    AssetType(
        "meter", Domain.ENERGY, "energy_meter",
        "Tenant revenue meter on the 0.4 kV side of a 22/0.4 kV transformer",
        # 8 MW is the largest tenant peak in the reference mix; 40 kA covers it at 400 V.
        _meter_quantities(p_max_kw=20_000.0, v_ln_max=300.0, i_max=40_000.0),
    ),
    AssetType(
        "mv_meter", Domain.ENERGY, "energy_meter",
        "22 kV meter: an outgoing feeder or a 110/22 kV transformer incomer",
        # 2 x 63 MVA transformers; 22 kV / sqrt(3) = 12.7 kV phase voltage.
        _meter_quantities(p_max_kw=200_000.0, v_ln_max=20_000.0, i_max=10_000.0),
    ),
    AssetType(
        "gateway", Domain.SYSTEM, "gateway",
        "A publisher's connection (the simulator); reports status only",
    ),
)


