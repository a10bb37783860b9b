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


def summary(scenario: Scenario) -> dict[str, Any]:
    """Return a JSON-ready summary of *scenario*."""
    by_arch = Counter(t.archetype for t in scenario.tenants)
    peak_by_arch: dict[str, float] = {}
    for t in scenario.tenants:
        peak_by_arch[t.archetype] = peak_by_arch.get(t.archetype, 0.0) + t.peak_kw
    by_feeder = Counter(t.feeder for t in scenario.tenants)
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
        "devices": scenario.device_count,
        "messages_per_minute": scenario.messages_per_minute,
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
    print(f"  devices     {info['devices']} meters (tenants + feeders + incomer), "
          f"every {info['interval_s']} s")
    print(f"  messages    {info['messages_per_minute']:,.0f} per simulated minute")
    print(f"  tariff      {info['tou_profile']}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    if scenario is None:
        return 1
    print(f"ok: {scenario.park.id}: {len(scenario.tenants)} tenants, "
          f"{len(scenario.energy.feeders)} feeders, {scenario.device_count} devices, "
          f"{scenario.messages_per_minute:,.0f} messages per simulated minute")
    return 0
