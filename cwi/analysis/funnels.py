"""Funnel plots: control limits, significance and plotted points for proportions, rates, ratios.

Poisson and Wilson limits follow ``PHEindicatormethods`` v2.1.0 (``calculate_funnel_limits``,
``assign_funnel_significance``, ``calculate_funnel_points``; formulas restated in
``phe_test_vectors/README.md``) so that the package's test vectors are reproduced, including its
100-point axis grid and its bisection for Poisson limits (in :mod:`cwi.analysis.rates`).
Every funnel's limits go through one loop over the control levels, :func:`control_limits`;
:func:`ratio_limits_at` gives the ratio limits at given expected counts (Q3's funnel table).

:func:`overdispersed_ratio_limits` adds the overdispersion allowance of Spiegelhalter (2005,
*Stat Med* 24:1185-1202, "Handling over-dispersion of performance indicators", Qual Saf Health
Care 14:347-351): z-scores on the square-root scale, 10% Winsorised, a dispersion factor phi and,
when phi shows overdispersion, an additive random-effects variance tau^2 (DerSimonian-Laird form)
that widens every limit by the same between-unit spread. These are the only overdispersed limits:
Q3's funnel table and report chart, the LA profile funnels and the England page all use them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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
    "control_limits",
    "funnel_axis_grid",
    "proportion_funnel_limits",
    "rate_funnel_limits",
    "ratio_funnel_limits",
    "ratio_limits_at",
    "funnel_points",
    "proportion_significance",
    "rate_significance",
    "overdispersion",
    "overdispersed_ratio_limits",
]

#: The control levels of a funnel: 2 SD (one-sided tail probability 0.025, 95%) and 3 SD
#: (0.001, 99.8%), as (label, tail probability).
_LEVELS = (("2s", 0.025), ("3s", 0.001))

#: Significance levels of a point: (two-sided coverage, the tail its label names).
_SIGNIFICANCE = ((0.95, "0.025"), (0.998, "0.001"))


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


def control_limits(
    bounds: Callable[[float], tuple[np.ndarray, np.ndarray]],
    name: str = "{side}_{level}_limit",
    levels: Sequence[tuple[str, float]] = _LEVELS,
) -> dict[str, np.ndarray]:
    """A funnel's lower and upper control limits at each level, named by side and level.

    Every funnel here (proportions, rates, ratios on an axis of counts or at given expected
    counts, ratios widened for overdispersion) names its limits through this one function.

    Parameters
    ----------
    bounds : callable
        ``bounds(value)`` gives the (lower, upper) limits at a level's value (by default its
        one-sided tail probability).
    name : str
        Column name with ``{side}`` (``lower`` / ``upper``) and ``{level}`` (the level's label).
    levels : sequence of (str, float)
        Label and value of each level; by default 2 SD (``"2s"``, 0.025) and 3 SD (``"3s"``,
        0.001).

    Returns
    -------
    dict
        Column name -> limits, lower before upper, level by level.
    """
    out = {}
    for level, value in levels:
        lower, upper = bounds(value)
        out[name.format(side="lower", level=level)] = lower
        out[name.format(side="upper", level=level)] = upper
    return out


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

    def wilson(tail: float) -> tuple[np.ndarray, np.ndarray]:
        z = stats.norm.ppf(1 - tail)
        a = p * (grid / z**2 + 1)
        inner = (8 * a) ** 2 - 64 * (1 / z**2 + 1 / grid) * p * (
            grid * (p * (grid / z**2 + 2) - 1) + z**2 * (p - 1)
        )
        dd = np.sqrt(inner)
        lo = multiplier * ((a - dd / 8) / (1 / z**2 + 1 / grid)) / grid
        up = multiplier * ((a + dd / 8) / (1 / z**2 + 1 / grid)) / grid
        return np.maximum(0.0, lo), np.minimum(100.0, up)

    out = pd.DataFrame({"population": grid, **control_limits(wilson)})
    out["baseline"] = multiplier * p
    return out


def _rate_points(
    numerator: ArrayLike,
    rate: ArrayLike,
    multiplier: float,
    rate_type: str,
    denominator: ArrayLike | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events O, rates and derived denominators m O / rate of a rate funnel's points.

    For O = 0 the denominator is the supplied one for crude rates, none (NaN) for DSRs.
    """
    o = _as_float(numerator)
    r = _as_float(rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = multiplier * o / r
    zero = o == 0
    if rate_type == "dsr" or denominator is None:
        d[zero] = np.nan
    else:
        d[zero] = _as_float(denominator)[zero]
    return o, r, d


def _pooled_rate(o: np.ndarray, d: np.ndarray) -> float:
    """The pooled rate sum O / sum d over the points with a denominator."""
    ok = ~np.isnan(d)
    return o[ok].sum() / d[ok].sum()


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
    o, r, d = _rate_points(numerator, rate, multiplier, rate_type, denominator)
    pooled = _pooled_rate(o, d)
    grid = funnel_axis_grid(d, "rate", pooled, years_of_data)
    limits = _poisson_limits(grid, pooled, multiplier, "population_1_year", years_of_data)
    out = pd.DataFrame({"events": grid, **limits})
    out["baseline"] = multiplier * pooled
    out["statistic"] = f"rate ({rate_type} per {multiplier:,.0f})"
    out["method"] = "Poisson"
    return out


def ratio_funnel_limits(observed: ArrayLike, multiplier: float = 1.0) -> pd.DataFrame:
    """Funnel-plot control limits for standardised ratios (2 and 3 SD), Poisson.

    For each observed count O, the expected count at which O sits exactly on the limit is found;
    the limit is O/E.  This is ``calculate_funnel_limits(statistic="ratio")``: ``multiplier=100``
    gives the ``"isr"`` scale and the ``"count"`` scale is ``limit - 1``.

    Parameters
    ----------
    observed : array-like
        Grid of observed counts.
    multiplier : float
        Scale of the ratio (1 or 100).

    Returns
    -------
    pandas.DataFrame
        ``observed``, and for each of ``lower_2s, upper_2s, lower_3s, upper_3s`` the expected
        count (``*_exp_events``) and the ratio limit (``*_limit``).
    """
    o = _as_float(observed)
    return pd.DataFrame({"observed": o, **_poisson_limits(o, 1.0, multiplier, "exp_events")})


def _poisson_limits(
    events: np.ndarray, rate: float, multiplier: float, size: str, years_of_data: int = 1
) -> dict[str, np.ndarray]:
    """Poisson control limits on an axis of event counts O (the package's bisection).

    At each level, the expected count mu at which O sits on the lower (upper) limit gives the
    size mu / ``rate`` (population for rates, expected events for ratios at ``rate`` 1) and the
    limit ``multiplier`` O / size; sizes are reported per year (``{side}_{level}_<size>``).
    """

    def sizes(tail: float) -> tuple[np.ndarray, np.ndarray]:
        lower = np.array([poisson_funnel_mu(o, tail, "high") for o in events])
        upper = np.array([poisson_funnel_mu(o, tail, "low") for o in events])
        return lower / rate, upper / rate

    out = {}
    for key, n in control_limits(sizes, "{side}_{level}").items():
        out[f"{key}_{size}"] = n / years_of_data
        out[f"{key}_limit"] = multiplier * events / n
    return out


def ratio_limits_at(expected: ArrayLike) -> pd.DataFrame:
    """Poisson funnel limits (2 and 3 SD) for a ratio O/E at given expected counts.

    The limits are the ratios O/E at which O is exactly at the 2.5%/97.5% (2 SD) or
    0.1%/99.9% (3 SD) Poisson tail for mean E, with O continuous (chi-square form:
    E = chi2_{1-p}(2O+2)/2 for the lower and E = chi2_p(2O)/2 for the upper limit, the
    continuous form of :func:`ratio_funnel_limits`' bisection), solved by interpolation on a
    fine grid of O.

    Parameters
    ----------
    expected : array-like
        Expected counts.

    Returns
    -------
    pandas.DataFrame
        ``lower_2sd, upper_2sd, lower_3sd, upper_3sd``.
    """
    e = np.asarray(expected, float)
    top = max(float(np.nanmax(e)) if e.size else 1.0, 1.0)
    o = np.concatenate([[0.0], np.geomspace(1e-3, 3 * top + 100, 4000)])

    def ratios(p: float) -> tuple[np.ndarray, np.ndarray]:
        e_low = stats.chi2.ppf(1 - p, 2 * o + 2) / 2  # O is the lower limit when E = e_low
        e_up = stats.chi2.ppf(p, np.maximum(2 * o, 1e-12)) / 2
        o_low = np.interp(e, e_low, o, left=0.0)
        o_up = np.interp(e, e_up[1:], o[1:])
        with np.errstate(divide="ignore", invalid="ignore"):
            return o_low / e, o_up / e

    return pd.DataFrame(control_limits(ratios, "{side}_{level}", (("2sd", 0.025), ("3sd", 0.001))))


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
    o, r, d = _rate_points(numerator, rate, multiplier, rate_type, denominator)
    d = d / years_of_data
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
    return _significance(
        lambda conf: (wilson_lower(x, n, conf), wilson_upper(x, n, conf)), p, x.size
    )


def _significance(
    bounds: Callable[[float], tuple[np.ndarray, np.ndarray]], baseline: float, size: int
) -> pd.Series:
    """Label each of ``size`` points High or Low where its bounds exclude ``baseline``.

    ``bounds(coverage)`` gives the points' (lower, upper) bounds at 95%, then at 99.8% (the
    stronger label wins); a point with missing bounds is not significant.
    """
    out = np.full(size, "Not significant", dtype=object)
    for conf, tag in _SIGNIFICANCE:
        lower, upper = bounds(conf)
        out[lower > baseline] = f"High ({tag})"
        out[upper < baseline] = f"Low ({tag})"
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
    o, _, d = _rate_points(numerator, rate, multiplier, rate_type, denominator)

    def bounds(level: float) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = _count_bounds(o, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            return lo / d, hi / d  # NaN where d is (DSR with no events): not significant

    out = _significance(bounds, _pooled_rate(o, d), o.size)
    if rate_type == "dsr":
        out[o < 10] = "Not applicable for events less than 10 for dsrs"
    return out


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

    def bounds(lv: float) -> tuple[np.ndarray, np.ndarray]:
        s = np.sqrt(1 / (4 * e) + tau2)
        z = stats.norm.ppf(0.5 + lv / 2)
        return np.maximum(0.0, 1 - z * s) ** 2, (1 + z * s) ** 2

    tags = [(f"{lv * 100:g}", lv) for lv in levels]
    return pd.DataFrame({"expected": e, **control_limits(bounds, "{side}_{level}", tags)})
