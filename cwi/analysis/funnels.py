"""Funnel plots: control limits, significance and plotted points for proportions, rates, ratios.

Poisson and Wilson limits follow ``PHEindicatormethods`` v2.1.0 (``calculate_funnel_limits``,
``assign_funnel_significance``, ``calculate_funnel_points``; formulas restated in
``phe_test_vectors/README.md``) so that the package's test vectors are reproduced, including its
100-point axis grid and its bisection for Poisson limits (in :mod:`cwi.analysis.rates`).

:func:`overdispersed_ratio_limits` adds the overdispersion allowance of Spiegelhalter (2005,
*Stat Med* 24:1185-1202, "Handling over-dispersion of performance indicators", Qual Saf Health
Care 14:347-351): z-scores on the square-root scale, 10% Winsorised, a dispersion factor phi and,
when phi shows overdispersion, an additive random-effects variance tau^2 (DerSimonian-Laird form)
that widens every limit by the same between-unit spread.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from cwi.analysis.rates import (
    _as_float,
    byars_lower,
    byars_upper,
    poisson_funnel_mu,
    wilson_lower,
    wilson_upper,
)

__all__ = [
    "funnel_axis_grid",
    "proportion_funnel_limits",
    "rate_funnel_limits",
    "funnel_points",
    "proportion_significance",
    "rate_significance",
    "overdispersion",
    "overdispersed_ratio_limits",
]

_LEVELS = (("2s", 0.025), ("3s", 0.001))


def _r_nchar(x: float) -> int:
    """Characters R's ``as.character`` prints for a non-negative whole number (1e+05 is 5)."""
    v = float(x)
    fixed = f"{v:.15g}" if v != int(v) else str(int(v))
    mant, exp = f"{v:.14e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    sci = f"{mant}e{int(exp):+03d}"
    return len(sci) if len(fixed) > len(sci) else len(fixed)


def _floor95(x: float) -> float:
    v = 0.95 * x
    k = _r_nchar(math.floor(v)) - 1
    return math.floor(v / 10**k) * 10**k


def _ceil105(x: float) -> float:
    v = 1.05 * x
    k = _r_nchar(math.ceil(v)) - 2
    return math.ceil(v / 10**k) * 10**k


def funnel_axis_grid(
    denominators: ArrayLike,
    statistic: str = "proportion",
    rate: float | None = None,
    years_of_data: int = 1,
) -> np.ndarray:
    """The 100-point x-axis of ``calculate_funnel_limits`` (populations, or events for rates).

    Parameters
    ----------
    denominators : array-like
        Denominators of the plotted points (for rates: derived person-years over all years).
    statistic : {"proportion", "rate", "ratio"}
        The grid step differs for ratios.
    rate : float, optional
        For rates: the pooled rate sum O / sum d, which converts the axis to events.
    years_of_data : int
        Years pooled in each point (rates): the axis is rounded on the one-year scale.

    Returns
    -------
    numpy.ndarray
        100 grid points.
    """
    d = _as_float(denominators)
    d = d[~np.isnan(d)] / years_of_data
    dmin, dmax = d.min(), d.max()
    amin = 0.0 if dmax > 2 * dmin else _floor95(dmin)
    amax = _ceil105(dmax)
    amin, amax = amin * years_of_data, amax * years_of_data
    if statistic == "rate":
        amin, amax = math.floor(amin * rate), math.ceil(amax * rate)
    x = [max(1.0, amin)]
    for j in range(2, 101):
        o = j - 1 if statistic == "ratio" else j
        prev = x[-1]
        x.append(max(float(np.round((amax / prev) ** (1.0 / (101 - o)) * prev)), prev + 1))
    return np.array(x)


def proportion_funnel_limits(
    numerator: ArrayLike, denominator: ArrayLike, multiplier: float = 100
) -> pd.DataFrame:
    """Wilson funnel limits around the pooled proportion (2 and 3 SD), on the package's grid.

    Parameters
    ----------
    numerator, denominator : array-like
        The plotted proportions' counts.
    multiplier : float
        1 for proportions, 100 for percentages.

    Returns
    -------
    pandas.DataFrame
        ``population, lower_2s_limit, upper_2s_limit, lower_3s_limit, upper_3s_limit,
        baseline``.
    """
    x, n = _as_float(numerator), _as_float(denominator)
    p = x.sum() / n.sum()
    grid = funnel_axis_grid(n, "proportion")
    out = pd.DataFrame({"population": grid})
    for label, tail in _LEVELS:
        z = stats.norm.ppf(1 - tail)
        a = p * (grid / z**2 + 1)
        inner = (8 * a) ** 2 - 64 * (1 / z**2 + 1 / grid) * p * (
            grid * (p * (grid / z**2 + 2) - 1) + z**2 * (p - 1)
        )
        dd = np.sqrt(inner)
        lo = multiplier * ((a - dd / 8) / (1 / z**2 + 1 / grid)) / grid
        up = multiplier * ((a + dd / 8) / (1 / z**2 + 1 / grid)) / grid
        out[f"lower_{label}_limit"] = np.maximum(0.0, lo)
        out[f"upper_{label}_limit"] = np.minimum(100.0, up)
    out["baseline"] = multiplier * p
    return out


