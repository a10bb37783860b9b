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
        substation: id of the substation it leaves from (empty: the park's first one).
    """

    id: str
    name: str
    substation: str = ""


@dataclass(frozen=True, slots=True)
class Energy:
    """Energy-domain settings.

    Attributes:
        interval_s: telemetry step of every meter [s].
        nominal_voltage_ln_v: tenant low-voltage phase-to-neutral voltage [V].
        tou_profile: time-of-use windows, ``evn_2014`` or ``proposed_2026``.
        substations: the park's 110/22 kV substations (one, unless the park is scaled up).
        feeders: 22 kV feeders, in scenario order.
    """

    substations: tuple[Substation, ...]
    feeders: tuple[Feeder, ...]
    interval_s: int = 10
    nominal_voltage_ln_v: float = 220.0
    tou_profile: str = "evn_2014"

    @property
    def substation(self) -> Substation:
        """The park's first (in an unscaled park, only) substation."""
        return self.substations[0]

    def feeder_substation(self, feeder: Feeder) -> Substation:
        """Return the substation *feeder* leaves from."""
        for substation in self.substations:
            if substation.id == feeder.substation:
                return substation
        return self.substations[0]


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
class Common:
    """The park operator's own loads (lighting, operations centre, shared pumps).

    Attributes:
        feeders: the 22 kV feeder each common-load meter hangs on (one meter per block
            of the park: ``mtr-common``, ``mtr-common-b02``...).
    """

    feeders: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Solar:
    """Rooftop PV settings (domain.md §3.4 defaults).

    Attributes:
        fleet_kwp: DC capacity of the whole fleet [kWp].
        roofs: number of PV roofs (each on a tenant's factory).
        interval_s: telemetry step of inverters and met stations [s].
    """

    fleet_kwp: float = 8000.0
    roofs: int = 25
    interval_s: int = 10


@dataclass(frozen=True, slots=True)
class Water:
    """Central wastewater plant settings (domain.md §0, §4).

    Attributes:
        design_m3d: design flow of each plant [m³/d].
        feeders: the 22 kV feeder each plant's meter hangs on (one plant per block).
        standard: effluent standard data file (``qcvn40_2011``).
        column: the standard's column (``A`` or ``B``).
        kq: receiving-water factor Kq [1].
        kf: discharge-flow factor Kf [1].
    """

    feeders: tuple[str, ...]
    design_m3d: float = 12_000.0
    standard: str = "qcvn40_2011"
    column: str = "A"
    kq: float = 1.0
    kf: float = 1.0


@dataclass(frozen=True, slots=True)
class Security:
    """Security and fire settings (domain.md §0, §5).

    Attributes:
        workers: people working in the park [1].
        gates: gates with access control and vehicle counting [1].
        pids_zones: perimeter intrusion-detection zones [1].
        cameras: CCTV cameras [1].
        common_fire_panels: fire-alarm panels outside the tenants' factories [1].
    """

    workers: int = 20_000
    gates: int = 6
    pids_zones: int = 80
    cameras: int = 400
    common_fire_panels: int = 5


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
        common: the operator's common loads, if modelled.
        solar: rooftop PV, if modelled.
        water: the central wastewater plant(s), if modelled.
        security: gates, perimeter, CCTV and fire panels, if modelled.
        scale: how many blocks of the file's park this scenario holds (``--scale``).
    """

    source: Path
    park: Park
    site: Site
    energy: Energy
    zones: tuple[Zone, ...]
    tenants: tuple[Tenant, ...]
    common: Common | None = None
    solar: Solar | None = None
    water: Water | None = None
    security: Security | None = None
    scale: int = 1

    @property
    def meter_count(self) -> int:
        """Energy meters: one per tenant, feeder and incomer, plus common and plant meters."""
        extras = len(self.common.feeders) if self.common else 0
        extras += len(self.water.feeders) if self.water else 0
        return (len(self.tenants) + len(self.energy.feeders) + len(self.energy.substations)
                + extras)

    @property
    def total_peak_kw(self) -> float:
        """Sum of the tenants' contracted peaks [kW]."""
        return float(sum(t.peak_kw for t in self.tenants))
