"""Scenario loading and validation: built-in parks, and errors a person can act on."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkwire import is_slug
from simulator.scenario import (
    ARCHETYPES,
    SHIFT_PATTERNS,
    Scenario,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)

MINI = builtin_scenarios()["minipark"]


def _mini_data() -> dict[str, Any]:
    return tomllib.loads(MINI.read_text(encoding="utf-8"))


def _errors(data: dict[str, Any], name: str = "park.toml") -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, Path(name))
    return list(info.value.errors)


def test_builtins_are_listed_and_load() -> None:
    """Both shipped parks are found by name and pass validation."""
    assert {"refpark", "minipark"} <= set(builtin_scenarios())
    for name in builtin_scenarios():
        assert load_scenario(name).park.id == name


def test_refpark_matches_the_reference_mix() -> None:
    """RefPark has domain.md's 60-tenant mix, ~68 MW of peaks and a 2 x 63 MVA substation."""
    park = load_scenario("refpark")
    mix = Counter(t.archetype for t in park.tenants)
    assert mix == {"electronics": 15, "garment": 15, "dyeing": 5, "food": 12,
                   "logistics": 8, "other": 5}
    assert 66_000 <= park.total_peak_kw <= 70_000
    assert (park.site.lat, park.site.lon) == (21.13, 105.98)
    sub = park.energy.substation
    assert (sub.primary_kv, sub.secondary_kv, sub.transformers, sub.transformer_mva) == (
        110.0, 22.0, 2, 63.0)
    assert len(park.energy.feeders) >= 4
    # Tenants, feeders and the incomer, plus the common-load and WWTP meters.
    assert park.meter_count == 60 + len(park.energy.feeders) + 1 + 2


def test_archetype_defaults_and_overrides_apply(minipark: Scenario) -> None:
    """Omitted keys take archetype defaults; pf_mean, shift and feeder overrides win."""
    by_id = {t.id: t for t in minipark.tenants}
    garment = by_id["t001"]
    assert garment.base == ARCHETYPES["garment"].base
    assert garment.shift == "day_ot"
    assert garment.shift_spec is SHIFT_PATTERNS["day_ot"]
    assert garment.archetype_spec is ARCHETYPES["garment"]
    assert garment.feeder == "fdr01"
    assert by_id["t003"].pf_mean == 0.91
    assert by_id["t005"].shift == "two_shift"
    assert by_id["t005"].feeder == "fdr02"


