"""Rates, proportions and ratios with the confidence intervals of PHEindicatormethods.

Every interval here follows the formulas of the R package PHEindicatormethods (UKHSA, v2.1.0),
restated in ``../shared/reference/phe_test_vectors/README.md``:

* exact Poisson limits for counts below 10: L = chi2_{a/2}(2O)/2, U = chi2_{1-a/2}(2O+2)/2
  (Armitage, Berry & Matthews, *Statistical Methods in Medical Research*, 4th ed., 2002);
* Byar's approximation for counts of 10 or more (Breslow & Day, *Statistical Methods in Cancer
  Research* vol. II, 1987, p. 69);
* Wilson score limits for proportions (Wilson, *JASA* 22, 1927, p. 209-212; Newcombe, *Stat Med*
  17, 1998, p. 857-872);
* indirectly standardised ratios with exact/Byar's limits on the observed count;
* the package's bisection for the Poisson mean on a funnel limit (Spiegelhalter, *Stat Med* 24,
  2005, p. 1185-1202), used by the funnel limits of :mod:`cwi.analysis.funnels`, and the funnel
  significance of standardised ratios.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "normalise_confidence",
    "z_value",
    "byars_lower",
    "byars_upper",
    "exact_lower",
    "exact_upper",
    "poisson_limits",
    "rate_ci",
    "wilson_lower",
    "wilson_upper",
    "proportion_ci",
    "ratio_ci",
    "indirect_standardisation",
    "poisson_funnel_mu",
    "ratio_significance",
    "phe_quantile",
]


def normalise_confidence(confidence: float) -> float:
    """Return a confidence level as a fraction (PHE convention: values >= 90 are percentages).

    Parameters
    ----------
    confidence : float
        Either a fraction in [0.9, 1] (0.95) or a percentage in [90, 100] (95).

    Returns
    -------
    float
        The level as a fraction.

    Raises
    ------
    ValueError
        If the level is outside 0.9-1 (or 90-100), as in PHEindicatormethods.
    """
    c = float(confidence)
    if c >= 90:
        c = c / 100.0
    if not 0.5 <= c <= 1.0:
        raise ValueError(
            f"confidence must be a fraction between 0.5 and 1 or a percentage, got {confidence}."
        )
    return c


def z_value(confidence: float) -> float:
    """Return the two-sided standard normal quantile z = Phi^-1(1 - alpha/2)."""
    c = normalise_confidence(confidence)
    return float(stats.norm.ppf(c + (1.0 - c) / 2.0))


def _as_float(x: ArrayLike) -> np.ndarray:
    return np.asarray(pd.to_numeric(np.asarray(x, dtype=object).ravel(), errors="coerce"), float)


def byars_lower(x: ArrayLike, confidence: float = 0.95) -> np.ndarray:
    """Byar's lower limit of a Poisson count: O (1 - 1/(9O) - z/(3 sqrt O))^3, NaN if negative.

    Parameters
    ----------
    x : array-like
        Observed counts O.
    confidence : float
        Confidence level (fraction or percentage).

    Returns
    -------
    numpy.ndarray
        Lower limits on the count scale; NaN where the formula is negative or O is missing.
    """
    o = _as_float(x)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = o * (1.0 - 1.0 / (9.0 * o) - z / (3.0 * np.sqrt(o))) ** 3
    out[out < 0] = np.nan
    return out


def byars_upper(x: ArrayLike, confidence: float = 0.95) -> np.ndarray:
    """Byar's upper limit of a Poisson count: (O+1)(1 - 1/(9(O+1)) + z/(3 sqrt(O+1)))^3."""
    o = _as_float(x) + 1.0
    z = z_value(confidence)
    return o * (1.0 - 1.0 / (9.0 * o) + z / (3.0 * np.sqrt(o))) ** 3


def exact_lower(x: ArrayLike, confidence: float = 0.95) -> np.ndarray:
    """Exact Poisson lower limit chi2_{alpha/2}(2O)/2 (0 when O = 0)."""
    o = _as_float(x)
    a = 1.0 - normalise_confidence(confidence)
    out = np.where(o > 0, stats.chi2.ppf(a / 2.0, 2.0 * np.where(o > 0, o, 1.0)) / 2.0, 0.0)
    out[np.isnan(o)] = np.nan
    return out


