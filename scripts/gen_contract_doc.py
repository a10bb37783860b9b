"""Regenerate the generated sections of ``docs/contract.md`` from :mod:`parkwire` itself.

The quantities table comes from the registry, the examples are messages built with parkwire,
encoded by its codec and decoded again (so every example is valid by construction), and the
decode reasons come from :class:`parkwire.DecodeReason`. Run ``make docs`` (or this script)
after changing parkwire; ``--check`` exits 1 when the file is stale, which a test relies on.

Usage::

    python scripts/gen_contract_doc.py [--check] [PATH]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson

from parkwire import (
    ASSET_TYPES,
    Channel,
    DecodeReason,
    DeviceState,
    Domain,
    Event,
    Message,
    Status,
    Telemetry,
    Topic,
    decode,
    encode,
    format_ts,
)

CONTRACT = Path(__file__).resolve().parent.parent / "docs" / "contract.md"

#: 2026-03-02 07:15 in Vietnam (UTC+7), a Monday morning in the EVN normal-hours band.
EXAMPLE_TS_MS = 1_772_410_500_000

#: What each decode reason means and what the publisher should fix.
REASON_HELP: dict[DecodeReason, str] = {
    DecodeReason.TOO_LARGE: "payload larger than 64 KiB; split it or send fewer readings",
    DecodeReason.BAD_TOPIC: "topic is not `park/site/domain/asset_type/device_id/channel`, "
                            "a level is empty or holds a forbidden character, or the asset type "
                            "belongs to another domain",
    DecodeReason.UNKNOWN_ASSET_TYPE: "the `asset_type` level is not in the registry below",
    DecodeReason.INVALID_JSON: "payload is not UTF-8 JSON (NaN, Infinity and numbers beyond "
                               "double range are not JSON)",
    DecodeReason.NOT_AN_OBJECT: "payload is JSON but not an object",
    DecodeReason.SCHEMA_VERSION: "`v` is missing or not a version this reader knows (1)",
    DecodeReason.MISSING_FIELD: "a required key (`ts`, `seq`, `readings`, `event`) is missing",
    DecodeReason.BAD_TYPE: "a key holds the wrong JSON type (e.g. `seq` as a string, a reading "
                           "as text, `data` as a list)",
    DecodeReason.BAD_TIMESTAMP: "`ts` is not RFC 3339 or has no UTC offset",
    DecodeReason.BAD_SEQUENCE: "`seq` is negative or beyond 2^63 - 1",
    DecodeReason.UNKNOWN_QUANTITY: "a reading's name is not a quantity of that asset type",
    DecodeReason.NON_FINITE: "a number is NaN or infinite (defence in depth: strict JSON "
                             "cannot carry them)",
    DecodeReason.OUT_OF_RANGE: "a reading is outside its plausible range (table below)",
    DecodeReason.BAD_VALUE: "a value is not allowed: unknown `quality` or `state`, empty "
                            "`readings`, an over-long event text",
}


def _meter_readings() -> dict[str, float]:
    """Self-consistent readings of a tenant meter drawing 812 kW at PF 0.937."""
    p_kw, q_kvar = 812.4, 301.7
    s_kva = math.hypot(p_kw, q_kvar)
    volts = (221.8, 222.4, 220.9)
    amps = [s_kva * 1000 / (3 * sum(volts) / 3) * share for share in (1.0123, 0.9871, 1.0006)]
    peak, normal, offpeak = 402_391.7, 1_021_544.1, 413_328.4
    return {
        "p_kw": p_kw, "q_kvar": q_kvar, "s_kva": round(s_kva, 2),
        "pf": round(p_kw / s_kva, 3),
        "v_ln_a": volts[0], "v_ln_b": volts[1], "v_ln_c": volts[2],
        "i_a": round(amps[0], 1), "i_b": round(amps[1], 1), "i_c": round(amps[2], 1),
        "freq_hz": 50.012, "thd_v_pct": 2.1, "thd_i_pct": 8.4,
        "kwh_imp": round(peak + normal + offpeak, 3), "kwh_exp": 0.0, "kvarh_imp": 702_118.5,
        "kwh_peak": peak, "kwh_normal": normal, "kwh_offpeak": offpeak,
    }


def example_messages() -> list[tuple[str, Message]]:
    """One titled example per channel, built and validated with parkwire."""
    meter = Topic("refpark", "bac-ninh", Domain.ENERGY, "meter", "mtr-t017", Channel.TELEMETRY)
    gateway = Topic("refpark", "bac-ninh", Domain.SYSTEM, "gateway", "sim-01", Channel.STATUS)
    feeder = Topic("refpark", "bac-ninh", Domain.ENERGY, "mv_meter", "mtr-ss01-f03",
                   Channel.EVENT)
    return [
        ("Telemetry (QoS 0): one tenant meter's readings",
         Telemetry(meter, EXAMPLE_TS_MS, 1842, _meter_readings())),
        ("Status (retained): the simulator's connection; the broker publishes `offline` "
         "as its last will", Status(gateway, EXAMPLE_TS_MS, DeviceState.ONLINE)),
        ("Event (QoS 1): a discrete occurrence, never dropped",
         Event(feeder, EXAMPLE_TS_MS + 1234, 7, "supply_lost",
               {"phases": "abc", "duration_s": 1.8})),
    ]


def examples_section() -> str:
    """Markdown for the examples: topic, pretty-printed payload, and the exact wire bytes."""
    parts: list[str] = []
    for title, message in example_messages():
        wire = encode(message)
        topic = str(message.topic)
        if decode(topic, wire) != message:  # pragma: no cover - the codec's tests cover this
            msg = f"example {title!r} does not survive a round trip"
            raise AssertionError(msg)
        pretty = orjson.dumps(orjson.loads(wire), option=orjson.OPT_INDENT_2).decode()
        parts.append(
            f"**{title}**\n\nTopic: `{topic}`\n\n```json\n{pretty}\n```\n\n"
            f"On the wire ({len(wire)} bytes, no whitespace):\n\n```\n{wire.decode()}\n```\n"
        )
    return "\n".join(parts)


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ") if abs(value) >= 10_000 else f"{value:g}"


def quantities_section() -> str:
    """Markdown tables of every asset type and its quantities, from the registry."""
    parts: list[str] = []
    for asset in ASSET_TYPES.values():
        head = (f"### `{asset.name}`: {asset.description}\n\n"
                f"Domain `{asset.domain.value}`, measurement (table) `{asset.measurement}`.\n")
        if not asset.quantities:
            parts.append(head + "\nNo readings: this asset type publishes status only.\n")
            continue
        rows = [
            "| field | unit | kind | type | plausible range | decimals | meaning |",
            "|---|---|---|---|---|---|---|",
        ]
        rows.extend(
            f"| `{q.name}` | {q.unit or '-'} | {q.kind.value} | {q.value_type.value} | "
            f"{_number(q.minimum)} .. {_number(q.maximum)} | {q.decimals} | {q.description} |"
            for q in asset.quantities.values()
        )
        parts.append(head + "\n" + "\n".join(rows) + "\n")
    return "\n".join(parts)


def reasons_section() -> str:
    """Markdown table of the decode reasons, in the order the codec checks them."""
    rows = ["| reason | what was wrong |", "|---|---|"]
    rows.extend(f"| `{reason.value}` | {REASON_HELP[reason]} |" for reason in DecodeReason)
    return "\n".join(rows) + "\n"


def timestamp_note() -> str:
    """The example timestamp in both renderings, so prose and examples agree."""
    return f"`{format_ts(EXAMPLE_TS_MS)}` (07:15 in Vietnam, UTC+7)"


SECTIONS: dict[str, Callable[[], str]] = {
    "examples": examples_section,
    "quantities": quantities_section,
    "decode-reasons": reasons_section,
    "example-time": timestamp_note,
}
_REGION = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- END GENERATED -->)",
    re.DOTALL,
)


def render(text: str) -> str:
    """Return *text* with every generated region replaced by fresh content."""
    names = [m.group("name") for m in _REGION.finditer(text)]
    missing = set(SECTIONS) - set(names)
    unknown = set(names) - set(SECTIONS)
    if missing or unknown:
        msg = (f"generated regions: missing {sorted(missing) or 'none'}, "
               f"unknown {sorted(unknown) or 'none'}; known: {', '.join(SECTIONS)}")
        raise ValueError(msg)

    def fill(match: re.Match[str]) -> str:
        return f"{match.group(1)}{SECTIONS[match.group('name')]()}{match.group(4)}"

    return _REGION.sub(fill, text)


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the file (or with ``--check`` only report whether it is stale)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("path", nargs="?", type=Path, default=CONTRACT)
    args = parser.parse_args(argv)
    current = args.path.read_text(encoding="utf-8")
    fresh = render(current)
    if fresh == current:
        return 0
    if args.check:
        sys.stderr.write(f"{args.path} is out of date; run `make docs`\n")
        return 1
    args.path.write_text(fresh, encoding="utf-8")
    sys.stdout.write(f"updated {args.path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
