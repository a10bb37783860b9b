"""``smartpark simulate``: run the park simulator from the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import IO

from parkwire import format_ts
from simulator.clock import Mode, TimeSpecError, parse_instant, parse_span
from simulator.mqtt import ConnectOptions, MqttError, TlsOptions
from simulator.publisher import PublisherSettings
from simulator.runner import Progress, SimulationConfig, run_simulation
from simulator.scenario import ScenarioError
from simulator.scenario.scale import MAX_SCALE

#: Environment variable read for the MQTT password (keeps it out of `ps` and shell history).
PASSWORD_ENV = "SMARTPARK_MQTT_PASSWORD"  # noqa: S105 - a variable name, not a secret

DESCRIPTION = """\
Generate the park's telemetry (seeded, reproducible) and send it to an MQTT broker and/or
write it as JSON lines ({"topic": ..., "payload": {...}} per line).

time modes (pick one; default --realtime):
  --realtime             simulated time is wall time; one step per scenario interval
  --speed FACTOR         simulated time runs FACTOR x faster (60 = an hour per minute)
  --backfill START..END  a past span as fast as possible, with its real timestamps
  --virtual              as fast as possible from --start (default: now)

The same --seed and span always give the same messages. Times are RFC 3339 with an offset
(2026-03-02T00:00:00+07:00 or ...Z) and must lie on the scenario's step grid.
Progress goes to stderr (when it is a terminal, or with --progress); stdout carries only
data with --output -.
"""

EPILOG = """\
examples:
  # six hours of the reference park as JSON lines on stdout
  smartpark simulate --seed 7 \
      --backfill 2026-03-02T00:00:00+07:00..2026-03-02T06:00:00+07:00 --output -

  # live telemetry to a local broker
  smartpark simulate --broker localhost:1883

  # load test over TLS: 10 simulated minutes per second, QoS 1, <= 5000 unacknowledged
  smartpark simulate --broker mqtt.example:8883 --tls --ca-file ca.pem --username sim \\
      --speed 600 --qos 1 --max-inflight 5000

  # one simulated day as fast as possible into a file
  smartpark simulate --virtual --start 2026-03-02T00:00:00+07:00 --duration 86400 --output day.jsonl

