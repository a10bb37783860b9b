"""Backfill one simulated year of the whole park: every domain, each at its native interval.

    python benchmarks/bench_year.py                       # refpark, a year in memory + JSONL
    python benchmarks/bench_year.py --scale 10 --days 28  # a 4-week sample at scale 10
    python benchmarks/bench_year.py --jsonl-days 28       # JSONL timed on 4 weeks only

The in-memory figure times :meth:`Engine.generate` (every model stepped, values rounded, events
encoded, nothing else); the JSON-lines figure adds :meth:`Window.to_jsonl`. Runs start on
1 January 2026 00:00 local time and go on in windows of ``window_steps`` grid steps (one hour
by default), as ``smartpark simulate --backfill`` does. When ``days`` or ``jsonl_days`` is less
than a year the year's total time is *projected* from the measured rate (reported as such).
Progress goes to stderr every 30 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.engine import Engine
from simulator.scenario import load_scenario
from simulator.scenario.scale import scale_scenario

#: 2026-01-01 00:00 in Vietnam (UTC+7), epoch milliseconds.
YEAR_START_MS = 1_767_200_400_000
YEAR_DAYS = 365
PROGRESS_EVERY_S = 30.0


def _run(engine: Engine, steps: int, window_steps: int, *, jsonl: bool,
         label: str) -> tuple[float, float, Counter[str], int]:
    """Generate *steps*; return (wall s, CPU s, messages by asset type or 'event', bytes)."""
    counts: Counter[str] = Counter()
    size = 0
    left = steps
    started, cpu = time.perf_counter(), time.process_time()
    shown = started
    while left > 0:
        window = engine.generate(min(window_steps, left))
        n = len(window.t_ms)
        left -= n
        for block in window.blocks:
            counts[block.asset_type] += len(block.step_rows(n)) * len(block.device_ids)
        counts["event"] += len(window.events)
        if jsonl:
            size += len(window.to_jsonl())
        now = time.perf_counter()
        if now - shown >= PROGRESS_EVERY_S:
            shown = now
            done = 1.0 - left / steps
            total = sum(counts.values())
            print(f"  {label}: {done:6.1%} of the span, {total:,} messages, "
                  f"{total / (now - started):,.0f} msg/s", file=sys.stderr)
    return time.perf_counter() - started, time.process_time() - cpu, counts, size


def measure_year(scenario: str = "refpark", scale: int = 1, days: float = YEAR_DAYS, *,
                 jsonl_days: float | None = None, window_steps: int = 360,
                 seed: int = 1) -> dict[str, Any]:
    """Measure a long backfill; return rates, totals and the park's size.

    Args:
        scenario: built-in scenario name or file.
        scale: blocks of the park (``--scale``).
        days: simulated days generated in memory.
        jsonl_days: simulated days generated as JSON lines (default: *days*).
        window_steps: grid steps per :meth:`Engine.generate` call.
        seed: master seed.
    """
    park = scale_scenario(load_scenario(scenario), scale)
    interval_s = park.energy.interval_s
    engine = Engine(park, seed, YEAR_START_MS)
    per_type = Counter(d.asset_type for d in engine.devices)
    steps = round(days * 86_400 / interval_s)
    mem_s, mem_cpu, counts, _ = _run(engine, steps, window_steps, jsonl=False, label="memory")
    json_days = days if jsonl_days is None else jsonl_days
    json_steps = round(json_days * 86_400 / interval_s)
    json_s, json_cpu, json_counts, size = _run(Engine(park, seed, YEAR_START_MS), json_steps,
                                               window_steps, jsonl=True, label="jsonl")
    messages, json_messages = sum(counts.values()), sum(json_counts.values())
    mem_rate, json_rate = messages / mem_s, json_messages / json_s
    year_messages = messages * YEAR_DAYS / days
    per_minute = {kind: round(count / (days * 1440), 1) for kind, count in counts.items()}
    return {
        "scale": scale,
        "devices": len(engine.devices),
        "devices_by_type": dict(sorted(per_type.items())),
        "messages_per_simulated_minute": round(messages / (days * 1440)),
        "messages_per_simulated_minute_by_type": per_minute,
        "in_memory": {"simulated_days": days, "messages": messages,
                      "wall_s": round(mem_s, 1), "messages_per_s": round(mem_rate),
                      "messages_per_cpu_s": round(messages / mem_cpu),
                      "year_wall_s": round(year_messages / mem_rate, 1),
                      "year_projected": days < YEAR_DAYS},
        "jsonl": {"simulated_days": json_days, "messages": json_messages,
                  "wall_s": round(json_s, 1), "messages_per_s": round(json_rate),
                  "messages_per_cpu_s": round(json_messages / json_cpu),
                  "bytes_per_message": round(size / max(json_messages, 1), 1),
                  "year_wall_s": round(year_messages / json_rate, 1),
                  "year_gigabytes": round(year_messages * size / max(json_messages, 1) / 1e9,
                                          1),
                  "year_projected": json_days < YEAR_DAYS},
    }


def main() -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="refpark")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--days", type=float, default=YEAR_DAYS)
    parser.add_argument("--jsonl-days", type=float, default=None)
    parser.add_argument("--window-steps", type=int, default=360)
    args = parser.parse_args()
    figures = measure_year(args.scenario, args.scale, args.days, jsonl_days=args.jsonl_days,
                           window_steps=args.window_steps)
    for key, value in figures.items():
        print(f"{key:<40} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
