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
    if snap.tenants:
        parts.append(_tenants(snap))
    return Panel(Group(*parts), title="operation centre", border_style="cyan")
