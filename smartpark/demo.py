"""``smartpark demo``: the whole chain on one machine with nothing to install.

It starts an MQTT broker of its own (unless ``--broker`` names one), the collector writing into
the embedded DuckDB store, and the simulator in accelerated time, then shows a live view of
what an operation centre would watch. At the end it reconciles the store against what the
simulator published, by sequence number, and prints published / stored / invalid / lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from rich.console import Console
from rich.live import Live
from rich.table import Table

from collector.config import CollectorConfig
from collector.mapping import EVENT_MEASUREMENT, STATUS_MEASUREMENT
from collector.service import Collector
from collector.sinks.embedded import EmbeddedSink
from collector.store import EmbeddedStore
from parkwire import ASSET_TYPES, to_epoch_ms
from simulator.clock import Mode
from simulator.engine import Engine
from simulator.mqtt.client import ConnectOptions
from simulator.publisher import GatewayPublisher, PublisherSettings
from simulator.runner import Progress, PublishStats, SimulationConfig, run_simulation
from simulator.scenario import load_scenario
from smartpark.broker import EmbeddedBroker, choose_broker
from smartpark.demo_cli import DEFAULT_DB, parse_broker
from smartpark.liveview import Glance, Snapshot, TenantReading, render


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``smartpark demo`` was asked to do.

    Attributes:
        duration_s: wall seconds to run; ``None`` runs until interrupted.
        speed: simulated seconds per wall second.
        scenario: built-in scenario name or TOML file.
        seed: master seed.
        start: simulated start (aware datetime); ``None`` = today 07:00 in the park's zone,
            the morning shift start, so the first minutes show the load ramping up.
        broker: ``HOST:PORT`` of an existing broker, or ``None`` to start one.
        embedded_broker: ``auto``, ``mosquitto`` or ``amqtt``.
        db: the DuckDB file (recreated).
        live: draw the live view (default: when stdout is a terminal).
        drain_timeout_s: after the simulator stops, how long to wait for the collector to
            store everything it was sent.
    """

    duration_s: float | None = None
    speed: float = 60.0
    scenario: str = "refpark"
    seed: int = 7
    start: datetime | None = None
    broker: str | None = None
    embedded_broker: str = "auto"
    db: Path = DEFAULT_DB
    live: bool = False
    drain_timeout_s: float = 30.0


