"""Funnel limits for standardised ratios with an allowance for overdispersion.

Spiegelhalter (2005), "Funnel plots for comparing institutional performance", section 5: with
many LAs the between-LA spread exceeds Poisson chance, so plain Poisson limits flag most LAs.
The z-scores ``z_i = (y_i - 1) / s_i`` (``y = O/E``, ``s = 1/sqrt(E)``) are Winsorised at
the 10th and 90th centiles, the dispersion ``phi = mean(z^2)`` is estimated and, where
``n * phi`` exceeds ``n - 1``, an additive random-effects variance

``tau^2 = (n phi - (n - 1)) / (sum w - sum w^2 / sum w)``, ``w = 1 / s^2``,

widens the limits to ``1 +/- z_p sqrt(s^2 + tau^2)``. Without overdispersion ``tau^2 = 0`` and
the limits are the normal approximation to the Poisson ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Overdispersion:
    """The estimated dispersion of one measure's standardised ratios.

    Parameters
    ----------
    phi : float
        Winsorised mean squared z-score (1 = Poisson).
    tau2 : float
        Additive between-LA variance of the ratio (0 when ``phi`` shows none).
    n : int
        LAs used.
    """

    phi: float
    tau2: float
    n: int


def estimate_overdispersion(
    observed: np.ndarray | pd.Series, expected: np.ndarray | pd.Series, winsor: float = 0.1
) -> Overdispersion:
    """Estimate ``phi`` and the additive ``tau^2`` from LAs' observed and expected counts.

    LAs with a missing (suppressed) or non-positive count are left out.
    """
    o = np.asarray(observed, float)
    e = np.asarray(expected, float)
    ok = np.isfinite(o) & np.isfinite(e) & (e > 0)
    o, e = o[ok], e[ok]
    n = int(o.size)
    if n < 3:
        return Overdispersion(phi=1.0, tau2=0.0, n=n)
    s = 1 / np.sqrt(e)
    z = (o / e - 1) / s
    lo, hi = np.quantile(z, [winsor, 1 - winsor])
    z = np.clip(z, lo, hi)
    phi = float(np.mean(z**2))
    w = 1 / s**2
    denom = w.sum() - (w**2).sum() / w.sum()
    tau2 = max(0.0, (n * phi - (n - 1)) / denom) if denom > 0 else 0.0
    return Overdispersion(phi=phi, tau2=float(tau2), n=n)


def adjusted_limits(
    expected: np.ndarray | pd.Series, tau2: float, levels: tuple[float, ...] = (0.95, 0.998)
) -> pd.DataFrame:
    """Funnel limits for O/E at given expected counts, widened by ``tau^2``.

    Returns
    -------
    pandas.DataFrame
        ``expected`` and ``lower_<p>``, ``upper_<p>`` for each level (``p`` as in ``95``,
        ``99.8``); lower limits are floored at 0.
    """
    e = np.asarray(expected, float)
    sd = np.sqrt(1 / e + tau2)
    out = {"expected": e}
    for level in levels:
        z = stats.norm.ppf(0.5 + level / 2)
        key = f"{100 * level:g}"
        out[f"lower_{key}"] = np.maximum(1 - z * sd, 0.0)
        out[f"upper_{key}"] = 1 + z * sd
    return pd.DataFrame(out)


def outside_limits(observed: float, expected: float, tau2: float, level: float = 0.998) -> bool:
    """Whether one LA's ratio lies outside the adjusted limits at ``level``."""
    if not (np.isfinite(observed) and np.isfinite(expected) and expected > 0):
        return False
    z = stats.norm.ppf(0.5 + level / 2)
    return bool(abs(observed / expected - 1) > z * np.sqrt(1 / expected + tau2))
