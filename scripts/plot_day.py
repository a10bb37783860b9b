"""Draw a simulated day of each domain from the simulator's own messages (docs/models/img).

    python scripts/plot_day.py                       # refpark, Tuesday 2 June 2026, seed 7
    python scripts/plot_day.py --date 2026-02-17 --out /tmp/tet   # a Tet day
    make figures                                     # the pictures in docs/models/img

The script runs the engine for one local day, turns every window into MQTT messages exactly
as ``smartpark simulate`` publishes them, decodes each one with :func:`parkwire.decode` (the
collector's own validation), and plots what the decoded messages say. Nothing is read from
the models' internals, so the pictures show what a subscriber receives.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib as mpl

mpl.use("Agg")  # files only: no display on a build machine
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from parkwire import Event, Telemetry, decode
from parkwire.assets.solar import ST_FAULT, ST_MPPT, ST_SLEEPING, ST_STARTING, ST_THROTTLED
from simulator.engine import Engine
from simulator.scenario import Scenario, load_scenario
from simulator.standards import load_standard

OUT = Path(__file__).resolve().parent.parent / "docs" / "models" / "img"
FloatArray = npt.NDArray[np.float64]


class Day:
    """Decoded telemetry of one day: per asset type, a (time, device) table per field."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[int, str, dict[str, float]]]] = defaultdict(list)
        self.events: list[Event] = []

    def add(self, topic: str, payload: bytes) -> None:
        """Decode one message and keep it."""
        message = decode(topic, payload)
        if isinstance(message, Telemetry):
            self.rows[message.topic.asset_type].append(
                (message.ts_ms, message.topic.device_id,
                 {k: float(v) for k, v in message.readings.items()}))
        elif isinstance(message, Event):
            self.events.append(message)

    def table(self, asset_type: str, field: str) -> tuple[npt.NDArray[np.int64], list[str],
                                                          FloatArray]:
        """Return (times, devices, values (times, devices)) of one field."""
        rows = self.rows[asset_type]
        times = sorted({r[0] for r in rows})
        devices = sorted({r[1] for r in rows})
        t_index = {t: i for i, t in enumerate(times)}
        d_index = {d: j for j, d in enumerate(devices)}
        values = np.full((len(times), len(devices)), np.nan)
        for ts, device, readings in rows:
            values[t_index[ts], d_index[device]] = readings[field]
        return np.array(times, dtype=np.int64), devices, values


def simulate(scenario: Scenario, day: date, seed: int, hours: float) -> Day:
    """Run the engine over *hours* of local *day* and decode everything it would publish."""
    zone = ZoneInfo(scenario.site.timezone)
    start = int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)
    engine = Engine(scenario, seed, start)
    steps = round(hours * 3600 / scenario.energy.interval_s)
    decoded = Day()
    while steps > 0:
        window = engine.generate(min(360, steps))
        steps -= len(window.t_ms)
        for topic, payload in window.messages():
            decoded.add(topic, payload)
    return decoded


def _local(times: npt.NDArray[np.int64], zone: ZoneInfo) -> npt.NDArray[np.datetime64]:
    """Epoch milliseconds as naive local times (what the axis labels show)."""
    return np.array([datetime.fromtimestamp(t / 1000, tz=zone).replace(tzinfo=None)
                     for t in times.tolist()], dtype="datetime64[ms]")


def _axes(rows: int, title: str) -> tuple[Figure, Sequence[Axes]]:
    figure, axes = plt.subplots(rows, 1, figsize=(10, 2.6 * rows), sharex=True,
                                constrained_layout=True)
    figure.suptitle(title)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))  # type: ignore[no-untyped-call]
    return figure, axes


