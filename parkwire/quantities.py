"""The registry of quantities: what each device type reports, in which unit, within which range.

This is the single source of truth for field names. The simulator produces exactly these
names, the collector validates against them and maps them to database columns, and the
dashboards are checked against them. The device types are declared per domain in
:mod:`parkwire.assets`; the building blocks (:class:`Quantity`, :class:`AssetType`) are in
:mod:`parkwire.schema`. Within each asset type the registry (and so every payload) lists
float readings first, then integer codes, then flags, each group in declaration order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

from parkwire.assets import energy, security, solar, water
from parkwire.errors import ContractError
from parkwire.schema import AssetType, Kind, Naming, Quantity, ValueType, quantity_map

__all__ = ["ASSET_TYPES", "AssetType", "Kind", "Naming", "Quantity", "ValueType", "asset_type",
           "quantity_map"]


#: Emission order of value types within an asset type: numbers, then counts and codes, then flags.
_TYPE_ORDER = {ValueType.FLOAT: 0, ValueType.INT: 1, ValueType.BOOL: 2}


def _grouped(asset: AssetType) -> AssetType:
    """Return *asset* with its quantities ordered floats, ints, flags (stable within a type).

    One fixed order on the wire lets a producer print each value type of many messages in one
    pass (the simulator dumps float, int and flag columns separately and joins them).
    """
    ordered = sorted(asset.quantities.values(), key=lambda q: _TYPE_ORDER[q.value_type])
    if [q.name for q in ordered] == list(asset.quantities):
        return asset
    return dataclasses.replace(asset, quantities=quantity_map(*ordered))


def _assemble(*groups: tuple[AssetType, ...]) -> Mapping[str, AssetType]:
    registry: dict[str, AssetType] = {}
    for group in groups:
        for asset in group:
            if asset.name in registry:
                msg = f"asset type {asset.name!r} is declared twice"
                raise ContractError(msg)
            registry[asset.name] = _grouped(asset)
    return MappingProxyType(registry)


#: Every device type smartpark knows, by ``asset_type`` topic level.
ASSET_TYPES: Mapping[str, AssetType] = _assemble(
    energy.ASSET_TYPES, solar.ASSET_TYPES, water.ASSET_TYPES, security.ASSET_TYPES)


def asset_type(name: str) -> AssetType:
    """Return the registered asset type *name*, raising :class:`ContractError` if unknown."""
    try:
        return ASSET_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(ASSET_TYPES))
        msg = f"unknown asset type {name!r}; known: {known}"
        raise ContractError(msg) from None
