"""The energy model against known values and physical invariants (one simulated week)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.calendar import local_time
from simulator.engine import Engine, Window
from simulator.models import electrical, load, network
from simulator.scenario import ARCHETYPES, SHIFT_PATTERNS, Scenario, load_scenario
from tests.simulator.conftest import MONDAY_MS

DT_H = 10 / 3600


def _tenant(window: Window, minipark: Scenario, archetype: str) -> int:
    return next(j for j, t in enumerate(minipark.tenants) if t.archetype == archetype)


def test_smoothstep_and_bump_known_values() -> None:
    """Smoothstep is 0, 0.5, 1 at 0, 0.5, 1; a bump is 1 inside and 0 outside its window."""
    np.testing.assert_allclose(load.smoothstep(np.array([-1.0, 0.0, 0.5, 1.0, 2.0])),
                               [0.0, 0.0, 0.5, 1.0, 1.0])
    hod = np.array([7.0, 7.75, 12.0, 16.25, 17.0])
    np.testing.assert_allclose(load.bump(hod, 7.5, 16.5, 0.5), [0.0, 0.5, 1.0, 0.5, 0.0])


def test_shift_shapes() -> None:
    """Day shifts are off at night, overtime runs only Mon/Wed/Fri, lunch dips by its depth."""
    hod = np.array([3.0, 12.0, 14.0, 18.0, 18.0])
    dow = np.array([0, 0, 0, 0, 1])
    shape = load.shift_shape(hod, dow, SHIFT_PATTERNS["day_ot"])
    np.testing.assert_allclose(shape, [0.0, 0.65, 1.0, 1.0, 0.0])
    assert (load.shift_shape(hod, dow, SHIFT_PATTERNS["continuous"]) == 1.0).all()


def test_ar1_statistics_and_block_independence() -> None:
    """AR(1) has unit variance and lag-1 autocorrelation phi; split runs match bit for bit."""
    phi = load.ar1_coefficient(10.0)
    assert phi == pytest.approx(math.exp(-10 / 120))
    eps = np.random.default_rng(3).standard_normal((200_000, 2))
    x, _ = load.ar1(eps, phi, np.zeros(2))
    x = x[1000:]
    assert x.std(axis=0) == pytest.approx([1.0, 1.0], abs=0.05)
    for col in range(2):
        assert np.corrcoef(x[:-1, col], x[1:, col])[0, 1] == pytest.approx(phi, abs=0.01)
    whole, _ = load.ar1(eps[:5000], phi, np.zeros(2))
    first, state = load.ar1(eps[:1234], phi, np.zeros(2))
    second, _ = load.ar1(eps[1234:5000], phi, state)
    assert np.array_equal(whole, np.concatenate([first, second]))


@given(st.one_of(st.just(0.0), st.floats(1e-3, 1e4)), st.floats(0.5, 0.995))
def test_reactive_power_matches_the_power_factor(p: float, pf: float) -> None:
    """Q = P tan(acos PF), and P / sqrt(P^2 + Q^2) gives the PF back."""
    q = electrical.reactive_power(np.array([p]), np.array([pf]))[0]
    assert q == pytest.approx(p * math.tan(math.acos(pf)), rel=1e-9, abs=1e-9)
    s = electrical.apparent_power(np.array([p]), np.array([q]))
    if p > 0:
        assert electrical.displacement_pf(np.array([p]), s)[0] == pytest.approx(pf, rel=1e-9)


def test_zero_load_has_unit_power_factor() -> None:
    """With no apparent power the PF reads 1 rather than dividing by zero."""
    assert electrical.displacement_pf(np.zeros(2), np.zeros(2)).tolist() == [1.0, 1.0]


@settings(max_examples=30)
@given(st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3), st.floats(0.02, 0.08))
def test_phase_shares_sum_to_three(normals: list[float], unbalance: float) -> None:
    """Phase shares add to 3 and deviate from 1 by at most the tenant's unbalance."""
    share = electrical.phase_shares(np.array([normals]), np.array([unbalance]))[0]
    assert share.sum() == pytest.approx(3.0, abs=1e-12)
    assert np.abs(share - 1.0).max() <= unbalance + 1e-12


