"""Q1 clustering: decile rates, gradients and inequality indices on synthetic cubes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cwi.analysis import q1
from cwi.analysis.rates import rate_ci
from cwi.analysis.synthetic import Truth, synthetic_cube
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
