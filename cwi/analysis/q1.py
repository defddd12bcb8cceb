"""Q1 clustering: how strongly CIN, CPP and CLA rates rise with neighbourhood deprivation.

Orientation used throughout: IMD decile 1 = most deprived.  Gradient estimates are expressed so
that a value above 1 (ratios) or above 0 (differences) means *higher rates in more deprived
areas*:

* the per-step incidence rate ratio (IRR) is per decile step towards the most deprived
  (covariate ``dep = 10 - decile``);
* SII is the absolute rate difference (per ``per`` children) between the most and the least
  deprived ends of the population-ranked deprivation scale and RII their ratio (Low & Low 2004,
  PHEindicatormethods ``phe_sii`` with multiplier -1: rank 0 = most deprived);
* the concentration index ranks children from the most deprived, so a *negative* index means
  cases are concentrated among the most deprived (Kakwani, Wagstaff & van Doorslaer 1997).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cwi.analysis.cells import REGION_CODE, lsoa_cells
from cwi.analysis.inequality import concentration_index, phe_sii
from cwi.analysis.models import grouped_glm, within_cluster_slope
from cwi.analysis.rates import normalise_confidence, proportion_ci, rate_ci
from cwi.cube import Cube
from cwi.schemas import MEASURES

__all__ = [
    "area_rates",
    "decile_rates",
    "quintile_rates",
    "group_rates",
    "extreme_rate_ratios",
    "gradient_irr",
    "case_shares",
    "concentration_indices",
    "sii_rii",
]

RATE_COLUMNS = [
    "year", "area_type", "area_code", "area_name", "measure", "n", "population",
    "rate", "lower", "upper", "method",
]  # fmt: skip


def region_name(cube: Cube) -> str:
    """The region's name from ``cube.la`` (the most common ``region_name``)."""
    names = cube.la["region_name"].dropna()
    return str(names.mode().iloc[0]) if len(names) else "Region"


def _area_names(cube: Cube) -> dict[str, str]:
    names = dict(zip(cube.la["la_code"], cube.la["la_name"], strict=False))
    names[REGION_CODE] = region_name(cube)
    return names


def group_rates(
    cells: pd.DataFrame,
    group: str,
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    per: float = 10000,
    groups: list | None = None,
) -> pd.DataFrame:
    """Rates with PHE confidence limits by a grouping column, for the region and each LA.

    Parameters
    ----------
    cells : pandas.DataFrame
        Cells with ``la_code, measure, n, population`` and ``group``.
    group : str
        Column to tabulate by (e.g. ``imd_decile``).
    cube : Cube
        The cube (for area names).
    year : int
        Collection year written into the output.
    confidence : float
        Confidence level.
    per : float
        Rate multiplier.
    groups : list, optional
        Every group value to report per area and measure; combinations with population 0 are
        left out, combinations with population but no cases get n = 0.

    Returns
    -------
    pandas.DataFrame
        ``year, area_type, area_code, area_name, measure, <group>, n, population, rate, lower,
        upper, method``.
    """
    la = cells.groupby(["la_code", "measure", group], as_index=False, observed=True)[
        ["n", "population"]
    ].sum()
    la = la.rename(columns={"la_code": "area_code"})
    la["area_type"] = "la"
    reg = cells.groupby(["measure", group], as_index=False, observed=True)[
        ["n", "population"]
    ].sum()
    reg["area_code"] = REGION_CODE
    reg["area_type"] = "region"
    out = pd.concat([reg, la], ignore_index=True)
    if groups is not None:
        keys = out[["area_type", "area_code", "measure"]].drop_duplicates()
        full = keys.merge(pd.DataFrame({group: groups}), how="cross")
        out = full.merge(out, on=["area_type", "area_code", "measure", group], how="left")
        out[["n", "population"]] = out[["n", "population"]].fillna(0)
    out = out[out["population"] > 0].reset_index(drop=True)
    ci = rate_ci(out["n"], out["population"], confidence, per)
    out["rate"] = ci["value"].to_numpy()
    out["lower"] = ci["lower"].to_numpy()
    out["upper"] = ci["upper"].to_numpy()
    out["method"] = ci["method"].to_numpy()
    out["year"] = int(year)
    out["area_name"] = out["area_code"].map(_area_names(cube))
    cols = RATE_COLUMNS[:5] + [group] + RATE_COLUMNS[5:]
    out["_region_first"] = out["area_type"] != "region"
    out["_m"] = out["measure"].map({m: i for i, m in enumerate(MEASURES)})
    out = out.sort_values(["_region_first", "area_code", "_m", group])
    return out[cols].reset_index(drop=True)


