"""The Engine/Window API: wire compatibility, determinism, block-size independence."""

from __future__ import annotations

import dataclasses

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import parkwire
from parkwire import Channel, DeviceState, Event, Status, Telemetry, Topic
from simulator.encode import status_payload
from simulator.engine import Engine
from simulator.scenario import Scenario
from tests.simulator.conftest import MONDAY_MS


def _run(scenario: Scenario, seed: int, blocks: list[int]) -> bytes:
    engine = Engine(scenario, seed, MONDAY_MS)
    return b"".join(engine.generate(n).to_jsonl() for n in blocks)


def test_devices_topics_and_tags(energy_only: Scenario) -> None:
    """One meter per tenant, one mv_meter per feeder plus the incomer, with parkwire topics."""
    engine = Engine(energy_only, 1, MONDAY_MS)
    ids = [d.device_id for d in engine.devices]
    assert ids == ["mtr-t001", "mtr-t002", "mtr-t003", "mtr-t004", "mtr-t005",
                   "mtr-fdr01", "mtr-fdr02", "mtr-ss01"]
    first = engine.devices[0]
    assert first.topic == "minipark/demo-site/energy/meter/mtr-t001/telemetry"
    assert first.status_topic == "minipark/demo-site/energy/meter/mtr-t001/status"
    assert first.tags == {"tenant_id": "t001", "zone": "north", "feeder": "fdr01",
                          "archetype": "garment"}
    assert engine.devices[-1].asset_type == "mv_meter"
    assert engine.gateway_status_topic("sim-1") == "minipark/demo-site/system/gateway/sim-1/status"
    assert (engine.park, engine.site, engine.interval_ms) == ("minipark", "demo-site", 10_000)


def test_start_must_be_on_the_grid(minipark: Scenario) -> None:
    """A start time between grid steps is refused with the nearest valid value."""
    with pytest.raises(ValueError, match=r"not on the 10 s grid.*1772384400000"):
        Engine(minipark, 1, MONDAY_MS + 1234)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        Engine(minipark, 1, MONDAY_MS).generate(-1)


def test_every_domain_brings_its_devices(minipark: Scenario) -> None:
    """The full minipark adds the common and plant meters, inverters, the plant, security."""
    engine = Engine(minipark, 1, MONDAY_MS)
    kinds = {d.asset_type for d in engine.devices}
    assert kinds == {"meter", "mv_meter", "inverter", "weather_station", "wwtp",
                     "wwtp_quality", "monitoring_station", "gate", "pids_zone", "camera",
                     "fire_panel"}
    ids = [d.device_id for d in engine.devices]
    assert ids[5:7] == ["mtr-common", "mtr-wwtp"]
    assert len(ids) == len(set(ids))
    camera = next(d for d in engine.devices if d.asset_type == "camera")
    assert camera.topic.startswith("minipark/demo-site/security/camera/")
    assert camera.status_topic.endswith("/status")


def test_devices_report_at_their_own_intervals(minipark: Scenario) -> None:
    """In 5 min: meters every 10 s, cameras every 60 s, the station once, seq one per report."""
    window = Engine(minipark, 1, MONDAY_MS).generate(30)
    counts: dict[str, list[int]] = {}
    for topic, payload in window.messages():
        if topic.endswith("/telemetry"):
            counts.setdefault(topic, []).append(orjson.loads(payload)["seq"])
    by_kind: dict[str, set[int]] = {}
    for topic, seqs in counts.items():
        assert seqs == list(range(len(seqs)))
        by_kind.setdefault(topic.split("/")[3], set()).add(len(seqs))
    assert by_kind["meter"] == by_kind["inverter"] == {30}
    assert by_kind["camera"] == by_kind["gate"] == by_kind["wwtp"] == {5}
    assert by_kind["monitoring_station"] == {1}
    assert window.last_seqs()[counts.__iter__().__next__()] == 29


def test_windows_continue_in_time_and_sequence(energy_only: Scenario) -> None:
    """Consecutive windows follow on: timestamps on the grid, seq growing by one per step."""
    engine = Engine(energy_only, 1, MONDAY_MS)
    first, second = engine.generate(3), engine.generate(2)
    assert first.t_ms.tolist() == [MONDAY_MS, MONDAY_MS + 10_000, MONDAY_MS + 20_000]
    assert second.t_ms[0] == MONDAY_MS + 30_000
    assert engine.next_ms == MONDAY_MS + 50_000
    assert (first.count, second.count) == (24, 16)
    assert second.step_bounds() == [0, 8, 16]
    seqs = [orjson.loads(p)["seq"] for _, p in second.messages()]
    assert seqs == [3] * 8 + [4] * 8
    assert engine.generate(0).messages() == []
    assert engine.generate(0).to_jsonl() == b""


