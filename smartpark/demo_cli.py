"""Command line of ``smartpark demo``; kept light so ``smartpark --help`` starts fast.

The heavy parts (numpy, DuckDB, the simulator and collector) are imported only when the demo
actually runs.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartpark.broker import choose_broker

if TYPE_CHECKING:
    from rich.console import Console

    from smartpark.demo import DemoOptions

DEFAULT_DB = Path("smartpark-data") / "demo.duckdb"
DESCRIPTION = """\
Run the whole chain on this machine with nothing to install: an MQTT broker of its own
(mosquitto when installed, else the pure-Python amqtt), the collector writing into an embedded
DuckDB store, and the simulator in accelerated time. A live view shows what an operation
centre would watch. At the end the store is reconciled against what was published, device by
device, by sequence number: published, stored, invalid and lost (lost must be 0).
"""
EPILOG = """\
examples:
  smartpark demo                          run until Ctrl-C, live view in the terminal
  smartpark demo --duration 60            one minute (= one simulated hour at x60), then a summary
  smartpark demo --speed 600 --duration 30
  smartpark demo --broker 127.0.0.1:1883  use a broker you already run
  smartpark query --db smartpark-data/demo.duckdb power --device mtr-ss01 --last 1h --every 5m

The store is recreated at every run. The summary's "lost" is published minus stored,
reconciled per device by sequence number; it must be 0.
"""


def parse_broker(text: str) -> tuple[str, int]:
    """Split ``HOST[:PORT]`` (port 1883 by default), with an actionable error."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "1883")
    if not host:
        msg = f"--broker {text!r}: expected HOST[:PORT], e.g. 127.0.0.1:1883"
        raise ValueError(msg)
    try:
        number = int(port)
    except ValueError:
        msg = f"--broker {text!r}: port {port!r} is not a number"
        raise ValueError(msg) from None
    if not 0 < number < 65536:
        msg = f"--broker {text!r}: port {number} is outside 1..65535"
        raise ValueError(msg)
    return host, number


def _options(args: argparse.Namespace) -> DemoOptions:
    from smartpark.demo import DemoOptions  # noqa: PLC0415  (heavy; only when running)

    start = None
    if args.start is not None:
        start = datetime.fromisoformat(args.start)
        if start.tzinfo is None:
            msg = f"--start {args.start!r} needs a UTC offset, e.g. 2026-03-02T07:00:00+07:00"
            raise ValueError(msg)
    if args.duration is not None and args.duration <= 0:
        msg = f"--duration {args.duration}: must be a positive number of seconds"
        raise ValueError(msg)
    if args.speed <= 0:
        msg = f"--speed {args.speed}: must be positive (60 = one simulated hour per minute)"
        raise ValueError(msg)
    if args.broker is not None:
        parse_broker(args.broker)
    live = args.live if args.live is not None else sys.stdout.isatty()
    return DemoOptions(duration_s=args.duration, speed=args.speed, scenario=args.scenario,
                       seed=args.seed, start=start, broker=args.broker,
                       embedded_broker=args.embedded_broker, db=Path(args.db), live=live)


def _handle(args: argparse.Namespace) -> int:
    from rich.console import Console  # noqa: PLC0415  (only when running)

    console = Console()
    err = Console(stderr=True)
    try:
        options = _options(args)
        choose_broker(options.embedded_broker)
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2
    return asyncio.run(_main(options, console, err))


async def _main(options: DemoOptions, console: Console, err: Console) -> int:
    from collector.config import ConfigError  # noqa: PLC0415  (heavy; only when running)
    from smartpark.demo import run_demo  # noqa: PLC0415

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        summary = await run_demo(options, console, stop)
    except (ConfigError, OSError, RuntimeError, TimeoutError) as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    console.print(summary.table())
    if summary.lost:
        worst = sorted(summary.per_device_missing.items(), key=lambda kv: -kv[1])[:5]
        err.print(f"[red]lost {summary.lost} messages[/]; most missing: {worst}")
        return 1
    console.print(f"query it: smartpark query --db {options.db} power --device "
                  "mtr-ss01 --last 1h --every 5m", highlight=False, soft_wrap=True)
    return 0


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo", help="run broker + simulator + collector with a live view (no setup)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, metavar="SECONDS",
                        help="stop after this many wall seconds and print the summary "
                             "(default: run until Ctrl-C)")
    parser.add_argument("--speed", type=float, default=60.0, metavar="FACTOR",
                        help="simulated seconds per wall second (default 60: an hour a minute)")
    parser.add_argument("--scenario", default="refpark",
                        help="built-in scenario name or TOML file (default refpark)")
    parser.add_argument("--seed", type=int, default=7, help="master seed (default 7)")
    parser.add_argument("--start", metavar="ISO",
                        help="simulated start with offset, e.g. 2026-03-02T07:00:00+07:00 "
                             "(default: today 07:00 in the park's time zone)")
    parser.add_argument("--broker", metavar="HOST[:PORT]",
                        help="use this MQTT broker instead of starting one")
    parser.add_argument("--embedded-broker", default="auto",
                        choices=("auto", "mosquitto", "amqtt"),
                        help="broker to start: mosquitto if installed, else amqtt (default auto)")
    parser.add_argument("--db", default=str(DEFAULT_DB),
                        help=f"DuckDB file for the readings, recreated each run "
                             f"(default {DEFAULT_DB})")
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--live", dest="live", action="store_true", default=None,
                      help="draw the live view (default when stdout is a terminal)")
    view.add_argument("--no-live", dest="live", action="store_false",
                      help="print a status line every 5 s instead of the live view")
    parser.set_defaults(handler=_handle)