def test_counters_are_the_left_riemann_integral_of_power(mini_week: Window) -> None:
    """Every register equals its start value plus the sum of P*dt over completed steps."""
    for kind in ("meter", "mv_meter"):
        exact = mini_week.exact[kind]
        p, q = exact["p_kw"], exact["q_kvar"]
        expect = exact["kwh_imp"][0] + np.concatenate(
            [np.zeros((1, p.shape[1])), np.cumsum(p[:-1] * DT_H, axis=0)])
        np.testing.assert_allclose(exact["kwh_imp"], expect, rtol=1e-12)
        expect_q = exact["kvarh_imp"][0] + np.concatenate(
            [np.zeros((1, q.shape[1])), np.cumsum(q[:-1] * DT_H, axis=0)])
        np.testing.assert_allclose(exact["kvarh_imp"], expect_q, rtol=1e-12)
        assert (np.diff(exact["kwh_imp"], axis=0) >= 0).all()
        assert (exact["kwh_exp"] == exact["kwh_exp"][0]).all()
        tou = exact["kwh_peak"] + exact["kwh_normal"] + exact["kwh_offpeak"]
        np.testing.assert_allclose(np.diff(tou, axis=0), np.diff(exact["kwh_imp"], axis=0),
                                   rtol=1e-6, atol=1e-6)


def test_tou_registers_follow_the_evn_windows(mini_week: Window) -> None:
    """Peak energy accrues only Mon-Sat 09:30-11:30 and 17:00-20:00 local, never on Sunday."""
    grew = np.diff(mini_week.exact["meter"]["kwh_peak"][:, 1]) > 0
    when = local_time(mini_week.t_ms[:-1], "Asia/Ho_Chi_Minh")
    in_peak = (when.dow < 6) & (((when.hod >= 9.5) & (when.hod < 11.5))
                                | ((when.hod >= 17) & (when.hod < 20)))
    assert np.array_equal(grew, in_peak)


def test_feeders_and_substation_balance_at_every_step(mini_week: Window,
                                                      energy_only: Scenario) -> None:
    """Feeder = its LV meters + line losses; incomer = its feeders + transformer losses."""
    meter, mv, losses = (mini_week.exact[k] for k in ("meter", "mv_meter", "losses"))
    minipark = energy_only
    lv_feeders = [d.tags["feeder"] for d in Engine(minipark, 7, MONDAY_MS).devices
                  if d.asset_type == "meter"]
    assert len(lv_feeders) == meter["p_kw"].shape[1]
    for f, feeder in enumerate(minipark.energy.feeders):
        members = [j for j, name in enumerate(lv_feeders) if name == feeder.id]
        for qty, loss in (("p_kw", "feeder_p_kw"), ("q_kvar", "feeder_q_kvar")):
            tenants = meter[qty][:, members].sum(axis=1)
            np.testing.assert_allclose(mv[qty][:, f], tenants + losses[loss][:, f], rtol=1e-12)
        share = losses["feeder_p_kw"][:, f] / mv["p_kw"][:, f]
        assert 0.0 < share.max() < 0.02  # about 1 % at peak (domain.md §2.5)
        register_growth = np.diff(mv["kwh_imp"][:, f])
        tenant_growth = np.diff(meter["kwh_imp"][:, members], axis=0).sum(axis=1)
        loss_growth = losses["feeder_p_kw"][:-1, f] * DT_H
        # Registers near 1e8 kWh carry ~1e-8 kWh of float64 resolution.
        np.testing.assert_allclose(register_growth, tenant_growth + loss_growth, atol=1e-6)
    n_feeders = len(minipark.energy.feeders)
    for qty, loss in (("p_kw", "transformer_p_kw"), ("q_kvar", "transformer_q_kvar")):
        np.testing.assert_allclose(mv[qty][:, n_feeders],
                                   mv[qty][:, :n_feeders].sum(axis=1) + losses[loss][:, 0],
                                   rtol=1e-12)
    incomer_growth = np.diff(mv["kwh_imp"][:, n_feeders])
    feeders_growth = np.diff(mv["kwh_imp"][:, :n_feeders], axis=0).sum(axis=1)
    np.testing.assert_allclose(incomer_growth, feeders_growth
                               + losses["transformer_p_kw"][:-1, 0] * DT_H, atol=1e-6)


def test_loss_models_known_values() -> None:
    """1 % line loss at the reference load; transformer losses at no load and at rating."""
    k = network.feeder_loss_coefficient(1000.0)
    s_ref = 0.85 * 1000.0 / 0.9
    loss = network.feeder_losses(np.array([[s_ref]]), np.zeros((1, 1)), np.array([k]))
    assert loss.p_kw[0, 0] == pytest.approx(0.01 * s_ref)
    assert loss.q_kvar[0, 0] == pytest.approx(network.LINE_X_OVER_R * 0.01 * s_ref)
    tx = network.transformer_losses(np.array([[0.0, 126_000.0]]), np.zeros((1, 2)), 2, 63_000.0)
    assert tx.p_kw[0].tolist() == pytest.approx([2 * 63_000 * 0.0008, 2 * 63_000 * 0.0048])


