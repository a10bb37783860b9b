"""Simulated time versus wall time: the four time modes and a drift-free pacer.

* ``virtual``: simulated time runs as fast as the machine allows, from a chosen start.
* ``backfill START..END``: a past span, as fast as possible, with the real timestamps.
* ``realtime``: simulated time *is* wall time; steps fire on the wall-clock grid.
* ``speed FACTOR``: simulated time runs FACTOR times faster than wall time (60 = an hour a
  minute) from a start.

Step *k* with simulated time ``t_k`` is due at ``wall0 + (t_k - t0) / factor`` on an absolute
grid, so a late step never shifts the ones after it (no drift, unlike ``sleep(interval)``).
The wall clock and the sleep function are injected (:class:`Clock`), so tests run in virtual
time without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Protocol

from parkwire import format_ts, to_epoch_ms

_log = logging.getLogger(__name__)


class TimeSpecError(ValueError):
    """A time, span or mode given by the user cannot be used (the message says why)."""


class Mode(StrEnum):
    """How simulated time relates to wall time."""

    VIRTUAL = "virtual"
    BACKFILL = "backfill"
    REALTIME = "realtime"
    SPEED = "speed"


class Clock(Protocol):
    """Wall time and sleeping, injectable so tests never really sleep."""

    def now(self) -> float:
        """Return wall time in seconds since the Unix epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for *seconds* of wall time."""
        ...


class SystemClock:
    """The real wall clock (:func:`time.time`) and :func:`asyncio.sleep`."""

    def now(self) -> float:
        """Return the system's wall time in seconds."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the running event loop."""
        await asyncio.sleep(seconds)


