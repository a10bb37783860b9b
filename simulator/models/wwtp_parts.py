"""Stateful building blocks of the wastewater plant model: lags, noise, schedules, holds.

Every block keeps its state between calls so that stepping a run in one window or in several
gives the same numbers bit for bit (the filters carry their ``lfilter`` state; the schedules
draw their intervals in time order, independent of the windows asked for).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from simulator.rng import Stream, device_rng

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_MS_PER_DAY = 86_400_000
_MS_PER_H = 3_600_000


class Lag:
    """First-order lag ``tau dy/dt = x - y`` sampled every *dt_s*, over m channels.

    The discrete form ``y_k = a y_{k-1} + (1 - a) x_k`` with ``a = exp(-dt/tau)`` is exact for
    a piecewise-constant input; ``tau = 0`` passes the input through.
    """

    def __init__(self, tau_s: float, dt_s: float, initial: FloatArray) -> None:
        self.a = math.exp(-dt_s / tau_s) if tau_s > 0.0 else 0.0
        self._state = self.a * np.asarray(initial, dtype=np.float64)

    def __call__(self, x: FloatArray) -> FloatArray:
        """Filter *x* of shape (n, m) (or (n,) for one channel) and keep the state."""
        flat = x.ndim == 1
        data = x[:, np.newaxis] if flat else x
        y, zf = lfilter([1.0 - self.a], [1.0, -self.a], data, axis=0,
                        zi=self._state.reshape(1, -1))
        self._state = np.asarray(zf[0], dtype=np.float64)
        out = np.asarray(y, dtype=np.float64)
        return out[:, 0] if flat else out


class Ar1:
    """Unit-variance AR(1) noise ``x_k = phi x_{k-1} + sqrt(1 - phi^2) e_k`` over m channels."""

    def __init__(self, tau_s: float, dt_s: float, channels: int) -> None:
        self.phi = math.exp(-dt_s / tau_s)
        self._state = np.zeros((1, channels))

    def __call__(self, eps: FloatArray) -> FloatArray:
        """Turn standard-normal innovations (n, m) into the process (n, m)."""
        gain = math.sqrt(1.0 - self.phi * self.phi)
        x, zf = lfilter([gain], [1.0, -self.phi], eps, axis=0, zi=self._state)
        self._state = np.asarray(zf, dtype=np.float64)
        return np.asarray(x, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Interval:
    """One occurrence lasting from ``start_ms`` (inclusive) to ``end_ms`` (exclusive).

    Attributes:
        start_ms: start [ms since epoch].
        end_ms: end [ms since epoch].
        draws: uniform [0, 1) numbers drawn with it, for its details (kind, size).
    """

    start_ms: int
    end_ms: int
    draws: tuple[float, ...]


class IntervalSchedule:
    """Occurrences at Poisson times with log-uniform durations, generated in time order.

    Args:
        rng: the generator (an EVENT or FAULT stream); consumed only here.
        per_year: mean number of occurrences per year (0 disables them).
        min_s: shortest duration [s].
        max_s: longest duration [s].
        start_ms: the run's start; the first occurrence comes after it.
        details: how many uniform numbers each occurrence carries.
    """

    def __init__(self, rng: np.random.Generator, per_year: float, *, min_s: float,
                 max_s: float, start_ms: int, details: int = 0) -> None:
        self._rng = rng
        self._mean_gap_ms = 365.0 * _MS_PER_DAY / per_year if per_year > 0.0 else math.inf
        self._log_min, self._log_max = math.log(min_s), math.log(max_s)
        self._details = details
        self._cursor_ms = float(start_ms)
        self._pending: list[Interval] = []

    def upto(self, t_end_ms: int) -> list[Interval]:
        """Return the occurrences that may touch instants up to *t_end_ms* and drop older ones."""
        while self._cursor_ms <= t_end_ms:
            gap, dur, *rest = self._rng.random(2 + self._details).tolist()
            start = self._cursor_ms + (-math.log1p(-gap) * self._mean_gap_ms)
            if not math.isfinite(start):
                break
            duration_ms = 1000.0 * math.exp(self._log_min + dur * (self._log_max - self._log_min))
            self._pending.append(Interval(int(start), int(start + duration_ms), tuple(rest)))
            self._cursor_ms = start
        return self._pending

    def active(self, t_ms: IntArray) -> tuple[BoolArray, list[tuple[Interval, BoolArray]]]:
        """Return which instants fall in an occurrence, and each touching occurrence's mask."""
        mask = np.zeros(len(t_ms), dtype=bool)
        touching: list[tuple[Interval, BoolArray]] = []
        if len(t_ms) == 0:
            return mask, touching
        first = int(t_ms[0])
        self._pending = [iv for iv in self.upto(int(t_ms[-1])) if iv.end_ms > first]
        for interval in self._pending:
            inside = (t_ms >= interval.start_ms) & (t_ms < interval.end_ms)
            if inside.any():
                mask |= inside
                touching.append((interval, inside))
        return mask, touching


