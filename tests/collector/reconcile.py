"""Exact accounting for fault tests: what a QoS 1 publisher got acknowledged vs what is stored.

:class:`SeqPublisher` publishes meter telemetry with a per-device sequence number (the
message's timestamp follows from it) and records which (device, seq) pairs the broker
acknowledged. :func:`reconcile` reads victoria-metrics' export of the ``seq`` field and
compares: every acknowledged message must be stored, exactly one point per device and
timestamp, and every stored point must carry the sequence number its timestamp implies.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collector.config import CollectorConfig
from collector.service import Collector
from collector.source import MqttSource
from tests.collector.helpers import T0, telemetry
from tests.servers import VictoriaMetrics

#: Milliseconds between two readings of one device (see helpers.telemetry).
STEP_MS = 10_000
#: The export selector of the field every meter message carries.
SEQ_SERIES = '{__name__="energy_meter_seq"}'

Key = tuple[str, int]


def device_name(index: int) -> str:
    """Return the id of device *index* (matches helpers.messages)."""
    return f"mtr-{index:03d}"


class SeqPublisher:
    """A QoS 1 paho publisher that tracks which (device, seq) the broker acknowledged.

    paho reconnects by itself and re-sends unacknowledged messages, so publishing can carry on
    across a broker restart. Use as a context manager.

    Args:
        port: broker port on 127.0.0.1.
        devices: number of devices; device ``i`` is ``mtr-{i:03d}``.
    """

    def __init__(self, port: int, devices: int) -> None:
        self.devices = devices
        self.next_seq = 0
        self.acked: set[Key] = set()
        self.sent = 0
        self._lock = threading.Lock()
        self._by_mid: dict[int, Key] = {}
        self._early: set[int] = set()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(1, 2)  # whole seconds only
        client.on_publish = self._on_publish
        self._client = client
        self._port = port

    def __enter__(self) -> SeqPublisher:
        self._client.connect("127.0.0.1", self._port)
        self._client.loop_start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, reason: Any,
                    properties: Any) -> None:
        # Runs on paho's thread while paho holds its own lock: never call into paho here.
        with self._lock:
            key = self._by_mid.pop(mid, None)
            if key is None:
                self._early.add(mid)  # acknowledged before publish_rounds recorded the mid
            else:
                self.acked.add(key)

    def publish_rounds(self, rounds: int, interval_s: float = 0.0) -> None:
        """Publish *rounds* more readings of every device, sleeping *interval_s* between rounds."""
        for _ in range(rounds):
            seq = self.next_seq
            self.next_seq += 1
            for index in range(self.devices):
                device = device_name(index)
                topic, payload = telemetry(device, seq)
                # Not under self._lock: paho takes its lock, then calls _on_publish (ours).
                info = self._client.publish(topic, payload, qos=1)
                with self._lock:
                    if info.mid in self._early:
                        self._early.discard(info.mid)
                        self.acked.add((device, seq))
                    else:
                        self._by_mid[info.mid] = (device, seq)
                self.sent += 1
            if interval_s:
                time.sleep(interval_s)

    def attempted(self) -> set[Key]:
        """Every (device, seq) sent so far, acknowledged or not."""
        return {(device_name(i), seq) for seq in range(self.next_seq)
                for i in range(self.devices)}

    def wait_acked(self, timeout: float = 30.0) -> None:
        """Wait until the broker acknowledged everything sent (or *timeout* passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._by_mid:
                    return
            time.sleep(0.02)
        msg = f"{len(self._by_mid)} of {self.sent} messages not acknowledged in {timeout} s"
        raise TimeoutError(msg)


@dataclass
class Reconciliation:
    """Outcome of comparing acknowledged publications with stored points.

    Attributes:
        published: messages the broker acknowledged to the publisher.
        stored: distinct (device, seq) stored.
        missing: acknowledged but not stored (must be empty).
        duplicates: (device, timestamp) stored more than once in the deduplicated view.
        mismatched: stored points whose seq does not match their timestamp.
        unexpected: stored points never published.
        rewrites: extra writes of a point visible before deduplication (redeliveries made
            harmless by idempotent writes; informative, not a failure, and a lower bound:
            merges deduplicate on disk). Only the count is used: victoria-metrics 1.79.5's
            raw export (``reduce_mem_usage=1``) was seen pairing values with the timestamps
            of another block, so values are compared in the deduplicated export only.
        examples: a few missing pairs, for the failure message.
    """

    published: int
    stored: int
    missing: set[Key] = field(default_factory=set)
    duplicates: int = 0
    mismatched: int = 0
    unexpected: int = 0
    rewrites: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Every published message stored once, where its seq belongs, and nothing else."""
        return not (self.missing or self.duplicates or self.mismatched or self.unexpected)

    def summary(self) -> str:
        """One line with every figure, for assertion messages and reports."""
        return (f"published {self.published}, stored {self.stored}, missing "
                f"{len(self.missing)}, duplicates {self.duplicates}, mismatched "
                f"{self.mismatched}, unexpected {self.unexpected}, rewrites {self.rewrites} "
                f"{self.examples}")


def _points(series: list[dict[str, Any]]) -> list[tuple[str, int, float]]:
    return [(s["metric"]["device_id"], ts, value) for s in series
            for ts, value in zip(s["timestamps"], s["values"], strict=True)]


def reconcile(vm: VictoriaMetrics, published: set[Key],
              attempted: set[Key] | None = None) -> Reconciliation:
    """Compare *published* (device, seq) pairs with the seq points stored in *vm*.

    *attempted* is every pair the publisher sent (a message can be stored although its
    PUBACK was lost with a broker restart); stored points outside it are "unexpected".
    """
    points = _points(vm.export(SEQ_SERIES))
    per_key = Counter((device, ts) for device, ts, _ in points)
    stored: set[Key] = set()
    mismatched = 0
    for device, ts, value in points:
        seq = int(value)
        stored.add((device, seq))
        mismatched += ts != T0 + seq * STEP_MS
    raw_count = sum(len(s["timestamps"]) for s in vm.export_raw(SEQ_SERIES))
    return Reconciliation(
        published=len(published), stored=len(stored), missing=published - stored,
        duplicates=sum(n - 1 for n in per_key.values()), mismatched=mismatched,
        unexpected=len(stored - (published if attempted is None else attempted)),
        rewrites=raw_count - len(points),
        examples=[f"missing {k}" for k in sorted(published - stored)[:5]])


def influx_config(tmp_path: Path, broker_port: int, influx_url: str,
                  **overrides: object) -> CollectorConfig:
    """A validated collector config reading *broker_port* and writing to *influx_url*."""
    base: dict[str, object] = {
        "mqtt_port": broker_port, "client_id": "fault-collector", "batch_size": 500,
        "batch_interval_s": 0.1, "max_pending": 2000, "retry_initial_s": 0.1,
        "retry_max_s": 1.0, "influx_url": influx_url, "influx_org": "park",
        "influx_bucket": "telemetry", "influx_token": "test-token",
        "influx_timeout_s": 5.0, "db_path": tmp_path / "unused.duckdb",
        "dead_letter_path": tmp_path / "dead.jsonl", "buffer_dir": tmp_path / "buffer"}
    base.update(overrides)
    return CollectorConfig(**base).validate()  # type: ignore[arg-type]


class RunningCollector:
    """Runs a :class:`Collector` in the background of an async test; an async context manager.

    While it runs, the deepest queue seen (``max_depth``) is sampled every 20 ms, so a test can
    show that memory stayed within ``max_pending``.

    Args:
        config: the collector's settings.
        source: the MQTT source (default one built from *config*), kept to read its counters.
    """

    def __init__(self, config: CollectorConfig, source: MqttSource | None = None) -> None:
        self.source = source if source is not None else MqttSource(config)
        self.collector = Collector(config, source=self.source)
        self.max_depth = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sampler: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RunningCollector:
        await self.collector.__aenter__()
        self._task = asyncio.create_task(self.collector.run(self._stop))
        self._sampler = asyncio.create_task(self._sample())
        await self.wait(lambda: self.collector.stats().connected, 30, "no connection")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._task is not None
        assert self._sampler is not None
        try:
            await self._task
        finally:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            await self.collector.__aexit__(None, None, None)

    async def _sample(self) -> None:
        while True:
            self.max_depth = max(self.max_depth, self.collector.stats().queue_depth)
            await asyncio.sleep(0.02)

    async def wait(self, predicate: Callable[[], object], limit: float, what: str) -> None:
        """Poll *predicate* every 20 ms; fail with *what* and the stats after *limit* s."""
        end = time.monotonic() + limit
        while not predicate():
            assert self._task is not None
            if self._task.done():
                self._task.result()  # re-raise the collector's error
            assert time.monotonic() < end, f"{what}: {self.collector.stats()}"
            await asyncio.sleep(0.02)


async def wait_stored(vm: VictoriaMetrics, published: set[Key], limit: float = 30.0) -> None:
    """Poll victoria-metrics until every *published* pair is stored (fail after *limit* s)."""
    end = time.monotonic() + limit
    while True:
        result = await asyncio.to_thread(reconcile, vm, published)
        if not result.missing:
            return
        assert time.monotonic() < end, result.summary()
        await asyncio.sleep(0.25)
