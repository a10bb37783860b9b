"""Tenant active-power model: shift shape x weekday x holiday x day level x AR(1) noise.

Pure, vectorised functions of (time, state, random numbers); arrays are (n steps, m tenants).
The model (domain.md §2.2) is::

    P_t = P_peak * D_d * [b + (1 - b) * S(hod_t) * W(dow_t) * H_d] * (1 + sigma * x_t)

where ``P_peak`` is the full-production level, ``CONTRACT_UTILISATION`` times the contracted peak
of the scenario file.
with ``S`` the shift shape (smoothstep ramps, meal-break dips), ``W`` the weekday factor, ``H_d``
the holiday/Tet activity of the production part, ``D_d ~ LogNormal(0, 0.07)`` the day's
production level and ``x_t`` a unit-variance AR(1) process.

References:
    domain.md §2.2 (model and archetype defaults, [A]; load factors [E1], method [E2]),
    §2.3 (Tet and holidays, [E14]-[E19]); Labour Code shifts [L1]-[L5].
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from simulator.scenario.archetypes import ShiftPattern

FloatArray = npt.NDArray[np.float64]

#: Time for production to ramp up or down at a shift boundary [h] ([A]).
SHIFT_RAMP_H = 0.5
#: Time for a meal-break dip to develop [h] ([A]).
DIP_RAMP_H = 0.1
#: Standard deviation of log day level (domain.md §2.2) [1].
DAY_LEVEL_SD = 0.07
#: Full-production level as a share of the contracted peak [1] ([A]). Tenants contract
#: headroom above their usual full load; with it the park's coincident peak lands near
#: domain.md §0's 55-60 MW for 68 MW of contracted peaks.
CONTRACT_UTILISATION = 0.85
#: Correlation time of the short-term load fluctuation [s] ([A]).
NOISE_TAU_S = 120.0


def smoothstep(x: FloatArray) -> FloatArray:
    """Cubic smoothstep: 0 below 0, 1 above 1, ``3x^2 - 2x^3`` between [1]."""
    c = np.clip(x, 0.0, 1.0)
    return c * c * (3.0 - 2.0 * c)


def bump(hod: FloatArray, start_h: float, end_h: float, ramp_h: float) -> FloatArray:
    """Smooth on-window: rises over *ramp_h* after *start_h*, falls over *ramp_h* before *end_h*.

    Args:
        hod: local hour of day [h].
        start_h: window start [h].
        end_h: window end [h].
        ramp_h: ramp duration [h].

    Returns:
        Values in [0, 1] [1].
    """
    return smoothstep((hod - start_h) / ramp_h) * smoothstep((end_h - hod) / ramp_h)


def shift_shape(hod: FloatArray, dow: npt.NDArray[np.int64],
                pattern: ShiftPattern) -> FloatArray:
    """Return the production shape ``S`` of one shift pattern at each step [1].

    Args:
        hod: local hour of day [h], shape (n,).
        dow: day of week (0 = Monday), shape (n,).
        pattern: the schedule.
    """
    if pattern.continuous:
        shape = np.ones_like(hod)
    else:
        shape = np.zeros_like(hod)
        for block in pattern.blocks:
            on = np.isin(dow, sorted(block.days))
            shape = np.maximum(shape, np.where(on, bump(hod, block.start_h, block.end_h,
                                                        SHIFT_RAMP_H), 0.0))
    for dip in pattern.dips:
        ramp = min(DIP_RAMP_H, (dip.end_h - dip.start_h) / 3.0)
        shape = shape * (1.0 - dip.depth * bump(hod, dip.start_h, dip.end_h, ramp))
    return shape


def weekday_factor(dow: npt.NDArray[np.int64], sat: FloatArray, sun: FloatArray) -> FloatArray:
    """Return ``W``: 1 on Monday-Friday, the tenant's Saturday/Sunday factor otherwise [1].

    Args:
        dow: day of week per step, shape (n,).
        sat: Saturday factor per tenant, shape (m,).
        sun: Sunday factor per tenant, shape (m,).

    Returns:
        Shape (n, m).
    """
    w = np.ones((len(dow), len(sat)))
    w[dow == 5] = sat
    w[dow == 6] = sun
    return w


def ar1_coefficient(interval_s: float, tau_s: float = NOISE_TAU_S) -> float:
    """Return the AR(1) coefficient ``phi = exp(-dt / tau)`` for a step of *interval_s* [1]."""
    return math.exp(-interval_s / tau_s)


def ar1(eps: FloatArray, phi: float, state: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Unit-variance AR(1) ``x_t = phi x_{t-1} + sqrt(1 - phi^2) eps_t`` along axis 0.

    The filter state is carried between calls, so splitting a run into blocks gives the
    same numbers bit for bit.

    Args:
        eps: standard normal innovations, shape (n, m) [1].
        phi: lag-1 coefficient [1].
        state: filter state ``phi * x_{-1}``, shape (m,).

    Returns:
        The process, shape (n, m), and the new state, shape (m,).
    """
    gain = math.sqrt(1.0 - phi * phi)
    x, zf = lfilter([gain], [1.0, -phi], eps, axis=0, zi=state[np.newaxis, :])
    return np.asarray(x, dtype=np.float64), np.asarray(zf[0], dtype=np.float64)


def active_power(*, peak_kw: FloatArray, base: FloatArray, day_level: FloatArray,
                 shape: FloatArray, weekday: FloatArray, activity: FloatArray,
                 sigma: FloatArray, noise: FloatArray) -> FloatArray:
    """Evaluate the tenant load equation (see the module docstring).

    Args:
        peak_kw: contracted peak per tenant [kW], (m,).
        base: always-on fraction per tenant [1], (m,).
        day_level: ``D_d`` per step and tenant [1], (n, m).
        shape: ``S`` per step and tenant [1], (n, m).
        weekday: ``W`` [1], (n, m).
        activity: ``H_d``, share of production running on this day [1], (n, m).
        sigma: fluctuation size per tenant [1], (m,).
        noise: unit-variance AR(1) ``x_t`` [1], (n, m).

    Returns:
        Active power [kW], (n, m), never negative.
    """
    level = base + (1.0 - base) * shape * weekday * activity
    p = peak_kw * day_level * level * (1.0 + sigma * noise)
    return np.maximum(p, 0.0)
