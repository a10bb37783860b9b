"""Hostile input through the whole collector pipeline: 10,000 generated cases, zero crashes.

Each generated case is one raw MQTT message (topic and payload bytes), valid or broken in one way:
invalid JSON, wrong types, NaN and infinities,
oversized payloads, unknown asset types, wrong schema versions, timestamps far in the past or
future, line-protocol special characters and unicode in ids, topics outside the namespace.
Hypothesis draws 3,000 short streams of 3 to 5 cases (about 12,000 cases, at least 10,000
asserted). All go through one running :class:`Collector` (fake source, decode, batch, sink),
each case followed by an ordinary valid meter reading, so the collector sees one long stream
in which bad and valid messages alternate. Its sink also renders every message as line protocol, the
way the InfluxDB sink does. Then:

* nothing raised, and the collector is still running;
* every valid message is stored, once, as one line of line protocol;
* every bad message is counted under its reason and dead-lettered with that reason, topic
  and payload; the reason is the one its kind calls for.

The run is reproducible (``derandomize=True``, no example database), so CI always checks
the same cases.
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from collector.mapping import LineEncoder
from collector.service import UNENCODABLE, Collector, check_storable
from collector.sinks import MemorySink
from collector.store import DeadLetter
from parkwire import ASSET_TYPES, DecodeError, DecodeReason, Message, decode, encode
from parkwire.codec import MAX_PAYLOAD_BYTES
from tests.collector.fakes import FakeSource
from tests.collector.helpers import fast_config, meter_topic, telemetry
from tests.parkwire.strategies import JSON_VALUES, SEGMENTS, messages

#: Generated messages at least (the examples below hold 3 to 5 each, ~12,000 in all).
CASES = 10_000
#: Hypothesis examples; each is a short stream, which amortises Hypothesis' per-example cost.
EXAMPLES = 3_000

#: Raw message plus the reasons its kind allows (``None`` among them = may be valid).
Case = tuple[str, bytes, frozenset[str | None]]

VALID = frozenset({None, UNENCODABLE})  # a valid event may still hold a line break
ANY_REASON = frozenset(r.value for r in DecodeReason)


def _valid_body(seq: int) -> dict[str, Any]:
    """A valid meter payload as a dict, to break one part of it."""
    body: dict[str, Any] = orjson.loads(telemetry("mtr-fuzz", seq)[1])
    return body


METER_TOPIC = str(meter_topic("mtr-fuzz"))


@st.composite
def valid_cases(draw: st.DrawFn) -> Case:
    """Any valid message of any channel, ids with unicode and line-protocol specials."""
    message: Message = draw(messages())
    return str(message.topic), encode(message), VALID


@st.composite
def special_id_cases(draw: st.DrawFn) -> Case:
    r"""A valid meter message whose device id is full of ``, = space " \`` and unicode."""
    device = draw(st.text(st.sampled_from([*',= "\\é水⚡', "\u200b", "x"]),
                          min_size=1, max_size=40).filter(lambda s: not s.startswith("$")))
    topic, payload = telemetry(device, draw(st.integers(0, 10_000)))
    return topic, payload, frozenset({None})


@st.composite
def invalid_json_cases(draw: st.DrawFn) -> Case:
    """A valid payload cut short, or with bytes that are not UTF-8."""
    payload = telemetry("mtr-fuzz", draw(st.integers(0, 1000)))[1]
    if draw(st.booleans()):
        cut = draw(st.integers(1, len(payload) - 1))
        return METER_TOPIC, payload[:cut], frozenset({"invalid_json"})
    at = draw(st.integers(0, len(payload)))
    junk = draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x00"]))
    # A stray byte inside or around an object: never valid JSON, or not UTF-8.
    return METER_TOPIC, payload[:at] + junk + payload[at:], frozenset({"invalid_json"})


@st.composite
def wrong_type_cases(draw: st.DrawFn) -> Case:
    """One field of a valid payload (or one reading) replaced by any JSON value."""
    body = _valid_body(draw(st.integers(0, 1000)))
    value = draw(JSON_VALUES)
    if draw(st.booleans()):
        body[draw(st.sampled_from(["v", "ts", "seq", "readings", "q"]))] = value
    else:
        body["readings"][draw(st.sampled_from(sorted(body["readings"])))] = value
    return METER_TOPIC, orjson.dumps(body), ANY_REASON | {None}


@st.composite
def non_finite_cases(draw: st.DrawFn) -> Case:
    """A reading written as NaN, Infinity or a number too large for a double."""
    body = _valid_body(draw(st.integers(0, 1000)))
    text = orjson.dumps(body).replace(
        b'"p_kw":', b'"p_kw":' + draw(st.sampled_from(
            [b"NaN", b"-NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e400", b"nan"])) + b",",
        1)
    # Whatever the parser makes of it, a non-finite reading must never be stored.
    return METER_TOPIC, text, frozenset({"invalid_json", "non_finite"})


