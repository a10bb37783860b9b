"""Perimeter (PIDS) model: alarm rates and their weather coupling, intrusions, zone health."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.models.perimeter import ALARM_CLASSES, PerimeterModel, PerimeterSpec
from tests.simulator.security_support import (
    DAY_STEPS,
    MONDAY_MS,
    assert_events_ordered,
    assert_in_registry_ranges,
    assert_same,
    event_counts,
    grid,
    poisson_ok,
    reported_at,
    run_split,
)


def test_calm_alarm_rate_matches_the_spec_ceilings() -> None:
    """Calm, dry weather: 80 zones x (1/30 nuisance + 1/60 false) per day, within Poisson noise."""
    t = grid(60)
    output = PerimeterModel(PerimeterSpec(), 1, MONDAY_MS).step(t)
    alarms = event_counts(output)["pids_alarm"]
    assert poisson_ok(alarms, 80 * 60 * (1 / 30 + 1 / 60))
    assert_in_registry_ranges(output)
    assert_events_ordered(output.events, t)


def test_rain_and_wind_raise_the_nuisance_rate_eightfold() -> None:
    """A storm (rain + 8 m/s wind) gives about 8 times the calm nuisance rate (~20 a day)."""
    t = grid(10)
    steps = len(t)
    storm = PerimeterModel(PerimeterSpec(), 2, MONDAY_MS).step(
        t, rain_mm_h=np.full(steps, 5.0), wind_ms=np.full(steps, 8.0))
    expected = 80 * 10 * ((1 + 3 + 0.5 * 8) / 30 + 1 / 60)
    assert poisson_ok(event_counts(storm)["pids_alarm"], expected)
    calm = PerimeterModel(PerimeterSpec(), 2, MONDAY_MS).step(t)
    assert (storm.telemetry[0].values["signal_pct"].mean()
            > calm.telemetry[0].values["signal_pct"].mean() + 30)


def test_alarms_latch_until_the_operator_resets() -> None:
    """Each alarm latches its zone's alarm flag and is followed by a reset 5 min later."""
    t = grid(20)
    output = PerimeterModel(PerimeterSpec(), 3, MONDAY_MS).step(t)
    alarms = [e for e in output.events if e.event == "pids_alarm"]
    resets = [e for e in output.events if e.event == "pids_reset"]
    assert alarms
    assert len(resets) <= len(alarms)
    first = alarms[0]
    zone = output.telemetry[0].device_ids.index(first.device_id)
    step = int(np.searchsorted(t, first.ts_ms))
    assert output.telemetry[0].values["alarm"][step, zone] == 1.0
    assert output.telemetry[0].values["signal_pct"][step, zone] >= 100.0
    assert any(r.device_id == first.device_id and r.ts_ms == first.ts_ms + 300_000
               for r in resets)
    assert {a.data["alarm_class"] for a in alarms} <= set(ALARM_CLASSES)


def test_injected_intrusion_trips_the_zone_then_its_neighbour() -> None:
    """An intrusion alarms zone k, then zone k+-1 20-60 s later, as a climb or a cut."""
    model = PerimeterModel(PerimeterSpec(false_per_day=0.0, nuisance_per_day=0.0), 4, MONDAY_MS)
    at = MONDAY_MS + 3 * 3_600_000 + 5_000
    scheduled = model.inject_intrusion(at, 79)
    output = model.step(grid(0.5))
    alarms = [e for e in output.events if e.event == "pids_alarm"]
    assert [(a.ts_ms, a.device_id) for a in alarms] == sorted(
        (reported_at(ts), f"pids-z{zone + 1:02d}") for ts, zone in scheduled)
    assert scheduled[1][1] in (0, 78)
    assert 20_000 <= scheduled[1][0] - at <= 60_000
    assert {a.data["alarm_class"] for a in alarms} <= {"climb", "cut"}


def test_injection_is_checked() -> None:
    """An intrusion in an unknown zone or in the already-simulated past is refused."""
    model = PerimeterModel(PerimeterSpec(), 4, MONDAY_MS)
    with pytest.raises(ValueError, match=r"zone 80 is outside 0\.\.79"):
        model.inject_intrusion(MONDAY_MS + 1, 80)
    model.step(grid(0.1))
    with pytest.raises(ValueError, match="not after the last stepped instant"):
        model.inject_intrusion(MONDAY_MS, 3)
    assert len(model.inject_intrusion(MONDAY_MS + 10**9, 3, adjacent=False)) == 1


def test_zones_go_dark_when_an_outage_outlasts_the_ups() -> None:
    """A 3 h outage: zones stay up for the 2 h UPS time, then lose supply, arming and alarms."""
    t = grid(1)
    grid_ok = np.ones(len(t), dtype=bool)
    grid_ok[600:780] = False
    spec = PerimeterSpec(nuisance_per_day=50.0)
    output = PerimeterModel(spec, 5, MONDAY_MS).step(t, grid_ok=grid_ok)
    values = output.telemetry[0].values
    assert values["supply_ok"][600:720].min() == 1.0
    assert values["supply_ok"][721:780].max() == 0.0
    assert values["armed"][721:780].max() == values["signal_pct"][721:780].max() == 0.0
    dark = (t[721], t[779])
    assert not [e for e in output.events
                if e.event == "pids_alarm" and dark[0] < e.ts_ms <= dark[1]]
    counts = event_counts(output)
    assert counts["pids_supply_lost"] == counts["pids_supply_restored"] == 80


def test_tampers_are_flagged_and_cleared() -> None:
    """Tamper detections raise the tamper flag and are cleared later."""
    output = PerimeterModel(PerimeterSpec(tamper_per_year=100.0), 6, MONDAY_MS).step(grid(5))
    counts = event_counts(output)
    assert poisson_ok(counts["pids_tamper"], 80 * 5 * 100 / 365, k=5)
    assert counts["pids_tamper_clear"] > 0
    assert output.telemetry[0].values["tamper"].max() == 1.0


def test_output_is_identical_across_window_splits() -> None:
    """Any split of the steps, with weather, outage and an intrusion, gives the same output."""
    t = grid(2)
    rng = np.random.default_rng(0)
    drivers = {"rain_mm_h": rng.exponential(1.0, len(t)), "wind_ms": rng.uniform(0, 9, len(t)),
               "grid_ok": np.arange(len(t)) % DAY_STEPS < 1200}
    runs = []
    for cuts in ([], [1, 500, 1439, 2500]):
        model = PerimeterModel(PerimeterSpec(), 8, MONDAY_MS)
        model.inject_intrusion(MONDAY_MS + 500 * 60_000 - 10_000, 10)
        runs.append(run_split(model.step, t, cuts, drivers))
    assert_same(runs[0][0], runs[1])


def test_empty_window_and_bad_spec() -> None:
    """An empty window gives empty arrays; a bad spec names what was expected."""
    output = PerimeterModel(PerimeterSpec(), 1, MONDAY_MS).step(np.zeros(0, np.int64))
    assert output.telemetry[0].values["alarm"].shape == (0, 80)
    with pytest.raises(ValueError, match="expected at least 2 zones"):
        PerimeterSpec(zones=1)
    with pytest.raises(ValueError, match="one value per step"):
        PerimeterModel(PerimeterSpec(), 1, MONDAY_MS).step(grid(0.01),
                                                           rain_mm_h=np.zeros(3))
