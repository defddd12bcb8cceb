"""Q2 identity: adjusted rate ratios, ethnic ratios, interactions, gender gap, disability."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from benchmarks.synthetic import Truth, synthetic_cube
from cwi.analysis import q2
from cwi.cube import Cube


@pytest.fixture(scope="module")
def cube_truth():
    return synthetic_cube(n_la=10, lsoa_per_la=120, seed=21)


def test_ethnic_adjusted_ratios_recover_truth(cube_truth):
    cube, _ = cube_truth
    t = Truth()
    e = q2.ethnic_rate_ratios(cube, 2023)
    cin = e[e["measure"] == "CIN"].set_index("ethnic_group")
    for g, rr in t.eth_rr.items():
        if g == "White":
            continue
        assert cin.loc[g, "lower"] < rr < cin.loc[g, "upper"], g
    # minorities live in more deprived areas here, so adjustment pulls the Mixed ratio down
    assert cin.loc["Mixed", "estimate"] < cin.loc["Mixed", "unadjusted"]


def test_unadjusted_ethnic_ratio_is_crude_rate_ratio(cube_truth):
    cube, _ = cube_truth
    e = q2.ethnic_rate_ratios(cube, 2023)
    r = q2.identity_rates(cube, 2023, "ethnic_group")
    reg = r[(r["area_type"] == "region") & (r["measure"] == "CPP")].set_index("ethnic_group")
    crude = reg.loc["Asian", "rate"] / reg.loc["White", "rate"]
    row = e[(e["measure"] == "CPP") & (e["ethnic_group"] == "Asian")].iloc[0]
    assert row["unadjusted"] == pytest.approx(crude, rel=1e-8)


def test_adjusted_age_sex_ratios(cube_truth):
    cube, _ = cube_truth
    a = q2.adjusted_rate_ratios(cube, 2023)
    sex = a[
        (a["dimension"] == "sex")
        & (a["measure"] == "CIN")
        & a["adjustment"].str.startswith("adjusted")
    ]
    assert sex["lower"].iloc[0] < Truth().sex_rr["F"] < sex["upper"].iloc[0]
    under1 = a[
        (a["group"] == "Under 1")
        & (a["measure"] == "CIN")
        & a["adjustment"].str.startswith("adjusted")
    ]
    assert under1["lower"].iloc[0] < 1.4 < under1["upper"].iloc[0]


def test_interaction_tests_no_false_alarm_and_detect_real_one(cube_truth):
    cube, _ = cube_truth
    tests, grads = q2.interaction_tests(cube, 2023)
    assert set(tests["dimension"]) == {"age_band", "sex", "ethnic_group"}
    assert ((tests["p_value"] >= 0) & (tests["p_value"] <= 1)).all()
    assert len(grads) > 0 and (grads["lower"] < grads["estimate"]).all()
    # make girls' CIN rates flat across deciles: the sex x deprivation test must fire
    c = cube.counts.copy()
    lsoa = cube.lsoa.set_index("lsoa_code")["imd_decile"]
    dep = 10 - c["lsoa_code"].map(lsoa)
    girls = (c["sex"] == "F") & (c["measure"] == "CIN")
    rng = np.random.default_rng(0)
    c.loc[girls, "n"] = rng.binomial(
        c.loc[girls, "n"].to_numpy(), (1.12 ** -dep[girls]).to_numpy()
    )
    c = c[c["n"] > 0]
    cube2 = Cube(c, cube.population, cube.population_ethnicity, cube.lsoa, cube.la)
    t2, _ = q2.interaction_tests(cube2, 2023, measures=["CIN"])
    assert t2.set_index("dimension").loc["sex", "p_value"] < 0.001


def test_gender_gap_by_hand(cube_truth):
    cube, _ = cube_truth
    g = q2.gender_gap_by_decile(cube, 2023)
    row = g[(g["measure"] == "CLA") & (g["imd_decile"] == 5)].iloc[0]
    ratio = row["rate_m"] / row["rate_f"]
    assert row["estimate"] == pytest.approx(ratio)
    assert row["difference"] == pytest.approx(row["rate_m"] - row["rate_f"])
    assert row["lower"] < ratio < row["upper"]


def test_disability_shares(cube_truth):
    cube, _ = cube_truth
    d = q2.disability_by_decile(cube, 2023)
    assert len(d) == 10
    pooled = d["disabled"].sum() / d["recorded"].sum()
    assert abs(pooled - Truth().disabled_share) < 3 * np.sqrt(0.12 * 0.88 / d["recorded"].sum())
    z = stats.norm.ppf(0.975)
    x, n = d["disabled"].iloc[0], d["recorded"].iloc[0]
    lo = (2 * x + z**2 - z * np.sqrt(z**2 + 4 * x * (1 - x / n))) / (2 * (n + z**2))
    assert d["lower"].iloc[0] == pytest.approx(lo)


def test_no_ethnic_denominators_gives_empty_frame(cube_truth):
    cube, _ = cube_truth
    empty = cube.population_ethnicity.iloc[0:0]
    cube2 = Cube(cube.counts, cube.population, empty, cube.lsoa, cube.la)
    assert q2.ethnic_rate_ratios(cube2, 2023).empty
