"""CCTV health model: availability, night and rain effects, recorders, power, fog, splits."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.calendar import local_time
from simulator.models.cctv import CctvModel, CctvSpec
from simulator.models.output import ModelOutput, TelemetryBlock
from tests.simulator.security_support import (
    MONDAY_MS,
    assert_events_ordered,
    assert_in_registry_ranges,
    assert_same,
    event_counts,
    grid,
    run_split,
)

MONTH = grid(8)
#: A smaller camera estate for the long rate tests (two recorders).
SMALL = CctvSpec(perimeter_cameras=0, gate_cameras=0, road_cameras=28, building_cameras=100)


@pytest.fixture(scope="module")
def month() -> ModelOutput:
    """Eight dry days of the reference park's 400 cameras, seed 21, stepped day by day."""
    model = CctvModel(CctvSpec(), 21, MONDAY_MS)
    days = run_split(model.step, MONTH, list(range(1440, len(MONTH), 1440)))
    blocks = [d.telemetry[0] for d in days]
    values = {name: np.concatenate([b.values[name] for b in blocks])
              for name in blocks[0].values}
    block = TelemetryBlock("camera", blocks[0].device_ids, MONTH, values)
    return ModelOutput((block,), tuple(e for d in days for e in d.events))


def test_reference_park_has_400_cameras_on_7_recorders() -> None:
    """400 cameras: one per PIDS zone, gates, roads, buildings; 64 per recorder."""
    model = CctvModel(CctvSpec(), 1, MONDAY_MS)
    assert len(model.devices) == 400
    assert {d.tags["nvr"] for d in model.devices} == {f"nvr-{k}" for k in range(1, 8)}
    perimeter = [d for d in model.devices if d.tags["area"] == "perimeter"]
    assert perimeter[0].tags["zone_id"] == "pids-z01"
    assert len({d.device_id for d in model.devices}) == 400


def test_health_values_stay_in_range(month: ModelOutput) -> None:
    """A month of camera health stays inside the registry and events are ordered."""
    assert_in_registry_ranges(month)
    assert_events_ordered(month.events, MONTH)


def test_cameras_are_offline_one_to_three_percent_of_the_time(month: ModelOutput) -> None:
    """Offline episodes cover 1-3 % of camera-days in dry weather, as §5.3 says."""
    offline = 1.0 - month.telemetry[0].values["online"][1440:].mean()
    assert 0.01 <= offline <= 0.03
    counts = event_counts(month)
    assert abs(counts["camera_offline"] - counts["camera_online"]) <= 40


def test_offline_cameras_report_zeros(month: ModelOutput) -> None:
    """While a camera is offline its fps, bitrate, temperature and recording read zero."""
    values = month.telemetry[0].values
    off = values["online"] == 0.0
    assert off.any()
    for name in ("fps", "bitrate_kbps", "temperature_c", "recording_ok", "ir_mode"):
        assert values[name][off].max() == 0.0


def test_night_brings_ir_mode_lower_fps_and_higher_bitrate(month: ModelOutput) -> None:
    """In IR mode (18:00-06:00) fps drops on some cameras and bitrate rises 30-60 %."""
    values = month.telemetry[0].values
    hod = local_time(MONTH, "Asia/Ho_Chi_Minh").hod
    night, day = (hod > 0) & (hod < 5), (hod > 10) & (hod < 15)
    online = values["online"] == 1.0
    assert values["ir_mode"][night][online[night]].min() == 1.0
    assert values["ir_mode"][day].max() == 0.0
    ratio = (values["bitrate_kbps"][night][online[night]].mean()
             / values["bitrate_kbps"][day][online[day]].mean())
    assert 1.3 <= ratio <= 1.6
    assert values["fps"][day][online[day]].min() > 23.0
    assert values["fps"][night][online[night]].min() < 13.0
    daytime = values["bitrate_kbps"][day][online[day]]
    assert daytime.mean() == pytest.approx(4000.0, rel=0.05)


