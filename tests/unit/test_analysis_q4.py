"""Q4 outcomes compared, England comparison, allocation and verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic import Truth, synthetic_cube
from cwi.analysis import allocation, england, q1, q3, q4, verdicts
from cwi.analysis.cells import lsoa_cells


@pytest.fixture(scope="module")
def cube_truth():
    return synthetic_cube(n_la=12, lsoa_per_la=100, seed=8)


def test_gradient_difference_detects_steeper_cla(cube_truth):
    cube, _ = cube_truth
    d = q4.gradient_difference(lsoa_cells(cube, 2023), n_boot=300)
    glob = d[d["statistic"] == "F"].iloc[0]
    assert glob["p_value"] < 0.01
    t = Truth()
    true = t.irr_step["CLA"] / t.irr_step["CIN"]
    boot = d[
        d["comparison"].str.startswith("CLA vs CIN") & d["method"].str.startswith("Bootstrap")
    ]
    assert boot["lower"].iloc[0] > 1
    assert boot["lower"].iloc[0] < true < boot["upper"].iloc[0]


def test_gradient_difference_equal_gradients_not_significant():
    t = Truth(irr_step={"CIN": 1.15, "CPP": 1.15, "CLA": 1.15})
    cube, _ = synthetic_cube(n_la=8, lsoa_per_la=80, seed=2, truth=t)
    d = q4.gradient_difference(lsoa_cells(cube, 2023), n_boot=200)
    assert d[d["statistic"] == "F"]["p_value"].iloc[0] > 0.01


def test_outcome_gradients_table(cube_truth):
    cube, _ = cube_truth
    cells = lsoa_cells(cube, 2023)
    dr = q1.decile_rates(cube, 2023)
    out = q4.outcome_gradients(
        q1.gradient_irr(cells, cube, 2023), q1.sii_rii(dr, repetitions=1000),
        q1.concentration_indices(dr), cells,
    )  # fmt: skip
    assert list(out["measure"].unique()) == ["CIN", "CPP", "CLA"]
    assert out.groupby("measure").size().eq(6).all()
    dev = out[out["statistic"] == "deviance explained by decile"]["estimate"]
    assert ((dev > 0) & (dev < 1)).all()


def _dfe(cube):
    rows = []
    for m, rate in (("CIN", 330.0), ("CPP", 42.0), ("CLA", 70.0)):
        rows.append({"year": 2023, "la_code": "E92000001", "la_name": "England", "measure": m,
                     "number": rate * 12_000_000 / 1e4, "population": 12_000_000,
                     "rate_per_10000": rate})  # fmt: skip
        la = cube.la["la_code"].iloc[0]
        rows.append({"year": 2023, "la_code": la, "la_name": "x", "measure": m, "number": 100,
                     "population": 20000, "rate_per_10000": 50.0})  # fmt: skip
    return pd.DataFrame(rows)


def test_compare_with_england(cube_truth):
    cube, _ = cube_truth
    e = england.compare_with_england(cube, _dfe(cube), [2023])
    assert set(e["area_type"]) == {"region", "la"}
    row = e[(e["area_code"] == "REGION") & (e["measure"] == "CLA")].iloc[0]
    assert row["estimate"] == pytest.approx(row["rate"] / 70.0)
    assert row["lower"] < row["estimate"] < row["upper"]
    la = e[(e["area_code"] == cube.la["la_code"].iloc[0]) & (e["measure"] == "CIN")].iloc[0]
    assert la["dfe_rate"] == 50.0
    assert england.compare_with_england(cube, None, [2023]).empty


def test_england_rate_from_la_rows_when_no_england_row():
    d = pd.DataFrame({"year": [2023, 2023], "la_code": ["E06000001", "E08000001"],
                      "la_name": ["a", "b"], "measure": ["CLA", "CLA"], "number": [10, 30],
                      "population": [1000, 3000], "rate_per_10000": [100.0, 100.0]})  # fmt: skip
    r = england.england_rates(d)
    assert r["rate_per_10000"].iloc[0] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="lacks columns"):
        england.england_rates(d.drop(columns="number"))


def test_allocation_and_budget(cube_truth):
    cube, _ = cube_truth
    shares = allocation.need_shares(q3.standardised_ratios(cube, 2023))
    for col in ("share_need", "share_population", "share_caseload"):
        assert shares.groupby("measure")[col].sum().to_numpy() == pytest.approx(np.ones(3))
    cla = shares[shares["measure"] == "CLA"]
    b = allocation.split_budget(1_000_000, cla, by="need")
    assert b["amount"].sum() == pytest.approx(1_000_000)
    assert b["difference_vs_population"].sum() == pytest.approx(0, abs=1e-6)
    # LAs with more deprived children get more by need than by headcount
    j = b.merge(cla[["la_code", "need_vs_population"]], on="la_code")
    assert (np.sign(j["difference_vs_population"]) == np.sign(j["need_vs_population"])).all()
    with pytest.raises(ValueError, match="basis"):
        allocation.split_budget(1, cla, by="votes")


def test_verdict_direction():
    assert verdicts.direction(1.1, 1.3) == "up"
    assert verdicts.direction(0.7, 0.9) == "down"
    assert verdicts.direction(0.9, 1.1) == "unclear"
    g = pd.DataFrame({"area_code": ["REGION"], "model": ["within_la"], "measure": ["CLA"],
                      "estimate": [0.8], "lower": [0.7], "upper": [0.9], "method": ["m"]})  # fmt: skip
    v = verdicts.verdicts({"q1_gradient": g})
    assert v["direction"].iloc[0] == "down"
    assert "fall" in v["verdict"].iloc[0]
    g.loc[0, ["estimate", "lower", "upper"]] = [1.2, 1.1, 1.3]
    assert "rise" in verdicts.verdicts({"q1_gradient": g})["verdict"].iloc[0]
