"""Operator endpoints of the collector: Prometheus ``/metrics`` and a JSON ``/health``.

A deliberately tiny HTTP/1.1 server on asyncio streams: it answers one ``GET`` per connection
and closes it, which is all a Prometheus scraper or a load-balancer health probe needs. It
reads only the collector's counters (never the settings), so neither the Influx token nor the
MQTT password can appear in a response.

The ``/metrics`` body is rendered by prometheus-client's exposition code, through a custom
collector that turns one :class:`~collector.stats.CollectorStats` snapshot into metric
families, and the scrape's ``Accept`` header picks the format (OpenMetrics when asked for,
text 0.0.4 otherwise). prometheus-client's own ``Counter`` objects and HTTP server thread are
not used: one event-loop thread owns the counters, and this server bounds requests and also
serves ``/health``.

Bounds: a request head larger than :data:`MAX_REQUEST_BYTES` or slower than
:data:`REQUEST_TIMEOUT_S` is dropped; at most :data:`MAX_CONNECTIONS` requests are served at
once and further connections are closed unanswered (policy *refuse*, counted in
:attr:`ObservabilityServer.refused`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

import orjson
from prometheus_client.exposition import choose_encoder, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from collector.stats import CollectorStats

PREFIX = "smartpark_collector_"
MAX_REQUEST_BYTES = 8192
REQUEST_TIMEOUT_S = 5.0
MAX_CONNECTIONS = 16
#: What a scrape without an OpenMetrics ``Accept`` header gets (Prometheus text 0.0.4).
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: (CollectorStats attribute, metric name without prefix, help text) of every counter.
COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("received", "received_total", "Messages delivered by the broker."),
    ("decoded", "decoded_total", "Messages that passed validation."),
    ("written", "written_total", "Valid messages stored by the sink."),
    ("batches", "batches_total", "Batches stored."),
    ("retries", "retries_total", "Failed sink writes that were retried."),
    ("acked", "acked_total", "Messages acknowledged to the broker after they were durable."),
    ("dead_lettered", "dead_lettered_total", "Rejected messages written to the dead-letter log."),
    ("rejected", "sink_rejected_total",
     "Valid messages the sink refused, moved to the dead-letter log (reason sink_rejected)."),
    ("paused", "paused_total", "Times reading paused because too many messages were pending."),
    ("not_acked_after_reconnect", "not_acked_after_reconnect_total",
     "Stored messages whose ack was lost to a reconnect (the broker redelivers them)."),
    ("buffered", "buffered_total",
     "Valid messages written to the on-disk outage buffer while the sink was down."),
    ("drained", "drained_total", "Messages written from the outage buffer to the sink."),
    ("dropped", "dropped_total",
     "Buffered messages deleted unwritten by the drop_oldest overflow policy."),
    ("buffer_full", "buffer_full_total", "Times a batch did not fit in the outage buffer."),
)


class SnapshotCollector(Collector):
    """A prometheus-client collector over one counters snapshot.

    It builds fresh metric families on every :meth:`collect`, so nothing on the collector's
    hot path touches prometheus-client: the event loop keeps plain integers and a scrape
    reads a snapshot of them.

    Args:
        stats: the counters snapshot to expose.
        now_s: the epoch time in seconds the lag gauge is measured against.
    """

    def __init__(self, stats: CollectorStats, now_s: float) -> None:
        self._stats = stats
        self._now_s = now_s

    def collect(self) -> Iterator[Metric]:
        """Yield every counter, ``invalid_total`` by reason, then the gauges."""
        stats = self._stats
        for attr, name, text in COUNTERS:
            # CounterMetricFamily drops the "_total" suffix from the family name and puts it
            # back on the sample, so the exposed name is exactly the one in COUNTERS.
            yield CounterMetricFamily(PREFIX + name, text, value=getattr(stats, attr))
        invalid = CounterMetricFamily(PREFIX + "invalid_total",
                                      "Messages rejected, by reason code.", labels=["reason"])
        for reason, count in stats.invalid_by_reason.items():
            invalid.add_metric([reason], count)
        yield invalid
        gauges = (
            ("queue_depth", "Messages received but not yet acknowledged.", stats.queue_depth),
            ("connected", "1 while the broker connection is up, else 0.", int(stats.connected)),
            ("sink_last_write_ok", "1 if the last sink write succeeded, else 0.",
             int(stats.last_write_error is None)),
            ("last_batch_latency_seconds", "Time from a batch's first message to its ack.",
             stats.last_batch_latency_s),
            ("sink_reachable", "1 if the latest sink write or stats point succeeded, else 0.",
             int(bool(stats.sink_reachable))),
            ("buffer_messages", "Messages in the on-disk outage buffer.", stats.buffer_messages),
            ("buffer_bytes", "Bytes in the on-disk outage buffer.", stats.buffer_bytes),
            ("buffer_max_bytes", "Bound of the outage buffer (0: no buffer).",
             stats.buffer_max_bytes),
        )
        for name, text, value in gauges:
            yield GaugeMetricFamily(PREFIX + name, text, value=value)
        lag = GaugeMetricFamily(PREFIX + "lag_seconds",
                                "Now minus the timestamp of the newest stored message.")
        # No sample until a message is stored, so an absent() alert can tell.
        if stats.newest_ts_ms is not None:
            lag.add_metric([], round(self._now_s - stats.newest_ts_ms / 1000, 3))
        yield lag


def render_metrics(stats: CollectorStats, now_s: float, accept: str = "") -> tuple[bytes, str]:
    """Return (body, content type) of the ``/metrics`` answer for a counters snapshot.

    Args:
        stats: a counters snapshot. Until a message is stored (``newest_ts_ms`` is ``None``)
            the lag gauge has no sample, so an ``absent()`` alert can tell.
        now_s: the current epoch time in seconds.
        accept: the scrape's ``Accept`` header. OpenMetrics scrapers get OpenMetrics text;
            anything else, including no header or one prometheus-client cannot read, gets
            the Prometheus text format 0.0.4.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(stats, now_s))
    try:
        encoder, content_type = choose_encoder(accept)
    except (TypeError, ValueError):
        # e.g. "version=x": prometheus-client compares the version parts with integers.
        encoder, content_type = generate_latest, METRICS_CONTENT_TYPE
    return encoder(registry), content_type


