"""The dead-letter log: text or base64 payloads, flushing and rotation."""

from __future__ import annotations

from pathlib import Path

import orjson

from collector.deadletter import DeadLetterLog, dead_letter


def test_payload_encoding_and_rotation(tmp_path: Path) -> None:
    """UTF-8 payloads stay text, others become base64; the file rotates with bounded backups."""
    path = tmp_path / "dl" / "dead.jsonl"
    log = DeadLetterLog(path, max_bytes=300, backups=2, fsync=True)
    text = dead_letter(0, "t", b'{"a":1}', "bad_type", "detail")
    binary = dead_letter(0, "t", b"\xff\x00", "invalid_json", "detail")
    assert (text.payload, text.payload_encoding) == ('{"a":1}', "utf-8")
    assert (binary.payload, binary.payload_encoding) == ("/wA=", "base64")
    log.write([])
    for _ in range(10):
        log.write([text, binary])
    assert log.rotations >= 3
    names = sorted(p.name for p in path.parent.iterdir())
    assert names[:2] == ["dead.jsonl.1", "dead.jsonl.2"]
    assert "dead.jsonl.3" not in names
    record = orjson.loads((path.parent / "dead.jsonl.1").read_bytes().splitlines()[0])
    assert record["received_at"] == "1970-01-01T00:00:00.000Z"
    assert record["reason"] == "bad_type"


def test_zero_backups_deletes_the_full_file(tmp_path: Path) -> None:
    """With backups=0 a full file is removed rather than kept."""
    path = tmp_path / "dead.jsonl"
    log = DeadLetterLog(path, max_bytes=10, backups=0)
    log.write([dead_letter(0, "t", b"x", "r", "d")])
    assert not path.exists()