def plot_energy(day: Day, zone: ZoneInfo, title: str, path: Path) -> None:
    """Substation import and what makes it up: tenants, PV behind the meters, plant, common."""
    t, devices, p = day.table("meter", "p_kw")
    _, mv_devices, mv = day.table("mv_meter", "p_kw")
    inc = [j for j, d in enumerate(mv_devices) if not d.startswith("mtr-fdr")]
    _, _, w = day.table("inverter", "W")
    when = _local(t, zone)
    tenants = [j for j, d in enumerate(devices) if d not in ("mtr-wwtp", "mtr-common")]
    pv = np.nansum(w, axis=1) / 1000.0  # W -> kW
    figure, axes = _axes(2, title)
    axes[0].plot(when, mv[:, inc].sum(axis=1) / 1000, label="substation import", lw=1.2)
    axes[0].plot(when, (np.nansum(p[:, tenants], axis=1) + pv) / 1000,
                 label="tenants' load (before PV)", lw=0.8)
    axes[0].plot(when, np.nansum(p[:, tenants], axis=1) / 1000, label="tenants' meters (net)",
                 lw=0.8)
    axes[0].set_ylabel("MW")
    axes[0].legend(loc="upper left", fontsize=8)
    for name, label in (("mtr-wwtp", "wastewater plant"), ("mtr-common", "common loads")):
        if name in devices:
            axes[1].plot(when, p[:, devices.index(name)], label=label, lw=0.8)
    axes[1].set_ylabel("kW")
    axes[1].legend(loc="upper left", fontsize=8)
    twin = axes[1].twinx()
    twin.plot(when, pv / 1000, color="tab:green", lw=0.8, label="rooftop PV (right)")
    twin.set_ylabel("rooftop PV, MW")
    twin.legend(loc="upper right", fontsize=8)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_solar(day: Day, zone: ZoneInfo, title: str, path: Path) -> None:
    """Irradiance at the met station, fleet output, and the inverters' SunSpec states."""
    t, _, ghi = day.table("weather_station", "ghi_wm2")
    _, _, poa = day.table("weather_station", "poa_wm2")
    ti, _, w = day.table("inverter", "W")
    _, _, st = day.table("inverter", "St")
    figure, axes = _axes(3, title)
    axes[0].plot(_local(t, zone), ghi[:, 0], label="GHI", lw=0.8)
    axes[0].plot(_local(t, zone), poa[:, 0], label="plane of array", lw=0.8)
    axes[0].set_ylabel("W/m²")
    axes[0].legend(loc="upper left", fontsize=8)
    when = _local(ti, zone)
    axes[1].plot(when, np.nansum(w, axis=1) / 1e6, lw=0.9)
    axes[1].set_ylabel("fleet AC, MW")
    states = [(ST_SLEEPING, "sleeping"), (ST_STARTING, "starting"), (ST_MPPT, "MPPT"),
              (ST_THROTTLED, "throttled (zero export)"), (ST_FAULT, "fault")]
    counts = [np.sum(st == code, axis=1) for code, _ in states]
    axes[2].stackplot(when, counts, labels=[label for _, label in states])
    axes[2].set_ylabel("inverters")
    axes[2].legend(loc="upper left", fontsize=7, ncol=5)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_wastewater(day: Day, zone: ZoneInfo, title: str, path: Path, scenario: Scenario) -> None:
    """Inflow and flow to biology, aeration (DO, blowers) and effluent against its limits."""
    t, _, q_in = day.table("wwtp", "q_in_m3h")
    _, _, q_bio = day.table("wwtp", "q_bio_m3h")
    _, _, do = day.table("wwtp", "do_mgl")
    _, _, blower = day.table("wwtp", "blower_kw")
    tq, quality_devices, cod = day.table("wwtp_quality", "cod_mgl")
    ts, _, nh4 = day.table("monitoring_station", "nh4_n_mgl")
    _, _, st_cod = day.table("monitoring_station", "cod_mgl")
    water = scenario.water
    limits = load_standard(water.standard if water else "qcvn40_2011").limits(
        water.column if water else "A", kq=water.kq if water else 1.0,
        kf=water.kf if water else 1.0)
    when = _local(t, zone)
    figure, axes = _axes(3, title)
    axes[0].plot(when, q_in[:, 0], label="inflow", lw=0.8)
    axes[0].plot(when, q_bio[:, 0], label="to biology (after equalisation)", lw=0.8)
    axes[0].set_ylabel("m³/h")
    axes[0].legend(loc="upper left", fontsize=8)
    axes[1].plot(when, do[:, 0], label="DO (measured)", lw=0.8)
    axes[1].set_ylabel("DO, mg/L")
    twin = axes[1].twinx()
    twin.plot(when, blower[:, 0], color="tab:red", lw=0.6, label="blowers")
    twin.set_ylabel("blowers, kW")
    for j, device in enumerate(quality_devices):
        axes[2].plot(_local(tq, zone), cod[:, j], lw=0.8, label=f"COD {device.split('-')[-1]}")
    axes[2].step(_local(ts, zone), st_cod[:, 0], where="post", lw=1.0, label="COD at the station")
    axes[2].step(_local(ts, zone), nh4[:, 0], where="post", lw=1.0, label="NH4-N at the station")
    for name, style in (("cod_mgl", "--"), ("nh4_n_mgl", ":")):
        if name in limits:
            axes[2].axhline(limits[name].high, color="grey", ls=style, lw=0.8,
                            label=f"{name.removesuffix('_mgl').upper()} limit")
    axes[2].set_ylabel("mg/L")
    axes[2].set_yscale("log")
    axes[2].legend(loc="upper left", fontsize=7, ncol=3)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_security(day: Day, zone: ZoneInfo, title: str, path: Path) -> None:
    """Gate flows around shift changes, perimeter and fire events, camera health."""
    t, _, people_in = day.table("gate", "people_in")
    _, _, people_out = day.table("gate", "people_out")
    _, _, trucks = day.table("gate", "trucks_in")
    tc, _, online = day.table("camera", "online")
    when = _local(t, zone)
    figure, axes = _axes(3, title)
    axes[0].plot(when, np.nansum(people_in, axis=1), label="people in", lw=0.8)
    axes[0].plot(when, np.nansum(people_out, axis=1), label="people out", lw=0.8)
    axes[0].plot(when, np.nansum(trucks, axis=1), label="trucks in", lw=0.8)
    axes[0].set_ylabel("per minute, all gates")
    axes[0].legend(loc="upper left", fontsize=8)
    axes[1].plot(_local(tc, zone), np.nansum(online, axis=1), lw=0.9)
    axes[1].set_ylabel("cameras online")
    stamps: dict[str, list[int]] = defaultdict(list)
    for event in day.events:
        stamps[event.event].append(event.ts_ms)
    kinds = {k: _local(np.array(v, dtype=np.int64), zone) for k, v in stamps.items()}
    ordered = sorted(kinds, key=lambda k: -len(kinds[k]))[:10]
    for row, kind in enumerate(ordered):
        axes[2].plot(kinds[kind], [row] * len(kinds[kind]), "|", ms=8)
    axes[2].set_yticks(range(len(ordered)), [f"{k} ({len(kinds[k])})" for k in ordered],
                       fontsize=7)
    axes[2].set_ylabel("events")
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    """Simulate a day and write the four pictures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="refpark")
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 6, 2),
                        help="local day to draw (default 2026-06-02, a rainy-season Tuesday)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hours", type=float, default=24.0, help="hours from midnight")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT})")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario)
    zone = ZoneInfo(scenario.site.timezone)
    day = simulate(scenario, args.date, args.seed, args.hours)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = f"{scenario.park.id}, {args.date:%A %d %B %Y}, seed {args.seed}"
    plot_energy(day, zone, f"Energy: {stamp}", args.out / "energy-day.png")
    if day.rows["inverter"]:
        plot_solar(day, zone, f"Rooftop solar: {stamp}", args.out / "solar-day.png")
    if day.rows["wwtp"]:
        plot_wastewater(day, zone, f"Central wastewater plant: {stamp}",
                        args.out / "wastewater-day.png", scenario)
    if day.rows["gate"]:
        plot_security(day, zone, f"Security and fire: {stamp}", args.out / "security-day.png")
    print(f"wrote {', '.join(sorted(p.name for p in args.out.glob('*-day.png')))} "
          f"to {args.out} ({sum(len(r) for r in day.rows.values()):,} readings, "
          f"{len(day.events):,} events)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
