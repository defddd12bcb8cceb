"""Rates, proportions, standardised ratios and funnels against PHEindicatormethods test vectors.

The vectors are in ../shared/reference/phe_test_vectors (README there: tolerance rules).  The
formulas: exact Poisson limits (Armitage, Berry & Matthews 2002), Byar's approximation (Breslow &
Day 1987, p. 69), Wilson score limits (Wilson 1927; Newcombe 1998), indirect standardisation and
Poisson funnels (Spiegelhalter 2005) as restated in that README.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cwi.analysis import rates
from tests.phe_vectors import needs_vectors, read_vector, waldo_close

# ---- hand-computed values ------------------------------------------------------------------


def test_byars_by_hand():
    # Breslow & Day (1987): L = O(1 - 1/(9O) - z/(3 sqrt O))^3, U = (O+1)(1 - 1/(9(O+1)) + z/(3 sqrt(O+1)))^3
    o, z = 20.0, stats.norm.ppf(0.975)
    lo = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
    up = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
    assert rates.byars_lower([o])[0] == pytest.approx(lo, rel=1e-14)
    assert rates.byars_upper([o])[0] == pytest.approx(up, rel=1e-14)
    assert lo == pytest.approx(12.2114288, rel=1e-7)  # phe_rate row 3 (x 100 / 100)


def test_exact_poisson_by_hand():
    # O = 3: L = chi2_0.025(6)/2 = 0.6186721, U = chi2_0.975(8)/2 = 8.767273 (standard tables)
    assert rates.exact_lower([3])[0] == pytest.approx(0.6186721, rel=1e-6)
    assert rates.exact_upper([3])[0] == pytest.approx(8.767273, rel=1e-6)
    assert rates.exact_lower([0])[0] == 0.0
    assert rates.exact_upper([0])[0] == pytest.approx(-np.log(0.025), rel=1e-12)


def test_rate_ci_switches_method_at_10_and_scales():
    out = rates.rate_ci([9, 10, 0], [1000, 1000, 1000], multiplier=10000)
    assert list(out["method"]) == ["Exact", "Byars", "Exact"]
    assert out["value"].tolist() == [90.0, 100.0, 0.0]
    assert out.loc[2, "lower"] == 0.0
    assert (out["lower"] <= out["value"]).all() and (out["upper"] > out["value"]).all()


def test_rate_ci_zero_denominator_gives_missing():
    out = rates.rate_ci([1], [0])
    assert out[["value", "lower", "upper"]].isna().all(axis=None)


def test_wilson_by_hand():
    # Wilson (1927): (2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2)); x=65, n=100
    z = stats.norm.ppf(0.975)
    x, n = 65.0, 100.0
    lo = (2 * x + z**2 - z * np.sqrt(z**2 + 4 * x * (1 - x / n))) / (2 * (n + z**2))
    assert rates.wilson_lower([x], [n])[0] == pytest.approx(lo, rel=1e-14)
    assert rates.wilson_lower([1], [2], 1.0)[0] == 0.0
    assert rates.wilson_upper([1], [2], 1.0)[0] == 1.0
    with pytest.raises(ValueError, match="numerator exceeds"):
        rates.proportion_ci([3], [2])


def test_confidence_validation():
    assert rates.normalise_confidence(99.8) == pytest.approx(0.998)
    with pytest.raises(ValueError, match="confidence"):
        rates.normalise_confidence(1.5)


# ---- PHEindicatormethods vectors -----------------------------------------------------------


@needs_vectors
@pytest.mark.parametrize(
    "conf,lo,up", [(0.95, "lower95_0cl", "upper95_0cl"), (99.8, "lower99_8cl", "upper99_8cl")]
)
def test_phe_rate_vectors(conf, lo, up):
    r = read_vector("phe_rate.csv")
    out = rates.rate_ci(r["Numerator"], r["Denominator"], conf, r["multiplier"].to_numpy())
    assert waldo_close(out["value"], r["value"])
    assert waldo_close(out["lower"], r[lo])
    assert waldo_close(out["upper"], r[up])
    assert out["method"].fillna("NA").tolist() == r["method"].fillna("NA").tolist()


@needs_vectors
def test_phe_rate_grouped_vectors():
    r = read_vector("phe_rate_grouped_expected.csv")
    out = rates.rate_ci(r["Numerator"], r["Denominator"], 0.95, 100000)
    assert waldo_close(out["lower"], r["lowercl"]) and waldo_close(out["upper"], r["uppercl"])
    assert out["method"].fillna("NA").tolist() == r["method"].fillna("NA").tolist()


@needs_vectors
def test_byars_wilson_vectors():
    b = read_vector("byars_wilson.csv")
    byars = b[b["method"] == "Byars"]
    for conf in (0.95, 0.998):
        rows = byars[byars["confidence"] == f"{conf * 100:g}%"]
        assert waldo_close(rates.byars_lower(rows["x"], conf), rows["lowercl"])
        assert waldo_close(rates.byars_upper(rows["x"], conf * 100), rows["uppercl"])
        w = b[(b["method"] == "Wilson") & (b["confidence"] == f"{conf * 100:g}%")]
        assert waldo_close(rates.wilson_lower(w["x"], w["n"], conf), w["lowercl"])
        assert waldo_close(rates.wilson_upper(w["x"], w["n"], conf), w["uppercl"])


@needs_vectors
def test_phe_proportion_vectors():
    p = read_vector("phe_proportion.csv")
    ok = p["Numerator"].notna() & p["Denominator"].notna()
    p = p[ok]
    for conf, lo, up in [
        (0.95, "lower95_0cl", "upper95_0cl"),
        (0.998, "lower99_8cl", "upper99_8cl"),
    ]:
        out = rates.proportion_ci(
            p["Numerator"], p["Denominator"], conf, p["multiplier"].to_numpy()
        )
        assert waldo_close(out["value"], p["value"])
        assert waldo_close(out["lower"], p[lo]) and waldo_close(out["upper"], p[up])


@needs_vectors
@pytest.mark.parametrize(
    "rows,kind,scale",
    [
        (slice(0, 3), "rate", 1e5),
        (slice(3, 6), "rate", 1e3),
        (slice(6, 9), "ratio", 1),
        (slice(9, 12), "ratio", 100),
    ],
)
def test_indirect_standardisation_vectors(rows, kind, scale):
    data = read_vector("isr_dsr_input_multiarea.csv")
    ref = read_vector("isr_refdata.csv").rename(columns={"Age Band": "ageband"})
    exp = read_vector("isr_expected.csv").iloc[rows].reset_index(drop=True)
    kw = {"multiplier": scale} if kind == "rate" else {"refvalue": scale}
    for conf, lo, up in [
        (0.95, "lower95_0cl", "upper95_0cl"),
        (0.998, "lower99_8cl", "upper99_8cl"),
    ]:
        out = rates.indirect_standardisation(
            data, ["area"], ["ageband"], "count", "pop", ref, "refcount", "refpop", conf, **kw
        )
        assert out["area"].tolist() == exp["area"].tolist()
        assert waldo_close(out["observed"], exp["observed"])
        assert waldo_close(out["expected"], exp["expected"])
        assert waldo_close(out["value"], exp["value"])
        assert waldo_close(out["lower"], exp[lo]) and waldo_close(out["upper"], exp[up])
        assert out["method"].tolist() == exp["method"].tolist()


@needs_vectors
def test_ratio_funnel_significance_vectors():
    f = read_vector("funnel_ratio_inputs.csv")
    got = rates.ratio_significance(f["obs"], f["expected"])
    assert got.tolist() == f["significance"].tolist()
