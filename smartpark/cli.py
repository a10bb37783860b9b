"""The ``smartpark`` command: one entry point, one subcommand per job.

Each application registers its own subcommands (``register(subparsers)``) so that this module
stays a thin router and the applications keep their options next to their code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from smartpark import __version__

#: Modules whose ``register(subparsers)`` adds subcommands, in the order --help lists them.
COMMAND_MODULES = (
    "smartpark.demo_cli",
    "simulator.cli",
    "simulator.scenario_cli",
    "collector.cli",
)

DESCRIPTION = """\
Simulate a smart industrial park's IoT telemetry (energy metering, with solar, wastewater and
security to come), publish it over MQTT, and collect it into a time-series database without
losing a message.

quick start:
  smartpark demo                      broker + simulator + collector, live view, no setup
  smartpark simulate --backfill 2026-03-02T00:00:00+07:00..2026-03-02T06:00:00+07:00 --output -
  smartpark scenario show refpark     the built-in reference park
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="smartpark",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"smartpark {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]
        register = module.register
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
