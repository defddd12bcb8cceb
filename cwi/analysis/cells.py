"""Aggregated cells of the count cube that every analysis starts from.

Models are fitted on aggregated cells (LSOA, or LA x decile x stratum), never on child-level rows:
for Poisson models with categorical covariates the cell totals are sufficient statistics, so the
estimates are identical and the fits take milliseconds.

Conventions: ``dep = 10 - imd_decile`` is the deprivation step (0 = least deprived decile 10,
9 = most deprived decile 1), so a rate ratio per step above 1 means rates rise with deprivation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cwi.cube import Cube
from cwi.schemas import MEASURES

__all__ = ["REGION_CODE", "lsoa_cells", "strata_cells", "ethnic_cells", "la_deprivation"]

#: ``area_code`` of the whole region (all LAs in the cube).
REGION_CODE = "REGION"


_CACHE: dict[str, object] = {"cube": None, "items": {}}


def _cached(name: str, cube: Cube, key: tuple, build) -> pd.DataFrame:
    """Memoise cell frames for the most recent cube (analyses of one build share them)."""
    if _CACHE["cube"] is not cube:
        _CACHE["cube"] = cube
        _CACHE["items"] = {}
    items: dict = _CACHE["items"]  # type: ignore[assignment]
    k = (name, *key)
    if k not in items:
        items[k] = build()
    return items[k].copy()


def _lsoa_attrs(cube: Cube) -> pd.DataFrame:
    return cube.lsoa[["lsoa_code", "imd_score", "imd_rank", "imd_decile", "imd_quintile"]]


def lsoa_cells(
    cube: Cube, year: int, measures: tuple[str, ...] | list[str] = MEASURES
) -> pd.DataFrame:
    """Count and child population for every LA x LSOA x measure in one year, zeros included.

    Parameters
    ----------
    cube : Cube
        The count cube.
    year : int
        Collection year.
    measures : sequence of str
        Measures to include.

    Returns
    -------
    pandas.DataFrame
        ``la_code, lsoa_code, measure, n, population, imd_score, imd_rank, imd_decile,
        imd_quintile, dep``. Counts whose LSOA has no population row in that LA (e.g. a child
        living outside the region) are dropped: they have no denominator.
    """
    return _cached(
        "lsoa", cube, (year, tuple(measures)), lambda: _lsoa_cells(cube, year, measures)
    )


def _lsoa_cells(cube: Cube, year: int, measures) -> pd.DataFrame:
    pop = cube.population[cube.population["year"] == year]
    pop = pop.groupby(["la_code", "lsoa_code"], as_index=False, observed=True)["population"].sum()
    cnt = cube.counts[(cube.counts["year"] == year) & cube.counts["measure"].isin(measures)]
    cnt = cnt.groupby(["la_code", "lsoa_code", "measure"], as_index=False, observed=True)[
        "n"
    ].sum()
    grid = pop.merge(pd.DataFrame({"measure": list(measures)}), how="cross")
    out = grid.merge(cnt, on=["la_code", "lsoa_code", "measure"], how="left")
    out["n"] = out["n"].fillna(0).astype(float)
    out = out.merge(_lsoa_attrs(cube), on="lsoa_code", how="inner")
    out["dep"] = 10 - out["imd_decile"].astype(int)
    return out[
        [
            "la_code", "lsoa_code", "measure", "n", "population",
            "imd_score", "imd_rank", "imd_decile", "imd_quintile", "dep",
        ]
    ]  # fmt: skip


def strata_cells(
    cube: Cube,
    year: int,
    by: list[str],
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Counts and populations by LA x IMD decile x ``by`` (age_band and/or sex) x measure.

    Parameters
    ----------
    cube : Cube
        The count cube.
    year : int
        Collection year.
    by : list of str
        Subset of ``["age_band", "sex"]``. Counts with a sex that has no population (``U``) are
        dropped from sex-specific cells.
    measures : sequence of str
        Measures to include.

    Returns
    -------
    pandas.DataFrame
        ``la_code, imd_decile, *by, measure, n, population, dep`` with every cell that has
        population (zero counts included).
    """
    return _cached(
        "strata", cube, (year, tuple(by), tuple(measures)),
        lambda: _strata_cells(cube, year, by, measures),
    )  # fmt: skip


def _counts_on_grid(
    cube: Cube,
    year: int,
    pop: pd.DataFrame,
    keys: list[str],
    attrs: pd.DataFrame,
    measures,
) -> pd.DataFrame:
    """Counts by ``keys`` x measure on a population grid: zeros filled, no-population cells dropped.

    ``pop`` holds the population by ``keys``; ``attrs`` maps each LSOA to the key attributes
    (e.g. its IMD decile) that are not in the counts.
    """
    cnt = cube.counts[(cube.counts["year"] == year) & cube.counts["measure"].isin(measures)]
    cnt = cnt.merge(attrs, on="lsoa_code")
    cnt = cnt.groupby([*keys, "measure"], as_index=False, observed=True)["n"].sum()
    grid = pop.merge(pd.DataFrame({"measure": list(measures)}), how="cross")
    out = grid.merge(cnt, on=[*keys, "measure"], how="left")
    out["n"] = out["n"].fillna(0).astype(float)
    out = out[out["population"] > 0].reset_index(drop=True)
    out["dep"] = 10 - out["imd_decile"].astype(int)
    return out


def _strata_cells(cube: Cube, year: int, by: list[str], measures) -> pd.DataFrame:
    keys = ["la_code", "imd_decile", *by]
    attrs = cube.lsoa[["lsoa_code", "imd_decile"]]
    pop = cube.population[cube.population["year"] == year].merge(attrs, on="lsoa_code")
    pop = pop.groupby(keys, as_index=False, observed=True)["population"].sum()
    return _counts_on_grid(cube, year, pop, keys, attrs, measures)


