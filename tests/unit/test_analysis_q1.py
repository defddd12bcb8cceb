"""Q1 clustering: decile rates, gradients and inequality indices on synthetic cubes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic import Truth, synthetic_cube
from cwi.analysis import q1
from cwi.analysis.rates import rate_ci
from cwi.cube import Cube


@pytest.fixture(scope="module")
def cube_truth():
    return synthetic_cube(n_la=8, lsoa_per_la=120, seed=11)


def test_decile_rates_columns_and_completeness(cube_truth):
    cube, _ = cube_truth
    d = q1.decile_rates(cube, 2023)
    assert list(d.columns) == [
        "year", "area_type", "area_code", "area_name", "measure", "imd_decile", "n",
        "population", "rate", "lower", "upper", "method",
    ]  # fmt: skip
    reg = d[d["area_type"] == "region"]
    assert set(reg["area_code"]) == {"REGION"}
    assert set(reg["area_name"]) == {"Synthetic region"}
    assert reg.groupby("measure").size().to_dict() == {"CIN": 10, "CPP": 10, "CLA": 10}
    # region totals equal the cube's counts with a known LSOA
    assert reg["n"].sum() == cube.counts.loc[cube.counts["year"] == 2023, "n"].sum()
    la = d[d["area_type"] == "la"]
    assert set(la["area_code"]) == set(cube.la["la_code"])
    # LA rows add up to the region
    by_la = la.groupby(["measure", "imd_decile"])["n"].sum()
    pd.testing.assert_series_equal(
        by_la.sort_index(), reg.set_index(["measure", "imd_decile"])["n"].sort_index()
    )


def test_decile_rates_keep_zero_count_deciles():
    cube, _ = synthetic_cube(n_la=2, lsoa_per_la=40, seed=3)
    # remove every CLA case in decile 10 of the whole region
    d10 = set(cube.lsoa.loc[cube.lsoa["imd_decile"] == 10, "lsoa_code"])
    keep = ~((cube.counts["measure"] == "CLA") & cube.counts["lsoa_code"].isin(d10))
    cube = Cube(cube.counts[keep], cube.population, cube.population_ethnicity, cube.lsoa, cube.la)
    d = q1.decile_rates(cube, 2023)
    row = d[(d["area_type"] == "region") & (d["measure"] == "CLA") & (d["imd_decile"] == 10)]
    assert len(row) == 1
    assert row["n"].iloc[0] == 0 and row["rate"].iloc[0] == 0 and row["lower"].iloc[0] == 0
    assert row["method"].iloc[0] == "Exact"
    assert row["upper"].iloc[0] == pytest.approx(1e4 * -np.log(0.025) / row["population"].iloc[0])


def test_decile_rates_match_rate_ci_by_hand(cube_truth):
    cube, _ = cube_truth
    d = q1.decile_rates(cube, 2023, confidence=0.99, per=1000)
    r = d.iloc[3]
    ci = rate_ci([r["n"]], [r["population"]], 0.99, 1000).iloc[0]
    assert r["rate"] == pytest.approx(1000 * r["n"] / r["population"])
    assert (r["lower"], r["upper"]) == pytest.approx((ci["lower"], ci["upper"]))


def test_quintile_rates(cube_truth):
    cube, _ = cube_truth
    qd = q1.quintile_rates(cube, 2023)
    dd = q1.decile_rates(cube, 2023)
    reg_q = qd[(qd["area_type"] == "region") & (qd["measure"] == "CIN")].set_index("imd_quintile")
    reg_d = dd[(dd["area_type"] == "region") & (dd["measure"] == "CIN")]
    by_q = reg_d.groupby((reg_d["imd_decile"] + 1) // 2)["n"].sum()
    assert (reg_q["n"] == by_q).all()
    assert sorted(reg_q.index) == [1, 2, 3, 4, 5]


# ---- gradients and indices -----------------------------------------------------------------


def test_extreme_rate_ratio_by_hand(cube_truth):
    cube, _ = cube_truth
    d = q1.decile_rates(cube, 2023)
    rr = q1.extreme_rate_ratios(d)
    reg = d[(d["area_type"] == "region") & (d["measure"] == "CLA")].set_index("imd_decile")
    a, b = reg.loc[1], reg.loc[10]
    est = (a["n"] / a["population"]) / (b["n"] / b["population"])
    se = np.sqrt(1 / a["n"] + 1 / b["n"])  # Rothman (2008): var log RR = 1/a + 1/b
    row = rr[(rr["area_code"] == "REGION") & (rr["measure"] == "CLA")].iloc[0]
    assert row["estimate"] == pytest.approx(est)
    assert row["lower"] == pytest.approx(est * np.exp(-1.959964 * se), rel=1e-6)
    assert row["upper"] == pytest.approx(est * np.exp(1.959964 * se), rel=1e-6)


def test_gradient_glms_match_statsmodels(cube_truth):
    import statsmodels.api as sm

    from cwi.analysis.cells import lsoa_cells

    cube, _ = cube_truth
    cells = lsoa_cells(cube, 2023)
    g = q1.gradient_irr(cells, cube, 2023)
    c = cells[cells["measure"] == "CPP"]
    x = sm.add_constant(c["dep"].to_numpy(float))
    off = np.log(c["population"].to_numpy(float))
    ref = sm.GLM(c["n"].to_numpy(float), x, family=sm.families.Poisson(), offset=off).fit()
    row = g[(g["area_code"] == "REGION") & (g["measure"] == "CPP") & (g["model"] == "poisson")]
    assert row["log_irr"].iloc[0] == pytest.approx(ref.params[1], rel=1e-8)
    assert row["se"].iloc[0] == pytest.approx(ref.bse[1], rel=1e-6)
    nb = g[(g["area_code"] == "REGION") & (g["measure"] == "CPP") & (g["model"] == "negbin")].iloc[
        0
    ]
    ref_nb = sm.GLM(
        c["n"].to_numpy(float),
        x,
        family=sm.families.NegativeBinomial(alpha=nb["alpha"]),
        offset=off,
    ).fit()
    assert nb["log_irr"] == pytest.approx(ref_nb.params[1], rel=1e-6)
    assert nb["se"] == pytest.approx(ref_nb.bse[1], rel=1e-5)
    # within-LA model = Poisson GLM with LA dummies, quasi-Poisson SE
    xd = np.column_stack([c["dep"].to_numpy(float), pd.get_dummies(c["la_code"]).to_numpy(float)])
    ref_fe = sm.GLM(c["n"].to_numpy(float), xd, family=sm.families.Poisson(), offset=off).fit(
        scale="X2"
    )
    w = g[(g["model"] == "within_la") & (g["measure"] == "CPP")].iloc[0]
    assert w["log_irr"] == pytest.approx(ref_fe.params[0], rel=1e-8)
    assert w["se"] == pytest.approx(ref_fe.bse[0], rel=1e-6)


def test_recovery_of_true_per_step_irr(cube_truth):
    from cwi.analysis.cells import lsoa_cells

    cube, _ = cube_truth
    truth = Truth()
    g = q1.gradient_irr(lsoa_cells(cube, 2023), cube, 2023)
    w = g[g["model"] == "within_la"].set_index("measure")
    for m, irr in truth.irr_step.items():
        assert w.loc[m, "lower"] < irr < w.loc[m, "upper"], m


def test_irr_interval_coverage_simulation():
    from benchmarks.simulation import irr_coverage

    res = irr_coverage(n_sims=1000, n_la=6, lsoa_per_la=40, measure="CLA", seed=7)
    assert 0.92 <= res["coverage"] <= 0.98, res
    assert abs(np.log(res["mean_irr"]) - np.log(res["true_irr"])) < 0.005


def test_case_shares_and_concentration_direction(cube_truth):
    cube, _ = cube_truth
    d = q1.decile_rates(cube, 2023)
    sh = q1.case_shares(d)
    reg = sh[(sh["area_code"] == "REGION") & (sh["group"] == "most deprived 10%")]
    assert (reg["ratio"] > 1).all()  # cases over-represented in the most deprived 10%
    r = d[(d["area_type"] == "region") & (d["measure"] == "CIN")]
    row = reg[reg["measure"] == "CIN"].iloc[0]
    assert row["estimate"] == pytest.approx(r.loc[r["imd_decile"] == 1, "n"].sum() / r["n"].sum())
    ci = q1.concentration_indices(d)
    assert (ci.loc[ci["area_code"] == "REGION", "upper"] < 0).all()


def test_sii_rii_sign_convention(cube_truth):
    cube, _ = cube_truth
    d = q1.decile_rates(cube, 2023)
    s = q1.sii_rii(d, repetitions=2000)
    reg = s[s["area_code"] == "REGION"]
    assert (reg.loc[reg["index"] == "SII", "lower"] > 0).all()
    assert (reg.loc[reg["index"] == "RII", "lower"] > 1).all()
    # flat rates -> SII ~ 0, RII ~ 1
    flat = d[d["area_type"] == "region"].copy()
    flat["n"] = (flat["population"] * 0.01).round()
    flat["rate"] = 1e4 * flat["n"] / flat["population"]
    f = q1.sii_rii(flat, repetitions=2000)
    rii = f[f["index"] == "RII"]["estimate"]
    assert np.allclose(rii, 1.0, atol=0.01)


def test_gradient_skips_areas_without_cases_or_spread():
    cube, _ = synthetic_cube(n_la=3, lsoa_per_la=40, seed=4)
    la0 = cube.la["la_code"].iloc[0]
    counts = cube.counts[~((cube.counts["la_code"] == la0) & (cube.counts["measure"] == "CLA"))]
    # LA 1 has one decile only
    la1 = cube.la["la_code"].iloc[1]
    lsoa = cube.lsoa.copy()
    lsoa.loc[lsoa["la_code"] == la1, "imd_decile"] = 4
    cube2 = Cube(counts, cube.population, cube.population_ethnicity, lsoa, cube.la)
    from cwi.analysis.cells import lsoa_cells

    g = q1.gradient_irr(lsoa_cells(cube2, 2023), cube2, 2023)
    assert not ((g["area_code"] == la0) & (g["measure"] == "CLA")).any()
    assert not (g["area_code"] == la1).any()
    assert np.isfinite(g[["estimate", "lower", "upper"]]).all(axis=None)