def test_rain_raises_bitrate_and_packet_loss() -> None:
    """Rain lifts bitrate (noise) and packet loss against the same dry day."""
    t = grid(1)
    dry = CctvModel(CctvSpec(), 3, MONDAY_MS).step(t).telemetry[0].values
    wet = CctvModel(CctvSpec(), 3, MONDAY_MS).step(
        t, rain_mm_h=np.full(len(t), 8.0)).telemetry[0].values
    assert wet["bitrate_kbps"].mean() > 1.05 * dry["bitrate_kbps"].mean()
    assert wet["packet_loss_pct"].mean() > 2.0 * dry["packet_loss_pct"].mean()


def test_rain_raises_the_offline_rate() -> None:
    """Storms triple the rate at which cameras drop off."""
    t = grid(10)
    dry = CctvModel(SMALL, 4, MONDAY_MS).step(t)
    wet = CctvModel(SMALL, 4, MONDAY_MS).step(t, rain_mm_h=np.full(len(t), 8.0))
    assert event_counts(wet)["camera_offline"] > 2 * event_counts(dry)["camera_offline"]


def test_an_outage_beyond_the_ups_takes_every_camera_down() -> None:
    """Grid lost for 2 h: cameras record on for the UPS's 30 min, then all go offline."""
    t = grid(0.5)
    grid_ok = np.ones(len(t), dtype=bool)
    grid_ok[100:220] = False
    output = CctvModel(CctvSpec(offline_share=0.0), 5, MONDAY_MS).step(t, grid_ok=grid_ok)
    values = output.telemetry[0].values
    assert values["online"][100:130].min() == 1.0
    assert values["online"][131:220].max() == 0.0
    assert values["recording_ok"][131:220].max() == 0.0
    assert values["online"][220:].min() == 1.0
    counts = event_counts(output)
    assert counts["camera_offline"] == counts["camera_online"] == 400


def test_a_failing_recorder_disk_shrinks_retention_then_stops_recording() -> None:
    """After a disk failure retention falls by a disk's share, then recording stops to repair."""
    spec = CctvSpec(perimeter_cameras=0, gate_cameras=0, road_cameras=28, building_cameras=100,
                    disk_failures_per_year=40.0, offline_share=0.0, repair_median_h=200.0)
    output = CctvModel(spec, 6, MONDAY_MS).step(grid(12))
    values = output.telemetry[0].values
    counts = event_counts(output)
    assert counts["nvr_disk_failed"] > 0
    assert values["storage_days"].min() == 0.0
    shrunk = values["storage_days"][(values["storage_days"] > 0) & (values["storage_days"] < 32)]
    assert shrunk.min() >= 32.0 * (1 - 1 / 8) - 1e-9
    assert counts["recording_stopped"] > 0
    assert counts["recording_resumed"] <= counts["recording_stopped"]
    stopped = values["recording_ok"] == 0.0
    assert (values["online"][stopped] == 1.0).any()  # the camera is fine, the recorder is not


def test_lens_fog_hits_outdoor_cameras_in_the_early_morning() -> None:
    """Fogged views appear on outdoor cameras only, between 04:00 and 09:00."""
    spec = CctvSpec(fog_share=0.5, tamper_per_year=0.0, offline_share=0.0)
    model = CctvModel(spec, 7, MONDAY_MS)
    t = grid(3)
    values = model.step(t).telemetry[0].values
    blocked = values["view_blocked"] == 1.0
    hod = local_time(t, "Asia/Ho_Chi_Minh").hod
    assert blocked.any()
    rows = blocked.any(axis=1)
    assert hod[rows].min() >= 4.0
    assert hod[rows].max() < 9.0
    indoor = [i for i, d in enumerate(model.devices) if d.tags["area"] == "building"]
    assert not blocked[:, indoor].any()


def test_injected_motion_is_reported() -> None:
    """Scenario motion on a camera appears as a motion_detected event at its instant."""
    model = CctvModel(CctvSpec(), 8, MONDAY_MS)
    model.inject_motion(MONDAY_MS + 90_500, 3)
    events = [e for e in model.step(grid(0.01)).events if e.event == "motion_detected"]
    assert [(e.ts_ms, e.device_id) for e in events] == [(MONDAY_MS + 120_000, "cam-p004")]
    with pytest.raises(ValueError, match="not after the last stepped instant"):
        model.inject_motion(MONDAY_MS, 3)
    with pytest.raises(ValueError, match="camera 400 is outside"):
        model.inject_motion(MONDAY_MS + 10**8, 400)


