"""Run every smartpark benchmark, print a table and optionally write JSON results.

    python benchmarks/run.py                       # everything, defaults
    python benchmarks/run.py --only publish --quick
    python benchmarks/run.py --json benchmarks/results/latest.json

To add a benchmark, append a :class:`Benchmark` to :data:`BENCHMARKS`: a module under
``benchmarks/``, the function to call (it returns a JSON-able dict of figures) and its keyword
arguments for a full and a quick run. Figures are published in ``docs/benchmarks.md``; no
test asserts on them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

# Benchmarks import `tests.servers` and the packages from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


@dataclass(frozen=True)
class Benchmark:
    """One registered benchmark."""

    name: str
    module: str
    function: str
    full: dict[str, Any] = field(default_factory=dict)
    quick: dict[str, Any] = field(default_factory=dict)


#: The registration point: every benchmark run.py knows, in the order it runs them.
BENCHMARKS: list[Benchmark] = [
    Benchmark("generation", "benchmarks.bench_generation", "measure_generation"),
    # A simulated year of the whole reference park: in memory in full, as JSON lines on a
    # week (the year's time is projected from that rate, and reported as projected).
    Benchmark("year", "benchmarks.bench_year", "measure_year",
              full={"days": 365, "jsonl_days": 7},
              quick={"days": 1, "jsonl_days": 0.25}),
    Benchmark("year_scale10", "benchmarks.bench_year", "measure_year",
              full={"scale": 10, "days": 2, "jsonl_days": 0.5},
              quick={"scale": 10, "days": 0.25, "jsonl_days": 0.1}),
    Benchmark("publish", "benchmarks.bench_publish", "measure_publish",
              full={"messages": 100_000, "runs": 3},
              quick={"messages": 30_000, "runs": 1}),
    Benchmark("collector", "benchmarks.bench_collector", "measure_collector",
              full={"messages_total": 200_000, "runs": 3},
              quick={"messages_total": 20_000, "runs": 1}),
    Benchmark("durability", "benchmarks.bench_durability", "measure_durability",
              full={"messages": 100_000, "runs": 1},
              quick={"messages": 10_000, "runs": 1, "naive_sample": 300, "live_rate": 3_000,
                     "outage_s": 3.0, "outage_total_s": 8.0}),
]


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from."""
    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


def _flatten(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "per_run":
                _flatten(f"{prefix}.{key}" if prefix else key, item, rows)
    else:
        rows.append((prefix, f"{value:,}" if isinstance(value, int) else str(value)))


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"run only these ({', '.join(b.name for b in BENCHMARKS)})")
    parser.add_argument("--quick", action="store_true", help="small sizes, one run")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write results as JSON")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": machine(),
                               "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    for bench in BENCHMARKS:
        if args.only and bench.name not in args.only:
            continue
        try:
            module = importlib.import_module(bench.module)
        except ModuleNotFoundError as exc:
            print(f"{bench.name}: skipped ({exc})", file=sys.stderr)
            continue
        print(f"running {bench.name} ...", file=sys.stderr)
        started = time.perf_counter()
        figures = getattr(module, bench.function)(**(bench.quick if args.quick else bench.full))
        figures["benchmark_seconds"] = round(time.perf_counter() - started, 1)
        results[bench.name] = figures
    rows: list[tuple[str, str]] = []
    _flatten("", results, rows)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
