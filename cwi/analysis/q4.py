"""Q4 outcomes compared: is the deprivation gradient steeper for CLA than for CPP and CIN.

* :func:`outcome_gradients` gathers, per measure, the region's IRR per decile step (within-LA
  and negative binomial), RII, concentration index and deviance explained by IMD decile.
* :func:`gradient_difference` tests whether the gradients differ: a stacked Poisson GLM on
  LA x decile x measure cells with a measure x deprivation-step interaction (quasi-likelihood
  F test), and the ratio of per-step IRRs between measures with (a) Wald intervals from the
  stacked model and (b) a bootstrap over LAs (resampling whole LAs keeps the dependence
  between measures - the same children can be CIN, CPP and CLA - and between neighbourhoods
  of one LA).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cwi.analysis.cells import REGION_CODE
from cwi.analysis.models import grouped_glm
from cwi.analysis.rates import normalise_confidence
from cwi.schemas import MEASURES

__all__ = ["outcome_gradients", "gradient_difference"]


def outcome_gradients(
    gradients: pd.DataFrame, sii: pd.DataFrame, conc: pd.DataFrame, cells: pd.DataFrame
) -> pd.DataFrame:
    """One tidy frame of the region's deprivation effect per outcome.

    Parameters
    ----------
    gradients : pandas.DataFrame
        :func:`cwi.analysis.q1.gradient_irr`.
    sii : pandas.DataFrame
        :func:`cwi.analysis.q1.sii_rii`.
    conc : pandas.DataFrame
        :func:`cwi.analysis.q1.concentration_indices`.
    cells : pandas.DataFrame
        :func:`cwi.analysis.cells.lsoa_cells` (for the deviance explained by IMD decile).

    Returns
    -------
    pandas.DataFrame
        ``measure, statistic, estimate, lower, upper, method``; statistics are
        ``IRR per step (within LA)``, ``IRR per step (negative binomial)``, ``RII``, ``SII``,
        ``concentration index`` and ``deviance explained by decile`` (no interval).
    """
    rows = []
    reg = gradients[gradients["area_code"] == REGION_CODE]
    for model, label in (("within_la", "IRR per step (within LA)"),
                         ("negbin", "IRR per step (negative binomial)")):  # fmt: skip
        g = reg[reg["model"] == model]
        rows.append(
            g.assign(statistic=label)[
                ["measure", "statistic", "estimate", "lower", "upper", "method"]
            ]
        )
    s = sii[sii["area_code"] == REGION_CODE]
    rows.append(
        s.assign(statistic=s["index"])[
            ["measure", "statistic", "estimate", "lower", "upper", "method"]
        ]
    )
    c = conc[conc["area_code"] == REGION_CODE]
    rows.append(
        c.assign(statistic="concentration index")[
            ["measure", "statistic", "estimate", "lower", "upper", "method"]
        ]
    )
    dev = []
    for m, d in cells[cells["population"] > 0].groupby("measure"):
        x = np.column_stack(
            [np.ones(len(d))] + [(d["imd_decile"] == k).to_numpy(float) for k in range(1, 10)]
        )
        keep = x.any(axis=0)
        fit = grouped_glm(x[:, keep], d["n"].to_numpy(float), np.log(d["population"]).to_numpy())
        dev.append({"measure": m, "statistic": "deviance explained by decile",
                    "estimate": float(1 - fit.deviance[0] / fit.null_deviance[0]),
                    "lower": np.nan, "upper": np.nan,
                    "method": "1 - D(decile factors)/D(null), Poisson GLM on LSOA cells"})  # fmt: skip
    rows.append(pd.DataFrame(dev))
    out = pd.concat(rows, ignore_index=True)
    order = {m: i for i, m in enumerate(MEASURES)}
    return out.sort_values(["measure"], key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True
    )


def gradient_difference(
    cells: pd.DataFrame,
    confidence: float = 0.95,
    n_boot: int = 500,
    seed: int = 4,
    measures: tuple[str, ...] | list[str] = MEASURES,
) -> pd.DataFrame:
    """Formal comparison of the per-step deprivation gradients of the outcomes.

    Parameters
    ----------
    cells : pandas.DataFrame
        :func:`cwi.analysis.cells.lsoa_cells`.
    confidence : float
        Confidence level.
    n_boot : int
        Bootstrap replicates (resampling LAs).
    seed : int
        Random seed of the bootstrap.
    measures : sequence of str
        Measures compared.

    Returns
    -------
    pandas.DataFrame
        ``comparison, estimate, lower, upper, p_value, statistic, df, method``: one row for the
        global interaction test (estimate = F statistic), and per pair (CLA vs CPP, CLA vs CIN,
        CPP vs CIN) the ratio of per-step IRRs with stacked-model Wald and LA-bootstrap
        intervals.
    """
    c = cells[(cells["population"] > 0) & cells["measure"].isin(measures)]
    ms = [m for m in measures if m in set(c["measure"])]
    agg = c.groupby(["la_code", "imd_decile", "measure"], as_index=False)[
        ["n", "population"]
    ].sum()
    agg["dep"] = 10 - agg["imd_decile"]
    z = stats.norm.ppf(0.5 + normalise_confidence(confidence) / 2)
    # stacked model: separate intercept and slope per measure = one group per measure
    gidx = agg["measure"].map({m: i for i, m in enumerate(ms)}).to_numpy()
    x = np.column_stack([np.ones(len(agg)), agg["dep"].to_numpy(float)])
    y = agg["n"].to_numpy(float)
    off = np.log(agg["population"].to_numpy(float))
    fit = grouped_glm(x, y, off, gidx, "poisson")
    # LSOA-level Pearson dispersion of the stacked model
    lk = c.assign(g=c["measure"].map({m: i for i, m in enumerate(ms)}).to_numpy())
    eta = fit.beta[lk["g"], 0] + fit.beta[lk["g"], 1] * lk["dep"].to_numpy(float)
    mu = lk["population"].to_numpy(float) * np.exp(eta)
    phi = max(1.0, float(np.sum((lk["n"].to_numpy() - mu) ** 2 / mu)) / (len(lk) - 2 * len(ms)))
    slope = fit.beta[:, 1]
    var = fit.cov[:, 1, 1] * phi
    # global test: common slope vs separate slopes (df = k - 1), F form
    xc = np.column_stack([np.eye(len(ms))[gidx], agg["dep"].to_numpy(float)])
    xc[:, 0] = 1.0
    common = grouped_glm(xc, y, off, None, "poisson")
    ddev = float(common.deviance[0] - fit.deviance.sum())
    df = len(ms) - 1
    f = ddev / df / phi
    rows = [{"comparison": "all outcomes: common gradient", "estimate": f, "lower": np.nan,
             "upper": np.nan, "p_value": float(stats.f.sf(f, df, len(lk) - 2 * len(ms))),
             "statistic": "F", "df": df,
             "method": "Stacked Poisson GLM, outcome x deprivation-step interaction, "
                       "quasi-likelihood F test (LSOA-level dispersion)"}]  # fmt: skip
    # bootstrap over LAs
    rng = np.random.default_rng(seed)
    las = agg["la_code"].unique()
    la_idx = agg["la_code"].map({a: i for i, a in enumerate(las)}).to_numpy()
    draws = rng.integers(0, len(las), size=(n_boot, len(las)))
    weight = np.stack([np.bincount(d, minlength=len(las)) for d in draws])  # (B, L)
    boot_rows = []
    # aggregate bootstrap replicate cells: replicate x measure x decile
    for b in range(n_boot):
        w = weight[b][la_idx]
        boot_rows.append(pd.DataFrame({"b": b, "g": gidx, "dep": agg["dep"].to_numpy(),
                                       "n": y * w, "pop": agg["population"].to_numpy() * w}))  # fmt: skip
    bd = pd.concat(boot_rows).groupby(["b", "g", "dep"], as_index=False)[["n", "pop"]].sum()
    bd = bd[bd["pop"] > 0]
    grp = (bd["b"] * len(ms) + bd["g"]).to_numpy()
    bfit = grouped_glm(
        np.column_stack([np.ones(len(bd)), bd["dep"].to_numpy(float)]),
        bd["n"].to_numpy(float), np.log(bd["pop"].to_numpy(float)), grp,
    )  # fmt: skip
    bs = bfit.beta[:, 1].reshape(n_boot, len(ms))
    a = 1 - normalise_confidence(confidence)
    for i, j in ((2, 1), (2, 0), (1, 0)):
        if max(i, j) >= len(ms):
            continue
        d = slope[i] - slope[j]
        se = np.sqrt(var[i] + var[j])
        lo_b, up_b = np.quantile(bs[:, i] - bs[:, j], [a / 2, 1 - a / 2])
        base = {"comparison": f"{ms[i]} vs {ms[j]}: ratio of IRR per step", "estimate": np.exp(d),
                "statistic": "ratio of IRRs", "df": 1}  # fmt: skip
        rows.append({**base, "lower": np.exp(d - z * se), "upper": np.exp(d + z * se),
                     "p_value": float(2 * stats.norm.sf(abs(d / se))),
                     "method": "Stacked Poisson GLM, Wald interval, quasi-Poisson SE "
                               "(treats outcomes as independent)"})  # fmt: skip
        rows.append({**base, "lower": np.exp(lo_b), "upper": np.exp(up_b),
                     "p_value": float(min(1.0, 2 * min(np.mean(bs[:, i] - bs[:, j] <= 0),
                                                        np.mean(bs[:, i] - bs[:, j] >= 0)))),
                     "method": f"Bootstrap over LAs ({n_boot} replicates), percentile interval"})  # fmt: skip
    return pd.DataFrame(rows)
