"""Security and fire device types: gates, perimeter zones, cameras and fire-alarm panels.

Typical values and their sources are in ``docs/models/security.md`` (domain.md §5). Counts are
per telemetry interval (60 s by default) and dimensionless (unit ``1``). Personal identifiers
(badge numbers, number plates) never appear here: they travel in event data only (§7.4).
"""

from __future__ import annotations

from enum import IntEnum

from parkwire.schema import AssetType, Kind, Quantity, ValueType, quantity_map
from parkwire.topics import Domain

#: Largest plausible count in one interval at one gate (a 60 s interval sees at most a few
#: hundred people; the bound leaves room for longer intervals, rejects garbage).
_COUNT_MAX = 100_000.0


class FirePanelState(IntEnum):
    """The ``state`` code of a fire-alarm panel: its most severe active condition."""

    NORMAL = 0
    DISABLEMENT = 1
    """Zones or devices switched out (maintenance, hot work)."""
    POWER_FAIL = 2
    """Mains lost, running on the standby battery."""
    FAULT = 3
    """Loop open or short, dirty detector, earth fault."""
    SUPERVISORY = 4
    """Sprinkler valve closed, fire pump not ready."""
    PRE_ALARM = 5
    """A detector above its warning threshold, not yet in alarm."""
    FIRE_ALARM = 6


def _count(name: str, description: str) -> Quantity:
    return Quantity(name, "1", description, 0.0, _COUNT_MAX, value_type=ValueType.INT,
                    decimals=0)


def _flag(name: str, description: str) -> Quantity:
    return Quantity(name, "", description, 0, 1, Kind.STATE, ValueType.BOOL, decimals=0)


_GATE = quantity_map(
    _count("people_in", "People entering in the interval (all modes)"),
    _count("people_out", "People leaving in the interval"),
    _count("motorbikes_in", "Motorbikes entering"),
    _count("motorbikes_out", "Motorbikes leaving"),
    _count("cars_in", "Cars entering"),
    _count("cars_out", "Cars leaving"),
    _count("buses_in", "Company buses entering"),
    _count("buses_out", "Company buses leaving"),
    _count("trucks_in", "Trucks entering"),
    _count("trucks_out", "Trucks leaving"),
    _count("badge_denied", "Badge reads refused by the access control"),
)

_PIDS_ZONE = quantity_map(
    _flag("armed", "Zone armed"),
    _flag("alarm", "Zone alarm active (latched until the operator resets it)"),
    Quantity("signal_pct", "%", "Sensor signal level, percent of the alarm threshold",
             0.0, 400.0, decimals=1),
    _flag("tamper", "Enclosure or cable tamper detected"),
    _flag("supply_ok", "Zone processor powered (mains or UPS)"),
)

_CAMERA = quantity_map(
    _flag("online", "Camera reachable by the video management system"),
    Quantity("fps", "{frame}/s", "Frames per second received", 0.0, 60.0, decimals=1),
    Quantity("bitrate_kbps", "kbit/s", "Video stream bit rate", 0.0, 50_000.0, decimals=0),
    Quantity("packet_loss_pct", "%", "Packets lost on the stream", 0.0, 100.0, decimals=2),
    _flag("recording_ok", "The recorder is writing this camera's stream"),
    Quantity("storage_days", "d", "Retention the recorder can hold at the current rate",
             0.0, 365.0, decimals=1),
    _flag("view_blocked", "Image analytics report the view blocked, defocused or fogged"),
    _flag("ir_mode", "Infrared night mode on"),
    Quantity("temperature_c", "Cel", "Camera housing temperature (0 while offline)",
             -20.0, 100.0, decimals=1),
)

_FIRE_PANEL = quantity_map(
    Quantity("state", "", "Most severe active condition (FirePanelState code)", 0, 6,
             Kind.STATE, ValueType.INT, decimals=0),
    _count("alarms_active", "Detectors in alarm or pre-alarm"),
    _count("faults_active", "Active fault conditions"),
    _count("disablements_active", "Active disablements"),
    _count("detectors", "Detector heads installed on the panel's loops"),
    _flag("mains_ok", "Mains supply present"),
    _flag("battery_ok", "Standby battery above its low-voltage threshold"),
    Quantity("v_battery", "V", "Standby battery voltage (24 V system)", 0.0, 32.0, decimals=2),
)

#: This domain's device types, in registry order (fire panels belong to Domain.FIRE).
ASSET_TYPES: tuple[AssetType, ...] = (
    AssetType("gate", Domain.SECURITY, "gate_traffic",
              "Park gate: people and vehicle counts in/out, badge refusals", _GATE),
    AssetType("pids_zone", Domain.SECURITY, "pids_zone",
              "Perimeter intrusion detection zone (about 100 m of fence)", _PIDS_ZONE),
    AssetType("camera", Domain.SECURITY, "cctv_health",
              "CCTV camera health as seen by the video management system", _CAMERA),
    AssetType("fire_panel", Domain.FIRE, "fire_panel",
              "Addressable fire-alarm control panel (a tenant or a common area)", _FIRE_PANEL),
)
