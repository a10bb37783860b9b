"""SecurityModel (gates + perimeter + CCTV + fire) and the shared occurrence helpers."""

from __future__ import annotations

import numpy as np
import pytest

from parkwire import ASSET_TYPES, is_slug
from simulator.models.cctv import CctvSpec
from simulator.models.episodes import (
    Episodes,
    SupplyTracker,
    as_bool,
    as_float,
    exposure_s,
    occurrences,
)
from simulator.models.fire import FireSpec
from simulator.models.gates import GatesSpec, default_gates
from simulator.models.output import ModelOutput
from simulator.models.perimeter import PerimeterSpec
from simulator.models.security import SecurityModel, SecuritySpec
from tests.simulator.security_support import (
    DAY_STEPS,
    MONDAY_MS,
    assert_events_ordered,
    assert_in_registry_ranges,
    assert_same,
    grid,
    run_split,
)

WEEK = grid(7)


def _weather(steps: int) -> dict[str, np.ndarray]:
    """Return a stormy afternoon each day, a 3 h outage on day 3 and warm air."""
    index = np.arange(steps)
    hod = (index % DAY_STEPS) / 60.0
    storm = (hod > 14) & (hod < 17)
    grid_ok = ~((index > 3 * DAY_STEPS + 600) & (index < 3 * DAY_STEPS + 780))
    return {"rain_mm_h": np.where(storm, 12.0, 0.0), "wind_ms": np.where(storm, 9.0, 2.0),
            "air_temp_c": 27.0 + 4.0 * np.sin(2 * np.pi * (hod - 9) / 24), "grid_ok": grid_ok,
            "day_activity": np.where(index >= 6 * DAY_STEPS, 0.4, 1.0)}


@pytest.fixture(scope="module")
def week() -> list[ModelOutput]:
    """A reference-park week with storms and an outage, stepped day by day, seed 41."""
    model = SecurityModel(SecuritySpec(), 41, MONDAY_MS)
    return run_split(model.step, WEEK, list(range(DAY_STEPS, len(WEEK), DAY_STEPS)),
                     _weather(len(WEEK)))


def test_reference_park_devices_are_unique_registered_slugs() -> None:
    """6 gates, 80 zones, 400 cameras and 65 panels: unique slug ids of registered types."""
    model = SecurityModel(SecuritySpec(), 1, MONDAY_MS)
    ids = [d.device_id for d in model.devices]
    assert len(ids) == len(set(ids)) == 6 + 80 + 400 + 65
    assert all(is_slug(i) and "_" not in i for i in ids)
    assert {d.asset_type for d in model.devices} == {"gate", "pids_zone", "camera",
                                                    "fire_panel"}
    assert all(d.asset_type in ASSET_TYPES for d in model.devices)
    assert model.interval_s == 60


def test_a_stormy_week_with_an_outage_stays_in_range(week: list[ModelOutput]) -> None:
    """Every block of every day stays inside the registry; merged events are time-ordered."""
    for day, output in enumerate(week):
        assert [b.asset_type for b in output.telemetry] == ["gate", "pids_zone", "camera",
                                                            "fire_panel"]
        assert_in_registry_ranges(output)
        assert_events_ordered(output.events, WEEK[day * DAY_STEPS: (day + 1) * DAY_STEPS])
        assert set(output.coupling) == {"workers_on_site", "trucks_on_site"}


def test_outage_reaches_every_system_but_the_gates(week: list[ModelOutput]) -> None:
    """A 3 h outage: panels on battery at once, cameras dark at 30 min, PIDS at 2 h, gates on."""
    day = week[3]
    kinds = {e.event for e in day.events}
    assert {"power_fail", "power_restored", "camera_offline", "camera_online",
            "pids_supply_lost", "pids_supply_restored"} <= kinds
    assert day.telemetry[2].values["online"][700:780].max() == 0.0
    zones = day.telemetry[1].values["supply_ok"]
    assert zones[700].min() == 1.0
    assert zones[750].max() == 0.0
    assert day.telemetry[3].values["mains_ok"][610].max() == 0.0
    assert day.telemetry[0].values["people_in"].sum() > 10_000


def test_attendance_driver_reaches_the_gates(week: list[ModelOutput]) -> None:
    """Sunday at attendance 0.4 brings far fewer people in than Saturday."""
    saturday = week[5].telemetry[0].values["people_in"].sum()
    sunday = week[6].telemetry[0].values["people_in"].sum()
    assert sunday < 0.4 * saturday


