"""Retire a collector's persistent session without losing what the broker queued for it.

mosquitto (checked on 2.0.11) keeps handing a stopped member of a shared subscription its
round-robin share: the messages wait in that member's session until the same client id
connects again. Nothing is lost while the session lives, but a member taken away for good
would strand its share, and a session that expires takes it with it.

:func:`leave_group` resumes the session under the member's client id, unsubscribes (so the
broker queues nothing more for it), stores everything already queued through the normal
pipeline (validated, written or buffered, then acknowledged), waits for its outage buffer
to drain into the database, and finally deletes the session. ``smartpark collect --leave``
runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from collector.config import CollectorConfig
from collector.service import Collector
from collector.source import MqttSource
from collector.stats import CollectorStats

_log = logging.getLogger(__name__)

#: How often the quiet condition is checked.
POLL_S = 0.2


@dataclass(frozen=True)
class LeaveResult:
    """What leaving did.

    Attributes:
        stats: the collector's counters at the end (``received`` = the stranded share).
        ended: True when the session was deleted; False when stopped before it was quiet
            (the session, and what it still holds, stay for a later ``--leave``).
    """

    stats: CollectorStats
    ended: bool


async def leave_group(config: CollectorConfig, *, quiet_s: float = 2.0,
                      stop: asyncio.Event | None = None,
                      on_start: Callable[[Collector], None] | None = None) -> LeaveResult:
    """Store what the broker queued for *config.client_id*, then delete its session.

    The session counts as emptied once no message arrived for *quiet_s* seconds while
    reading was not paused, nothing waits to be acknowledged and the outage buffer is empty.

    Args:
        config: the retiring member's settings (same client id and topic as when it ran).
        quiet_s: seconds without a delivery that mean the session is empty.
        stop: set it to give up early (Ctrl-C): what was received is still stored and
            acknowledged, but the session is kept.
        on_start: called with the running collector (e.g. to show a status line).

    Raises:
        collector.source.MqttConnectError: the broker cannot be reached or refuses.
        FatalSinkError: the database settings are wrong.
    """
    source = MqttSource.from_config(config, leave=True)
    interrupt = stop if stop is not None else asyncio.Event()
    quiet = asyncio.Event()
    async with Collector(config, source=source) as collector:
        if on_start is not None:
            on_start(collector)
        finish = asyncio.Event()
        watcher = asyncio.create_task(_watch(collector, source, quiet_s, quiet, finish))
        relay = asyncio.create_task(_first(interrupt, quiet, finish))
        try:
            await collector.run(finish)
        finally:
            for task in (watcher, relay):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        stats = collector.stats()
    if not quiet.is_set():
        _log.warning("stopped before the session of %r was empty; it is kept (run --leave "
                     "again to finish)", config.client_id)
        return LeaveResult(stats, ended=False)
    await source.end_session()
    _log.info("session of %r ended after storing %d queued messages", config.client_id,
              stats.received)
    return LeaveResult(stats, ended=True)


async def _first(interrupt: asyncio.Event, quiet: asyncio.Event,
                 finish: asyncio.Event) -> None:
    """Set *finish* when either the session is empty or the user interrupts."""
    waits = {asyncio.create_task(interrupt.wait()), asyncio.create_task(quiet.wait())}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    finish.set()


async def _watch(collector: Collector, source: MqttSource, quiet_s: float,
                 quiet: asyncio.Event, finish: asyncio.Event) -> None:
    """Set *quiet* once the session has delivered everything and all of it is stored."""
    # Not connected yet (or again) restarts the quiet period, like a delivery does.
    seen, since = source.delivered, time.monotonic()
    while not finish.is_set():
        await asyncio.sleep(POLL_S)
        stats = collector.stats()
        if source.delivered != seen or source.paused or not stats.connected:
            seen, since = source.delivered, time.monotonic()
            continue
        if (stats.queue_depth == 0 and stats.buffer_messages == 0
                and time.monotonic() - since >= quiet_s):
            quiet.set()
            return
