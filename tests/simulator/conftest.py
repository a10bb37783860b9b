"""Shared fixtures for the simulator's model and engine tests."""

from __future__ import annotations

import dataclasses

import pytest

from simulator.engine import Engine, Window
from simulator.scenario import Scenario, load_scenario

#: Monday 2026-03-02 00:00 in Vietnam (UTC+7), as epoch milliseconds.
MONDAY_MS = 1_772_384_400_000
#: Steps of one week at 10 s.
WEEK_STEPS = 7 * 8640


@pytest.fixture(scope="session")
def minipark() -> Scenario:
    """The built-in five-tenant park."""
    return load_scenario("minipark")


@pytest.fixture(scope="session")
def energy_only(minipark: Scenario) -> Scenario:
    """Minipark's tenants and grid alone: no common loads, PV, plant or security."""
    return dataclasses.replace(minipark, common=None, solar=None, water=None, security=None)


@pytest.fixture(scope="session")
def mini_week(energy_only: Scenario) -> Window:
    """One simulated week (Monday to Sunday) of minipark's energy model alone, seed 7."""
    return Engine(energy_only, 7, MONDAY_MS).generate(WEEK_STEPS)
