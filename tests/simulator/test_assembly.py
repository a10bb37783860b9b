"""Window assembly: multi-rate blocks, typed fields, events and sequence numbers."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

import parkwire
import simulator.assemble
import simulator.encode
from parkwire import Channel, Domain, Telemetry, Topic
from parkwire.schema import AssetType, Quantity, ValueType, quantity_map
from simulator.assemble import Assembler, round_block
from simulator.encode import EventLine, ValueBlock, messages, step_bounds, to_jsonl
from simulator.models.output import DeviceSpec, EventRecord, TelemetryBlock

T0 = 1_772_410_500_000  # 2026-03-02 07:15 +07:00
STEP = 10_000

PUMP = AssetType(
    "pump", Domain.WATER, "pump", "A test pump with every value type",
    quantity_map(
        Quantity("p_kw", "kW", "power", 0.0, 100.0, decimals=1),
        Quantity("starts", "", "starts today", 0, 1000, value_type=ValueType.INT, decimals=0),
        Quantity("running", "", "running", 0, 1, value_type=ValueType.BOOL, decimals=0),
    ))


@pytest.fixture
def pump_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the test pump type where the simulator and the codec look it up."""
    registry = {**parkwire.ASSET_TYPES, "pump": PUMP}
    for module in (simulator.encode, simulator.assemble, parkwire.codec):
        monkeypatch.setattr(module, "ASSET_TYPES", registry)


def _pump_block(rows: list[int], seq0: int) -> ValueBlock:
    k = len(rows)
    data = np.zeros((k, 2, 3))
    data[:, :, 0] = np.arange(k * 2).reshape(k, 2) + 0.5
    data[:, :, 1] = 3.0
    data[:, 1, 2] = 1.0
    topics = tuple(str(Topic("p", "s", Domain.WATER, "pump", d, Channel.TELEMETRY))
                   for d in ("pu-1", "pu-2"))
    return ValueBlock("pump", ("p_kw", "starts", "running"), ("pu-1", "pu-2"), topics, data,
                      rows=np.array(rows, dtype=np.int64), seq0=seq0)


@pytest.mark.usefixtures("pump_registry")
def test_ints_and_flags_print_as_json_ints_and_booleans() -> None:
    """An INT field prints 3 (not 3.0) and a flag prints true/false, as parkwire.encode does."""
    block = _pump_block([0, 2], seq0=5)
    t_ms = T0 + STEP * np.arange(3, dtype=np.int64)
    pairs = messages((block,), t_ms, 0)
    assert len(pairs) == 4
    for (topic, payload), (row, j) in zip(pairs, [(0, 0), (0, 1), (1, 0), (1, 1)], strict=True):
        readings = {"p_kw": float(block.data[row, j, 0]), "starts": 3, "running": bool(j)}
        expected = parkwire.encode(Telemetry(Topic.parse(topic), int(t_ms[2 * row]), 5 + row,
                                             readings))
        assert payload == expected
    assert b'"starts":3,"running":false' in pairs[0][1]


@pytest.mark.usefixtures("pump_registry")
def test_blocks_and_events_merge_in_time_order() -> None:
    """A 10 s block, a 20 s block and events interleave step by step; bounds match."""
    every = _pump_block([0, 1, 2, 3], seq0=0)
    slow = ValueBlock("pump", every.fields, ("pu-3",), ("p/s/water/pump/pu-3/telemetry",),
                      np.ones((2, 1, 3)), rows=np.array([1, 3]), seq0=10)
    event = EventLine(2, "p/s/water/pump/pu-1/event", b'{"v":1}')
    t_ms = T0 + STEP * np.arange(4, dtype=np.int64)
    pairs = messages((every, slow), t_ms, 0, (event,))
    topics = [t.split("/")[4] + ("!" if t.endswith("event") else "") for t, _ in pairs]
    assert topics == ["pu-1", "pu-2", "pu-1", "pu-2", "pu-3", "pu-1", "pu-2", "pu-1!",
                      "pu-1", "pu-2", "pu-3"]
    assert step_bounds((every, slow), t_ms, (event,)) == [0, 2, 5, 8, 11]
    lines = to_jsonl((every, slow), t_ms, 0, (event,)).splitlines()
    assert [orjson.loads(line)["topic"] for line in lines] == [t for t, _ in pairs]
    assert [orjson.loads(p).get("seq") for t, p in pairs if "pu-3" in t] == [10, 11]


