"""The region and each LA against England, from the DfE LA tables.

The England rate is treated as a fixed reference (it rests on millions of children): each
area's ratio to England is O / E with E = England rate x the area's children, and exact /
Byar's limits on O (as an indirectly standardised ratio with one stratum).  Statistical
neighbours, where a list is supplied, are compared the same way against the neighbours'
pooled rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cwi.analysis.cells import REGION_CODE, lsoa_cells
from cwi.analysis.q1 import region_name
from cwi.analysis.rates import rate_ci, ratio_ci, ratio_significance
from cwi.cube import Cube
from cwi.schemas import MEASURES

__all__ = ["ENGLAND_CODE", "england_rates", "compare_with_england", "compare_with_neighbours"]

ENGLAND_CODE = "E92000001"
DFE_COLUMNS = ("year", "la_code", "la_name", "measure", "number", "population", "rate_per_10000")


def england_rates(dfe: pd.DataFrame) -> pd.DataFrame:
    """England's count, population and rate per year and measure.

    Uses the England row (code E92000001 or name "England") where present, else the sum of
    the LA rows.

    Returns
    -------
    pandas.DataFrame
        ``year, measure, number, population, rate_per_10000``.
    """
    missing = [c for c in DFE_COLUMNS if c not in dfe.columns]
    if missing:
        raise ValueError(
            f"DfE LA table lacks columns {missing}; expected {list(DFE_COLUMNS)}. "
            "Check the table passed to compare_with_england."
        )
    is_eng = (dfe["la_code"] == ENGLAND_CODE) | (
        dfe["la_name"].astype(str).str.lower() == "england"
    )
    eng = dfe[is_eng]
    las = dfe[~is_eng & dfe["la_code"].astype(str).str.match(r"^E0[6-9]")]
    rows = []
    for year, m in dfe[["year", "measure"]].drop_duplicates().itertuples(index=False):
        e = eng[(eng["year"] == year) & (eng["measure"] == m)]
        if len(e):
            r = e.iloc[0]
            number, pop, rate = r["number"], r["population"], r["rate_per_10000"]
        else:
            lg = las[(las["year"] == year) & (las["measure"] == m)]
            number, pop = lg["number"].sum(), lg["population"].sum()
            rate = 1e4 * number / pop if pop > 0 else np.nan
        if pd.isna(rate) and pop and pop > 0:
            rate = 1e4 * number / pop
        rows.append({"year": int(year), "measure": m, "number": number, "population": pop,
                     "rate_per_10000": float(rate)})  # fmt: skip
    return pd.DataFrame(rows)


def compare_with_england(
    cube: Cube,
    dfe: pd.DataFrame | None,
    years: list[int],
    confidence: float = 0.95,
    per: float = 10000,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Rates of the region and each LA (from the cube) against England (from the DfE table).

    Parameters
    ----------
    cube : Cube
        The count cube.
    dfe : pandas.DataFrame or None
        DfE LA table with ``year, la_code, la_name, measure, number, population,
        rate_per_10000``; ``None`` gives an empty frame.
    years : list of int
        Years compared (those present in both sources).
    confidence, per : float
        Confidence level and rate multiplier.
    measures : sequence of str
        Measures.

    Returns
    -------
    pandas.DataFrame
        ``year, area_type, area_code, area_name, measure, n, population, rate, rate_lower,
        rate_upper, dfe_rate (published rate of that LA, if any), england_rate, estimate
        (ratio to England), lower, upper, significance, method``.
    """
    cols = [
        "year", "area_type", "area_code", "area_name", "measure", "n", "population", "rate",
        "rate_lower", "rate_upper", "dfe_rate", "england_rate", "estimate", "lower", "upper",
        "significance", "method",
    ]  # fmt: skip
    if dfe is None or dfe.empty:
        return pd.DataFrame(columns=cols)
    eng = england_rates(dfe).set_index(["year", "measure"])["rate_per_10000"]
    pub = dfe.set_index(["year", "la_code", "measure"])["rate_per_10000"]
    names = dict(zip(cube.la["la_code"], cube.la["la_name"], strict=False))
    names[REGION_CODE] = region_name(cube)
    frames = []
    for year in years:
        if year not in cube.years:
            continue
        c = lsoa_cells(cube, year, measures)
        la = c.groupby(["la_code", "measure"], as_index=False)[["n", "population"]].sum()
        la = la.rename(columns={"la_code": "area_code"}).assign(area_type="la")
        reg = c.groupby("measure", as_index=False)[["n", "population"]].sum()
        reg = reg.assign(area_code=REGION_CODE, area_type="region")
        d = pd.concat([reg, la], ignore_index=True)
        d["year"] = int(year)
        d["england_rate"] = [eng.get((year, m), np.nan) for m in d["measure"]]
        d = d[d["england_rate"].notna()]
        if d.empty:
            continue
        rc = rate_ci(d["n"], d["population"], confidence, per)
        d["rate"], d["rate_lower"], d["rate_upper"] = (
            rc["value"].to_numpy(),
            rc["lower"].to_numpy(),
            rc["upper"].to_numpy(),
        )
        expected = d["england_rate"] * d["population"] / 1e4
        rr = ratio_ci(d["n"], expected, confidence)
        d["estimate"], d["lower"], d["upper"] = (
            rr["value"].to_numpy(),
            rr["lower"].to_numpy(),
            rr["upper"].to_numpy(),
        )
        d["significance"] = ratio_significance(d["n"], expected).to_numpy()
        d["dfe_rate"] = [
            pub.get((year, a, m), np.nan)
            for a, m in zip(d["area_code"], d["measure"], strict=True)
        ]
        frames.append(d)
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["area_name"] = out["area_code"].map(names)
    out["method"] = "Ratio to the England rate (England fixed), exact/Byar's limits on the count"
    return out[cols]


