"""Central wastewater plant device types: monitoring station, analysers and process sensors."""

from __future__ import annotations

from parkwire.schema import AssetType

#: This domain's device types, in registry order.
ASSET_TYPES: tuple[AssetType, ...] = ()
