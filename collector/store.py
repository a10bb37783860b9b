"""The embedded store: one DuckDB file, one wide table per measurement, plus a query API.

DuckDB is columnar with vectorised execution, so a time-bucketed mean over millions of rows
is a single fast scan; it is one file with no server, like SQLite, but SQLite stores rows and
aggregates them one at a time (see ``docs/collector.md`` for the comparison and the figures).

Tables (``ts`` is ``TIMESTAMP`` holding UTC, millisecond precision):

* one per telemetry measurement of the registry (``energy_meter``): ``ts, park, site,
  asset_type, device_id, seq, quality`` and one column per quantity;
* ``device_status``: ``ts, park, site, asset_type, device_id, state``;
* ``event``: ``ts, park, site, asset_type, device_id, seq, event, data`` (data as JSON text);
* ``dead_letter``: ``received_at, topic, reason, detail, payload, payload_encoding``;
* ``collector``: the collector's own counters, one row per stats interval (``ts, client_id``
  and one column per counter, see :data:`collector.stats.STATS_COUNTERS`).

Writes are idempotent: telemetry and status tables have the primary key ``(device_id, ts)``,
events ``(device_id, ts, seq)``, and rows go in with ``INSERT OR IGNORE``. A message the
broker redelivers (after a reconnect, a crash, or a drained outage buffer) therefore never
becomes a second row: the first copy stays, as a second write of the same point does in
InfluxDB. Device ids are unique within a park, so keep one park per store file.

Batches are inserted column-wise (numpy object arrays scanned by DuckDB, about ten times
faster than binding lists) inside one transaction; DuckDB writes and syncs its write-ahead
log on commit, so :meth:`EmbeddedStore.insert` returning means the rows are durable.
"""

# Table and column names in SQL text come from the registry or the table list and are quoted;
# values are always bound parameters.
# ruff: noqa: S608

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson

from collector.mapping import EVENT_MEASUREMENT, STATUS_MEASUREMENT
from collector.stats import STATS_COUNTERS, STATS_FLOATS, STATS_MEASUREMENT
from parkwire import ASSET_TYPES, Event, Message, Status, Telemetry, ValueType

_SQL_TYPE = {ValueType.FLOAT: "DOUBLE", ValueType.INT: "BIGINT", ValueType.BOOL: "BOOLEAN"}
_TAGS = ("park", "site", "asset_type", "device_id")
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that could not be stored, with why.

    Attributes:
        received_at_ms: when the collector received it, epoch milliseconds UTC.
        topic: the MQTT topic.
        reason: a short stable code (a parkwire ``DecodeReason`` or ``unencodable``).
        detail: a sentence a person can act on.
        payload: the payload as text (UTF-8) or base64.
        payload_encoding: ``utf-8`` or ``base64``.
    """

    received_at_ms: int
    topic: str
    reason: str
    detail: str
    payload: str
    payload_encoding: str


def telemetry_columns() -> dict[str, dict[str, ValueType]]:
    """Return, per telemetry measurement, its quantity columns and their types."""
    tables: dict[str, dict[str, ValueType]] = {}
    for asset in ASSET_TYPES.values():
        if not asset.quantities:
            continue
        columns = tables.setdefault(asset.measurement, {})
        for quantity in asset.quantities.values():
            columns.setdefault(quantity.name, quantity.value_type)
    return tables


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class StoreOpenError(RuntimeError):
    """The DuckDB file cannot be opened: held by another process, unreadable, not DuckDB."""


def _connect(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open *path*, turning DuckDB's errors into a :class:`StoreOpenError` that says what to do."""
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            # DuckDB lets one process write a file; its message names the holder's PID.
            held = text.split("Conflicting lock is held in", 1)[-1].split(". See", 1)[0]
            msg = (f"the store {path} is open in another process ({held.strip()}): stop it "
                   "(another `smartpark collect` or `smartpark demo` on the same file?), "
                   "or choose another file with --db")
        else:
            msg = f"cannot open the store {path}: {text}"
        raise StoreOpenError(msg) from None
    except duckdb.Error as exc:
        msg = f"cannot open the store {path} (is it a DuckDB file?): {exc}"
        raise StoreOpenError(msg) from None


