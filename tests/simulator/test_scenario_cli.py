"""``smartpark scenario list|show|validate`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.scenario import builtin_scenarios
from smartpark.cli import main


def test_list_shows_every_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    """Each built-in scenario is listed with its one-line description."""
    assert main(["scenario", "list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("minipark")
    assert "refpark      60 tenants" in out


def test_show_summarises_a_park(capsys: pytest.CaptureFixture[str]) -> None:
    """Show prints site, substation, tenants by archetype, devices and message rate."""
    assert main(["scenario", "show", "refpark"]) == 0
    out = capsys.readouterr().out
    assert "21.13 N 105.98 E" in out
    assert "110/22 kV, 2 x 63 MVA" in out
    assert "electronics 15" in " ".join(out.split())
    assert "695: 400 camera, 65 fire_panel, 6 gate, 70 inverter, 62 meter" in out
    assert "1,394 telemetry per simulated minute" in out


def test_show_json_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    """--json gives the same facts as a JSON object."""
    assert main(["scenario", "show", "minipark", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["devices"] == 81
    assert info["devices_by_type"]["meter"] == 7  # 5 tenants, the common and plant meters
    assert info["messages_per_minute_by_type"]["meter"] == 42.0
    assert info["messages_per_minute_by_type"]["monitoring_station"] == 0.2
    assert info["messages_per_minute"] == pytest.approx(165.2)  # 826 in 5 min
    assert info["tenants_by_archetype"]["dyeing"] == {"count": 1, "peak_kw": 1800.0}


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    """A good file exits 0 and says ok with a summary."""
    assert main(["scenario", "validate", str(builtin_scenarios()["minipark"])]) == 0
    assert capsys.readouterr().out.startswith("ok: minipark: 5 tenants, 2 feeders, 81 devices")


def test_validate_lists_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad file exits 1 and prints each problem on its own line."""
    text = builtin_scenarios()["minipark"].read_text(encoding="utf-8")
    text = text.replace('archetype = "food"', 'archetype = "bakery"')
    text = text.replace('region = "north"', 'region = "north"\naltitude = 10')
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    assert main(["scenario", "validate", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("bad.toml: site.altitude: is not a known key")
    assert err[1].startswith("bad.toml: tenants[3].archetype: 'bakery' is not an archetype")
    assert main(["scenario", "show", str(bad)]) == 1


def test_bare_scenario_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Without an action the command explains itself and exits 2."""
    assert main(["scenario"]) == 2
    assert "smartpark scenario show refpark" in capsys.readouterr().out


def test_show_a_scaled_park(capsys: pytest.CaptureFixture[str]) -> None:
    """--scale shows the park as `simulate --scale` would run it; nonsense is refused."""
    assert main(["scenario", "show", "minipark", "--scale", "3", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["scale"] == 3
    assert info["tenants"] == 15
    assert info["devices_by_type"]["gate"] == 6
    assert main(["scenario", "show", "minipark", "--scale", "0"]) == 2
    assert "scale must be 1 to" in capsys.readouterr().err
