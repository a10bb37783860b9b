"""``smartpark collect`` and ``smartpark query``: run the collector, read the embedded store."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from collector.config import DEFAULT_BUFFER, DEFAULT_DB, ConfigError, load_config
from collector.stats import CollectorStats

if TYPE_CHECKING:
    from collector.leave import LeaveResult
    from collector.service import Collector
    from collector.store import EmbeddedStore

COLLECT_DESCRIPTION = """\
Subscribe to the park's MQTT topics (QoS 1, persistent session), validate every message with
the parkwire contract, and store the readings in batches. A message is acknowledged to the
broker only once it is stored, so stopping or crashing loses nothing: the broker redelivers.
Malformed messages are counted by reason and written to a dead-letter file (JSON lines).

Where the data goes: InfluxDB v2 when an Influx URL is set (INFLUX_URL or --influx-url, with
INFLUX_ORG, INFLUX_BUCKET and INFLUX_TOKEN or INFLUX_TOKEN_FILE), otherwise an embedded DuckDB
file (default ./smartpark-data/park.duckdb) that `smartpark query` reads.

While the database is down (or answers 5xx/429), batches go to a bounded on-disk outage
buffer (--buffer-dir, --buffer-max-bytes, default 1GiB), fsynced before they are
acknowledged, and are written to the database oldest first when it is back. When the buffer
is full, --buffer-overflow decides: block (default: stop acknowledging, the broker's
persistent session keeps the rest) or drop_oldest (delete the oldest batches, counted).
The collector starts even while the database is down.

Settings come from --config FILE (TOML), then the environment, then these flags (flags win).
Ctrl-C or SIGTERM stops cleanly: in-flight batches are stored (or buffered, if the database
is down) and acknowledged within --drain-timeout seconds, then the collector disconnects.

The session outlives the process: the broker queues messages for a stopped collector (and,
in a shared subscription, keeps giving it its share) until the same --client-id returns.
To take a member away for good, run it once with --leave: it stores what was queued for it,
then deletes its session and exits.
"""

COLLECT_EPILOG = """\
examples:
  smartpark collect                                   broker on localhost, DuckDB store
  smartpark collect --mqtt-host broker.lan --topic 'refpark/+/+/+/+/+' --progress
  INFLUX_URL=http://localhost:8086 INFLUX_ORG=park INFLUX_BUCKET=telemetry \\
    INFLUX_TOKEN_FILE=/run/secrets/influx smartpark collect
  smartpark collect --config collector.toml --batch-size 10000
  smartpark collect --metrics-port 9108               then: curl localhost:9108/health
  smartpark collect --buffer-max-bytes 4GiB --buffer-overflow drop_oldest --drain-timeout 30
  SMARTPARK_MQTT_PASSWORD_FILE=/run/secrets/mqtt smartpark collect --mqtt-host broker \
    --mqtt-port 8883 --ca-file ca.crt --username collector
  smartpark collect --topic '$share/collectors/+/+/+/+/+/+' --client-id collector-2
                                                      one of several collectors sharing a stream
  smartpark collect --topic '$share/collectors/+/+/+/+/+/+' --client-id collector-2 --leave
                                                      retire it: store its queued share, end
                                                      its session, exit
"""

QUERY_DESCRIPTION = """\
Read what the collector stored in the embedded DuckDB file. Times are UTC. The file can be
read while no collector holds it open for writing (stop the collector, or copy the file).
"""

QUERY_EPILOG = """\
examples:
  smartpark query devices                            per-device counts and sequence ranges
  smartpark query power --device mtr-ss01 --last 1h --every 5m
                                                     5-minute mean power over the last hour
  smartpark query latest --device mtr-t017           newest reading of one meter
  smartpark query sql "SELECT reason, count(*) FROM dead_letter GROUP BY reason"
  smartpark query --db other.duckdb devices
