"""Directly standardised rates with Dobson limits, as ``PHEindicatormethods::calculate_dsr``.

DSR = m sum_i w_i x_i / n_i / sum_i w_i over strata i (e.g. age bands) with standard population
weights w_i; var(DSR/m) = V = sum_i x_i (w_i / n_i)^2 / (sum_i w_i)^2; Dobson et al. (1991,
*Stat Med* 10:457-462) limits DSR + m sqrt(V / T) (B(T) - T), with T = sum_i x_i and B Byar's
lower / upper limit of T. With non-independent events (a person may have several), the
variance sums f^2 times the persons with f events (PHEindicatormethods v2.1.0, restated in
``phe_test_vectors/README.md``). A DSR on fewer than 10 events is not published (NaN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cwi.analysis.rates import byars_lower, byars_upper, normalise_confidence

__all__ = ["dsr"]


def _limit_columns(confidence: float | tuple[float, ...]) -> list[tuple[float, str, str]]:
    levels = confidence if isinstance(confidence, (tuple, list)) else (confidence,)
    if len(levels) == 1:
        return [(normalise_confidence(levels[0]), "lowercl", "uppercl")]
    out = []
    for c in levels:
        c = normalise_confidence(c)
        tag = f"{c * 100:.1f}".replace(".", "_")
        out.append((c, f"lower{tag}cl", f"upper{tag}cl"))
    return out


def dsr(
    data: pd.DataFrame,
    by: list[str],
    count: str,
    pop: str,
    stdpop: str,
    multiplier: float = 100000,
    confidence: float | tuple[float, ...] = 0.95,
    independent_events: bool = True,
    eventfreq: str | None = None,
    ageband: str | None = None,
) -> pd.DataFrame:
    """Directly standardised rate per area with Dobson confidence limits.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per area x stratum (x event frequency when events are not independent).
    by : list of str
        Columns identifying an area (one output row each); may be empty for one area.
    count : str
        Events per stratum (NaN = 0), or with ``independent_events=False`` the number of
        persons with ``eventfreq`` events.
    pop, stdpop : str
        Population and standard population (weight) per stratum; populations must be > 0.
    multiplier : float
        Rate per ``multiplier`` people.
    confidence : float or tuple of float
        One level (columns ``lowercl, uppercl``) or several (``lower95_0cl`` ...).
    independent_events : bool
        False when a person may contribute several events.
    eventfreq : str, optional
        Column with the number of events per person (``independent_events=False``).
    ageband : str, optional
        Stratum column (``independent_events=False``: populations are counted once per stratum).

    Returns
    -------
    pandas.DataFrame
        ``by``, ``total_count``, ``total_pop``, ``value`` and the limit columns; ``value`` and
        limits NaN where ``total_count`` < 10.

    Raises
    ------
    ValueError
        If a population is not positive or ``eventfreq`` is missing for non-independent events.
    """
    d = data.copy()
    d["_x"] = pd.to_numeric(d[count], errors="coerce").fillna(0.0)
    if (pd.to_numeric(d[pop], errors="coerce").fillna(0) <= 0).any():
        raise ValueError("dsr: every stratum population must be positive; check the input.")
    if independent_events:
        d["_f"] = 1.0
    else:
        if not eventfreq or eventfreq not in d or not ageband or ageband not in d:
            raise ValueError("dsr: independent_events=False needs eventfreq and ageband columns.")
        d["_f"] = pd.to_numeric(d[eventfreq], errors="coerce")
    d["_events"] = d["_x"] * d["_f"]
    d["_wr"] = d[stdpop] * d["_events"] / d[pop]
    d["_var"] = d["_f"] ** 2 * d["_x"] * (d[stdpop] / d[pop]) ** 2
    grp = d.groupby(by, sort=False) if by else d.groupby(lambda _: 0)
    # standard population and population count once per stratum, whatever the frequencies
    once = d if independent_events else d.drop_duplicates([*by, ageband])
    g1 = once.groupby(by, sort=False) if by else once.groupby(lambda _: 0)
    tot_w = g1[stdpop].sum()
    tot_pop = g1[pop].sum()
    out = pd.DataFrame(
        {
            "total_count": grp["_events"].sum(),
            "total_pop": tot_pop,
            "_wr": grp["_wr"].sum(),
            "_var": grp["_var"].sum(),
            "_w": tot_w,
        }
    )
    value = multiplier * out["_wr"] / out["_w"]
    var = out["_var"] / out["_w"] ** 2
    t = out["total_count"].to_numpy(float)
    small = t < 10
    out["value"] = np.where(small, np.nan, value)
    for c, lo, up in _limit_columns(confidence):
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = multiplier * np.sqrt(var / t)
            lower = value + scale * (byars_lower(t, c) - t)
            upper = value + scale * (byars_upper(t, c) - t)
        out[lo] = np.where(small, np.nan, lower)
        out[up] = np.where(small, np.nan, upper)
    out = out.drop(columns=["_wr", "_var", "_w"])
    return out.reset_index(drop=not by)
