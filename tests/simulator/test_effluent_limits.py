"""Effluent standards as data: QCVN 40:2011 values, Kq/Kf lookups and the file validator."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simulator.standards import (
    BUILTIN,
    StandardError,
    builtin_path,
    load_standard,
)


def test_column_a_and_b_match_domain_table() -> None:
    """The shipped file holds domain.md §4.1's C values for columns A and B."""
    standard = load_standard()
    a = standard.limits("A")
    b = standard.limits("B")
    expected = {"temp_c": (40, 40), "colour_ptco": (50, 150), "bod5_mgl": (30, 50),
                "cod_mgl": (75, 150), "tss_mgl": (50, 100), "nh4_n_mgl": (5, 10),
                "tn_mgl": (20, 40), "tp_mgl": (4, 6), "oil_grease_mgl": (5, 10),
                "chloride_mgl": (500, 1000), "coliform_mpn100ml": (3000, 5000)}
    for key, (col_a, col_b) in expected.items():
        assert (a[key].high, b[key].high) == (col_a, col_b), key
        assert a[key].low == -math.inf
    assert (a["ph"].low, a["ph"].high) == (6.0, 9.0)
    assert (b["ph"].low, b["ph"].high) == (5.5, 9.0)
    assert standard.id == "qcvn40_2011"
    assert standard.columns == ("A", "B")


def test_unverified_values_are_marked() -> None:
    """Column-A chloride, residual chlorine, coliform and the Kq/Kf tables carry the [V] mark."""
    standard = load_standard()
    a, b = standard.limits("A"), standard.limits("B")
    for key in ("chloride_mgl", "cl2_residual_mgl", "coliform_mpn100ml"):
        assert not a[key].verified
        assert b[key].verified
    assert a["cod_mgl"].verified
    assert not standard.factors_verified


@pytest.mark.parametrize(("flow", "kq"), [(0.0, 0.9), (50.0, 0.9), (50.1, 1.0), (200.0, 1.0),
                                          (499.0, 1.1), (500.0, 1.1), (501.0, 1.2)])
def test_kq_bands(flow: float, kq: float) -> None:
    """Kq follows the river-flow bands, each inclusive of its upper bound."""
    assert load_standard().kq(flow) == kq


@pytest.mark.parametrize(("flow", "kf"), [(10.0, 1.2), (50.0, 1.2), (300.0, 1.1),
                                          (5000.0, 1.0), (12_000.0, 0.9)])
def test_kf_bands(flow: float, kf: float) -> None:
    """Kf follows the discharge-flow bands; RefPark's 12,000 m3/d falls in the 0.9 band."""
    assert load_standard().kf(flow) == kf


def test_cmax_rule_and_its_exceptions() -> None:
    """Cmax = C x Kq x Kf, except pH, temperature and coliform which keep C."""
    standard = load_standard()
    limits = standard.effective_limits("B", receiving_flow_m3s=30.0, discharge_m3d=300.0)
    assert limits["cod_mgl"].high == pytest.approx(150 * 0.9 * 1.1)
    assert limits["nh4_n_mgl"].high == pytest.approx(10 * 0.9 * 1.1)
    assert limits["temp_c"].high == 40.0
    assert limits["coliform_mpn100ml"].high == 5000.0
    assert (limits["ph"].low, limits["ph"].high) == (5.5, 9.0)
    default = standard.effective_limits("A")
    assert default["cod_mgl"].high == 75.0


def test_limit_complies_includes_bounds() -> None:
    """A value on the limit complies; above it (or outside a pH range) it does not."""
    limits = load_standard().limits("A")
    np.testing.assert_array_equal(limits["cod_mgl"].complies(np.array([0.0, 75.0, 75.01])),
                                  [True, True, False])
    np.testing.assert_array_equal(limits["ph"].complies(np.array([5.99, 6.0, 9.0, 9.1])),
                                  [False, True, True, False])


@pytest.mark.parametrize(("call", "message"), [
    (lambda s: s.limits("C"), "unknown column 'C'; known: A, B"),
    (lambda s: s.limits("A", kq=0.0), "kq must be a positive number"),
    (lambda s: s.limits("A", kf=math.nan), "kf must be a positive number"),
    (lambda s: s.kq(-1.0), "receiving_flow_m3s must be a finite flow >= 0"),
    (lambda s: s.kf(math.inf), "discharge_m3d must be a finite flow >= 0"),
])
def test_bad_requests_are_refused(call: object, message: str) -> None:
    """Unknown columns, non-positive factors and impossible flows raise StandardError."""
    standard = load_standard()
    with pytest.raises(StandardError, match=message.replace("(", r"\(")):
        call(standard)  # type: ignore[operator]


