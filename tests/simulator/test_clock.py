"""Time modes, parsing and the drift-free pacer, in virtual time."""

from __future__ import annotations

import logging

import pytest

from simulator.clock import (
    Mode,
    Pacer,
    SystemClock,
    TimePlan,
    TimeSpecError,
    check_aligned,
    parse_instant,
    parse_span,
    plan_time,
)
from tests.simulator.fakes_runner import FakeClock

T0 = 1_772_384_400_000  # 2026-03-02T00:00:00+07:00
NOW = 1_780_000_000.0  # wall "now" for planning, later than T0


def test_parse_instant_accepts_offsets() -> None:
    """RFC 3339 with +07:00 and with Z both give the same epoch milliseconds."""
    assert parse_instant("2026-03-02T00:00:00+07:00") == T0
    assert parse_instant("2026-03-01T17:00:00Z") == T0


@pytest.mark.parametrize(("text", "needle"), [
    ("yesterday", "not an RFC 3339"),
    ("2026-03-02T00:00:00", "no UTC offset"),
])
def test_parse_instant_rejects_with_a_hint(text: str, needle: str) -> None:
    """Bad timestamps are rejected with a message that says how to fix them."""
    with pytest.raises(TimeSpecError, match=needle):
        parse_instant(text)


def test_parse_span() -> None:
    """START..END parses to (start, end) and END must come after START."""
    assert parse_span("2026-03-02T00:00:00+07:00..2026-03-02T06:00:00+07:00") == (
        T0, T0 + 6 * 3_600_000)
    with pytest.raises(TimeSpecError, match=r"START\.\.END"):
        parse_span("2026-03-02T00:00:00+07:00")
    with pytest.raises(TimeSpecError, match="after START"):
        parse_span("2026-03-02T00:00:00+07:00..2026-03-02T00:00:00+07:00")


def test_check_aligned_names_the_neighbouring_grid_points() -> None:
    """An off-grid time is refused with the grid instants just before and after."""
    check_aligned(T0, 10_000, "start")
    with pytest.raises(TimeSpecError, match=r"17:00:00\+00:00 or .*17:00:10\+00:00"):
        check_aligned(T0 + 5_000, 10_000, "start")


def test_plan_backfill() -> None:
    """Backfill keeps its span and runs unpaced; a future end or missing span is refused."""
    plan = plan_time(Mode.BACKFILL, 10_000, NOW, start_ms=T0, end_ms=T0 + 60_000)
    assert plan == TimePlan(Mode.BACKFILL, T0, T0 + 60_000, None)
    assert not plan.paced
    assert "as fast as possible" in plan.describe()
    with pytest.raises(TimeSpecError, match="future"):
        plan_time(Mode.BACKFILL, 10_000, T0 / 1000, start_ms=T0, end_ms=T0 + 60_000)
    with pytest.raises(TimeSpecError, match="needs a span"):
        plan_time(Mode.BACKFILL, 10_000, NOW, start_ms=T0)
    with pytest.raises(TimeSpecError, match="end"):
        plan_time(Mode.BACKFILL, 10_000, NOW, start_ms=T0, end_ms=T0 + 1)


def test_plan_realtime_starts_on_the_next_grid_point() -> None:
    """Realtime starts at the next grid instant after now and runs at factor 1."""
    plan = plan_time(Mode.REALTIME, 10_000, (T0 + 1) / 1000, sim_duration_s=30)
    assert plan == TimePlan(Mode.REALTIME, T0 + 10_000, T0 + 40_000, 1.0)
    assert "x1 wall time" in plan.describe()
    with pytest.raises(TimeSpecError, match="realtime starts now"):
        plan_time(Mode.REALTIME, 10_000, NOW, start_ms=T0)


