"""Fire-panel model: rare false alarms at the configured rate, conditions, power, real fires."""

from __future__ import annotations

import numpy as np
import pytest

from parkwire.assets.security import FirePanelState
from simulator.models.fire import FireModel, FireSpec, default_tenant_ids
from simulator.models.output import ModelOutput
from tests.simulator.security_support import (
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

MONTH = grid(30)
YEAR_DAYS = 365.0


@pytest.fixture(scope="module")
def month() -> ModelOutput:
    """A simulated month of the reference park's 65 panels, seed 31."""
    return FireModel(FireSpec(), 31, MONDAY_MS).step(MONTH)


def test_reference_park_has_65_panels_and_15000_heads() -> None:
    """60 tenant panels and 5 common-area panels share exactly 15,000 detector heads."""
    model = FireModel(FireSpec(), 1, MONDAY_MS)
    assert len(model.devices) == 65
    assert int(model.heads.sum()) == 15_000
    assert model.devices[0].tags == {"tenant_id": "t001", "area": "tenant"}
    assert model.devices[-1].device_id == "fap-c05"
    assert default_tenant_ids()[-1] == "t060"


def test_month_stays_in_range_with_ordered_events(month: ModelOutput) -> None:
    """A month of panel records stays inside the registry; events are ordered in the window."""
    assert_in_registry_ranges(month)
    assert_events_ordered(month.events, MONTH)


def test_false_alarms_come_at_the_configured_rate(month: ModelOutput) -> None:
    """Fire alarms over a month match 15,000 heads x 24.3 / 1000 / year (~1 a day)."""
    expected = 15_000 * 24.3 / 1000 / YEAR_DAYS * 30
    assert poisson_ok(event_counts(month)["fire_alarm"], expected)


def test_fire_alarms_are_rare(month: ModelOutput) -> None:
    """A panel spends well under 0.1 % of its time in alarm; most panels never alarm in a month."""
    values = month.telemetry[0].values
    in_alarm = values["state"] == float(FirePanelState.FIRE_ALARM)
    assert in_alarm.mean() < 0.001
    alarmed = {e.device_id for e in month.events if e.event == "fire_alarm"}
    assert len(alarmed) < 65 / 2


def test_the_upper_bound_benchmark_gives_about_three_a_day() -> None:
    """At the benchmark 65 per 1,000 heads a year the park sees ~2.7 false alarms a day."""
    output = FireModel(FireSpec(false_alarms_per_1000_heads_year=65.0), 2, MONDAY_MS).step(
        grid(10))
    assert poisson_ok(event_counts(output)["fire_alarm"], 15_000 * 65 / 1000 / YEAR_DAYS * 10)


def test_conditions_start_at_their_rates_and_end(month: ModelOutput) -> None:
    """Faults, disablements and supervisory conditions match their per-panel rates and clear."""
    counts = event_counts(month)
    for start, end, per_year in (("fault", "fault_cleared", 6.0),
                                 ("disablement", "disablement_ended", 12.0),
                                 ("supervisory", "supervisory_cleared", 4.0)):
        # Episodes absorb starts that fall inside a running one: a little below the rate.
        expected = 65 * per_year * 30 / YEAR_DAYS
        assert poisson_ok(counts[start], expected * 0.98), (start, counts[start])
        assert 0 <= counts[start] - counts[end] <= 5
    # One lone pre-alarm per false alarm, plus the half of false alarms that had one first.
    false_alarms = 15_000 * 24.3 / 1000 / YEAR_DAYS * 30
    assert poisson_ok(counts["pre_alarm"], 1.5 * false_alarms)


def test_state_is_the_most_severe_condition(month: ModelOutput) -> None:
    """The state code follows the active counts: faults -> FAULT or worse, alarms -> alarm."""
    values = month.telemetry[0].values
    state = values["state"]
    assert (state[values["faults_active"] > 0] >= FirePanelState.FAULT).all()
    assert (state[values["disablements_active"] > 0] >= FirePanelState.DISABLEMENT).all()
    assert (state[values["alarms_active"] > 0] >= FirePanelState.PRE_ALARM).all()
    assert (state[(values["faults_active"] == 0) & (values["alarms_active"] == 0)]
            != FirePanelState.FAULT).all()


def test_grid_loss_runs_the_panels_on_battery() -> None:
    """Losing mains raises power_fail at once; the battery sags to battery_low after ~15 h."""
    t = grid(2)
    grid_ok = np.ones(len(t), dtype=bool)
    grid_ok[60:60 + 20 * 60] = False
    quiet = FireSpec(false_alarms_per_1000_heads_year=0.0, faults_per_year=0.0,
                     disablements_per_year=0.0, supervisory_per_year=0.0,
                     battery_low_per_year=0.0, lone_pre_alarm_ratio=0.0)
    output = FireModel(quiet, 3, MONDAY_MS).step(t, grid_ok=grid_ok)
    values = output.telemetry[0].values
    assert values["mains_ok"][60:1260].max() == 0.0
    assert (values["state"][60:1260] >= FirePanelState.POWER_FAIL).all()
    v = values["v_battery"][:, 0]
    assert v[59] > 27.0
    assert v[70] > v[1250]
    low = int(np.argmax(values["battery_ok"][:, 0] == 0.0))
    assert 14 * 60 < low - 60 < 16 * 60
    counts = event_counts(output)
    assert counts["power_fail"] == counts["power_restored"] == 65
    assert counts["battery_low"] == counts["battery_ok"] == 65
    assert values["state"][1300:].max() == FirePanelState.NORMAL


def test_an_ageing_battery_fails_its_load_test() -> None:
    """Ageing-battery conditions show as battery_low events and a fault state."""
    output = FireModel(FireSpec(battery_low_per_year=30.0), 4, MONDAY_MS).step(grid(5))
    assert event_counts(output)["battery_low"] > 0
    values = output.telemetry[0].values
    assert (values["state"][values["battery_ok"] == 0.0] >= FirePanelState.FAULT).all()


def test_injected_fire_escalates_to_alarm_and_sprinkler_flow() -> None:
    """A real fire: pre-alarm, smoke alarm, heat alarm, sprinkler flow, panel in alarm."""
    model = FireModel(FireSpec(false_alarms_per_1000_heads_year=0.0, lone_pre_alarm_ratio=0.0),
                      5, MONDAY_MS)
    at = MONDAY_MS + 3_600_000
    plan = model.inject_fire(at, 7)
    assert [name for _, name in plan] == ["pre_alarm", "fire_alarm", "fire_alarm",
                                          "supervisory"]
    output = model.step(grid(0.2))
    fire = [e for e in output.events if e.device_id == "fap-t008" and e.ts_ms >= at
            and e.event in ("pre_alarm", "fire_alarm", "supervisory")]
    assert [(e.ts_ms, e.event) for e in fire] == [(reported_at(ts), n) for ts, n in plan]
    assert fire[-1].data["condition"] == "sprinkler_flow"
    step = int(np.searchsorted(grid(0.2), at + 200_000))
    assert output.telemetry[0].values["state"][step, 7] == FirePanelState.FIRE_ALARM
    with pytest.raises(ValueError, match="not after the last stepped instant"):
        model.inject_fire(at, 7)
    with pytest.raises(ValueError, match="panel 65 is outside"):
        model.inject_fire(at + 10**9, 65)


def test_output_is_identical_across_window_splits() -> None:
    """Any split of the steps, with an outage and a fire, gives the same output."""
    t = grid(3)
    drivers = {"grid_ok": (np.arange(len(t)) < 1000) | (np.arange(len(t)) > 2100)}
    spec = FireSpec(false_alarms_per_1000_heads_year=400.0, faults_per_year=50.0)
    runs = []
    for cuts in ([], [1, 999, 1440, 2101, 4000]):
        model = FireModel(spec, 6, MONDAY_MS)
        model.inject_fire(MONDAY_MS + 2_000 * 60_000 - 5_000, 2)
        runs.append(run_split(model.step, t, cuts, drivers))
    assert_same(runs[0][0], runs[1])


def test_empty_window_and_bad_spec() -> None:
    """An empty window gives empty arrays; a bad spec names what was expected."""
    output = FireModel(FireSpec(), 1, MONDAY_MS).step(np.zeros(0, np.int64))
    assert output.telemetry[0].values["state"].shape == (0, 65)
    with pytest.raises(ValueError, match="at least one panel"):
        FireSpec(tenant_ids=(), common_panels=0)
    with pytest.raises(ValueError, match="interval_s = 15"):
        FireSpec(interval_s=15)