def decile_rates(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    per: float = 10000,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Rates per ``per`` children by national IMD decile, for the region and each LA.

    Confidence limits are those of ``PHEindicatormethods::phe_rate``: exact Poisson for counts
    below 10 and Byar's approximation from 10 (``method`` says which).

    Parameters
    ----------
    cube : Cube
        The count cube.
    year : int
        Collection year.
    confidence : float
        Confidence level.
    per : float
        Rate multiplier (10,000 children aged 0-17).
    measures : sequence of str
        Measures to include.

    Returns
    -------
    pandas.DataFrame
        ``year, area_type ("region"|"la"), area_code ("REGION" for the region), area_name,
        measure, imd_decile, n, population, rate, lower, upper, method``.  Every decile 1-10
        with child population appears, including those with no cases.
    """
    cells = lsoa_cells(cube, year, measures)
    return group_rates(cells, "imd_decile", cube, year, confidence, per, list(range(1, 11)))


def quintile_rates(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    per: float = 10000,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Rates by national IMD quintile (1 = most deprived 20%); as :func:`decile_rates`."""
    cells = lsoa_cells(cube, year, measures)
    return group_rates(cells, "imd_quintile", cube, year, confidence, per, list(range(1, 6)))


def area_rates(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    per: float = 10000,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Overall rates per ``per`` children for the region and each LA (all deciles together).

    Counts are those of the linked children in the cube (the LA's data-quality note gives the
    share linked). Columns as :func:`decile_rates` without the decile.
    """
    cells = lsoa_cells(cube, year, measures).assign(all_areas="all")
    out = group_rates(cells, "all_areas", cube, year, confidence, per, ["all"])
    return out.drop(columns="all_areas")


# ---- gradient summaries ----------------------------------------------------------------------

METHOD_RR = "Rate ratio, Wald interval on the log scale: SE = sqrt(1/a + 1/b) (Rothman 2008)"


def extreme_rate_ratios(rates: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Rate ratio of the most to the least deprived group, per area and measure.

    Parameters
    ----------
    rates : pandas.DataFrame
        Output of :func:`decile_rates` or :func:`quintile_rates`.
    confidence : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        ``year, area_type, area_code, area_name, measure, comparison, n_most, n_least,
        estimate, lower, upper, method``; limits are missing where either count is 0.
    """
    group = "imd_decile" if "imd_decile" in rates else "imd_quintile"
    top = 10 if group == "imd_decile" else 5
    keys = ["year", "area_type", "area_code", "area_name", "measure"]
    most = rates[rates[group] == 1].set_index(keys)
    least = rates[rates[group] == top].set_index(keys)
    j = most.join(least, lsuffix="_most", rsuffix="_least", how="inner")
    z = stats.norm.ppf(0.5 + normalise_confidence(confidence) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = j["rate_most"] / j["rate_least"]
        se = np.sqrt(1 / j["n_most"] + 1 / j["n_least"])
        ok = (j["n_most"] > 0) & (j["n_least"] > 0)
    out = pd.DataFrame(
        {
            "comparison": f"{group.replace('imd_', '')} 1 vs {top}",
            "n_most": j["n_most"],
            "n_least": j["n_least"],
            "estimate": est,
            "lower": np.where(ok, est * np.exp(-z * se), np.nan),
            "upper": np.where(ok, est * np.exp(z * se), np.nan),
            "method": METHOD_RR,
        }
    )
    return out.reset_index()


def _area_groups(cells: pd.DataFrame) -> pd.DataFrame:
    """Stack the cells once for the region and once per LA, with an area key."""
    reg = cells.assign(area_type="region", area_code=REGION_CODE)
    la = cells.assign(area_type="la", area_code=cells["la_code"])
    return pd.concat([reg, la], ignore_index=True)


MODEL_LABELS = {
    "poisson": "Poisson GLM, log-population offset, LSOA cells",
    "quasipoisson": "Poisson GLM with quasi-Poisson (Pearson) standard errors, LSOA cells",
    "negbin": "Negative binomial (NB2) GLM, alpha by method of moments, LSOA cells",
    "within_la": "Poisson GLM with LA fixed effects (within-LA gradient), quasi-Poisson SE, "
    "LSOA cells",
}


def _within_la_irr(cells: pd.DataFrame, year: int, z: float) -> pd.DataFrame:
    c = cells[cells["population"] > 0]
    stratum, measures = pd.factorize(c["measure"])
    cluster, _ = pd.factorize(c["measure"].astype(str) + "|" + c["la_code"].astype(str))
    b, se, scale = within_cluster_slope(
        c["dep"].to_numpy(float), c["n"].to_numpy(float), np.log(c["population"]).to_numpy(),
        stratum, cluster,
    )  # fmt: skip
    return pd.DataFrame(
        {
            "year": int(year),
            "area_type": "region",
            "area_code": REGION_CODE,
            "measure": list(measures),
            "model": "within_la",
            "estimate": np.exp(b),
            "lower": np.exp(b - z * se),
            "upper": np.exp(b + z * se),
            "log_irr": b,
            "se": se,
            "alpha": np.nan,
            "deviance_explained": np.nan,
            "n_lsoa": np.bincount(stratum).astype(float),
            "method": MODEL_LABELS["within_la"],
        }
    )


def gradient_irr(
    cells: pd.DataFrame,
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    families: tuple[str, ...] = ("poisson", "quasipoisson", "negbin"),
) -> pd.DataFrame:
    """Incidence rate ratio per decile step towards the most deprived, per area and measure.

    Fits ``log E[n] = log(population) + b0 + b1 * dep`` (``dep = 10 - decile``) on LSOA cells for
    the region and each LA, with Poisson, quasi-Poisson and negative binomial errors.

    Parameters
    ----------
    cells : pandas.DataFrame
        :func:`cwi.analysis.cells.lsoa_cells`.
    cube : Cube
        For area names.
    year : int
        Collection year (written into the output).
    confidence : float
        Confidence level.
    families : tuple of str
        Model families (see :mod:`cwi.analysis.models`).

    Returns
    -------
    pandas.DataFrame
        ``year, area_type, area_code, area_name, measure, model, estimate, lower, upper,
        log_irr, se, alpha, deviance_explained, n_lsoa, method``.  ``deviance_explained`` is
        1 - D(model)/D(null) of the Poisson fit at LSOA level.
    """
    st = _area_groups(cells[cells["population"] > 0])
    key = st[["area_type", "area_code", "measure"]].astype(str).agg("|".join, axis=1)
    # an area with no cases of a measure, or a single decile, has no gradient: leave it out
    by = st.groupby(key)
    ok = (by["n"].transform("sum") > 0) & (by["dep"].transform("nunique") > 1)
    st, key = st[ok], key[ok]
    codes, uniq = pd.factorize(key)
    x = np.column_stack([np.ones(len(st)), st["dep"].to_numpy(float)])
    z = stats.norm.ppf(0.5 + normalise_confidence(confidence) / 2)
    names = _area_names(cube)
    frames = []
    for fam in families:
        fit = grouped_glm(x, st["n"].to_numpy(float), np.log(st["population"]), codes, fam)
        b, se = fit.beta[:, 1], fit.se[:, 1]
        parts = pd.Series(uniq).str.split("|", expand=True)
        frames.append(
            pd.DataFrame(
                {
                    "year": int(year),
                    "area_type": parts[0],
                    "area_code": parts[1],
                    "measure": parts[2],
                    "model": fam,
                    "estimate": np.exp(b),
                    "lower": np.exp(b - z * se),
                    "upper": np.exp(b + z * se),
                    "log_irr": b,
                    "se": se,
                    "alpha": fit.alpha,
                    "deviance_explained": 1 - fit.deviance / fit.null_deviance,
                    "n_lsoa": fit.nobs,
                    "method": MODEL_LABELS[fam],
                }
            )
        )
    frames.append(_within_la_irr(cells, year, z))
    out = pd.concat(frames, ignore_index=True)
    out["area_name"] = out["area_code"].map(names)
    cols = ["year", "area_type", "area_code", "area_name", "measure", "model"]
    return out[cols + [c for c in out.columns if c not in cols]]


def case_shares(rates: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Share of cases vs share of children in the most deprived 10% and 20% of LSOAs.

    Parameters
    ----------
    rates : pandas.DataFrame
        Output of :func:`decile_rates`.
    confidence : float
        Confidence level of the Wilson interval on the share of cases.

    Returns
    -------
    pandas.DataFrame
        ``year, area_type, area_code, area_name, measure, group ("most deprived 10%"|"most
        deprived 20%"), cases, cases_total, share_children, estimate (share of cases), lower,
        upper, ratio (share of cases / share of children), method``.
    """
    keys = ["year", "area_type", "area_code", "area_name", "measure"]
    tot = rates.groupby(keys)[["n", "population"]].sum()
    rows = []
    for label, top in (("most deprived 10%", 1), ("most deprived 20%", 2)):
        sub = rates[rates["imd_decile"] <= top].groupby(keys)[["n", "population"]].sum()
        sub = sub.reindex(tot.index, fill_value=0)
        ci = proportion_ci(sub["n"], tot["n"], confidence)
        share_children = (sub["population"] / tot["population"]).to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "group": label,
                    "cases": sub["n"].to_numpy(),
                    "cases_total": tot["n"].to_numpy(),
                    "share_children": share_children,
                    "estimate": ci["value"].to_numpy(),
                    "lower": ci["lower"].to_numpy(),
                    "upper": ci["upper"].to_numpy(),
                    "ratio": np.divide(
                        ci["value"].to_numpy(),
                        share_children,
                        out=np.full(len(share_children), np.nan),
                        where=share_children > 0,
                    ),
                    "method": "Share of cases with Wilson score interval (Newcombe 1998)",
                },
                index=tot.index,
            )
        )
    return pd.concat(rows).reset_index()


def concentration_indices(rates: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Concentration index of cases across IMD deciles (ranked from the most deprived).

    Negative values mean cases are concentrated in the most deprived deciles; 0 = equal rates.

    Returns
    -------
    pandas.DataFrame
        ``year, area_type, area_code, area_name, measure, estimate, se, lower, upper, method``.
    """
    keys = ["year", "area_type", "area_code", "area_name", "measure"]
    out = []
    for k, g in rates.sort_values("imd_decile").groupby(keys, sort=False):
        if g["n"].sum() == 0:
            continue
        ci = concentration_index(g["population"], g["n"], confidence)
        out.append({**dict(zip(keys, k, strict=True)), **ci})
    frame = pd.DataFrame(out)
    frame["method"] = (
        "Concentration index, grouped deciles ranked from most deprived (fractional rank); "
        "SE of Kakwani, Wagstaff & van Doorslaer (1997)"
    )
    return frame


def sii_rii(
    rates: pd.DataFrame,
    confidence: float = 0.95,
    per: float = 10000,
    repetitions: int = 10000,
    seed: int = 20040101,
    la_repetitions: int = 2000,
) -> pd.DataFrame:
    """Slope and relative index of inequality across IMD deciles (Low & Low 2004).

    Convention: deciles are ranked from the most deprived (rank 0) and PHE's multiplier -1 is
    applied, so SII = modelled rate at the most deprived end minus the least deprived end
    (per ``per`` children; > 0 means higher rates with deprivation) and RII = their ratio.
    The regression is fitted to log rates (``phe_sii(transform=TRUE)``, value type rate), so
    the modelled rates stay positive and RII = exp(-slope); Monte-Carlo limits draw each decile's
    log rate from N(log rate, SE) with SE from its 95% limits.  A decile with no cases is given
    0.5 cases (continuity correction, SE sqrt(1/0.5)).  The region uses ``repetitions``
    replicates, each LA ``la_repetitions`` (Monte-Carlo error of the limits about 1% of
    their distance from the estimate at 2,000).

    Returns
    -------
    pandas.DataFrame
        ``year, area_type, area_code, area_name, measure, index ("SII"|"RII"), estimate,
        lower, upper, method``.
    """
    keys = ["year", "area_type", "area_code", "area_name", "measure"]
    rng = np.random.default_rng(seed)
    r_all = rates.sort_values([*keys, "imd_decile"]).reset_index(drop=True)
    n_all = r_all["n"].to_numpy(float)
    ci95 = rate_ci(np.maximum(n_all, 0.5), r_all["population"], 0.95, per)
    with np.errstate(divide="ignore"):
        se_all = (np.log(ci95["upper"]) - np.log(ci95["lower"])).to_numpy() / (2 * 1.959964)
    se_all = np.where(n_all > 0, se_all, np.sqrt(2.0))
    val_all = per * np.maximum(n_all, 0.5) / r_all["population"].to_numpy(float)
    dec_all = r_all["imd_decile"].to_numpy()
    pop_all = r_all["population"].to_numpy(float)
    rows = []
    for k, idx in r_all.groupby(keys, sort=False).indices.items():
        if n_all[idx].sum() == 0 or len(idx) < 2:
            continue
        r = phe_sii(
            dec_all[idx], pop_all[idx], val_all[idx], se=se_all[idx], value_type=1,
            transform=True, multiplier=-1, confidence=confidence, rng=rng,
            repetitions=repetitions if k[1] == "region" else la_repetitions,
        )  # fmt: skip
        base = dict(zip(keys, k, strict=True))
        rows.append({**base, "index": "SII", "estimate": r["sii"], "lower": r["sii_lowercl_1"],
                     "upper": r["sii_uppercl_1"]})  # fmt: skip
        rows.append({**base, "index": "RII", "estimate": r["rii"], "lower": r["rii_lowercl_1"],
                     "upper": r["rii_uppercl_1"]})  # fmt: skip
    out = pd.DataFrame(rows)
    out["method"] = (
        "Low & Low (2004) weighted regression of log rates on population mid-point ranks from "
        "the most deprived decile (PHEindicatormethods phe_sii, transform, multiplier -1), "
        "simulation limits"
    )
    return out