def exact_upper(x: ArrayLike, confidence: float = 0.95) -> np.ndarray:
    """Exact Poisson upper limit chi2_{1-alpha/2}(2O+2)/2."""
    o = _as_float(x)
    a = 1.0 - normalise_confidence(confidence)
    return stats.chi2.ppf(1.0 - a / 2.0, 2.0 * o + 2.0) / 2.0


def poisson_limits(
    x: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Limits of a Poisson count as PHEindicatormethods: exact below 10, Byar's from 10.

    Parameters
    ----------
    x : array-like
        Observed counts.
    confidence : float
        Confidence level.

    Returns
    -------
    lower, upper : numpy.ndarray
        Limits on the count scale.
    method : numpy.ndarray of object
        ``"Exact"`` or ``"Byars"`` (``None`` where the count is missing).
    """
    o = _as_float(x)
    small = o < 10
    lower = np.where(small, exact_lower(o, confidence), byars_lower(o, confidence))
    upper = np.where(small, exact_upper(o, confidence), byars_upper(o, confidence))
    method = np.where(small, "Exact", "Byars").astype(object)
    method[np.isnan(o)] = None
    return lower, upper, method


def rate_ci(
    x: ArrayLike, n: ArrayLike, confidence: float = 0.95, multiplier: float = 10000
) -> pd.DataFrame:
    """Crude rates with confidence limits, as ``PHEindicatormethods::phe_rate``.

    Parameters
    ----------
    x : array-like
        Numerators (event counts).
    n : array-like
        Denominators (population).
    confidence : float
        Confidence level (fraction or percentage).
    multiplier : float
        Rate per ``multiplier`` people (default 10,000 children).

    Returns
    -------
    pandas.DataFrame
        Columns ``value, lower, upper, method`` (``method`` is ``"Exact"`` for x < 10, else
        ``"Byars"``), one row per input element. Missing x or n give missing limits.
    """
    o = _as_float(x)
    d = _as_float(n)
    lower, upper, method = poisson_limits(o, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = multiplier * o / d
        out = pd.DataFrame(
            {
                "value": value,
                "lower": multiplier * lower / d,
                "upper": multiplier * upper / d,
                "method": method,
            }
        )
    out.loc[np.isnan(d) | (d <= 0), ["value", "lower", "upper"]] = np.nan
    return out


def wilson_lower(x: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> np.ndarray:
    """Wilson score lower limit of a proportion x/n (0 when confidence is 1)."""
    return _wilson(x, n, confidence, -1.0)


def wilson_upper(x: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> np.ndarray:
    """Wilson score upper limit of a proportion x/n (1 when confidence is 1)."""
    return _wilson(x, n, confidence, 1.0)


def _wilson(x: ArrayLike, n: ArrayLike, confidence: float, sign: float) -> np.ndarray:
    o = _as_float(x)
    d = _as_float(n)
    if normalise_confidence(confidence) == 1.0:
        return np.full(o.shape, 0.0 if sign < 0 else 1.0)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (2 * o + z**2 + sign * z * np.sqrt(z**2 + 4 * o * (1 - o / d))) / (2 * (d + z**2))


def proportion_ci(
    x: ArrayLike, n: ArrayLike, confidence: float = 0.95, multiplier: float = 1
) -> pd.DataFrame:
    """Proportions with Wilson score limits, as ``PHEindicatormethods::phe_proportion``.

    Parameters
    ----------
    x, n : array-like
        Numerators and denominators; x must not exceed n.
    confidence : float
        Confidence level.
    multiplier : float
        1 for a proportion, 100 for a percentage.

    Returns
    -------
    pandas.DataFrame
        Columns ``value, lower, upper, method`` (``"Wilson"``).

    Raises
    ------
    ValueError
        If a numerator exceeds its denominator.
    """
    o = _as_float(x)
    d = _as_float(n)
    if np.any(o > d):
        raise ValueError("proportion_ci: a numerator exceeds its denominator; check the inputs.")
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame(
            {
                "value": multiplier * o / d,
                "lower": multiplier * wilson_lower(o, d, confidence),
                "upper": multiplier * wilson_upper(o, d, confidence),
                "method": "Wilson",
            }
        )


def ratio_ci(
    observed: ArrayLike, expected: ArrayLike, confidence: float = 0.95, refvalue: float = 1.0
) -> pd.DataFrame:
    """Ratio of an observed count to an expected count, with limits on the observed count.

    This is the standardised-ratio interval of ``calculate_ISRatio``: the expected count is
    treated as fixed and the observed count as Poisson (exact below 10, Byar's otherwise).

    Parameters
    ----------
    observed, expected : array-like
        Observed and expected counts.
    confidence : float
        Confidence level.
    refvalue : float
        1 for a ratio, 100 for a ratio x 100.

    Returns
    -------
    pandas.DataFrame
        Columns ``observed, expected, value, lower, upper, method``.
    """
    o = _as_float(observed)
    e = _as_float(expected)
    lower, upper, method = poisson_limits(o, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame(
            {
                "observed": o,
                "expected": e,
                "value": refvalue * o / e,
                "lower": refvalue * lower / e,
                "upper": refvalue * upper / e,
                "method": method,
            }
        )


def indirect_standardisation(
    data: pd.DataFrame,
    by: list[str],
    strata: list[str],
    count: str,
    pop: str,
    ref: pd.DataFrame,
    ref_count: str,
    ref_pop: str,
    confidence: float = 0.95,
    refvalue: float = 1.0,
    multiplier: float | None = None,
    observed_totals: pd.DataFrame | None = None,
    observed_col: str = "total_count",
) -> pd.DataFrame:
    """Indirectly standardised ratio (or rate), as ``calculate_ISRatio`` / ``calculate_ISRate``.

    E = sum_i (x_ref,i / n_ref,i) n_i over strata i (missing values count as 0), O = sum_i x_i;
    ratio = refvalue O/E with exact (O < 10) or Byar's limits on O divided by E.  With a
    ``multiplier`` the result is the standardised rate ref_rate O/E, ref_rate = m sum x_ref / sum
    n_ref.

    Parameters
    ----------
    data : pandas.DataFrame
        Observed counts and populations by ``by`` x ``strata``.
    by : list of str
        Columns identifying each area (one output row per value).
    strata : list of str
        Columns of the standardisation strata (e.g. decile and age band).
    count, pop : str
        Observed count and population columns of ``data``.
    ref : pandas.DataFrame
        Reference counts and populations by ``strata``.
    ref_count, ref_pop : str
        Columns of ``ref``.
    confidence : float
        Confidence level.
    refvalue : float
        Scale of the ratio (1 or 100).
    multiplier : float, optional
        If given, return the indirectly standardised rate per ``multiplier``.
    observed_totals : pandas.DataFrame, optional
        Observed totals per area (``by`` columns and ``observed_col``), for when the observed
        events are not known by stratum (``calculate_ISRatio(observed_totals=)``); ``count``
        may then be absent from ``data``.
    observed_col : str
        Column of ``observed_totals`` holding the totals.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns plus ``observed, expected, value, lower, upper, method``.
    """
    r = ref[[*strata, ref_count, ref_pop]].copy()
    r["_rate"] = (r[ref_count].fillna(0) / r[ref_pop]).where(r[ref_pop] > 0, 0.0)
    data = data.copy()
    if observed_totals is not None:
        data[count] = np.nan
    d = data[[*by, *strata, count, pop]].merge(r[[*strata, "_rate"]], on=strata, how="left")
    d["_exp"] = d["_rate"].fillna(0) * d[pop].fillna(0)
    g = d.groupby(by, sort=False, observed=True).agg(
        observed=(count, lambda s: s.sum(min_count=0)), expected=("_exp", "sum")
    )
    g = g.reset_index()
    if observed_totals is not None:
        tot = observed_totals.set_index(by)[observed_col]
        g["observed"] = [tot.get(k if len(by) > 1 else k[0], np.nan)
                         for k in g[by].itertuples(index=False)]  # fmt: skip
    scale = refvalue
    if multiplier is not None:
        scale = multiplier * r[ref_count].fillna(0).sum() / r[ref_pop].sum()
    res = ratio_ci(g["observed"], g["expected"], confidence, refvalue=scale)
    out = pd.concat([g[by].reset_index(drop=True), res], axis=1)
    return out


# ---- funnel plots ----------------------------------------------------------------------------


def _poisson_range_prob(mu: float, lo: float, hi: float) -> float:
    """P(lo <= X <= hi) for X ~ Poisson(mu), summed as in PHEindicatormethods."""
    # The package sums pmf terms from 0 until they become negligible; the result equals the
    # exact Poisson probability to double precision, so scipy is used for the same quantity.
    if hi >= 1e9:
        return float(stats.poisson.sf(lo - 1, mu))
    return float(stats.poisson.cdf(hi, mu) - stats.poisson.cdf(lo - 1, mu))


def poisson_funnel_mu(observed: float, p: float, side: str) -> float:
    """Solve for the Poisson mean at a tail probability, by the package's bisection.

    mu = (1+O) v/(1-v), v starts at 1/2 with step 1/2, halved while > 1e-7.

    Parameters
    ----------
    observed : float
        Observed count O.
    p : float
        Tail probability (0.025 for 2 SD, 0.001 for 3 SD limits).
    side : {"low", "high"}
        ``"low"`` finds mu with P(X >= O) = p (about chi2_p(2O)/2); ``"high"`` finds mu with
        P(X <= O) = p (about chi2_{1-p}(2O+2)/2).

    Returns
    -------
    float
        The Poisson mean.
    """
    v, dv = 0.5, 0.5
    o = float(observed)
    while dv > 1e-7:
        dv /= 2.0
        mu = (1.0 + o) * v / (1.0 - v)
        if side == "low":
            v = v - dv if _poisson_range_prob(mu, o, 1e10) > p else v + dv
        else:
            v = v - dv if _poisson_range_prob(mu, 0, o) < p else v + dv
    return (1.0 + o) * v / (1.0 - v)


def ratio_significance(observed: ArrayLike, expected: ArrayLike) -> pd.Series:
    """Funnel-plot significance of observed/expected ratios against 1.

    As ``assign_funnel_significance(statistic="ratio")``: the exact (O < 10) or Byar's limits of
    O at 99.8% and then 95%, divided by E, are compared with 1.

    Parameters
    ----------
    observed, expected : array-like
        Observed and expected counts.

    Returns
    -------
    pandas.Series
        ``"High (0.001)"``, ``"High (0.025)"``, ``"Low (0.001)"``, ``"Low (0.025)"`` or
        ``"Not significant"``.
    """
    o = _as_float(observed)
    e = _as_float(expected)
    out = np.full(o.shape, "Not significant", dtype=object)
    for conf, tag in ((0.95, "0.025"), (0.998, "0.001")):
        lower, upper, _ = poisson_limits(o, conf)
        lower = np.nan_to_num(lower, nan=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[lower / e > 1] = f"High ({tag})"
            out[upper / e < 1] = f"Low ({tag})"
    return pd.Series(out)


def phe_quantile(
    values: ArrayLike,
    groups: ArrayLike | None = None,
    nquantiles: int = 10,
    invert: ArrayLike | bool = True,
) -> pd.Series:
    """Quantile of each value within its group, as ``PHEindicatormethods::phe_quantile``.

    Per group of N non-missing values: rank = min-rank of the value (of -value where
    ``invert`` is true, so the highest value falls in quantile 1); quantile =
    floor((Q + 1) - ceil(((N + 1) - rank) / (N / Q))), 0 counted as 1; every row of a group
    with N < Q gets NaN.

    Parameters
    ----------
    values : array-like
        Values to assign (e.g. LA rates).
    groups : array-like, optional
        Group label per value (quantiles are assigned within each group).
    nquantiles : int
        Number of quantiles Q.
    invert : bool or array-like of bool
        True: high values get quantile 1 (use where high is bad / "low is good" polarity).

    Returns
    -------
    pandas.Series
        Quantiles 1..Q (float, NaN where not assignable).
    """
    v = pd.Series(_as_float(values))
    g = pd.Series(np.zeros(len(v)) if groups is None else np.asarray(groups, dtype=object).ravel())
    inv = pd.Series(np.broadcast_to(np.asarray(invert), v.shape)).astype(str).str.upper()
    key = v.where(~inv.isin(["TRUE", "1"]), -v)
    out = pd.Series(np.nan, index=v.index)
    for _, idx in g.groupby(g).groups.items():
        k = key.loc[idx]
        n = int(k.notna().sum())
        if n < nquantiles:
            continue
        rank = k.rank(method="min")
        q = np.floor((nquantiles + 1) - np.ceil(((n + 1) - rank) / (n / nquantiles)))
        out.loc[idx] = q.where(q != 0, 1.0)
    return out