def _derived_denominators(
    numerator: np.ndarray,
    rate: np.ndarray,
    multiplier: float,
    rate_type: str,
    denominator: np.ndarray | None,
) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        d = multiplier * numerator / rate
    zero = numerator == 0
    if rate_type == "dsr" or denominator is None:
        d[zero] = np.nan
    else:
        d[zero] = denominator[zero]
    return d


def rate_funnel_limits(
    numerator: ArrayLike,
    rate: ArrayLike,
    multiplier: float = 100000,
    rate_type: str = "dsr",
    years_of_data: int = 1,
    denominator: ArrayLike | None = None,
) -> pd.DataFrame:
    """Poisson funnel limits for crude or directly standardised rates.

    Denominators are derived as m O / rate (for O = 0: the supplied denominator for crude
    rates, none for DSRs); the pooled rate is sum O / sum d.  On a grid of event counts O, the
    expected count mu at which O sits on the limit gives the population mu / pooled rate and
    the limit m O / population.

    Parameters
    ----------
    numerator, rate : array-like
        Events and rates (per ``multiplier``) of the plotted points.
    multiplier : float
        Rate multiplier.
    rate_type : {"dsr", "crude"}
        Rate type (labels the output).
    years_of_data : int
        Years pooled in each point; populations are reported per year.
    denominator : array-like, optional
        Populations, used for zero-event crude rates.

    Returns
    -------
    pandas.DataFrame
        ``events``, ``{lower,upper}_{2s,3s}_population_1_year``, ``..._limit``, ``baseline``,
        ``statistic``, ``method``.
    """
    o = _as_float(numerator)
    r = _as_float(rate)
    den = None if denominator is None else _as_float(denominator)
    d = _derived_denominators(o, r, multiplier, rate_type, den)
    ok = ~np.isnan(d)
    pooled = o[ok].sum() / d[ok].sum()
    grid = funnel_axis_grid(d, "rate", pooled, years_of_data)
    out = pd.DataFrame({"events": grid})
    for label, tail in _LEVELS:
        mu_hi = np.array([poisson_funnel_mu(g, tail, "high") for g in grid])
        mu_lo = np.array([poisson_funnel_mu(g, tail, "low") for g in grid])
        out[f"lower_{label}_population_1_year"] = mu_hi / pooled / years_of_data
        out[f"lower_{label}_limit"] = multiplier * grid / (mu_hi / pooled)
        out[f"upper_{label}_population_1_year"] = mu_lo / pooled / years_of_data
        out[f"upper_{label}_limit"] = multiplier * grid / (mu_lo / pooled)
    out["baseline"] = multiplier * pooled
    out["statistic"] = f"rate ({rate_type} per {multiplier:,.0f})"
    out["method"] = "Poisson"
    return out


def funnel_points(
    numerator: ArrayLike,
    rate: ArrayLike,
    multiplier: float = 100000,
    rate_type: str = "dsr",
    years_of_data: int = 1,
    denominator: ArrayLike | None = None,
) -> pd.DataFrame:
    """The plotted points of a rate funnel (``calculate_funnel_points``).

    Returns
    -------
    pandas.DataFrame
        ``rate_chart`` (the rate; NaN for DSRs on fewer than 10 events) and
        ``denominator_derived`` (one-year population m O / rate / years, or the supplied
        population / years for zero-event crude rates).
    """
    o = _as_float(numerator)
    r = _as_float(rate)
    den = None if denominator is None else _as_float(denominator)
    d = _derived_denominators(o, r, multiplier, rate_type, den) / years_of_data
    chart = r.copy()
    if rate_type == "dsr":
        chart[o < 10] = np.nan
        d[o < 10] = np.nan
    return pd.DataFrame({"rate_chart": chart, "denominator_derived": d})


def proportion_significance(numerator: ArrayLike, denominator: ArrayLike) -> pd.Series:
    """Funnel significance of proportions against the pooled proportion (Wilson limits).

    Returns
    -------
    pandas.Series
        ``"High (0.001)"``, ``"High (0.025)"``, ``"Low (0.001)"``, ``"Low (0.025)"`` or
        ``"Not significant"``.
    """
    x, n = _as_float(numerator), _as_float(denominator)
    p = x.sum() / n.sum()
    out = np.full(x.shape, "Not significant", dtype=object)
    for conf, tag in ((0.95, "0.025"), (0.998, "0.001")):
        out[wilson_lower(x, n, conf) > p] = f"High ({tag})"
        out[wilson_upper(x, n, conf) < p] = f"Low ({tag})"
    return pd.Series(out)


