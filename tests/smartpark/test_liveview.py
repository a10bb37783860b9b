"""The live view shows the counters and readings an operator needs."""

from __future__ import annotations

from rich.console import Console

from smartpark.liveview import Glance, Snapshot, TenantReading, render


def _text(snap: Snapshot) -> str:
    console = Console(width=120, record=True, color_system=None)
    console.print(render(snap))
    return console.export_text()


def _snapshot(**overrides: object) -> Snapshot:
    values: dict[str, object] = {
        "sim_time": "2026-03-02 07:15:00 +07", "elapsed_s": 12.0, "speed": 60.0,
        "broker": "amqtt", "published": 1234, "stored": 1200, "invalid": 3,
        "publish_rate": 400.0, "store_rate": 398.0, "devices_online": 68, "devices_total": 68,
        "park_load_kw": 41234.5,
        "tenants": (TenantReading("mtr-t001", 812.4, 0.87, 221.3, 12345.6),),
    }
    values.update(overrides)
    return Snapshot(**values)  # type: ignore[arg-type]


def test_view_shows_counters_and_load() -> None:
    """Published, stored, invalid, in-flight, devices and park load all appear, formatted."""
    text = _text(_snapshot())
    for expected in ("1,234", "1,200", "dead-lettered", "31", "68 / 68", "41.23 MW", "x60"):
        assert expected in text


def test_view_lists_tenants_with_units() -> None:
    """The tenant table shows each meter with its unit-labelled columns."""
    text = _text(_snapshot())
    assert "mtr-t001" in text
    assert "P (kW)" in text
    assert "0.870" in text


def test_view_before_any_data() -> None:
    """Before the first reading is stored the view shows a dash for the load and no table."""
    text = _text(_snapshot(park_load_kw=None, tenants=(), stored=0, published=0, invalid=0))
    assert "park load" in text
    assert "Most loaded" not in text


def test_view_warns_when_the_simulator_lags() -> None:
    """A simulator behind its schedule is called out; a punctual one is not."""
    assert "behind schedule" in _text(_snapshot(lag_s=4.5))
    assert "behind schedule" not in _text(_snapshot(lag_s=0.2))


def test_in_flight_never_negative() -> None:
    """In-flight is clamped at zero even if counters are read at slightly different instants."""
    assert _snapshot(published=10, stored=12, invalid=0).in_flight == 0


def test_view_names_a_public_holiday() -> None:
    """A holiday note appears in the view (it explains a park at base load); none otherwise."""
    assert "Vietnam Cultural Day" in _text(_snapshot(day_note="public holiday in Vietnam: "
                                                              "Vietnam Cultural Day"))
    assert "holiday" not in _text(_snapshot())


def test_view_shows_the_other_domains_at_a_glance() -> None:
    """PV, plant, outfall, gates, cameras, perimeter and fire appear once something is stored."""
    glance = Glance(pv_kw=3456.0, plant_inflow_m3h=512.0, effluent_cod_mgl=33.0,
                    effluent_nh4_mgl=1.2, effluent_ok=True, people_in=217, people_out=4,
                    cameras_online=398, cameras=400, pids_alarms=1, fire_not_normal=2,
                    fire_alarms=0)
    text = _text(_snapshot(glance=glance))
    for expected in ("3.46 MW", "512 m³/h", "COD 33, NH4-N 1.2 mg/L", "within limits",
                     "217 in, 4 out", "398 / 400", "1 zones in alarm", "0 in alarm, 2 not normal"):
        assert expected in text
    breach = _text(_snapshot(glance=Glance(effluent_cod_mgl=91.0, effluent_nh4_mgl=1.0,
                                           effluent_ok=False)))
    assert "LIMIT EXCEEDED" in breach
    assert "at a glance" not in _text(_snapshot())