def test_path_and_name_both_work(tmp_path: Path) -> None:
    """A file path loads like a built-in name; a missing file names the built-ins."""
    copy = tmp_path / "copy.toml"
    copy.write_text(MINI.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_scenario(copy).park.id == "minipark"
    assert load_scenario(str(copy)).source == copy
    with pytest.raises(ScenarioError, match=r"no such scenario file.*minipark"):
        load_scenario(tmp_path / "absent.toml")


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    """A syntax error names the file and TOML's line/column."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[park\nid = 1\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^bad\.toml: not valid TOML: .*line 1"):
        load_scenario(bad)


def test_missing_key() -> None:
    """A missing required key is named with its full path."""
    data = _mini_data()
    del data["tenants"][2]["peak_kw"]
    assert _errors(data) == ["park.toml: tenants[2].peak_kw: is missing; it is required"]


def test_unknown_key_is_a_typo_not_a_default() -> None:
    """An unknown key fails and lists the keys that are allowed."""
    data = _mini_data()
    data["tenants"][0]["peak_kW"] = 5.0
    (error,) = _errors(data)
    assert error.startswith("park.toml: tenants[0].peak_kW: is not a known key; expected one of")
    assert "peak_kw" in error


def test_bad_archetype_lists_the_choices() -> None:
    """The brief's example error, word for word in its shape."""
    data = _mini_data()
    data["tenants"][3]["archetype"] = "electronic"
    (error,) = _errors(data, "refpark.toml")
    assert error == ("refpark.toml: tenants[3].archetype: 'electronic' is not an archetype; "
                     "expected one of " + ", ".join(ARCHETYPES))


def test_duplicate_id_points_at_both() -> None:
    """A repeated tenant id names the second occurrence and where the first one is."""
    data = _mini_data()
    data["tenants"][4]["id"] = "t002"
    assert _errors(data) == ["park.toml: tenants[4].id: 't002' is used twice (first at "
                             "tenants[1]); ids must be unique"]


def test_non_slug_id() -> None:
    """Ids with capitals or spaces are refused with the slug rule spelled out."""
    data = _mini_data()
    data["site"]["id"] = "Bac Ninh"
    (error,) = _errors(data)
    assert error.startswith("park.toml: site.id: 'Bac Ninh' is not an id; expected a slug")


def test_bad_timezone() -> None:
    """An unknown IANA zone is refused with an example of a good one."""
    data = _mini_data()
    data["site"]["timezone"] = "Asia/Hanoi_City"
    assert _errors(data) == ["park.toml: site.timezone: 'Asia/Hanoi_City' is not an IANA time "
                             "zone; expected a name such as 'Asia/Ho_Chi_Minh'"]


def test_every_error_is_collected() -> None:
    """Several problems in one file are all reported at once, in file order."""
    data = _mini_data()
    data["energy"]["interval_s"] = 7
    data["energy"]["tou_profile"] = "evn"
    data["site"]["lat"] = 123.0
    data["site"]["region"] = "east"
    data["zones"][0]["feeder"] = "fdr09"
    data["tenants"][0]["zone"] = "west"
    data["tenants"][1]["shift"] = "nights"
    data["tenants"][2]["peak_kw"] = "big"
    data["tenants"][3]["feeder"] = "fdr07"
    data["tenants"][4]["base"] = True
    errors = _errors(data)
    keys = [e.split(": ")[1] for e in errors]
    assert keys == ["site.region", "site.lat", "energy.interval_s", "energy.tou_profile",
                    "zones[0].feeder", "tenants[0].zone", "tenants[1].shift",
                    "tenants[2].peak_kw", "tenants[3].feeder", "tenants[4].base",
                    "solar.interval_s"]  # its 10 s no longer matches the meters' 7 s
    assert "divide a day evenly" in errors[2]
    assert "expected 1 to 3600" not in errors[2]


def test_wrong_shapes_are_reported() -> None:
    """Tables that are not tables, empty arrays and bad integers get their own messages."""
    data = _mini_data()
    data["park"] = "refpark"
    data["tenants"] = []
    data["energy"]["substation"]["transformers"] = 2.5
    data["energy"]["feeders"][1] = "fdr02"
    errors = _errors(data)
    assert "park.toml: park: is a string; expected a table" in errors
    empty = "park.toml: tenants: is empty; expected a non-empty array"
    assert any(e.startswith(empty) for e in errors)
    assert any("transformers: is 2.5; expected a whole number" in e for e in errors)
    assert "park.toml: energy.feeders[1]: is a string; expected a table" in errors


def test_totals_too_large_for_one_substation() -> None:
    """A park whose peaks exceed what the meters can represent is refused."""
    data = _mini_data()
    for tenant in data["tenants"]:
        tenant["peak_kw"] = 15_000.0
    data["tenants"] = data["tenants"] * 3
    for index, tenant in enumerate(data["tenants"]):
        data["tenants"][index] = {**tenant, "id": f"t{index:03d}"}
    (error,) = _errors(data)
    assert error.startswith("park.toml: tenants: the peaks add up to 225,000 kW")


@given(st.text(min_size=1, max_size=12))
def test_any_tenant_id_is_accepted_exactly_when_it_is_a_slug(ident: str) -> None:
    """Tenant ids follow parkwire.is_slug: accepted if slug, else one error at the key."""
    data = _mini_data()
    data["tenants"][0]["id"] = ident
    if is_slug(ident) and ident not in {"t002", "t003", "t004", "t005"}:
        assert parse_scenario(data, Path("p.toml")).tenants[0].id == ident
    elif not is_slug(ident):
        errors = _errors(data, "p.toml")
        assert errors[0].startswith("p.toml: tenants[0].id: ")


def test_refpark_models_every_domain() -> None:
    """The reference park has common loads, rooftop PV, the WWTP and security (domain.md §0)."""
    park = load_scenario("refpark")
    assert park.common is not None
    assert park.common.feeders == ("fdr01",)
    assert park.solar is not None
    assert (park.solar.fleet_kwp, park.solar.roofs) == (8000.0, 25)
    assert park.water is not None
    assert (park.water.design_m3d, park.water.column) == (12_000.0, "A")
    assert park.security is not None
    assert (park.security.gates, park.security.pids_zones, park.security.cameras) == (6, 80, 400)


def test_domain_sections_are_optional_and_checked() -> None:
    """Sections may be left out; a wrong feeder, column or step is named with its key."""
    data = _mini_data()
    for key in ("common", "solar", "water", "security"):
        data.pop(key, None)
    assert parse_scenario(data, Path("bare.toml")).solar is None
    data["common"] = {"feeder": "nowhere"}
    data["water"] = {"feeder": data["energy"]["feeders"][0]["id"], "column": "C"}
    data["solar"] = {"interval_s": 15}
    data["security"] = {"gates": 0, "bogus": 1}
    errors = _errors(data)
    assert any("common.feeder: 'nowhere' is not a feeder" in e for e in errors)
    assert any("water.column: 'C' is not a column; expected A or B" in e for e in errors)
    assert any("solar.interval_s: 15 differs from energy.interval_s (10)" in e for e in errors)
    assert any("security.gates: 0 is out of range" in e for e in errors)
    assert any("security.bogus: is not a known key" in e for e in errors)
