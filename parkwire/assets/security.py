"""Security and fire device types: gates, perimeter zones, cameras and fire-alarm panels."""

from __future__ import annotations

from parkwire.schema import AssetType

#: This domain's device types, in registry order.
ASSET_TYPES: tuple[AssetType, ...] = ()