def test_a_block_with_fields_out_of_type_order_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast encoder needs floats, then ints, then flags; another order is an error."""
    bad = AssetType("bad", Domain.WATER, "bad", "ints first", quantity_map(
        Quantity("n", "", "count", 0, 9, value_type=ValueType.INT, decimals=0),
        Quantity("p_kw", "kW", "power", 0.0, 9.0)))
    monkeypatch.setattr(simulator.encode, "ASSET_TYPES", {"bad": bad})
    block = ValueBlock("bad", ("n", "p_kw"), ("b-1",), ("p/s/water/bad/b-1/telemetry",),
                       np.zeros((1, 1, 2)))
    with pytest.raises(ValueError, match="floats, ints, flags"):
        messages((block,), np.array([T0]), 0)


@pytest.mark.usefixtures("pump_registry")
def test_assembler_rounds_sequences_and_numbers_events_across_windows() -> None:
    """Sequence numbers continue from window to window; events count per device."""
    devices = (DeviceSpec("pu-1", "pump"), DeviceSpec("pu-2", "pump"))
    assembler = Assembler("p", "s", devices)
    values = {"p_kw": np.array([[1.234, 2.0]]), "starts": np.array([[1.0, 2.0]]),
              "running": np.array([[0.0, 1.0]])}
    first = assembler.block(TelemetryBlock("pump", ("pu-1", "pu-2"),
                                           np.array([T0 + 60_000]), values), T0, STEP)
    second = assembler.block(TelemetryBlock("pump", ("pu-1", "pu-2"),
                                            np.array([T0 + 120_000]), values), T0 + 90_000,
                             STEP)
    assert (first.seq0, second.seq0) == (0, 1)
    assert first.rows is not None
    assert first.rows.tolist() == [6]
    assert second.rows is not None
    assert second.rows.tolist() == [3]
    assert first.data[0, 0, 0] == 1.2  # p_kw has one decimal
    records = (EventRecord(T0 + 1, "pu-2", "trip", {"code": 7}),
               EventRecord(T0 + 15_000, "pu-2", "reset"),
               EventRecord(T0 + 15_001, "pu-1", "trip"))
    lines = assembler.events(records, T0, STEP)
    decoded = [parkwire.decode(e.topic, e.payload) for e in lines]
    assert all(isinstance(d, parkwire.Event) for d in decoded)
    assert [parkwire.encode(d) for d in decoded] == [e.payload for e in lines]
    assert [(e.row, orjson.loads(e.payload)["seq"]) for e in lines] == [(0, 0), (1, 1), (1, 0)]
    assert assembler.topic("pu-1", Channel.EVENT) == "p/s/water/pump/pu-1/event"


@pytest.mark.usefixtures("pump_registry")
def test_assembler_rejects_instants_off_the_grid_and_missing_fields() -> None:
    """A block off the window's grid, or missing a registry field, is a clear error."""
    assembler = Assembler("p", "s", (DeviceSpec("pu-1", "pump"),))
    values = {"p_kw": np.zeros((1, 1)), "starts": np.zeros((1, 1)), "running": np.zeros((1, 1))}
    with pytest.raises(ValueError, match="off the 10000 ms grid"):
        assembler.block(TelemetryBlock("pump", ("pu-1",), np.array([T0 + 5]), values), T0,
                        STEP)
    with pytest.raises(KeyError, match="no starts, running"):
        round_block("pump", {"p_kw": np.zeros((1, 1))})


@pytest.mark.usefixtures("pump_registry")
def test_events_file_by_their_report_instant() -> None:
    """An event reported later goes out with the later step; one reported early is refused."""
    assembler = Assembler("p", "s", (DeviceSpec("pu-1", "pump"),))
    records = (EventRecord(T0 + 1_000, "pu-1", "trip", report_ms=T0 + 20_000),
               EventRecord(T0 + 5_000, "pu-1", "reset"))
    lines = assembler.events(records, T0, STEP)
    assert [(line.row, orjson.loads(line.payload)["event"]) for line in lines] == [
        (0, "reset"), (2, "trip")]
    with pytest.raises(ValueError, match="before the window starts"):
        assembler.events((EventRecord(T0, "pu-1", "trip", report_ms=T0 - 1),), T0, STEP)
