"""One park, coupled: supply outages reach every domain, and balances close at every step."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import orjson
import pytest

from parkwire import to_epoch_ms
from simulator.calendar import local_time
from simulator.engine import Engine, Outage, Window
from simulator.scenario import Scenario, load_scenario

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


@pytest.fixture(scope="module")
def refpark_day() -> tuple[Engine, Window]:
    """A Monday of the whole reference park (every domain), seed 11."""
    engine = Engine(load_scenario("refpark"), 11, MONDAY_MS)
    return engine, engine.generate(8640)


def test_the_substation_balance_closes_with_every_domain(
        refpark_day: tuple[Engine, Window]) -> None:
    """Incomer = tenants (net of PV) + plant + common loads + losses, at every step."""
    engine, day = refpark_day
    lv, mv, losses = day.exact["meter"], day.exact["mv_meter"], day.exact["losses"]
    kinds = [d.tags.get("archetype") for d in engine.devices if d.asset_type == "meter"]
    assert kinds.count("wwtp") == kinds.count("common") == 1
    feeders = mv["p_kw"].shape[1] - 1
    line = losses["feeder_p_kw"].sum(axis=1)
    np.testing.assert_allclose(
        mv["p_kw"][:, feeders],
        lv["p_kw"].sum(axis=1) + line + losses["transformer_p_kw"][:, 0], rtol=1e-9)
    tenants = day.exact["tenant_gross"]["p_kw"].shape[1]
    pv = day.exact["tenant_pv"]["p_kw"]
    np.testing.assert_allclose(lv["p_kw"][:, :tenants],
                               day.exact["tenant_gross"]["p_kw"] - pv, rtol=1e-12, atol=1e-9)
    plant = kinds.index("wwtp")
    np.testing.assert_allclose(lv["p_kw"][:, plant],
                               day.exact["coupling"]["wwtp_load_kw"][:, 0], rtol=1e-12)


def test_rooftop_pv_is_self_consumed_and_shows_at_noon(refpark_day: tuple[Engine, Window]) -> None:
    """Zero export: PV never exceeds 98 % of its tenant's load; it is 0 at night, MWs at noon."""
    _, day = refpark_day
    gross, pv = day.exact["tenant_gross"]["p_kw"], day.exact["tenant_pv"]["p_kw"]
    assert (pv <= 0.98 * gross + 1e-9).all()
    assert (day.exact["meter"]["p_kw"] >= -1e-9).all()
    assert (day.exact["meter"]["kwh_exp"] == day.exact["meter"]["kwh_exp"][0]).all()
    hod = local_time(day.t_ms, "Asia/Ho_Chi_Minh").hod
    assert pv[(hod < 5) | (hod > 19.5)].sum() == 0.0
    assert pv[(hod > 11) & (hod < 13)].sum(axis=1).max() > 1000.0


def test_a_feeder_outage_trips_inverters_and_stops_the_plant() -> None:
    """Feeder 6 (the plant's) and the roofs on it lose supply: W = 0, FAULT, blowers stop."""
    park = load_scenario("refpark")
    start = MONDAY_MS + 10 * HOUR_MS
    engine = Engine(park, 5, start)
    engine.add_outage(Outage("fdr06", start + HOUR_MS, start + 2 * HOUR_MS))
    window = engine.generate(3 * 360)
    dark = (window.t_ms >= start + HOUR_MS + 60_000) & (window.t_ms < start + 2 * HOUR_MS)
    on_f6 = {t.id for t in park.tenants if t.feeder == "fdr06"}
    inverters = window.values("inverter")
    roofs = [j for j, d in enumerate(inverters.device_ids) if d.split("-")[1] in on_f6]
    assert roofs, "refpark has PV roofs on feeder 6"
    rows = inverters.step_rows(len(window.t_ms))
    w = inverters.field("W")[:, roofs]
    st = inverters.field("St")[:, roofs]
    assert (w[dark[rows]] == 0.0).all()
    assert (st[dark[rows]] == 7).all()  # SunSpec FAULT, Evt1 GRID_DISCONNECT
    assert ((inverters.field("Evt1")[:, roofs][dark[rows]].astype(int) >> 4) & 1).all()
    plant = window.values("wwtp")
    plant_rows = plant.step_rows(len(window.t_ms))
    blower = plant.field("blower_kw")[:, 0]
    assert (blower[dark[plant_rows]] == 0.0).all()
    before = window.t_ms[plant_rows] < start + HOUR_MS
    assert blower[before].min() > 0.0
    meter = [d.device_id for d in engine.devices if d.asset_type == "meter"].index("mtr-wwtp")
    assert (window.exact["meter"]["p_kw"][dark, meter] == 0.0).all()
    events = [orjson.loads(p)["event"] for t, p in window.messages() if t.endswith("/event")]
    assert "plant_stopped" in events
    assert "inverter_fault" in events


def test_the_whole_park_is_independent_of_window_size() -> None:
    """All domains together: an hour in one window or in uneven pieces gives the same bytes."""
    park = load_scenario("refpark")
    start = MONDAY_MS + 7 * HOUR_MS - 50_000
    whole = Engine(park, 2, start).generate(365).to_jsonl()
    engine = Engine(park, 2, start)
    pieces = b"".join(engine.generate(n).to_jsonl() for n in (1, 7, 60, 3, 294))
    assert pieces == whole


def test_security_events_carry_their_own_instant_and_go_out_with_their_step() -> None:
    """Badge reads happen all through each minute, are sent at the minute's step, in order."""
    park = load_scenario("refpark")
    start = MONDAY_MS + 7 * HOUR_MS
    window = Engine(park, 4, start).generate(360)
    messages = window.messages()
    bounds = window.step_bounds()
    seconds: set[int] = set()
    last_seq: dict[str, int] = {}
    for step in range(len(window.t_ms)):
        step_ms = int(window.t_ms[step])
        for topic, payload in messages[bounds[step]:bounds[step + 1]]:
            if not topic.endswith("/event") or "/security/" not in topic:
                continue
            body = orjson.loads(payload)
            ts = to_epoch_ms(datetime.fromisoformat(body["ts"]))
            assert step_ms - 60_000 < ts <= step_ms
            assert step_ms % 60_000 == 0
            seconds.add(ts // 1000 % 60)
            assert body["seq"] == last_seq.get(topic, -1) + 1
            last_seq[topic] = body["seq"]
    assert len(seconds) > 50  # spread over the minute, not stamped on it
