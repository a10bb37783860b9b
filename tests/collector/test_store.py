"""The embedded DuckDB store: columnar inserts and the query helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.store import DeadLetter, EmbeddedStore, StoreOpenError
from parkwire import Channel, DeviceState, Domain, Event, Quality, Status, Telemetry, Topic
from tests.collector.helpers import T0, meter_reading, meter_topic


def _fill(store: EmbeddedStore) -> None:
    topic = meter_topic("mtr-ss01", asset="mv_meter")
    rows = [Telemetry(topic, T0 + i * 60_000, i, meter_reading(i)) for i in range(60)]
    partial = Telemetry(meter_topic("mtr-002"), T0, 7, {"p_kw": 3}, Quality.STALE)
    status = Status(meter_topic("mtr-002").with_channel(Channel.STATUS), T0, DeviceState.ONLINE)
    event_topic = Topic("refpark", "s", Domain.ENERGY, "meter", "mtr-002", Channel.EVENT)
    event = Event(event_topic, T0, 3, "breaker_trip", {"phase": "a", "amps": 1.5})
    dead = DeadLetter(T0, "a/b", "invalid_json", "payload is not JSON", "{x", "utf-8")
    store.insert([*rows, partial, status, event], [dead])


def test_insert_and_count_by_device(tmp_path: Path) -> None:
    """Counts and seq ranges per device come back; missing readings are NULL; ints cast."""
    with EmbeddedStore(tmp_path / "sub" / "p.duckdb") as store:
        _fill(store)
        assert store.count_by_device() == {"mtr-002": (1, 7, 7, 1), "mtr-ss01": (60, 0, 59, 60)}
        row = store.query("SELECT p_kw, q_kvar, quality FROM energy_meter WHERE seq = 7 "
                          "AND device_id = 'mtr-002'")
        assert row == [(3.0, None, "stale")]
        assert store.query("SELECT state FROM device_status") == [("online",)]
        assert store.query("SELECT event, data FROM event") == [
            ("breaker_trip", '{"phase":"a","amps":1.5}')]
        assert store.query("SELECT reason FROM dead_letter") == [("invalid_json",)]
        assert {"energy_meter", "event", "device_status", "dead_letter"} <= set(store.tables())
        store.insert([])


def test_latest_bucket_mean_and_time_range(tmp_path: Path) -> None:
    """latest, bucket_mean and time_range answer from the stored rows."""
    with EmbeddedStore(tmp_path / "p.duckdb") as store:
        _fill(store)
        latest = store.latest(device_id="mtr-ss01")
        assert latest["mtr-ss01"]["seq"] == 59
        assert set(store.latest()) == {"mtr-002", "mtr-ss01"}
        assert store.latest("device_status")["mtr-002"]["state"] == "online"
        start = datetime.fromtimestamp(T0 / 1000, UTC)
        end = datetime.fromtimestamp((T0 + 3_600_000) / 1000, UTC)
        means = store.bucket_mean("mtr-ss01", "p_kw", start=start, end=end, bucket="5 minutes")
        assert len(means) == 12
        expected = sum(500.0 + (i % 97) * 1.25 for i in range(5)) / 5
        assert means[0][0] == start.replace(tzinfo=None)
        assert means[0][1] == pytest.approx(expected)
        assert store.time_range(device_id="mtr-ss01") is not None
        assert store.time_range(device_id="nobody") is None
        with pytest.raises(ValueError, match="no quantity"):
            store.bucket_mean("mtr-ss01", "volts", start=start, end=end, bucket="5 minutes")
        with pytest.raises(ValueError, match="no table"):
            store.count_by_device("nope")
        assert store.query_with_columns("SELECT 1 AS one") == (["one"], [(1,)])


def test_read_only_store_sees_committed_rows(tmp_path: Path) -> None:
    """A read-only open after close sees what was committed."""
    with EmbeddedStore(tmp_path / "p.duckdb") as store:
        _fill(store)
    with EmbeddedStore(tmp_path / "p.duckdb", read_only=True) as store:
        assert store.count_by_device()["mtr-ss01"][0] == 60


def test_the_same_batch_written_twice_gives_one_row_per_point(tmp_path: Path) -> None:
    """Idempotent writes: a redelivered batch (telemetry, status, event) adds no rows."""
    with EmbeddedStore(tmp_path / "p.duckdb") as store:
        _fill(store)
        _fill(store)
        assert store.count_by_device() == {"mtr-002": (1, 7, 7, 1), "mtr-ss01": (60, 0, 59, 60)}
        assert store.query("SELECT count(*) FROM device_status") == [(1,)]
        assert store.query("SELECT count(*) FROM event") == [(1,)]
        assert store.query("SELECT count(*) FROM dead_letter") == [(2,)]  # a log, not a key
        topic = meter_topic("mtr-003")
        twice = Telemetry(topic, T0, 1, meter_reading(1))
        store.insert([twice, twice])  # a duplicate inside one batch too
        assert store.count_by_device()["mtr-003"] == (1, 1, 1, 1)


def test_a_store_created_without_keys_still_accepts_writes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An older file whose tables have no primary key is written to, with a warning."""
    import duckdb

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE device_status (ts TIMESTAMP NOT NULL, park VARCHAR NOT NULL, "
                "site VARCHAR NOT NULL, asset_type VARCHAR NOT NULL, "
                "device_id VARCHAR NOT NULL, state VARCHAR NOT NULL)")
    con.close()
    with caplog.at_level("WARNING"), EmbeddedStore(path) as store:
        _fill(store)
        assert store.query("SELECT count(*) FROM device_status") == [(1,)]
    assert any("no primary key" in r.message for r in caplog.records)


def test_stats_rows_go_to_the_collector_table(tmp_path: Path) -> None:
    """insert_stats appends one row with the given columns."""
    with EmbeddedStore(tmp_path / "p.duckdb") as store:
        store.insert_stats(T0, "c1", {"received": 5, "lag_s": 1.5, "connected": True})
        assert store.query("SELECT client_id, received, lag_s, connected, written "
                           "FROM collector") == [("c1", 5, 1.5, True, None)]


def test_a_file_held_by_another_process_gives_an_actionable_error(held_store: Path) -> None:
    """A locked file raises StoreOpenError naming the file, the holder and what to do."""
    for read_only in (False, True):
        with pytest.raises(StoreOpenError) as caught:
            EmbeddedStore(held_store, read_only=read_only)
        text = str(caught.value)
        assert str(held_store) in text
        assert "open in another process" in text
        assert "PID" in text
        assert "--db" in text


def test_a_file_that_is_not_duckdb_gives_an_actionable_error(tmp_path: Path) -> None:
    """Opening some other file raises StoreOpenError instead of DuckDB's own exception."""
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n" * 1000)
    with pytest.raises(StoreOpenError, match=r"notes\.duckdb"):
        EmbeddedStore(path)