def test_plan_speed_and_virtual() -> None:
    """Speed uses its factor from the given start; virtual is unpaced from its start."""
    assert plan_time(Mode.SPEED, 10_000, NOW, start_ms=T0, factor=60) == TimePlan(
        Mode.SPEED, T0, None, 60)
    virtual = plan_time(Mode.VIRTUAL, 10_000, NOW, start_ms=T0, sim_duration_s=3600)
    assert virtual == TimePlan(Mode.VIRTUAL, T0, T0 + 3_600_000, None)
    default_start = plan_time(Mode.VIRTUAL, 10_000, T0 / 1000)
    assert default_start.start_ms == T0 - 10_000
    assert "until stopped" in default_start.describe()


@pytest.mark.parametrize("kwargs", [
    {"mode": Mode.SPEED, "factor": 0},
    {"mode": Mode.SPEED},
    {"mode": Mode.VIRTUAL, "sim_duration_s": -1},
    {"mode": Mode.VIRTUAL, "end_ms": T0},
    {"mode": Mode.VIRTUAL, "start_ms": T0 + 3},
])
def test_plan_rejects_options_that_do_not_fit(kwargs: dict[str, object]) -> None:
    """Every option that does not fit its mode or the grid raises TimeSpecError."""
    mode = kwargs.pop("mode")
    assert isinstance(mode, Mode)
    with pytest.raises(TimeSpecError):
        plan_time(mode, 10_000, NOW, **kwargs)  # type: ignore[arg-type]


async def test_pacer_sleeps_to_an_absolute_grid_without_drift() -> None:
    """Steps are due at wall0 + (t - t0)/factor; a late step does not shift later ones."""
    clock = FakeClock(1000.0)
    pacer = Pacer(TimePlan(Mode.SPEED, T0, None, 10.0), clock)
    assert await pacer.wait_for(T0) == 0.0  # wall0 is fixed on the first call
    assert await pacer.wait_for(T0 + 10_000) == 0.0
    assert clock.t == pytest.approx(1001.0)
    clock.t += 0.5  # work took half a second: the next sleep is shorter, not the same
    await pacer.wait_for(T0 + 20_000)
    assert clock.t == pytest.approx(1002.0)
    assert clock.sleeps == pytest.approx([1.0, 0.5])


async def test_pacer_realtime_uses_the_wall_clock_grid() -> None:
    """In realtime a step is due exactly at its own timestamp."""
    clock = FakeClock(T0 / 1000 - 2)
    pacer = Pacer(TimePlan(Mode.REALTIME, T0, None, 1.0), clock)
    assert pacer.due(T0) == T0 / 1000
    await pacer.wait_for(T0)
    assert clock.t == T0 / 1000


async def test_pacer_counts_lag_and_warns_at_most_every_ten_seconds(
        caplog: pytest.LogCaptureFixture) -> None:
    """Late steps are counted and reported with how far behind, rate-limited."""
    clock = FakeClock(T0 / 1000 + 5)  # five seconds behind from the start
    pacer = Pacer(TimePlan(Mode.REALTIME, T0, None, 1.0), clock)
    with caplog.at_level(logging.WARNING, logger="simulator.clock"):
        for k in range(4):
            lag = await pacer.wait_for(T0 + k * 1000)
            assert lag == pytest.approx(5 - k)
            clock.t += 0.0
        clock.t += 20
        await pacer.wait_for(T0 + 4000)
    assert pacer.late_steps == 5
    assert pacer.max_lag_s == pytest.approx(21)
    warnings = [r for r in caplog.records if "behind real time" in r.getMessage()]
    assert len(warnings) == 2
    assert "5.0 s behind" in warnings[0].getMessage()


async def test_unpaced_plan_never_waits() -> None:
    """Virtual and backfill plans have no due time and never sleep."""
    clock = FakeClock()
    pacer = Pacer(TimePlan(Mode.VIRTUAL, T0, None, None), clock)
    assert pacer.due(T0) is None
    assert await pacer.wait_for(T0 + 10_000_000) == 0.0
    assert clock.sleeps == []


async def test_system_clock_is_the_wall_clock() -> None:
    """SystemClock reads real time and sleeps on the event loop."""
    clock = SystemClock()
    before = clock.now()
    await clock.sleep(0)
    assert clock.now() >= before > 1.7e9
