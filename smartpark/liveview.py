"""The demo's live terminal view: what an operation-centre screen would show, in a terminal.

:func:`render` is a pure function of a :class:`Snapshot`, so it is tested without a terminal;
the demo refreshes it a few times a second with ``rich.live.Live``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True, slots=True)
class TenantReading:
    """The latest stored reading of one tenant meter.

    Attributes:
        device_id: meter id.
        p_kw: active power [kW].
        pf: power factor [1].
        v_ln_a: phase A voltage [V].
        kwh_imp: import energy register [kWh].
    """

    device_id: str
    p_kw: float
    pf: float
    v_ln_a: float
    kwh_imp: float


@dataclass(frozen=True, slots=True)
class Glance:
    """The other domains at a glance: the latest stored values, None where nothing is stored.

    Attributes:
        pv_kw: rooftop PV output of the whole fleet [kW].
        plant_inflow_m3h: the wastewater plant's inflow [m³/h].
        effluent_cod_mgl: COD at the outfall station [mg/L].
        effluent_nh4_mgl: NH4-N at the outfall station [mg/L].
        effluent_ok: every outfall parameter within its limit.
        people_in: people entering in the latest minute, all gates.
        people_out: people leaving in the latest minute, all gates.
        cameras_online: cameras online.
        cameras: cameras reporting.
        pids_alarms: perimeter zones in alarm.
        fire_not_normal: fire-alarm panels not in their normal state.
        fire_alarms: panels in fire alarm.
    """

    pv_kw: float | None = None
    plant_inflow_m3h: float | None = None
    effluent_cod_mgl: float | None = None
    effluent_nh4_mgl: float | None = None
    effluent_ok: bool | None = None
    people_in: int | None = None
    people_out: int | None = None
    cameras_online: int | None = None
    cameras: int | None = None
    pids_alarms: int | None = None
    fire_not_normal: int | None = None
    fire_alarms: int | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the live view shows at one instant.

    Attributes:
        sim_time: simulated park time, already formatted in the park's time zone.
        elapsed_s: wall seconds since the demo started.
        speed: simulated seconds per wall second.
        broker: which broker carries the traffic (for the header).
        published: telemetry messages the simulator has had acknowledged by the broker.
        stored: readings the collector has made durable in the store.
        invalid: messages the collector rejected (dead-lettered).
        publish_rate: published messages per wall second, recent.
        store_rate: stored readings per wall second, recent.
        devices_online: devices whose latest status is online.
        devices_total: devices in the scenario.
        park_load_kw: the substation's latest active power [kW], if any is stored yet.
        tenants: latest readings of the most loaded tenants.
        lag_s: how far the simulator is behind its schedule [s].
        day_note: what is special about the simulated day (a public holiday), or "".
        glance: solar, water, security and fire at a glance.
    """

    sim_time: str
    elapsed_s: float
    speed: float
    broker: str
    published: int
    stored: int
    invalid: int
    publish_rate: float
    store_rate: float
    devices_online: int
    devices_total: int
    park_load_kw: float | None
    tenants: tuple[TenantReading, ...] = field(default_factory=tuple)
    lag_s: float = 0.0
    day_note: str = ""
    glance: Glance = field(default_factory=Glance)

    @property
    def in_flight(self) -> int:
        """Messages published but neither stored nor rejected yet."""
        return max(0, self.published - self.stored - self.invalid)


def _counters(snap: Snapshot) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold")
    table.add_column(justify="right")
    table.add_column(justify="left", style="dim")
    table.add_row("published", f"{snap.published:,}", f"{snap.publish_rate:,.0f} msg/s")
    table.add_row("stored", f"{snap.stored:,}", f"{snap.store_rate:,.0f} msg/s")
    table.add_row("invalid", f"{snap.invalid:,}", "dead-lettered")
    table.add_row("in flight", f"{snap.in_flight:,}", "published, not yet stored")
    table.add_row("devices online", f"{snap.devices_online} / {snap.devices_total}", "")
    load = "-" if snap.park_load_kw is None else f"{snap.park_load_kw / 1000:,.2f} MW"
    table.add_row("park load", load, "substation incomer")
    return table