def ethnic_cells(
    cube: Cube, year: int, measures: tuple[str, ...] | list[str] = MEASURES
) -> pd.DataFrame:
    """Counts and populations by LA x IMD decile x ethnic group x measure.

    Only groups with a population (not ``Unknown``) are returned; the population is
    ``cube.population_ethnicity`` (all ages 0-17, both sexes).

    Returns
    -------
    pandas.DataFrame
        ``la_code, imd_decile, ethnic_group, measure, n, population, dep``; empty if the cube
        has no ethnic denominators.
    """
    return _cached(
        "ethnic", cube, (year, tuple(measures)), lambda: _ethnic_cells(cube, year, measures)
    )


def _ethnic_cells(cube: Cube, year: int, measures) -> pd.DataFrame:
    keys = ["la_code", "imd_decile", "ethnic_group"]
    attrs = cube.lsoa[["lsoa_code", "imd_decile"]]
    pe = cube.population_ethnicity
    pe = pe[pe["year"] == year].merge(attrs, on="lsoa_code")
    if pe.empty:
        return pd.DataFrame(columns=[*keys, "measure", "n", "population", "dep"])
    pop = pe.groupby(keys, as_index=False, observed=True)["population"].sum()
    return _counts_on_grid(cube, year, pop, keys, attrs, measures)


def la_deprivation(cube: Cube, year: int) -> pd.DataFrame:
    """LA-level deprivation: MHCLG's LA summary measures, weighted by the child population.

    Uses :func:`cwi.analysis.deprivation_summary.la_deprivation_summary`: the population-
    weighted average score where the IMD vintage has scores, else the population-weighted
    average rank (IoD2019 File 1 publishes ranks only); extent, local concentration and the
    shares of LSOAs and children in the most deprived 10% nationally come with it.

    Parameters
    ----------
    cube : Cube
        The count cube.
    year : int
        Year of the child population used as weights.

    Returns
    -------
    pandas.DataFrame
        ``la_code, la_name, population, imd_score_mean, imd_rank_mean, share_lsoa_decile1,
        share_children_decile1, avg_rank, extent, local_concentration, deprivation_measure,
        deprivation_value, la_third``. ``imd_rank_mean`` is the mean national rank (1 = most
        deprived); ``avg_rank`` is MHCLG's orientation (higher = more deprived).
        ``deprivation_measure`` names the measure the thirds and LA-level models use
        (``avg_score`` or ``avg_rank``); ``la_third`` 1 = most deprived third of the LAs on it.
    """
    from cwi.analysis.deprivation_summary import la_deprivation_summary

    pop = cube.population[cube.population["year"] == year]
    pop = pop.groupby(["la_code", "lsoa_code"], as_index=False)["population"].sum()
    d = pop.merge(cube.lsoa.drop(columns="la_code"), on="lsoa_code")
    d["n_lsoa_national"] = national_lsoa_count(cube.lsoa["imd_rank"])
    summary = la_deprivation_summary(d).set_index("la_code")
    d["w_rank"] = d["imd_rank"] * d["population"]
    g = d.groupby("la_code")
    out = pd.DataFrame(
        {
            "population": summary["population"],
            "imd_score_mean": summary["avg_score"],
            "imd_rank_mean": g["w_rank"].sum() / g["population"].sum(),
            "share_lsoa_decile1": g["imd_decile"].apply(lambda x: float((x == 1).mean())),
            "share_children_decile1": summary["share_children_most_deprived_10pct"],
            "avg_rank": summary["avg_rank"],
            "extent": summary["extent"],
            "local_concentration": summary["local_concentration"],
            "deprivation_measure": summary["deprivation_measure"],
            "deprivation_value": summary["deprivation_value"],
        }
    ).reset_index()
    order = out["deprivation_value"].rank(ascending=False, method="first")
    out["la_third"] = np.ceil(3 * order / len(out)).astype(int).clip(1, 3)
    out = out.merge(cube.la[["la_code", "la_name"]], on="la_code", how="left")
    return out[
        [
            "la_code", "la_name", "population", "imd_score_mean", "imd_rank_mean",
            "share_lsoa_decile1", "share_children_decile1", "avg_rank", "extent",
            "local_concentration", "deprivation_measure", "deprivation_value", "la_third",
        ]
    ]  # fmt: skip


#: LSOAs ranked nationally by each IMD edition (LSOA 2011: IoD2015/2019; LSOA 2021: IoD2025).
NATIONAL_LSOA_COUNTS = (32_482, 32_844, 33_755)


def national_lsoa_count(ranks: pd.Series) -> int:
    """Number of LSOAs ranked nationally: the smallest known national count >= every rank."""
    top = int(pd.to_numeric(ranks, errors="coerce").max())
    return next((n for n in NATIONAL_LSOA_COUNTS if n >= top), top)


def la_covariate(
    dep: pd.DataFrame, la_codes: pd.Series | list[str]
) -> tuple[np.ndarray, str, str]:
    """The LA deprivation covariate of the LA-level models, and its name and unit.

    Returns the average IMD score per 10 points where the vintage has scores, else the
    average rank (MHCLG orientation, higher = more deprived) per 1,000 places.
    """
    d = dep.set_index("la_code") if "la_code" in dep.columns else dep
    if (d["deprivation_measure"] == "avg_score").all():
        return (d.loc[la_codes, "imd_score_mean"].to_numpy(float) / 10, "LA mean IMD score",
                "per 10 IMD score points")  # fmt: skip
    return (d.loc[la_codes, "avg_rank"].to_numpy(float) / 1000, "LA average IMD rank",
            "per 1,000 places of LA average IMD rank (higher = more deprived)")  # fmt: skip
