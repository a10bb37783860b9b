"""``smartpark scenario list|show|validate``: inspect and check park scenario files."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

from simulator.scenario import (
    ARCHETYPES,
    Scenario,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
)
from simulator.scenario.scale import scale_scenario

#: Where the census counts: Monday 2 March 2026, 09:00 in Vietnam (on every device's grid).
CENSUS_START_MS = 1_772_416_800_000

DESCRIPTION = """\
A scenario is a TOML file describing a park: its site, the 110/22 kV substation, the 22 kV
feeders, the zones, and every tenant with its archetype (garment, dyeing, electronics, food,
logistics, other), shift pattern and contracted peak. smartpark ships two: 'refpark' (60
tenants, ~68 MW) and 'minipark' (5 tenants). Copy one and edit it to model your own park; the
format is documented in docs/scenario.md.
"""

EPILOG = """\
examples:
  smartpark scenario list
  smartpark scenario show refpark
  smartpark scenario show my-park.toml --json
  smartpark scenario validate my-park.toml      exit 0 "ok", or exit 1 listing every error
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``scenario`` command and its ``list``, ``show`` and ``validate`` actions."""
    parser = subparsers.add_parser(
        "scenario", help="list, show and validate park scenarios",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    parser.set_defaults(handler=lambda _args: _usage(parser))
    listing = actions.add_parser("list", help="the built-in scenarios, one line each",
                                 description="List the built-in scenarios.")
    listing.set_defaults(handler=_list)
    show = actions.add_parser(
        "show", help="summarise a scenario (site, tenants, feeders, message rate)",
        description="Summarise a built-in scenario (by name) or a scenario file.",
        epilog="examples:\n  smartpark scenario show refpark\n"
               "  smartpark scenario show my-park.toml --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("scenario", metavar="NAME|FILE", help="built-in name or TOML file")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.add_argument("--scale", type=int, default=1, metavar="K",
                      help="show the park scaled to K blocks (as smartpark simulate --scale K)")
    show.set_defaults(handler=_show)
    validate = actions.add_parser(
        "validate", help="check a scenario file and list every problem",
        description="Check a scenario file. Prints 'ok' and a summary (exit 0) or every "
                    "error as 'file: key.path: problem' (exit 1).")
    validate.add_argument("scenario", metavar="FILE", help="TOML file (or built-in name)")
    validate.set_defaults(handler=_validate)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def census(scenario: Scenario) -> tuple[dict[str, int], dict[str, float]]:
    """Return the devices and telemetry messages per simulated minute, by asset type.

    Counted from the engine itself over five simulated minutes (the longest native interval,
    the plant's 5-min station record, fits once), so the figures are what a run publishes;
    events come on top and vary with the hour.
    """
    from simulator.engine import Engine  # noqa: PLC0415 - numpy/pvlib only when asked

    engine = Engine(scenario, 0, CENSUS_START_MS)
    devices = Counter(d.asset_type for d in engine.devices)
    window = engine.generate(300 // scenario.energy.interval_s)
    per_minute: dict[str, float] = {}
    for block in window.blocks:
        per_minute[block.asset_type] = per_minute.get(block.asset_type, 0.0) + len(
            block.step_rows(len(window.t_ms))) * len(block.device_ids) / 5.0
    return dict(sorted(devices.items())), dict(sorted(per_minute.items()))


def summary(scenario: Scenario) -> dict[str, Any]:
    """Return a JSON-ready summary of *scenario*."""
    by_arch = Counter(t.archetype for t in scenario.tenants)
    peak_by_arch: dict[str, float] = {}
    for t in scenario.tenants:
        peak_by_arch[t.archetype] = peak_by_arch.get(t.archetype, 0.0) + t.peak_kw
    by_feeder = Counter(t.feeder for t in scenario.tenants)
    devices, per_minute = census(scenario)
    energy = scenario.energy
    sub = energy.substation
    return {
        "park": {"id": scenario.park.id, "name": scenario.park.name,
                 "description": scenario.park.description},
        "site": {"id": scenario.site.id, "name": scenario.site.name, "lat": scenario.site.lat,
                 "lon": scenario.site.lon, "timezone": scenario.site.timezone,
                 "region": scenario.site.region},
        "substation": {"id": sub.id, "name": sub.name, "primary_kv": sub.primary_kv,
                       "secondary_kv": sub.secondary_kv, "transformers": sub.transformers,
                       "transformer_mva": sub.transformer_mva},
        "feeders": [{"id": f.id, "name": f.name, "tenants": by_feeder.get(f.id, 0)}
                    for f in energy.feeders],
        "zones": [{"id": z.id, "name": z.name, "feeder": z.feeder} for z in scenario.zones],
        "tenants": len(scenario.tenants),
        "tenants_by_archetype": {a: {"count": by_arch[a], "peak_kw": peak_by_arch[a]}
                                 for a in ARCHETYPES if by_arch[a]},
        "total_peak_kw": scenario.total_peak_kw,
        "interval_s": energy.interval_s,
        "tou_profile": energy.tou_profile,
        "scale": scenario.scale,
        "devices": sum(devices.values()),
        "devices_by_type": devices,
        "messages_per_minute": sum(per_minute.values()),
        "messages_per_minute_by_type": per_minute,
        "source": str(scenario.source),
    }


def _list(_args: argparse.Namespace) -> int:
    for name, path in builtin_scenarios().items():
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:  # a broken built-in is a bug; say so, keep listing
            print(f"{name:<12} BROKEN: {exc.errors[0]}")
            continue
        text = scenario.park.description or scenario.park.name
        print(f"{name:<12} {text}")
    return 0


def _load(spec: str) -> Scenario | None:
    try:
        return load_scenario(spec)
    except ScenarioError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return None


def _show(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    if scenario is None:
        return 1
    if args.scale != 1:
        try:
            scenario = scale_scenario(scenario, args.scale)
        except ValueError as exc:
            print(f"smartpark scenario show: {exc}", file=sys.stderr)
            return 2
    info = summary(scenario)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    site, sub = info["site"], info["substation"]
    print(f"{info['park']['name']} ({info['park']['id']})")
    print(f"  site        {site['name']} ({site['id']}), {site['lat']:.2f} N "
          f"{site['lon']:.2f} E, {site['timezone']}, {site['region']}")
    print(f"  substation  {sub['name']}: {sub['primary_kv']:g}/{sub['secondary_kv']:g} kV, "
          f"{sub['transformers']} x {sub['transformer_mva']:g} MVA")
    print(f"  feeders     {', '.join(f['id'] + ' (' + str(f['tenants']) + ' tenants)' for f in info['feeders'])}")  # noqa: E501
    print(f"  tenants     {info['tenants']}, peaks summing to {info['total_peak_kw']:,.0f} kW")
    for arch, row in info["tenants_by_archetype"].items():
        print(f"    {arch:<12} {row['count']:>3}  {row['peak_kw']:>10,.0f} kW")
    print(f"  devices     {info['devices']:,}: " + ", ".join(
        f"{count:,} {kind}" for kind, count in info["devices_by_type"].items()))
    print(f"  messages    {info['messages_per_minute']:,.0f} telemetry per simulated minute "
          f"(meters every {info['interval_s']} s), plus events")
    print(f"  tariff      {info['tou_profile']}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    if scenario is None:
        return 1
    devices, per_minute = census(scenario)
    print(f"ok: {scenario.park.id}: {len(scenario.tenants)} tenants, "
          f"{len(scenario.energy.feeders)} feeders, {sum(devices.values()):,} devices, "
          f"{sum(per_minute.values()):,.0f} telemetry messages per simulated minute")
    return 0
