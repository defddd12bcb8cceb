"""Q3 within vs between LAs: standardised ratios, funnels, multilevel variance, inverse law.

* Indirect standardisation: each LA's expected count applies the region's rates by IMD decile
  x age band x sex to the LA's children (``calculate_ISRatio``); SR = O/E with exact/Byar's
  limits and Poisson funnel significance (Spiegelhalter 2005; PHEindicatormethods).
* Multilevel model (documented equivalent of a random-intercept Poisson GLMM): a Poisson GLM
  with one intercept per LA (and IMD decile factors) gives each LA's log-rate effect and its
  variance, inflated by the LSOA-level Pearson dispersion; the between-LA variance tau^2 is
  then estimated by DerSimonian-Laird moments (meta-regression on LA deprivation for the third
  model) with a Q-profile interval, and expressed as the median rate ratio
  MRR = exp(sqrt(2 tau^2) 0.6745) (Merlo et al. 2006).  This two-stage estimator is consistent
  for the GLMM's between-LA variance when LAs hold many children, and runs in milliseconds.
* Inverse intervention: at equal LSOA decile (decile factors in the first stage), the LA
  effects are regressed on LA deprivation (thirds, and the child-weighted mean IMD score per
  10 points) with random-effects weights and Hartung-Knapp intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cwi.analysis.cells import la_covariate, la_deprivation, lsoa_cells, strata_cells
from cwi.analysis.funnels import overdispersed_ratio_limits, overdispersion, ratio_limits_at
from cwi.analysis.models import grouped_glm, median_rate_ratio, random_effects
from cwi.analysis.rates import (
    indirect_standardisation,
    normalise_confidence,
    rate_ci,
    ratio_significance,
)
from cwi.cube import Cube
from cwi.schemas import MEASURES

__all__ = [
    "standardised_ratios",
    "la_effects",
    "multilevel_variance",
    "between_la_explained",
    "inverse_intervention",
    "rates_by_la_third",
]


#: Fewest LAs each LA-level analysis needs: thirds need two LAs per third; a random-effects
#: meta-regression or LA-level GLM with one covariate needs a few residual degrees of freedom.
MIN_LAS = {
    "q3_multilevel": 5,
    "q3_between_la": 5,
    "q3_rates_by_la_third": 6,
    "q3_inverse_intervention": 6,
}


class NotEstimable(ValueError):
    """The data cannot support an analysis (the message says why); reported in analysis_notes."""


def require_las(cube: Cube, needed: int, what: str) -> None:
    """Raise :class:`NotEstimable` when the cube has fewer LAs than ``what`` needs."""
    n = int(cube.la["la_code"].nunique())
    if n < needed:
        raise NotEstimable(
            f"not estimable: {what} needs at least {needed} LAs and this build has {n}; "
            "no result or verdict is published for it"
        )


def isr_method(strata: tuple[str, ...]) -> str:
    """Method text of the standardised ratio, naming the standardisation strata."""
    names = " x ".join(["IMD decile", *(s.replace("_", " ") for s in strata)])
    return (
        f"Indirectly standardised ratio on regional rates by {names}; "
        "exact Poisson (O < 10) or Byar's limits"
    )


def funnel_grid(standardised: pd.DataFrame, points: int = 80) -> pd.DataFrame:
    """Funnel limits over a grid of expected counts, per measure, for drawing the funnel plot.

    Parameters
    ----------
    standardised : pandas.DataFrame
        Output of :func:`standardised_ratios` (``measure``, ``expected``).
    points : int
        Grid points per measure (geometric spacing from half the smallest to 1.2x the largest
        expected count).

    Returns
    -------
    pandas.DataFrame
        ``measure, expected, lower_2sd, upper_2sd, lower_3sd, upper_3sd`` (Poisson), the same
        with ``_od`` (allowing for overdispersion between LAs), ``tau2``, ``phi``, ``method``.
    """
    frames = []
    for measure, d in standardised.groupby("measure", sort=False):
        e = d["expected"].to_numpy(float)
        e = e[np.isfinite(e) & (e > 0)]
        if e.size == 0:
            continue
        grid = np.geomspace(max(e.min() / 2, 0.5), e.max() * 1.2, points)
        limits = ratio_limits_at(grid)
        od = overdispersion(d["observed"], d["expected"])
        wide = overdispersed_ratio_limits(grid, od["tau2"])
        limits["lower_2sd_od"] = wide["lower_95"].to_numpy()
        limits["upper_2sd_od"] = wide["upper_95"].to_numpy()
        limits["lower_3sd_od"] = wide["lower_99.8"].to_numpy()
        limits["upper_3sd_od"] = wide["upper_99.8"].to_numpy()
        frames.append(
            limits.assign(measure=measure, expected=grid, tau2=od["tau2"], phi=od["phi"])
        )
    cols = ["measure", "expected", "lower_2sd", "upper_2sd", "lower_3sd", "upper_3sd",
            "lower_2sd_od", "upper_2sd_od", "lower_3sd_od", "upper_3sd_od", "tau2", "phi"]  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=[*cols, "method"])
    out = pd.concat(frames, ignore_index=True)[cols]
    out["method"] = (
        "Poisson funnel limits for O/E at 2 SD (95%) and 3 SD (99.8%); _od: the same widened "
        "for overdispersion (Spiegelhalter 2005 additive random effects, tau2 from Winsorised "
        "z-scores on the square-root scale)"
    )
    return out


def standardised_ratios(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    per: float = 10000,
    strata: tuple[str, ...] = ("age_band", "sex"),
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Each LA's observed vs deprivation-mix-expected count (indirect standardisation).

    Parameters
    ----------
    cube : Cube
        The count cube.
    year : int
        Collection year.
    confidence : float
        Confidence level of the SR interval.
    per : float
        Rate multiplier for the crude and expected rates.
    strata : tuple of str
        Standardisation strata besides the IMD decile.
    measures : sequence of str
        Measures.

    Returns
    -------
    pandas.DataFrame
        ``year, la_code, la_name, measure, observed, expected, population, crude_rate,
        expected_rate, estimate (SR), lower, upper, method, significance, lower_2sd,
        upper_2sd, lower_3sd, upper_3sd``.
    """
    cells = strata_cells(cube, year, list(strata), measures)
    keys = ["imd_decile", *strata]
    ref = cells.groupby(["measure", *keys], as_index=False, observed=True)[
        ["n", "population"]
    ].sum()
    out = []
    for m in measures:
        d = cells[cells["measure"] == m]
        r = ref[ref["measure"] == m]
        res = indirect_standardisation(
            d, ["la_code"], keys, "n", "population", r, "n", "population", confidence
        )
        pop = d.groupby("la_code")["population"].sum()
        res["measure"] = m
        res["population"] = res["la_code"].map(pop).to_numpy()
        out.append(res)
    res = pd.concat(out, ignore_index=True)
    res["crude_rate"] = per * res["observed"] / res["population"]
    res["expected_rate"] = per * res["expected"] / res["population"]
    res = res.rename(columns={"value": "estimate"})
    res["method"] = isr_method(strata)
    res["significance"] = ratio_significance(res["observed"], res["expected"]).to_numpy()
    res = pd.concat([res, ratio_limits_at(res["expected"])], axis=1)
    res["year"] = int(year)
    res = res.merge(cube.la[["la_code", "la_name"]], on="la_code", how="left")
    cols = [
        "year", "la_code", "la_name", "measure", "observed", "expected", "population",
        "crude_rate", "expected_rate", "estimate", "lower", "upper", "method", "significance",
        "lower_2sd", "upper_2sd", "lower_3sd", "upper_3sd",
    ]  # fmt: skip
    return res[cols]