def _tenants(snap: Snapshot) -> Table:
    table = Table(title="Most loaded tenants (latest stored reading)", title_justify="left",
                  expand=True)
    table.add_column("meter")
    table.add_column("P (kW)", justify="right")
    table.add_column("PF", justify="right")
    table.add_column("V a-n (V)", justify="right")
    table.add_column("import (kWh)", justify="right")
    for row in snap.tenants:
        # A power factor under 0.9 is billed for reactive power in Vietnam (Circular 15/2014).
        pf_style = "red" if row.pf < 0.9 else ""
        table.add_row(row.device_id, f"{row.p_kw:,.1f}", Text(f"{row.pf:.3f}", style=pf_style),
                      f"{row.v_ln_a:.1f}", f"{row.kwh_imp:,.1f}")
    return table


def _glance(glance: Glance) -> Table | None:
    rows: list[tuple[str, Text, str]] = []
    if glance.pv_kw is not None:
        rows.append(("rooftop PV", Text(f"{glance.pv_kw / 1000:,.2f} MW"),
                     "behind tenants' meters"))
    if glance.plant_inflow_m3h is not None:
        rows.append(("wastewater inflow", Text(f"{glance.plant_inflow_m3h:,.0f} m³/h"),
                     "central plant"))
    if glance.effluent_ok is not None:
        verdict = "within limits" if glance.effluent_ok else "LIMIT EXCEEDED"
        rows.append(("outfall", Text(f"COD {glance.effluent_cod_mgl or 0:.0f}, NH4-N "
                                     f"{glance.effluent_nh4_mgl or 0:.1f} mg/L",
                                     style="" if glance.effluent_ok else "bold red"),
                     verdict))
    if glance.people_in is not None:
        rows.append(("gates", Text(f"{glance.people_in:,} in, {glance.people_out or 0:,} out"),
                     "people in the last minute"))
    if glance.cameras is not None:
        down = glance.cameras - (glance.cameras_online or 0)
        rows.append(("cameras", Text(f"{glance.cameras_online or 0:,} / {glance.cameras:,}",
                                     style="yellow" if down else ""), "online"))
    if glance.pids_alarms is not None:
        rows.append(("perimeter", Text(f"{glance.pids_alarms} zones in alarm",
                                       style="red" if glance.pids_alarms else ""), "PIDS"))
    if glance.fire_not_normal is not None:
        style = "bold red" if glance.fire_alarms else ("yellow" if glance.fire_not_normal else "")
        rows.append(("fire panels", Text(f"{glance.fire_alarms or 0} in alarm, "
                                         f"{glance.fire_not_normal} not normal", style=style),
                     ""))
    if not rows:
        return None
    table = Table(title="The park at a glance (latest stored)", title_justify="left",
                  expand=True, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="dim")
    for name, value, note in rows:
        table.add_row(name, value, note)
    return table


def render(snap: Snapshot) -> RenderableType:
    """Return the live view for *snap*."""
    header = Text.assemble(
        ("smartpark demo", "bold cyan"),
        f"  park time {snap.sim_time}  |  x{snap.speed:g}  |  {snap.elapsed_s:,.0f} s  |  "
        f"broker: {snap.broker}",
    )
    parts: list[RenderableType] = [header]
    if snap.day_note:
        # A holiday explains a park running at base load in the middle of the morning.
        parts.append(Text(snap.day_note, style="magenta"))
    parts.append(_counters(snap))
    if snap.lag_s > 1.0:
        parts.append(Text(f"simulator is {snap.lag_s:.1f} s behind schedule", style="yellow"))
    glance = _glance(snap.glance)
    if glance is not None:
        parts.append(glance)
    if snap.tenants:
        parts.append(_tenants(snap))
    return Panel(Group(*parts), title="operation centre", border_style="cyan")
