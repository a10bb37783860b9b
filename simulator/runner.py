"""Drive the engine through time and send what it generates to MQTT and/or JSON lines.

:func:`run_simulation` is the programmatic entry point (the ``smartpark simulate`` command and
the demo both call it). It resolves the time mode into a plan, generates windows of steps with
the engine, paces them against the wall clock when the mode asks for it, publishes each step
through the gateway connection and writes JSON lines, and returns :class:`PublishStats`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt

from simulator.clock import Clock, Mode, Pacer, SystemClock, TimePlan, plan_time
from simulator.encode import status_payload as encode_status
from simulator.mqtt import MqttError
from simulator.publisher import GatewayPublisher, PublisherSettings, PublisherStopped
from simulator.scenario import load_scenario
from simulator.scenario.scale import scale_scenario

_log = logging.getLogger(__name__)

#: How many messages an unpaced run generates per window (memory versus call overhead).
WINDOW_MESSAGES = 20_000


class DeviceLike(Protocol):
    """What the runner needs to know about a device."""

    @property
    def device_id(self) -> str:
        """The device's id."""
        ...

    @property
    def topic(self) -> str:
        """Its telemetry topic."""
        ...

    @property
    def status_topic(self) -> str:
        """Its retained status topic."""
        ...


class WindowLike(Protocol):
    """A block of generated steps."""

    @property
    def t_ms(self) -> npt.NDArray[np.int64]:
        """Simulated time of each step."""
        ...

    def messages(self) -> list[tuple[str, bytes]]:
        """Time-ordered (topic, payload) pairs."""
        ...

    def step_bounds(self) -> list[int]:
        """Offsets into :meth:`messages` where each step starts (plus the end)."""
        ...

    def to_jsonl(self) -> bytes:
        """The window as JSON lines."""
        ...

    def last_seqs(self) -> dict[str, int]:
        """Last telemetry sequence number per topic in the window."""
        ...


class EngineLike(Protocol):
    """The generator the runner drives (``simulator.engine.Engine``)."""

    @property
    def interval_ms(self) -> int:
        """Step interval."""
        ...

    @property
    def next_ms(self) -> int:
        """Simulated time of the next step to generate."""
        ...

    @property
    def devices(self) -> Sequence[DeviceLike]:
        """Every device the engine simulates."""
        ...

    def gateway_status_topic(self, client_id: str) -> str:
        """Status topic of the gateway connection named *client_id*."""
        ...

    def generate(self, steps: int) -> WindowLike:
        """Generate the next *steps* steps."""
        ...


#: Builds an engine from (scenario, seed, start_ms).
EngineFactory = Callable[[Any, int, int], EngineLike]


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Everything one simulation run needs.

    Attributes:
        scenario: built-in scenario name, path of a TOML file, or a loaded scenario.
        seed: master seed; the same seed and span give the same messages.
        mode: time mode (see :mod:`simulator.clock`).
        start_ms: simulated start (backfill, speed, virtual), epoch ms on the grid.
        end_ms: simulated end for backfill (exclusive).
        speed: factor for ``Mode.SPEED``.
        sim_duration_s: simulated seconds to run (not backfill).
        wall_duration_s: stop after this many wall seconds.
        output: ``"-"`` for stdout, a file path for JSON lines, or ``None``.
        scale: blocks of the scenario's park to simulate (``--scale``).
        publisher: MQTT settings, or ``None`` for no broker.
        window_messages: messages per generated window in unpaced modes.
    """

    scenario: Any = "refpark"
    seed: int = 7
    mode: Mode = Mode.VIRTUAL
    start_ms: int | None = None
    end_ms: int | None = None
    speed: float | None = None
    sim_duration_s: float | None = None
    wall_duration_s: float | None = None
    output: str | None = None
    publisher: PublisherSettings | None = None
    window_messages: int = WINDOW_MESSAGES
    scale: int = 1


@dataclass(slots=True)
class PublishStats:
    """What a run did.

    Attributes:
        published: telemetry messages delivered to the broker (written at QoS 0,
            acknowledged at QoS 1/2).
        failed: telemetry messages given up on (never acknowledged or refused).
        written: messages written as JSON lines.
        generated: messages the engine generated.
        steps: time steps run.
        sim_start_ms: simulated time of the first step.
        sim_end_ms: simulated time reached (end of the last step run).
        wall_s: wall seconds the run took.
        lag_s: how late the last paced step was (s).
        max_lag_s: the worst lateness seen (s).
        late_steps: steps later than the tolerance (1 s).
        reconnects: MQTT reconnections.
        per_device_last_seq: last telemetry ``seq`` generated per device id.
        error: why the run ended early, if it did.
    """

    published: int = 0
    failed: int = 0
    written: int = 0
    generated: int = 0
    steps: int = 0
    sim_start_ms: int = 0
    sim_end_ms: int = 0
    wall_s: float = 0.0
    lag_s: float = 0.0
    max_lag_s: float = 0.0
    late_steps: int = 0
    reconnects: int = 0
    per_device_last_seq: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def rate(self) -> float:
        """Generated messages per wall second."""
        return self.generated / self.wall_s if self.wall_s > 0 else 0.0

    def summary(self) -> str:
        """One line for the end of a run."""
        text = (f"{self.generated:,} messages in {self.wall_s:.2f} s "
                f"({self.rate:,.0f} msg/s), {self.steps:,} steps")
        if self.published or self.failed:
            text += f"; MQTT: {self.published:,} delivered, {self.failed:,} failed"
        if self.reconnects:
            text += f", {self.reconnects} reconnects"
        if self.late_steps:
            text += f"; {self.late_steps} steps late (max {self.max_lag_s:.1f} s)"
        if self.error:
            text += f"; stopped: {self.error}"
        return text


@dataclass(frozen=True, slots=True)
class Progress:
    """A live snapshot for progress displays."""

    sim_ms: int
    messages: int
    published: int
    wall_s: float
    rate: float
    lag_s: float


def default_engine_factory(scenario: Any, seed: int, start_ms: int) -> EngineLike:
    """Build the real engine (imported here: it pulls in SciPy, which costs a second)."""
    from simulator.engine import Engine  # noqa: PLC0415

    engine: EngineLike = Engine(scenario, seed, start_ms)
    return engine


def _load(scenario: Any, scale: int = 1) -> Any:
    if isinstance(scenario, str | Path):
        scenario = load_scenario(str(scenario))
    return scenario if scale == 1 else scale_scenario(scenario, scale)


def interval_ms_of(scenario: Any) -> int:
    """Return the scenario's step interval in milliseconds."""
    return int(scenario.energy.interval_s * 1000)


