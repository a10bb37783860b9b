"""The park operator's common loads: lighting follows the night, offices the working day."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.models.common import CommonLoadModel, CommonLoadSpec, common_load_kw, night_hours

SPEC = CommonLoadSpec()


def test_night_is_longer_in_winter_and_about_twelve_hours_at_the_equinox() -> None:
    """At 21 N the photocell night lasts ~12.8 h in late December, ~10.2 h in late June."""
    sunset, sunrise = night_hours(np.array([355.0, 172.0, 80.0]), 21.13)
    night = 24.0 - (sunset - sunrise)
    # Geometric day lengths at 21 N are ~10.9 h and ~13.3 h; the -3 deg photocell horizon
    # adds ~25 min of daylight to each.
    assert night[0] == pytest.approx(12.8, abs=0.3)
    assert night[1] == pytest.approx(10.2, abs=0.3)
    assert night[2] == pytest.approx(11.6, abs=0.3)
    assert (sunset > 17.0).all()
    assert (sunrise < 7.0).all()


def test_load_levels_at_noon_and_midnight_on_work_and_rest_days() -> None:
    """Noon workday = always-on + offices + pumps; midnight adds lighting, drops offices."""
    hod = np.array([12.0, 0.0, 12.0])
    load = common_load_kw(spec=SPEC, hod=hod, day_of_year=np.full(3, 100.0),
                          workday=np.array([1.0, 1.0, 0.0]), latitude_deg=21.13,
                          noise=np.zeros(3))
    assert load[0] == pytest.approx(SPEC.always_on_kw + SPEC.office_kw + SPEC.services_kw)
    assert load[1] == pytest.approx(SPEC.always_on_kw + SPEC.lighting_kw + SPEC.services_kw)
    assert load[2] == pytest.approx(SPEC.always_on_kw + SPEC.services_kw)
    assert SPEC.peak_kw == pytest.approx(load[0] + SPEC.lighting_kw)


def test_model_keeps_its_noise_state_across_calls() -> None:
    """Two calls of 50 steps give what one call of 100 steps gives."""
    eps = np.random.default_rng(3).standard_normal(100)
    kwargs = {"hod": np.linspace(0, 10, 100), "day_of_year": np.full(100, 60.0),
              "workday": np.ones(100)}
    whole = CommonLoadModel(SPEC, 21.13, 10.0, 0.4).step(eps=eps, **kwargs)
    model = CommonLoadModel(SPEC, 21.13, 10.0, 0.4)
    first = model.step(eps=eps[:50], **{k: v[:50] for k, v in kwargs.items()})
    second = model.step(eps=eps[50:], **{k: v[50:] for k, v in kwargs.items()})
    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-12)
    assert (whole > 0).all()
