"""Gates model: shift-change flows, people who enter leave, trucks, access-control events."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.calendar import local_time
from simulator.models.gates import (
    EVERY_DAY,
    EventDetail,
    Gate,
    GatesModel,
    GatesSpec,
    Shift,
    calendar_activity,
    default_gates,
    default_shifts,
)
from simulator.models.output import FloatArray, ModelOutput
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

WEEK = grid(7)


@pytest.fixture(scope="module")
def week() -> ModelOutput:
    """One reference-park week (Monday to Sunday) of gate traffic, seed 11."""
    return GatesModel(GatesSpec(), 11, MONDAY_MS).step(WEEK)


def _daily(values: FloatArray, days: int) -> FloatArray:
    per_step: FloatArray = values.sum(axis=1)[: days * DAY_STEPS]
    return per_step.reshape(days, DAY_STEPS).sum(axis=1)  # type: ignore[no-any-return]


def test_default_shifts_split_the_workforce_as_domain_md() -> None:
    """The default shifts add up to 20,000: 11,000 day, 5,500 evening, 3,500 night."""
    shifts = default_shifts()
    assert sum(s.workers for s in shifts) == 20_000
    assert sum(s.workers for s in shifts if s.start_h < 12) == 11_000
    assert sum(s.workers for s in shifts if s.start_h == 14) == 5_500
    assert sum(s.workers for s in shifts if s.start_h >= 20) == 3_500
    kinds = [g.kind for g in default_gates()]
    assert (kinds.count("main"), kinds.count("truck"), kinds.count("secondary")) == (2, 2, 2)


def test_telemetry_is_in_range_and_events_ordered(week: ModelOutput) -> None:
    """A week of gate counts stays inside the registry and events are ordered in the window."""
    assert_in_registry_ranges(week)
    assert_events_ordered(week.events, WEEK)


def test_people_who_enter_leave_over_each_day(week: ModelOutput) -> None:
    """Each day's in-count matches its out-count within Poisson noise (cohorts cross midnight).

    Tuesday to Saturday: Monday morning lets out Sunday's smaller night shift and Sunday
    morning Saturday's 12-hour night shift (Monday to Saturday only), so those differ by design.
    """
    block = week.telemetry[0]
    ins, outs = _daily(block.values["people_in"], 7), _daily(block.values["people_out"], 7)
    assert outs[6] > ins[6]  # Saturday's 20:00 shift goes home on Sunday; none comes in
    for day in range(1, 6):
        assert poisson_ok(outs[day], ins[day]), (day, ins[day], outs[day])


def test_a_day_shift_leaves_exactly_as_it_came() -> None:
    """With one 08:00-17:00 shift, every gate's in-count equals its out-count, person for person."""
    spec = GatesSpec(shifts=(Shift(8.0, 17.0, 5_000, EVERY_DAY),))
    block = GatesModel(spec, 3, MONDAY_MS).step(grid(1)).telemetry[0]
    np.testing.assert_array_equal(block.values["people_in"].sum(axis=0),
                                  block.values["people_out"].sum(axis=0))
    assert poisson_ok(block.values["people_in"].sum(), 5_000)
    for mode in ("motorbikes", "cars", "buses"):
        np.testing.assert_array_equal(block.values[f"{mode}_in"].sum(axis=0),
                                      block.values[f"{mode}_out"].sum(axis=0))


def test_headcount_is_never_negative_and_books_balance(week: ModelOutput) -> None:
    """The on-site headcount never goes below zero and moves by exactly in minus out."""
    on_site = week.coupling["workers_on_site"]
    assert on_site.min() >= 0
    block = week.telemetry[0]
    net = (block.values["people_in"] - block.values["people_out"]).sum(axis=1)
    np.testing.assert_array_equal(np.diff(on_site), net[1:])
    assert week.coupling["trucks_on_site"].min() >= 0


def test_run_starting_at_night_finds_the_night_shift_inside() -> None:
    """A run starting on Tuesday 02:00 begins with both night shifts (3,500) on site."""
    start = MONDAY_MS + 26 * 3_600_000
    model = GatesModel(GatesSpec(), 5, start)
    output = model.step(grid(0.5, start))
    assert poisson_ok(output.coupling["workers_on_site"][0], 3_500)
    assert model.workers_on_site == output.coupling["workers_on_site"][-1]
    assert output.telemetry[0].values["people_in"][0].sum() == 0  # nothing before the start
    assert output.coupling["workers_on_site"].min() >= 0


def test_arrivals_peak_before_shift_starts(week: ModelOutput) -> None:
    """People arrive around 07:10 and 05:40, not at 03:00; main gates see tens of bikes a minute."""
    block = week.telemetry[0]
    hod = local_time(WEEK, "Asia/Ho_Chi_Minh").hod
    arrivals = block.values["people_in"].sum(axis=1)
    morning = arrivals[(hod > 6.9) & (hod < 7.3)].mean()
    night = arrivals[(hod > 2.5) & (hod < 3.5)].mean()
    assert morning > 50 * max(night, 1.0)
    peak = block.values["motorbikes_in"][:, 0].max()
    assert 30 <= peak <= 90