def test_payloads_are_parkwire_encode_byte_for_byte(minipark: Scenario) -> None:
    """Each payload equals parkwire.encode of the decoded Telemetry, and JSON lines agree."""
    window = Engine(minipark, 5, MONDAY_MS).generate(40)
    messages = window.messages()
    lines = window.to_jsonl().splitlines()
    assert len(messages) == len(lines) == window.count
    for (topic, payload), line in zip(messages, lines, strict=True):
        decoded = parkwire.decode(topic, payload)
        assert isinstance(decoded, Telemetry | Event)
        assert parkwire.encode(decoded) == payload
        prefix = b'{"topic":"' + topic.encode() + b'","payload":'
        assert line == prefix + payload + b"}"


def test_jsonl_matches_an_independent_parkwire_encoding(energy_only: Scenario) -> None:
    """Lines rebuilt from the numeric blocks with parkwire.encode equal to_jsonl exactly."""
    window = Engine(energy_only, 8, MONDAY_MS).generate(25)
    expected = []
    for step, ts in enumerate(window.t_ms.tolist()):
        for block in window.blocks:
            for j, topic in enumerate(block.topics):
                readings = dict(zip(block.fields, block.data[step, j].tolist(), strict=True))
                payload = parkwire.encode(Telemetry(Topic.parse(topic), ts, step, readings))
                expected.append(b'{"topic":"%s","payload":%s}\n' % (topic.encode(), payload))
    assert window.to_jsonl() == b"".join(expected)


def test_every_reading_of_refpark_decodes(refpark_hour: list[tuple[str, bytes]]) -> None:
    """An hour of the reference park passes the contract's validation (all ranges)."""
    for topic, payload in refpark_hour:
        parkwire.decode(topic, payload)


@pytest.fixture(scope="module")
def refpark_hour() -> list[tuple[str, bytes]]:
    """An hour of refpark on a weekday morning."""
    from simulator.scenario import load_scenario
    return Engine(load_scenario("refpark"), 3, MONDAY_MS + 9 * 3_600_000).generate(360).messages()


def test_values_are_rounded_to_the_registry_decimals(energy_only: Scenario) -> None:
    """Readings carry at most each quantity's decimals; values() exposes them by field."""
    window = Engine(energy_only, 5, MONDAY_MS).generate(20)
    block = window.values("meter")
    spec = parkwire.ASSET_TYPES["meter"]
    for name in block.fields:
        values = block.field(name)
        scale = 10.0 ** spec.quantities[name].decimals
        assert np.array_equal(np.round(values * scale) / scale, values)
    with pytest.raises(KeyError, match="no 'inverter' devices"):
        window.values("inverter")


def test_same_seed_same_bytes_other_seed_other_bytes(minipark: Scenario) -> None:
    """Same scenario and seed reproduce byte for byte; another seed changes the output."""
    assert _run(minipark, 11, [500]) == _run(minipark, 11, [500])
    assert _run(minipark, 11, [500]) != _run(minipark, 12, [500])


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=6))
def test_output_does_not_depend_on_block_size(minipark: Scenario, cuts: list[int]) -> None:
    """Any split of a run into windows yields exactly the same bytes (including a day edge)."""
    total = sum(cuts)
    engine = Engine(minipark, 4, MONDAY_MS - 200 * 10_000)
    whole = engine.generate(total).to_jsonl()
    assert _split(minipark, cuts) == whole


def _split(scenario: Scenario, cuts: list[int]) -> bytes:
    engine = Engine(scenario, 4, MONDAY_MS - 200 * 10_000)
    return b"".join(engine.generate(n).to_jsonl() for n in cuts)


def test_a_device_stream_does_not_depend_on_other_devices(energy_only: Scenario) -> None:
    """Removing a tenant leaves every other tenant's readings unchanged."""
    minipark = energy_only
    fewer = dataclasses.replace(minipark, tenants=minipark.tenants[:2] + minipark.tenants[3:])
    full = Engine(minipark, 9, MONDAY_MS).generate(100).values("meter")
    part = Engine(fewer, 9, MONDAY_MS).generate(100).values("meter")
    assert np.array_equal(full.data[:, [0, 1, 3, 4]], part.data)


def test_status_payload_is_a_parkwire_status() -> None:
    """status_payload encodes online/offline exactly as parkwire does."""
    topic = Topic("p", "s", parkwire.Domain.SYSTEM, "gateway", "sim", Channel.STATUS)
    for online, state in ((True, DeviceState.ONLINE), (False, DeviceState.OFFLINE)):
        payload = status_payload(MONDAY_MS, online)
        assert payload == parkwire.encode(Status(topic, MONDAY_MS, state))
        decoded = parkwire.decode(str(topic), payload)
        assert isinstance(decoded, Status)
        assert decoded.state is state
