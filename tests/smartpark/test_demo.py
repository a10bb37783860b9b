"""The demo runs the whole chain and accounts for every message it published."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from collector.mapping import EVENT_MEASUREMENT
from collector.store import EmbeddedStore
from parkwire import ASSET_TYPES, Channel, Domain, Event, Message, Telemetry, Topic
from smartpark import demo_cli
from smartpark.demo import (
    DemoOptions,
    day_note,
    default_start,
    read_glance,
    reconcile,
    run_demo,
)
from smartpark.demo_cli import parse_broker

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _console() -> Console:
    return Console(record=True, width=140, color_system=None)


@pytest.mark.integration
@pytest.mark.parametrize("broker", ["mosquitto", "amqtt"])
async def test_demo_loses_nothing(tmp_path: Path, broker: str) -> None:
    """A short demo on each embedded broker stores every published reading exactly once."""
    options = DemoOptions(duration_s=4.0, speed=600.0, scenario="minipark",
                          embedded_broker=broker, db=tmp_path / "demo.duckdb",
                          start=datetime(2026, 3, 2, 7, 0, tzinfo=ZONE))
    summary = await run_demo(options, _console())
    assert summary.published > 0
    assert summary.lost == 0
    assert summary.duplicates == 0
    assert summary.invalid == 0
    assert summary.stored == summary.published
    assert summary.per_device_missing == {}
    counts: dict[str, tuple[int, int, int, int]] = {}
    with EmbeddedStore(options.db, read_only=True) as store:
        for table in {a.measurement for a in ASSET_TYPES.values() if a.quantities}:
            if table in store.tables():
                counts.update(store.count_by_device(table))
        glance = read_glance(store, set(store.tables()))
    assert len(counts) == summary.devices
    assert {"mtr-t001", "mtr-wwtp", "inv-t002-01", "wwtp-station"} <= set(counts)
    assert glance.cameras == 40  # minipark's cameras, all reporting
    assert glance.effluent_ok is not None
    assert glance.pv_kw is not None
    for count, low, high, distinct in counts.values():
        assert low == 0
        assert count == distinct == high + 1


@pytest.mark.integration
async def test_demo_stops_on_request(tmp_path: Path) -> None:
    """Setting the stop event ends an open-ended demo cleanly, still with nothing lost."""
    options = DemoOptions(duration_s=None, speed=600.0, scenario="minipark",
                          db=tmp_path / "demo.duckdb", live=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(3.0, stop.set)
    console = _console()
    summary = await run_demo(options, console, stop)
    assert summary.published > 0
    assert summary.lost == 0
    assert "operation centre" in console.export_text()


def test_reconcile_reports_missing_and_duplicates(tmp_path: Path) -> None:
    """Reconciliation finds a gap and a duplicate by sequence number, per device."""
    topic = Topic("p", "s", Domain.ENERGY, "meter", "m1", Channel.TELEMETRY)
    messages = [Telemetry(topic, 1_000 * i, seq, {"p_kw": 1.0}) for i, seq in
                enumerate([0, 1, 1, 3])]
    with EmbeddedStore(tmp_path / "r.duckdb") as store:
        store.insert(messages, [])
        summary = reconcile(store, {"m1": 3, "m2": 0}, published=5, invalid=0)
    assert summary.stored == 3
    assert summary.duplicates == 1
    assert summary.lost == 2
    assert summary.per_device_missing == {"m1": 1, "m2": 1}


def test_reconcile_counts_every_domain_and_events(tmp_path: Path) -> None:
    """Readings of every telemetry table and each device's distinct events count as stored."""
    meter = Topic("p", "s", Domain.ENERGY, "meter", "m1", Channel.TELEMETRY)
    station = Topic("p", "s", Domain.SOLAR, "weather_station", "met-01", Channel.TELEMETRY)
    gate = Topic("p", "s", Domain.SECURITY, "gate", "gate-01", Channel.EVENT)
    messages: list[Message] = [Telemetry(meter, 0, 0, {"p_kw": 1.0}),
                               Event(gate, 5, 0, "badge_denied"),
                               Event(gate, 9, 1, "door_forced")]
    if "weather_station" in ASSET_TYPES:
        messages.append(Telemetry(station, 0, 0, {"ghi_wm2": 10.0}))
    with EmbeddedStore(tmp_path / "r.duckdb") as store:
        store.insert(messages, [])
        summary = reconcile(store, {"m1": 0}, published=len(messages), invalid=0)
    assert EVENT_MEASUREMENT == "event"  # the name reconcile's query uses
    assert summary.stored == len(messages)
    assert summary.lost == 0


def test_parse_broker_forms_and_errors() -> None:
    """HOST, HOST:PORT parse; a bad port or missing host gets an actionable message."""
    assert parse_broker("example.org") == ("example.org", 1883)
    assert parse_broker("10.0.0.5:1884") == ("10.0.0.5", 1884)
    with pytest.raises(ValueError, match="not a number"):
        parse_broker("h:x")
    with pytest.raises(ValueError, match=r"outside 1\.\.65535"):
        parse_broker("h:70000")
    with pytest.raises(ValueError, match="expected HOST"):
        parse_broker(":1883")


def test_default_start_is_the_morning_shift() -> None:
    """Without --start the demo begins at 07:00 park time on the current day."""
    now = datetime(2026, 3, 2, 15, 42, 11, tzinfo=ZONE)
    assert default_start(ZONE, now) == datetime(2026, 3, 2, 7, 0, tzinfo=ZONE)


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    demo_cli.register(parser.add_subparsers())
    return parser.parse_args(["demo", *argv])


@pytest.mark.parametrize(("argv", "message"), [
    (("--duration", "0"), "positive number of seconds"),
    (("--speed", "-1"), "must be positive"),
    (("--start", "2026-03-02T07:00:00"), "needs a UTC offset"),
    (("--broker", "h:abc"), "not a number"),
])
def test_bad_options_fail_before_starting(argv: tuple[str, ...], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Each bad option exits with code 2 and says what to change, before anything starts."""
    args = _parse(*argv)
    assert args.handler(args) == 2
    assert message in capsys.readouterr().err.replace("\n", " ")


def test_day_note_names_vietnamese_holidays() -> None:
    """Vietnam Cultural Day (24 November) and Tet are named; an ordinary Tuesday is not."""
    assert "Vietnam Cultural Day" in day_note(datetime(2026, 11, 24, 7, tzinfo=ZONE))
    assert "Lunar New Year" in day_note(datetime(2026, 2, 17, 9, tzinfo=ZONE))
    assert day_note(datetime(2026, 11, 17, 7, tzinfo=ZONE)) == ""
