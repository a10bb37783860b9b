"""The registry of quantities: what each device type reports, in which unit, within which range.

This is the single source of truth for field names. The simulator produces exactly these
names, the collector validates against them and maps them to database columns, and the
dashboards are checked against them. Units use UCUM-style symbols (``kW``, ``kvar``, ``V``);
``1`` marks a dimensionless ratio.

Ranges are *plausibility* bounds, set wide enough to admit faults (a stuck CT reading negative
power, a 0 V outage) but to reject garbage (a voltage of 10^9 V on a 0.4 kV meter). Sources for
the typical values are in ``docs/models/energy.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from parkwire.errors import ContractError
from parkwire.topics import Domain


class Kind(StrEnum):
    """How a quantity behaves over time."""

    GAUGE = "gauge"
    """A value at an instant (power, voltage)."""
    COUNTER = "counter"
    """A monotone running total (energy registers); differences give consumption."""
    STATE = "state"
    """A discrete state or flag (on/off, operating state code)."""


class ValueType(StrEnum):
    """The JSON type a reading has on the wire."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"


@dataclass(frozen=True, slots=True)
class Quantity:
    """One reading a device type reports.

    Attributes:
        name: field name on the wire and in the database (``snake_case``, unit as suffix).
        unit: UCUM-style unit symbol; ``1`` for a ratio, ``""`` for a state code or flag.
        description: one line for docs and dashboards.
        minimum: lowest plausible value (inclusive).
        maximum: highest plausible value (inclusive).
        kind: gauge, counter or state.
        value_type: JSON type on the wire.
        decimals: resolution a real instrument reports; the simulator rounds to it.
    """

    name: str
    unit: str
    description: str
    minimum: float
    maximum: float
    kind: Kind = Kind.GAUGE
    value_type: ValueType = ValueType.FLOAT
    decimals: int = 2

    def __post_init__(self) -> None:
        if not self.minimum <= self.maximum:
            msg = f"quantity {self.name}: minimum {self.minimum} > maximum {self.maximum}"
            raise ContractError(msg)


@dataclass(frozen=True, slots=True)
class AssetType:
    """A device type: its domain, its database measurement and the quantities it reports.

    Attributes:
        name: the ``asset_type`` topic level.
        domain: monitoring domain the type belongs to.
        measurement: InfluxDB measurement / embedded-store table the readings go to.
        description: one line for docs.
        quantities: the readings, by name, in the order the simulator emits them.
    """

    name: str
    domain: Domain
    measurement: str
    description: str
    quantities: Mapping[str, Quantity] = field(default_factory=dict)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the quantities, in emission order."""
        return tuple(self.quantities)


def _registry(*quantities: Quantity) -> Mapping[str, Quantity]:
    return MappingProxyType({q.name: q for q in quantities})


def _meter_quantities(p_max_kw: float, v_ln_max: float, i_max: float) -> Mapping[str, Quantity]:
    """Quantities of a three-phase revenue meter; only the ranges differ between LV and MV."""
    s_max = p_max_kw * 1.25
    counter_max = 1e12
    return _registry(
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


#: Every device type smartpark knows, by ``asset_type`` topic level.
ASSET_TYPES: Mapping[str, AssetType] = MappingProxyType({
    a.name: a
    for a in (
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
})


def asset_type(name: str) -> AssetType:
    """Return the registered asset type *name*, raising :class:`ContractError` if unknown."""
    try:
        return ASSET_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(ASSET_TYPES))
        msg = f"unknown asset type {name!r}; known: {known}"
        raise ContractError(msg) from None
