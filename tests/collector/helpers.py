"""Builders of valid and malformed wire messages for the collector's tests (via parkwire)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector.config import CollectorConfig
from parkwire import Channel, Domain, Telemetry, Topic, encode

T0 = 1_772_384_400_000  # 2026-03-01T17:00:00Z


def meter_topic(device: str, park: str = "refpark", asset: str = "meter") -> Topic:
    """Return a meter's telemetry topic."""
    return Topic(park, "bac-ninh", Domain.ENERGY, asset, device, Channel.TELEMETRY)


def meter_reading(seq: int) -> dict[str, float]:
    """Return plausible meter readings that vary with *seq*."""
    p = 500.0 + (seq % 97) * 1.25
    return {"p_kw": p, "q_kvar": p * 0.3, "s_kva": p * 1.05, "pf": 0.95,
            "v_ln_a": 231.2, "v_ln_b": 230.8, "v_ln_c": 229.9, "i_a": 812.5, "i_b": 799.1,
            "i_c": 805.0, "freq_hz": 50.01, "thd_v_pct": 2.1, "thd_i_pct": 7.5,
            "kwh_imp": 1_000_000.0 + seq, "kwh_exp": 0.0, "kvarh_imp": 300_000.0 + seq,
            "kwh_peak": 200_000.0, "kwh_normal": 600_000.0, "kwh_offpeak": 200_000.0 + seq}


def telemetry(device: str, seq: int, park: str = "refpark") -> tuple[str, bytes]:
    """Return (topic, payload) of a valid meter message."""
    topic = meter_topic(device, park)
    message = Telemetry(topic, T0 + seq * 10_000, seq, meter_reading(seq))
    return str(topic), encode(message)


def messages(devices: int, per_device: int, park: str = "refpark") -> list[tuple[str, bytes]]:
    """Return valid messages of several devices, interleaved the way a park reports."""
    return [telemetry(f"mtr-{d:03d}", seq, park)
            for seq in range(per_device) for d in range(devices)]


MALFORMED: list[tuple[str, bytes, str]] = [
    ("refpark/bac-ninh/energy/meter/mtr-bad/telemetry", b"{not json", "invalid_json"),
    ("refpark/bac-ninh/energy/meter/mtr-bad/telemetry", b"\xff\xfe\x00binary",
     "invalid_json"),
    ("refpark/bac-ninh/energy/meter/mtr-bad/telemetry",
     b'{"v":1,"ts":"2026-03-01T17:00:00.000Z","seq":1,"readings":{"p_kw":1e12}}',
     "out_of_range"),
    ("refpark/bac-ninh/energy/toaster/mtr-bad/telemetry",
     b'{"v":1,"ts":"2026-03-01T17:00:00.000Z","seq":1,"readings":{"p_kw":1.0}}',
     "unknown_asset_type"),
    ("refpark/bac-ninh/energy/meter/mtr-bad/event",
     b'{"v":1,"ts":"2026-03-01T17:00:00.000Z","seq":1,"event":"door\\nforced","data":{}}',
     "unencodable"),
]


def publish_all(port: int, items: list[tuple[str, bytes]], qos: int = 1) -> None:
    """Publish *items* at *qos* to the broker on *port* and wait until all are acknowledged."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        # Packet ids wrap at 65535, so wait for each chunk before reusing them.
        for start in range(0, len(items), 30_000):
            infos = [client.publish(topic, payload, qos=qos)
                     for topic, payload in items[start:start + 30_000]]
            for info in infos:
                info.wait_for_publish(timeout=60)
    finally:
        client.disconnect()
        client.loop_stop()


def fast_config(tmp_path: Path, **overrides: object) -> CollectorConfig:
    """A validated collector config with small batches and short retries, for fake-driven tests.

    The outage buffer and the stats points are off unless a test turns them on, so the
    retry and back-pressure tests see the sink's answers alone.
    """
    base: dict[str, object] = {"batch_size": 10, "max_pending": 30, "batch_interval_s": 0.05,
                               "retry_initial_s": 0.01, "retry_max_s": 0.02,
                               "db_path": tmp_path / "p.duckdb",
                               "dead_letter_path": tmp_path / "dl.jsonl",
                               "buffer_dir": tmp_path / "buffer", "buffer_max_bytes": 0,
                               "stats_interval_s": 0}
    base.update(overrides)
    return CollectorConfig(**base).validate()  # type: ignore[arg-type]


async def wait_until(predicate: Callable[[], object], limit: float = 5.0) -> None:
    """Yield to the event loop until *predicate* is true, failing after *limit* seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not predicate():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.005)


def session_exists(port: int, client_id: str, protocol: str) -> bool:
    """Whether the broker still holds a session for *client_id* (its CONNACK says so)."""
    v5 = protocol == "5"
    flags: list[bool] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                         clean_session=None if v5 else False)
    client.on_connect = lambda _c, _u, f, _r, _p: flags.append(bool(f.session_present))
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 0
    if v5:
        client.connect("127.0.0.1", port, clean_start=False, properties=properties)
    else:
        client.connect("127.0.0.1", port)
    for _ in range(100):
        if flags:
            break
        client.loop(timeout=0.1)
    assert flags, "no CONNACK"
    client.disconnect()
    return flags[0]
