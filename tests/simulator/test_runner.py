"""The runner with a fake engine and a virtual clock: modes, outputs, stopping, stats."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from simulator.clock import Mode
from simulator.runner import (
    Progress,
    PublishStats,
    SimulationConfig,
    interval_ms_of,
    run_simulation,
)
from tests.simulator.fakes_runner import FakeClock, FakeEngine, fake_scenario

T0 = 1_772_384_400_000


def _factory(engines: list[FakeEngine]) -> Any:
    def build(scenario: Any, seed: int, start_ms: int) -> FakeEngine:
        engine = FakeEngine(scenario, seed, start_ms)
        engines.append(engine)
        return engine
    return build


async def test_virtual_run_writes_every_step_as_json_lines(tmp_path: Path) -> None:
    """A virtual run of one simulated minute writes 6 steps x 3 devices and never sleeps."""
    out = tmp_path / "run.jsonl"
    clock = FakeClock()
    engines: list[FakeEngine] = []
    stats = await run_simulation(
        SimulationConfig(scenario=fake_scenario(), mode=Mode.VIRTUAL, start_ms=T0,
                         sim_duration_s=60, output=str(out)),
        clock=clock, engine_factory=_factory(engines))
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(lines) == stats.generated == stats.written == 18
    assert stats.steps == 6
    assert lines[0] == {"topic": "fake/lab/energy/meter/d0/telemetry",
                        "payload": {"seq": 0, "ts": T0}}
    assert stats.sim_start_ms == T0
    assert stats.sim_end_ms == T0 + 60_000
    assert stats.per_device_last_seq == {"d0": 5, "d1": 5, "d2": 5}
    assert stats.published == stats.failed == 0
    assert clock.sleeps == []
    assert engines[0].seed == 7


async def test_backfill_is_generated_in_windows_and_ends_at_end() -> None:
    """Backfill splits the span into windows of about window_messages and stops at END."""
    engines: list[FakeEngine] = []
    stats = await run_simulation(
        SimulationConfig(scenario=fake_scenario(), mode=Mode.BACKFILL, start_ms=T0,
                         end_ms=T0 + 250_000, window_messages=30),
        clock=FakeClock(T0 / 1000 + 86_400), engine_factory=_factory(engines))
    assert engines[0].generated_steps == [10, 10, 5]
    assert stats.steps == 25
    assert stats.sim_end_ms == T0 + 250_000


async def test_speed_mode_paces_steps_on_the_wall_clock() -> None:
    """At x10, 10 s steps are 1 s apart in wall time; the wall limit ends the run."""
    clock = FakeClock()
    progress: list[Progress] = []
    stats = await run_simulation(
        SimulationConfig(scenario=fake_scenario(), mode=Mode.SPEED, start_ms=T0, speed=10,
                         wall_duration_s=5),
        on_progress=progress.append, clock=clock, engine_factory=_factory([]),
        progress_every_s=2)
    assert clock.sleeps == pytest.approx([1.0] * 5)
    assert stats.steps == 6
    assert stats.wall_s == pytest.approx(5.0)
    assert stats.late_steps == 0
    assert progress[-1].messages == 18
    assert len(progress) >= 3  # periodic ones plus the final one


async def test_stop_event_ends_a_run_cleanly() -> None:
    """Setting stop from the progress callback ends an endless virtual run."""
    stop = asyncio.Event()

    def on_progress(p: Progress) -> None:
        if p.messages >= 300:
            stop.set()

    stats = await run_simulation(
        SimulationConfig(scenario=fake_scenario(), mode=Mode.VIRTUAL, start_ms=T0,
                         window_messages=30),
        stop, on_progress, clock=FakeClock(), engine_factory=_factory([]), progress_every_s=0)
    assert stats.generated == 300
    assert stats.error is None


class _NeverClock(FakeClock):
    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


async def test_stop_interrupts_a_wait_for_the_next_step() -> None:
    """A realtime run waiting for its next step stops as soon as stop is set."""
    stop = asyncio.Event()
    clock = _NeverClock(T0 / 1000 + 1)
    asyncio.get_running_loop().call_later(0.05, stop.set)
    stats = await run_simulation(
        SimulationConfig(scenario=fake_scenario(), mode=Mode.REALTIME),
        stop, clock=clock, engine_factory=_factory([]))
    assert stats.steps == 0
    assert stats.generated == 0


async def test_stdout_output_and_a_closed_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """`-` writes to stdout; a reader that goes away ends the run with a reason."""
    class Broken(io.BytesIO):
        def write(self, data: Any) -> int:
            raise BrokenPipeError

    class Stdout:
        buffer = Broken()

    monkeypatch.setattr("sys.stdout", Stdout())
    stats = await run_simulation(
        SimulationConfig(scenario=fake_scenario(), mode=Mode.VIRTUAL, start_ms=T0,
                         output="-"),
        clock=FakeClock(), engine_factory=_factory([]))
    assert stats.error == "output closed by the reader"


def test_stats_summary_mentions_what_happened() -> None:
    """The summary line reports messages, rate, delivery, reconnects, lag and errors."""
    stats = PublishStats(published=10, failed=2, generated=12, steps=4, wall_s=2.0,
                         reconnects=1, late_steps=3, max_lag_s=4.5, error="boom")
    text = stats.summary()
    for part in ("12 messages", "6 msg/s", "10 delivered", "2 failed", "1 reconnects",
                 "3 steps late (max 4.5 s)", "stopped: boom"):
        assert part in text
    assert PublishStats().rate == 0.0


async def test_real_engine_run_is_reproducible() -> None:
    """Two virtual runs of the real engine with one seed give identical stats and seqs."""
    config = SimulationConfig(scenario="minipark", mode=Mode.VIRTUAL, start_ms=T0,
                              sim_duration_s=600, seed=3)
    first = await run_simulation(config)
    second = await run_simulation(config)
    assert first.generated == second.generated > 0
    assert first.per_device_last_seq == second.per_device_last_seq
    # 600 s: 60 reports at 10 s (meters, inverters), 10 at 60 s, 2 at 300 s.
    assert set(first.per_device_last_seq.values()) == {59, 9, 1}
    assert first.per_device_last_seq["mtr-t001"] == 59


def test_interval_of_a_loaded_scenario() -> None:
    """The grid interval comes from the scenario's energy settings."""
    assert interval_ms_of(fake_scenario(15)) == 15_000
