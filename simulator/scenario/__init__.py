"""Scenarios: declarative TOML descriptions of a park (site, grid, tenants), validated on load.

>>> from simulator.scenario import load_scenario
>>> load_scenario("minipark").park.id
'minipark'
"""

from simulator.scenario.archetypes import (
    ARCHETYPES,
    SHIFT_PATTERNS,
    Archetype,
    Block,
    Dip,
    ShiftPattern,
)
from simulator.scenario.loader import (
    TOU_PROFILES,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)
from simulator.scenario.model import Energy, Feeder, Park, Scenario, Site, Substation, Tenant, Zone

__all__ = [
    "ARCHETYPES",
    "SHIFT_PATTERNS",
    "TOU_PROFILES",
    "Archetype",
    "Block",
    "Dip",
    "Energy",
    "Feeder",
    "Park",
    "Scenario",
    "ScenarioError",
    "ShiftPattern",
    "Site",
    "Substation",
    "Tenant",
    "Zone",
    "builtin_scenarios",
    "load_scenario",
    "parse_scenario",
]