def test_output_is_identical_across_window_splits() -> None:
    """Any split of the steps, with rain, an outage and motion, gives the same output."""
    t = grid(1.5)
    rng = np.random.default_rng(1)
    drivers = {"rain_mm_h": rng.exponential(1.0, len(t)),
               "grid_ok": (np.arange(len(t)) < 700) | (np.arange(len(t)) > 760),
               "air_temp_c": np.full(len(t), 30.0)}
    spec = CctvSpec(disk_failures_per_year=30.0, tamper_per_year=20.0, fog_share=0.2)
    runs = []
    for cuts in ([], [1, 300, 730, 1439, 1500]):
        model = CctvModel(spec, 9, MONDAY_MS)
        model.inject_motion(MONDAY_MS + 1_000_000, 5)
        runs.append(run_split(model.step, t, cuts, drivers))
    assert_same(runs[0][0], runs[1])


def test_empty_window_and_bad_spec() -> None:
    """An empty window gives empty arrays; a bad spec names what was expected."""
    output = CctvModel(CctvSpec(), 1, MONDAY_MS).step(np.zeros(0, np.int64))
    assert output.telemetry[0].values["online"].shape == (0, 400)
    with pytest.raises(ValueError, match="two disks"):
        CctvSpec(disks=1)
    with pytest.raises(ValueError, match="interval_s = 7"):
        CctvSpec(interval_s=7)


def test_a_park_without_cameras_steps_to_empty_blocks() -> None:
    """Zero cameras is a valid estate: empty columns, no events, even through an outage."""
    spec = CctvSpec(perimeter_cameras=0, gate_cameras=0, road_cameras=0, building_cameras=0)
    t = grid(0.1)
    output = CctvModel(spec, 1, MONDAY_MS).step(t, grid_ok=np.arange(len(t)) < 50)
    assert output.telemetry[0].values["online"].shape == (len(t), 0)
    assert output.events == ()
    with pytest.raises(ValueError, match="camera counts >= 0"):
        CctvSpec(road_cameras=-1)


def test_injected_faults_take_a_camera_offline_or_block_its_view() -> None:
    """F22: an injected outage and an injected tamper show in telemetry and events, then end."""
    spec = CctvSpec(offline_share=0.0, tamper_per_year=0.0, fog_share=0.0)
    model = CctvModel(spec, 10, MONDAY_MS)
    model.inject_fault(MONDAY_MS + 600_000, 5, 1_800.0)
    model.inject_fault(MONDAY_MS + 630_000, 6, 600.0, view_blocked=True)
    t = grid(0.1)
    output = model.step(t)
    values = output.telemetry[0].values
    online, blocked = values["online"][:, 5], values["view_blocked"][:, 6]
    # 00:10:00 is a grid instant; 00:10:30 is reported at 00:11:00.
    assert online[9] == 1.0
    assert online[10:40].max() == 0.0
    assert online[40:].min() == 1.0
    assert blocked[10] == 0.0
    assert blocked[11:21].min() == 1.0
    assert blocked[21:].max() == 0.0
    events = [(e.ts_ms, e.device_id, e.event) for e in output.events]
    assert (MONDAY_MS + 600_000, "cam-p006", "camera_offline") in events
    assert (MONDAY_MS + 660_000, "cam-p007", "view_blocked") in events
    assert (MONDAY_MS + 2_400_000, "cam-p006", "camera_online") in events
    with pytest.raises(ValueError, match="expected a positive duration"):
        model.inject_fault(MONDAY_MS + 10**8, 5, 0.0)
    with pytest.raises(ValueError, match="fault at"):
        model.inject_fault(MONDAY_MS, 5, 10.0)


def test_a_run_starts_in_the_steady_state(month: ModelOutput) -> None:
    """The first hour already has about the offline share down, not every camera online."""
    online = month.telemetry[0].values["online"]
    first_hour = 1.0 - online[:60].mean()
    assert 0.005 <= first_hour <= 0.04
    assert (online[0] == 0).sum() >= 1