def compare_with_neighbours(
    cube: Cube,
    dfe: pd.DataFrame | None,
    neighbours: dict[str, list[str]] | None,
    year: int,
    confidence: float = 0.95,
    per: float = 10000,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Each LA's rate against its statistical neighbours' pooled rate (DfE table).

    Returns
    -------
    pandas.DataFrame
        ``year, la_code, la_name, measure, n, population, rate, neighbour_rate, n_neighbours,
        estimate, lower, upper, significance, method``; empty without a neighbour list.
    """
    if dfe is None or not neighbours:
        return pd.DataFrame()
    c = lsoa_cells(cube, year, measures)
    la = c.groupby(["la_code", "measure"], as_index=False)[["n", "population"]].sum()
    d = dfe[dfe["year"] == year]
    rows = []
    for _, r in la.iterrows():
        nb = d[
            d["la_code"].isin(neighbours.get(r["la_code"], [])) & (d["measure"] == r["measure"])
        ]
        if nb.empty or nb["population"].sum() <= 0:
            continue
        rows.append({"la_code": r["la_code"], "measure": r["measure"], "n": r["n"],
                     "population": r["population"],
                     "neighbour_rate": 1e4 * nb["number"].sum() / nb["population"].sum(),
                     "n_neighbours": nb["la_code"].nunique()})  # fmt: skip
    if not rows:
        return pd.DataFrame()
    out = pd.DataFrame(rows)
    expected = out["neighbour_rate"] * out["population"] / 1e4
    rr = ratio_ci(out["n"], expected, confidence)
    out["rate"] = per * out["n"] / out["population"]
    out["estimate"], out["lower"], out["upper"] = rr["value"], rr["lower"], rr["upper"]
    out["significance"] = ratio_significance(out["n"], expected).to_numpy()
    out.insert(0, "year", int(year))
    out = out.merge(cube.la[["la_code", "la_name"]], on="la_code", how="left")
    out["method"] = "Ratio to the statistical neighbours' pooled rate, exact/Byar's limits"
    return out