class EmbeddedStore:
    """A DuckDB file holding everything the collector stored; safe to share between threads.

    Args:
        path: the database file (created with its parent directory when missing).
        read_only: open without write access (for queries next to a running collector).

    Raises:
        StoreOpenError: the file is held by another process, or is not a DuckDB database.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = _connect(self.path, read_only=read_only)
        self._lock = threading.Lock()
        self._columns = telemetry_columns()
        #: Per data table, the insert verb: ``INSERT OR IGNORE INTO`` where a key exists.
        self._insert: dict[str, str] = {}
        if not read_only:
            self._create_tables()

    def _create_tables(self) -> None:
        tags = ", ".join(f"{t} VARCHAR NOT NULL" for t in _TAGS)
        statements = [
            f"CREATE TABLE IF NOT EXISTS {_quote(measurement)} (ts TIMESTAMP NOT NULL, {tags}, "
            "seq BIGINT NOT NULL, quality VARCHAR NOT NULL, "
            + ", ".join(f"{_quote(n)} {_SQL_TYPE[t]}" for n, t in columns.items())
            + ", PRIMARY KEY (device_id, ts))"
            for measurement, columns in self._columns.items()
        ]
        counters = ", ".join(f"{_quote(name)} BIGINT" for name, _ in STATS_COUNTERS)
        floats = ", ".join(f"{_quote(name)} DOUBLE" for name in STATS_FLOATS)
        statements += [
            f"CREATE TABLE IF NOT EXISTS {STATUS_MEASUREMENT} (ts TIMESTAMP NOT NULL, {tags}, "
            "state VARCHAR NOT NULL, PRIMARY KEY (device_id, ts))",
            f"CREATE TABLE IF NOT EXISTS {EVENT_MEASUREMENT} (ts TIMESTAMP NOT NULL, {tags}, "
            "seq BIGINT NOT NULL, event VARCHAR NOT NULL, data VARCHAR NOT NULL, "
            "PRIMARY KEY (device_id, ts, seq))",
            "CREATE TABLE IF NOT EXISTS dead_letter (received_at TIMESTAMP NOT NULL, "
            "topic VARCHAR NOT NULL, reason VARCHAR NOT NULL, detail VARCHAR NOT NULL, "
            "payload VARCHAR NOT NULL, payload_encoding VARCHAR NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {STATS_MEASUREMENT} (ts TIMESTAMP NOT NULL, "
            f"client_id VARCHAR NOT NULL, {counters}, {floats}, connected BOOLEAN, "
            "sink_reachable BOOLEAN)",
        ]
        with self._lock:
            for statement in statements:
                self._con.execute(statement)
            keyed = {r[0] for r in self._con.execute(
                "SELECT table_name FROM duckdb_constraints() "
                "WHERE constraint_type = 'PRIMARY KEY'").fetchall()}
        self._insert = {}
        for table in [*self._columns, STATUS_MEASUREMENT, EVENT_MEASUREMENT]:
            if table in keyed:
                self._insert[table] = "INSERT OR IGNORE INTO"
            else:
                self._insert[table] = "INSERT INTO"
                _log.warning("table %s in %s has no primary key (it was created by an older "
                             "smartpark); a redelivered message can be stored twice there. "
                             "Collect into a new file to get idempotent writes.",
                             table, self.path)

    # -- writing -----------------------------------------------------------------------------

    def insert(self, messages: Sequence[Message],
               dead_letters: Sequence[DeadLetter] = ()) -> None:
        """Insert decoded messages and dead letters in one transaction; durable on return."""
        frames = self._frames(messages)
        if dead_letters:
            frames.append(("INSERT INTO dead_letter SELECT epoch_ms(received_at), topic, reason, "
                           "detail, payload, payload_encoding FROM {frame}",
                           self._dead_letter_frame(dead_letters)))
        if not frames:
            return
        with self._lock:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                for index, (sql, frame) in enumerate(frames):
                    name = f"_smartpark_batch_{index}"
                    con.register(name, frame)
                    try:
                        con.execute(sql.replace("{frame}", name))
                    finally:
                        con.unregister(name)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def _frames(self, messages: Sequence[Message]) -> list[tuple[str, dict[str, Any]]]:
        telemetry: dict[str, list[Telemetry]] = {}
        statuses: list[Status] = []
        events: list[Event] = []
        for message in messages:
            kind = type(message)
            if kind is Telemetry:
                measurement = ASSET_TYPES[message.topic.asset_type].measurement
                telemetry.setdefault(measurement, []).append(message)  # type: ignore[arg-type]
            elif kind is Status:
                statuses.append(message)  # type: ignore[arg-type]
            else:
                events.append(message)  # type: ignore[arg-type]
        frames = [self._telemetry_frame(m, rows) for m, rows in telemetry.items()]
        if statuses:
            frame = _tag_frame(statuses)
            frame["state"] = _objects(s.state.value for s in statuses)
            frames.append((f"{self._insert[STATUS_MEASUREMENT]} {STATUS_MEASUREMENT} "
                           "SELECT epoch_ms(ts), park, site, "
                           "asset_type, device_id, state FROM {frame}", frame))
        if events:
            frame = _tag_frame(events)
            frame["seq"] = np.fromiter((e.seq for e in events), np.int64, len(events))
            frame["event"] = _objects(e.event for e in events)
            frame["data"] = _objects(orjson.dumps(dict(e.data)).decode() for e in events)
            frames.append((f"{self._insert[EVENT_MEASUREMENT]} {EVENT_MEASUREMENT} "
                           "SELECT epoch_ms(ts), park, site, "
                           "asset_type, device_id, seq, event, data FROM {frame}", frame))
        return frames

    def _telemetry_frame(self, measurement: str,
                         rows: list[Telemetry]) -> tuple[str, dict[str, Any]]:
        columns = self._columns[measurement]
        frame = _tag_frame(rows)
        count = len(rows)
        frame["seq"] = np.fromiter((r.seq for r in rows), np.int64, count)
        frame["quality"] = _objects(r.quality.value for r in rows)
        # Gather row-wise with C-level map/zip, then transpose; a missing reading becomes NULL
        # (None in an object array). DuckDB casts to the column types on insert.
        names_list = list(columns)
        if rows:
            cells = [tuple(map(r.readings.get, names_list)) for r in rows]
            for name, column in zip(names_list, zip(*cells, strict=True), strict=True):
                frame[name] = np.array(column, dtype=object)
        else:
            for name in names_list:
                frame[name] = np.array([], dtype=object)
        names = ", ".join(_quote(n) for n in columns)
        sql = (f"{self._insert[measurement]} {_quote(measurement)} "
               "SELECT epoch_ms(ts), park, site, asset_type, "
               f"device_id, seq, quality, {names} FROM {{frame}}")
        return sql, frame

    @staticmethod
    def _dead_letter_frame(dead: Sequence[DeadLetter]) -> dict[str, Any]:
        return {
            "received_at": np.fromiter((d.received_at_ms for d in dead), np.int64, len(dead)),
            "topic": _objects(d.topic for d in dead),
            "reason": _objects(d.reason for d in dead),
            "detail": _objects(d.detail for d in dead),
            "payload": _objects(d.payload for d in dead),
            "payload_encoding": _objects(d.payload_encoding for d in dead),
        }

    def insert_stats(self, ts_ms: int, client_id: str,
                     fields: Mapping[str, int | float | bool]) -> None:
        """Append one row of the collector's counters to the ``collector`` table."""
        names = ["ts", "client_id", *fields]
        values: list[object] = [datetime.fromtimestamp(ts_ms / 1000, UTC).replace(tzinfo=None),
                                client_id, *fields.values()]
        sql = (f"INSERT INTO {STATS_MEASUREMENT} ({', '.join(_quote(n) for n in names)}) "
               f"VALUES ({', '.join('?' for _ in names)})")
        with self._lock:
            self._con.execute(sql, values)

    # -- reading -----------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[object] | None = None) -> list[tuple[Any, ...]]:
        """Run *sql* (with ``?`` *params*) and return all rows."""
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    def query_with_columns(self, sql: str, params: Sequence[object] | None = None,
                           ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run *sql* and return its column names and rows."""
        with self._lock:
            cursor = self._con.execute(sql, params)
            names = [d[0] for d in cursor.description] if cursor.description else []
            return names, cursor.fetchall()

    def tables(self) -> list[str]:
        """Return the names of the tables in the store."""
        return [r[0] for r in self.query("SELECT table_name FROM information_schema.tables "
                                         "ORDER BY table_name")]

    def count_by_device(self, measurement: str = "energy_meter",
                        ) -> dict[str, tuple[int, int, int, int]]:
        """Return ``{device_id: (count, min_seq, max_seq, distinct_seq)}`` for *measurement*.

        A device with nothing lost and nothing duplicated has
        ``count == distinct_seq == max_seq - min_seq + 1``.
        """
        self._check_table(measurement)
        rows = self.query(
            f"SELECT device_id, count(*), min(seq), max(seq), count(DISTINCT seq) "
            f"FROM {_quote(measurement)} GROUP BY device_id ORDER BY device_id")
        return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}

    def latest(self, measurement: str = "energy_meter",
               device_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Return the newest row per device (or of *device_id*): ``{device: {column: value}}``."""
        self._check_table(measurement)
        where = "WHERE device_id = ?" if device_id is not None else ""
        params = [device_id] if device_id is not None else None
        sql = (f"SELECT * FROM {_quote(measurement)} {where} "
               "QUALIFY row_number() OVER (PARTITION BY device_id ORDER BY ts DESC, "
               + ("seq DESC" if measurement != STATUS_MEASUREMENT else "state") + ") = 1 "
               "ORDER BY device_id")
        with self._lock:
            cursor = self._con.execute(sql, params)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        return {row[names.index("device_id")]: dict(zip(names, row, strict=True))
                for row in rows}

    def bucket_mean(self, device_id: str, field: str, *, start: datetime, end: datetime,
                    bucket: str, measurement: str = "energy_meter",
                    ) -> list[tuple[datetime, float]]:
        """Return ``(bucket_start, mean)`` of *field* for one device over ``[start, end)``.

        Args:
            device_id: the device.
            field: a quantity column, e.g. ``p_kw``.
            start: first instant (naive datetimes are UTC).
            end: end instant, exclusive.
            bucket: a DuckDB interval such as ``5 minutes`` or ``1 hour``.
            measurement: the table.
        """
        self._check_table(measurement)
        if field not in self._columns.get(measurement, {}):
            known = ", ".join(self._columns.get(measurement, {}))
            msg = f"{measurement} has no quantity {field!r}; known: {known}"
            raise ValueError(msg)
        rows = self.query(
            f"SELECT time_bucket(CAST(? AS INTERVAL), ts) AS b, avg({_quote(field)}) "
            f"FROM {_quote(measurement)} WHERE device_id = ? AND ts >= ? AND ts < ? "
            "GROUP BY b ORDER BY b",
            [bucket, device_id, _naive_utc(start), _naive_utc(end)])
        return [(r[0], float(r[1])) for r in rows if r[1] is not None]

    def time_range(self, measurement: str = "energy_meter",
                   device_id: str | None = None) -> tuple[datetime, datetime] | None:
        """Return the first and last ``ts`` stored (for one device), or ``None`` when empty."""
        self._check_table(measurement)
        where = "WHERE device_id = ?" if device_id is not None else ""
        rows = self.query(f"SELECT min(ts), max(ts) FROM {_quote(measurement)} {where}",
                          [device_id] if device_id is not None else None)
        first, last = rows[0]
        return None if first is None else (first, last)

    def _check_table(self, measurement: str) -> None:
        known = self.tables()
        if measurement not in known:
            msg = f"the store has no table {measurement!r}; tables: {', '.join(known)}"
            raise ValueError(msg)

    def close(self) -> None:
        """Close the database (checkpointing the write-ahead log into the file)."""
        with self._lock:
            self._con.close()

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _objects(values: Iterable[object]) -> Any:
    return np.array(list(values), dtype=object)


def _tag_frame(messages: Sequence[Telemetry | Status | Event]) -> dict[str, Any]:
    count = len(messages)
    topics = [m.topic for m in messages]
    return {
        "ts": np.fromiter((m.ts_ms for m in messages), np.int64, count),
        "park": _objects(t.park for t in topics),
        "site": _objects(t.site for t in topics),
        "asset_type": _objects(t.asset_type for t in topics),
        "device_id": _objects(t.device_id for t in topics),
    }


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


__all__ = ["DeadLetter", "EmbeddedStore", "telemetry_columns"]
