"""The /metrics and /health endpoints, over real HTTP on loopback, and their settings."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from types import MappingProxyType

import orjson
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from collector import Collector, CollectorConfig
from collector import observability as obs
from collector.config import ConfigError, load_config
from collector.sinks import FaultySink, MemorySink
from collector.stats import CollectorStats
from tests.collector.fakes import FakeSource
from tests.collector.helpers import MALFORMED, T0, fast_config, telemetry, wait_until


class SwitchableSource(FakeSource):
    """A fake source whose connection state a test can flip."""

    def __init__(self) -> None:
        super().__init__()
        self.up = True

    @property
    def connected(self) -> bool:
        """Whether the fake broker connection is up."""
        return self.up


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(tmp_path: Path, **kw: object) -> CollectorConfig:
    overrides: dict[str, object] = {"metrics_port": _free_port()}
    overrides.update(kw)
    return fast_config(tmp_path, **overrides)


async def _request(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("ascii").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), headers, body


async def _unanswered(reader: asyncio.StreamReader) -> bool:
    """Return whether the server closed the connection without a response."""
    try:
        return await reader.read() == b""
    except ConnectionResetError:  # closed with our request bytes still unread
        return True


async def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    return await _request(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())


def _parse(text: str) -> dict[str, float]:
    """Parse Prometheus text into {'name{labels}': value}, checking HELP/TYPE precede samples."""
    samples: dict[str, float] = {}
    typed: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split(" ")[2])
        elif line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            assert key.split("{", 1)[0] in typed, key
            samples[key] = float(value)
    return samples


@asynccontextmanager
async def _running(collector: Collector, source: FakeSource) -> AsyncIterator[int]:
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    await wait_until(lambda: source.handler is not None)
    try:
        yield collector.config.metrics_port
    finally:
        stop.set()
        await task


async def test_metrics_report_counters_reasons_gauges_and_lag(tmp_path: Path) -> None:
    """/metrics exposes every counter, invalid by reason, and the gauges including lag."""
    source, sink = FakeSource(), MemorySink()
    collector = Collector(_config(tmp_path), sink=sink, source=source)
    async with _running(collector, source) as port:
        for seq in range(10):
            source.feed(*telemetry("mtr-001", seq))
        for topic, payload, _ in MALFORMED:
            source.feed(topic, payload)
        await wait_until(lambda: len(source.acks) == 15)
        status, headers, body = await _get(port, "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    m = _parse(body.decode())
    p = obs.PREFIX
    assert m[f"{p}received_total"] == 15
    assert m[f"{p}decoded_total"] == 10
    assert m[f"{p}written_total"] == 10
    assert m[f"{p}acked_total"] == 15
    assert m[f"{p}dead_lettered_total"] == 5
    assert m[f"{p}sink_rejected_total"] == 0
    assert m[f'{p}invalid_total{{reason="invalid_json"}}'] == 2
    assert m[f'{p}invalid_total{{reason="unencodable"}}'] == 1
    assert m[f"{p}queue_depth"] == 0
    assert m[f"{p}connected"] == 1
    assert m[f"{p}sink_last_write_ok"] == 1
    assert m[f"{p}last_batch_latency_seconds"] >= 0
    # The newest stored reading is seq 9 at T0 + 90 s (2026), so lag is "now" minus that.
    assert m[f"{p}lag_seconds"] > 0
    assert collector.stats().newest_ts_ms == T0 + 9 * 10_000
    assert source.closed


async def test_health_is_ok_then_degraded_while_the_sink_fails(tmp_path: Path) -> None:
    """/health answers 200 while writes succeed, 503 with the error while they fail."""
    source, sink = FakeSource(), FaultySink()
    collector = Collector(_config(tmp_path), sink=sink, source=source)
    async with _running(collector, source) as port:
        status, headers, body = await _get(port, "/health")
        assert (status, headers["Content-Type"]) == (200, "application/json")
        assert orjson.loads(body) == {
            "status": "ok", "broker": {"connected": True}, "database": {"reachable": None},
            "sink": {"name": "faulty", "last_write_ok": True, "last_error": None},
            "queue_depth": 0,
            "buffer": {"messages": 0, "bytes": 0, "max_bytes": 0, "overflow": "block",
                       "dropped": 0}}
        sink.failures = 10**9
        for seq in range(10):
            source.feed(*telemetry("mtr-001", seq))
        await wait_until(lambda: collector.stats().retries >= 1)
        status, _, body = await _get(port, "/health")
        report = orjson.loads(body)
        assert status == 503
        assert report["status"] == "degraded"
        assert report["sink"] == {"name": "faulty", "last_write_ok": False,
                                  "last_error": "scripted sink failure"}
        assert report["queue_depth"] == 10
        assert report["database"] == {"reachable": False}
        metrics = _parse((await _get(port, "/metrics"))[2].decode())
        assert metrics[f"{obs.PREFIX}sink_last_write_ok"] == 0
        assert metrics[f"{obs.PREFIX}sink_reachable"] == 0
        assert metrics[f"{obs.PREFIX}buffer_max_bytes"] == 0
        assert f"{obs.PREFIX}lag_seconds" not in metrics  # nothing stored yet
        sink.failures = 0
        await wait_until(lambda: len(source.acks) == 10)
        status, _, body = await _get(port, "/health")
        assert (status, orjson.loads(body)["sink"]["last_error"]) == (200, None)


async def test_health_is_degraded_while_the_broker_is_disconnected(tmp_path: Path) -> None:
    """/health answers 503 with broker.connected false when the source is down."""
    source = SwitchableSource()
    collector = Collector(_config(tmp_path), sink=MemorySink(), source=source)
    async with _running(collector, source) as port:
        source.up = False
        status, _, body = await _get(port, "/health")
        assert status == 503
        assert orjson.loads(body)["broker"] == {"connected": False}
        metrics = _parse((await _get(port, "/metrics"))[2].decode())
        assert metrics[f"{obs.PREFIX}connected"] == 0
        source.up = True
        assert (await _get(port, "/health"))[0] == 200


async def test_no_server_is_started_when_the_port_is_zero(tmp_path: Path) -> None:
    """With metrics_port 0 the collector runs without listening anywhere."""
    source = FakeSource()
    config = _config(tmp_path, metrics_port=0)
    # Before a sink is opened, the name is the one the settings select.
    assert Collector(config, source=FakeSource()).sink_name() == "embedded"
    collector = Collector(config, sink=MemorySink(), source=source)
    async with _running(collector, source) as port:
        assert port == 0
        source.feed(*telemetry("mtr-001", 0))
        await wait_until(lambda: len(source.acks) == 1)
    assert collector.sink_name() == "memory"


def _server(stats: CollectorStats | None = None) -> obs.ObservabilityServer:
    snapshot = stats if stats is not None else CollectorStats(connected=True)
    return obs.ObservabilityServer(lambda: snapshot, lambda: "memory")


async def test_unknown_paths_methods_and_garbage_get_clear_http_errors() -> None:
    """404 for other paths, 405 for other methods, 400 for a malformed request line."""
    server = await _server().start()
    try:
        status, _, body = await _get(server.port, "/")
        assert (status, body) == (404, b"not found; try /metrics or /health\n")
        post = b"POST /metrics HTTP/1.1\r\n\r\n"
        assert (await _request(server.port, post))[0] == 405
        assert (await _request(server.port, b"hello\r\n\r\n"))[0] == 400
        assert (await _get(server.port, "/health?verbose=1"))[0] == 200
    finally:
        await server.close()


async def test_oversized_slow_and_excess_requests_are_dropped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A too-large or too-slow request, or one beyond the connection cap, gets no answer."""
    monkeypatch.setattr(obs, "REQUEST_TIMEOUT_S", 0.05)
    server = await _server().start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * (obs.MAX_REQUEST_BYTES * 2))
        assert await _unanswered(reader)
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await _unanswered(reader)  # sent nothing: timed out and closed
        writer.close()
        monkeypatch.setattr(obs, "MAX_CONNECTIONS", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /health HTTP/1.1\r\n\r\n")
        assert await _unanswered(reader)
        writer.close()
        assert server.refused == 1
    finally:
        await server.close()


async def test_a_taken_port_raises_an_actionable_error() -> None:
    """Binding a port in use raises MetricsBindError naming the setting to change."""
    first = await _server().start()
    try:
        second = obs.ObservabilityServer(CollectorStats, lambda: "memory", port=first.port)
        with pytest.raises(obs.MetricsBindError, match="--metrics-port"):
            await second.start()
    finally:
        await first.close()
    with pytest.raises(RuntimeError, match="not started"):
        _ = first.port


def test_metrics_text_escapes_labels_and_omits_lag_before_any_write() -> None:
    """Reason labels are escaped and the lag gauge has no sample until a message is stored."""
    stats = CollectorStats(invalid=1, invalid_by_reason=MappingProxyType({'a"b\\c': 1}),
                           last_batch_latency_s=0.25)
    body, content_type = obs.render_metrics(stats, now_s=100.0)
    text = body.decode()
    assert content_type == obs.METRICS_CONTENT_TYPE
    assert f'{obs.PREFIX}invalid_total{{reason="a\\"b\\\\c"}} 1.0' in text
    assert f"{obs.PREFIX}last_batch_latency_seconds 0.25" in text
    assert f"\n{obs.PREFIX}lag_seconds " not in text
    later, _ = obs.render_metrics(CollectorStats(newest_ts_ms=90_500), now_s=100.0)
    assert f"{obs.PREFIX}lag_seconds 9.5\n" in later.decode()


_SNAPSHOT = CollectorStats(
    received=15, decoded=12, invalid=3, written=9, batches=2, retries=1, acked=14,
    dead_lettered=4, rejected=1, queue_depth=1, paused=5, not_acked_after_reconnect=6,
    last_batch_latency_s=0.125, connected=True, newest_ts_ms=90_000, buffered=7, drained=8,
    dropped=2, buffer_full=3, buffer_messages=11, buffer_bytes=4096, buffer_max_bytes=1 << 20,
    sink_reachable=True,
    invalid_by_reason=MappingProxyType({"invalid_json": 2, "unencodable": 1}))


def _expected(stats: CollectorStats, now_s: float) -> dict[tuple[str, str], float]:
    """What every sample should read for a snapshot: {(sample name, reason label): value}."""
    p = obs.PREFIX
    expected = {(p + name, ""): float(getattr(stats, attr)) for attr, name, _ in obs.COUNTERS}
    expected.update({(p + "invalid_total", reason): float(count)
                     for reason, count in stats.invalid_by_reason.items()})
    assert stats.newest_ts_ms is not None
    expected.update({
        (p + "queue_depth", ""): stats.queue_depth, (p + "connected", ""): 1.0,
        (p + "sink_last_write_ok", ""): 1.0, (p + "sink_reachable", ""): 1.0,
        (p + "last_batch_latency_seconds", ""): stats.last_batch_latency_s,
        (p + "buffer_messages", ""): stats.buffer_messages,
        (p + "buffer_bytes", ""): stats.buffer_bytes,
        (p + "buffer_max_bytes", ""): stats.buffer_max_bytes,
        (p + "lag_seconds", ""): now_s - stats.newest_ts_ms / 1000})
    return expected


def _samples(families: Iterable[Metric]) -> dict[tuple[str, str], float]:
    return {(s.name, s.labels.get("reason", "")): s.value
            for family in families for s in family.samples}


def test_text_output_parses_to_the_snapshot_values() -> None:
    """prometheus-client's own parser reads back every value of the snapshot, no _created."""
    body, _ = obs.render_metrics(_SNAPSHOT, now_s=100.0)
    families = list(text_string_to_metric_families(body.decode()))
    assert _samples(families) == _expected(_SNAPSHOT, 100.0)
    assert {f.name for f in families if f.type == "counter"} == {
        obs.PREFIX + name.removesuffix("_total")
        for name in [*(n for _, n, _ in obs.COUNTERS), "invalid_total"]}
    help_texts = {f.name: f.documentation for f in families}
    assert help_texts[obs.PREFIX + "received"] == "Messages delivered by the broker."
    assert "_total_total" not in body.decode()
    assert "_created" not in body.decode()


async def test_an_openmetrics_scrape_gets_openmetrics_text() -> None:
    """An OpenMetrics Accept header (any case, as Prometheus sends it) gets OpenMetrics."""
    server = await _server(_SNAPSHOT).start()
    try:
        accept = ("application/openmetrics-text;version=1.0.0,"
                  "application/openmetrics-text;version=0.0.1;q=0.75,"
                  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        raw = f"GET /metrics HTTP/1.1\r\nHost: x\r\naccept: {accept}\r\n\r\n".encode()
        status, headers, body = await _request(server.port, raw)
    finally:
        await server.close()
    assert status == 200
    assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    text = body.decode()
    assert text.endswith("# EOF\n")
    # The OpenMetrics parser has no annotations; it also proves the body is valid OpenMetrics.
    samples = _samples(openmetrics_families(text))  # type: ignore[no-untyped-call]
    # lag is measured against the server's clock, so only its presence is compared.
    expected = _expected(_SNAPSHOT, 100.0)
    lag = (obs.PREFIX + "lag_seconds", "")
    assert samples.pop(lag) > 0
    del expected[lag]
    assert samples == expected


@pytest.mark.parametrize("accept", ["", "text/plain", "text/plain; version=1.x", "*/*",
                                    "application/json"])
def test_other_accept_headers_get_text_format_0_0_4(accept: str) -> None:
    """No, plain, unreadable or foreign Accept headers all get the Prometheus text 0.0.4."""
    body, content_type = obs.render_metrics(_SNAPSHOT, now_s=100.0, accept=accept)
    assert content_type == obs.METRICS_CONTENT_TYPE
    assert not body.decode().endswith("# EOF\n")
    assert _samples(text_string_to_metric_families(body.decode())) == _expected(_SNAPSHOT, 100.0)


def test_accept_headers_are_read_case_insensitively_and_joined() -> None:
    """The Accept header is found whatever its case, and repeated ones are joined."""
    head = (b"GET /metrics HTTP/1.1\r\nACCEPT: text/plain\r\nHost: x\r\n"
            b"Accept:  application/openmetrics-text\r\nbroken line\r\n\r\n")
    assert obs._accept(head) == "text/plain, application/openmetrics-text"
    assert obs._accept(b"GET / HTTP/1.1\r\n\r\n") == ""


def test_health_never_mentions_credentials(tmp_path: Path) -> None:
    """The health body carries no setting, so a token or password cannot leak through it."""
    _, body = obs.health_report(CollectorStats(connected=True), "influx")
    assert "token" not in orjson.dumps(body).decode()


@pytest.mark.parametrize(("port", "fragment"), [(70_000, "<= 65535"), (-1, ">= 0")])
def test_out_of_range_ports_are_rejected(tmp_path: Path, port: int, fragment: str) -> None:
    """A port outside 0..65535 is a ConfigError naming the flag and the valid range."""
    with pytest.raises(ConfigError, match="--metrics-port") as info:
        load_config(env={}, overrides={"metrics_port": port,
                                       "db_path": tmp_path / "p.duckdb",
                                       "dead_letter_path": tmp_path / "dl.jsonl"})
    assert fragment in str(info.value)


def test_port_and_host_come_from_toml_env_and_flags(tmp_path: Path) -> None:
    """observability.* in TOML, SMARTPARK_METRICS_PORT in the env, flags win over both."""
    toml = tmp_path / "c.toml"
    toml.write_text('[observability]\nhost = "0.0.0.0"\nport = 9100\n'
                    f'[embedded]\npath = "{tmp_path / "p.duckdb"}"\n'
                    f'[dead_letter]\npath = "{tmp_path / "dl.jsonl"}"\n', encoding="utf-8")
    config = load_config(toml, env={})
    assert (config.metrics_host, config.metrics_port) == ("0.0.0.0", 9100)
    assert load_config(toml, env={"SMARTPARK_METRICS_PORT": "9200"}).metrics_port == 9200
    flagged = load_config(toml, env={"SMARTPARK_METRICS_PORT": "9200"},
                          overrides={"metrics_port": 9300, "metrics_host": "::1"})
    assert (flagged.metrics_host, flagged.metrics_port) == ("::1", 9300)
    with pytest.raises(ConfigError, match="SMARTPARK_METRICS_PORT is 'abc'; expected an int"):
        load_config(toml, env={"SMARTPARK_METRICS_PORT": "abc"})
    with pytest.raises(ConfigError, match=r"observability\.host"):
        load_config(toml, env={}, overrides={"metrics_host": " "})
