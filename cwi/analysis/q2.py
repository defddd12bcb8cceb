"""Q2 identity: who is in the system beyond deprivation - age, sex, ethnicity, disability.

Models are Poisson GLMs with log-population offset (IRLS of :mod:`cwi.analysis.models`, equal
to statsmodels' GLM) on aggregated cells
(LA x IMD decile x group), with quasi-Poisson (Pearson) standard errors so that extra-Poisson
variation between cells widens the intervals.  Interaction tests compare nested models by the
scaled deviance difference (quasi-likelihood ratio, F form: (dD/df)/phi ~ F(df, n - p);
McCullagh & Nelder 1989, sec. 4.5).  Reference groups: age band "10 to 15", sex "M",
ethnic group "White".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cwi.analysis.cells import REGION_CODE, ethnic_cells, strata_cells
from cwi.analysis.models import grouped_glm
from cwi.analysis.q1 import group_rates
from cwi.analysis.rates import normalise_confidence, proportion_ci
from cwi.cube import Cube
from cwi.schemas import MEASURES

__all__ = [
    "identity_rates",
    "adjusted_rate_ratios",
    "ethnic_rate_ratios",
    "interaction_tests",
    "gender_gap_by_decile",
    "disability_by_decile",
]

REFERENCE = {"age_band": "10 to 15", "sex": "M", "ethnic_group": "White"}


def identity_rates(
    cube: Cube,
    year: int,
    dimension: str,
    confidence: float = 0.95,
    per: float = 10000,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Rates by age band, sex or ethnic group for the region and each LA.

    Parameters
    ----------
    cube : Cube
        The count cube.
    year : int
        Collection year.
    dimension : {"age_band", "sex", "ethnic_group"}
        Grouping.  Cases whose group has no population (sex ``U``, ethnicity ``Unknown``) have
        no rate and are left out.
    confidence, per : float
        Confidence level and rate multiplier.
    measures : sequence of str
        Measures.

    Returns
    -------
    pandas.DataFrame
        ``year, area_type, area_code, area_name, measure, <dimension>, n, population, rate,
        lower, upper, method``.
    """
    if dimension == "ethnic_group":
        cells = ethnic_cells(cube, year, measures)
    else:
        cells = strata_cells(cube, year, [dimension], measures)
    if cells.empty:
        return pd.DataFrame()
    return group_rates(cells, dimension, cube, year, confidence, per)


def _dummies(d: pd.DataFrame, col: str, ref: str | None = None) -> pd.DataFrame:
    levels = sorted(d[col].astype(str).unique())
    ref = ref if ref in levels else levels[0]
    vals = d[col].astype(str).to_numpy()
    return pd.DataFrame(
        {f"{col}[T.{lv}]": (vals == lv).astype(float) for lv in levels if lv != ref},
        index=d.index,
    )


class _Fit:
    """The few attributes of a statsmodels GLM result used here (quasi-Poisson)."""

    def __init__(self, x: pd.DataFrame, d: pd.DataFrame):
        fit = grouped_glm(
            x.to_numpy(float), d["n"].to_numpy(float),
            np.log(d["population"].to_numpy(float)), None, "quasipoisson",
        )  # fmt: skip
        cov = fit.cov[0]
        se = np.sqrt(np.diag(cov))
        self.params = pd.Series(fit.beta[0], index=x.columns)
        self.bse = pd.Series(se, index=x.columns)
        self.pvalues = pd.Series(2 * stats.norm.sf(np.abs(fit.beta[0] / se)), index=x.columns)
        self.deviance = float(fit.deviance[0])
        self.df_model, self.df_resid = x.shape[1] - 1, float(len(d) - x.shape[1])
        self.scale = float(fit.pearson[0]) / max(self.df_resid, 1.0)
        self.cov = pd.DataFrame(cov, index=x.columns, columns=x.columns)

    def bse_of(self, names: list[str]) -> float:
        """Standard error of the sum of the named coefficients."""
        c = self.cov.loc[names, names].to_numpy()
        return float(np.sqrt(c.sum()))


