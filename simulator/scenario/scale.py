"""Scaling a park up: ``--scale k`` makes k blocks of the scenario's park in one park.

A block is a full copy of the file's park: its tenants, zones, feeders and a 110/22 kV
substation of its own (one 2 x 63 MVA substation cannot carry ten reference parks), its
common-load meter and its wastewater plant. Security grows with the park: gates, cameras,
workers and common fire panels by k, the perimeter fence by sqrt(k) (the fence encloses an
area k times larger, so its length grows with the square root).

Block 1 keeps the file's ids, so ``--scale 1`` is the file itself; block b >= 2 appends
``-bNN`` to every id (``t017-b02``, ``fdr03-b02``, ``ss01-b02``), so every device id stays a
unique slug and every block closes its own energy balance.
"""

from __future__ import annotations

import dataclasses
import math

from simulator.scenario.model import Feeder, Scenario, Substation, Tenant, Zone

#: Largest supported scale (100 blocks of the reference park is about 6,700 meters).
MAX_SCALE = 1000


def block_id(base: str, block: int) -> str:
    """Return the id of *base* in block number *block* (0-based): unchanged for block 0."""
    return base if block == 0 else f"{base}-b{block + 1:02d}"


def scale_scenario(scenario: Scenario, k: int) -> Scenario:
    """Return *scenario* with k blocks of its park (see the module docstring).

    Raises:
        ValueError: *k* is not between 1 and :data:`MAX_SCALE`, or the scenario is already
            scaled.
    """
    if not 1 <= k <= MAX_SCALE:
        msg = f"scale must be 1 to {MAX_SCALE}, got {k}"
        raise ValueError(msg)
    if scenario.scale != 1:
        msg = f"scenario {scenario.park.id} is already scaled x{scenario.scale}"
        raise ValueError(msg)
    if k == 1:
        return scenario
    energy = scenario.energy
    subs: list[Substation] = []
    feeders: list[Feeder] = []
    zones: list[Zone] = []
    tenants: list[Tenant] = []
    for b in range(k):
        suffix = "" if b == 0 else f" (block {b + 1})"
        subs += [dataclasses.replace(s, id=block_id(s.id, b), name=s.name + suffix)
                 for s in energy.substations]
        feeders += [dataclasses.replace(
            f, id=block_id(f.id, b), name=f.name + suffix,
            substation=block_id(energy.feeder_substation(f).id, b)) for f in energy.feeders]
        zones += [dataclasses.replace(z, id=block_id(z.id, b), name=z.name + suffix,
                                      feeder=block_id(z.feeder, b)) for z in scenario.zones]
        tenants += [dataclasses.replace(t, id=block_id(t.id, b), name=t.name + suffix,
                                        zone=block_id(t.zone, b), feeder=block_id(t.feeder, b))
                    for t in scenario.tenants]
    common, water, security = scenario.common, scenario.water, scenario.security
    return dataclasses.replace(
        scenario,
        energy=dataclasses.replace(energy, substations=tuple(subs), feeders=tuple(feeders)),
        zones=tuple(zones),
        tenants=tuple(tenants),
        common=None if common is None else dataclasses.replace(
            common, feeders=tuple(block_id(f, b) for b in range(k) for f in common.feeders)),
        water=None if water is None else dataclasses.replace(
            water, feeders=tuple(block_id(f, b) for b in range(k) for f in water.feeders)),
        solar=None if scenario.solar is None else dataclasses.replace(
            scenario.solar, fleet_kwp=scenario.solar.fleet_kwp * k,
            roofs=scenario.solar.roofs * k),
        security=None if security is None else dataclasses.replace(
            security, workers=security.workers * k, gates=security.gates * k,
            pids_zones=math.ceil(security.pids_zones * math.sqrt(k)),
            cameras=security.cameras * k,
            common_fire_panels=security.common_fire_panels * k),
        scale=k,
    )
