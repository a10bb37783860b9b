"""Rooftop solar device types: PV inverters and meteorological stations."""

from __future__ import annotations

from parkwire.schema import AssetType

#: This domain's device types, in registry order.
ASSET_TYPES: tuple[AssetType, ...] = ()
