"""Local-authority summaries of LSOA deprivation, as MHCLG's LA summary measures.

MHCLG (DCLG) publish, with every Indices of Deprivation release, summaries of each local
authority's LSOAs (IoD2019 File 10 / File 11, IoD2015 File 11; definitions in the IoD2019
Technical Report, Appendix N). This module computes the same measures from one row per LSOA,
so that any IMD vintage, population and LA geography can be summarised the same way:

``avg_score``
    Population-weighted mean of the LSOA IMD scores (higher = more deprived). NaN when the
    vintage publishes no scores (IoD2019 File 1/2 carry ranks only).
``avg_rank``
    Population-weighted mean of the LSOA national ranks in MHCLG's orientation for LA
    summaries: "for the purpose of calculation, LSOAs are ranked such that the most deprived
    LSOA is given the rank of n" (n = 32,844 in IoD2019), i.e. ``n + 1 - imd_rank``. So a
    **higher average rank is a more deprived LA**, exactly as printed in the IoD2015/2019 LA
    files (Hartlepool 21,886.6 in IoD2015 File 11; the national middle is (n + 1)/2).
``extent``
    Weighted share of the LA's population living in the most deprived 30% of LSOAs nationally:
    weight 1 for LSOAs in the most deprived 10% (national percentiles 1-10), then a sliding
    weight from 0.95 at the 11th percentile down by (0.95 - 0.05)/19 per percentile to 0.05 at
    the 30th, and 0 beyond. The national percentile of an LSOA is ``ceil(100 rank / n)``, the
    rule that reproduces every official IoD decile from its rank.
``local_concentration``
    Population-weighted mean rank (same orientation as ``avg_rank``: higher = more deprived)
    of the LA's most deprived LSOAs that together hold exactly 10% of the LA's population (the
    LSOA that crosses the 10% line counts with only the part of its population needed).
``share_lsoa_most_deprived_10pct``
    Share of the LA's LSOAs in the most deprived national decile (MHCLG's "proportion of LSOAs
    in most deprived 10% nationally").
``share_children_most_deprived_10pct``
    Share of the LA's population (here: children) living in those LSOAs.

MHCLG weight by total population; this project passes the child population, which is what the
research questions are about (say so wherever the measures are shown). Shares are fractions
0-1 (MHCLG print extent and proportions as fractions too).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "SUMMARY_COLUMNS",
    "extent_weight",
    "national_percentile",
    "la_deprivation_summary",
]

#: Output columns of :func:`la_deprivation_summary`, in order.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "la_code", "n_lsoa", "population", "avg_score", "avg_rank", "extent",
    "local_concentration", "share_lsoa_most_deprived_10pct",
    "share_children_most_deprived_10pct", "deprivation_measure", "deprivation_value",
    "deprivation_order",
)  # fmt: skip

_REQUIRED = ("la_code", "population", "imd_rank", "n_lsoa_national")


def national_percentile(rank: pd.Series | np.ndarray, n: pd.Series | np.ndarray | int):
    """National percentile of an LSOA from its rank: ``ceil(100 rank / n)``, 1 = most deprived.

    Parameters
    ----------
    rank : array-like
        National ranks, 1 = most deprived.
    n : int or array-like
        Number of ranked LSOAs nationally.

    Returns
    -------
    numpy.ndarray
        Integer percentiles 1-100.
    """
    r = np.asarray(rank, dtype=float)
    return np.clip(np.ceil(100.0 * r / np.asarray(n, dtype=float)), 1, 100).astype(int)


def extent_weight(percentile: pd.Series | np.ndarray) -> np.ndarray:
    """MHCLG's extent weight of a national percentile (1-10: 1; 11-30: 0.95 to 0.05; else 0).

    Parameters
    ----------
    percentile : array-like
        National percentiles, 1 = most deprived.

    Returns
    -------
    numpy.ndarray
        Weights in [0, 1].
    """
    p = np.asarray(percentile, dtype=float)
    sliding = 0.95 - (0.95 - 0.05) / 19.0 * (p - 11.0)
    return np.where(p <= 10, 1.0, np.where(p <= 30, sliding, 0.0))


def _local_concentration(rank: np.ndarray, pop: np.ndarray) -> float:
    """Population-weighted mean rank of the most deprived LSOAs holding exactly 10% of people.

    ``rank`` is in the summary orientation (higher = more deprived).
    """
    total = pop.sum()
    if total <= 0:
        return np.nan
    order = np.argsort(-rank, kind="stable")
    r, p = rank[order], pop[order]
    target = 0.1 * total
    before = np.concatenate([[0.0], np.cumsum(p)[:-1]])
    used = np.clip(target - before, 0.0, p)
    return float((used * r).sum() / used.sum())


def la_deprivation_summary(lsoa: pd.DataFrame) -> pd.DataFrame:
    """MHCLG's LA summary measures of deprivation from one row per LSOA.

    Parameters
    ----------
    lsoa : pandas.DataFrame
        One row per LSOA with ``la_code``, ``population`` (children, or whatever population
        weights the summary), ``imd_rank`` (national, 1 = most deprived), ``n_lsoa_national``
        (number of LSOAs ranked nationally in that vintage, e.g. 32,844 for IoD2019) and
        optionally ``imd_score`` (may be all NaN).

    Returns
    -------
    pandas.DataFrame
        One row per LA with :data:`SUMMARY_COLUMNS`: ``n_lsoa``, ``population``,
        ``avg_score`` (NaN without scores), ``avg_rank``, ``extent``, ``local_concentration``,
        ``share_lsoa_most_deprived_10pct``, ``share_children_most_deprived_10pct``,
        ``deprivation_measure`` (``"avg_score"`` when every LA has a score, else
        ``"avg_rank"``: "the" LA deprivation measure), ``deprivation_value`` (that measure's
        value; higher = more deprived for both) and ``deprivation_order`` (1 = most deprived
        LA of those given, on that measure). Ranks in ``avg_rank`` and
        ``local_concentration`` are in MHCLG's summary orientation (most deprived LSOA = n).

    Raises
    ------
    ValueError
        If a required column is missing, a rank lies outside 1..n or a population is negative.
    """
    missing = [c for c in _REQUIRED if c not in lsoa.columns]
    if missing:
        raise ValueError(
            f"la_deprivation_summary: input lacks columns {missing}; it needs one row per LSOA "
            f"with {list(_REQUIRED)} (and optionally imd_score)."
        )
    d = lsoa.copy()
    d["population"] = pd.to_numeric(d["population"], errors="coerce").fillna(0.0)
    d["imd_rank"] = pd.to_numeric(d["imd_rank"], errors="coerce")
    n = pd.to_numeric(d["n_lsoa_national"], errors="coerce")
    bad = d["imd_rank"].isna() | (d["imd_rank"] < 1) | (d["imd_rank"] > n)
    if bad.any():
        ex = d.loc[bad].head(3).to_dict("records")
        raise ValueError(
            f"la_deprivation_summary: {int(bad.sum())} LSOA rank(s) missing or outside 1..n, "
            f"e.g. {ex}. Ranks must be national (1 = most deprived)."
        )
    if (d["population"] < 0).any():
        raise ValueError("la_deprivation_summary: negative LSOA population; check the input.")
    score = (
        pd.to_numeric(d["imd_score"], errors="coerce")
        if "imd_score" in d
        else pd.Series(np.nan, index=d.index)
    )
    pct = national_percentile(d["imd_rank"], n)
    d["_w_extent"] = extent_weight(pct) * d["population"]
    d["_top10"] = pct <= 10
    d["_rank_summary"] = n + 1 - d["imd_rank"]
    d["_w_rank"] = d["_rank_summary"] * d["population"]
    d["_w_score"] = score * d["population"]
    d["_has_score"] = score.notna()
    d["_pop_top10"] = d["population"].where(d["_top10"], 0.0)

    g = d.groupby("la_code", sort=True)
    out = pd.DataFrame(
        {
            "n_lsoa": g.size(),
            "population": g["population"].sum(),
            "_w_rank": g["_w_rank"].sum(),
            "_w_score": g["_w_score"].sum(min_count=1),
            "_all_scores": g["_has_score"].all(),
            "_w_extent": g["_w_extent"].sum(),
            "_n_top10": g["_top10"].sum(),
            "_pop_top10": g["_pop_top10"].sum(),
        }
    )
    pop = out["population"].where(out["population"] > 0)
    out["avg_score"] = (out["_w_score"] / pop).where(out["_all_scores"])
    out["avg_rank"] = out["_w_rank"] / pop
    out["extent"] = out["_w_extent"] / pop
    out["share_lsoa_most_deprived_10pct"] = out["_n_top10"] / out["n_lsoa"]
    out["share_children_most_deprived_10pct"] = out["_pop_top10"] / pop
    # each LA's rows in their order, as iterating the groups gives them (without a frame each)
    rows = g.indices
    rank_all = d["_rank_summary"].to_numpy(float)
    pop_all = d["population"].to_numpy(float)
    out["local_concentration"] = [
        _local_concentration(rank_all[rows[la]], pop_all[rows[la]]) for la in out.index
    ]
    use_score = bool(out["avg_score"].notna().all()) and len(out) > 0
    if use_score:
        out["deprivation_measure"] = "avg_score"
        out["deprivation_value"] = out["avg_score"]
        out["deprivation_order"] = out["avg_score"].rank(ascending=False, method="min")
    else:
        out["deprivation_measure"] = "avg_rank"
        out["deprivation_value"] = out["avg_rank"]
        out["deprivation_order"] = out["avg_rank"].rank(ascending=False, method="min")
    out["deprivation_order"] = out["deprivation_order"].astype("Int64")
    out = out.reset_index()
    return out[list(SUMMARY_COLUMNS)]
