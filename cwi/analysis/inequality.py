"""Inequality indices: slope / relative index of inequality and the concentration index.

* :func:`phe_sii` - Low & Low (2004) weighted regression on population mid-point ranks with
  Monte-Carlo confidence limits, exactly as ``PHEindicatormethods::phe_sii`` (v2.1.0; formulas
  restated in ``phe_test_vectors/README.md``).  Quantile 1 is placed at rank 0; with quantile 1
  = most deprived and ``multiplier = -1`` the SII is (most deprived end) - (least deprived end)
  and the RII their ratio, so SII > 0 / RII > 1 mean higher values in more deprived areas.
* :func:`concentration_index` - grouped-data concentration index C = (2/mu) sum f_t mu_t R_t - 1
  (the covariance form 2 cov(h, R)/mu with fractional rank R) with the standard error of
  Kakwani, Wagstaff & van Doorslaer (1997, *J Econometrics* 77:87-103), eq. for grouped data as
  in O'Donnell et al. (2008, *Analyzing Health Equity Using Household Survey Data*, eq. 8.8).
  Ranks run from the first group; with group 1 = most deprived a negative C means cases are
  concentrated in the most deprived areas.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from cwi.analysis.rates import normalise_confidence

__all__ = ["phe_sii", "concentration_index"]


def _mid_ranks(population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = population / population.sum()
    b = np.cumsum(a) - a / 2.0
    return a, b


def _wls_line(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of y (..., Q) on b with weights a; returns (b0, b1)."""
    bm = np.sum(a * b)
    c = a * (b - bm) / np.sum(a * (b - bm) ** 2)  # sum(c) = 0, so y-bar drops out
    b1 = y @ c
    return y @ a - b1 * bm, b1


def _link(value_type: int):
    if value_type == 1:
        return np.log, np.exp
    if value_type == 2:
        return (lambda p: np.log(p / (1 - p))), (lambda t: 1 / (1 + np.exp(-t)))
    return (lambda v: v), (lambda v: v)


