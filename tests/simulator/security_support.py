"""Helpers shared by the security and fire model tests: grids, split runs, comparisons."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from parkwire import ASSET_TYPES
from simulator.models.output import EventRecord, ModelOutput

#: Monday 2026-03-02 00:00 in Vietnam (UTC+7), as epoch milliseconds.
MONDAY_MS = 1_772_384_400_000
MINUTE_MS = 60_000
DAY_STEPS = 1440

Drivers = Mapping[str, npt.NDArray[np.generic]]
Stepper = Callable[..., ModelOutput]


def grid(days: float, start_ms: int = MONDAY_MS) -> npt.NDArray[np.int64]:
    """Return the 60 s instants of *days* days from *start_ms*."""
    return start_ms + np.arange(int(days * DAY_STEPS), dtype=np.int64) * MINUTE_MS


def run_split(step: Stepper, t_ms: npt.NDArray[np.int64], cuts: Sequence[int],
              drivers: Drivers | None = None) -> list[ModelOutput]:
    """Step a model over *t_ms* in pieces cut at the step indices *cuts*."""
    drivers = drivers or {}
    bounds = [0, *cuts, len(t_ms)]
    return [step(t_ms[a:b], **{k: v[a:b] for k, v in drivers.items()})
            for a, b in itertools.pairwise(bounds)]


def assert_same(whole: ModelOutput, pieces: Sequence[ModelOutput]) -> None:
    """Assert that split outputs concatenate to the whole run's output, array for array."""
    assert [e for p in pieces for e in p.events] == list(whole.events)
    for index, block in enumerate(whole.telemetry):
        for name, values in block.values.items():
            joined = np.concatenate([p.telemetry[index].values[name] for p in pieces])
            np.testing.assert_array_equal(joined, values, err_msg=f"{block.asset_type}.{name}")
    for name, values in whole.coupling.items():
        np.testing.assert_array_equal(np.concatenate([p.coupling[name] for p in pieces]),
                                      values)


def assert_in_registry_ranges(output: ModelOutput) -> None:
    """Assert every field is present, finite, whole where INT/BOOL, and within its range."""
    for block in output.telemetry:
        asset = ASSET_TYPES[block.asset_type]
        assert set(block.values) == set(asset.field_names), block.asset_type
        for name, quantity in asset.quantities.items():
            values = block.values[name]
            assert values.shape == (len(block.t_ms), len(block.device_ids))
            assert np.isfinite(values).all(), name
            assert values.min() >= quantity.minimum, (name, values.min())
            assert values.max() <= quantity.maximum, (name, values.max())
            if quantity.value_type != "float":
                np.testing.assert_array_equal(values, np.round(values), err_msg=name)


def assert_events_ordered(events: Sequence[EventRecord], t_ms: npt.NDArray[np.int64]) -> None:
    """Assert events are in (time, device) order, on the stepped instants, with scalar data."""
    keys = [(e.ts_ms, e.device_id) for e in events]
    assert keys == sorted(keys)
    assert set(np.unique([e.ts_ms for e in events])) <= set(t_ms.tolist())
    for event in events:
        assert all(isinstance(v, float | int | bool | str) for v in event.data.values())


def event_counts(output: ModelOutput) -> Counter[str]:
    """Return how many events of each type *output* holds."""
    return Counter(e.event for e in output.events)


def reported_at(instant: int, step_ms: int = MINUTE_MS) -> int:
    """Return the grid instant that reports something happening at *instant*."""
    return -(-instant // step_ms) * step_ms


def poisson_ok(observed: float, expected: float, k: float = 4.0) -> bool:
    """Return whether *observed* is within *k* Poisson standard deviations of *expected*."""
    return bool(abs(observed - expected) <= k * max(expected, 1.0) ** 0.5)
