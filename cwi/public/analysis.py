"""The public edition's analysis: every English LA and year from published tables only.

Pure functions of :class:`cwi.public.data.PublicInputs`-derived frames:

* :func:`lsoa_year` - one row per LSOA for a year: its LA that year, its children 0-17 (scaled
  to DfE's LA population) and its IMD (vintage in force);
* :func:`england_decile_rates` - England's rates by IMD decile (published 2015 figures);
* :func:`la_year_table` - observed, rate, expected, standardised ratio with exact limits,
  funnel position with Spiegelhalter's overdispersion allowance, rank;
* :func:`between_la_models` - rates against overall LA deprivation and against the
  deprivation-mix expectation, and the inverse-intervention relation, with verdicts;
* :func:`trends`, :func:`statistical_neighbours`, :func:`spending`.

Decile orientation: **IMD decile 1 = most deprived** everywhere here (the published CWIP table
numbers decile 1 = least deprived; :data:`PUBLISHED_DECILE_RATES` keeps the published order and
:func:`england_decile_rates` turns it round).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from cwi.analysis.deprivation_summary import la_deprivation_summary
from cwi.analysis.funnels import overdispersion
from cwi.analysis.rates import exact_lower, exact_upper, normalise_confidence
from cwi.public.data import PublicInputs, la_of_lsoa, vintage_for_year
from cwi.public.verdicts import model_verdict

__all__ = [
    "PUBLISHED_DECILE_RATES",
    "england_decile_rates",
    "lsoa_year",
    "children_by_decile",
    "la_year_table",
    "between_la_models",
    "trends",
    "statistical_neighbours",
    "spending",
]

#: England rates per 10,000 children by IMD decile, 31 March 2015, **decile 1 = LEAST deprived
#: as published** (Bywaters et al. 2020, CWIP final report; tabulated in
#: ../shared/reference/published_figures.md).
PUBLISHED_DECILE_RATES: dict[str, tuple[int, ...]] = {
    "CPP": (9, 14, 21, 23, 32, 35, 47, 51, 71, 113),
    "CLA": (12, 14, 23, 29, 29, 40, 55, 67, 88, 133),
}
PUBLISHED_SOURCE = (
    "England rates by IMD decile, 31 March 2015 (Bywaters et al. 2020, Child Welfare "
    "Inequalities Project final report)"
)


def england_decile_rates(dfe: pd.DataFrame) -> pd.DataFrame:
    """England's rates per 10,000 by IMD decile (1 = most deprived) for CIN, CPP and CLA.

    CPP and CLA are the published 2015 rates. No CIN rates by decile are published: CIN is
    given the CPP gradient scaled to England's published 2015 CIN rate (an assumption, labelled
    in ``source``).

    Parameters
    ----------
    dfe : pandas.DataFrame
        DfE tables with the England rows (for the 2015 CIN and CPP rates).

    Returns
    -------
    pandas.DataFrame
        ``measure, imd_decile, rate_per_10000, source``.
    """
    rows = []
    for m, rates in PUBLISHED_DECILE_RATES.items():
        for i, r in enumerate(reversed(rates), start=1):
            rows.append((m, i, float(r), PUBLISHED_SOURCE))
    eng = dfe[(dfe["la_code"] == "E92000001") & (dfe["year"] == 2015)]
    eng = eng.set_index("measure")["rate_per_10000"]
    if {"CIN", "CPP"} <= set(eng.index):
        factor = eng["CIN"] / eng["CPP"]
        for i, r in enumerate(reversed(PUBLISHED_DECILE_RATES["CPP"]), start=1):
            rows.append(("CIN", i, float(r) * factor,
                         "Assumption: CPP's published 2015 decile gradient scaled to England's "
                         f"2015 CIN rate ({eng['CIN']:.1f} per 10,000); no CIN rates by "
                         "decile are published"))  # fmt: skip
    return pd.DataFrame(rows, columns=["measure", "imd_decile", "rate_per_10000", "source"])


def lsoa_year(inp: PublicInputs, year: int) -> tuple[pd.DataFrame, list[str]]:
    """LSOA frame of one collection year: LA, children 0-17 and IMD in force.

    Children come from the ONS mid-year estimate nearest to mid-(year-1) and are scaled, LA by
    LA, to DfE's child population of that LA and year (the denominator of its published rates).

    Returns
    -------
    (pandas.DataFrame, list of str)
        ``lsoa_code, la_code, region_code, region_name, children, imd_rank, imd_decile,
        imd_score, n_lsoa_national, imd_vintage`` and notes on the choices made.
    """
    notes = []
    vintage, note = vintage_for_year(year, set(inp.imd))
    if note:
        notes.append(note)
    frame = inp.base[["lsoa_code", "region_code", "region_name"]].copy()
    frame["la_code"] = la_of_lsoa(inp.base, year).to_numpy()
    pop_years = sorted(inp.population)
    pop_year = min(pop_years, key=lambda y: (abs(y - (year - 1)), y))
    frame["children"] = frame["lsoa_code"].map(inp.population[pop_year]).fillna(0.0)
    if pop_year != year - 1:
        notes.append(
            f"31 March {year}: LSOA children from the ONS mid-{pop_year} estimates (mid-"
            f"{year - 1} not supplied), scaled in each LA to DfE's child population."
        )
    la_pop = (
        inp.dfe[(inp.dfe["year"] == year) & (inp.dfe["la_code"] != "E92000001")]
        .dropna(subset=["population"]).drop_duplicates("la_code")
        .set_index("la_code")["population"]
    )  # fmt: skip
    own = frame.groupby("la_code")["children"].sum()
    scale = (la_pop / own).reindex(own.index).fillna(1.0)
    frame["children"] = frame["children"] * frame["la_code"].map(scale)
    imd = inp.imd[vintage]
    frame = frame.merge(imd, on="lsoa_code", how="left")
    lost = frame["imd_rank"].isna()
    if lost.any():
        notes.append(
            f"31 March {year}: {int(lost.sum())} LSOA(s) without an IMD {vintage} value after "
            "the edition bridge are left out of the decile counts."
        )
        frame = frame[~lost]
    frame["imd_rank"] = frame["imd_rank"].astype(float)
    frame["imd_decile"] = frame["imd_decile"].astype(int)
    frame["imd_vintage"] = vintage
    return frame.reset_index(drop=True), notes


def children_by_decile(frame: pd.DataFrame) -> pd.DataFrame:
    """Children 0-17 per LA and IMD decile (1 = most deprived), all ten deciles listed.

    Returns
    -------
    pandas.DataFrame
        ``la_code, imd_decile, children_0_17``.
    """
    g = frame.groupby(["la_code", "imd_decile"])["children"].sum()
    full = pd.MultiIndex.from_product([sorted(frame["la_code"].unique()), range(1, 11)],
                                      names=["la_code", "imd_decile"])  # fmt: skip
    return g.reindex(full, fill_value=0.0).rename("children_0_17").reset_index()


def _exact_ratio_limits(o: np.ndarray, e: np.ndarray, confidence: float):
    with np.errstate(divide="ignore", invalid="ignore"):
        return exact_lower(o, confidence) / e, exact_upper(o, confidence) / e


def _funnel_flags(o: np.ndarray, e: np.ndarray, target: float) -> tuple[np.ndarray, dict]:
    """Position of each O/E against target with an additive random-effects allowance."""
    ok = ~np.isnan(o) & (e > 0)
    od = overdispersion(o[ok], target * e[ok])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.sqrt(o / (target * e)) - 1) / np.sqrt(1 / (4 * target * e) + od["tau2"])
    flag = np.full(o.shape, "", dtype=object)
    flag[ok] = "Within limits"
    flag[ok & (z > 1.959964)] = "Above 95% limit"
    flag[ok & (z > 3.090232)] = "Above 99.8% limit"
    flag[ok & (z < -1.959964)] = "Below 95% limit"
    flag[ok & (z < -3.090232)] = "Below 99.8% limit"
    return flag, od


def la_year_table(
    frame: pd.DataFrame,
    dfe: pd.DataFrame,
    rates: pd.DataFrame,
    year: int,
    names: dict[str, str],
    confidence: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Observed, expected and standardised ratios of every LA for one year.

    Expected = sum over deciles of the LA's children x England's decile rate. Ratio O/E with
    exact Poisson limits on O. ``england_ratio`` is England's own O/E (sum over LAs); the
    funnel position compares each LA with it, allowing for overdispersion (Spiegelhalter 2005).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame, dict)
        The LA x measure rows, the LA deprivation summary of the year, and per measure the
        funnel parameters (``england_ratio, phi, tau2``).
    """
    conf = normalise_confidence(confidence)
    deciles = children_by_decile(frame)
    summary = la_deprivation_summary(frame.rename(columns={"children": "population"}))
    summary["imd_vintage"] = frame["imd_vintage"].iloc[0]
    region = frame.drop_duplicates("la_code").set_index("la_code")["region_name"]
    d = dfe[(dfe["year"] == year) & (dfe["geographic_level"] == "Local authority")]
    out, funnel = [], {}
    for m in sorted(rates["measure"].unique()):
        if not d.loc[d["measure"] == m, "number"].notna().any():
            continue  # no published count of this measure this year (CLA before 2014)
        r = rates[rates["measure"] == m].set_index("imd_decile")["rate_per_10000"]
        exp = deciles.assign(e=deciles["children_0_17"] * deciles["imd_decile"].map(r) / 1e4)
        e = exp.groupby("la_code")["e"].sum()
        obs = d[d["measure"] == m].drop_duplicates("la_code").set_index("la_code")
        t = pd.DataFrame({"la_code": e.index, "expected": e.to_numpy()})
        t["observed"] = t["la_code"].map(obs["number"])
        t["population"] = t["la_code"].map(obs["population"])
        t["rate"] = t["la_code"].map(obs["rate_per_10000"])
        t["rate_source"] = t["la_code"].map(obs["rate_source"]).fillna("")
        t["symbol"] = t["la_code"].map(obs["symbol"]).fillna("")
        o, ev = t["observed"].to_numpy(float), t["expected"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            t["ratio"] = o / ev
        t["ratio_lcl"], t["ratio_ucl"] = _exact_ratio_limits(o, ev, conf)
        known = ~np.isnan(o)
        eng = float(o[known].sum() / ev[known].sum()) if known.any() else np.nan
        t["england_ratio"] = eng
        t["ratio_vs_england"] = t["ratio"] / eng
        t["funnel"], od = _funnel_flags(o, ev, eng)
        funnel[m] = {"england_ratio": eng, "phi": od["phi"], "tau2": od["tau2"],
                     "n_las": int(known.sum())}  # fmt: skip
        t["rank"] = t["ratio"].rank(ascending=False, method="min").astype("Int64")
        t["measure"] = m
        out.append(t)
    table = pd.concat(out, ignore_index=True)
    table["year"] = int(year)
    table["la_name"] = table["la_code"].map(names)
    table["region_name"] = table["la_code"].map(region)
    table = table.merge(
        summary[["la_code", "avg_rank", "avg_score", "extent", "imd_vintage"]], on="la_code"
    )
    n = int(frame["n_lsoa_national"].iloc[0])
    table["la_deprivation"] = table["avg_rank"] / n  # average rank as a share: 1 = most deprived
    summary["n_lsoa_national"] = n
    summary.insert(0, "year", int(year))
    summary["la_name"] = summary["la_code"].map(names)
    return table, summary, funnel


def _glm(y, x, offset):
    model = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset)
    return model.fit(scale="X2")


