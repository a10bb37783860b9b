"""Sink error classes: what each one makes the collector do, and how sinks choose them."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import orjson
import pytest

from collector import Collector, CollectorConfig
from collector.service import SINK_REJECTED
from collector.sinks import (
    EmbeddedSink,
    FatalSinkError,
    FaultySink,
    InfluxSink,
    RejectedBatchError,
    RetryableSinkError,
    SinkError,
)
from collector.sinks.influx import classify_http_error, parse_retry_after
from parkwire import decode
from tests.collector.fakes import FakeSource
from tests.collector.helpers import fast_config, telemetry, wait_until
from tests.collector.test_cli import _run as _run_cli


def _config(tmp_path: Path, **kw: object) -> CollectorConfig:
    overrides: dict[str, object] = {"batch_size": 5, "max_pending": 20,
                                    "retry_initial_s": 1.0, "retry_max_s": 4.0}
    overrides.update(kw)
    return fast_config(tmp_path, **overrides)


class _Sleeps:
    """Records the waits the collector asks for instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


async def _start(collector: Collector, source: FakeSource) -> tuple[asyncio.Task[None],
                                                                    asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    return task, stop


# -- the collector's behaviour per class ---------------------------------------------------


def test_retry_wait_is_full_jitter_below_the_delay_and_honours_retry_after(
        tmp_path: Path) -> None:
    """Waits fall in [0, delay]; a Retry-After raises the wait to at least that value."""
    collector = Collector(_config(tmp_path), sink=FaultySink(), source=FakeSource(),
                          rng=random.Random(7))
    plain = [collector.retry_wait(2.0, RetryableSinkError("x")) for _ in range(200)]
    assert all(0.0 <= w <= 2.0 for w in plain)
    assert len(set(plain)) > 100  # jittered, not a constant
    hinted = [collector.retry_wait(2.0, RetryableSinkError("x", retry_after_s=5.0))
              for _ in range(50)]
    assert all(w >= 5.0 for w in hinted)
    assert all(0.0 <= collector.retry_wait(1.0, SinkError("x")) <= 1.0 for _ in range(50))


async def test_retryable_errors_back_off_capped_and_ack_only_once_stored(
        tmp_path: Path) -> None:
    """Retries wait under a doubling, capped delay; nothing is acked until the write works."""
    source, sleeps = FakeSource(), _Sleeps()
    sink = FaultySink(1_000_000, error=lambda: RetryableSinkError("HTTP 503"))
    collector = Collector(_config(tmp_path), sink=sink, source=source,
                          rng=random.Random(1), sleep=sleeps)
    task, stop = await _start(collector, source)
    mids = [source.feed(*telemetry("mtr-001", seq)) for seq in range(5)]
    await wait_until(lambda: sink.attempts >= 6)
    assert source.acks == []
    assert sink.messages == []
    sink.failures = 0
    await wait_until(lambda: source.acks == mids)
    stop.set()
    await task
    caps = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(0.0 <= w <= cap for w, cap in zip(sleeps.waits, caps, strict=False))
    assert all(w <= 4.0 for w in sleeps.waits)
    stats = collector.stats()
    assert stats.retries == len(sleeps.waits) >= 6
    assert (stats.written, stats.acked, stats.rejected) == (5, 5, 0)


async def test_retry_after_is_waited_at_least(tmp_path: Path) -> None:
    """A Retry-After longer than the back-off delay sets the wait."""
    source, sleeps = FakeSource(), _Sleeps()
    sink = FaultySink(2, error=lambda: RetryableSinkError("429", retry_after_s=9.0))
    collector = Collector(_config(tmp_path), sink=sink, source=source, sleep=sleeps)
    task, stop = await _start(collector, source)
    for seq in range(5):
        source.feed(*telemetry("mtr-001", seq))
    await wait_until(lambda: len(source.acks) == 5)
    stop.set()
    await task
    assert sleeps.waits == [9.0, 9.0]


async def test_rejected_batch_goes_to_the_dead_letter_log_then_is_acked(
        tmp_path: Path) -> None:
    """A refused batch is written to the dead-letter log with the server's reason, then acked."""
    source = FakeSource()
    sink = FaultySink(1, error=lambda: RejectedBatchError("HTTP 400: unable to parse 'x'"))
    collector = Collector(_config(tmp_path), sink=sink, source=source, sleep=_Sleeps())
    task, stop = await _start(collector, source)
    items = [telemetry("mtr-001", seq) for seq in range(10)]
    mids = [source.feed(*item) for item in items]
    await wait_until(lambda: source.acks == mids)
    stop.set()
    await task
    lines = [orjson.loads(x) for x in (tmp_path / "dl.jsonl").read_bytes().splitlines()]
    assert [x["reason"] for x in lines] == [SINK_REJECTED] * 5
    assert all("unable to parse" in x["detail"] for x in lines)
    # The dead letter keeps the message itself: decoding it gives back what was refused.
    assert [decode(x["topic"], x["payload"].encode()) for x in lines] == [
        decode(t, p) for t, p in items[:5]]
    assert [m.seq for m in sink.messages] == list(range(5, 10))  # type: ignore[union-attr]
    stats = collector.stats()
    assert (stats.rejected, stats.dead_lettered, stats.written, stats.acked) == (5, 5, 5, 10)
    assert stats.retries == 0


async def test_rejected_batch_is_retried_when_the_dead_letter_log_cannot_be_written(
        tmp_path: Path) -> None:
    """If the refused batch cannot be made durable in the log, it is not acked."""
    source = FakeSource()
    blocker = tmp_path / "file"
    blocker.write_text("")
    sink = FaultySink(1_000_000, error=lambda: RejectedBatchError("HTTP 413"))
    collector = Collector(_config(tmp_path, dead_letter_path=tmp_path / "dl.jsonl"),
                          sink=sink, source=source, sleep=_Sleeps(), drain_timeout_s=0.1)
    collector._dead_log.path = blocker / "dl.jsonl"  # a path below a file: OSError
    task, stop = await _start(collector, source)
    for seq in range(5):
        source.feed(*telemetry("mtr-001", seq))
    await wait_until(lambda: sink.attempts >= 3)
    stop.set()
    await task
    assert source.acks == []
    assert collector.stats().retries >= 2


async def test_fatal_error_stops_the_collector_without_acking(tmp_path: Path) -> None:
    """A fatal error ends run() with the error and leaves the batch unacknowledged."""
    source = FakeSource()
    sink = FaultySink(1, error=lambda: FatalSinkError("HTTP 401; check INFLUX_TOKEN"))
    collector = Collector(_config(tmp_path), sink=sink, source=source, sleep=_Sleeps())
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    for seq in range(5):
        source.feed(*telemetry("mtr-001", seq))
    with pytest.raises(FatalSinkError, match="INFLUX_TOKEN"):
        await task
    assert source.acks == []
    assert source.closed
    assert sink.attempts == 1
    assert collector.stats().acked == 0


# -- the Influx sink against a local HTTP server -------------------------------------------


class _Answer(BaseHTTPRequestHandler):
    """Answers every write with the status the test put on the server."""

    def do_POST(self) -> None:
        """Read the body, then answer with the scripted status, headers and body."""
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, headers, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet."""


@pytest.fixture
def http_server() -> Iterator[HTTPServer]:
    """A tiny HTTP server on a free loopback port, answering what `server.answer` says."""
    server = HTTPServer(("127.0.0.1", 0), _Answer)
    server.answer = (204, {}, b"")  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _influx(server: HTTPServer) -> InfluxSink:
    return InfluxSink(f"http://127.0.0.1:{server.server_port}", "org", "bucket", "secret-tok",
                      timeout_s=5.0)


def _batch() -> list[object]:
    return [decode(*telemetry("mtr-001", seq)) for seq in range(3)]


@pytest.mark.parametrize(("status", "headers", "body", "kind", "text"), [
    (503, {"Retry-After": "7"}, b"", RetryableSinkError, "503"),
    (429, {"Retry-After": "2"}, b"", RetryableSinkError, "429"),
    (400, {}, json.dumps({"code": "invalid", "message": "unable to parse line"}).encode(),
     RejectedBatchError, "unable to parse line"),
    (413, {}, b"too large", RejectedBatchError, "too large"),
    (401, {}, b"{\"code\":\"unauthorized\"}", FatalSinkError, "INFLUX_TOKEN"),
    (404, {}, json.dumps({"message": "bucket not found"}).encode(), FatalSinkError,
     "INFLUX_BUCKET"),
    (405, {}, b"", FatalSinkError, "INFLUX_URL"),
])
def test_influx_sink_maps_http_answers_to_error_classes(  # noqa: PLR0917
        http_server: HTTPServer, status: int, headers: dict[str, str], body: bytes,
        kind: type[SinkError], text: str) -> None:
    """Each HTTP answer of the write endpoint becomes the error class it deserves."""
    http_server.answer = (status, headers, body)  # type: ignore[attr-defined]
    sink = _influx(http_server)
    try:
        with pytest.raises(kind, match=text) as info:
            sink.write(_batch(), [])  # type: ignore[arg-type]
    finally:
        sink.close()
    assert type(info.value) is kind
    assert "secret-tok" not in str(info.value)
    if "Retry-After" in headers:
        assert info.value.retry_after_s == float(headers["Retry-After"])  # type: ignore[attr-defined]


def test_influx_sink_success_and_unreachable(http_server: HTTPServer) -> None:
    """A 204 stores the batch; a closed port is a retryable outage."""
    sink = _influx(http_server)
    try:
        sink.write(_batch(), [])  # type: ignore[arg-type]
    finally:
        sink.close()
    port = http_server.server_port
    http_server.shutdown()
    http_server.server_close()
    gone = InfluxSink(f"http://127.0.0.1:{port}", "org", "bucket", "tok", timeout_s=2.0)
    try:
        with pytest.raises(RetryableSinkError, match="unreachable"):
            gone.write(_batch(), [])  # type: ignore[arg-type]
    finally:
        gone.close()


def test_parse_retry_after_seconds_dates_and_garbage() -> None:
    """Retry-After is read as seconds or as an HTTP date; anything else is ignored."""
    assert parse_retry_after("120") == 120.0
    now = 1_800_000_000.0  # 2027-01-15T08:00:00Z
    assert parse_retry_after("Fri, 15 Jan 2027 08:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Fri, 15 Jan 2027 07:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


def test_classify_http_error_without_details() -> None:
    """Unknown 5xx statuses are retryable; a body that is not an object is quoted as is."""
    error = classify_http_error("http://x", 507, None, None, None)
    assert isinstance(error, RetryableSinkError)
    assert error.retry_after_s is None
    assert "[1, 2]" in str(classify_http_error("http://x", 422, "Unprocessable", b"[1, 2]", {}))


# -- the embedded sink -----------------------------------------------------------------------


@pytest.mark.parametrize(("raised", "kind"), [
    (duckdb.ConstraintException("NOT NULL constraint failed"), RejectedBatchError),
    (duckdb.ConversionException("could not convert"), RejectedBatchError),
    (duckdb.IOException("No space left on device"), RetryableSinkError),
    (OSError(28, "No space left on device"), RetryableSinkError),
])
def test_embedded_sink_maps_duckdb_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          raised: Exception, kind: type[SinkError]) -> None:
    """Data errors are rejected batches; disk and I/O errors are retryable."""
    sink = EmbeddedSink(tmp_path / "e.duckdb")

    def fail(*_: object) -> None:
        raise raised

    monkeypatch.setattr(sink.store, "insert", fail)
    try:
        with pytest.raises(kind):
            sink.write(_batch(), [])  # type: ignore[arg-type]
    finally:
        sink.close()


# -- `smartpark collect` -------------------------------------------------------------------


def test_collect_exits_1_naming_the_setting_on_a_fatal_sink_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A fatal sink error ends `smartpark collect` with exit code 1 and the setting to fix."""
    async def fatal(*_: object, **__: object) -> None:
        msg = "InfluxDB at http://x answered HTTP 401 Unauthorized; check INFLUX_TOKEN"
        raise FatalSinkError(msg)

    monkeypatch.setattr("collector.cli._collect", fatal)
    code = _run_cli(["collect", "--db", str(tmp_path / "p.duckdb"),
                     "--buffer-dir", str(tmp_path / "b"),
                     "--dead-letter", str(tmp_path / "d")])
    assert code == 1
    err = capsys.readouterr().err
    assert "401 Unauthorized; check INFLUX_TOKEN" in err
    assert "not acknowledged" in err