def test_phase_power_adds_up_to_apparent_power(mini_week: Window) -> None:
    """Sum over phases of V*I/1000 equals S before rounding, and voltages stay near nominal."""
    for kind, nominal in (("meter", 220.0), ("mv_meter", 22_000 / math.sqrt(3))):
        e = mini_week.exact[kind]
        v = np.stack([e["v_ln_a"], e["v_ln_b"], e["v_ln_c"]])
        i = np.stack([e["i_a"], e["i_b"], e["i_c"]])
        np.testing.assert_allclose((v * i).sum(axis=0) / 1000.0, e["s_kva"], rtol=1e-12)
        assert np.abs(v / nominal - 1).max() < 0.06


def test_power_factor_stays_in_the_archetype_band(mini_week: Window,
                                                  minipark: Scenario) -> None:
    """Each tenant's PF stays within its archetype's mean +- (2 sd + one bank step + jitter)."""
    pf = mini_week.exact["meter"]["pf"]
    for j, tenant in enumerate(minipark.tenants):
        arch = ARCHETYPES[tenant.archetype]
        band = 2 * arch.pf_sd + electrical.CAP_STEP_PF + 5 * electrical.PF_JITTER
        assert np.abs(pf[:, j] - tenant.pf_mean).max() <= band
        assert 0.01 < pf[:, j].std() < 0.05 or arch.pf_sd > 0


def test_weekly_shape(mini_week: Window, minipark: Scenario) -> None:
    """Garment: Sunday < weekday and night < day; a 24/7 dyer barely changes."""
    p = mini_week.exact["meter"]["p_kw"]
    when = local_time(mini_week.t_ms, "Asia/Ho_Chi_Minh")
    g = _tenant(mini_week, minipark, "garment")
    d = _tenant(mini_week, minipark, "dyeing")
    weekday, sunday = when.dow < 5, when.dow == 6
    assert p[sunday, g].mean() < 0.5 * p[weekday, g].mean()
    night, day = (when.hod < 5) & weekday, (when.hod > 9) & (when.hod < 11) & weekday
    assert p[night, g].mean() < 0.3 * p[day, g].mean()
    assert p[night, d].mean() > 0.8 * p[day, d].mean()


def test_load_factors_fall_in_the_archetype_bands(mini_week: Window,
                                                  minipark: Scenario) -> None:
    """Mean/peak over a week is near domain.md §2.2's LF column (loose bounds)."""
    bands = {"garment": (0.25, 0.45), "dyeing": (0.7, 0.95), "electronics": (0.7, 0.95),
             "food": (0.45, 0.7), "logistics": (0.4, 0.7)}
    p = mini_week.exact["meter"]["p_kw"]
    for j, tenant in enumerate(minipark.tenants):
        lo, hi = bands[tenant.archetype]
        assert lo <= p[:, j].mean() / p[:, j].max() <= hi, tenant.archetype


def test_tet_week_is_lower_than_a_normal_week(minipark: Scenario) -> None:
    """The park's energy in Tet 2026 week is well below a normal week (domain.md §2.3)."""
    tet_monday = MONDAY_MS - 14 * 86_400_000  # 2026-02-16, Lunar New Year's Eve
    tet = Engine(minipark, 7, tet_monday).generate(7 * 8640).exact["mv_meter"]["p_kw"]
    normal = Engine(minipark, 7, MONDAY_MS).generate(7 * 8640).exact["mv_meter"]["p_kw"]
    ratio = tet[:, -1].mean() / normal[:, -1].mean()
    assert 0.4 < ratio < 0.8


def test_frequency_is_shared_and_clamped(mini_week: Window) -> None:
    """Every meter reports the same frequency, 50 Hz +- 0.2 with a few hundredths' spread."""
    f_lv = mini_week.exact["meter"]["freq_hz"]
    f_mv = mini_week.exact["mv_meter"]["freq_hz"]
    assert (f_lv == f_lv[:, :1]).all()
    assert (f_mv == f_lv[:, :1]).all()
    assert np.abs(f_lv - 50).max() <= 0.2
    assert 0.01 < f_lv[:, 0].std() < 0.1


def test_refpark_coincident_peak_is_plausible() -> None:
    """RefPark's incomer peaks near domain.md's 55-60 MW on a working day."""
    window = Engine(load_scenario("refpark"), 1, MONDAY_MS + 86_400_000).generate(8640)
    incomer = window.exact["mv_meter"]["p_kw"][:, -1]
    assert 50_000 < incomer.max() < 68_000
