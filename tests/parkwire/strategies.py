"""Hypothesis strategies for valid contract messages and for hostile input."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from parkwire import (
    ASSET_TYPES,
    AssetType,
    Channel,
    DeviceState,
    Event,
    Message,
    Quality,
    Status,
    Telemetry,
    Topic,
    ValueType,
)
from parkwire.codec import MAX_SEQ, MAX_TEXT
from parkwire.topics import MAX_SEGMENT_LENGTH

#: Milliseconds from 1970 to the end of 2199: far beyond any plausible device clock.
TIMESTAMPS = st.integers(0, 7_258_118_399_999)
SEQUENCES = st.integers(0, MAX_SEQ)
TELEMETRY_ASSETS = [a for a in ASSET_TYPES.values() if a.quantities]

# Any text the permissive parser accepts as a segment: no '/', '+', '#', no control
# characters (category Cc covers C0, DEL and C1), no leading '$'.
SEGMENTS = st.text(
    st.characters(exclude_categories=["Cc", "Cs"], exclude_characters="/+#"),
    min_size=1,
    max_size=MAX_SEGMENT_LENGTH,
).filter(lambda s: not s.startswith("$"))
SHORT_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=MAX_TEXT)


@st.composite
def topics(draw: st.DrawFn, asset: AssetType, channel: Channel) -> Topic:
    """A topic of *asset* on *channel* with arbitrary permitted ids."""
    return Topic(draw(SEGMENTS), draw(SEGMENTS), asset.domain, asset.name, draw(SEGMENTS),
                 channel)


@st.composite
def readings(draw: st.DrawFn, asset: AssetType) -> dict[str, float | int | bool]:
    """A non-empty subset of *asset*'s quantities, each within its plausible range."""
    names = draw(st.lists(st.sampled_from(asset.field_names), min_size=1, unique=True))
    values: dict[str, float | int | bool] = {}
    for name in names:
        quantity = asset.quantities[name]
        if quantity.value_type is ValueType.BOOL:
            values[name] = draw(st.booleans())
        elif quantity.value_type is ValueType.INT:
            values[name] = draw(st.integers(int(quantity.minimum), int(quantity.maximum)))
        else:
            values[name] = draw(st.floats(quantity.minimum, quantity.maximum, allow_nan=False)
                                | st.integers(int(quantity.minimum), int(quantity.maximum)))
    return values


@st.composite
def telemetry(draw: st.DrawFn) -> Telemetry:
    """Any valid telemetry message."""
    asset = draw(st.sampled_from(TELEMETRY_ASSETS))
    return Telemetry(draw(topics(asset, Channel.TELEMETRY)), draw(TIMESTAMPS), draw(SEQUENCES),
                     draw(readings(asset)), draw(st.sampled_from(Quality)))


@st.composite
def statuses(draw: st.DrawFn) -> Status:
    """Any valid status message, for any registered asset type."""
    asset = draw(st.sampled_from(list(ASSET_TYPES.values())))
    return Status(draw(topics(asset, Channel.STATUS)), draw(TIMESTAMPS),
                  draw(st.sampled_from(DeviceState)))


EVENT_VALUES = (
    SHORT_TEXT
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
)


@st.composite
def events(draw: st.DrawFn) -> Event:
    """Any valid event message."""
    asset = draw(st.sampled_from(list(ASSET_TYPES.values())))
    return Event(
        draw(topics(asset, Channel.EVENT)), draw(TIMESTAMPS), draw(SEQUENCES),
        draw(SHORT_TEXT.filter(bool)),
        draw(st.dictionaries(SHORT_TEXT, EVENT_VALUES, max_size=8)),
    )


def messages() -> st.SearchStrategy[Message]:
    """Any valid message of any channel."""
    return st.one_of(telemetry(), statuses(), events())


#: Anything orjson can write: the shapes a confused or hostile publisher might send.
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | SHORT_TEXT,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(SHORT_TEXT, children, max_size=4),
    max_leaves=12,
)
