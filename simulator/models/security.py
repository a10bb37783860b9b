"""The park's security and fire systems as one model: gates, perimeter, cameras, fire panels.

:class:`SecurityModel` composes the four sub-models (each usable on its own) on one 60 s grid
and merges their output. Its drivers are the park's weather (rain, wind, air temperature), the
mains supply and the day's attendance. Models and sources: ``docs/models/security.md``.
"""

from __future__ import annotations

import dataclasses
import heapq
from dataclasses import dataclass, field
from operator import attrgetter

from simulator.models.cctv import CctvModel, CctvSpec
from simulator.models.episodes import MS, BoolArray, FloatArray, IntArray
from simulator.models.fire import FireModel, FireSpec
from simulator.models.gates import GatesModel, GatesSpec
from simulator.models.output import DeviceSpec, EventRecord, ModelOutput
from simulator.models.perimeter import PerimeterModel, PerimeterSpec


@dataclass(frozen=True, slots=True)
class SecuritySpec:
    """The reference park's security and fire systems (domain.md §0, §5).

    Attributes:
        gates: gates, shifts and access control.
        perimeter: PIDS fence zones.
        cctv: cameras and recorders.
        fire: fire-alarm panels.
    """

    gates: GatesSpec = field(default_factory=GatesSpec)
    perimeter: PerimeterSpec = field(default_factory=PerimeterSpec)
    cctv: CctvSpec = field(default_factory=CctvSpec)
    fire: FireSpec = field(default_factory=FireSpec)

    def __post_init__(self) -> None:
        intervals = {self.gates.interval_s, self.perimeter.interval_s, self.cctv.interval_s,
                     self.fire.interval_s}
        if len(intervals) != 1:
            msg = (f"SecuritySpec: interval_s differs between sub-models {sorted(intervals)}; "
                   "expected one interval (step the sub-models separately otherwise)")
            raise ValueError(msg)
        if self.cctv.perimeter_cameras not in (0, self.perimeter.zones):
            msg = (f"SecuritySpec: cctv.perimeter_cameras = {self.cctv.perimeter_cameras}; "
                   f"expected 0 or one per PIDS zone ({self.perimeter.zones})")
            raise ValueError(msg)


class SecurityModel:
    """Gates, perimeter, CCTV and fire panels stepped together (see the module docstring)."""

    def __init__(self, spec: SecuritySpec, seed: int, start_ms: int) -> None:
        self.spec = spec
        self.gates = GatesModel(spec.gates, seed, start_ms)
        self.perimeter = PerimeterModel(spec.perimeter, seed, start_ms)
        # Gate cameras watch this park's gates, whatever the CCTV spec's default list says.
        gate_ids = tuple(g.gate_id for g in spec.gates.gates)
        self.cctv = CctvModel(dataclasses.replace(spec.cctv, gate_ids=gate_ids), seed, start_ms)
        self.fire = FireModel(spec.fire, seed, start_ms)
        self.interval_s = spec.gates.interval_s
        self.devices: tuple[DeviceSpec, ...] = (self.gates.devices + self.perimeter.devices
                                                + self.cctv.devices + self.fire.devices)

    def inject_intrusion(self, t_ms: int, zone: int, *,
                         adjacent_delay_s: float | None = None) -> list[tuple[int, int]]:
        """Schedule a real intrusion in PIDS *zone* (0-based) at *t_ms* (fault scenarios).

        The zone alarms at *t_ms*, its perimeter camera detects motion 3 s later (within the
        10 s of §5.2), and the adjacent zone alarms 20-60 s later (or after
        *adjacent_delay_s*) with motion on its camera too.

        Returns:
            The scheduled PIDS alarms as (epoch ms, zone index).
        """
        alarms = self.perimeter.inject_intrusion(t_ms, zone, adjacent_delay_s=adjacent_delay_s)
        if self.spec.cctv.perimeter_cameras:
            for at, where in alarms:
                self.cctv.inject_motion(at + 3 * MS, where)
        return alarms

    def inject_fire(self, t_ms: int, panel: int) -> list[tuple[int, str]]:
        """Schedule a real fire on fire panel *panel* (0-based); see FireModel.inject_fire."""
        return self.fire.inject_fire(t_ms, panel)

    def step(self, t_ms: IntArray, *, day_activity: FloatArray | None = None,
             rain_mm_h: FloatArray | None = None, wind_ms: FloatArray | None = None,
             air_temp_c: FloatArray | None = None,
             grid_ok: BoolArray | None = None) -> ModelOutput:
        """Advance every sub-model over *t_ms* and merge their output.

        Args:
            t_ms: consecutive instants of the 60 s grid [epoch ms UTC].
            day_activity: attendance factor per step [1]; None = Vietnamese calendar.
            rain_mm_h: rain per step [mm/h]; None = dry.
            wind_ms: wind speed per step [m/s]; None = calm.
            air_temp_c: air temperature per step [degC]; None = a typical day.
            grid_ok: mains present per step (PIDS and CCTV ride a UPS, fire panels a
                battery; gates are unaffected); None = always.

        Returns:
            Four telemetry blocks (gate, pids_zone, camera, fire_panel), the events of all
            four in time order, and the gates' coupling (``workers_on_site``,
            ``trucks_on_site``).
        """
        parts = (
            self.gates.step(t_ms, day_activity=day_activity),
            self.perimeter.step(t_ms, rain_mm_h=rain_mm_h, wind_ms=wind_ms, grid_ok=grid_ok),
            self.cctv.step(t_ms, rain_mm_h=rain_mm_h, grid_ok=grid_ok, air_temp_c=air_temp_c),
            self.fire.step(t_ms, grid_ok=grid_ok),
        )
        events: list[EventRecord] = list(heapq.merge(
            *(part.events for part in parts), key=attrgetter("ts_ms", "device_id")))
        coupling = {name: values for part in parts for name, values in part.coupling.items()}
        return ModelOutput(tuple(block for part in parts for block in part.telemetry),
                           tuple(events), coupling)
