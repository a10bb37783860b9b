"""Shared fixtures for the simulator's model and engine tests."""

from __future__ import annotations

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
def mini_week(minipark: Scenario) -> Window:
    """One simulated week (Monday to Sunday) of minipark, seed 7."""
    return Engine(minipark, 7, MONDAY_MS).generate(WEEK_STEPS)