def _open_output(output: str | None) -> tuple[IO[bytes] | None, bool]:
    if output is None:
        return None, False
    if output == "-":
        return sys.stdout.buffer, False
    return Path(output).open("wb"), True  # closed by _Run.execute


def _last_seq(last_seq: dict[str, int], topic_to_device: dict[str, str]) -> dict[str, int]:
    return {device: last_seq[topic] for topic, device in topic_to_device.items()
            if topic in last_seq}


async def _wait_due(pacer: Pacer, t_ms: int, stop: asyncio.Event) -> float:
    """Wait for the step's due time, or until *stop* is set, whichever comes first."""
    if pacer.due(t_ms) is None:
        return 0.0
    waiter = asyncio.ensure_future(pacer.wait_for(t_ms))
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if not waiter.done():
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        return pacer.last_lag_s
    return waiter.result()


async def run_simulation(config: SimulationConfig, stop: asyncio.Event | None = None,
                         on_progress: Callable[[Progress], None] | None = None, *,
                         clock: Clock | None = None,
                         engine_factory: EngineFactory | None = None,
                         progress_every_s: float = 0.5,
                         on_publisher: Callable[[GatewayPublisher], None] | None = None,
                         ) -> PublishStats:
    """Run a simulation to its end, its wall-time limit, or until *stop* is set.

    Args:
        config: what to run.
        stop: set it (e.g. from a signal handler) to end the run cleanly.
        on_progress: called with a :class:`Progress` at most every *progress_every_s*
            wall seconds, and once at the end.
        clock: wall clock and sleep (tests inject a virtual one).
        engine_factory: builds the engine (tests inject a fake); default: the real one.
        progress_every_s: progress callback period.
        on_publisher: called with the MQTT publisher once it is connected, for displays
            that read its live counters (a :class:`Progress` is as old as its window).

    Returns:
        The run's :class:`PublishStats`. A broker lost for good during the run ends it with
        ``error`` set (and the undelivered messages in ``failed``) rather than an exception.

    Raises:
        simulator.clock.TimeSpecError: the time options do not fit the mode or the grid.
        simulator.mqtt.MqttError: the broker cannot be reached when the run starts.
    """
    run = _Run(config, stop or asyncio.Event(), on_progress=on_progress,
               clock=clock or SystemClock(),
               engine_factory=engine_factory or default_engine_factory,
               progress_every_s=progress_every_s)
    run.on_publisher = on_publisher
    return await run.execute()


