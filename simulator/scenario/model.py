"""A loaded, validated scenario as frozen dataclasses (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simulator.scenario.archetypes import ARCHETYPES, SHIFT_PATTERNS, Archetype, ShiftPattern


@dataclass(frozen=True, slots=True)
class Park:
    """The park (the enterprise topic level).

    Attributes:
        id: slug used as the first topic level.
        name: display name.
        description: one line for ``smartpark scenario list``.
    """

    id: str
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Site:
    """Where the park is.

    Attributes:
        id: slug used as the second topic level.
        name: display name.
        lat: latitude [deg N].
        lon: longitude [deg E].
        timezone: IANA zone of local (shift and tariff) time.
        region: ``north`` or ``south`` (climate profile).
    """

    id: str
    name: str
    lat: float
    lon: float
    timezone: str = "Asia/Ho_Chi_Minh"
    region: str = "north"


@dataclass(frozen=True, slots=True)
class Substation:
    """The park's 110/22 kV substation.

    Attributes:
        id: slug.
        name: display name.
        primary_kv: high-voltage side [kV].
        secondary_kv: distribution side [kV].
        transformers: number of parallel transformers [1].
        transformer_mva: rating of each [MVA].
    """

    id: str
    name: str
    primary_kv: float = 110.0
    secondary_kv: float = 22.0
    transformers: int = 2
    transformer_mva: float = 63.0


@dataclass(frozen=True, slots=True)
class Feeder:
    """One outgoing 22 kV feeder.

    Attributes:
        id: slug.
        name: display name.
    """

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Energy:
    """Energy-domain settings.

    Attributes:
        interval_s: telemetry step of every meter [s].
        nominal_voltage_ln_v: tenant low-voltage phase-to-neutral voltage [V].
        tou_profile: time-of-use windows, ``evn_2014`` or ``proposed_2026``.
        substation: the park substation.
        feeders: 22 kV feeders, in scenario order.
    """

    substation: Substation
    feeders: tuple[Feeder, ...]
    interval_s: int = 10
    nominal_voltage_ln_v: float = 220.0
    tou_profile: str = "evn_2014"


@dataclass(frozen=True, slots=True)
class Zone:
    """A part of the park served by one feeder.

    Attributes:
        id: slug.
        name: display name.
        feeder: id of the feeder that supplies it.
    """

    id: str
    name: str
    feeder: str


@dataclass(frozen=True, slots=True)
class Tenant:
    """One factory with its own revenue meter, with archetype defaults already applied.

    Attributes:
        id: slug.
        name: display name.
        zone: zone id.
        archetype: archetype name.
        shift: shift pattern name.
        peak_kw: contracted peak demand [kW].
        base: always-on fraction of the peak [1].
        pf_mean: mean power factor [1].
        feeder: id of the feeder the tenant hangs on (the zone's unless overridden).
    """

    id: str
    name: str
    zone: str
    archetype: str
    shift: str
    peak_kw: float
    base: float
    pf_mean: float
    feeder: str

    @property
    def archetype_spec(self) -> Archetype:
        """The archetype's full defaults."""
        return ARCHETYPES[self.archetype]

    @property
    def shift_spec(self) -> ShiftPattern:
        """The shift pattern's full definition."""
        return SHIFT_PATTERNS[self.shift]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole park: site, grid and tenants.

    Attributes:
        source: the file it was loaded from.
        park: the park.
        site: its site.
        energy: energy settings, substation and feeders.
        zones: zones in file order.
        tenants: tenants in file order.
    """

    source: Path
    park: Park
    site: Site
    energy: Energy
    zones: tuple[Zone, ...]
    tenants: tuple[Tenant, ...]

    @property
    def device_count(self) -> int:
        """Meters the scenario simulates: one per tenant, one per feeder, one incomer."""
        return len(self.tenants) + len(self.energy.feeders) + 1

    @property
    def messages_per_minute(self) -> float:
        """Telemetry messages per simulated minute [1/min]."""
        return self.device_count * 60.0 / self.energy.interval_s

    @property
    def total_peak_kw(self) -> float:
        """Sum of the tenants' contracted peaks [kW]."""
        return float(sum(t.peak_kw for t in self.tenants))
