"""Allocation: each LA's share of deprivation-expected need vs its share of children and caseload.

Expected need is the indirect-standardisation expected count (the region's rates by IMD decile
x age band x sex applied to the LA's children): what the LA's caseload would be if its
neighbourhoods had the region's rates for their deprivation.  :func:`split_budget` turns the
shares into a budget scenario.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["need_shares", "split_budget", "BASES"]

BASES = ("need", "population", "caseload")


def need_shares(standardised: pd.DataFrame) -> pd.DataFrame:
    """Shares of expected need, children and caseload per LA and measure.

    Parameters
    ----------
    standardised : pandas.DataFrame
        :func:`cwi.analysis.q3.standardised_ratios`.

    Returns
    -------
    pandas.DataFrame
        ``year, la_code, la_name, measure, expected, population, observed, share_need,
        share_population, share_caseload, need_vs_population, need_vs_caseload, method``
        (the last two are share differences in percentage points).
    """
    d = standardised[
        ["year", "la_code", "la_name", "measure", "expected", "population", "observed"]
    ].copy()
    g = d.groupby(["year", "measure"])
    d["share_need"] = d["expected"] / g["expected"].transform("sum")
    d["share_population"] = d["population"] / g["population"].transform("sum")
    d["share_caseload"] = d["observed"] / g["observed"].transform("sum")
    d["need_vs_population"] = 100 * (d["share_need"] - d["share_population"])
    d["need_vs_caseload"] = 100 * (d["share_need"] - d["share_caseload"])
    d["method"] = (
        "Expected need = region's rates by IMD decile x age x sex applied to the LA's children"
    )
    return d.reset_index(drop=True)


def split_budget(total: float, basis: pd.DataFrame, by: str = "need") -> pd.DataFrame:
    """Split a budget across LAs by need, population or caseload and show the differences.

    Parameters
    ----------
    total : float
        Budget to split (per year and measure in ``basis``).
    basis : pandas.DataFrame
        :func:`need_shares` output (any subset of years / measures).
    by : {"need", "population", "caseload"}
        The scenario's allocation basis.

    Returns
    -------
    pandas.DataFrame
        ``year, la_code, la_name, measure, amount_need, amount_population, amount_caseload,
        amount (by the chosen basis), difference_vs_population, difference_vs_caseload``.

    Raises
    ------
    ValueError
        For an unknown basis or a negative total.
    """
    if by not in BASES:
        raise ValueError(f"basis must be one of {BASES}, not {by!r}.")
    if total < 0:
        raise ValueError("total budget must not be negative.")
    out = basis[["year", "la_code", "la_name", "measure"]].copy()
    for b in BASES:
        out[f"amount_{b}"] = total * basis[f"share_{b}"].to_numpy()
    out["amount"] = out[f"amount_{by}"]
    out["difference_vs_population"] = out["amount"] - out["amount_population"]
    out["difference_vs_caseload"] = out["amount"] - out["amount_caseload"]
    return out
