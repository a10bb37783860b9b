"""The building blocks of the quantity registry: quantities, asset types and their metadata.

Units use UCUM-style symbols (``kW``, ``kvar``, ``V``); ``1`` marks a dimensionless ratio.
Field names are ``snake_case`` with their unit as a word (``p_kw``), except where an industry
naming is what users recognise (SunSpec point names for inverters): :class:`Naming` says which.

Ranges are *plausibility* bounds, set wide enough to admit faults (a stuck CT reading negative
power, a 0 V outage) but to reject garbage (a voltage of 10^9 V on a 0.4 kV meter). Sources for
the typical values are in the domain pages under ``docs/models/``.
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


class Naming(StrEnum):
    """The convention an asset type's field names follow."""

    SMARTPARK = "smartpark"
    """``snake_case`` with the unit as a word (``p_kw``, ``thd_v_pct``)."""
    SUNSPEC = "sunspec"
    """SunSpec information-model point names, verbatim (``W``, ``DCV``, ``TmpSnk``)."""


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
        naming: the convention the field names follow.
    """

    name: str
    domain: Domain
    measurement: str
    description: str
    quantities: Mapping[str, Quantity] = field(default_factory=dict)
    naming: Naming = Naming.SMARTPARK

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the quantities, in emission order."""
        return tuple(self.quantities)


def quantity_map(*quantities: Quantity) -> Mapping[str, Quantity]:
    """Return *quantities* as a read-only mapping by name, keeping their order."""
    return MappingProxyType({q.name: q for q in quantities})


