"""`smartpark collect` and `smartpark query` through their own argparse registration."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector.cli import parse_duration, register, summary
from collector.stats import CollectorStats
from collector.store import EmbeddedStore
from tests.collector.helpers import messages
from tests.collector.test_store import _fill
from tests.servers import Mosquitto


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="smartpark")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store with a substation meter's hour of data."""
    path = tmp_path / "p.duckdb"
    with EmbeddedStore(path) as store:
        _fill(store)
    return path


def test_query_devices_power_latest_sql(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each query form prints a table a person can read."""
    assert _run(["query", "--db", str(db), "devices"]) == 0
    out = capsys.readouterr().out
    assert "mtr-ss01" in out
    assert "gaps" in out
    assert _run(["query", "--db", str(db), "power", "--device", "mtr-ss01", "--last", "1h",
                 "--every", "5m"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 13
    assert _run(["query", "--db", str(db), "latest", "--device", "mtr-ss01"]) == 0
    assert "seq" in capsys.readouterr().out
    assert _run(["query", "--db", str(db), "sql", "SELECT count(*) AS n FROM energy_meter"]) == 0
    assert "61" in capsys.readouterr().out


def test_query_errors(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Missing files, unknown devices and bad SQL exit non-zero with a message."""
    assert _run(["query", "--db", str(tmp_path / "none.duckdb"), "devices"]) == 2
    assert "no database" in capsys.readouterr().err
    assert _run(["query", "--db", str(db), "power", "--device", "ghost"]) == 1
    assert "no readings" in capsys.readouterr().err
    assert _run(["query", "--db", str(db), "sql", "SELECT * FROM nowhere"]) == 1
    assert "nowhere" in capsys.readouterr().err


def test_collect_reports_configuration_errors(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A bad setting stops `collect` with exit code 2 and the reason."""
    assert _run(["collect", "--batch-size", "0", "--dead-letter", str(tmp_path / "d")]) == 2
    assert "batch.size" in capsys.readouterr().err


def test_collect_reports_an_unreachable_broker(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Without a broker `collect` exits 1 naming the address."""
    code = _run(["collect", "--mqtt-port", "1", "--db", str(tmp_path / "p.duckdb"),
                 "--dead-letter", str(tmp_path / "d"), "--buffer-dir", str(tmp_path / "b")])
    assert code == 1
    assert "127.0.0.1:1" in capsys.readouterr().err


def test_collect_and_query_report_a_store_held_by_another_process(
        tmp_path: Path, held_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A DuckDB file in use stops `collect` (exit 1) and `query` with one line, no traceback."""
    code = _run(["collect", "--db", str(held_store), "--dead-letter", str(tmp_path / "d"),
                 "--buffer-dir", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 1
    assert "open in another process" in err
    assert "Traceback" not in err
    assert _run(["query", "--db", str(held_store), "devices"]) == 1
    assert "open in another process" in capsys.readouterr().err


def test_durations_and_summary() -> None:
    """Durations parse with units; the summary lists invalid reasons."""
    assert parse_duration("5m").total_seconds() == 300
    assert parse_duration("1.5h").total_seconds() == 5400
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration("soon")
    text = summary(CollectorStats(received=3, invalid=1,
                                  invalid_by_reason={"bad_type": 1}))  # type: ignore[arg-type]
    assert "invalid bad_type: 1" in text


def test_collect_help_explains_the_buffer_and_shutdown_flags(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`smartpark collect --help` names the buffer, overflow policy and drain flags."""
    with pytest.raises(SystemExit):
        _run(["collect", "--help"])
    out = capsys.readouterr().out
    for flag in ("--buffer-dir", "--buffer-max-bytes", "--buffer-overflow", "drop_oldest",
                 "--drain-timeout", "--stats-interval", "--leave"):
        assert flag in out


def test_collect_rejects_a_bad_buffer_size(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A size that does not parse is a configuration error naming the setting."""
    assert _run(["collect", "--buffer-max-bytes", "lots", "--dead-letter",
                 str(tmp_path / "d")]) == 2
    assert "--buffer-max-bytes is 'lots'; expected a size" in capsys.readouterr().err


def test_summary_mentions_the_outage_buffer() -> None:
    """After an outage the summary says what was buffered, drained, dropped and left."""
    text = summary(CollectorStats(buffered=10, drained=4, buffer_messages=6))
    assert "buffered 10, drained 4, dropped 0, still on disk 6" in text


@pytest.mark.integration
def test_collect_leave_stores_a_sessions_queue_then_ends_the_session(
        tmp_path: Path, mosquitto: Mosquitto, capsys: pytest.CaptureFixture[str]) -> None:
    """`collect --leave` stores what the broker queued for the client id and deletes it."""
    member = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="member",
                         protocol=mqtt.MQTTv5)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 3600
    member.connect("127.0.0.1", mosquitto.port, clean_start=False, properties=properties)
    subscribed = threading.Event()
    member.on_subscribe = lambda *_: subscribed.set()
    member.loop_start()
    member.subscribe("+/+/+/+/+/+", qos=1)
    assert subscribed.wait(5), "no SUBACK"
    member.disconnect()
    member.loop_stop()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    for topic, payload in messages(5, 10):
        publisher.publish(topic, payload, qos=1).wait_for_publish(5)
    publisher.disconnect()
    publisher.loop_stop()
    argv = ["collect", "--leave", "--client-id", "member", "--mqtt-port", str(mosquitto.port),
            "--db", str(tmp_path / "p.duckdb"), "--dead-letter", str(tmp_path / "d.jsonl"),
            "--buffer-dir", str(tmp_path / "b"), "--stats-interval", "0"]
    assert _run(argv) == 0
    err = capsys.readouterr().err
    assert "session ended" in err
    assert "received 50, written 50" in err
    with EmbeddedStore(tmp_path / "p.duckdb") as store:
        assert sum(row[0] for row in store.count_by_device().values()) == 50
    # Run again: the session is gone, so there is nothing queued and nothing subscribed.
    assert _run(argv) == 0
    assert "received 0, written 0" in capsys.readouterr().err
