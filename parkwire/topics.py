"""The topic namespace: ``{park}/{site}/{domain}/{asset_type}/{device_id}/{channel}``.

The levels follow the ISA-95 / Unified Namespace idea of an address that reads from the
enterprise down to one device (see ``docs/contract.md``). Example::

    refpark/bac-ninh/energy/meter/mtr-t017/telemetry

Two rules apply to segments. *Parsing* is permissive, because real devices name themselves:
any 1 to 128 characters except ``/ + #``, control characters and a leading ``$``. *Building*
ids that smartpark itself assigns (scenario ids) uses the stricter slug form
``[a-z0-9][a-z0-9_.-]*``, which needs no escaping anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from parkwire.errors import ContractError, DecodeError, DecodeReason

#: Longest segment accepted from the wire, in characters.
MAX_SEGMENT_LENGTH = 128
#: Number of levels in a topic.
LEVELS = 6

_SLUG = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
# Control characters (C0, DEL, C1) are never part of a name; MQTT wildcards and the level
# separator cannot be.
_FORBIDDEN = re.compile(r"[/+#\x00-\x1f\x7f-\x9f]")


class Domain(StrEnum):
    """The park's monitoring domains (the third topic level)."""

    ENERGY = "energy"
    SOLAR = "solar"
    WATER = "water"
    SECURITY = "security"
    FIRE = "fire"
    SYSTEM = "system"


class Channel(StrEnum):
    """What kind of message a topic carries (the last topic level).

    ``telemetry`` is periodic readings; ``status`` is the retained online/offline state (set by
    an MQTT last will when a publisher dies); ``event`` is discrete occurrences (alarms, badge
    reads) that must not be lost.
    """

    TELEMETRY = "telemetry"
    STATUS = "status"
    EVENT = "event"


def is_slug(text: str) -> bool:
    """Return whether *text* is a strict smartpark id (``[a-z0-9][a-z0-9_.-]*``)."""
    return _SLUG.fullmatch(text) is not None


def check_segment(text: str) -> str | None:
    """Return why *text* cannot be a topic segment, or ``None`` when it can."""
    if not text:
        return "is empty"
    if len(text) > MAX_SEGMENT_LENGTH:
        return f"is longer than {MAX_SEGMENT_LENGTH} characters"
    if text.startswith("$"):
        return "starts with '$' (reserved for broker topics)"
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        return f"contains the forbidden character {bad.group()!r}"
    return None


@dataclass(frozen=True, slots=True)
class Topic:
    """One device's address for one channel.

    Attributes:
        park: the park's namespace id (enterprise level), e.g. ``refpark``.
        site: the site within the park, e.g. ``bac-ninh``.
        domain: monitoring domain.
        asset_type: device type, a key of :data:`parkwire.quantities.ASSET_TYPES`.
        device_id: the device's id, unique within the park.
        channel: message kind.
    """

    park: str
    site: str
    domain: Domain
    asset_type: str
    device_id: str
    channel: Channel

    def __post_init__(self) -> None:
        for name in ("park", "site", "asset_type", "device_id"):
            problem = check_segment(getattr(self, name))
            if problem is not None:
                msg = f"topic {name} {getattr(self, name)!r} {problem}"
                raise ContractError(msg)

    def __str__(self) -> str:
        return "/".join(
            (self.park, self.site, self.domain.value, self.asset_type, self.device_id,
             self.channel.value)
        )

    def with_channel(self, channel: Channel) -> Topic:
        """Return the same device's topic for another channel."""
        return Topic(self.park, self.site, self.domain, self.asset_type, self.device_id, channel)

    @classmethod
    def parse(cls, text: str) -> Topic:
        """Parse a topic string, raising :class:`DecodeError` (``bad_topic``) if it does not fit."""
        parts = text.split("/")
        if len(parts) != LEVELS:
            raise DecodeError(
                DecodeReason.BAD_TOPIC,
                f"topic {text[:200]!r} has {len(parts)} levels; expected {LEVELS}: "
                "park/site/domain/asset_type/device_id/channel",
            )
        park, site, domain, asset_type, device_id, channel = parts
        try:
            dom = Domain(domain)
        except ValueError:
            raise DecodeError(
                DecodeReason.BAD_TOPIC,
                f"unknown domain {domain[:40]!r}; expected one of "
                f"{', '.join(d.value for d in Domain)}",
            ) from None
        try:
            chan = Channel(channel)
        except ValueError:
            raise DecodeError(
                DecodeReason.BAD_TOPIC,
                f"unknown channel {channel[:40]!r}; expected one of "
                f"{', '.join(c.value for c in Channel)}",
            ) from None
        try:
            return cls(park, site, dom, asset_type, device_id, chan)
        except ContractError as exc:
            raise DecodeError(DecodeReason.BAD_TOPIC, str(exc)) from None


def subscription(park: str = "+", site: str = "+", channel: Channel | None = None) -> str:
    """Return an MQTT topic filter for every device of *park*/*site* (``+`` = any).

    With *channel* ``None`` the filter matches all channels.
    """
    tail = channel.value if channel is not None else "+"
    return f"{park}/{site}/+/+/+/{tail}"
