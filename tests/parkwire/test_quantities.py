"""The quantity registry: one consistent source of names, units and plausible ranges."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from parkwire import (
    ASSET_TYPES,
    AssetType,
    ContractError,
    Domain,
    Kind,
    Quantity,
    ValueType,
    asset_type,
    is_slug,
)
from parkwire.schema import Naming

SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
# Names carry their unit as a word (p_kw, freq_hz, thd_v_pct). Phase voltages and currents
# follow the metering habit of a leading symbol instead (v_ln_a, i_b); ratios have no unit.
UNIT_WORD = {"kW": "kw", "kvar": "kvar", "kVA": "kva", "Hz": "hz", "%": "pct", "kWh": "kwh",
             "mg/L": "mgl", "m3/h": "m3h", "Cel": "c", "[pH]": "ph", "mV": "mv", "Pt-Co": "ptco",
             "kbit/s": "kbps", "{frame}/s": "fps", "d": "days",
             "kvarh": "kvarh", "W/m2": "wm2", "m/s": "ms", "mm/h": "mmh"}
# SunSpec point names, verbatim (W, PhVphA, TmpSnk, Evt1): asset types with Naming.SUNSPEC.
SUNSPEC_POINT = re.compile(r"[A-Z][A-Za-z0-9]*")
UNIT_PREFIX = {"V": "v", "A": "i"}

ALL_QUANTITIES = [
    pytest.param(asset, quantity, id=f"{asset.name}.{quantity.name}")
    for asset in ASSET_TYPES.values()
    for quantity in asset.quantities.values()
]


def test_registry_keys_are_the_asset_names() -> None:
    """Each registry key is its asset type's own name, a strict slug usable in topics."""
    for key, asset in ASSET_TYPES.items():
        assert key == asset.name
        assert is_slug(key)
        assert isinstance(asset.domain, Domain)


def test_registry_has_the_energy_meters_and_the_gateway() -> None:
    """The first release registers the LV meter, the MV meter and the publisher gateway."""
    assert {"meter", "mv_meter", "gateway"} <= set(ASSET_TYPES)
    assert ASSET_TYPES["gateway"].quantities == {}
    assert ASSET_TYPES["gateway"].domain is Domain.SYSTEM


def test_registry_is_read_only() -> None:
    """Nobody can add or replace an asset type or a quantity at run time."""
    with pytest.raises(TypeError):
        ASSET_TYPES["pump"] = ASSET_TYPES["meter"]  # type: ignore[index]
    with pytest.raises(TypeError):
        ASSET_TYPES["meter"].quantities["x"] = ASSET_TYPES["meter"].quantities["p_kw"]  # type: ignore[index]


@pytest.mark.parametrize("asset", ASSET_TYPES.values(), ids=lambda a: a.name)
def test_measurement_names_are_snake_case(asset: AssetType) -> None:
    """Measurement (table) names are plain snake_case: nothing encoded in them [N9]."""
    assert SNAKE.fullmatch(asset.measurement)
    assert asset.description


def test_a_measurement_has_one_field_set() -> None:
    """Asset types sharing a measurement report the same fields, so tables stay homogeneous."""
    fields: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for asset in ASSET_TYPES.values():
        if asset.quantities:
            fields[asset.measurement].add(asset.field_names)
    assert fields
    for measurement, variants in fields.items():
        assert len(variants) == 1, f"{measurement} has differing field sets: {variants}"


def test_lv_and_mv_meters_share_energy_meter() -> None:
    """Tenant and 22 kV meters land in the same energy_meter table with the same units."""
    lv, mv = ASSET_TYPES["meter"], ASSET_TYPES["mv_meter"]
    assert lv.measurement == mv.measurement == "energy_meter"
    assert [q.unit for q in lv.quantities.values()] == [q.unit for q in mv.quantities.values()]
    assert mv.quantities["v_ln_a"].maximum > lv.quantities["v_ln_a"].maximum


@pytest.mark.parametrize(("asset", "quantity"), ALL_QUANTITIES)
def test_quantity_name_is_snake_case_with_its_unit(asset: AssetType, quantity: Quantity) -> None:
    """A field name is snake_case and says its unit, so a query reads without a lookup table."""
    assert asset.quantities[quantity.name] is quantity
    if asset.naming is Naming.SUNSPEC:
        assert SUNSPEC_POINT.fullmatch(quantity.name)
        return
    assert SNAKE.fullmatch(quantity.name)
    words = quantity.name.split("_")
    if quantity.unit in UNIT_WORD:
        assert UNIT_WORD[quantity.unit] in words
    elif quantity.unit in UNIT_PREFIX:
        assert words[0] == UNIT_PREFIX[quantity.unit]
    else:
        assert quantity.unit in {"1", ""}, f"unit {quantity.unit!r} has no naming rule yet"


@pytest.mark.parametrize(("asset", "quantity"), ALL_QUANTITIES)
def test_quantity_metadata_is_complete(asset: AssetType, quantity: Quantity) -> None:
    """Every quantity has a unit (unless a state), a description, an ordered range, decimals."""
    assert quantity.description
    assert quantity.unit or quantity.kind is Kind.STATE
    assert quantity.minimum < quantity.maximum
    assert 0 <= quantity.decimals <= 6
    if quantity.kind is Kind.COUNTER:
        assert quantity.minimum == 0.0, "registers only count up from zero"
    if quantity.value_type is ValueType.BOOL:
        assert (quantity.minimum, quantity.maximum) == (0, 1)


@pytest.mark.parametrize(("asset", "quantity"), ALL_QUANTITIES)
def test_ranges_admit_zero_for_outages(asset: AssetType, quantity: Quantity) -> None:
    """A dead supply reads 0 V, 0 A, 0 Hz: the plausible ranges must admit it."""
    assert quantity.minimum <= 0.0 <= quantity.maximum


def test_power_factor_is_a_ratio() -> None:
    """Power factor is dimensionless and bounded by 1."""
    pf = ASSET_TYPES["meter"].quantities["pf"]
    assert (pf.unit, pf.minimum, pf.maximum) == ("1", 0.0, 1.0)


def test_field_names_keep_emission_order() -> None:
    """field_names lists quantities in the order they were registered."""
    meter = ASSET_TYPES["meter"]
    assert meter.field_names == tuple(meter.quantities)
    assert meter.field_names[:3] == ("p_kw", "q_kvar", "s_kva")


def test_asset_type_lookup() -> None:
    """asset_type() returns the registered object."""
    assert asset_type("meter") is ASSET_TYPES["meter"]


def test_asset_type_unknown_lists_the_known_ones() -> None:
    """An unknown asset type is a ContractError listing what exists."""
    with pytest.raises(ContractError,
                       match=r"unknown asset type 'pump'; known: .*gateway, .*meter"):
        asset_type("pump")


def test_quantity_with_inverted_range_is_rejected() -> None:
    """A quantity whose minimum exceeds its maximum cannot be built."""
    with pytest.raises(ContractError, match="quantity x_kw: minimum 2 > maximum 1"):
        Quantity("x_kw", "kW", "broken", 2, 1)


def test_quantity_defaults() -> None:
    """A quantity is a float gauge with two decimals unless told otherwise."""
    quantity = Quantity("x_kw", "kW", "example", 0.0, 1.0)
    assert (quantity.kind, quantity.value_type, quantity.decimals) == (
        Kind.GAUGE, ValueType.FLOAT, 2)
