"""`smartpark simulate`: argument handling, the documented command, and a broker run."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from collections import Counter
from pathlib import Path

import orjson
import pytest

from simulator import cli
from simulator.clock import Mode
from simulator.publisher import GatewayPublisher
from simulator.runner import Progress, SimulationConfig, run_simulation
from tests.servers import Mosquitto

SPAN = "2026-03-02T00:00:00+07:00..2026-03-02T06:00:00+07:00"


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    return parser.parse_args(["simulate", *argv])


def test_the_documented_backfill_to_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """The brief's exact command writes 6 h of refpark as JSON lines and only data to stdout.

    Every device reports at its own interval over the 6 h: meters and inverters every 10 s
    (2,160 times), gates, cameras, fire panels and the plant every 60 s (360), the plant's
    monitoring station every 5 min (72); events come on top.
    """
    args = _parse("--seed", "7", "--backfill", SPAN, "--output", "-")
    assert args.handler(args) == 0
    out, err = capsysbinary.readouterr()
    lines = out.splitlines()
    first = orjson.loads(lines[0])
    assert first["payload"]["ts"] == "2026-03-01T17:00:00.000Z"
    records = [orjson.loads(line) for line in lines]
    telemetry = [r for r in records if r["topic"].endswith("/telemetry")]
    assert telemetry[-1]["payload"]["ts"] == "2026-03-01T22:59:50.000Z"
    per_device = Counter(r["topic"] for r in telemetry)
    reports = Counter(per_device.values())
    assert set(reports) == {2160, 360, 72}
    kinds = {topic.split("/")[3] for topic, count in per_device.items() if count == 2160}
    assert kinds == {"meter", "mv_meter", "inverter", "weather_station"}
    assert any(r["topic"].endswith("/event") for r in records)
    assert b"messages in" in err
    again = _parse("--seed", "7", "--backfill", SPAN, "--output", "-")
    again.handler(again)
    assert hashlib.sha256(capsysbinary.readouterr()[0]).digest() == hashlib.sha256(out).digest()


@pytest.mark.parametrize(("argv", "needle"), [
    (("--backfill", SPAN), "nothing to do"),
    (("--backfill", "2026-03-02T00:00:05+07:00..2026-03-02T01:00:00+07:00", "--output", "-"),
     "not on the scenario's 10 s grid"),
    (("--backfill", SPAN, "--start", "2026-03-02T00:00:00Z", "--output", "-"), "--start"),
    (("--backfill", SPAN, "--broker", "localhost:http"), "port"),
    (("--scenario", "no-such-park", "--backfill", SPAN, "--output", "-"), "no-such-park"),
])
def test_bad_input_exits_2_with_a_message(argv: tuple[str, ...], needle: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Unusable options end with exit code 2 and a message saying what to change."""
    args = _parse(*argv)
    assert args.handler(args) == 2
    assert needle in capsys.readouterr().err


def test_build_config_maps_modes_and_mqtt_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each mode flag maps to its Mode; MQTT flags and the password variable are honoured."""
    monkeypatch.setenv(cli.PASSWORD_ENV, "from-env")
    config = cli.build_config(_parse(
        "--virtual", "--start", "2026-03-02T00:00:00+07:00", "--duration", "3600",
        "--broker", "mqtt.local", "--tls", "--qos", "2", "--username", "u",
        "--mqtt-version", "5", "--max-inflight", "42", "--client-id", "gw1"))
    assert config.mode is Mode.VIRTUAL
    assert config.sim_duration_s == 3600
    assert config.publisher is not None
    connect = config.publisher.connect
    assert (connect.host, connect.port, connect.protocol) == ("mqtt.local", 8883, 5)
    assert (connect.password, connect.max_inflight, connect.client_id) == ("from-env", 42, "gw1")
    assert connect.tls is not None
    assert config.publisher.qos == 2
    speed = cli.build_config(_parse("--speed", "60", "--duration", "5", "--output", "x"))
    assert (speed.mode, speed.speed, speed.wall_duration_s) == (Mode.SPEED, 60, 5)
    secret = "p"  # noqa: S105 - a test value
    realtime = cli.build_config(_parse("--broker", "h:1884", "--password", secret))
    assert realtime.mode is Mode.REALTIME
    assert realtime.publisher is not None
    assert realtime.publisher.connect.port == 1884
    assert realtime.publisher.connect.password == secret
    assert realtime.publisher.connect.tls is None


def test_progress_line_rewrites_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """The progress line shows simulated time, messages, rate and lag, then ends cleanly."""
    import sys

    line = cli.ProgressLine(sys.stderr)
    line.end()
    line(Progress(sim_ms=1_772_384_400_000, messages=1234, published=0, wall_s=1.0,
                  rate=1234.0, lag_s=0.25))
    line.end()
    err = capsys.readouterr().err
    assert err.startswith("\r2026-03-01T17:00:00.000Z  1,234 msgs  1,234 msg/s  lag 0.2")
    assert err.endswith("\n")


def test_unreachable_broker_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """A broker that cannot be reached ends the command with exit code 1 and its address."""
    from tests.servers import free_port

    port = free_port()
    args = _parse("--backfill", SPAN, "--broker", f"127.0.0.1:{port}", "--progress")
    assert args.handler(args) == 1
    assert f"127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.integration
async def test_backfill_through_mosquitto(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """A QoS 1 backfill of minipark through a real broker delivers every message."""
    args = _parse("--scenario", "minipark", "--backfill",
                  "2026-03-02T00:00:00+07:00..2026-03-02T00:10:00+07:00",
                  "--broker", f"127.0.0.1:{mosquitto.port}", "--qos", "1",
                  "--output", str(tmp_path / "out.jsonl"))
    config: SimulationConfig = cli.build_config(args)
    handed: list[GatewayPublisher] = []
    stats = await run_simulation(config, asyncio.Event(), on_publisher=handed.append)
    assert stats.error is None
    assert stats.published == stats.generated == stats.written > 0
    assert stats.failed == 0
    assert len(handed) == 1  # the live counters a display reads
    assert handed[0].published == stats.published
