"""parkwire: smartpark's wire contract, shared by the simulator and the collector.

It holds the topic namespace (:mod:`parkwire.topics`), the message envelope
(:mod:`parkwire.envelope`), the registry of quantities with units and plausible ranges
(:mod:`parkwire.quantities`) and the one codec (:mod:`parkwire.codec`). It does no I/O.
"""

from parkwire.codec import MAX_PAYLOAD_BYTES, decode, encode, parse_topic
from parkwire.envelope import (
    SCHEMA_VERSION,
    DeviceState,
    Event,
    Message,
    Quality,
    Reading,
    Status,
    Telemetry,
    format_ts,
    to_epoch_ms,
)
from parkwire.errors import ContractError, DecodeError, DecodeReason
from parkwire.quantities import ASSET_TYPES, AssetType, Kind, Quantity, ValueType, asset_type
from parkwire.topics import Channel, Domain, Topic, is_slug, subscription

__all__ = [
    "ASSET_TYPES",
    "MAX_PAYLOAD_BYTES",
    "SCHEMA_VERSION",
    "AssetType",
    "Channel",
    "ContractError",
    "DecodeError",
    "DecodeReason",
    "DeviceState",
    "Domain",
    "Event",
    "Kind",
    "Message",
    "Quality",
    "Quantity",
    "Reading",
    "Status",
    "Telemetry",
    "Topic",
    "ValueType",
    "asset_type",
    "decode",
    "encode",
    "format_ts",
    "is_slug",
    "parse_topic",
    "subscription",
    "to_epoch_ms",
]