def la_effects(
    cube: Cube,
    year: int,
    adjust_decile: bool,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """LA log-rate effects (with sampling variance) from a Poisson GLM with LA intercepts.

    With ``adjust_decile`` the model has IMD decile factors shared by all LAs: the LA effect
    is its log rate at equal LSOA deprivation.  The two-factor Poisson model is fitted on
    LA x decile cells (sufficient statistics) by iterative proportional fitting, which gives
    the maximum-likelihood estimates of a log-linear model with two factors (Bishop, Fienberg
    & Holland 1975).  var(theta_j) = phi / O_j (the inverse information of the LA intercept
    given the decile effects), with phi the LSOA-level Pearson dispersion (at least 1).  LAs
    with no cases are left out (their log rate is undefined).

    Returns
    -------
    pandas.DataFrame
        ``measure, la_code, theta, var, dispersion, observed``.
    """
    lc = lsoa_cells(cube, year, measures)
    lc = lc[lc["population"] > 0]
    frames = []
    for m in measures:
        d = lc[lc["measure"] == m]
        cells = d.groupby(["la_code", "imd_decile"], as_index=False)[["n", "population"]].sum()
        la_i, las = pd.factorize(cells["la_code"])
        dec_i, _ = pd.factorize(cells["imd_decile"])
        y = cells["n"].to_numpy(float)
        pop = cells["population"].to_numpy(float)
        n_la, n_dec = len(las), int(dec_i.max()) + 1
        y_la = np.bincount(la_i, y, n_la)
        y_dec = np.bincount(dec_i, y, n_dec)
        delta = np.zeros(n_dec)
        alpha = np.log(np.maximum(y_la, 1e-300) / np.bincount(la_i, pop, n_la))
        if adjust_decile:
            for _ in range(500):
                alpha = np.log(np.maximum(y_la, 1e-300)) - np.log(
                    np.bincount(la_i, pop * np.exp(delta[dec_i]), n_la)
                )
                new = np.log(np.maximum(y_dec, 1e-300)) - np.log(
                    np.bincount(dec_i, pop * np.exp(alpha[la_i]), n_dec)
                )
                new -= new[0]
                if np.max(np.abs(new - delta)) < 1e-12:
                    delta = new
                    break
                delta = new
            alpha = np.log(np.maximum(y_la, 1e-300)) - np.log(
                np.bincount(la_i, pop * np.exp(delta[dec_i]), n_la)
            )
        cell_rate = pd.Series(
            np.exp(alpha[la_i] + delta[dec_i]),
            index=pd.MultiIndex.from_arrays([cells["la_code"], cells["imd_decile"]]),
        )
        mu = (
            d["population"].to_numpy()
            * cell_rate.reindex(
                pd.MultiIndex.from_arrays([d["la_code"], d["imd_decile"]])
            ).to_numpy()
        )
        ok = mu > 0
        n_par = n_la + (n_dec - 1 if adjust_decile else 0)
        pear = float(np.sum((d["n"].to_numpy()[ok] - mu[ok]) ** 2 / mu[ok]))
        phi = max(1.0, pear / max(len(d) - n_par, 1))
        keep = y_la > 0
        frames.append(
            pd.DataFrame(
                {
                    "measure": m,
                    "la_code": np.asarray(las)[keep],
                    "theta": alpha[keep],
                    "var": phi / y_la[keep],
                    "dispersion": phi,
                    "observed": y_la[keep],
                }
            )  # fmt: skip
        )
    return pd.concat(frames, ignore_index=True)


def multilevel_variance(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Between-LA variance and median rate ratio before and after deprivation adjustment.

    Models: (1) LA only; (2) + LSOA IMD decile; (3) + LA deprivation (child-weighted mean IMD
    score) as an LA-level covariate.

    Returns
    -------
    pandas.DataFrame
        ``year, measure, model, tau2, tau2_lower, tau2_upper, estimate (MRR), lower, upper,
        n_la, method``; the MRR interval is the Q-profile interval of tau^2 transformed.
    """
    require_las(cube, MIN_LAS["q3_multilevel"], "the between-LA variance")
    dep = la_deprivation(cube, year).set_index("la_code")
    cov_name = la_covariate(dep, dep.index[:1])[1]
    rows = []
    specs = (
        ("LA only", False, False),
        ("+ LSOA deprivation decile", True, False),
        (f"+ LSOA decile + {cov_name}", True, True),
    )
    effects = {flag: la_effects(cube, year, flag, measures) for flag in (False, True)}
    for m in measures:
        for label, adj, la_cov in specs:
            e = effects[adj]
            e = e[e["measure"] == m]
            z = np.ones((len(e), 1))
            if la_cov:
                s = la_covariate(dep, e["la_code"])[0]
                z = np.column_stack([z, s - s.mean()])
            if len(e) < z.shape[1] + 2:
                continue
            re = random_effects(e["theta"].to_numpy(), e["var"].to_numpy(), z, confidence)
            rows.append(
                {
                    "year": int(year), "measure": m, "model": label, "tau2": re.tau2,
                    "tau2_lower": re.tau2_lower, "tau2_upper": re.tau2_upper,
                    "estimate": float(median_rate_ratio(re.tau2)),
                    "lower": float(median_rate_ratio(re.tau2_lower)),
                    "upper": float(median_rate_ratio(re.tau2_upper)),
                    "n_la": len(e),
                }
            )  # fmt: skip
    out = pd.DataFrame(
        rows,
        columns=[
            "year", "measure", "model", "tau2", "tau2_lower", "tau2_upper", "estimate",
            "lower", "upper", "n_la",
        ],
    )  # fmt: skip
    out["method"] = (
        "Two-stage random-intercept Poisson model: LA effects from a Poisson GLM (quasi-Poisson "
        "variance), DerSimonian-Laird between-LA variance with Q-profile interval; "
        "MRR = exp(sqrt(2 tau2) x 0.6745) (Merlo et al. 2006)"
    )
    return out


def _poisson_dev(y: np.ndarray, mu: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(2 * np.sum(t - (y - mu)))


def between_la_explained(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Split the between-LA variation into LA deprivation and the within-LA deprivation mix.

    LA-level Poisson GLMs of the LA count with log-population offset: null (one regional rate);
    (a) + LA mean IMD score (per 10 points); (a') + share of the LA's LSOAs in decile 1;
    (b) + log expected rate from the LA's decile x age x sex mix (indirect standardisation);
    (a + b).  ``deviance_explained`` = 1 - D/D_null; ``excess_explained`` uses D - df (the
    deviance beyond Poisson noise), truncated to 0-1.

    Returns
    -------
    pandas.DataFrame
        ``year, measure, model, deviance, df, deviance_explained, excess_explained, term,
        estimate, lower, upper, method``; the estimate is the rate ratio of the model's first
        covariate (per 10 IMD points; per 10 percentage points of decile-1 share; per unit
        log expected rate).
    """
    require_las(cube, MIN_LAS["q3_between_la"], "the between-LA models")
    sr = standardised_ratios(cube, year, confidence, measures=measures)
    dep = la_deprivation(cube, year).set_index("la_code")
    z = stats.norm.ppf(0.5 + normalise_confidence(confidence) / 2)
    rows = []
    for m in measures:
        d = sr[sr["measure"] == m]
        y = d["observed"].to_numpy(float)
        off = np.log(d["population"].to_numpy(float))
        score, cov_name, cov_unit = la_covariate(dep, d["la_code"])
        share = dep.loc[d["la_code"], "share_lsoa_decile1"].to_numpy() * 10
        mix = np.log(d["expected"].to_numpy(float) / d["population"].to_numpy(float))
        one = np.ones(len(d))
        specs = {
            "null": (np.column_stack([one]), None),
            cov_name: (np.column_stack([one, score]), cov_unit),
            "LA share of LSOAs in decile 1": (
                np.column_stack([one, share]), "per 10 points of decile-1 share"),
            "deprivation mix (expected rate)": (
                np.column_stack([one, mix]), "per unit log expected rate"),
            f"mix + {cov_name}": (np.column_stack([one, score, mix]), cov_unit),
        }  # fmt: skip
        d0 = None
        for label, (x, term) in specs.items():
            if len(y) <= x.shape[1] or np.linalg.matrix_rank(x) < x.shape[1]:
                continue  # too few LAs for this model
            fit = grouped_glm(x, y, off, None, "quasipoisson")
            dev = float(fit.deviance[0])
            df = len(y) - x.shape[1]
            if d0 is None:
                d0, df0 = dev, df
            b = fit.beta[0, 1] if x.shape[1] > 1 else np.nan
            se = fit.se[0, 1] if x.shape[1] > 1 else np.nan
            excess0 = max(d0 - df0, 1e-12)
            rows.append(
                {
                    "year": int(year), "measure": m, "model": label, "deviance": dev, "df": df,
                    "deviance_explained": 1 - dev / d0 if d0 > 0 else np.nan,
                    "excess_explained": float(np.clip(1 - max(dev - df, 0) / excess0, 0, 1)),
                    "term": term, "estimate": np.exp(b), "lower": np.exp(b - z * se),
                    "upper": np.exp(b + z * se),
                }
            )  # fmt: skip
    out = pd.DataFrame(rows)
    out["method"] = "LA-level quasi-Poisson GLM, log-population offset; deviance explained vs null"
    return out


def rates_by_la_third(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    per: float = 10000,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Region rates by LSOA IMD decile within each LA deprivation third (1 = most deprived LAs).

    Returns
    -------
    pandas.DataFrame
        ``year, measure, la_third, imd_decile, n, population, rate, lower, upper, method``.
    """
    require_las(cube, MIN_LAS["q3_rates_by_la_third"], "LA deprivation thirds")
    lc = lsoa_cells(cube, year, measures)
    thirds = la_deprivation(cube, year).set_index("la_code")["la_third"]
    lc["la_third"] = lc["la_code"].map(thirds)
    g = lc.groupby(["measure", "la_third", "imd_decile"], as_index=False)[
        ["n", "population"]
    ].sum()
    g = g[g["population"] > 0].reset_index(drop=True)
    ci = rate_ci(g["n"], g["population"], confidence, per)
    g["rate"], g["lower"], g["upper"], g["method"] = (
        ci["value"], ci["lower"], ci["upper"], ci["method"],
    )  # fmt: skip
    g.insert(0, "year", int(year))
    return g


def inverse_intervention(
    cube: Cube,
    year: int,
    confidence: float = 0.95,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """The inverse-intervention-law test: LA deprivation effect at equal LSOA deprivation.

    LA effects at equal LSOA decile (:func:`la_effects` with decile factors) are regressed on
    (i) LA deprivation third (third 1 = most deprived LAs vs third 3) and (ii) the LA's
    child-weighted mean IMD score per 10 points, with random-effects weights (DerSimonian-Laird
    tau^2) and Hartung-Knapp t intervals.  A ratio below 1 means children in more deprived LAs
    are *less* likely to be in the system than equally deprived neighbourhoods elsewhere -
    the inverse intervention pattern (Bywaters et al. 2015).

    Returns
    -------
    pandas.DataFrame
        ``year, measure, term, estimate, lower, upper, p_value, tau2, n_la, method``.
    """
    require_las(cube, MIN_LAS["q3_inverse_intervention"], "the inverse-intervention test")
    dep = la_deprivation(cube, year).set_index("la_code")
    eff = la_effects(cube, year, True, measures)
    rows = []
    for m in measures:
        e = eff[eff["measure"] == m]
        if len(e) < MIN_LAS["q3_inverse_intervention"]:
            continue
        th = dep.loc[e["la_code"], "la_third"].to_numpy()
        s, cov_name, cov_unit = la_covariate(dep, e["la_code"])
        theta, v = e["theta"].to_numpy(), e["var"].to_numpy()
        designs = {
            "LA third 1 vs 3 (most vs least deprived LAs)": np.column_stack(
                [np.ones(len(e)), th == 1, th == 2]
            ).astype(float),
            f"{cov_unit} ({cov_name})": np.column_stack([np.ones(len(e)), s - s.mean()]),
        }
        for term, z in designs.items():
            if np.linalg.matrix_rank(z) < z.shape[1]:
                continue
            re = random_effects(theta, v, z, confidence)
            lo, up = re.ci(normalise_confidence(confidence))
            t = re.beta[1] / re.se[1]
            rows.append(
                {
                    "year": int(year), "measure": m, "term": term,
                    "estimate": float(np.exp(re.beta[1])), "lower": float(np.exp(lo[1])),
                    "upper": float(np.exp(up[1])),
                    "p_value": float(2 * stats.t.sf(abs(t), max(re.df, 1))),
                    "tau2": re.tau2, "n_la": len(e),
                }
            )  # fmt: skip
    out = pd.DataFrame(
        rows,
        columns=[
            "year",
            "measure",
            "term",
            "estimate",
            "lower",
            "upper",
            "p_value",
            "tau2",
            "n_la",
        ],
    )
    out["method"] = (
        "Random-effects meta-regression of LA effects at equal LSOA decile on LA deprivation "
        "(DerSimonian-Laird tau2, Hartung-Knapp t interval)"
    )
    return out


def mix_vs_score(between: pd.DataFrame | None) -> pd.DataFrame:
    """Q3's direct answer: does the deprivation mix explain more than the LA's mean score.

    From the deviances of :func:`between_la_explained`: the share of the between-LA deviance
    each one-covariate model explains, and two nested quasi-likelihood F tests on the model with
    both (dispersion = its deviance / residual df): does the mix add to the score, and does the
    score add to the mix? One adding while the other does not says which explains more, and
    that the difference is more than chance.

    Parameters
    ----------
    between : pandas.DataFrame or None
        Output of :func:`between_la_explained` (``None`` when it could not be fitted).

    Returns
    -------
    pandas.DataFrame
        ``year, measure, score_measure (the LA-level deprivation measure: mean IMD score, or
        average rank where the IMD vintage has no scores), mix_explained, score_explained,
        difference, f_mix_beyond_score,
        p_mix_beyond_score, f_score_beyond_mix, p_score_beyond_mix, n_la, method``.

    Raises
    ------
    NotEstimable
        When there are no between-LA models to compare (too few LAs).
    """
    if between is None or between.empty:
        raise NotEstimable(
            "not estimable: the comparison needs the between-LA models (q3_between_la), which "
            "this build could not fit"
        )
    rows = []
    for (year, m), d in between.groupby(["year", "measure"], sort=False):
        by = d.assign(model=d["model"].fillna("null")).set_index("model")
        both = [str(k) for k in by.index if str(k).startswith("mix + ")]
        if not both:
            continue
        score_name = both[0][len("mix + ") :]
        need = ["null", score_name, "deprivation mix (expected rate)", both[0]]
        if not set(need) <= set(by.index):
            continue
        d_mix = float(by.loc["deprivation mix (expected rate)", "deviance"])
        d_score = float(by.loc[score_name, "deviance"])
        d_both = float(by.loc[both[0], "deviance"])
        df_both = int(by.loc[both[0], "df"])
        phi = d_both / df_both if df_both > 0 and d_both > 0 else np.nan
        f_mix = max(d_score - d_both, 0.0) / phi
        f_score = max(d_mix - d_both, 0.0) / phi
        mix_e = float(by.loc["deprivation mix (expected rate)", "deviance_explained"])
        score_e = float(by.loc[score_name, "deviance_explained"])
        rows.append(
            {
                "year": int(year), "measure": m, "score_measure": score_name,
                "mix_explained": mix_e,
                "score_explained": score_e, "difference": mix_e - score_e,
                "f_mix_beyond_score": f_mix,
                "p_mix_beyond_score": float(stats.f.sf(f_mix, 1, df_both)),
                "f_score_beyond_mix": f_score,
                "p_score_beyond_mix": float(stats.f.sf(f_score, 1, df_both)),
                "n_la": int(by.loc["null", "df"]) + 1,
            }
        )  # fmt: skip
    out = pd.DataFrame(rows)
    out["method"] = (
        "Deviance explained vs null (LA-level quasi-Poisson GLMs); nested quasi-likelihood F "
        "tests (1 and n - 3 df) of each covariate added to the other"
    )
    return out
