"""Security and fire device types: gates, PIDS zones, cameras, fire panels."""

from __future__ import annotations

import pytest

from parkwire import ASSET_TYPES, Domain, Kind, ValueType
from parkwire.assets import security
from parkwire.assets.security import FirePanelState


def test_the_domain_declares_four_device_types() -> None:
    """Gates, PIDS zones and cameras are security; fire panels are the fire domain."""
    names = {a.name: a for a in security.ASSET_TYPES}
    assert set(names) == {"gate", "pids_zone", "camera", "fire_panel"}
    for name, asset in names.items():
        registered = ASSET_TYPES[name]
        assert (registered.domain, registered.measurement) == (asset.domain, asset.measurement)
        assert set(registered.field_names) == set(asset.field_names)
    assert names["fire_panel"].domain is Domain.FIRE
    assert {names[n].domain for n in ("gate", "pids_zone", "camera")} == {Domain.SECURITY}


@pytest.mark.parametrize(("name", "measurement"), [
    ("gate", "gate_traffic"), ("pids_zone", "pids_zone"), ("camera", "cctv_health"),
    ("fire_panel", "fire_panel")])
def test_measurements_follow_the_influx_schema(name: str, measurement: str) -> None:
    """Measurement names are domain.md §7.4's tables."""
    assert ASSET_TYPES[name].measurement == measurement


def test_gate_counts_are_whole_numbers_in_and_out() -> None:
    """Every vehicle class and people are counted in and out as integers."""
    gate = ASSET_TYPES["gate"]
    for subject in ("people", "motorbikes", "cars", "buses", "trucks"):
        assert {f"{subject}_in", f"{subject}_out"} <= set(gate.field_names)
    assert all(q.value_type is ValueType.INT and q.decimals == 0 and q.minimum == 0
               for q in gate.quantities.values())


def test_no_personal_identifier_is_a_field() -> None:
    """Badge ids and plates never become telemetry fields (they are event data)."""
    for asset in security.ASSET_TYPES:
        assert not {"badge_id", "plate", "badge", "plate_number"} & set(asset.field_names)


def test_camera_health_has_the_metrics_of_domain_md() -> None:
    """Camera records carry §5.3's health metrics with sensible bounds."""
    camera = ASSET_TYPES["camera"].quantities
    assert set(camera) == {"online", "fps", "bitrate_kbps", "packet_loss_pct", "recording_ok",
                           "storage_days", "view_blocked", "ir_mode", "temperature_c"}
    assert camera["fps"].maximum >= 25.0
    assert camera["bitrate_kbps"].unit == "kbit/s"
    assert camera["packet_loss_pct"].maximum == 100.0
    assert camera["storage_days"].maximum >= 30.0


def test_flags_are_boolean_states() -> None:
    """On/off readings are BOOL states bounded by 0 and 1."""
    flags = [q for a in security.ASSET_TYPES for q in a.quantities.values()
             if q.value_type is ValueType.BOOL]
    assert len(flags) == 10
    assert all(q.kind is Kind.STATE and (q.minimum, q.maximum) == (0, 1) for q in flags)


def test_fire_panel_state_codes_cover_the_state_range() -> None:
    """The state quantity's range is exactly the FirePanelState codes, most severe highest."""
    state = ASSET_TYPES["fire_panel"].quantities["state"]
    codes = [int(c) for c in FirePanelState]
    assert (state.minimum, state.maximum) == (min(codes), max(codes))
    assert max(codes) == FirePanelState.FIRE_ALARM
    assert min(codes) == FirePanelState.NORMAL
    assert state.value_type is ValueType.INT