@st.composite
def oversized_cases(draw: st.DrawFn) -> Case:
    """A valid payload padded past the size limit."""
    payload = telemetry("mtr-fuzz", draw(st.integers(0, 1000)))[1]
    pad = MAX_PAYLOAD_BYTES + 1 - len(payload) + draw(st.integers(0, 4096))
    return METER_TOPIC, payload[:-1] + b" " * pad + b"}", frozenset({"too_large"})


@st.composite
def unknown_asset_cases(draw: st.DrawFn) -> Case:
    """A meter payload on a topic naming an asset type the registry does not know."""
    asset = draw(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20)
                 .filter(lambda a: a not in ASSET_TYPES))
    topic = f"refpark/bac-ninh/energy/{asset}/mtr-fuzz/telemetry"
    return topic, telemetry("mtr-fuzz", 1)[1], frozenset({"unknown_asset_type"})


@st.composite
def schema_version_cases(draw: st.DrawFn) -> Case:
    """A payload claiming another schema version (or none, or a look-alike)."""
    body = _valid_body(draw(st.integers(0, 1000)))
    version = draw(st.sampled_from([0, 2, 99, -1, "1", 1.5, True, None, [1], {"v": 1}]))
    if version is None and draw(st.booleans()):
        del body["v"]
    else:
        body["v"] = version
    return METER_TOPIC, orjson.dumps(body), frozenset({"schema_version"})


@st.composite
def far_timestamp_cases(draw: st.DrawFn) -> Case:
    """Timestamps in year 1 to 1969 or 2200 to 9999, or not RFC 3339 at all."""
    body = _valid_body(draw(st.integers(0, 1000)))
    year = draw(st.integers(1, 1969) | st.integers(2200, 9999))
    body["ts"] = draw(st.sampled_from([
        f"{year:04d}-01-01T00:00:00.000Z", f"{year:04d}-12-31T23:59:59Z",
        "2026-13-01T00:00:00Z", "2026-03-01 17:00:00", "yesterday", "",
        "2026-03-01T17:00:00+07:00"]))
    # A far but well-formed time may be valid by the contract; it is then stored as is.
    return METER_TOPIC, orjson.dumps(body), frozenset({None, "bad_timestamp"})


@st.composite
def foreign_topic_cases(draw: st.DrawFn) -> Case:
    """A valid payload on a topic that does not fit the namespace."""
    depth = draw(st.integers(0, 9).filter(lambda n: n != 6))
    segments = [draw(SEGMENTS) for _ in range(depth)]
    topic = draw(st.sampled_from([
        "/".join(segments),
        "refpark/bac-ninh/energy/meter/mtr-fuzz/telemetri",
        "refpark/bac-ninh/energy/meter//telemetry",
        "$SYS/broker/uptime",
        "refpark/bac-ninh/energy/meter/mtr\x00fuzz/telemetry",
    ]))
    return topic, telemetry("mtr-fuzz", 1)[1], frozenset({"bad_topic", "unknown_asset_type"})


