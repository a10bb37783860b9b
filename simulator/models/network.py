"""The park's 22 kV network: feeder sums with line losses, incomer with transformer losses.

Feeder: ``P_f = sum_j P_j + k_f S^2``, ``Q_f = sum_j Q_j + (X/R) k_f S^2`` where ``S`` is the
apparent power of the tenants' sum and ``k_f`` gives ``LINE_LOSS_AT_REF`` of the feeder's
reference load (about 1 % at peak). Substation incomer: ``P = sum_f P_f + N (P0 + Pk x^2)``,
``Q = sum_f Q_f + N (Q0 + uk S_r x^2)`` with ``x`` the per-transformer loading. The balance
holds exactly by construction before rounding.

References:
    domain.md §0 (110/22 kV, 2 x 63 MVA [E7][I6], [A]) and §2.5 (losses 1-2 % of throughput,
    I^2R-like [A]). Transformer loss ratios are typical catalogue values for 63 MVA units [A].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Line loss as a share of the feeder's reference apparent power, at that load [1] ([A]).
LINE_LOSS_AT_REF = 0.01
#: Reactance-to-resistance ratio of the 22 kV lines [1] ([A]).
LINE_X_OVER_R = 1.5
#: Coincidence of tenant peaks (domain.md §0: 68 MW x 0.85) [1].
DIVERSITY = 0.85
#: Transformer no-load loss per rating [1] ([A]).
TX_NO_LOAD = 0.0008
#: Transformer load loss at rated load per rating [1] ([A]).
TX_LOAD_LOSS = 0.004
#: Transformer magnetising reactive power per rating [1] ([A]).
TX_MAGNETISING = 0.003
#: Transformer short-circuit impedance [1] ([A]).
TX_UK = 0.105


def feeder_loss_coefficient(peak_kw_sum: float, pf_ref: float = 0.9) -> float:
    """Return ``k_f`` [1/kVA] giving ``LINE_LOSS_AT_REF`` at the feeder's coincident peak.

    Args:
        peak_kw_sum: sum of the contracted peaks on the feeder [kW].
        pf_ref: power factor of the reference load [1].
    """
    s_ref = max(DIVERSITY * peak_kw_sum / pf_ref, 1.0)
    return LINE_LOSS_AT_REF / s_ref


@dataclass(frozen=True, slots=True)
class Losses:
    """Losses of a set of branches (feeders or the transformer set).

    Attributes:
        p_kw: active losses [kW], (n, k).
        q_kvar: reactive losses [kvar], (n, k).
    """

    p_kw: FloatArray
    q_kvar: FloatArray


def feeder_losses(p_kw: FloatArray, q_kvar: FloatArray, k: FloatArray) -> Losses:
    """Return I^2R-like line losses of feeders carrying *p_kw*, *q_kvar*.

    Args:
        p_kw: active power of the feeder's tenants [kW], (n, f).
        q_kvar: reactive power of the feeder's tenants [kvar], (n, f).
        k: loss coefficient per feeder [1/kVA], (f,).
    """
    loss = k * (p_kw * p_kw + q_kvar * q_kvar)
    return Losses(loss, LINE_X_OVER_R * loss)


def transformer_losses(p_kw: FloatArray, q_kvar: FloatArray, units: int | FloatArray,
                       rating_kva: float | FloatArray) -> Losses:
    """Return the losses of *units* equal transformers sharing the load, per substation.

    Args:
        p_kw: total active power through each substation [kW], (n, k).
        q_kvar: total reactive power through each substation [kvar], (n, k).
        units: number of transformers in parallel [1], scalar or (k,).
        rating_kva: rating of each [kVA], scalar or (k,).
    """
    loading_sq = (p_kw * p_kw + q_kvar * q_kvar) / (units * rating_kva) ** 2
    p = units * rating_kva * (TX_NO_LOAD + TX_LOAD_LOSS * loading_sq)
    q = units * rating_kva * (TX_MAGNETISING + TX_UK * loading_sq)
    return Losses(p, q)
