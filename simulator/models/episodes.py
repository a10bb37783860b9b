"""Building blocks shared by the event-driven models (security, fire): rare occurrences.

Every telemetry instant ``t_i`` of a model stands for the interval ``(t_i - dt, t_i]``: counts
are what happened in it, and the occurrences drawn for step ``i`` are reported at ``t_i``, the
instant the system reports them. Event timestamps therefore always lie on the stepped instants,
inside ``[t_ms[0], t_ms[-1]]`` whatever the window split (the engine files events by window
step); a model that needs finer event times runs on a finer grid. The run's very first step has
no interval behind it (nothing was simulated before ``start_ms``), so its exposure is zero.
Split determinism (docs/models/security.md) rests on two habits:

* all counts of one model come from one generator, drawn as one ``(steps, columns)`` array,
  so the stream is consumed step after step whatever the window split;
* the details of each kind of occurrence come from that kind's own generator, drawn as
  ``(occurrences, width)`` arrays, so they too are consumed in time order.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_T = TypeVar("_T", bound=np.generic)

#: Milliseconds per second.
MS = 1000
#: Seconds per day.
DAY_S = 86_400.0
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def exposure_s(t_ms: IntArray, interval_s: int, *, first_of_run: bool) -> FloatArray:
    """Return the seconds each step's interval covers: ``interval_s``, 0 for the run's first."""
    exposure = np.full(len(t_ms), float(interval_s))
    if first_of_run and len(t_ms):
        exposure[0] = 0.0
    return exposure


@lru_cache(maxsize=64)
def local_midnight_ms(day: int, timezone: str) -> int:
    """Return the epoch ms of local midnight starting local day number *day* (since 1970)."""
    moment = datetime.combine(date.fromordinal(day + _EPOCH_ORDINAL), time(0),
                              tzinfo=zoneinfo.ZoneInfo(timezone))
    return int(moment.timestamp()) * MS


def normal_quantile(u: FloatArray) -> FloatArray:
    """Map uniforms in [0, 1) to standard normal deviates (inverse CDF, tails clipped)."""
    return np.asarray(ndtri(np.clip(u, 1e-12, 1.0 - 1e-12)), dtype=np.float64)


def occurrences(counts: IntArray) -> tuple[IntArray, ...]:
    """Expand a count array into one index tuple per occurrence, in C (time-major) order."""
    where = np.nonzero(counts)
    repeats = counts[where]
    return tuple(np.repeat(axis, repeats) for axis in where)


def stamp(t_ms: IntArray, steps: IntArray) -> IntArray:
    """Return the report instant of occurrences drawn for *steps* (their step's instant)."""
    return t_ms[steps]


def report_instants(t_ms: IntArray, instants: IntArray) -> IntArray:
    """Return, for instants inside ``(t_ms[0] - dt, t_ms[-1]]``, the step that reports each.

    That is the first stepped instant at or after it: an episode ending at 10:00:25 on a 60 s
    grid is reported at 10:01:00.
    """
    index = np.searchsorted(t_ms, instants, side="left")
    return t_ms[np.minimum(index, len(t_ms) - 1)]


@dataclass(slots=True)
class Episodes:
    """Conditions with a start and an end (a fault, an outage), at most one per device at once.

    An occurrence on a device already in the condition is absorbed (a panel in fault does not
    start a second fault of the same kind). Call :meth:`open_window`, then :meth:`begin` for
    each occurrence in time order, then :meth:`mask` and :meth:`close_window`.

    Attributes:
        until: end [epoch ms] of each device's latest episode; 0 when it never had one.
    """

    until: IntArray
    _carried: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    _spans: list[tuple[int, int, int]] = field(default_factory=list)
    _pending_end: dict[int, int] = field(default_factory=dict)
    _ended: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def empty(cls, devices: int) -> Episodes:
        """Return a tracker for *devices* devices, none in the condition."""
        return cls(np.zeros(devices, np.int64))

    def open_window(self) -> None:
        """Remember which episodes carry into the window that starts now."""
        self._carried = self.until.copy()
        self._spans = []
        self._ended = []

    def busy(self, ts_ms: int, device: int) -> bool:
        """Return whether *device* is in the condition at *ts_ms*."""
        return ts_ms < int(self.until[device])

    def begin(self, ts_ms: int, device: int, end_ms: int) -> bool:
        """Start an episode on *device* over ``[ts_ms, end_ms)``; False if it was absorbed."""
        if self.busy(ts_ms, device):
            return False
        previous = self._pending_end.pop(device, None)
        if previous is not None:
            self._ended.append((previous, device))
        self.until[device] = end_ms
        self._spans.append((device, ts_ms, end_ms))
        self._pending_end[device] = end_ms
        return True

    def carry_in(self, device: int, end_ms: int) -> None:
        """Put *device* in the condition from before the run until *end_ms* (a warm start).

        Call before the first window; the episode's end is reported like any other.
        """
        self.until[device] = end_ms
        self._pending_end[device] = end_ms

    def mask(self, t_ms: IntArray) -> BoolArray:
        """Return (steps, devices): whether each device is in the condition at each instant."""
        active: BoolArray = t_ms[:, None] < self._carried[None, :]
        for device, start, end in self._spans:
            active[(t_ms >= start) & (t_ms < end), device] = True
        return active

    def close_window(self, t_ms: IntArray) -> list[tuple[int, int]]:
        """Return (report instant, device) of the episodes that ended by ``t_ms[-1]``, in order.

        An end is reported at the first stepped instant at or after it (:func:`report_instants`).
        """
        last_ms = int(t_ms[-1])
        for device, end in list(self._pending_end.items()):
            if end <= last_ms:
                self._ended.append((end, device))
                del self._pending_end[device]
        ended = sorted(self._ended)
        at = report_instants(t_ms, np.array([end for end, _ in ended], dtype=np.int64))
        return [(int(ts), device) for ts, (_, device) in zip(at, ended, strict=True)]


@dataclass(slots=True)
class SupplyTracker:
    """How long the mains supply has been lost, across windows (for UPS and battery models).

    Attributes:
        outage_since: the instant [epoch ms] the current outage was first seen, or None.
    """

    outage_since: int | None = None

    def outage_s(self, t_ms: IntArray, grid_ok: BoolArray) -> FloatArray:
        """Return, per step, the seconds since the supply was lost (0 while it is present).

        An outage is dated at the first step that sees it (the grid went out somewhere in that
        step's interval).
        """
        steps = len(t_ms)
        if steps == 0:
            return np.zeros(0)
        index = np.arange(steps)
        last_ok = np.maximum.accumulate(np.where(grid_ok, index, -1))
        first_out = np.minimum(last_ok + 1, steps - 1)
        since = t_ms[first_out].astype(np.float64)
        if self.outage_since is not None:
            since[last_ok < 0] = float(self.outage_since)
        outage = np.where(grid_ok, 0.0, (t_ms - since) / MS)
        self.outage_since = None if grid_ok[-1] else int(since[-1])
        return outage


def as_bool(values: npt.ArrayLike | None, steps: int, default: bool) -> BoolArray:
    """Return a driver as a bool array of *steps*, or the *default* everywhere when omitted."""
    if values is None:
        return np.full(steps, default)
    return _checked(np.asarray(values, dtype=bool), steps)


def as_float(values: npt.ArrayLike | None, steps: int, default: float) -> FloatArray:
    """Return a driver as a float array of *steps*, or *default* everywhere when omitted."""
    if values is None:
        return np.full(steps, default)
    return _checked(np.asarray(values, dtype=np.float64), steps)


def _checked(values: npt.NDArray[_T], steps: int) -> npt.NDArray[_T]:
    if values.shape != (steps,):
        msg = f"driver has shape {values.shape}; expected ({steps},), one value per step of t_ms"
        raise ValueError(msg)
    return values
