"""One park, coupled: supply outages reach every domain, and balances close at every step."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine import Engine, Outage
from simulator.scenario import Scenario

MONDAY_MS = 1_772_384_400_000  # 2026-03-02 00:00 +07:00
HOUR_MS = 3_600_000


def test_a_feeder_outage_blacks_out_its_meters_only(minipark: Scenario) -> None:
    """During an outage its meters read 0 V, 0 kW, 0 Hz and stop counting; others run on."""
    start = MONDAY_MS + 9 * HOUR_MS
    base = Engine(minipark, 3, start).generate(720)
    engine = Engine(minipark, 3, start)
    engine.add_outage(Outage("fdr01", start + HOUR_MS // 2, start + HOUR_MS))
    hit = engine.generate(720)
    on_feeder = np.array([j for j, t in enumerate(minipark.tenants) if t.feeder == "fdr01"])
    others = [j for j, t in enumerate(minipark.tenants) if t.feeder != "fdr01"]
    dark = (hit.t_ms >= start + HOUR_MS // 2) & (hit.t_ms < start + HOUR_MS)
    lv = hit.exact["meter"]
    for name in ("p_kw", "v_ln_a", "i_b", "freq_hz"):
        assert (lv[name][np.ix_(dark, on_feeder)] == 0.0).all(), name
        assert (lv[name][np.ix_(~dark, on_feeder)] != 0.0).all(), name
    kwh = lv["kwh_imp"][:, on_feeder]
    assert (np.diff(kwh[dark], axis=0) == 0.0).all()
    np.testing.assert_array_equal(lv["p_kw"][:, others], base.exact["meter"]["p_kw"][:, others])
    feeder = [f.id for f in minipark.energy.feeders].index("fdr01")
    mv = hit.exact["mv_meter"]
    assert (mv["v_ln_a"][dark, feeder] == 0.0).all()
    incomer = len(minipark.energy.feeders)
    assert (mv["p_kw"][dark, incomer] < base.exact["mv_meter"]["p_kw"][dark, incomer]).all()


def test_outage_requests_are_checked(minipark: Scenario) -> None:
    """An unknown feeder or an empty interval is refused with a reason."""
    engine = Engine(minipark, 3, MONDAY_MS)
    with pytest.raises(ValueError, match="no feeder 'fdr99'"):
        engine.add_outage(Outage("fdr99", MONDAY_MS, MONDAY_MS + 1))
    with pytest.raises(ValueError, match="ends before it starts"):
        engine.add_outage(Outage("fdr01", MONDAY_MS, MONDAY_MS))
