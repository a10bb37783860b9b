"""Fakes for the runner, publisher and clock tests: a tiny engine and a virtual wall clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson


class FakeClock:
    """Virtual wall time: sleeping advances it instantly and is recorded."""

    def __init__(self, start: float = 1_772_384_400.0) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        """Return the virtual wall time."""
        return self.t

    async def sleep(self, seconds: float) -> None:
        """Advance virtual time by *seconds* (and yield to the loop once)."""
        self.sleeps.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


@dataclass(frozen=True)
class FakeDevice:
    """A device as the runner sees it."""

    device_id: str
    asset_type: str
    topic: str
    status_topic: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeWindow:
    """Steps of the fake engine, in the real Window's shapes."""

    t_ms: npt.NDArray[np.int64]
    items: list[tuple[str, bytes]]
    per_step: int

    @property
    def count(self) -> int:
        """Number of messages."""
        return len(self.items)

    def messages(self) -> list[tuple[str, bytes]]:
        """Time-ordered (topic, payload)."""
        return list(self.items)

    def step_bounds(self) -> list[int]:
        """Offsets of each step."""
        return [k * self.per_step for k in range(len(self.t_ms) + 1)]

    def last_seqs(self) -> dict[str, int]:
        """Last seq per topic."""
        return {t: orjson.loads(p)["seq"] for t, p in self.items}

    def to_jsonl(self) -> bytes:
        """One JSON line per message."""
        return b"".join(
            orjson.dumps({"topic": t, "payload": orjson.loads(p)}) + b"\n" for t, p in self.items)


class FakeEngine:
    """Every device emits ``{"seq": k, "ts": t}`` each step."""

    def __init__(self, scenario: Any, seed: int, start_ms: int, devices: int = 3) -> None:
        self.interval_ms = int(scenario.energy.interval_s * 1000)
        self.park, self.site = "fake", "lab"
        self.next_ms = start_ms
        self.seed = seed
        self.devices = tuple(
            FakeDevice(f"d{i}", "meter", f"fake/lab/energy/meter/d{i}/telemetry",
                       f"fake/lab/energy/meter/d{i}/status") for i in range(devices))
        self._seq = 0
        self.generated_steps: list[int] = []

    def gateway_status_topic(self, client_id: str) -> str:
        """The gateway's status topic."""
        return f"fake/lab/system/gateway/{client_id}/status"

    def generate(self, steps: int) -> FakeWindow:
        """Return the next *steps* steps."""
        t = self.next_ms + self.interval_ms * np.arange(steps, dtype=np.int64)
        items = []
        for k in range(steps):
            for dev in self.devices:
                body = {"seq": self._seq + k, "ts": int(t[k])}
                items.append((dev.topic, orjson.dumps(body)))
        self._seq += steps
        self.next_ms += steps * self.interval_ms
        self.generated_steps.append(steps)
        return FakeWindow(t, items, len(self.devices))


def fake_scenario(interval_s: int = 10) -> Any:
    """A stand-in scenario: the runner only reads ``energy.interval_s``."""
    return SimpleNamespace(energy=SimpleNamespace(interval_s=interval_s))


def fake_status(ts_ms: int, online: bool) -> bytes:
    """Status payload of the fake park."""
    return orjson.dumps({"ts": ts_ms, "state": "online" if online else "offline"})