KINDS: dict[str, st.SearchStrategy[Case]] = {
    "valid": valid_cases(),
    "invalid_json": invalid_json_cases(),
    "wrong_type": wrong_type_cases(),
    "non_finite": non_finite_cases(),
    "oversized": oversized_cases(),
    "unknown_asset": unknown_asset_cases(),
    "schema_version": schema_version_cases(),
    "far_timestamp": far_timestamp_cases(),
    "special_ids": special_id_cases(),
    "foreign_topic": foreign_topic_cases(),
}


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """One message of any kind (the kind is recorded as a Hypothesis event)."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    event(kind)
    return draw(KINDS[kind])


class LineSink(MemorySink):
    """A memory sink that also renders each message as line protocol (as Influx is sent)."""

    name = "line"

    def __init__(self) -> None:
        super().__init__()
        self.encoder = LineEncoder()
        self.lines = 0

    def write(self, messages: Sequence[Message], dead_letters: Sequence[DeadLetter]) -> None:
        """Render, check one line per message, then keep the batch."""
        for message in messages:
            line = self.encoder.encode(message)
            assert "\n" not in line.rstrip("\n"), line
            self.lines += 1
        super().write(messages, dead_letters)


def oracle(topic: str, payload: bytes) -> str | None:
    """The reason the contract gives for rejecting a message, or None when it is storable."""
    try:
        message = decode(topic, payload)
        check_storable(message)
    except DecodeError as exc:
        return exc.reason.value
    except ValueError:
        return UNENCODABLE
    return None


def raw_payload(letter: DeadLetter) -> bytes:
    """The payload bytes a dead letter keeps (as UTF-8 text or base64)."""
    if letter.payload_encoding == "base64":
        return base64.b64decode(letter.payload)
    return letter.payload.encode()


class Pipeline:
    """A collector with a fake source and a line-protocol sink, running in its own loop."""

    def __init__(self, tmp_path: Path) -> None:
        config = fast_config(tmp_path, batch_size=4, max_pending=50, batch_interval_s=0.001,
                             stats_interval_s=0.0, dead_letter_max_bytes=1 << 20,
                             dead_letter_backups=1, buffer_dir=tmp_path / "buffer")
        self.loop = asyncio.new_event_loop()
        self.source = FakeSource()
        self.sink = LineSink()
        self.collector = Collector(config, sink=self.sink, source=self.source)
        self.stop = asyncio.Event()
        self.task = self.loop.create_task(self.collector.run(self.stop))
        self.fed = 0
        self.generated = 0
        self.companions = 0
        self.expected_reasons: Counter[str] = Counter()
        self.loop.run_until_complete(self._until(lambda: self.source.handler is not None))

    async def _until(self, done: Any) -> None:
        end = self.loop.time() + 10
        while not done():
            assert not self.task.done(), self.task.exception()
            assert self.loop.time() < end, self.collector.stats()
            await asyncio.sleep(0.0005)

    def companion(self) -> Case:
        """The next ordinary meter reading (its own device, growing seq)."""
        self.companions += 1
        topic, payload = telemetry("mtr-companion", self.companions)
        return topic, payload, frozenset({None})

    def run_stream(self, stream: list[Case]) -> None:
        """Feed *stream*; check each message was stored or dead-lettered as it should be."""
        stored_before = len(self.sink.messages)
        dead_before = len(self.sink.dead_letters)
        expected_stored, expected_dead = [], []
        for topic, payload, allowed in stream:
            reason = oracle(topic, payload)
            assert reason in allowed, (topic, payload[:200], reason)
            if reason is None:
                expected_stored.append(decode(topic, payload))
            else:
                expected_dead.append((topic, payload, reason))
                self.expected_reasons[reason] += 1
            self.source.feed(topic, payload)
            self.fed += 1
        total = self.fed
        self.loop.run_until_complete(self._until(
            lambda: (s := self.collector.stats()).written + s.dead_lettered == total))
        assert self.sink.messages[stored_before:] == expected_stored
        dead = [(d.topic, raw_payload(d), d.reason) for d in self.sink.dead_letters[dead_before:]]
        assert dead == expected_dead

    def close(self) -> None:
        """Stop the collector and the loop."""
        self.stop.set()
        self.loop.run_until_complete(self.task)
        self.loop.close()


def test_ten_thousand_hostile_streams_crash_nothing_and_lose_no_valid_message(
        tmp_path: Path) -> None:
    """>= 10,000 cases, each then a valid one: valid stored, bad ones dead-lettered by reason."""
    pipeline = Pipeline(tmp_path)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(cases(), min_size=3, max_size=5))
    def check(generated: list[Case]) -> None:
        pipeline.generated += len(generated)
        pipeline.run_stream([m for case in generated for m in (case, pipeline.companion())])

    try:
        check()
        stats = pipeline.collector.stats()
    finally:
        pipeline.close()
    assert stats.received == pipeline.fed
    assert stats.written + stats.dead_lettered == pipeline.fed
    assert stats.written == pipeline.sink.lines == len(pipeline.sink.messages)
    assert dict(stats.invalid_by_reason) == dict(pipeline.expected_reasons)
    assert pipeline.generated == pipeline.companions >= CASES
    # Every kind of bad input was exercised.
    for reason in ("invalid_json", "too_large", "unknown_asset_type", "schema_version",
                   "bad_topic", "bad_type", "bad_timestamp"):
        assert pipeline.expected_reasons[reason] > 0, reason


def test_an_encoded_surrogate_is_invalid_json_not_a_crash(tmp_path: Path) -> None:
    """Found by this fuzzer: msgspec raised UnicodeDecodeError, which escaped decode()."""
    topic, payload = telemetry("mtr-fuzz", 7)
    hostile = payload.replace(b'"ts":"2026', b'"ts":"\xed\xa0\x802026', 1)
    assert oracle(topic, hostile) == "invalid_json"
    pipeline = Pipeline(tmp_path)
    try:
        pipeline.run_stream([(topic, hostile, frozenset({"invalid_json"})),
                             pipeline.companion()])
    finally:
        pipeline.close()
    assert pipeline.collector.stats().invalid_by_reason == {"invalid_json": 1}