def phe_sii(
    quantile: Sequence[int],
    population: Sequence[float],
    value: Sequence[float],
    se: Sequence[float] | None = None,
    lower_cl: Sequence[float] | None = None,
    upper_cl: Sequence[float] | None = None,
    value_type: int = 0,
    transform: bool = False,
    multiplier: float = 1.0,
    confidence: float | Sequence[float] = 0.95,
    repetitions: int = 10000,
    rii: bool = True,
    rng: np.random.Generator | None = None,
) -> dict[str, float]:
    """Slope and relative index of inequality for one group of quantiles (``phe_sii``).

    Parameters
    ----------
    quantile, population, value : sequence
        Quantile number (1 = first rank, e.g. most deprived), its population and its value.
    se : sequence, optional
        Standard error of each value (on the log/logit scale for value_type 1/2).
    lower_cl, upper_cl : sequence, optional
        95% limits, used when ``se`` is not given: SE = (U - L)/(2 x 1.959964) on the
        transformed scale.
    value_type : {0, 1, 2}
        0 = no transform in the simulation, 1 = rate (log), 2 = proportion (logit).
    transform : bool
        Fit the regression on the transformed scale.
    multiplier : float
        Scale of the SII; a negative value reverses the direction (and inverts the RII).
    confidence : float or sequence of float
        One or two confidence levels.
    repetitions : int
        Monte-Carlo replicates.
    rii : bool
        Also return the RII.
    rng : numpy.random.Generator, optional
        Random source for the simulation.

    Returns
    -------
    dict
        ``sii, rii, intercept`` and for each level k ``sii_lowercl_k, sii_uppercl_k,
        rii_lowercl_k, rii_uppercl_k``.
    """
    rng = rng or np.random.default_rng(20040101)
    order = np.argsort(np.asarray(quantile))
    pop = np.asarray(population, float)[order]
    y = np.asarray(value, float)[order]
    a, b = _mid_ranks(pop)
    fwd, back = _link(value_type)
    ty = fwd(y)
    if se is not None:
        s = np.asarray(se, float)[order]
    else:
        lo = np.asarray(lower_cl, float)[order]
        up = np.asarray(upper_cl, float)[order]
        s = (fwd(up) - fwd(lo)) / (2 * 1.959964)
    m = float(multiplier)
    out: dict[str, float] = {}
    if transform:
        b0, b1 = _wls_line(ty, a, b)
        g0, g1 = back(b0), back(b0 + b1)
        out["sii"] = m * (g1 - g0)
        out["rii"] = g1 / g0 if m >= 0 else g0 / g1
        out["intercept"] = abs(m) * g0
    else:
        b0, b1 = _wls_line(y, a, b)
        out["sii"] = m * b1
        out["rii"] = (b0 + b1) / b0 if m >= 0 else b0 / (b0 + b1)
        out["intercept"] = b0
    draws = ty + s * rng.standard_normal((repetitions, len(ty)))
    if transform:
        _, s1 = _wls_line(draws, a, b)
        sims = np.sort(s1)
    else:
        d0, d1 = _wls_line(back(draws), a, b)
        sii_s = np.sort(m * d1)
        rii_s = np.sort((d0 + d1) / d0 if m >= 0 else d0 / (d0 + d1))
    levels = [confidence] if np.isscalar(confidence) else list(confidence)  # type: ignore[arg-type]
    for k, conf in enumerate(levels, start=1):
        c = normalise_confidence(conf)
        i_lo = int(np.round(repetitions * (1 - c) / 2)) - 1
        i_up = int(np.round(repetitions * (1 - (1 - c) / 2))) - 1
        if transform:
            h = b0 + b1 / 2
            lims = []
            for sl in (sims[i_lo], sims[i_up]):
                x0, x1 = back(h - sl / 2), back(h + sl / 2)
                lims.append((m * (x1 - x0), x1 / x0 if m >= 0 else x0 / x1))
            sii_lims = sorted([lims[0][0], lims[1][0]])
            rii_lims = sorted([lims[0][1], lims[1][1]])
            out[f"sii_lowercl_{k}"], out[f"sii_uppercl_{k}"] = sii_lims
            out[f"rii_lowercl_{k}"], out[f"rii_uppercl_{k}"] = rii_lims
        else:
            out[f"sii_lowercl_{k}"], out[f"sii_uppercl_{k}"] = sii_s[i_lo], sii_s[i_up]
            out[f"rii_lowercl_{k}"], out[f"rii_uppercl_{k}"] = rii_s[i_lo], rii_s[i_up]
    if not rii:
        out = {k: v for k, v in out.items() if not k.startswith("rii")}
    return out


def concentration_index(
    population: Sequence[float], cases: Sequence[float], confidence: float = 0.95
) -> dict[str, float]:
    """Grouped-data concentration index of cases over population-ranked groups, with CI.

    Parameters
    ----------
    population : sequence of float
        Children in each group, in rank order (first = most deprived).
    cases : sequence of float
        Cases in each group (each child counted at most once, so mu_t = cases/population is a
        proportion and sigma_t^2 = mu_t (1 - mu_t)).
    confidence : float
        Confidence level of the normal-theory interval.

    Returns
    -------
    dict
        ``estimate, se, lower, upper``.
    """
    pop = np.asarray(population, float)
    x = np.asarray(cases, float)
    n = pop.sum()
    f = pop / n
    mu_t = np.divide(x, pop, out=np.zeros_like(x), where=pop > 0)
    mu = x.sum() / n
    r = np.cumsum(f) - f / 2
    c = 2.0 / mu * np.sum(f * mu_t * r) - 1.0
    q = np.cumsum(mu_t * f) / mu
    q_prev = np.concatenate([[0.0], q[:-1]])
    a_t = mu_t / mu * (2 * r - 1 - c) + 2 - q_prev - q
    var = (np.sum(f * a_t**2) - (1 + c) ** 2) / n + np.sum(
        f * mu_t * (1 - mu_t) * (2 * r - 1 - c) ** 2
    ) / (n * mu**2)
    se = float(np.sqrt(max(var, 0.0)))
    z = stats.norm.ppf(0.5 + normalise_confidence(confidence) / 2)
    return {"estimate": float(c), "se": se, "lower": c - z * se, "upper": c + z * se}