@dataclass(frozen=True, slots=True)
class Windows:
    """Periodic maintenance windows evaluated at some instants.

    Attributes:
        active: the instant falls inside a window (calibrating / cleaning).
        since_h: time since the end of the last window [h] (what drift accumulates over).
        rate: the drift rate drawn for the period the instant belongs to [unit/day].
    """

    active: BoolArray
    since_h: FloatArray
    rate: FloatArray


class PeriodicWindows:
    """One maintenance window per block of *period_weeks* local weeks, on a working day.

    The window of block ``b`` (start weekday Mon-Fri, start hour 08-16 local, duration between
    *min_min* and *max_min* minutes) and the drift rate that applies after it are drawn from
    ``device_rng(seed, device_id, DAY, b)``, so they depend on nothing but the block.

    Args:
        seed: the run's seed.
        device_id: the instrument's stream id.
        period_weeks: weeks between windows.
        min_min: shortest window [min].
        max_min: longest window [min].
        rate: maps a block's generator to its drift rate [unit/day].
    """

    def __init__(self, seed: int, device_id: str, *, period_weeks: int, min_min: float,
                 max_min: float, rate: Callable[[np.random.Generator], float]) -> None:
        self._seed, self._id = seed, device_id
        self._period_days = 7 * period_weeks
        self._weeks = period_weeks
        self._min_ms, self._max_ms = min_min * 60_000.0, max_min * 60_000.0
        self._rate = rate
        self._cache: dict[int, tuple[float, float, float]] = {}

    def _block(self, block: int) -> tuple[float, float, float]:
        found = self._cache.get(block)
        if found is None:
            rng = device_rng(self._seed, self._id, Stream.DAY, block)
            week, weekday, hour, length = rng.random(4).tolist()
            # Day 0 (1970-01-01) was a Thursday: Monday-based day index = local day + 3.
            block_start = (block * self._period_days - 3) * _MS_PER_DAY
            start = (block_start + (int(week * self._weeks) * 7 + int(weekday * 5)) * _MS_PER_DAY
                     + (8.0 + 8.0 * hour) * _MS_PER_H)
            end = start + self._min_ms + length * (self._max_ms - self._min_ms)
            found = (start, end, self._rate(rng))
            if len(self._cache) > 64:  # keep it bounded: only recent blocks are asked for
                self._cache.clear()
            self._cache[block] = found
        return found

    def at(self, t_local_ms: IntArray) -> Windows:
        """Evaluate the windows at local-time instants (epoch ms shifted to local time)."""
        blocks = (t_local_ms // _MS_PER_DAY + 3) // self._period_days
        unique, inverse = np.unique(blocks, return_inverse=True)
        table = np.array([[*self._block(int(b)), *self._block(int(b) - 1)]
                          for b in unique.tolist()]).reshape(-1, 6)
        rows = table[inverse.reshape(-1)]
        start, end, rate, prev_end, prev_rate = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 4], \
            rows[:, 5]
        t = t_local_ms.astype(np.float64)
        after = t >= end
        last_end = np.where(after, end, prev_end)
        return Windows(
            active=(t >= start) & ~after,
            since_h=np.maximum(t - last_end, 0.0) / _MS_PER_H,
            rate=np.where(after, rate, prev_rate),
        )


def hold(values: FloatArray, good: BoolArray, last: float) -> tuple[FloatArray, float]:
    """Replace readings where *good* is False by the last good one (*last* before the run).

    Returns:
        The held series and the new last good value.
    """
    n = len(values)
    if n == 0:
        return values, last
    index = np.where(good, np.arange(n), -1)
    np.maximum.accumulate(index, out=index)
    held = np.where(index >= 0, values[np.maximum(index, 0)], last)
    return held, float(held[-1])


def periodic_interp(hod: FloatArray, hourly: tuple[float, ...]) -> FloatArray:
    """Interpolate a 24-value hourly profile (values at hour centres) periodically at *hod*."""
    centres = np.arange(24) + 0.5
    return np.asarray(np.interp(hod, centres, np.asarray(hourly), period=24.0),
                      dtype=np.float64)


def do_saturation_mgl(temp_c: FloatArray) -> FloatArray:
    """Oxygen saturation of fresh water at sea level [mg/L] (standard cubic fit, 0-40 degC)."""
    t = np.clip(temp_c, 0.0, 40.0)
    sat: FloatArray = 14.652 - 0.41022 * t + 0.007991 * t * t - 0.000077774 * t * t * t
    return sat
