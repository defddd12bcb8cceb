"""SII/RII (Low & Low 2004, PHEindicatormethods phe_sii) and the concentration index.

SII/RII are checked against the PHEindicatormethods test vectors (sii_testdata.csv,
sii_test_cases.csv) with the package's own tolerance (5%, column-averaged) and point estimates
to 1e-10.  The concentration index is checked against the grouped-data formula of Kakwani,
Wagstaff & van Doorslaer (1997) computed by hand and the child-level covariance form.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cwi.analysis.inequality import concentration_index, phe_sii
from tests.phe_vectors import VECTORS, needs_vectors


def _cases():
    if not VECTORS.is_dir():
        return []
    c = pd.read_csv(VECTORS / "sii_test_cases.csv")
    return [row for _, row in c.iterrows() if isinstance(row["expected_rows"], str)]


@needs_vectors
@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["test_info"][:40])
def test_phe_sii_vectors(case):
    d = pd.read_csv(VECTORS / "sii_testdata.csv")
    a, b = map(int, case["input_rows"].split("-"))
    rows = d.iloc[a - 1 : b]
    conf = [float(v) for v in str(case["confidence"]).split(";")]
    cols = case["expected_cols"].split(" ")[0].split(";")
    got = []
    for _, g in rows.groupby(["Area", "Grouping1", "Grouping2"], sort=False):
        kw = (
            {"se": g["StandardError"]}
            if "se=" in case["dispersion_input"]
            else {"lower_cl": g["LowerCL"], "upper_cl": g["UpperCL"]}
        )
        res = phe_sii(
            g["Quantile"], g["Population"], g["Value"],
            value_type=int(case["value_type"]), transform=bool(case["transform"]),
            multiplier=float(case["multiplier"]), confidence=conf if len(conf) > 1 else conf[0],
            repetitions=int(case["repetitions"]), rii=bool(case["rii"]),
            rng=np.random.default_rng(5), **kw,
        )  # fmt: skip
        got.append(res)
    got = pd.DataFrame(got).rename(columns={"intercept": "Intercept"})
    exp = d.iloc[[int(r) - 1 for r in case["expected_rows"].split(";")]].reset_index(drop=True)
    for col in cols:
        x, y = got[col].to_numpy(float), exp[col].to_numpy(float)
        # waldo rule with tolerance 0.05: mean |x - y| / mean |y|
        assert np.mean(np.abs(x - y)) / np.mean(np.abs(y)) < 0.05, col
        if col in ("sii", "rii", "Intercept"):  # deterministic: reproduced exactly
            np.testing.assert_allclose(x, y, rtol=1e-10)


def test_sii_by_hand_linear_gradient():
    # values exactly linear in the mid-point rank: y = 10 - 4 b, so beta1 = -4 and with
    # multiplier -1 SII = +4 (most deprived end higher), RII = 10 / 6
    pop = np.array([100.0, 300.0, 200.0, 400.0])
    a = pop / pop.sum()
    b = np.cumsum(a) - a / 2
    y = 10 - 4 * b
    r = phe_sii([1, 2, 3, 4], pop, y, se=np.full(4, 0.01), multiplier=-1, repetitions=2000)
    assert r["sii"] == pytest.approx(4.0)
    assert r["rii"] == pytest.approx(10 / 6)
    assert r["sii_lowercl_1"] < 4.0 < r["sii_uppercl_1"]


def test_concentration_index_by_hand():
    pop = np.array([1000.0, 1500.0, 2500.0])
    cases = np.array([60.0, 45.0, 25.0])
    n, mu = pop.sum(), cases.sum() / pop.sum()
    f, mt = pop / n, cases / pop
    r = np.cumsum(f) - f / 2
    c = 2 / mu * np.sum(f * mt * r) - 1
    # Kakwani et al. (1997) grouped variance, written out term by term
    q = np.cumsum(mt * f) / mu
    qp = np.r_[0, q[:-1]]
    at = mt / mu * (2 * r - 1 - c) + 2 - qp - q
    var = (np.sum(f * at**2) - (1 + c) ** 2) / n + np.sum(
        f * mt * (1 - mt) * (2 * r - 1 - c) ** 2
    ) / (n * mu**2)
    got = concentration_index(pop, cases)
    assert got["estimate"] == pytest.approx(c, rel=1e-12)
    assert got["se"] == pytest.approx(np.sqrt(var), rel=1e-12)
    assert got["estimate"] < 0  # cases concentrated in the first (most deprived) group
    # child-level covariance form: C = 2 cov(h, R) / mean(h) with fractional rank R
    h = np.concatenate(
        [np.r_[np.ones(int(k)), np.zeros(int(p - k))] for k, p in zip(cases, pop, strict=True)]
    )
    rank = np.repeat(r, pop.astype(int))
    assert 2 * np.cov(h, rank, bias=True)[0, 1] / h.mean() == pytest.approx(c, rel=1e-10)


def test_concentration_index_equal_rates_is_zero():
    got = concentration_index([100, 200, 300], [10, 20, 30])
    assert got["estimate"] == pytest.approx(0.0, abs=1e-12)
    assert got["lower"] < 0 < got["upper"]