def _count_bounds(o: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Significance bounds of a count: exact chi-square below 10 (0 at O = 0), Byar's above."""
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    with np.errstate(invalid="ignore"):
        ex_lo = np.where(o > 0, stats.chi2.ppf(lo_q, 2 * np.maximum(o, 1e-300)) / 2, 0.0)
        ex_hi = stats.chi2.ppf(hi_q, 2 * o + 2) / 2
    by_lo = np.nan_to_num(byars_lower(o, level), nan=0.0)
    by_hi = byars_upper(o, level)
    small = o < 10
    return np.where(small, ex_lo, by_lo), np.where(small, ex_hi, by_hi)


def rate_significance(
    numerator: ArrayLike,
    rate: ArrayLike,
    multiplier: float = 100000,
    rate_type: str = "dsr",
    denominator: ArrayLike | None = None,
) -> pd.Series:
    """Funnel significance of crude rates or DSRs against the pooled rate.

    The count's bounds (exact below 10 events, Byar's from 10; 95% and 99.8%) divided by the
    derived denominator are compared with the pooled rate sum O / sum d. DSRs on fewer than 10
    events are not assessed.

    Returns
    -------
    pandas.Series
        Significance labels, or ``"Not applicable for events less than 10 for dsrs"``.
    """
    o = _as_float(numerator)
    r = _as_float(rate)
    den = None if denominator is None else _as_float(denominator)
    d = _derived_denominators(o, r, multiplier, rate_type, den)
    ok = ~np.isnan(d)
    pooled = o[ok].sum() / d[ok].sum()
    out = np.full(o.shape, "Not significant", dtype=object)
    for level, tag in ((0.95, "0.025"), (0.998, "0.001")):
        lo, hi = _count_bounds(o, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[(lo / d > pooled) & ok] = f"High ({tag})"
            out[(hi / d < pooled) & ok] = f"Low ({tag})"
    if rate_type == "dsr":
        out[o < 10] = "Not applicable for events less than 10 for dsrs"
    return pd.Series(out)


def overdispersion(observed: ArrayLike, expected: ArrayLike, winsor: float = 0.1) -> dict:
    """Overdispersion of standardised ratios O/E around 1 (Spiegelhalter 2005).

    z_i = 2 (sqrt O_i - sqrt E_i) (square-root scale, s_i = 1/(2 sqrt E_i) for sqrt(O/E)),
    Winsorised at ``winsor`` in each tail; phi = mean z^2.  If I phi > I - 1, the additive
    random-effects variance on the sqrt(O/E) scale is
    tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w), w_i = 1 / s_i^2 = 4 E_i; else 0.

    Returns
    -------
    dict
        ``phi``, ``tau2``, ``n`` (units used) and ``overdispersed`` (bool).
    """
    o, e = _as_float(observed), _as_float(expected)
    ok = ~np.isnan(o) & ~np.isnan(e) & (e > 0)
    o, e = o[ok], e[ok]
    n = len(o)
    if n < 3:
        return {"phi": np.nan, "tau2": 0.0, "n": n, "overdispersed": False}
    z = 2 * (np.sqrt(o) - np.sqrt(e))
    lo, hi = np.quantile(z, [winsor, 1 - winsor])
    z = np.clip(z, lo, hi)
    phi = float(np.mean(z**2))
    w = 4 * e
    tau2 = 0.0
    if n * phi > n - 1:
        tau2 = float((n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    return {"phi": phi, "tau2": max(tau2, 0.0), "n": n, "overdispersed": n * phi > n - 1}


def overdispersed_ratio_limits(
    expected: ArrayLike, tau2: float, levels: tuple[float, ...] = (0.95, 0.998)
) -> pd.DataFrame:
    """Funnel limits for O/E around 1 with an additive random-effects allowance.

    On the sqrt(O/E) scale: 1 +- z sqrt(1/(4E) + tau^2), squared back (lower clipped at 0).
    With ``tau2 = 0`` these are the usual normal-approximation Poisson limits.

    Parameters
    ----------
    expected : array-like
        Expected counts at which the limits are drawn.
    tau2 : float
        Between-unit variance from :func:`overdispersion`.
    levels : tuple of float
        Two-sided coverage of each pair of limits.

    Returns
    -------
    pandas.DataFrame
        ``expected`` and ``lower_<level>``, ``upper_<level>`` (level as e.g. ``95``, ``99.8``).
    """
    e = _as_float(expected)
    out = pd.DataFrame({"expected": e})
    for lv in levels:
        z = stats.norm.ppf(0.5 + lv / 2)
        s = np.sqrt(1 / (4 * e) + tau2)
        tag = f"{lv * 100:g}"
        out[f"lower_{tag}"] = np.maximum(0.0, 1 - z * s) ** 2
        out[f"upper_{tag}"] = (1 + z * s) ** 2
    return out