def test_mode_split_matches_the_occupancies(week: ModelOutput) -> None:
    """Motorbikes, buses and cars carry people in the configured shares and occupancies."""
    values = week.telemetry[0].values
    people = values["people_in"].sum()
    assert values["motorbikes_in"].sum() == pytest.approx(people * 0.75 / 1.1, rel=0.05)
    assert values["cars_in"].sum() == pytest.approx(people * 0.05 / 1.5, rel=0.1)
    assert values["buses_in"].sum() == pytest.approx(people * 0.20 / 40, rel=0.15)


def test_trucks_follow_the_day_night_rate_and_use_truck_gates(week: ModelOutput) -> None:
    """Trucks arrive 60/h by day and 20/h by night (x0.6 on Sunday), at the truck gates only."""
    values = week.telemetry[0].values
    per_day = _daily(values["trucks_in"], 7)
    for day in range(6):
        assert poisson_ok(per_day[day], 16 * 60 + 8 * 20), per_day
    assert poisson_ok(per_day[6], 0.6 * (16 * 60 + 8 * 20))
    assert values["trucks_in"][:, [0, 1, 4, 5]].sum() == 0
    assert abs(values["trucks_in"].sum() - values["trucks_out"].sum()) < 60


def test_day_activity_driver_scales_attendance() -> None:
    """Attendance 0.2 brings about a fifth of the people of a normal day."""
    t = grid(1)
    normal = GatesModel(GatesSpec(), 2, MONDAY_MS).step(t, day_activity=np.ones(len(t)))
    low = GatesModel(GatesSpec(), 2, MONDAY_MS).step(t, day_activity=np.full(len(t), 0.2))
    ratio = (low.telemetry[0].values["people_in"].sum()
             / normal.telemetry[0].values["people_in"].sum())
    assert ratio == pytest.approx(0.2, abs=0.02)


def test_calendar_activity_marks_tet_and_holidays() -> None:
    """Without a driver, Tet days get tet_activity and public holidays holiday_activity."""
    tet_day = (np.datetime64("2026-02-17") - np.datetime64("1970-01-01")).astype(int)
    national_day = (np.datetime64("2026-09-02") - np.datetime64("1970-01-01")).astype(int)
    values = calendar_activity(np.array([tet_day, national_day, tet_day - 30]), 0.3, 0.05)
    np.testing.assert_allclose(values, [0.05, 0.3, 1.0])


def test_access_events_account_for_every_person(week: ModelOutput) -> None:
    """Granted reads plus tailgaters equal the people counted; refusals are ~2% of reads."""
    counts = event_counts(week)
    values = week.telemetry[0].values
    people = values["people_in"].sum() + values["people_out"].sum()
    assert counts["badge_granted"] + counts["tailgating"] == people
    reads = counts["badge_granted"] + counts["badge_denied"]
    assert counts["badge_denied"] / reads == pytest.approx(0.02, rel=0.1)
    assert counts["badge_denied"] == values["badge_denied"].sum()
    assert poisson_ok(counts["tailgating"], 0.0005 * people)
    assert poisson_ok(counts["door_held_open"], 2.0 * 6 * 7)
    assert counts["door_forced"] <= 10


def test_personal_ids_travel_in_event_data_only(week: ModelOutput) -> None:
    """Badge ids and plates appear in event data, never in device tags."""
    model = GatesModel(GatesSpec(), 11, MONDAY_MS)
    assert all(set(d.tags) == {"gate_kind"} for d in model.devices)
    granted = next(e for e in week.events if e.event == "badge_granted")
    assert str(granted.data["badge_id"]).startswith("B")
    plates = [e for e in week.events if e.event == "plate_read"]
    assert {e.data["vehicle_class"] for e in plates} == {"bus", "car", "truck"}
    assert all("-" in str(e.data["plate"]) for e in plates)
    unread = sum(1 for e in week.events if e.event == "plate_unread")
    assert unread / (unread + len(plates)) == pytest.approx(0.02, abs=0.01)


def test_trucks_leave_with_the_plate_they_came_in_with(week: ModelOutput) -> None:
    """A truck's departure read carries the plate of its arrival read."""
    arrivals = {e.data["plate"] for e in week.events
                if e.event == "plate_read" and e.data["vehicle_class"] == "truck"
                and e.data["direction"] == "in"}
    departures = [e.data["plate"] for e in week.events
                  if e.event == "plate_read" and e.data["vehicle_class"] == "truck"
                  and e.data["direction"] == "out"]
    assert sum(p in arrivals for p in departures) / len(departures) > 0.97


def test_exceptions_mode_keeps_telemetry_and_drops_routine_reads() -> None:
    """events='exceptions' publishes the same counts but no granted reads or plate reads."""
    t = grid(1)
    full = GatesModel(GatesSpec(), 4, MONDAY_MS).step(t)
    lean = GatesModel(GatesSpec(events=EventDetail.EXCEPTIONS), 4, MONDAY_MS).step(t)
    for name, values in full.telemetry[0].values.items():
        np.testing.assert_array_equal(lean.telemetry[0].values[name], values)
    kinds = event_counts(lean)
    assert kinds["badge_granted"] == kinds["plate_read"] == 0
    assert kinds["badge_denied"] == event_counts(full)["badge_denied"]
    assert len(lean.events) < len(full.events) / 20


