"""CCTV health as a video management system sees it: one record per camera every 60 s.

Per camera ``c`` and step ``t`` (domain.md §5.3; [A] unless cited)::

    bitrate = B_c * (1 + min(0.6, 0.45 * ir + 0.3 * rain_flag)) * exp(0.05 * x)
    fps     = 25 (12.5 in IR mode on the 20% of cameras that slow their shutter at night)
    loss    = L_c * (1 + 3 * rain_flag) * exp(0.5 * x')

``B_c ~ 4000 kbit/s * LogNormal(0, 0.15)`` (4 MP H.265 [C1][C2]), ``ir`` = infrared mode
(18:00-06:00), ``L_c ~ 0.05 % * LogNormal(0, 0.8)``. Failures:

* offline episodes (power, PoE, fibre cuts): 2 % of camera-days by default (1-3 % in §5.3), as
  Poisson starts with log-normal durations (median 2 h); rain triples the rate (storms);
* view blocked: tampering or defocus (0.5 per camera-year, median 12 h) and lens fogging on
  outdoor cameras in humid early mornings (3 % of camera-days, 04:00-09:00);
* recorder (NVR, 64 channels) disk failure: 0.16 per NVR-year; the recorder's retention falls
  by one disk's share over the first day, then recording stops until the repair (median 72 h);
* power: cameras are PoE-powered from switches that, like the recorders, sit on a UPS
  (30 min); a longer grid outage takes every camera offline and stops recording.

While a camera is offline its record reads zero (online, fps, bitrate, temperature): the VMS
has nothing to report. State changes are published as events at the step that sees them:
``camera_offline``/``camera_online``, ``view_blocked``/``view_restored``,
``recording_stopped``/``recording_resumed``, ``nvr_disk_failed``/``nvr_disk_replaced``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from simulator.calendar import local_time
from simulator.models.episodes import (
    DAY_S,
    BoolArray,
    Episodes,
    FloatArray,
    IntArray,
    SupplyTracker,
    as_bool,
    as_float,
    exposure_s,
    local_midnight_ms,
    normal_quantile,
    occurrences,
    report_instants,
    stamp,
)
from simulator.models.output import DeviceSpec, EventRecord, ModelOutput, TelemetryBlock
from simulator.rng import Stream, device_rng

#: Event order: time, then device (output.ModelOutput).
_ORDER = attrgetter("ts_ms", "device_id")
_STREAM_ID = "security.cctv"
_OUTDOOR = frozenset({"perimeter", "gate", "road"})
_FIELDS = ("online", "fps", "bitrate_kbps", "packet_loss_pct", "recording_ok", "storage_days",
           "view_blocked", "ir_mode", "temperature_c")


@dataclass(frozen=True, slots=True)
class CctvSpec:
    """CCTV parameters (domain.md §0 and §5.3; [A] unless cited).

    Attributes:
        perimeter_cameras: one per PIDS zone, tagged with its zone id.
        gate_cameras: at the gates.
        road_cameras: along the park roads.
        building_cameras: common buildings, car parks, WWTP, substation (indoor-like).
        nvr_channels: cameras per recorder.
        gate_ids: gate device ids the gate cameras are spread over.
        timezone: IANA zone (for the IR-mode hours).
        bitrate_kbps: mean 4 MP H.265 stream [kbit/s] ([C1][C2]).
        bitrate_spread: log-normal sigma of the per-camera bitrate [1].
        ir_bitrate_rise: bitrate rise in IR mode (sensor noise) [1].
        rain_bitrate_rise: bitrate rise in rain [1].
        max_bitrate_rise: cap on the combined rise (30-60 % in §5.3) [1].
        fps: nominal frame rate (PAL region) [1/s].
        night_slow_share: share of cameras that halve their frame rate in IR mode [1].
        ir_on_h: local hour IR mode switches on [h].
        ir_off_h: local hour IR mode switches off [h].
        offline_share: share of camera-days offline in dry weather (1-3 % in §5.3) [1].
        offline_median_h: median offline episode [h] (log-normal, sigma 1).
        rain_offline_factor: extra offline-start rate while raining, times the dry rate [1].
        loss_pct: median packet loss [%].
        tamper_per_year: tamper or defocus detections per camera [1/a].
        tamper_median_h: median time to clear a tamper [h].
        fog_share: share of outdoor camera-days with a fogged lens in the early morning [1].
        disk_failures_per_year: disk failures per recorder [1/a].
        disks: disks per recorder [1].
        stop_after_h: hours after a disk failure at which recording stops if unrepaired [h].
        repair_median_h: median time to replace the disk [h].
        retention_days: design retention of the recorders (30 d requirement + margin) [d].
        ups_runtime_min: UPS autonomy of PoE switches and recorders [min].
        rain_threshold_mm_h: rain above which rain_flag is 1 [mm/h].
        interval_s: telemetry interval [s], a multiple of 10.
    """

    perimeter_cameras: int = 80
    gate_cameras: int = 24
    road_cameras: int = 120
    building_cameras: int = 176
    nvr_channels: int = 64
    gate_ids: tuple[str, ...] = ("gate-main-1", "gate-main-2", "gate-truck-1", "gate-truck-2",
                                 "gate-sec-1", "gate-sec-2")
    timezone: str = "Asia/Ho_Chi_Minh"
    bitrate_kbps: float = 4000.0
    bitrate_spread: float = 0.15
    ir_bitrate_rise: float = 0.45
    rain_bitrate_rise: float = 0.30
    max_bitrate_rise: float = 0.60
    fps: float = 25.0
    night_slow_share: float = 0.2
    ir_on_h: float = 18.0
    ir_off_h: float = 6.0
    offline_share: float = 0.02
    offline_median_h: float = 2.0
    rain_offline_factor: float = 2.0
    loss_pct: float = 0.05
    tamper_per_year: float = 0.5
    tamper_median_h: float = 12.0
    fog_share: float = 0.03
    disk_failures_per_year: float = 0.16
    disks: int = 8
    stop_after_h: float = 24.0
    repair_median_h: float = 72.0
    retention_days: float = 32.0
    ups_runtime_min: float = 30.0
    rain_threshold_mm_h: float = 0.5
    interval_s: int = 60

    @property
    def cameras(self) -> int:
        """Total cameras."""
        return (self.perimeter_cameras + self.gate_cameras + self.road_cameras
                + self.building_cameras)

    def __post_init__(self) -> None:
        counts = (self.perimeter_cameras, self.gate_cameras, self.road_cameras,
                  self.building_cameras)
        if min(counts) < 0 or self.nvr_channels < 1 or self.disks < 2:
            msg = ("CctvSpec: expected camera counts >= 0, at least one NVR channel and two "
                   "disks")
            raise ValueError(msg)
        if self.interval_s <= 0 or self.interval_s % 10:
            msg = f"CctvSpec: interval_s = {self.interval_s}: expected a positive multiple of 10"
            raise ValueError(msg)


class CctvModel:
    """The park's cameras and recorders (see the module docstring)."""

    def __init__(self, spec: CctvSpec, seed: int, start_ms: int) -> None:
        self.spec = spec
        self.interval_s = spec.interval_s
        self.devices = _cameras(spec)
        self.camera_ids = tuple(d.device_id for d in self.devices)
        n = len(self.devices)
        self._seed = seed
        self._start_ms = start_ms
        self._first = True
        self._nvr = np.arange(n) // spec.nvr_channels
        self._nvrs = int(self._nvr[-1]) + 1 if n else 0
        self._outdoor = np.array([d.tags["area"] in _OUTDOOR for d in self.devices], dtype=bool)
        init = device_rng(seed, _STREAM_ID, Stream.INIT)
        u = init.random((n, 4))
        self._bitrate = spec.bitrate_kbps * np.exp(
            spec.bitrate_spread * init.standard_normal(n) - spec.bitrate_spread ** 2 / 2)
        self._loss = spec.loss_pct * np.exp(0.8 * init.standard_normal(n))
        self._slow_at_night = u[:, 0] < spec.night_slow_share
        self._temp_offset = 1.5 * init.standard_normal(n)
        self._counts = device_rng(seed, _STREAM_ID, Stream.EVENT)
        self._offline_detail = device_rng(seed, _STREAM_ID, Stream.EVENT, 1)
        self._tamper_detail = device_rng(seed, _STREAM_ID, Stream.EVENT, 2)
        self._disk_detail = device_rng(seed, _STREAM_ID, Stream.EVENT, 3)
        self._noise = device_rng(seed, _STREAM_ID, Stream.NOISE)
        self._offline = Episodes.empty(n)
        self._warm_start(seed, start_ms)
        self._tamper = Episodes.empty(n)
        self._disk = Episodes.empty(self._nvrs)
        self._disk_since = np.zeros(self._nvrs, np.int64)
        self._supply = SupplyTracker()
        self._previous: dict[str, BoolArray] = {}
        self._motion: list[tuple[int, int]] = []
        self._injected_offline: list[tuple[int, int, int]] = []
        self._injected_tamper: list[tuple[int, int, int]] = []
        self._last_ms = start_ms - spec.interval_s * 1000

    def _warm_start(self, seed: int, start_ms: int) -> None:
        """Begin the run in the steady state: ``offline_share`` of the cameras already down.

        Without it every run would start with all cameras online and settle to the offline
        share over the first hours (an artefact a trainee would notice). A camera found
        offline gets the remaining part of a log-normal episode (median ``offline_median_h``).
        """
        spec = self.spec
        draws = device_rng(seed, _STREAM_ID, Stream.INIT, 7).random((len(self._offline.until),
                                                                     2))
        for camera in np.flatnonzero(draws[:, 0] < spec.offline_share).tolist():
            hours = spec.offline_median_h * math.exp(float(normal_quantile(draws[camera, 1:])[0]))
            # The residual of an episode in progress: uniform over its length.
            end = start_ms + int(hours * draws[camera, 0] / spec.offline_share * 3_600_000) + 1
            self._offline.carry_in(camera, end)

    def inject_motion(self, t_ms: int, camera: int) -> None:
        """Schedule a ``motion_detected`` event on *camera* (index) at *t_ms* (scenarios only).

        Video analytics flag motion in the scene; a real intrusion shows it on the zone's
        perimeter camera within 10 s of the PIDS alarm (domain.md §5.2).
        """
        self._check_injection(t_ms, camera, "motion")
        self._motion.append((int(t_ms), camera))
        self._motion.sort()

    def inject_fault(self, t_ms: int, camera: int, duration_s: float, *,
                     view_blocked: bool = False) -> None:
        """Schedule a camera fault (domain.md §6 F22): offline, or its view blocked (tamper).

        Args:
            t_ms: start [epoch ms], after the stepped time.
            camera: camera index, 0-based.
            duration_s: how long it lasts [s].
            view_blocked: True for a tamper (view blocked), False for the camera going offline.
        """
        self._check_injection(t_ms, camera, "fault")
        if duration_s <= 0:
            msg = f"duration_s = {duration_s}: expected a positive duration"
            raise ValueError(msg)
        target = self._injected_tamper if view_blocked else self._injected_offline
        target.append((int(t_ms), camera, int(duration_s * 1000)))
        target.sort()

    def _check_injection(self, t_ms: int, camera: int, what: str) -> None:
        if not 0 <= camera < len(self.devices):
            msg = f"camera {camera} is outside 0..{len(self.devices) - 1}"
            raise ValueError(msg)
        if t_ms <= self._last_ms:
            msg = f"{what} at {t_ms} is not after the last stepped instant {self._last_ms}"
            raise ValueError(msg)

    def step(self, t_ms: IntArray, *, rain_mm_h: FloatArray | None = None,
             grid_ok: BoolArray | None = None,
             air_temp_c: FloatArray | None = None) -> ModelOutput:
        """Advance over *t_ms* (consecutive instants of this model's grid).

        Args:
            t_ms: instants [epoch ms UTC].
            rain_mm_h: rain intensity per step [mm/h]; None = dry.
            grid_ok: mains supply present per step; None = always.
            air_temp_c: outdoor air temperature per step [degC]; None = a 23-31 degC day.

        Returns:
            One ``camera`` block and the state-change events.
        """
        spec = self.spec
        steps, n = len(t_ms), len(self.devices)
        if steps == 0:
            return ModelOutput((TelemetryBlock("camera", self.camera_ids, t_ms, {
                name: np.zeros((0, n)) for name in _FIELDS}),))
        rain = as_float(rain_mm_h, steps, 0.0)
        grid = as_bool(grid_ok, steps, default=True)
        lt = local_time(t_ms, spec.timezone)
        air = as_float(air_temp_c, steps, math.nan)
        air = np.where(np.isnan(air), 27.0 + 4.0 * np.sin(2 * np.pi * (lt.hod - 9.0) / 24.0), air)
        exposure = exposure_s(t_ms, self.interval_s, first_of_run=self._first)
        self._first = False
        wet = rain > spec.rain_threshold_mm_h
        powered = self._supply.outage_s(t_ms, grid) <= spec.ups_runtime_min * 60.0
        ir = (lt.hod >= spec.ir_on_h) | (lt.hod < spec.ir_off_h)
        # Episode starts: one time-major Poisson draw for every kind (cameras then recorders).
        mean_h = spec.offline_median_h * math.exp(0.5)
        offline_rate = spec.offline_share * 24.0 / mean_h / DAY_S
        per_cam = np.stack([offline_rate * (1.0 + spec.rain_offline_factor * wet),
                            np.full(steps, spec.tamper_per_year / 365.0 / DAY_S)], axis=1)
        lam_cam = (per_cam * exposure[:, None])[:, :, None].repeat(n, axis=2)
        lam_nvr = np.repeat((exposure * spec.disk_failures_per_year / 365.0 / DAY_S)[:, None],
                            self._nvrs, axis=1)
        drawn = self._counts.poisson(np.concatenate([lam_cam.reshape(steps, -1), lam_nvr],
                                                    axis=1))
        cam_counts = drawn[:, : 2 * n].reshape(steps, 2, n)
        offline = self._episodes(t_ms, cam_counts[:, 0], self._offline, self._offline_detail,
                                 spec.offline_median_h, injected=self._injected_offline)
        tampered = self._episodes(t_ms, cam_counts[:, 1], self._tamper, self._tamper_detail,
                                  spec.tamper_median_h, injected=self._injected_tamper)
        stopped, capacity, disk_events = self._disks(t_ms, drawn[:, 2 * n:])
        view = tampered | (self._fog(t_ms, lt.day) & self._outdoor[None, :])
        online = ~offline & powered[:, None]
        recording = online & ~stopped[:, self._nvr]
        noise = self._noise.standard_normal((steps, n, 3))
        rise = np.minimum(spec.max_bitrate_rise,
                          spec.ir_bitrate_rise * ir + spec.rain_bitrate_rise * wet)
        bitrate = self._bitrate[None, :] * (1.0 + rise)[:, None] * np.exp(0.05 * noise[:, :, 0])
        fps_night = np.where(self._slow_at_night, spec.fps / 2.0, spec.fps)
        fps = np.where(ir[:, None], fps_night[None, :], spec.fps) - 0.3 * np.abs(noise[:, :, 1])
        loss = np.minimum(100.0, self._loss[None, :] * (1.0 + 3.0 * wet)[:, None]
                          * np.exp(0.5 * noise[:, :, 1]))
        daylight = np.clip(np.sin(np.pi * (lt.hod - 6.0) / 12.0), 0.0, None)
        # Electronics warm the housing 8 K (10 K with the IR LEDs on); sun adds up to 6 K.
        heat = (8.0 + 2.0 * ir[:, None]
                + np.where(self._outdoor[None, :], 6.0 * daylight[:, None], 0.0))
        temperature = ((air - 2.0 * wet)[:, None] + heat + self._temp_offset[None, :]
                       + 0.3 * noise[:, :, 2])
        storage = spec.retention_days * capacity[:, self._nvr]
        values = {
            "online": online,
            "fps": np.where(online, fps, 0.0),
            "bitrate_kbps": np.where(online, bitrate, 0.0),
            "packet_loss_pct": np.where(online, loss, 0.0),
            "recording_ok": recording,
            "storage_days": np.where(powered[:, None], storage, 0.0),
            "view_blocked": view & online,
            "ir_mode": np.repeat(ir[:, None], n, axis=1) & online,
            "temperature_c": np.where(online, temperature, 0.0),
        }
        events = disk_events
        # Recording events report the recorder's own stops; an offline camera already says
        # why its recording is missing.
        for flag, state, (lost, back) in (
                ("online", online, ("camera_offline", "camera_online")),
                ("view_blocked", values["view_blocked"], ("view_blocked", "view_restored")),
                ("recording_ok", ~stopped[:, self._nvr],
                 ("recording_stopped", "recording_resumed"))):
            events.extend(self._changes(t_ms, flag, state, lost, back))
        while self._motion and self._motion[0][0] <= int(t_ms[-1]):
            at, camera = self._motion.pop(0)
            events.append(EventRecord(int(report_instants(t_ms, np.array([at]))[0]),
                                      self.camera_ids[camera], "motion_detected"))
        self._last_ms = int(t_ms[-1])
        events.sort(key=_ORDER)
        block = TelemetryBlock("camera", self.camera_ids, t_ms,
                               {k: v.astype(np.float64) for k, v in values.items()})
        return ModelOutput((block,), tuple(events))

    def _episodes(self, t_ms: IntArray, counts: IntArray, tracker: Episodes,
                  rng: np.random.Generator, median_h: float, *,
                  injected: list[tuple[int, int, int]]) -> BoolArray:
        """Start log-normal (sigma 1) episodes at the drawn and injected occurrences.

        Returns the (steps, cameras) mask of the condition.
        """
        steps, devices = occurrences(counts)
        u = rng.random(len(steps))
        ts = stamp(t_ms, steps).tolist()
        duration = (median_h * 3_600_000 * np.exp(normal_quantile(u))).astype(np.int64)
        starts = [(at, dev, at + int(d))
                  for at, dev, d in zip(ts, devices.tolist(), duration.tolist(), strict=True)]
        while injected and injected[0][0] <= int(t_ms[-1]):
            at, camera, length = injected.pop(0)
            reported = int(report_instants(t_ms, np.array([at]))[0])
            starts.append((reported, camera, at + length))
        tracker.open_window()
        for at, dev, end in sorted(starts):
            tracker.begin(at, dev, end)
        mask = tracker.mask(t_ms)
        tracker.close_window(t_ms)
        return mask

    def _disks(self, t_ms: IntArray,
               counts: IntArray) -> tuple[BoolArray, FloatArray, list[EventRecord]]:
        """Return recorders stopped (steps, nvrs), their capacity share and disk events."""
        spec = self.spec
        steps, nvrs = occurrences(counts)
        u = self._disk_detail.random(len(steps))
        ts = stamp(t_ms, steps)
        repair = (spec.repair_median_h * 3_600_000 * np.exp(0.5 * normal_quantile(u))
                  ).astype(np.int64)
        events: list[EventRecord] = []
        self._disk.open_window()
        for i in range(len(steps)):
            nvr = int(nvrs[i])
            if self._disk.begin(int(ts[i]), nvr, int(ts[i] + repair[i])):
                self._disk_since[nvr] = int(ts[i])
                events.extend(EventRecord(int(ts[i]), cam, "nvr_disk_failed", {"nvr": nvr + 1})
                              for cam in self._on_nvr(nvr))
        failed = self._disk.mask(t_ms)
        for end, nvr in self._disk.close_window(t_ms):
            events.extend(EventRecord(end, cam, "nvr_disk_replaced", {"nvr": nvr + 1})
                          for cam in self._on_nvr(nvr))
        age_h = (t_ms[:, None] - self._disk_since[None, :]) / 3_600_000
        stopped = failed & (age_h >= spec.stop_after_h)
        shrink = np.clip(age_h / spec.stop_after_h, 0.0, 1.0) / spec.disks
        capacity = np.where(failed, np.where(stopped, 0.0, 1.0 - shrink), 1.0)
        return stopped, capacity, events

    def _on_nvr(self, nvr: int) -> list[str]:
        return [cam for cam, n in zip(self.camera_ids, self._nvr.tolist(), strict=True)
                if n == nvr]

    def _fog(self, t_ms: IntArray, day: IntArray) -> BoolArray:
        """Return (steps, cameras): lens fogged, from one stateless draw per local day."""
        fog = np.zeros((len(t_ms), len(self.devices)), dtype=bool)
        for d in np.unique(day).tolist():
            u = device_rng(self._seed, _STREAM_ID, Stream.DAY, d).random((len(self.devices), 3))
            midnight = local_midnight_ms(d, self.spec.timezone)
            start = midnight + ((4.0 + 2.5 * u[:, 1]) * 3_600_000).astype(np.int64)
            end = start + ((0.5 + 2.0 * u[:, 2]) * 3_600_000).astype(np.int64)
            rows = day == d
            fog[rows] = ((u[:, 0] < self.spec.fog_share)[None, :]
                         & (t_ms[rows, None] >= start[None, :])
                         & (t_ms[rows, None] < end[None, :]))
        return fog

    def _changes(self, t_ms: IntArray, flag: str, state: BoolArray, lost: str,
                 back: str) -> list[EventRecord]:
        """Return events where a flag changes (a camera first seen goes from 'normal')."""
        normal = flag != "view_blocked"
        previous = self._previous.get(flag, np.full(state.shape[1], normal))
        stacked = np.vstack([previous[None, :], state])
        steps, cams = np.nonzero(stacked[1:] != stacked[:-1])
        self._previous[flag] = state[-1].copy()
        return [EventRecord(int(t_ms[s]), self.camera_ids[c],
                            back if state[s, c] == normal else lost)
                for s, c in zip(steps.tolist(), cams.tolist(), strict=True)]


def _cameras(spec: CctvSpec) -> tuple[DeviceSpec, ...]:
    """Return the camera devices: perimeter (one per zone), gates, roads, buildings."""
    devices = [DeviceSpec(f"cam-p{k + 1:03d}", "camera",
                          {"area": "perimeter", "zone_id": f"pids-z{k + 1:02d}"})
               for k in range(spec.perimeter_cameras)]
    devices += [DeviceSpec(f"cam-g{k + 1:03d}", "camera",
                           {"area": "gate", "gate_id": spec.gate_ids[k % len(spec.gate_ids)]})
                for k in range(spec.gate_cameras)]
    devices += [DeviceSpec(f"cam-r{k + 1:03d}", "camera", {"area": "road"})
                for k in range(spec.road_cameras)]
    devices += [DeviceSpec(f"cam-b{k + 1:03d}", "camera", {"area": "building"})
                for k in range(spec.building_cameras)]
    nvr = [f"nvr-{k // spec.nvr_channels + 1}" for k in range(len(devices))]
    return tuple(DeviceSpec(d.device_id, d.asset_type, {**d.tags, "nvr": n})
                 for d, n in zip(devices, nvr, strict=True))
