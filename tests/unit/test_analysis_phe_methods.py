"""PHE's method set against every PHEindicatormethods test vector (README tolerance rules).

DSR with Dobson limits, proportion and rate funnels (limits, axis grid, significance, points),
indirect standardisation with observed totals / own reference / zero populations, grouped
proportions and quantiles.  The last test checks that every vector file in
``../shared/reference/phe_test_vectors`` is read by some test.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from cwi.analysis import funnels, rates
from cwi.analysis.dsr import dsr
from tests.phe_vectors import VECTORS, needs_vectors, read_vector, waldo_close

pytestmark = needs_vectors


# ---- DSR ---------------------------------------------------------------------------------------


def test_dsr_vectors_esp2013():
    d = read_vector("dsr_input_multiarea_esp.csv")
    exp = read_vector("dsr_expected.csv")
    one = dsr(d, ["area"], "count", "pop", "esp2013", multiplier=10000)
    e = exp.iloc[0:3]
    assert one["area"].tolist() == e["area"].tolist()
    for ours, theirs in (("total_count", "total_count"), ("total_pop", "total_pop"),
                         ("value", "value"), ("lowercl", "lower95_0cl"),
                         ("uppercl", "upper95_0cl")):  # fmt: skip
        assert waldo_close(one[ours], e[theirs]), ours
    two = dsr(d, ["area"], "count", "pop", "esp2013", confidence=(0.95, 0.998))
    e = exp.iloc[4:7]
    for c in ("value", "lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl"):
        assert waldo_close(two[c], e[c]), c
    assert two["value"].isna().tolist() == [False, False, True]  # tiny: 9 events < 10


def test_dsr_vectors_esp1976_and_non_independent_events():
    exp = read_vector("dsr_expected.csv")
    one = dsr(read_vector("dsr_input_1976.csv"), [], "count", "pop", "esp1976")
    e = exp.iloc[7]
    assert waldo_close(
        one[["total_count", "total_pop", "value", "lowercl", "uppercl"]].iloc[0],
        e[["total_count", "total_pop", "value", "lower95_0cl", "upper95_0cl"]],
    )
    n = read_vector("dsr_input_nonindependent.csv")
    got = dsr(n, ["area"], "persons", "pop", "esp2013", confidence=(0.95, 0.998),
              independent_events=False, eventfreq="freq", ageband="ageband")  # fmt: skip
    e = exp.iloc[8:12].set_index("area").loc[got["area"]]
    for c in ("total_count", "total_pop", "value", "lower95_0cl", "upper95_0cl",
              "lower99_8cl", "upper99_8cl"):  # fmt: skip
        assert waldo_close(got[c], e[c]), c
    with pytest.raises(ValueError, match="eventfreq"):
        dsr(n, ["area"], "persons", "pop", "esp2013", independent_events=False)


# ---- funnels -----------------------------------------------------------------------------------


def test_proportion_funnel_vectors_and_axis_variation():
    p = read_vector("funnel_prop_inputs.csv")
    for inputs, name in (
        (p, "funnel_prop_outputs.csv"),
        (p[p["denominator"] < 31000], "funnel_prop_outputs_axis_variation.csv"),
    ):
        exp = read_vector(name)
        got = funnels.proportion_funnel_limits(inputs["numerator"], inputs["denominator"], 100)
        assert got["population"].tolist() == exp["Population"].tolist()
        for c in ("lower_2s_limit", "upper_2s_limit", "lower_3s_limit", "upper_3s_limit",
                  "baseline"):  # fmt: skip
            assert waldo_close(got[c], exp[c]), (name, c)
    sig = funnels.proportion_significance(p["numerator"], p["denominator"])
    assert sig.tolist() == p["significance"].tolist()


def _rate_inputs():
    return read_vector("funnel_rate_points_input.csv")


@pytest.mark.parametrize(
    "case,name",
    [("dsr", "funnel_rate_outputs_dsr.csv"),
     ("crude_lt10", "funnel_rate_outputs_crude_lt10.csv"),
     ("crude_zero_with_denom", "funnel_rate_outputs_crude_zero_with_denom.csv")],
)  # fmt: skip
def test_rate_funnel_vectors(case, name):
    pts = _rate_inputs()
    if case == "dsr":
        got = funnels.rate_funnel_limits(pts["ev"], pts["rate"], 1e5, "dsr", 3)
    elif case == "crude_lt10":
        ev = pts["ev"].copy()
        ev[ev.idxmax()] = 5
        got = funnels.rate_funnel_limits(ev, pts["rate"], 1e5, "crude", 3)
    else:
        z = pts.copy()
        z["pop"] = 1e5 * z["ev"] / z["rate"]
        i = z["ev"].idxmax()
        z.loc[i, ["ev", "rate"]] = 0
        z = z[z["pop"] > z["pop"].max() / 2]
        got = funnels.rate_funnel_limits(z["ev"], z["rate"], 1e5, "crude", 3, z["pop"])
    exp = read_vector(name)
    assert got["events"].tolist() == exp["Events"].tolist()
    for c in exp.columns[2:11]:
        assert waldo_close(got[c], exp[c]), c
    assert got["statistic"].iloc[0] == exp["statistic"].iloc[0]
    assert (got["method"] == "Poisson").all()


@pytest.mark.parametrize(
    "rate_type,mult,rate_col",
    [("dsr", 1e5, "rate_dsr"), ("dsr", 100, "rate_dsr"),
     ("crude", 1e5, "rate_crude_per_100000"), ("crude", 100, "rate_crude_per_100")],
)  # fmt: skip
def test_rate_funnel_significance_vectors(rate_type, mult, rate_col):
    s = read_vector("funnel_rate_significance_inputs.csv")
    tag = f"{rate_type}_per_{int(mult)}"
    got = funnels.rate_significance(s["count"], s[rate_col], mult, rate_type, s["pop"])
    assert got.tolist() == s[f"{tag}_with_0"].tolist()
    w = s[s["count"] != 0]
    got = funnels.rate_significance(w["count"], w[rate_col], mult, rate_type, w["pop"])
    assert got.tolist() == w[f"{tag}_without_0"].tolist()


def test_ratio_funnel_vectors():
    f = read_vector("funnel_ratio_outputs.csv")
    out = funnels.ratio_funnel_limits(f["Observed_events"], multiplier=100)
    for c in ("lower_2s", "upper_2s", "lower_3s", "upper_3s"):
        assert waldo_close(out[f"{c}_exp_events"], f[f"{c}_exp_events"])
        assert waldo_close(out[f"{c}_limit"], f[f"{c}_isr"])
        assert waldo_close(out[f"{c}_limit"] / 100 - 1, f[f"{c}_count"])


@pytest.mark.parametrize(
    "kind,kw,set_max,cols",
    [
        ("dsr", {"rate_type": "dsr", "years_of_data": 3}, 5,
         ("rate_chart", "denominator_derived")),
        ("crude", {"rate_type": "crude", "years_of_data": 3}, None,
         ("rate_chart_crude", "denominator_derived_crude")),
        ("crude_with_denom", {"rate_type": "crude", "years_of_data": 5, "denominator": "pop"},
         0, ("rate_chart_crude_with_denom", "denominator_derived_crude_with_denom")),
    ],
)  # fmt: skip
def test_funnel_points_vectors(kind, kw, set_max, cols):
    pts = _rate_inputs()
    ev = pts["ev"].copy()
    if set_max is not None:
        ev[ev.idxmax()] = set_max
    if kw.get("denominator") == "pop":
        kw = {**kw, "denominator": pts["pop"]}
    got = funnels.funnel_points(ev, pts["rate"], 1e5, **kw)
    assert waldo_close(got["rate_chart"], pts[cols[0]])
    assert waldo_close(got["denominator_derived"], pts[cols[1]])


def test_overdispersion_widens_limits_only_when_units_vary_beyond_poisson():
    rng = np.random.default_rng(1)
    e = rng.uniform(50, 500, 150)
    tight = rng.poisson(e)
    wide = rng.poisson(e * rng.lognormal(0, 0.4, e.size))
    a, b = funnels.overdispersion(tight, e), funnels.overdispersion(wide, e)
    assert b["phi"] > 3 and b["overdispersed"] and b["tau2"] > 0.01
    assert a["tau2"] < b["tau2"] / 10
    lim0 = funnels.overdispersed_ratio_limits([100], 0.0)
    lim1 = funnels.overdispersed_ratio_limits([100], b["tau2"])
    assert lim1["upper_99.8"].iloc[0] > lim0["upper_99.8"].iloc[0] > 1
    assert lim1["lower_95"].iloc[0] < lim0["lower_95"].iloc[0] < 1
    # tau2 = 0: 1 +- 1.96 / (2 sqrt 100) on the sqrt scale
    assert lim0["upper_95"].iloc[0] == pytest.approx((1 + 1.959964 / 20) ** 2, rel=1e-6)
    # An O/E of 1.4 at E = 100 is outside chance alone's 99.8% limits, inside the widened ones.
    assert lim1["lower_99.8"].iloc[0] < 1.4 < lim1["upper_99.8"].iloc[0]
    assert not lim0["lower_99.8"].iloc[0] < 1.4 < lim0["upper_99.8"].iloc[0]
    # Suppressed units (NaN) are left out, not counted as zero.
    gap = funnels.overdispersion(np.append(wide, np.nan), np.append(e, 300))
    assert gap["n"] == e.size and gap["tau2"] == b["tau2"]


# ---- indirect standardisation, grouped proportions, quantiles --------------------------------


def test_isr_with_observed_totals_own_reference_and_zero_population():
    exp = read_vector("isr_expected.csv")
    own = read_vector("isr_input_multiarea_ownref.csv")
    ref = own[own["area"] == own["area"].iloc[0]][["ageband", "refcount", "refpop"]]
    totals = read_vector("isr_observed_totals.csv")
    for conf, lo, up in ((0.95, "lower95_0cl", "upper95_0cl"),
                         (99.8, "lower99_8cl", "upper99_8cl")):  # fmt: skip
        got = rates.indirect_standardisation(
            own.drop(columns="count"), ["area"], ["ageband"], "count", "pop", ref,
            "refcount", "refpop", conf, observed_totals=totals,
        )  # fmt: skip
        e = exp.iloc[6:9]
        assert waldo_close(got["observed"], e["observed"]) and waldo_close(
            got["value"], e["value"]
        )
        assert waldo_close(got["lower"], e[lo]) and waldo_close(got["upper"], e[up])
    zero = read_vector("isr_input_zero_pop.csv")
    zero["ageband"] = zero.groupby("area").cumcount()
    zref = read_vector("isr_refdata.csv").assign(ageband=range(19))
    for kw, rows in (({"multiplier": 1e5}, slice(12, 14)), ({"refvalue": 100}, slice(14, 16))):
        got = rates.indirect_standardisation(
            zero, ["area"], ["ageband"], "count", "pop", zref, "refcount", "refpop", **kw
        )
        e = exp.iloc[rows]
        for ours, theirs in (("expected", "expected"), ("value", "value"),
                             ("lower", "lower95_0cl"), ("upper", "upper95_0cl")):  # fmt: skip
            assert waldo_close(got[ours], e[theirs]), (kw, ours)


def test_proportion_grouped_vectors():
    g = read_vector("phe_proportion_grouped_expected.csv")
    g = g[g["Numerator"].notna() & g["Denominator"].notna()]
    got = rates.proportion_ci(g["Numerator"], g["Denominator"], 0.95)
    assert waldo_close(got["value"], g["value"])
    assert waldo_close(got["lower"], g["lowercl"]) and waldo_close(got["upper"], g["uppercl"])


def test_quantile_vectors():
    q = read_vector("quantiles_testdata.csv", keep_default_na=False, na_values=[""])
    exp = q["QuantileInGrp"].astype(float)
    d1 = q["GroupSet"] == "IndSexReg"
    groups = (q["IndSexRef"] + "|" + q["ParentCode"])[d1]
    got = rates.phe_quantile(q.loc[d1, "Value"], groups, 10, q.loc[d1, "Polarity"])
    assert np.allclose(got, exp[d1], equal_nan=True)
    d2 = d1 & (q["IndSexRef"] == "90366Female")
    got = rates.phe_quantile(q.loc[d2, "Value"], q.loc[d2, "ParentCode"], 10, False)
    assert np.allclose(got, exp[d2], equal_nan=True)
    d3 = q["GroupSet"] == "IndSex"
    got = rates.phe_quantile(q.loc[d3, "Value"], None, 7, q.loc[d3, "Polarity"])
    assert np.allclose(got, exp[d3], equal_nan=True)
    d4 = q["GroupSet"] == "None"
    got = rates.phe_quantile(q.loc[d4, "Value"], None, 4)
    assert np.allclose(got, exp[d4], equal_nan=True)
    assert got.isna().sum() == q.loc[d4, "Value"].isna().sum()


def test_every_vector_file_is_read_by_a_test():
    here = Path(__file__).parent
    sources = "".join(p.read_text() for p in here.glob("test_*.py"))
    names = sorted(p.name for p in VECTORS.glob("*.csv"))
    unread = [n for n in names if not re.search(re.escape(n[: -len(".csv")]), sources)]
    assert names and not unread, f"vector files no test reads: {unread}"