def test_intrusion_shows_on_pids_and_cameras() -> None:
    """An intrusion alarms zone k, then motion on its camera within 10 s, then a neighbour."""
    spec = SecuritySpec(perimeter=PerimeterSpec(nuisance_per_day=0.0, false_per_day=0.0))
    model = SecurityModel(spec, 2, MONDAY_MS)
    at = MONDAY_MS + 23 * 3_600_000
    alarms = model.inject_intrusion(at, 40, adjacent_delay_s=30.0)
    assert alarms == [(at, 40), (at + 30_000, alarms[1][1])]
    output = model.step(grid(1))
    seen = [(e.ts_ms, e.device_id, e.event) for e in output.events
            if e.event in ("pids_alarm", "motion_detected")]
    neighbour = alarms[1][1] + 1
    # Reported at the grid instants that follow: 23:00:00 (zone) and 23:01:00 (the rest).
    assert seen == sorted([(at, "pids-z41", "pids_alarm"),
                           (at + 60_000, "cam-p041", "motion_detected"),
                           (at + 60_000, f"cam-p{neighbour:03d}", "motion_detected"),
                           (at + 60_000, f"pids-z{neighbour:02d}", "pids_alarm")])
    fires = model.inject_fire(at + 3_600_000, 0)
    assert fires[0] == (at + 3_600_000, "pre_alarm")


def test_output_is_identical_across_window_splits() -> None:
    """The composed model gives the same output for any split of its steps."""
    t = grid(1)
    drivers = _weather(len(t))
    whole = SecurityModel(SecuritySpec(), 3, MONDAY_MS).step(t, **drivers)
    pieces = run_split(SecurityModel(SecuritySpec(), 3, MONDAY_MS).step, t, [1, 333, 900],
                       drivers)
    assert_same(whole, pieces)


def test_spec_refuses_mismatched_sub_models() -> None:
    """Sub-models on different intervals, or perimeter cameras != zones, are refused."""
    with pytest.raises(ValueError, match=r"interval_s differs between sub-models \[60, 300\]"):
        SecuritySpec(fire=FireSpec(interval_s=300))
    with pytest.raises(ValueError, match="expected 0 or one per PIDS zone"):
        SecuritySpec(cctv=CctvSpec(perimeter_cameras=10))


def test_episodes_absorb_overlaps_and_report_ends() -> None:
    """A second start during an episode is absorbed; ends are reported once, in order."""
    episodes = Episodes.empty(2)
    episodes.open_window()
    assert episodes.begin(100, 0, 500)
    assert not episodes.begin(200, 0, 900)
    assert episodes.begin(150, 1, 160)
    assert episodes.begin(600, 0, 2000)  # the first episode ended at 500: reported now
    t_ms = np.array([100, 300, 700, 1000])
    mask = episodes.mask(t_ms)
    np.testing.assert_array_equal(mask, [[True, False], [True, False], [True, False],
                                         [True, False]])
    # Ends are reported at the first instant at or after them: 160 -> 300, 500 -> 700.
    assert episodes.close_window(t_ms) == [(300, 1), (700, 0)]
    episodes.open_window()
    assert episodes.close_window(np.array([2000, 3000])) == [(2000, 0)]


def test_supply_tracker_carries_an_outage_across_windows() -> None:
    """Outage durations keep counting across a window boundary and reset on return."""
    tracker = SupplyTracker()
    t = np.arange(6, dtype=np.int64) * 60_000
    first = tracker.outage_s(t[:3], np.array([True, False, False]))
    second = tracker.outage_s(t[3:], np.array([False, True, False]))
    np.testing.assert_array_equal(first, [0.0, 0.0, 60.0])
    np.testing.assert_array_equal(second, [120.0, 0.0, 0.0])
    assert tracker.outage_since == 300_000
    assert tracker.outage_s(np.zeros(0, np.int64), np.zeros(0, bool)).shape == (0,)


def test_helpers_expand_counts_and_check_drivers() -> None:
    """Counts expand time-major; the first step has no exposure; drivers must match t_ms."""
    steps, devices = occurrences(np.array([[0, 2], [1, 0]]))
    np.testing.assert_array_equal(steps, [0, 0, 1])
    np.testing.assert_array_equal(devices, [1, 1, 0])
    np.testing.assert_array_equal(exposure_s(np.arange(3), 60, first_of_run=True), [0, 60, 60])
    assert as_bool(None, 2, default=False).tolist() == [False, False]
    assert as_float([1, 2], 2, 0.0).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"driver has shape \(3,\); expected \(2,\)"):
        as_float([1, 2, 3], 2, 0.0)


def test_gate_cameras_watch_the_parks_own_gates() -> None:
    """In the composed model the gate cameras are spread over the gates the park really has."""
    spec = SecuritySpec(gates=GatesSpec(gates=default_gates()[:2]))
    model = SecurityModel(spec, 1, MONDAY_MS)
    watched = {d.tags["gate_id"] for d in model.cctv.devices if d.tags["area"] == "gate"}
    assert watched == {"gate-main-1", "gate-main-2"}
