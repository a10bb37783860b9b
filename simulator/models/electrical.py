"""Electrical quantities a three-phase meter derives from active power.

Power factor with capacitor-bank steps, reactive and apparent power, per-phase voltages with
load-correlated sag, per-phase currents that reproduce the apparent power exactly, harmonic
distortion, and energy registers integrated from power.

Register rule (left Riemann sum): the reading at step ``k`` is
``counter(t_0) + sum_{j<k} P_j * dt / 3600``, i.e. the energy of every *completed* interval
before the reading. Blocks carry the running totals, so any split of a run gives identical
registers.

References:
    domain.md §2.1 (PF rule of Circular 15/2014 [E4][E5]; 22/0.4 kV, V_LN 220 V [E8][E9]),
    §2.5 (ranges: V +-3 %, unbalance 2-8 %, THD, frequency [A][V]), §2.4 (TOU [E3][E20]).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Size of one capacitor-bank stage in power-factor terms [1] (domain.md §2.2).
CAP_STEP_PF = 0.02
#: Load fluctuation (in standard deviations) beyond which the bank controller lags a stage.
CAP_THRESHOLD = 1.5
#: Fast PF jitter [1] ([A]).
PF_JITTER = 0.004


def power_factor(pf_tenant: FloatArray, noise: FloatArray, eps: FloatArray) -> FloatArray:
    """Return the displacement power factor per step [1].

    The tenant's own level, minus one capacitor stage while the load is well above its
    short-term mean (the controller has not switched in the next stage yet) and plus one while
    it is well below, plus a small jitter.

    Args:
        pf_tenant: tenant PF level [1], (m,).
        noise: the load's unit AR(1) fluctuation [1], (n, m).
        eps: standard normals [1], (n, m).
    """
    stage = np.clip(np.trunc(noise / CAP_THRESHOLD), -1.0, 1.0)
    return np.clip(pf_tenant - CAP_STEP_PF * stage + PF_JITTER * eps, 0.5, 0.995)


def reactive_power(p_kw: FloatArray, pf: FloatArray) -> FloatArray:
    """Return ``Q = P tan(acos(PF))`` [kvar] (inductive positive) from P [kW] and PF [1]."""
    return p_kw * np.sqrt(1.0 / (pf * pf) - 1.0)


def apparent_power(p_kw: FloatArray, q_kvar: FloatArray) -> FloatArray:
    """Return ``S = sqrt(P^2 + Q^2)`` [kVA]."""
    return np.sqrt(p_kw * p_kw + q_kvar * q_kvar)


def displacement_pf(p_kw: FloatArray, s_kva: FloatArray) -> FloatArray:
    """Return ``|P| / S`` [1], 1 when S is 0 (no load)."""
    safe = np.where(s_kva > 0.0, s_kva, 1.0)
    pf: FloatArray = np.where(s_kva > 0.0, np.abs(p_kw) / safe, 1.0)
    return pf


def phase_voltages(*, nominal_v: float | FloatArray, bus: FloatArray, offset: FloatArray,
                   sag: FloatArray, eps: FloatArray, jitter: float) -> FloatArray:
    """Return phase-to-neutral voltages [V], shape (n, m, 3).

    ``V = V_nom * (1 + bus_t + offset_{j,ph} - sag_{t,j} + jitter * eps)``.

    Args:
        nominal_v: nominal phase voltage [V], scalar or per device (m,).
        bus: park-wide relative deviation of the supply [1], (n,).
        offset: per-device, per-phase static deviation (tap, wiring) [1], (m, 3).
        sag: relative voltage drop from the device's own load [1], (n, m).
        eps: standard normals [1], (n, m, 3).
        jitter: relative size of the fast fluctuation [1].
    """
    rel = bus[:, np.newaxis, np.newaxis] + offset[np.newaxis] - sag[:, :, np.newaxis]
    nominal = np.asarray(nominal_v, dtype=np.float64)
    if nominal.ndim:
        nominal = nominal[np.newaxis, :, np.newaxis]
    return nominal * (1.0 + rel + jitter * eps)


def phase_currents(s_kva: FloatArray, share: FloatArray, v: FloatArray) -> FloatArray:
    """Return phase currents [A] with ``sum_ph V_ph I_ph / 1000 = S``.

    Args:
        s_kva: apparent power [kVA], (n, m).
        share: per-phase share of S, each row summing to 3 (unbalance) [1], (m, 3).
        v: phase voltages [V], (n, m, 3).
    """
    current: FloatArray = s_kva[:, :, np.newaxis] * (share[np.newaxis] * (1000.0 / 3.0)) / v
    return current


def phase_shares(rng_normals: FloatArray, unbalance: FloatArray) -> FloatArray:
    """Return per-phase load shares (rows sum to 3) whose largest deviation is *unbalance*.

    Args:
        rng_normals: three standard normals per device, (m, 3).
        unbalance: largest relative deviation of a phase from the mean [1], (m,).
    """
    centred = rng_normals - rng_normals.mean(axis=1, keepdims=True)
    scale = np.abs(centred).max(axis=1, keepdims=True)
    # Nearly equal normals leave only rounding noise after centring: treat them as balanced.
    even = scale < 1e-9
    direction: FloatArray = np.where(even, 0.0, centred / np.where(even, 1.0, scale))
    return 1.0 + unbalance[:, np.newaxis] * direction


def integrate(counters: FloatArray, increments: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Left-Riemann registers: readings before each step's energy, and the carried totals.

    Args:
        counters: totals at the first step, (m, r) [kWh or kvarh].
        increments: energy of each step's interval, (n, m, r) [kWh or kvarh].

    Returns:
        Readings (n, m, r) and the totals after the last step (m, r).
    """
    # Adding the carried total in the same sequential pass, one step at a time, makes the
    # result independent of how a run is split into blocks. (A row loop over (m, r) slices is
    # also faster than cumsum along a non-contiguous axis.)
    running = np.concatenate([counters[np.newaxis], increments])
    for k in range(1, len(running)):
        np.add(running[k - 1], running[k], out=running[k])
    return running[:-1], running[-1].copy()
