"""How fast the simulator generates meter readings: in memory, and as JSON lines.

    python benchmarks/bench_generation.py                 # one simulated day of refpark
    python benchmarks/bench_generation.py --hours 6 --runs 3

A "message" is one device's readings at one step (19 quantities for a meter). The in-memory
figure times :meth:`Engine.generate` (numeric arrays, rounded, no encoding); the JSON-lines
figure times generation plus :meth:`Window.to_jsonl`. The day is generated in windows of
``window_steps`` grid steps (one hour by default), as a backfill would. Median of ``runs``.
Wall-clock and per-CPU-second rates are both reported: the second is steadier when other
work shares the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.engine import Engine
from simulator.scenario import load_scenario

#: Monday 2026-03-02 00:00 in Vietnam, epoch milliseconds.
START_MS = 1_772_384_400_000


def _timed_run(scenario_name: str, steps: int, window_steps: int, *,
               jsonl: bool) -> tuple[float, int, int, float]:
    """Return (wall seconds, messages, bytes, CPU seconds) for one run from a fresh engine."""
    engine = Engine(load_scenario(scenario_name), 1, START_MS)
    messages = size = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    left = steps
    while left > 0:
        window = engine.generate(min(window_steps, left))
        left -= len(window.t_ms)
        messages += window.count
        if jsonl:
            size += len(window.to_jsonl())
    return time.perf_counter() - started, messages, size, time.process_time() - cpu_started


def measure_generation(scenario: str = "refpark", hours: float = 24.0,
                       window_steps: int = 360, runs: int = 5) -> dict[str, float]:
    """Measure generation speed; return messages per second (median of *runs*) and sizes.

    Args:
        scenario: built-in scenario name or file.
        hours: simulated time per run [h].
        window_steps: grid steps per :meth:`Engine.generate` call.
        runs: repetitions; the median is reported.
    """
    interval_s = load_scenario(scenario).energy.interval_s
    steps = round(hours * 3600 / interval_s)
    memory = [_timed_run(scenario, steps, window_steps, jsonl=False) for _ in range(runs)]
    lines = [_timed_run(scenario, steps, window_steps, jsonl=True) for _ in range(runs)]
    messages = memory[0][1]
    mem_s = statistics.median(r[0] for r in memory)
    json_s = statistics.median(r[0] for r in lines)
    return {
        "messages": float(messages),
        "simulated_hours": hours,
        "in_memory_messages_per_s": round(messages / mem_s),
        "jsonl_messages_per_s": round(messages / json_s),
        "jsonl_bytes_per_message": round(lines[0][2] / messages, 1),
        "in_memory_best_messages_per_s": round(messages / min(r[0] for r in memory)),
        "jsonl_best_messages_per_s": round(messages / min(r[0] for r in lines)),
        # Per CPU-second of this process: less sensitive to other load on a shared machine.
        "in_memory_messages_per_cpu_s": round(messages / statistics.median(r[3] for r in memory)),
        "jsonl_messages_per_cpu_s": round(messages / statistics.median(r[3] for r in lines)),
    }


def main() -> int:
    """Print the figures and the machine they were measured on."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="refpark")
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--window-steps", type=int, default=360)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    figures = measure_generation(args.scenario, args.hours, args.window_steps, args.runs)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
    for key, value in figures.items():
        print(f"{key:<32} {value:,.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
