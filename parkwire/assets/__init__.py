"""The device types of each monitoring domain, one module per domain.

Each module exposes ``ASSET_TYPES``, a tuple of :class:`parkwire.schema.AssetType`;
:mod:`parkwire.quantities` assembles them into the one registry.
"""