def _fit(d: pd.DataFrame, cats: list[str], dep: bool = False, interact: str | None = None) -> _Fit:
    """Poisson GLM with log-population offset: intercept + factors (+ dep, + factor x dep).

    Levels with no cases at all are dropped first (their rate ratio is 0 and not estimable).
    """
    for c in {*cats, *([interact] if interact else [])}:
        tot = d.groupby(c, observed=True)["n"].transform("sum")
        d = d[tot > 0]
    parts = [pd.DataFrame({"Intercept": 1.0}, index=d.index)]
    for c in cats:
        parts.append(_dummies(d, c, REFERENCE.get(c)))
    if dep:
        parts.append(pd.DataFrame({"dep": d["dep"].astype(float)}, index=d.index))
    if interact is not None:
        dm = _dummies(d, interact, REFERENCE.get(interact))
        parts.append(dm.mul(d["dep"].astype(float), axis=0).add_suffix(":dep"))
    x = pd.concat(parts, axis=1)
    x = x.loc[:, x.abs().sum() > 0]
    return _Fit(x, d)


def _ratios(fit: _Fit, prefix: str, z: float) -> pd.DataFrame:
    rows = []
    for name, b in fit.params.items():
        if not name.startswith(f"{prefix}[T.") or name.endswith(":dep"):
            continue
        level = name.split("[T.")[-1].rstrip("]")
        se = fit.bse[name]
        rows.append(
            {
                "group": level, "estimate": np.exp(b), "lower": np.exp(b - z * se),
                "upper": np.exp(b + z * se), "p_value": fit.pvalues[name],
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def adjusted_rate_ratios(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Unadjusted and adjusted rate ratios by age band and sex.

    Adjusted model: ``n ~ age band + sex + IMD decile`` (factors), log-population offset, on
    LA x decile x age x sex cells.

    Returns
    -------
    pandas.DataFrame
        ``year, measure, dimension, group, reference, adjustment, estimate, lower, upper,
        p_value, method``.
    """
    z = stats.norm.ppf(0.5 + normalise_confidence(confidence) / 2)
    split = has_sex_split(cube)
    cells = strata_cells(cube, year, ["age_band", "sex"] if split else ["age_band"], measures)
    # persons-only populations: age band alone, adjusted for IMD decile (no sex denominators)
    pairs = (("age_band", "sex"), ("sex", "age_band")) if split else (("age_band", None),)
    rows = []
    for m in measures:
        d = cells[cells["measure"] == m]
        if split:
            d = d[d["sex"].isin(["M", "F"])]
        for dim, other in pairs:
            models = {
                "unadjusted": [dim],
                f"adjusted for {other.replace('_', ' ')} and IMD decile"
                if other
                else "adjusted for IMD decile": [dim, *([other] if other else []), "imd_decile"],
            }
            for adj, cats in models.items():
                r = _ratios(_fit(d, cats), dim, z)
                r["dimension"], r["reference"], r["adjustment"] = dim, REFERENCE[dim], adj
                r["measure"] = m
                rows.append(r)
    out = pd.concat(rows, ignore_index=True)
    out["year"] = int(year)
    out["method"] = "Poisson GLM, log-population offset, quasi-Poisson SE; LA x decile cells"
    cols = ["year", "measure", "dimension", "group", "reference", "adjustment"]
    return out[cols + ["estimate", "lower", "upper", "p_value", "method"]]


def ethnic_rate_ratios(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Ethnic rate ratios (vs White), unadjusted and adjusted for IMD decile, side by side.

    Returns
    -------
    pandas.DataFrame
        ``year, measure, ethnic_group, reference, unadjusted, unadjusted_lower,
        unadjusted_upper, estimate, lower, upper (deprivation-adjusted), p_value, la_adjusted,
        la_adjusted_lower, la_adjusted_upper (deprivation- and LA-adjusted), method``;
        empty if the cube has no ethnic denominators.
    """
    cells = ethnic_cells(cube, year, measures)
    if cells.empty or "White" not in set(cells["ethnic_group"]):
        return pd.DataFrame()
    z = stats.norm.ppf(0.5 + normalise_confidence(confidence) / 2)
    rows = []
    for m in measures:
        d = cells[cells["measure"] == m]
        un = _ratios(_fit(d, ["ethnic_group"]), "ethnic_group", z)
        ad = _ratios(_fit(d, ["ethnic_group", "imd_decile"]), "ethnic_group", z)
        la = _ratios(_fit(d, ["ethnic_group", "imd_decile", "la_code"]), "ethnic_group", z)
        j = un.merge(ad, on="group", suffixes=("_un", "")).merge(
            la[["group", "estimate", "lower", "upper"]], on="group", suffixes=("", "_la")
        )
        rows.append(
            pd.DataFrame(
                {
                    "measure": m,
                    "ethnic_group": j["group"],
                    "reference": "White",
                    "unadjusted": j["estimate_un"],
                    "unadjusted_lower": j["lower_un"],
                    "unadjusted_upper": j["upper_un"],
                    "estimate": j["estimate"],
                    "lower": j["lower"],
                    "upper": j["upper"],
                    "p_value": j["p_value"],
                    "la_adjusted": j["estimate_la"],
                    "la_adjusted_lower": j["lower_la"],
                    "la_adjusted_upper": j["upper_la"],
                }
            )  # fmt: skip
        )
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "year", int(year))
    out["method"] = (
        "Poisson GLM, log-population offset, quasi-Poisson SE; adjusted = + IMD decile factors; "
        "la_adjusted = + IMD decile and LA factors (compares children in equally deprived "
        "neighbourhoods of the same LA); LA x decile x ethnic group cells (population 0-17)"
    )
    return out


def interaction_tests(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test whether the deprivation gradient differs by age band, sex or ethnic group.

    For each dimension, ``n ~ group + dep`` vs ``n ~ group * dep`` (``dep = 10 - decile``);
    quasi-likelihood ratio F test.  Also the group-specific IRR per decile step.

    Returns
    -------
    tests : pandas.DataFrame
        ``year, measure, dimension, statistic, df, df_resid, p_value, dispersion, method``.
    gradients : pandas.DataFrame
        ``year, measure, dimension, group, estimate (IRR per step), lower, upper, method``.
    """
    z = stats.norm.ppf(0.5 + normalise_confidence(confidence) / 2)
    sources = {
        "age_band": strata_cells(cube, year, ["age_band"], measures),
        "sex": strata_cells(cube, year, ["sex"], measures),
        "ethnic_group": ethnic_cells(cube, year, measures),
    }
    tests, grads = [], []
    for dim, cells in sources.items():
        if cells.empty:
            continue
        for m in measures:
            d = cells[(cells["measure"] == m)]
            if dim == "sex":
                d = d[d["sex"].isin(["M", "F"])]
            if d[dim].nunique() < 2:
                continue
            small = _fit(d, [dim], dep=True)
            full = _fit(d, [dim], dep=True, interact=dim)
            ddf = int(full.df_model - small.df_model)
            phi = full.scale
            f = (small.deviance - full.deviance) / ddf / phi
            tests.append(
                {
                    "measure": m, "dimension": dim, "statistic": f, "df": ddf,
                    "df_resid": int(full.df_resid),
                    "p_value": float(stats.f.sf(f, ddf, full.df_resid)), "dispersion": phi,
                }
            )  # fmt: skip
            ref = REFERENCE.get(dim)
            levels = sorted(d[dim].astype(str).unique())
            ref = ref if ref in levels else levels[0]
            for lv in levels:
                # slope of level lv = dep + (lv x dep interaction), variance from the covariance
                name = f"{dim}[T.{lv}]:dep"
                b = full.params["dep"] + full.params.get(name, 0.0)
                se = full.bse_of(["dep"] + ([name] if name in full.params else []))
                level = lv
                grads.append(
                    {
                        "measure": m, "dimension": dim, "group": level,
                        "estimate": np.exp(b), "lower": np.exp(b - z * se),
                        "upper": np.exp(b + z * se),
                    }
                )  # fmt: skip
    t = pd.DataFrame(tests)
    t.insert(0, "year", int(year))
    t["method"] = "Quasi-likelihood ratio F test of group x deprivation-step interaction"
    g = pd.DataFrame(grads)
    g.insert(0, "year", int(year))
    g["method"] = "IRR per decile step towards most deprived, Poisson GLM, quasi-Poisson SE"
    return t, g


def gender_gap_by_decile(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    per: float = 10000,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Boys' vs girls' rates by IMD decile for the region: ratio and difference with CIs.

    The ratio's interval is the Wald interval on the log scale (SE = sqrt(1/a + 1/b)); the
    difference's is the Wald interval with Poisson variances (a/p_a^2 + b/p_b^2).

    Returns
    -------
    pandas.DataFrame
        ``year, area_code, measure, imd_decile, n_m, n_f (counts of boys and girls: a rate
        with the public population gives its count, so they go through disclosure control
        like any count), rate_m, rate_f, estimate (M/F ratio), lower, upper, difference,
        difference_lower, difference_upper, method``.
    """
    z = stats.norm.ppf(0.5 + normalise_confidence(confidence) / 2)
    c = strata_cells(cube, year, ["sex"], measures)
    c = c[c["sex"].isin(["M", "F"])]
    g = c.groupby(["measure", "imd_decile", "sex"])[["n", "population"]].sum().unstack("sex")
    nm, nf = g[("n", "M")], g[("n", "F")]
    pm, pf = g[("population", "M")], g[("population", "F")]
    rm, rf = per * nm / pm, per * nf / pf
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = rm / rf
        se_l = np.sqrt(1 / nm + 1 / nf)
        diff = rm - rf
        se_d = per * np.sqrt(nm / pm**2 + nf / pf**2)
    out = pd.DataFrame(
        {
            "n_m": nm, "n_f": nf,
            "rate_m": rm, "rate_f": rf, "estimate": ratio, "lower": ratio * np.exp(-z * se_l),
            "upper": ratio * np.exp(z * se_l), "difference": diff,
            "difference_lower": diff - z * se_d, "difference_upper": diff + z * se_d,
        }
    ).reset_index()  # fmt: skip
    out.insert(0, "area_code", REGION_CODE)
    out.insert(0, "year", int(year))
    out["method"] = "Rate ratio (log-scale Wald) and rate difference (Wald), boys vs girls"
    return out


def has_sex_split(cube: Cube) -> bool:
    """True when the child population is split into boys and girls (not persons only)."""
    return {"M", "F"} <= set(cube.population["sex"].astype(str))


def male_share_by_decile(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Share of cases who are boys, by IMD decile (region), Wilson CI: gender without rates.

    Used where the population has no split by sex (ONS LSOA estimates are persons only): the
    composition of the caseload needs no denominator. Cases with sex not recorded are left out.

    Returns
    -------
    pandas.DataFrame
        ``year, area_code, measure, imd_decile, male, sex_recorded, estimate, lower, upper,
        method``.
    """
    c = cube.counts[(cube.counts["year"] == year) & cube.counts["measure"].isin(measures)]
    c = c.merge(cube.lsoa[["lsoa_code", "imd_decile"]], on="lsoa_code")
    c = c[c["sex"].isin(["M", "F"])]
    g = c.groupby(["measure", "imd_decile", "sex"])["n"].sum().unstack(fill_value=0)
    for col in ("M", "F"):
        if col not in g:
            g[col] = 0
    rec = g["M"] + g["F"]
    g, rec = g[rec > 0], rec[rec > 0]
    ci = proportion_ci(g["M"], rec, confidence)
    out = pd.DataFrame(
        {
            "measure": g.index.get_level_values("measure"),
            "imd_decile": g.index.get_level_values("imd_decile"),
            "male": g["M"].to_numpy(), "sex_recorded": rec.to_numpy(),
            "estimate": ci["value"].to_numpy(), "lower": ci["lower"].to_numpy(),
            "upper": ci["upper"].to_numpy(),
        }
    )  # fmt: skip
    out.insert(0, "area_code", REGION_CODE)
    out.insert(0, "year", int(year))
    out["method"] = (
        "Share of cases who are boys (sex recorded), Wilson score interval; no rates by sex "
        "because the population source is persons only"
    )
    return out


def disability_by_decile(cube: Cube, year: int, confidence: float = 0.95) -> pd.DataFrame:
    """Share of children in need recorded as disabled, by IMD decile (region), Wilson CI.

    There is no population denominator by disability, so only the composition of the CIN
    caseload can be described.  Cases with disability not recorded (``U``) are excluded.

    Returns
    -------
    pandas.DataFrame
        ``year, area_code, measure, imd_decile, disabled, recorded, estimate, lower, upper,
        method``.
    """
    c = cube.counts[(cube.counts["year"] == year) & (cube.counts["measure"] == "CIN")]
    c = c.merge(cube.lsoa[["lsoa_code", "imd_decile"]], on="lsoa_code")
    c = c[c["disabled"].isin(["Y", "N"])]
    g = c.groupby(["imd_decile", "disabled"])["n"].sum().unstack(fill_value=0)
    for col in ("Y", "N"):
        if col not in g:
            g[col] = 0
    rec = g["Y"] + g["N"]
    g = g[rec > 0]
    rec = rec[rec > 0]
    ci = proportion_ci(g["Y"], rec, confidence)
    out = pd.DataFrame(
        {
            "imd_decile": g.index, "disabled": g["Y"].to_numpy(), "recorded": rec.to_numpy(),
            "estimate": ci["value"].to_numpy(), "lower": ci["lower"].to_numpy(),
            "upper": ci["upper"].to_numpy(),
        }
    )  # fmt: skip
    out.insert(0, "measure", "CIN")
    out.insert(0, "area_code", REGION_CODE)
    out.insert(0, "year", int(year))
    out["method"] = "Share of CIN with a recorded disability, Wilson score interval"
    return out