@dataclass(slots=True)
class DemoSummary:
    """The reconciliation at the end of a demo.

    Attributes:
        published: telemetry messages the broker acknowledged.
        stored: distinct telemetry readings in the store.
        duplicates: readings stored more than once (same device and sequence number).
        invalid: messages the collector rejected and dead-lettered.
        lost: published messages missing from the store (must be 0).
        devices: devices that published.
        wall_s: how long the demo ran.
        sim_span: simulated time covered, formatted.
        broker: which broker carried the traffic.
        db: where the data is.
    """

    published: int = 0
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    lost: int = 0
    devices: int = 0
    wall_s: float = 0.0
    sim_span: str = ""
    broker: str = ""
    db: str = ""
    per_device_missing: dict[str, int] = field(default_factory=dict)

    def table(self) -> Table:
        """Return the summary as a two-column table."""
        table = Table(title="smartpark demo summary", show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column(justify="right")
        rate = self.published / self.wall_s if self.wall_s > 0 else 0.0
        rows = [
            ("published", f"{self.published:,}"), ("stored", f"{self.stored:,}"),
            ("invalid", f"{self.invalid:,}"), ("lost", f"{self.lost:,}"),
            ("duplicates", f"{self.duplicates:,}"), ("devices", f"{self.devices}"),
            ("wall time", f"{self.wall_s:,.1f} s ({rate:,.0f} msg/s)"),
            ("simulated", self.sim_span), ("broker", self.broker), ("store", self.db),
        ]
        for name, value in rows:
            table.add_row(name, value)
        return table


def default_start(zone: ZoneInfo, now: datetime | None = None) -> datetime:
    """Return today's 07:00 in *zone* (the morning shift start)."""
    local = (now or datetime.now(zone)).astimezone(zone)
    return local.replace(hour=7, minute=0, second=0, microsecond=0)


def _reset_store(db: Path) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    for path in (db, db.with_name(db.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    # Each demo is a fresh run: an outage buffer left by an interrupted one belongs to a
    # store that was just deleted.
    shutil.rmtree(_buffer_dir(db), ignore_errors=True)


def _buffer_dir(db: Path) -> Path:
    """The demo collector's outage buffer, next to its store."""
    return db.with_name(db.stem + "-buffer")


@contextlib.contextmanager
def _broker(options: DemoOptions) -> Iterator[tuple[str, int, str, int]]:
    """Yield (host, port, description, MQTT protocol number) of the broker to use."""
    if options.broker is not None:
        host, port = parse_broker(options.broker)
        yield host, port, f"{host}:{port}", 5
        return
    kind = choose_broker(options.embedded_broker)
    with EmbeddedBroker(kind) as broker:
        protocol = 5 if broker.mqtt_version == "5" else 4
        yield "127.0.0.1", broker.port, f"embedded {kind} on port {broker.port}", protocol


class _Rates:
    """Per-second rates from successive counter readings (for the live view)."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, int]] = {}

    def rate(self, name: str, value: int, now: float) -> float:
        previous = self._last.get(name)
        self._last[name] = (now, value)
        if previous is None or now <= previous[0]:
            return 0.0
        return (value - previous[1]) / (now - previous[0])


@dataclass(frozen=True, slots=True)
class StoreView:
    """What the live view reads from the store.

    Attributes:
        stored: telemetry readings stored.
        online: devices whose latest status is online.
        load_kw: the substation's latest active power [kW].
        tenants: the most loaded tenants' latest readings.
        glance: the other domains' latest values.
    """

    stored: int = 0
    online: int = 0
    load_kw: float | None = None
    tenants: tuple[TenantReading, ...] = ()
    glance: Glance = field(default_factory=Glance)


def read_store_view(store: EmbeddedStore, substation: str | None) -> StoreView:
    """Read stored readings, devices online, the park load and the top tenants."""
    tables = store.tables()
    online = 0
    if STATUS_MEASUREMENT in tables:
        online = sum(1 for row in store.latest(STATUS_MEASUREMENT).values()
                     if row.get("state") == "online" and row.get("asset_type") != "gateway")
    if "energy_meter" not in tables:
        return StoreView(online=online)
    stored = sum(int(store.query(f'SELECT count(*) FROM "{name}"')[0][0])  # noqa: S608
                 for name in _STORED_TABLES if name in tables)
    latest = store.latest("energy_meter")
    load = None
    if substation is not None and substation in latest:
        load = latest[substation].get("p_kw")
    tenants = sorted((row for row in latest.values() if row.get("asset_type") == "meter"),
                     key=lambda row: -(row.get("p_kw") or 0.0))[:8]
    readings = tuple(
        TenantReading(row["device_id"], float(row["p_kw"] or 0.0), float(row["pf"] or 0.0),
                      float(row["v_ln_a"] or 0.0), float(row["kwh_imp"] or 0.0))
        for row in tenants)
    return StoreView(stored=stored, online=online, load_kw=load, tenants=readings,
                     glance=read_glance(store, set(tables)))


#: One query per table: an aggregate over the rows of its newest timestamp.
_GLANCE_SQL = {
    "pv_inverter": 'SELECT sum("W") FROM pv_inverter WHERE ts = (SELECT max(ts) FROM pv_inverter)',
    "wwtp": "SELECT max(q_in_m3h) FROM wwtp WHERE ts = (SELECT max(ts) FROM wwtp)",
    "monitoring_station": "SELECT max(cod_mgl), max(nh4_n_mgl), bool_and(cod_ok AND nh4_n_ok "
                          "AND tss_ok AND ph_ok AND temp_ok) FROM monitoring_station "
                          "WHERE ts = (SELECT max(ts) FROM monitoring_station)",
    "gate_traffic": "SELECT sum(people_in), sum(people_out) FROM gate_traffic "
                    "WHERE ts = (SELECT max(ts) FROM gate_traffic)",
    "cctv_health": "SELECT count(*) FILTER (WHERE online), count(*) FROM cctv_health "
                   "WHERE ts = (SELECT max(ts) FROM cctv_health)",
    "pids_zone": "SELECT count(*) FILTER (WHERE alarm) FROM pids_zone "
                 "WHERE ts = (SELECT max(ts) FROM pids_zone)",
    "fire_panel": "SELECT count(*) FILTER (WHERE state <> 0), count(*) FILTER (WHERE state = 6) "
                  "FROM fire_panel WHERE ts = (SELECT max(ts) FROM fire_panel)",
}


def read_glance(store: EmbeddedStore, tables: set[str]) -> Glance:
    """Read the other domains' latest values (each table's newest timestamp)."""
    row: dict[str, tuple[Any, ...]] = {}
    for table, sql in _GLANCE_SQL.items():
        if table in tables:
            result = store.query(sql)
            if result and result[0][0] is not None:
                row[table] = tuple(result[0])

    def num(table: str, index: int) -> float | None:
        values = row.get(table)
        return None if values is None or values[index] is None else float(values[index])

    def count(table: str, index: int) -> int | None:
        value = num(table, index)
        return None if value is None else int(value)

    station = row.get("monitoring_station")
    return Glance(
        pv_kw=None if num("pv_inverter", 0) is None else (num("pv_inverter", 0) or 0.0) / 1000,
        plant_inflow_m3h=num("wwtp", 0), effluent_cod_mgl=num("monitoring_station", 0),
        effluent_nh4_mgl=num("monitoring_station", 1),
        effluent_ok=None if station is None else bool(station[2]),
        people_in=count("gate_traffic", 0), people_out=count("gate_traffic", 1),
        cameras_online=count("cctv_health", 0), cameras=count("cctv_health", 1),
        pids_alarms=count("pids_zone", 0), fire_not_normal=count("fire_panel", 0),
        fire_alarms=count("fire_panel", 1))


#: Tables whose rows are published messages: every telemetry measurement, and events.
_STORED_TABLES = (*sorted({a.measurement for a in ASSET_TYPES.values() if a.quantities}),
                  EVENT_MEASUREMENT)

# Events are counted once per (device, seq): a redelivered event is a duplicate, not data.
# (The table is collector.mapping.EVENT_MEASUREMENT, "event"; a test checks the name.)
_EVENT_COUNTS = ('SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT device_id, seq '
                 'FROM "event")) FROM "event"')


def reconcile(store: EmbeddedStore, last_seq: dict[str, int], published: int,
              invalid: int) -> DemoSummary:
    """Compare the store with what was published, device by device, by sequence number.

    Every telemetry table counts (meters, inverters, the plant, gates, cameras...), and so do
    events: a device's event sequence numbers must each be stored once.
    """
    tables = set(store.tables())
    counts: dict[str, tuple[int, int, int, int]] = {}
    for measurement in sorted({a.measurement for a in ASSET_TYPES.values() if a.quantities}):
        if measurement in tables:
            counts.update(store.count_by_device(measurement))
    stored = sum(c[3] for c in counts.values())
    duplicates = sum(c[0] - c[3] for c in counts.values())
    if EVENT_MEASUREMENT in tables:
        rows = store.query(_EVENT_COUNTS)
        events, distinct = int(rows[0][0]), int(rows[0][1])
        stored += distinct
        duplicates += events - distinct
    missing = {}
    for device, seq in last_seq.items():
        have = counts.get(device, (0, 0, 0, 0))[3]
        if have < seq + 1:
            missing[device] = seq + 1 - have
    return DemoSummary(published=published, stored=stored, duplicates=duplicates,
                       invalid=invalid, lost=max(0, published - stored),
                       devices=len(last_seq), per_device_missing=missing)


async def run_demo(options: DemoOptions, console: Console,
                   stop: asyncio.Event | None = None) -> DemoSummary:
    """Run the demo to its duration (or until *stop*) and return the reconciliation."""
    stop = stop or asyncio.Event()
    scenario = load_scenario(options.scenario)
    zone = ZoneInfo(scenario.site.timezone)
    start = options.start or default_start(zone)
    _reset_store(options.db)
    substation = f"mtr-{scenario.energy.substation.id}"
    device_total = len(scenario_devices(scenario, to_epoch_ms(start)))
    wall0 = time.monotonic()
    with _broker(options) as (host, port, broker_text, protocol):
        config = CollectorConfig(
            mqtt_host=host, mqtt_port=port, mqtt_protocol="5" if protocol == 5 else "3.1.1",
            client_id=f"smartpark-demo-collector-{os.getpid()}",
            db_path=options.db,
            dead_letter_path=options.db.with_name(options.db.stem + "-dead-letter.jsonl"),
            batch_interval_s=0.5,
            buffer_dir=_buffer_dir(options.db),
        ).validate()
        sink = EmbeddedSink(options.db)
        async with Collector(config, sink=sink) as collector:
            collector_stop = asyncio.Event()
            collector_task = asyncio.create_task(collector.run(collector_stop))
            await _wait_connected(collector, collector_task)
            progress: list[Progress] = []
            sim_config = SimulationConfig(
                scenario=scenario, seed=options.seed, mode=Mode.SPEED,
                start_ms=to_epoch_ms(start), speed=options.speed,
                wall_duration_s=options.duration_s,
                publisher=PublisherSettings(
                    connect=ConnectOptions(host=host, port=port, protocol=protocol,
                                           client_id=f"smartpark-demo-sim-{os.getpid()}"),
                    qos=1),
            )
            publishers: list[GatewayPublisher] = []
            sim_task = asyncio.create_task(run_simulation(sim_config, stop, progress.append,
                                                          on_publisher=publishers.append))
            snapshot = _snapshotter(
                collector, sink.store, progress, publishers, substation=substation, zone=zone,
                speed=options.speed, broker=broker_text,
                devices=device_total, wall0=wall0)
            await _watch(sim_task, snapshot, console, live=options.live)
            sim_stats: PublishStats = sim_task.result()
            summary = await _drain(collector, sink.store, sim_stats, options.drain_timeout_s)
            collector_stop.set()
            await collector_task
    summary.wall_s = time.monotonic() - wall0
    summary.broker = broker_text
    summary.db = str(options.db)
    span_start = datetime.fromtimestamp(sim_stats.sim_start_ms / 1000, zone)
    span_end = datetime.fromtimestamp(sim_stats.sim_end_ms / 1000, zone)
    summary.sim_span = f"{span_start:%Y-%m-%d %H:%M} .. {span_end:%H:%M} ({zone.key})"
    if sim_stats.error:
        console.print(f"[yellow]simulator stopped early: {sim_stats.error}[/]")
    return summary


def scenario_devices(scenario: Any, start_ms: int) -> list[str]:
    """Return the device ids a run of *scenario* publishes (every domain), from the engine."""
    return [d.device_id for d in Engine(scenario, 0, start_ms).devices]


async def _wait_connected(collector: Collector, task: asyncio.Task[None]) -> None:
    """Wait until the collector is subscribed, so the simulator's first message is kept."""
    deadline = time.monotonic() + 20
    while not collector.stats().connected:
        if task.done():
            task.result()  # re-raises why the collector could not start
        if time.monotonic() > deadline:
            msg = "the collector could not connect to the broker in 20 s"
            raise RuntimeError(msg)
        await asyncio.sleep(0.05)


def day_note(moment: datetime) -> str:
    """Return "public holiday: NAME" when *moment*'s local date is a Vietnamese holiday."""
    name = holidays.country_holidays("VN", years=moment.year).get(moment.date())
    return f"public holiday in Vietnam: {name} (tenants run at base load)" if name else ""


def _snapshotter(collector: Collector, store: EmbeddedStore, progress: list[Progress],
                 publishers: list[GatewayPublisher], *,
                 substation: str, zone: ZoneInfo, speed: float, broker: str, devices: int,
                 wall0: float) -> Callable[[], Snapshot]:
    rates = _Rates()

    def snapshot() -> Snapshot:
        now = time.monotonic()
        stats = collector.stats()
        last = progress[-1] if progress else None
        view = read_store_view(store, substation)
        # Live, and read after the store: a Progress is as old as its window (the line showed
        # more stored than published), while the broker acknowledges a message as it
        # forwards it, so the live count keeps ahead of what the collector stored.
        published = publishers[0].published if publishers else 0
        moment = datetime.fromtimestamp(last.sim_ms / 1000, zone) if last else None
        sim = moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "starting"
        return Snapshot(
            sim_time=sim, elapsed_s=now - wall0, speed=speed, broker=broker,
            published=published, stored=view.stored, invalid=stats.invalid,
            publish_rate=rates.rate("published", published, now),
            store_rate=rates.rate("stored", view.stored, now), devices_online=view.online,
            devices_total=devices, park_load_kw=view.load_kw, tenants=view.tenants,
            lag_s=last.lag_s if last else 0.0,
            day_note=day_note(moment) if moment else "", glance=view.glance)

    return snapshot


async def _watch(sim_task: asyncio.Task[PublishStats], snapshot: Callable[[], Snapshot],
                 console: Console, *, live: bool) -> None:
    """Show progress until the simulator finishes: a live view on a terminal, lines otherwise."""
    if live:
        with Live(render(await asyncio.to_thread(snapshot)), console=console,
                  refresh_per_second=4, transient=False) as view:
            while not sim_task.done():
                await asyncio.wait({sim_task}, timeout=0.5)
                view.update(render(await asyncio.to_thread(snapshot)))
        return
    last_line = 0.0
    last_note = ""
    while not sim_task.done():
        await asyncio.wait({sim_task}, timeout=0.5)
        if time.monotonic() - last_line >= 5.0 or sim_task.done():
            last_line = time.monotonic()
            snap = await asyncio.to_thread(snapshot)
            if snap.day_note and snap.day_note != last_note:
                last_note = snap.day_note
                console.print(snap.day_note, highlight=False, soft_wrap=True)
            load = "-" if snap.park_load_kw is None else f"{snap.park_load_kw / 1000:.2f} MW"
            console.print(
                f"park time {snap.sim_time}  published {snap.published:,}  stored "
                f"{snap.stored:,}  invalid {snap.invalid}  online "
                f"{snap.devices_online}/{snap.devices_total}  load {load}",
                highlight=False, soft_wrap=True)


async def _drain(collector: Collector, store: EmbeddedStore, sim: PublishStats,
                 timeout_s: float) -> DemoSummary:
    """Wait until the store holds everything published (or the timeout), then reconcile."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = collector.stats()
        summary = await asyncio.to_thread(reconcile, store, sim.per_device_last_seq,
                                          sim.published, stats.invalid)
        if summary.lost == 0 and stats.queue_depth == 0:
            return summary
        if time.monotonic() > deadline:
            return summary
        await asyncio.sleep(0.2)


__all__ = ["DemoOptions", "DemoSummary", "reconcile", "run_demo"]