"""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> timedelta:
    """Parse ``90s``, ``5m``, ``1h``, ``2d`` into a timedelta."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        msg = f"{text!r} is not a duration; write e.g. 30s, 5m, 1h or 2d"
        raise argparse.ArgumentTypeError(msg)
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def _add_mqtt_arguments(collect: argparse.ArgumentParser) -> None:
    """The broker connection's flags."""
    mqtt = collect.add_argument_group("MQTT")
    mqtt.add_argument("--mqtt-host", metavar="HOST", help="broker host (default 127.0.0.1)")
    mqtt.add_argument("--mqtt-port", type=int, metavar="PORT", help="broker port (default 1883)")
    mqtt.add_argument("--mqtt-protocol", choices=("5", "3.1.1"),
                      help="MQTT version (default 5; 3.1.1 for brokers without MQTT 5)")
    mqtt.add_argument("--client-id", metavar="ID",
                      help="client id of the persistent session (default smartpark-collector)")
    mqtt.add_argument("--topic", metavar="FILTER",
                      help="subscription filter (default +/+/+/+/+/+ = every smartpark topic)")
    mqtt.add_argument("--receive-maximum", type=int, metavar="N",
                      help="MQTT 5 unacknowledged messages in flight (default 20000)")
    mqtt.add_argument("--username", metavar="USER", dest="mqtt_username",
                      help="MQTT user name; the password comes from SMARTPARK_MQTT_PASSWORD or "
                           "SMARTPARK_MQTT_PASSWORD_FILE (never a flag: it would show in ps)")
    mqtt.add_argument("--tls", action="store_true", default=None, dest="mqtt_tls",
                      help="connect with TLS, verifying the broker against the system's CAs")
    mqtt.add_argument("--ca-file", metavar="FILE", dest="mqtt_ca_file",
                      help="CA certificate(s) to verify the broker with (implies --tls)")
    mqtt.add_argument("--cert", metavar="FILE", dest="mqtt_cert_file",
                      help="client certificate for mutual TLS (implies --tls)")
    mqtt.add_argument("--key", metavar="FILE", dest="mqtt_key_file",
                      help="private key of --cert (default: inside the --cert file)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``collect`` and ``query`` subcommands."""
    collect = subparsers.add_parser(
        "collect", help="subscribe to MQTT and store every reading (InfluxDB or DuckDB)",
        description=COLLECT_DESCRIPTION, epilog=COLLECT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    collect.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    _add_mqtt_arguments(collect)
    batch = collect.add_argument_group("batching")
    batch.add_argument("--batch-size", type=int, metavar="N", help="points per write (5000)")
    batch.add_argument("--batch-interval", type=float, metavar="SECONDS", dest="batch_interval_s",
                       help="longest wait before a partial batch is written (1.0)")
    batch.add_argument("--max-pending", type=int, metavar="N",
                       help="unacknowledged messages held before reading pauses (20000)")
    sinks = collect.add_argument_group("storage")
    sinks.add_argument("--influx-url", metavar="URL", help="InfluxDB v2 URL (or INFLUX_URL)")
    sinks.add_argument("--db", type=Path, metavar="FILE", dest="db_path",
                       help=f"embedded DuckDB file (default {DEFAULT_DB})")
    sinks.add_argument("--dead-letter", type=Path, metavar="FILE", dest="dead_letter_path",
                       help="dead-letter JSON-lines file "
                       "(default smartpark-data/dead-letter.jsonl)")
    buffer = collect.add_argument_group("outage buffer and shutdown")
    buffer.add_argument("--buffer-dir", type=Path, metavar="DIR",
                        help=f"on-disk outage buffers, one subdirectory per client id (or "
                        f"SMARTPARK_BUFFER_DIR; default {DEFAULT_BUFFER})")
    buffer.add_argument("--buffer-max-bytes", metavar="SIZE",
                        help="bound of the outage buffer, e.g. 512MiB or 4GiB (default 1GiB; "
                        "0 = no buffer: a failing database then blocks acknowledgements)")
    buffer.add_argument("--buffer-overflow", choices=("block", "drop_oldest"),
                        help="when the buffer is full: block = stop acknowledging so the broker "
                        "holds further messages (default); drop_oldest = delete the oldest "
                        "buffered batches (counted in dropped)")
    buffer.add_argument("--drain-timeout", type=float, metavar="SECONDS", dest="drain_timeout_s",
                        help="on Ctrl-C/SIGTERM, how long to keep writing in-flight batches "
                        "before buffering the rest and disconnecting (default 10)")
    observe = collect.add_argument_group("observability")
    observe.add_argument("--metrics-port", type=int, metavar="PORT",
                         help="serve Prometheus /metrics and JSON /health on this port "
                         "(or SMARTPARK_METRICS_PORT; default 0 = off)")
    observe.add_argument("--metrics-host", metavar="HOST",
                         help="address of that server (default 127.0.0.1; it has no "
                         "authentication, so widen only behind a firewall)")
    observe.add_argument("--stats-interval", type=float, metavar="SECONDS",
                         dest="stats_interval_s",
                         help="write the collector's counters to the database as the "
                         "`collector` measurement this often (default 10; 0 = never)")
    collect.add_argument("--leave", action="store_true",
                         help="retire this --client-id: unsubscribe, store what the broker "
                         "queued for its session, delete the session and exit (use the same "
                         "--topic and --client-id as the member ran with)")
    collect.add_argument("--progress", action="store_true",
                         help="show the live status line even when stderr is not a terminal")
    collect.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    collect.set_defaults(handler=run_collect)

    query = subparsers.add_parser(
        "query", help="read the embedded store: devices, power, latest, SQL",
        description=QUERY_DESCRIPTION, epilog=QUERY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    query.add_argument("--db", type=Path, default=DEFAULT_DB, metavar="FILE",
                       help=f"DuckDB file (default {DEFAULT_DB})")
    what = query.add_subparsers(dest="what", metavar="WHAT", required=True)
    devices = what.add_parser("devices", help="per-device count, seq range, distinct seqs")
    devices.add_argument("--measurement", default="energy_meter", help="table (energy_meter)")
    power = what.add_parser("power", help="time-bucketed mean of one quantity of one device")
    power.add_argument("--device", required=True, help="device id, e.g. mtr-ss01")
    power.add_argument("--field", default="p_kw", help="quantity column (default p_kw)")
    power.add_argument("--last", type=parse_duration, default=timedelta(hours=1),
                       help="window ending at the device's newest reading (default 1h)")
    power.add_argument("--every", type=parse_duration, default=timedelta(minutes=5),
                       help="bucket width (default 5m)")
    latest = what.add_parser("latest", help="newest row of each device (or one device)")
    latest.add_argument("--device", help="device id")
    latest.add_argument("--measurement", default="energy_meter", help="table (energy_meter)")
    sql = what.add_parser("sql", help="run any SQL statement")
    sql.add_argument("statement", help="the SQL text")
    query.set_defaults(handler=run_query)


# -- collect ----------------------------------------------------------------------------------

_OVERRIDES = ("mqtt_host", "mqtt_port", "mqtt_protocol", "client_id", "topic", "mqtt_username",
              "mqtt_tls", "mqtt_ca_file", "mqtt_cert_file", "mqtt_key_file",
              "receive_maximum", "batch_size", "batch_interval_s", "max_pending", "influx_url",
              "db_path", "dead_letter_path", "metrics_port", "metrics_host", "buffer_dir",
              "buffer_max_bytes", "buffer_overflow", "drain_timeout_s", "stats_interval_s")


def run_collect(args: argparse.Namespace) -> int:
    """Run the collector until SIGINT/SIGTERM; return the exit code."""
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config, overrides={k: getattr(args, k) for k in _OVERRIDES})
    except ConfigError as exc:
        print(f"smartpark collect: configuration error: {exc}", file=sys.stderr)
        return 2
    from collector.observability import MetricsBindError  # noqa: PLC0415
    from collector.sinks.base import FatalSinkError  # noqa: PLC0415
    from collector.source import MqttConnectError  # noqa: PLC0415  (heavy: paho, clients)
    from collector.store import StoreOpenError  # noqa: PLC0415

    progress = args.progress or sys.stderr.isatty()
    try:
        if args.leave:
            return _report_leave(asyncio.run(_leave(config, progress=progress)))
        stats = asyncio.run(_collect(config, progress=progress))
    except (MqttConnectError, MetricsBindError, StoreOpenError) as exc:
        print(f"smartpark collect: {exc}", file=sys.stderr)
        return 1
    except FatalSinkError as exc:
        print(f"smartpark collect: stopped: {exc}. The unwritten messages were not "
              "acknowledged; the broker keeps them for the next run.", file=sys.stderr)
        return 1
    print(summary(stats), file=sys.stderr)
    return 0


def _stop_on_signals() -> asyncio.Event:
    """Return an event that Ctrl-C (SIGINT) and SIGTERM set: the clean-stop request."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _collect(config: Any, *, progress: bool) -> CollectorStats:
    from collector.service import Collector  # noqa: PLC0415  (heavy: paho, clients)

    stop = _stop_on_signals()
    print(f"collecting {config.topic} from {config.mqtt_host}:{config.mqtt_port} into "
          f"{config.influx_url if config.sink == 'influx' else config.db_path}", file=sys.stderr)
    async with Collector(config) as collector:
        status = asyncio.create_task(_status_line(collector, sys.stderr)) if progress else None
        try:
            await collector.run(stop)
        finally:
            if status is not None:
                status.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await status
                print(file=sys.stderr)
        return collector.stats()


async def _leave(config: Any, *, progress: bool) -> LeaveResult:
    from collector.leave import leave_group  # noqa: PLC0415  (heavy: paho, clients)

    stop = _stop_on_signals()
    print(f"leaving: storing what {config.mqtt_host}:{config.mqtt_port} queued for "
          f"{config.client_id!r}, then ending its session", file=sys.stderr)
    status: list[asyncio.Task[None]] = []

    def show(collector: Collector) -> None:
        if progress:
            status.append(asyncio.create_task(_status_line(collector, sys.stderr)))

    try:
        return await leave_group(config, stop=stop, on_start=show)
    finally:
        for task in status:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            print(file=sys.stderr)


def _report_leave(result: LeaveResult) -> int:
    print(summary(result.stats), file=sys.stderr)
    if result.ended:
        print("session ended: the broker holds nothing more for this client id",
              file=sys.stderr)
        return 0
    print("interrupted: the session is kept with what it still holds; run --leave again",
          file=sys.stderr)
    return 1


async def _status_line(collector: Collector, out: TextIO) -> None:
    last_time, last_written = time.monotonic(), 0
    while True:
        await asyncio.sleep(1.0)
        now, stats = time.monotonic(), collector.stats()
        rate = (stats.written - last_written) / (now - last_time)
        last_time, last_written = now, stats.written
        out.write(f"\rreceived {stats.received:>10,}  written {stats.written:>10,}  "
                  f"invalid {stats.invalid:>6,}  {rate:>9,.0f} msg/s  "
                  f"{'connected' if stats.connected else 'DISCONNECTED'}"
                  f"{'  DATABASE DOWN' if stats.sink_reachable is False else ''}"
                  f"{f'  buffered {stats.buffer_messages:,}' if stats.buffer_messages else ''}"
                  "  ")
        out.flush()


def summary(stats: CollectorStats) -> str:
    """Return the end-of-run summary."""
    lines = [f"received {stats.received:,}, written {stats.written:,}, "
             f"invalid {stats.invalid:,} (dead-lettered {stats.dead_lettered:,}), "
             f"acknowledged {stats.acked:,}, batches {stats.batches:,}, "
             f"retries {stats.retries:,}"]
    if stats.buffered or stats.buffer_messages or stats.dropped:
        lines.append(f"  outage buffer: buffered {stats.buffered:,}, drained {stats.drained:,}, "
                     f"dropped {stats.dropped:,}, still on disk {stats.buffer_messages:,} "
                     "(written to the database on the next run)")
    lines.extend(f"  invalid {reason}: {count:,}"
                 for reason, count in stats.invalid_by_reason.items())
    return "\n".join(lines)


# -- query ------------------------------------------------------------------------------------


def run_query(args: argparse.Namespace) -> int:
    """Answer one question from the embedded store; return the exit code."""
    if not args.db.is_file():
        print(f"smartpark query: no database at {args.db}; run `smartpark collect` first or "
              "pass --db FILE", file=sys.stderr)
        return 2
    import duckdb  # noqa: PLC0415  (loaded only to answer a query)

    from collector.store import EmbeddedStore, StoreOpenError  # noqa: PLC0415

    try:
        with EmbeddedStore(args.db, read_only=True) as store:
            return _answer(store, args)
    except BrokenPipeError:
        # The reader (e.g. `| head`) stopped early; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, duckdb.Error, StoreOpenError) as exc:
        # A bad SQL statement, table or column name lands here, as does a file in use.
        print(f"smartpark query: {exc}", file=sys.stderr)
        return 1


def _answer(store: EmbeddedStore, args: argparse.Namespace) -> int:
    out = sys.stdout
    if args.what == "devices":
        counts = store.count_by_device(args.measurement)
        _table(out, ["device_id", "count", "min_seq", "max_seq", "distinct_seq", "gaps"],
               [[d, c, lo, hi, n, (hi - lo + 1) - n] for d, (c, lo, hi, n) in counts.items()])
    elif args.what == "power":
        span = store.time_range("energy_meter", args.device)
        if span is None:
            print(f"smartpark query: no readings of device {args.device!r}", file=sys.stderr)
            return 1
        end = span[1] + timedelta(milliseconds=1)
        bucket = f"{int(args.every.total_seconds() * 1000)} milliseconds"
        rows = store.bucket_mean(args.device, args.field, start=end - args.last, end=end,
                                 bucket=bucket)
        _table(out, ["bucket_start_utc", f"mean_{args.field}"],
               [[b.isoformat(sep=" "), f"{v:.3f}"] for b, v in rows])
    elif args.what == "latest":
        latest = store.latest(args.measurement, args.device)
        for device, row in latest.items():
            print(f"{device}:", file=out)
            for key, value in row.items():
                print(f"  {key:<12} {value}", file=out)
    else:
        columns, rows = store.query_with_columns(args.statement)
        _table(out, columns, [list(r) for r in rows])
    return 0


def _table(out: TextIO, header: list[str], rows: list[list[Any]]) -> None:
    text = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), file=out)
    for row in text:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)), file=out)