The password is read from $SMARTPARK_MQTT_PASSWORD (or --password, which other users of the
machine can see in the process list). Ctrl-C ends the run cleanly: devices and the gateway
are marked offline and a summary is printed.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``simulate`` subcommand."""
    parser = subparsers.add_parser(
        "simulate", help="generate park telemetry to MQTT and/or JSON lines",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_argument_group("what to simulate")
    what.add_argument("--scenario", default="refpark",
                      help="built-in scenario name or TOML file (default: refpark)")
    what.add_argument("--seed", type=int, default=7, help="master seed (default: 7)")
    what.add_argument("--scale", type=_scale, default=1, metavar="K",
                      help="simulate K blocks of the park, each with its own substation, "
                           "plant and gates (default: 1; try 10 or 100 for load tests)")
    when = parser.add_argument_group("time")
    modes = when.add_mutually_exclusive_group()
    modes.add_argument("--backfill", metavar="START..END",
                       help="simulate a past span as fast as possible (END exclusive)")
    modes.add_argument("--realtime", action="store_true", help="simulated time = wall time")
    modes.add_argument("--speed", type=float, metavar="FACTOR",
                       help="simulated time runs FACTOR times faster than wall time")
    modes.add_argument("--virtual", action="store_true",
                       help="as fast as possible from --start, no waiting")
    when.add_argument("--start", metavar="TIME",
                      help="simulated start for --speed/--virtual (RFC 3339, on the grid)")
    when.add_argument("--duration", type=float, metavar="SECONDS",
                      help="how long to run: simulated seconds with --virtual, wall seconds "
                           "otherwise (default: until END or Ctrl-C)")
    out = parser.add_argument_group("outputs (at least one)")
    out.add_argument("--output", metavar="FILE",
                     help="write JSON lines to FILE, or to stdout with -")
    out.add_argument("--broker", metavar="HOST[:PORT]",
                     help="publish to this MQTT broker (port 1883, or 8883 with --tls)")
    out.add_argument("--progress", action="store_true",
                     help="show live progress on stderr even when it is not a terminal")
    mqtt = parser.add_argument_group("MQTT")
    mqtt.add_argument("--qos", type=int, choices=(0, 1, 2), default=0,
                      help="telemetry QoS (default 0; statuses always use 1)")
    mqtt.add_argument("--client-id", default="smartpark-sim",
                      help="client id; the gateway's status topic is derived from it")
    mqtt.add_argument("--username", help="MQTT user name")
    mqtt.add_argument("--password", help=f"MQTT password (prefer ${PASSWORD_ENV})")
    mqtt.add_argument("--mqtt-version", choices=("3.1.1", "5"), default="3.1.1",
                      help="protocol version (default 3.1.1)")
    mqtt.add_argument("--keepalive", type=int, default=60, help="seconds (default 60)")
    mqtt.add_argument("--max-inflight", type=int, default=1000, metavar="N",
                      help="most QoS 1/2 messages awaiting acknowledgement (default 1000)")
    mqtt.add_argument("--tls", action="store_true", help="connect with TLS")
    mqtt.add_argument("--ca-file", help="CA certificate(s) to trust (implies --tls)")
    mqtt.add_argument("--cert", help="client certificate for mutual TLS (implies --tls)")
    mqtt.add_argument("--key", help="private key of --cert")
    mqtt.add_argument("--insecure", action="store_true",
                      help="TLS without certificate checks (test brokers only)")
    parser.set_defaults(handler=handle)


def _broker(text: str, tls: bool) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, 8883 if tls else 1883
    if not port.isdigit() or not 0 < int(port) < 65_536:
        msg = f"--broker {text!r}: the port must be a number 1..65535"
        raise TimeSpecError(msg)
    return host, int(port)


def build_config(args: argparse.Namespace) -> SimulationConfig:
    """Turn parsed arguments into a :class:`SimulationConfig` (raises ValueError if unusable)."""
    start = parse_instant(args.start) if args.start else None
    end = None
    duration = args.duration
    sim_duration = wall_duration = None
    if args.backfill:
        if start is not None:
            msg = "--start does not apply to --backfill (the span has its own start)"
            raise TimeSpecError(msg)
        mode = Mode.BACKFILL
        start, end = parse_span(args.backfill)
        wall_duration = duration
    elif args.virtual:
        mode, sim_duration = Mode.VIRTUAL, duration
    elif args.speed is not None:
        mode, wall_duration = Mode.SPEED, duration
    else:
        mode, wall_duration = Mode.REALTIME, duration
    if args.output is None and args.broker is None:
        msg = "nothing to do: give --broker HOST[:PORT] and/or --output FILE (or - for stdout)"
        raise TimeSpecError(msg)
    publisher = None
    if args.broker is not None:
        tls_wanted = args.tls or args.ca_file or args.cert or args.insecure
        tls = TlsOptions(args.ca_file, args.cert, args.key, args.insecure) if tls_wanted else None
        host, port = _broker(args.broker, bool(tls))
        password = args.password if args.password is not None else os.environ.get(PASSWORD_ENV)
        connect = ConnectOptions(
            host=host, port=port, client_id=args.client_id, keepalive=args.keepalive,
            protocol=5 if args.mqtt_version == "5" else 4, username=args.username,
            password=password, tls=tls, max_inflight=args.max_inflight)
        publisher = PublisherSettings(connect=connect, qos=args.qos)
    return SimulationConfig(
        scenario=args.scenario, seed=args.seed, mode=mode, start_ms=start, end_ms=end,
        speed=args.speed, sim_duration_s=sim_duration, wall_duration_s=wall_duration,
        output=args.output, publisher=publisher, scale=args.scale)


def _scale(text: str) -> int:
    """Parse ``--scale``: a whole number from 1 to MAX_SCALE."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_SCALE:
        msg = f"{text!r} is not a scale; expected a whole number from 1 to {MAX_SCALE}"
        raise argparse.ArgumentTypeError(msg)
    return value


class ProgressLine:
    """Rewrites one status line on a terminal: simulated time, messages, rate, lag."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.shown = False

    def __call__(self, progress: Progress) -> None:
        """Show *progress*."""
        self.stream.write(
            f"\r{format_ts(progress.sim_ms)}  {progress.messages:,} msgs  "
            f"{progress.rate:,.0f} msg/s  lag {progress.lag_s:.1f} s   ")
        self.stream.flush()
        self.shown = True

    def end(self) -> None:
        """Leave the line so the summary starts on a fresh one."""
        if self.shown:
            self.stream.write("\n")


async def _run(config: SimulationConfig, progress: ProgressLine | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        stats = await run_simulation(config, stop, progress)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if progress is not None:
        progress.end()
    print(f"smartpark simulate: {stats.summary()}", file=sys.stderr)
    return 1 if stats.error and not stop.is_set() else 0


def handle(args: argparse.Namespace) -> int:
    """Run ``smartpark simulate``; return the exit code."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                            format="smartpark simulate: %(levelname)s: %(message)s")
    try:
        config = build_config(args)
    except ValueError as exc:  # TimeSpecError is a ValueError
        print(f"smartpark simulate: error: {exc}", file=sys.stderr)
        return 2
    progress = ProgressLine(sys.stderr) if args.progress or sys.stderr.isatty() else None
    try:
        return asyncio.run(_run(config, progress))
    except (TimeSpecError, ScenarioError) as exc:
        print(f"smartpark simulate: error: {exc}", file=sys.stderr)
        return 2
    except MqttError as exc:
        print(f"smartpark simulate: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stderr.write("smartpark simulate: output closed by the reader\n")
        return 0