def test_builtin_lookup() -> None:
    """Built-in ids resolve to files in the package; unknown ids list the known ones."""
    assert "qcvn40_2011" in BUILTIN
    assert builtin_path("qcvn40_2011").is_file()
    with pytest.raises(StandardError, match="unknown effluent standard 'qcvn40_2025'; built in"):
        load_standard("qcvn40_2025")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _mutated(old: str, new: str) -> str:
    text = builtin_path("qcvn40_2011").read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('id = "qcvn40_2011"', 'id = ""', "standard.id: expected a non-empty string"),
    ('columns = ["A", "B"]', "columns = []", "standard.columns: expected a non-empty list"),
    ("A = 75.0", 'A = "x"', "parameters.cod_mgl.A: expected a positive number, got 'x'"),
    ("A = 75.0", "A = -1.0", "parameters.cod_mgl.A: expected a positive number"),
    ("B = 150.0", "C = 150.0", "parameters.colour_ptco.B: expected a positive number, got None"),
    ('kind = "max"\nA = 40.0', 'kind = "min"\nA = 40.0',
     "parameters.temp_c.kind: expected one of max, range"),
    ("A = [6.0, 9.0]", "A = [6.0]", "parameters.ph.A: expected a [low, high] pair"),
    ("A = [6.0, 9.0]", "A = [9.0, 6.0]", "parameters.ph.A: expected low < high"),
    ("A = [6.0, 9.0]", 'A = [6.0, "9"]', "parameters.ph.A[1]: expected a number"),
    ("kq_kf = false\nsource", 'kq_kf = "no"\nsource', "parameters.temp_c.kq_kf: expected true"),
    ('unit = "[pH]"\nkind = "range"\nA = [6.0, 9.0]\nB = [5.5, 9.0]\nkq_kf = false',
     'unit = "[pH]"\nkind = "range"\nA = [6.0, 9.0]\nB = [5.5, 9.0]\nkq_kf = true',
     "parameters.ph.kq_kf: expected false for a range parameter"),
    ('verified_columns = ["B"]', 'verified_columns = ["Z"]',
     "parameters.chloride_mgl.verified_columns: expected a list drawn from"),
    ('name = "COD"', 'name = 3', "parameters.cod_mgl.name: expected a non-empty string"),
    ("{ factor = 1.2 },", "{ upto = 900.0, factor = 1.2 },",
     "kq.river[3].upto: expected no bound on the last"),
    ("{ upto = 200.0, factor = 1.0 },", "{ upto = 20.0, factor = 1.0 },",
     "kq.river[1].upto: expected a bound above 50.0"),
    ("{ upto = 50.0, factor = 1.2 },", "{ upto = 50.0, factor = 0 },",
     "kf.bands[0].factor: expected a positive number"),
    ("{ upto = 50.0, factor = 1.2 },", "7,", "kf.bands[0]: expected a table"),
    ("[kf]\nverified = false\nbands", "[kf]\nverified = false\nbandz",
     "kf.bands: expected a non-empty list"),
    ("[standard]", "[standart]", "standard: expected a table, got None"),
])
def test_bad_file_names_the_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    """A malformed standard file is rejected with the file name and the offending key path."""
    path = _write(tmp_path, _mutated(old, new))
    with pytest.raises(StandardError) as caught:
        load_standard(path)
    assert str(caught.value).startswith("bad.toml: ")
    assert message in str(caught.value)


def test_empty_parameters_and_non_table_parameter(tmp_path: Path) -> None:
    """An empty parameter table, or a parameter that is not a table, is refused by key."""
    head = ('[standard]\nid = "x"\ntitle = "X"\ncolumns = ["A"]\n'
            '[kq]\nriver = [{factor = 1.0}]\n[kf]\nbands = [{factor = 1.0}]\n')
    with pytest.raises(StandardError, match="parameters: expected at least one parameter"):
        load_standard(_write(tmp_path, head + "[parameters]\n"))
    with pytest.raises(StandardError, match=r"parameters\.cod: expected a table, got 5"):
        load_standard(_write(tmp_path, head + "[parameters]\ncod = 5\n"))


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    """A missing file and a file that is not TOML are reported with their path."""
    with pytest.raises(StandardError, match="cannot read the standard file"):
        load_standard(tmp_path / "missing.toml")
    with pytest.raises(StandardError, match=r"bad\.toml: not valid TOML"):
        load_standard(_write(tmp_path, "[standard\n"))


def test_a_minimal_custom_file_loads(tmp_path: Path) -> None:
    """A new regulation is just a file: one column, one parameter, flat factors."""
    path = _write(tmp_path, '[standard]\nid = "local"\ntitle = "Local permit"\n'
                  'columns = ["P"]\n[parameters.cod_mgl]\nname = "COD"\nunit = "mg/L"\n'
                  'kind = "max"\nP = 60\nkq_kf = true\nsource = "permit"\n'
                  '[kq]\nriver = [{factor = 1.0}]\n[kf]\nbands = [{factor = 1.0}]\n')
    standard = load_standard(path)
    assert standard.limits("P")["cod_mgl"].high == 60.0
    assert standard.factors_verified