def health_report(stats: CollectorStats, sink_name: str) -> tuple[int, dict[str, object]]:
    """Return (HTTP status, JSON body): 200 when the broker and the database are reachable.

    ``database.reachable`` is ``null`` until the first write or stats point was tried. The
    ``buffer`` object tells how much waits on disk for the database.
    """
    write_ok = stats.last_write_error is None
    healthy = stats.connected and write_ok and stats.sink_reachable is not False
    body: dict[str, object] = {
        "status": "ok" if healthy else "degraded",
        "broker": {"connected": stats.connected},
        "database": {"reachable": stats.sink_reachable},
        "sink": {"name": sink_name, "last_write_ok": write_ok,
                 "last_error": stats.last_write_error},
        "queue_depth": stats.queue_depth,
        "buffer": {"messages": stats.buffer_messages, "bytes": stats.buffer_bytes,
                   "max_bytes": stats.buffer_max_bytes, "overflow": stats.buffer_overflow,
                   "dropped": stats.dropped},
    }
    return (200 if healthy else 503), body


class MetricsBindError(RuntimeError):
    """The ``/metrics`` server cannot listen on the configured address."""


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            503: "Service Unavailable"}


def _accept(head: bytes) -> str:
    """Return the request's ``Accept`` header ("" without one; repeated ones joined)."""
    values = []
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "accept":
            values.append(value.strip())
    return ", ".join(values)


class ObservabilityServer:
    """Serves ``/metrics`` and ``/health`` from callables that read the collector's state.

    Args:
        stats: returns a counters snapshot.
        sink_name: returns the name of the sink in use.
        host: address to bind (loopback by default: the endpoints carry no authentication).
        port: TCP port; 0 picks a free one (see :attr:`port` once started).
    """

    def __init__(self, stats: Callable[[], CollectorStats], sink_name: Callable[[], str], *,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self._stats = stats
        self._sink_name = sink_name
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._active = 0
        self.refused = 0

    @property
    def port(self) -> int:
        """The bound port (the chosen one when started with port 0)."""
        if self._server is None:
            msg = "the observability server is not started"
            raise RuntimeError(msg)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> ObservabilityServer:
        """Bind and start serving; return self.

        Raises:
            MetricsBindError: the address cannot be bound (port in use, unknown host).
        """
        try:
            self._server = await asyncio.start_server(
                self._handle, self._host, self._port, limit=MAX_REQUEST_BYTES, backlog=64)
        except OSError as exc:
            msg = (f"cannot serve /metrics on {self._host}:{self._port}: {exc.strerror or exc}; "
                   "choose another --metrics-port (or observability.port), or 0 to disable")
            raise MetricsBindError(msg) from exc
        return self

    async def close(self) -> None:
        """Stop listening and wait for the server to close."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self._active >= MAX_CONNECTIONS:
                self.refused += 1
                return
            self._active += 1
            try:
                status, content_type, body = await asyncio.wait_for(
                    self._respond(reader), REQUEST_TIMEOUT_S)
            except (TimeoutError, ValueError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError, ConnectionError):
                return  # a slow, oversized or broken request gets no answer
            finally:
                self._active -= 1
            head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
                    f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                    "Cache-Control: no-store\r\nConnection: close\r\n\r\n")
            writer.write(head.encode("ascii") + body)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return 400, "text/plain; charset=utf-8", b"bad request\n"
        method, target = parts[0], parts[1].split("?", 1)[0]
        if target not in ("/metrics", "/health"):
            return 404, "text/plain; charset=utf-8", b"not found; try /metrics or /health\n"
        if method != "GET":
            return 405, "text/plain; charset=utf-8", b"only GET is supported\n"
        stats = self._stats()
        if target == "/metrics":
            text, content_type = render_metrics(stats, time.time(), _accept(head))
            return 200, content_type, text
        status, report = health_report(stats, self._sink_name())
        return status, "application/json", orjson.dumps(report) + b"\n"