def between_la_models(table: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Between-LA models per measure and year, on LAs with a published count.

    Quasi-Poisson GLMs (Pearson-scaled) of the LA count O:

    * rates vs LA deprivation: log E[O] = log children + a + b z (z = LA average rank as a
      share, standardised across LAs): ``irr_rate_dep`` = exp(b), ``r2_deprivation`` = share
      of the deviance explained;
    * rates vs the deprivation-mix expectation: log E[O] = log children + a + c log(E/children):
      ``mix_slope`` = c (1 = rates scale exactly with the mix), ``r2_mix``;
    * inverse intervention: log E[O] = log E + a + g z: ``irr_ratio_dep`` = exp(g), the change
      in the standardised ratio per SD of LA deprivation (< 1: more deprived LAs intervene less
      than their children's deprivation predicts).

    Returns
    -------
    pandas.DataFrame
        One row per year x measure with the estimates, limits, ``direction`` and ``verdict``.
    """
    z_crit = float(stats.norm.ppf(0.5 + normalise_confidence(confidence) / 2))
    rows = []
    for (year, m), g in table.groupby(["year", "measure"]):
        g = g.dropna(subset=["observed", "population", "expected", "la_deprivation"])
        g = g[(g["population"] > 0) & (g["expected"] > 0)]
        if len(g) < 20:
            continue
        o = g["observed"].to_numpy(float)
        dep = g["la_deprivation"].to_numpy(float)
        z = (dep - dep.mean()) / dep.std(ddof=0)
        log_pop = np.log(g["population"].to_numpy(float))
        log_e = np.log(g["expected"].to_numpy(float))
        null = _glm(o, np.ones((len(o), 1)), log_pop)
        m1 = _glm(o, sm.add_constant(z), log_pop)
        m2 = _glm(o, sm.add_constant(log_e - log_pop), log_pop)
        m3 = _glm(o, sm.add_constant(z), log_e)
        b1, se1 = m1.params[1], m1.bse[1]
        b3, se3 = m3.params[1], m3.bse[1]
        row = {
            "year": int(year), "measure": m, "n_las": len(o),
            "irr_rate_dep": np.exp(b1), "irr_rate_dep_lcl": np.exp(b1 - z_crit * se1),
            "irr_rate_dep_ucl": np.exp(b1 + z_crit * se1),
            "r2_deprivation": 1 - m1.deviance / null.deviance,
            "mix_slope": m2.params[1], "r2_mix": 1 - m2.deviance / null.deviance,
            "irr_ratio_dep": np.exp(b3), "irr_ratio_dep_lcl": np.exp(b3 - z_crit * se3),
            "irr_ratio_dep_ucl": np.exp(b3 + z_crit * se3),
            "dispersion": m3.scale,
        }  # fmt: skip
        code, text = model_verdict(row)
        row["direction"], row["verdict"] = code, text
        rows.append(row)
    return pd.DataFrame(rows)


def trends(table: pd.DataFrame) -> pd.DataFrame:
    """Change in each LA's rate and standardised ratio across the years it has both.

    Log-linear least squares on the years with a published count: ``rate_change_pct`` and
    ``ratio_change_pct`` are the fitted % change per year.

    Returns
    -------
    pandas.DataFrame
        ``la_code, la_name, measure, first_year, last_year, n_years, rate_first, rate_last,
        ratio_first, ratio_last, rate_change_pct, ratio_change_pct``.
    """
    rows = []
    ok = table.dropna(subset=["rate", "ratio"])
    ok = ok[(ok["rate"] > 0) & (ok["ratio"] > 0)]
    for (code, m), g in ok.groupby(["la_code", "measure"]):
        g = g.sort_values("year")
        if len(g) < 3:
            continue
        yrs = g["year"].to_numpy(float)
        slope_rate = np.polyfit(yrs, np.log(g["rate"].to_numpy(float)), 1)[0]
        slope_ratio = np.polyfit(yrs, np.log(g["ratio"].to_numpy(float)), 1)[0]
        rows.append({"la_code": code, "la_name": g["la_name"].iloc[-1], "measure": m,
                     "first_year": int(yrs[0]), "last_year": int(yrs[-1]), "n_years": len(g),
                     "rate_first": g["rate"].iloc[0], "rate_last": g["rate"].iloc[-1],
                     "ratio_first": g["ratio"].iloc[0], "ratio_last": g["ratio"].iloc[-1],
                     "rate_change_pct": 100 * (np.exp(slope_rate) - 1),
                     "ratio_change_pct": 100 * (np.exp(slope_ratio) - 1)})  # fmt: skip
    return pd.DataFrame(rows)


NEIGHBOUR_FEATURES = (
    "la_deprivation", "extent", "local_concentration_share",
    "share_children_most_deprived_10pct", "log_children",
)  # fmt: skip


def statistical_neighbours(summary: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """The k most similar LAs on public characteristics (one year's LA summary).

    Features (standardised, equal weight, Euclidean distance): average rank as a share of LSOAs,
    extent, local concentration as a share, share of children in the most deprived 10% of
    LSOAs, and log children 0-17. A public stand-in for DfE's statistical neighbours (which also
    use income, housing and ethnicity data not in the public folder).

    Returns
    -------
    pandas.DataFrame
        ``la_code, neighbour_code, neighbour_rank, distance``.
    """
    s = summary.copy()
    n = s["n_lsoa_national"] if "n_lsoa_national" in s else s["avg_rank"].max()
    s["la_deprivation"] = s["avg_rank"] / n
    s["local_concentration_share"] = s["local_concentration"] / n
    s["log_children"] = np.log(s["population"].clip(lower=1))
    x = s[list(NEIGHBOUR_FEATURES)].to_numpy(float)
    x = (x - x.mean(axis=0)) / x.std(axis=0, ddof=0)
    dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
    codes = s["la_code"].to_numpy()
    rows = []
    for i, code in enumerate(codes):
        order = [j for j in np.argsort(dist[i], kind="stable") if j != i][:k]
        for rank, j in enumerate(order, start=1):
            rows.append((code, codes[j], rank, float(dist[i, j])))
    return pd.DataFrame(rows, columns=["la_code", "neighbour_code", "neighbour_rank", "distance"])


def neighbour_ratios(table: pd.DataFrame, neighbours: pd.DataFrame) -> pd.Series:
    """Pooled O/E of each LA's statistical neighbours, per year and measure (aligned to table)."""
    oe = table.set_index(["year", "measure", "la_code"])[["observed", "expected"]]
    pairs = neighbours[["la_code", "neighbour_code"]]
    t = table[["year", "measure", "la_code"]].merge(pairs, on="la_code")
    t = t.join(oe, on=["year", "measure", "neighbour_code"]).dropna(subset=["observed"])
    g = t.groupby(["year", "measure", "la_code"])[["observed", "expected"]].sum()
    pooled = g["observed"] / g["expected"]
    keys = pd.MultiIndex.from_frame(table[["year", "measure", "la_code"]])
    return pd.Series(pooled.reindex(keys).to_numpy(), index=table.index)


def spending(spend: pd.DataFrame, table: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Children's social care spend per child and per deprivation-expected case.

    Parameters
    ----------
    spend : pandas.DataFrame
        ``year, la_code, gross_gbp`` (Section 251, year = financial year end).
    table : pandas.DataFrame
        The LA-year table (expected CIN, CPP and CLA counts).
    population : pandas.DataFrame
        ``year, la_code, population`` (DfE child population).

    Returns
    -------
    pandas.DataFrame
        ``year, la_code, gross_gbp, children_0_17, spend_per_child, expected_cin,
        spend_per_expected_cin, expected_cla, spend_per_expected_cla``.
    """
    s = spend[["year", "la_code", "gross_gbp"]].merge(population, on=["year", "la_code"],
                                                      how="left")  # fmt: skip
    s = s.rename(columns={"population": "children_0_17"})
    s["spend_per_child"] = s["gross_gbp"] / s["children_0_17"]
    for m in ("CIN", "CLA"):
        e = table[table["measure"] == m][["year", "la_code", "expected"]]
        s = s.merge(e.rename(columns={"expected": f"expected_{m.lower()}"}),
                    on=["year", "la_code"], how="left")  # fmt: skip
        s[f"spend_per_expected_{m.lower()}"] = s["gross_gbp"] / s[f"expected_{m.lower()}"]
    return s
