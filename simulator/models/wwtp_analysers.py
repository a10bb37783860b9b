"""Online analysers: what an instrument reports given the true value (domain.md §4.4).

Each analyser adds to the true value:

* noise, ``sd_abs + sd_rel * |x|`` times a standard normal draw;
* a drift that grows linearly from the end of the last calibration or cleaning and resets
  there (the "step change at the end of calibration", [W20][W22]); its rate is drawn per
  maintenance period;
* maintenance windows (status 01, calibrating): the reported value freezes for 10-30 min;
* occasional errors (status 02) at Poisson times, value frozen until the error clears.

Frozen values hold the last reading taken in status 00. Everything is seeded per instrument, so
adding an instrument never changes another one's numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from parkwire.assets.water import STATUS_CALIBRATING, STATUS_ERROR, STATUS_MEASURING
from simulator.models.wwtp_parts import (
    BoolArray,
    FloatArray,
    IntArray,
    IntervalSchedule,
    PeriodicWindows,
    Windows,
    hold,
)
from simulator.rng import Stream, device_rng


@dataclass(frozen=True, slots=True)
class AnalyserSpec:
    """How one instrument misbehaves (all [A] unless the module docstring cites a source).

    Attributes:
        name: instrument name, part of its random-stream id.
        sd_abs: absolute noise standard deviation [unit].
        sd_rel: relative noise standard deviation [1].
        drift_per_day: rate scale of the drift [unit/day]; 0 disables drift.
        drift_signed: draw the rate as ``N(0, drift_per_day)`` when True; otherwise as
            ``drift_per_day * U(0.5, 1.5)`` (a one-sided drift such as fouling).
        period_weeks: weeks between calibrations or cleanings; 0 = never calibrated.
        errors_per_year: mean number of error episodes per year.
        minimum: lowest value the instrument can show [unit].
    """

    name: str
    sd_abs: float
    sd_rel: float = 0.0
    drift_per_day: float = 0.0
    drift_signed: bool = True
    period_weeks: int = 1
    errors_per_year: float = 2.0
    minimum: float = 0.0


@dataclass(frozen=True, slots=True)
class Reading:
    """What an instrument reported at some instants.

    Attributes:
        value: the reported value [unit].
        status: 0 measuring, 1 calibrating, 2 error (as floats, for a telemetry block).
        good: the reading was taken in status 00.
        bias: the drift included in a status-00 reading [unit].
    """

    value: FloatArray
    status: FloatArray
    good: BoolArray
    bias: FloatArray


class Analyser:
    """One seeded instrument (see the module docstring).

    Args:
        spec: its behaviour.
        seed: the run's seed.
        stream_id: unique stream id (``wwtp-station.cod``).
        start_ms: the run's start [ms].
        calibration_min: shortest maintenance window [min].
        calibration_max: longest maintenance window [min].
        error_min_s: shortest error episode [s].
        error_max_s: longest error episode [s].
        initial: the value to hold if the very first reading is not good.
    """

    def __init__(self, spec: AnalyserSpec, *, seed: int, stream_id: str, start_ms: int,
                 calibration_min: float, calibration_max: float, error_min_s: float,
                 error_max_s: float, initial: float) -> None:
        self.spec = spec
        def signed(rng: np.random.Generator) -> float:
            return float(rng.normal(0.0, spec.drift_per_day))

        def one_sided(rng: np.random.Generator) -> float:
            return spec.drift_per_day * float(rng.uniform(0.5, 1.5))

        rate: Callable[[np.random.Generator], float] = signed if spec.drift_signed else one_sided
        self._windows = (PeriodicWindows(seed, stream_id, period_weeks=spec.period_weeks,
                                         min_min=calibration_min, max_min=calibration_max,
                                         rate=rate)
                         if spec.period_weeks > 0 else None)
        self._errors = IntervalSchedule(device_rng(seed, stream_id, Stream.FAULT),
                                        spec.errors_per_year, min_s=error_min_s,
                                        max_s=error_max_s, start_ms=start_ms)
        self._last = initial

    def read(self, true: FloatArray, t_ms: IntArray, t_local_ms: IntArray, eps: FloatArray,
             forced_error: BoolArray | None = None) -> Reading:
        """Return the instrument's readings of *true* at *t_ms*.

        Args:
            true: the true value at each instant [unit].
            t_ms: the instants [ms since epoch, UTC].
            t_local_ms: the same instants in local time (for maintenance windows).
            eps: one standard normal draw per instant.
            forced_error: instants when the instrument cannot measure (no supply).
        """
        spec = self.spec
        n = len(t_ms)
        if self._windows is not None:
            windows = self._windows.at(t_local_ms)
        else:
            windows = Windows(np.zeros(n, dtype=bool), np.zeros(n), np.zeros(n))
        bias = windows.rate * windows.since_h / 24.0 if spec.drift_per_day else np.zeros(n)
        error, _ = self._errors.active(t_ms)
        if forced_error is not None:
            error = error | forced_error
        status = np.where(error, float(STATUS_ERROR),
                          np.where(windows.active, float(STATUS_CALIBRATING),
                                   float(STATUS_MEASURING)))
        good = status == STATUS_MEASURING
        measured = true + bias + (spec.sd_abs + spec.sd_rel * np.abs(true)) * eps
        measured = np.maximum(measured, spec.minimum)
        value, self._last = hold(measured, good, self._last)
        return Reading(value, status, good, bias)

    def windows(self, t_local_ms: IntArray) -> Windows | None:
        """Return the maintenance windows at *t_local_ms* (None if never calibrated)."""
        return None if self._windows is None else self._windows.at(t_local_ms)

    def errors(self, t_ms: IntArray) -> BoolArray:
        """Return the instants inside an error episode."""
        return self._errors.active(t_ms)[0]