def test_output_is_identical_across_window_splits() -> None:
    """Any split of the steps into windows gives the same telemetry, events and coupling."""
    t = grid(2)
    activity = np.where(np.arange(len(t)) < DAY_STEPS, 1.0, 0.6)
    whole = GatesModel(GatesSpec(), 9, MONDAY_MS).step(t, day_activity=activity)
    pieces = run_split(GatesModel(GatesSpec(), 9, MONDAY_MS).step, t, [1, 397, 1440, 2000],
                       {"day_activity": activity})
    assert_same(whole, pieces)


def test_empty_window_returns_empty_arrays() -> None:
    """An empty t_ms gives empty arrays and no events."""
    output = GatesModel(GatesSpec(), 1, MONDAY_MS).step(np.zeros(0, np.int64))
    assert output.events == ()
    assert output.telemetry[0].values["people_in"].shape == (0, 6)


def test_steps_must_continue_the_grid() -> None:
    """Off-grid, non-consecutive or discontinuous instants are refused with the expectation."""
    model = GatesModel(GatesSpec(), 1, MONDAY_MS)
    with pytest.raises(ValueError, match="consecutive multiples of 60000 ms"):
        model.step(np.array([MONDAY_MS, MONDAY_MS + 1]))
    model.step(grid(0.01))
    with pytest.raises(ValueError, match="continue the run"):
        model.step(grid(0.01))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"interval_s": 45}, "interval_s = 45"),
    ({"gates": ()}, "gates is empty"),
    ({"gates": (Gate("gate-x", "truck", 0.0, 1.0),)}, "people_share sums to 0"),
    ({"shifts": (Shift(8.0, 9.0, 100),)}, r"shifts\[0\]: lasts 1.0 h"),
    ({"shifts": (Shift(25.0, 9.0, 100),)}, r"shifts\[0\] = "),
    ({"mode_share": (1.0, 0.0)}, "mode_share: expected 3 values"),
    ({"occupancy": (3.0, 40.0, 1.5)}, "occupancy of motorbikes and cars"),
    ({"denied_share": 1.5}, "denied_share = 1.5"),
])
def test_bad_spec_is_refused_with_what_was_expected(kwargs: dict[str, object],
                                                     message: str) -> None:
    """A GatesSpec with a bad value names the field and what was expected."""
    with pytest.raises(ValueError, match=message):
        GatesSpec(**kwargs)  # type: ignore[arg-type]


def test_injected_bursts_come_out_in_their_window() -> None:
    """F23: an injected burst of forced doors and refusals appears at the reporting instants."""
    model = GatesModel(GatesSpec(forced_per_day=0.0, denied_share=0.0), 12, MONDAY_MS)
    at = MONDAY_MS + 3 * 3_600_000 + 15_000
    forced = model.inject_access_events(at, 2, "door_forced", count=3, spread_s=90.0)
    refused = model.inject_access_events(at, 0, "badge_denied", count=5)
    held = model.inject_access_events(at, 1, "door_held_open")
    tail = model.inject_access_events(at, 1, "tailgating", count=2, spread_s=0.0)
    assert len(forced) == 3
    assert all(at <= f <= at + 90_000 for f in forced)
    t = grid(0.25)
    output = model.step(t)
    counts = event_counts(output)
    assert counts["door_forced"] == 3
    assert counts["badge_denied"] == 5
    assert counts["tailgating"] >= 2
    assert output.telemetry[0].values["badge_denied"][:, 0].sum() == 5
    assert output.telemetry[0].values["badge_denied"][:, 1:].sum() == 0
    assert sorted(e.ts_ms for e in output.events if e.event == "badge_denied") == [
        reported_at(r) for r in refused]
    stamps = {e.ts_ms for e in output.events if e.event in ("door_forced", "badge_denied")}
    assert stamps <= set(t.tolist())
    opened = next(e for e in output.events if e.event == "door_held_open"
                  and e.device_id == "gate-main-2" and e.ts_ms == reported_at(held[0]))
    assert float(opened.data["open_s"]) >= 30.0
    assert tail == [at, at]


def test_injection_is_validated() -> None:
    """Unknown gates or events, empty bursts and past instants are refused, all at once."""
    model = GatesModel(GatesSpec(), 1, MONDAY_MS)
    with pytest.raises(ValueError, match=r"gate 9 is outside 0\.\.5; event 'riot' is not one"):
        model.inject_access_events(MONDAY_MS + 1, 9, "riot")
    model.step(grid(0.01))
    with pytest.raises(ValueError, match="not after the last stepped instant"):
        model.inject_access_events(MONDAY_MS, 0, "door_forced")
    with pytest.raises(ValueError, match="count = 0"):
        model.inject_access_events(MONDAY_MS + 10**8, 0, "door_forced", count=0)
