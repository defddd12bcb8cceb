"""Q3: indirect standardisation, funnel limits, multilevel variance, inverse intervention."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmarks.synthetic import Truth, synthetic_cube
from cwi.analysis import funnels, q3
from cwi.analysis.cells import la_deprivation
from cwi.analysis.rates import poisson_funnel_mu


@pytest.fixture(scope="module")
def cube_truth():
    return synthetic_cube(n_la=15, lsoa_per_la=100, seed=5)


def test_standardised_ratio_by_hand(cube_truth):
    cube, _ = cube_truth
    sr = q3.standardised_ratios(cube, 2023)
    # expected = sum over decile x age x sex of regional rate x LA population
    pop = cube.population.merge(cube.lsoa[["lsoa_code", "imd_decile"]], on="lsoa_code")
    cnt = cube.counts[cube.counts["measure"] == "CLA"].merge(
        cube.lsoa[["lsoa_code", "imd_decile"]], on="lsoa_code"
    )
    keys = ["imd_decile", "age_band", "sex"]
    ref = cnt.groupby(keys)["n"].sum() / pop.groupby(keys)["population"].sum()
    la = cube.la["la_code"].iloc[3]
    p = pop[pop["la_code"] == la].groupby(keys)["population"].sum()
    e = float((ref.reindex(p.index).fillna(0) * p).sum())
    o = float(cnt.loc[cnt["la_code"] == la, "n"].sum())
    row = sr[(sr["la_code"] == la) & (sr["measure"] == "CLA")].iloc[0]
    assert row["expected"] == pytest.approx(e)
    assert row["observed"] == o
    z = stats.norm.ppf(0.975)  # Byar's limits on O, divided by E
    lo = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3 / e
    assert row["lower"] == pytest.approx(lo)
    # the expected counts add up to the observed region total
    tot = sr[sr["measure"] == "CLA"]
    assert tot["expected"].sum() == pytest.approx(tot["observed"].sum())


def test_ratio_limits_at_agree_with_phe_bisection():
    # at E = mu_high(O), the lower 2 SD limit is O/E (PHEindicatormethods ratio funnel)
    for o in (5.0, 40.0, 300.0):
        e = poisson_funnel_mu(o, 0.025, "high")
        lim = funnels.ratio_limits_at(np.array([e]))
        assert lim["lower_2sd"].iloc[0] == pytest.approx(o / e, rel=1e-4)
        e_up = poisson_funnel_mu(o, 0.001, "low")
        lim = funnels.ratio_limits_at(np.array([e_up]))
        assert lim["upper_3sd"].iloc[0] == pytest.approx(o / e_up, rel=1e-4)


def test_funnel_limits_narrow_with_size():
    lim = funnels.ratio_limits_at(np.array([10.0, 100.0, 1000.0]))
    w = lim["upper_3sd"] - lim["lower_3sd"]
    assert w.is_monotonic_decreasing
    assert (lim["lower_3sd"] < lim["lower_2sd"]).all() and (
        lim["upper_2sd"] < lim["upper_3sd"]
    ).all()


def test_la_effects_ipf_equals_poisson_glm(cube_truth):
    import statsmodels.api as sm

    from cwi.analysis.cells import lsoa_cells

    cube, _ = cube_truth
    e = q3.la_effects(cube, 2023, True, ["CPP"])
    c = (
        lsoa_cells(cube, 2023, ["CPP"])
        .groupby(["la_code", "imd_decile"], as_index=False)[["n", "population"]]
        .sum()
    )
    x = np.column_stack(
        [pd.get_dummies(c["la_code"]).to_numpy(float),
         pd.get_dummies(c["imd_decile"]).to_numpy(float)[:, 1:]]
    )  # fmt: skip
    ref = sm.GLM(c["n"], x, family=sm.families.Poisson(), offset=np.log(c["population"])).fit()
    n_la = c["la_code"].nunique()
    # LA intercepts at the reference decile (decile 1 = first level in both)
    np.testing.assert_allclose(e["theta"].to_numpy(), ref.params[:n_la], rtol=1e-6, atol=1e-8)


def test_inverse_intervention_recovers_truth(cube_truth):
    cube, la_truth = cube_truth
    t = Truth()
    inv = q3.inverse_intervention(cube, 2023)
    cont = inv[inv["term"].str.startswith("per 10")].set_index("measure")
    for m in ("CIN", "CPP", "CLA"):
        assert cont.loc[m, "lower"] < t.la_factor < cont.loc[m, "upper"], m
        assert cont.loc[m, "estimate"] < 1
    # the third contrast: the realised truth is the mean LA effect difference
    dep = la_deprivation(cube, 2023).merge(la_truth[["la_code", "la_effect"]], on="la_code")
    true_rr = np.exp(
        dep.loc[dep["la_third"] == 1, "la_effect"].mean()
        - dep.loc[dep["la_third"] == 3, "la_effect"].mean()
    )
    third = inv[inv["term"].str.startswith("LA third")].set_index("measure")
    for m in ("CIN", "CLA"):
        assert third.loc[m, "lower"] < true_rr < third.loc[m, "upper"], m


def test_multilevel_variance_shrinks_with_la_deprivation(cube_truth):
    cube, _ = cube_truth
    mv = q3.multilevel_variance(cube, 2023)
    cin = mv[mv["measure"] == "CIN"].set_index("model")
    assert (
        cin.loc["+ LSOA decile + LA mean IMD score", "tau2"]
        < cin.loc["+ LSOA deprivation decile", "tau2"]
    )
    assert (mv["estimate"] >= 1).all()
    assert (mv["tau2_lower"] <= mv["tau2"] + 1e-12).all() and (
        mv["tau2"] <= mv["tau2_upper"] + 1e-12
    ).all()


def test_between_la_explained(cube_truth):
    cube, _ = cube_truth
    b = q3.between_la_explained(cube, 2023)
    assert set(b["model"]) >= {"null", "LA mean IMD score", "deprivation mix (expected rate)"}
    assert (b.loc[b["model"] == "null", "deviance_explained"] == 0).all()
    both = b[b["model"] == "mix + LA mean IMD score"].set_index("measure")["deviance"]
    mix = b[b["model"] == "deprivation mix (expected rate)"].set_index("measure")["deviance"]
    assert (both <= mix + 1e-9).all()  # nested models: deviance cannot rise


def test_rates_by_la_third(cube_truth):
    cube, _ = cube_truth
    r = q3.rates_by_la_third(cube, 2023)
    assert set(r["la_third"]) == {1, 2, 3}
    assert r["n"].sum() == cube.counts["n"].sum()


def test_mix_vs_score_says_which_explains_more():
    from cwi.analysis.q3 import mix_vs_score

    def rows(m, null, score, mix, both):
        return [
            {"year": 2023, "measure": m, "model": "null", "deviance": null, "df": 14,
             "deviance_explained": 0.0},
            {"year": 2023, "measure": m, "model": "LA mean IMD score", "deviance": score,
             "df": 13, "deviance_explained": 1 - score / null},
            {"year": 2023, "measure": m, "model": "deprivation mix (expected rate)",
             "deviance": mix, "df": 13, "deviance_explained": 1 - mix / null},
            {"year": 2023, "measure": m, "model": "mix + LA mean IMD score", "deviance": both,
             "df": 12, "deviance_explained": 1 - both / null},
        ]  # fmt: skip

    between = pd.DataFrame(rows("CLA", 968, 232, 127, 121) + rows("CPP", 561, 266, 126, 40))
    out = mix_vs_score(between).set_index("measure")
    cla, cpp = out.loc["CLA"], out.loc["CPP"]
    assert cla["mix_explained"] > cla["score_explained"]
    assert cla["p_mix_beyond_score"] < 0.05 < cla["p_score_beyond_mix"]  # the mix wins
    assert cpp["p_mix_beyond_score"] < 0.05 and cpp["p_score_beyond_mix"] < 0.05  # both add
    assert cla["n_la"] == 15