def parse_instant(text: str) -> int:
    """Parse an RFC 3339 timestamp with an offset (``Z`` or ``+07:00``) to epoch ms.

    Raises:
        TimeSpecError: the text is not such a timestamp.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        msg = (f"{text!r} is not an RFC 3339 timestamp; write e.g. "
               "2026-03-02T00:00:00+07:00 or 2026-03-01T17:00:00Z")
        raise TimeSpecError(msg) from None
    if moment.tzinfo is None:
        bare = text.strip()
        msg = f"{text!r} has no UTC offset; add one, e.g. {bare}+07:00 (Vietnam) or {bare}Z (UTC)"
        raise TimeSpecError(msg)
    return to_epoch_ms(moment)


def parse_span(text: str) -> tuple[int, int]:
    """Parse ``START..END`` (two RFC 3339 timestamps) to epoch ms, END exclusive.

    Raises:
        TimeSpecError: malformed, or END is not after START.
    """
    if ".." not in text:
        msg = (f"span {text!r} must be START..END, e.g. "
               "2026-03-02T00:00:00+07:00..2026-03-02T06:00:00+07:00")
        raise TimeSpecError(msg)
    first, _, second = text.partition("..")
    start, end = parse_instant(first), parse_instant(second)
    if end <= start:
        msg = f"span {text!r}: END must be after START"
        raise TimeSpecError(msg)
    return start, end


def _show(ms: int, offset_s: int) -> str:
    """Render *ms* as RFC 3339 in the given UTC offset (for error messages)."""
    zone = timezone(timedelta(seconds=offset_s))
    return datetime.fromtimestamp(ms / 1000, tz=zone).isoformat()


def check_aligned(ms: int, interval_ms: int, what: str, offset_s: int = 0) -> None:
    """Reject *ms* unless it lies on the simulation grid (a multiple of *interval_ms*).

    Raises:
        TimeSpecError: naming the grid instants just before and after.
    """
    if ms % interval_ms:
        before = ms - ms % interval_ms
        msg = (f"{what} {_show(ms, offset_s)} is not on the scenario's {interval_ms / 1000:g} s "
               f"grid; use {_show(before, offset_s)} or {_show(before + interval_ms, offset_s)}")
        raise TimeSpecError(msg)


@dataclass(frozen=True, slots=True)
class TimePlan:
    """When a run starts and ends in simulated time, and how fast it goes.

    Attributes:
        mode: the time mode.
        start_ms: simulated time of the first step (epoch ms, on the grid).
        end_ms: simulated end (exclusive), or ``None`` to run until stopped.
        factor: simulated seconds per wall second, or ``None`` for as fast as possible.
    """

    mode: Mode
    start_ms: int
    end_ms: int | None
    factor: float | None

    @property
    def paced(self) -> bool:
        """Whether steps wait for their wall-clock due time."""
        return self.factor is not None

    def describe(self) -> str:
        """One line for logs and the progress display."""
        end = format_ts(self.end_ms) if self.end_ms is not None else "until stopped"
        pace = "as fast as possible" if self.factor is None else f"x{self.factor:g} wall time"
        return f"{self.mode.value}: {format_ts(self.start_ms)} .. {end}, {pace}"


def plan_time(mode: Mode, interval_ms: int, now_s: float, *, start_ms: int | None = None,
              end_ms: int | None = None, factor: float | None = None,
              sim_duration_s: float | None = None) -> TimePlan:
    """Resolve a time mode and the user's options into a :class:`TimePlan`.

    Args:
        mode: the requested mode.
        interval_ms: the scenario's step interval (the grid).
        now_s: current wall time, seconds since the epoch.
        start_ms: explicit start (backfill, speed, virtual); must be on the grid.
        end_ms: explicit end (backfill); must be on the grid.
        factor: speed factor (speed mode).
        sim_duration_s: simulated seconds to run (any mode but backfill).

    Raises:
        TimeSpecError: an option does not fit the mode or the grid.
    """
    now_ms = int(now_s * 1000)
    next_grid = -(-now_ms // interval_ms) * interval_ms
    if start_ms is not None:
        check_aligned(start_ms, interval_ms, "start")
    if mode is Mode.BACKFILL:
        if start_ms is None or end_ms is None:
            msg = "backfill needs a span START..END"
            raise TimeSpecError(msg)
        check_aligned(end_ms, interval_ms, "end")
        if end_ms > now_ms:
            msg = (f"backfill end {format_ts(end_ms)} is in the future; backfill covers the "
                   "past (use --virtual --start ... for future simulated time)")
            raise TimeSpecError(msg)
        return TimePlan(mode, start_ms, end_ms, None)
    if end_ms is not None:
        msg = f"an explicit end applies to backfill only, not to {mode.value}"
        raise TimeSpecError(msg)
    if mode is Mode.REALTIME:
        if start_ms is not None:
            msg = "realtime starts now; --start applies to --speed and --virtual"
            raise TimeSpecError(msg)
        start, pace = next_grid, 1.0
    elif mode is Mode.SPEED:
        if factor is None or not factor > 0:
            msg = f"speed factor must be a positive number, got {factor!r}"
            raise TimeSpecError(msg)
        start, pace = (start_ms if start_ms is not None else next_grid), factor
    else:
        start = start_ms if start_ms is not None else next_grid - interval_ms
        pace = None
    end = None
    if sim_duration_s is not None:
        if not sim_duration_s > 0:
            msg = f"duration must be positive, got {sim_duration_s!r} s"
            raise TimeSpecError(msg)
        end = start + int(sim_duration_s * 1000)
    return TimePlan(mode, start, end, pace if mode is not Mode.VIRTUAL else None)


class Pacer:
    """Waits for each step's due time on an absolute grid and measures lag.

    Lag is ``now - due`` when a step is late. Each late step beyond *tolerance_s* counts in
    :attr:`late_steps`; a warning is logged at most once per *warn_every_s*.
    """

    def __init__(self, plan: TimePlan, clock: Clock, *, tolerance_s: float = 1.0,
                 warn_every_s: float = 10.0) -> None:
        self.plan = plan
        self.clock = clock
        self.tolerance_s = tolerance_s
        self.warn_every_s = warn_every_s
        self.late_steps = 0
        self.max_lag_s = 0.0
        self.last_lag_s = 0.0
        self._wall0: float | None = None
        self._last_warn: float | None = None

    def due(self, t_ms: int) -> float | None:
        """Wall time (s) at which the step at simulated *t_ms* is due; ``None`` if unpaced."""
        factor = self.plan.factor
        if factor is None:
            return None
        if self.plan.mode is Mode.REALTIME:
            return t_ms / 1000
        if self._wall0 is None:
            self._wall0 = self.clock.now()
        return self._wall0 + (t_ms - self.plan.start_ms) / 1000 / factor

    async def wait_for(self, t_ms: int) -> float:
        """Sleep until the step at *t_ms* is due; return how late it is (s, 0 if on time)."""
        due = self.due(t_ms)
        if due is None:
            return 0.0
        now = self.clock.now()
        if now < due:
            await self.clock.sleep(due - now)
            self.last_lag_s = 0.0
            return 0.0
        lag = now - due
        self.last_lag_s = lag
        self.max_lag_s = max(self.max_lag_s, lag)
        if lag > self.tolerance_s:
            self.late_steps += 1
            if self._last_warn is None or now - self._last_warn >= self.warn_every_s:
                self._last_warn = now
                _log.warning(
                    "simulator is %.1f s behind real time at simulated %s (%d late steps so "
                    "far): the machine or the broker cannot keep up with this rate",
                    lag, format_ts(t_ms), self.late_steps)
        return lag