class _Run:
    """State of one run; split from :func:`run_simulation` to keep each step readable."""

    def __init__(self, config: SimulationConfig, stop: asyncio.Event, *,
                 on_progress: Callable[[Progress], None] | None, clock: Clock,
                 engine_factory: EngineFactory, progress_every_s: float) -> None:
        self.config = config
        self.stop = stop
        self.on_progress = on_progress
        self.clock = clock
        self.progress_every_s = progress_every_s
        scenario = _load(config.scenario, config.scale)
        self.interval = interval_ms_of(scenario)
        self.plan: TimePlan = plan_time(
            config.mode, self.interval, clock.now(), start_ms=config.start_ms,
            end_ms=config.end_ms, factor=config.speed, sim_duration_s=config.sim_duration_s)
        self.engine = engine_factory(scenario, config.seed, self.plan.start_ms)
        self.stats = PublishStats(sim_start_ms=self.plan.start_ms, sim_end_ms=self.plan.start_ms)
        self.pacer = Pacer(self.plan, clock)
        self.sim_now = self.plan.start_ms
        self.publisher: GatewayPublisher | None = None
        self.on_publisher: Callable[[GatewayPublisher], None] | None = None
        self.last_seq: dict[str, int] = {}
        self.wall0 = clock.now()
        self.last_progress = self.wall0

    async def execute(self) -> PublishStats:
        config, stats = self.config, self.stats
        if config.publisher is not None:
            client_id = config.publisher.connect.client_id
            self.publisher = GatewayPublisher(
                config.publisher, self.engine.gateway_status_topic(client_id),
                [d.status_topic for d in self.engine.devices],
                status_payload=encode_status, now_ms=lambda: self.sim_now, stop=self.stop)
            await self.publisher.start()
            if self.on_publisher is not None:
                self.on_publisher(self.publisher)
        out, owned = _open_output(config.output)
        self.wall0 = self.last_progress = self.clock.now()
        try:
            await self._loop(out)
        except (MqttError, PublisherStopped) as exc:
            stats.error = str(exc) or "stopped while waiting for the broker"
        except BrokenPipeError:
            stats.error = "output closed by the reader"
        finally:
            if self.publisher is not None:
                await self.publisher.close()
                stats.published = self.publisher.published
                stats.failed = self.publisher.failed
                stats.reconnects = self.publisher.reconnects
            if owned and out is not None:
                out.close()
            stats.wall_s = self.clock.now() - self.wall0
            stats.lag_s = self.pacer.last_lag_s
            stats.max_lag_s = self.pacer.max_lag_s
            stats.late_steps = self.pacer.late_steps
            topic_to_device = {d.topic: d.device_id for d in self.engine.devices}
            stats.per_device_last_seq = _last_seq(self.last_seq, topic_to_device)
        self._report()
        return stats

    def _window_steps(self) -> int:
        """Steps to generate next: 0 when the run is over."""
        if self.stop.is_set():
            return 0
        deadline = self.config.wall_duration_s
        if deadline is not None and self.clock.now() - self.wall0 >= deadline:
            return 0
        steps = 1 if self.plan.paced else max(
            1, self.config.window_messages // max(1, len(self.engine.devices)))
        if self.plan.end_ms is not None:
            remaining = -(-(self.plan.end_ms - self.engine.next_ms) // self.interval)
            steps = min(steps, max(0, remaining))
        return steps

    async def _loop(self, out: IO[bytes] | None) -> None:
        stats = self.stats
        while (steps := self._window_steps()) > 0:
            window = self.engine.generate(steps)
            # Encode only what is used: JSON lines for a file, (topic, payload) pairs for MQTT.
            jsonl = window.to_jsonl() if out is not None else b""
            if self.publisher is None and not self.plan.paced:
                count = window.step_bounds()[-1]
                self._count_window(window.t_ms.tolist(), count)
                if out is not None:
                    out.write(jsonl)
                    out.flush()
                    stats.written += count
                self.last_seq.update(window.last_seqs())
            else:
                msgs = window.messages()
                bounds = window.step_bounds()
                for k, t_ms in enumerate(window.t_ms.tolist()):
                    if self.plan.paced:
                        await _wait_due(self.pacer, t_ms, self.stop)
                        if self.stop.is_set():
                            return  # paced windows hold one step: nothing of it was sent
                    self.sim_now = t_ms
                    if self.publisher is not None:
                        await self.publisher.publish(msgs[bounds[k]:bounds[k + 1]])
                    self._count_window([t_ms], bounds[k + 1] - bounds[k])
                if out is not None:
                    out.write(jsonl)
                    out.flush()
                    stats.written += len(msgs)
                self.last_seq.update(window.last_seqs())
            now = self.clock.now()
            if now - self.last_progress >= self.progress_every_s:
                self.last_progress = now
                self._report()

    def _count_window(self, times: list[int], messages: int) -> None:
        """Account for steps that were sent (or written)."""
        self.stats.steps += len(times)
        self.stats.generated += messages
        self.stats.sim_end_ms = times[-1] + self.interval

    def _report(self) -> None:
        if self.on_progress is None:
            return
        wall = self.clock.now() - self.wall0
        stats = self.stats
        self.on_progress(Progress(
            sim_ms=stats.sim_end_ms, messages=stats.generated,
            published=self.publisher.published if self.publisher else 0, wall_s=wall,
            rate=stats.generated / wall if wall > 0 else 0.0, lag_s=self.pacer.last_lag_s))
