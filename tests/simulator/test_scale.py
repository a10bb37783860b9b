"""Scaling the park: k blocks, each a consistent copy with its own substation."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine import Engine
from simulator.scenario import Scenario, load_scenario
from simulator.scenario.scale import MAX_SCALE, block_id, scale_scenario

MONDAY_MS = 1_772_384_400_000  # 2026-03-02 00:00 +07:00


def test_block_ids_keep_block_one_and_suffix_the_others() -> None:
    """Block 1 keeps the file's ids, later blocks append -bNN."""
    assert block_id("t017", 0) == "t017"
    assert block_id("t017", 1) == "t017-b02"
    assert block_id("ss01", 99) == "ss01-b100"


def test_scaled_scenario_multiplies_every_part(minipark: Scenario) -> None:
    """x3 gives three substations, three times the tenants and feeders, unique ids."""
    big = scale_scenario(minipark, 3)
    assert big.scale == 3
    assert len(big.energy.substations) == 3
    assert len(big.tenants) == 3 * len(minipark.tenants)
    assert len(big.energy.feeders) == 3 * len(minipark.energy.feeders)
    ids = [t.id for t in big.tenants] + [f.id for f in big.energy.feeders]
    assert len(set(ids)) == len(ids)
    for tenant in big.tenants:
        feeder = next(f for f in big.energy.feeders if f.id == tenant.feeder)
        substation = big.energy.feeder_substation(feeder)
        assert _block(feeder.id) == _block(substation.id) == _block(tenant.id)
    assert scale_scenario(minipark, 1) is minipark


def test_scaled_security_grows_the_fence_with_the_square_root() -> None:
    """Gates and cameras scale with k, the perimeter with sqrt(k)."""
    refpark = load_scenario("refpark")
    if refpark.security is None:
        pytest.skip("refpark has no security section")
    big = scale_scenario(refpark, 100)
    assert big.security is not None
    assert big.security.gates == 100 * refpark.security.gates
    assert big.security.pids_zones == 10 * refpark.security.pids_zones


def _block(ident: str) -> str:
    """The -bNN suffix of an id ('' in block 1)."""
    return ident.rpartition("-b")[2] if "-b" in ident else ""


def test_scale_rejects_nonsense(minipark: Scenario) -> None:
    """Zero, too large and double scaling are refused with a reason."""
    with pytest.raises(ValueError, match="scale must be 1 to"):
        scale_scenario(minipark, 0)
    with pytest.raises(ValueError, match="scale must be 1 to"):
        scale_scenario(minipark, MAX_SCALE + 1)
    with pytest.raises(ValueError, match="already scaled"):
        scale_scenario(scale_scenario(minipark, 2), 2)


def test_each_block_balances_and_block_one_reads_as_the_park_alone(
        minipark: Scenario) -> None:
    """Every incomer = its own feeders + losses; block 1's meters equal the unscaled park's."""
    alone = Engine(minipark, 5, MONDAY_MS).generate(360)
    big_engine = Engine(scale_scenario(minipark, 2), 5, MONDAY_MS)
    big = big_engine.generate(360)
    lv, mv, losses = big.exact["meter"], big.exact["mv_meter"], big.exact["losses"]
    feeders = len(minipark.energy.feeders)
    for b in range(2):
        own = mv["p_kw"][:, b * feeders:(b + 1) * feeders].sum(axis=1)
        np.testing.assert_allclose(mv["p_kw"][:, 2 * feeders + b],
                                   own + losses["transformer_p_kw"][:, b], rtol=1e-12)
    tenants = len(minipark.tenants)
    np.testing.assert_array_equal(lv["p_kw"][:, :tenants],
                                  alone.exact["meter"]["p_kw"][:, :tenants])
    np.testing.assert_array_equal(mv["p_kw"][:, :feeders],
                                  alone.exact["mv_meter"]["p_kw"][:, :feeders])
    ids = [d.device_id for d in big_engine.devices]
    assert len(ids) == len(set(ids))
