"""MHCLG's LA summary measures of deprivation: hand-computed cases and the real IoD files.

Real-file checks use MHCLG's own inputs for IoD2019 (File 2 ranks, File 6 mid-2015 total
population, the denominators of the official LA summaries), the published IoD2015 upper-tier
summaries (File 11, ``dfe_csc/history/LA_IMD.xlsx``) and IoD2025 scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cwi.analysis.deprivation_summary import (
    SUMMARY_COLUMNS,
    extent_weight,
    la_deprivation_summary,
    national_percentile,
)
from cwi.config import SHARED_PUBLIC

IOD19_RANKS = SHARED_PUBLIC / "imd2019" / "File_2_-_IoD2019_Domains_of_Deprivation.csv.gz"
IOD19_POP = SHARED_PUBLIC / "imd2019" / "File_6_-_IoD2019_Population_Denominators.csv.gz"
IOD15_UTLA = SHARED_PUBLIC / "dfe_csc" / "history" / "LA_IMD.xlsx"
IMD25 = SHARED_PUBLIC / "iod2025" / "imd2025_england_lsoa21.csv"
LSOA_LTLA21 = SHARED_PUBLIC / "lookups" / "lookup_lsoa11_ltla21.csv"
LTLA_UTLA21 = SHARED_PUBLIC / "lookups" / "lookup_ltla21_utla21.csv"
needs_public = pytest.mark.skipif(
    not IOD19_RANKS.exists(), reason=f"real public data not found at {SHARED_PUBLIC}"
)


def _frame(la, pop, rank, n=1000, score=None):
    d = pd.DataFrame({"la_code": la, "population": pop, "imd_rank": rank})
    d["n_lsoa_national"] = n
    if score is not None:
        d["imd_score"] = score
    return d


# ---- hand-computed cases ---------------------------------------------------------------------


def test_percentile_and_extent_weights_by_hand():
    # n = 1000: rank 100 is the 10th percentile, 101 the 11th, 300 the 30th, 301 the 31st
    pct = national_percentile([1, 100, 101, 300, 301, 1000], 1000)
    assert pct.tolist() == [1, 10, 11, 30, 31, 100]
    w = extent_weight(pct)
    assert w.tolist() == pytest.approx([1.0, 1.0, 0.95, 0.05, 0.0, 0.0], abs=1e-12)
    # 20th percentile: 0.95 - 9 * 0.9/19
    assert extent_weight([20])[0] == pytest.approx(0.95 - 9 * 0.9 / 19, rel=1e-12)


def test_summary_by_hand():
    # LA "A": 4 LSOAs of 100, 200, 300, 400 children; ranks 50 (pct 5), 105 (pct 11),
    # 250 (pct 25), 900 (pct 90) of n = 1000.  LA "B": one LSOA, rank 1000 (least deprived).
    d = _frame(["A"] * 4 + ["B"], [100, 200, 300, 400, 50], [50, 105, 250, 900, 1000])
    s = la_deprivation_summary(d).set_index("la_code")
    assert list(s.reset_index().columns) == list(SUMMARY_COLUMNS)
    a = s.loc["A"]
    # summary ranks: n + 1 - rank = 951, 896, 751, 101 (higher = more deprived)
    assert a["avg_rank"] == pytest.approx((100 * 951 + 200 * 896 + 300 * 751 + 400 * 101) / 1000)
    w25 = 0.95 - 14 * 0.9 / 19
    assert a["extent"] == pytest.approx((100 * 1 + 200 * 0.95 + 300 * w25) / 1000)
    # 10% of 1000 children = 100: exactly the most deprived LSOA
    assert a["local_concentration"] == pytest.approx(951)
    assert a["share_lsoa_most_deprived_10pct"] == pytest.approx(0.25)
    assert a["share_children_most_deprived_10pct"] == pytest.approx(0.1)
    assert np.isnan(a["avg_score"])
    assert a["deprivation_measure"] == "avg_rank" and a["deprivation_order"] == 1
    b = s.loc["B"]
    assert b["avg_rank"] == 1 and b["extent"] == 0 and b["local_concentration"] == 1
    assert b["deprivation_order"] == 2


def test_local_concentration_takes_part_of_the_crossing_lsoa():
    # 10% of 1000 = 100 children: 60 from the rank-1 LSOA (summary rank 1000) and 40 of the
    # 340 in the rank-2 LSOA (summary rank 999)
    d = _frame(["A"] * 3, [60, 340, 600], [1, 2, 500])
    lc = la_deprivation_summary(d)["local_concentration"].iloc[0]
    assert lc == pytest.approx((60 * 1000 + 40 * 999) / 100)


def test_score_is_the_measure_only_when_every_la_has_scores():
    d = _frame(["A", "A", "B"], [1, 3, 2], [10, 20, 30], score=[40.0, 20.0, 10.0])
    s = la_deprivation_summary(d).set_index("la_code")
    assert s.loc["A", "avg_score"] == pytest.approx((40 + 3 * 20) / 4)
    assert (s["deprivation_measure"] == "avg_score").all()
    assert s.loc["A", "deprivation_order"] == 1
    d.loc[2, "imd_score"] = np.nan
    s = la_deprivation_summary(d).set_index("la_code")
    assert np.isnan(s.loc["B", "avg_score"]) and (s["deprivation_measure"] == "avg_rank").all()


def test_bad_input_is_refused_with_reasons():
    with pytest.raises(ValueError, match="n_lsoa_national"):
        la_deprivation_summary(
            pd.DataFrame({"la_code": ["A"], "population": [1], "imd_rank": [1]})
        )
    with pytest.raises(ValueError, match="outside 1..n"):
        la_deprivation_summary(_frame(["A"], [1], [1001]))


# ---- real files ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iod2019() -> pd.DataFrame:
    ranks = pd.read_csv(IOD19_RANKS, usecols=[0, 2, 4, 5])
    ranks.columns = ["lsoa_code", "lad_code", "imd_rank", "imd_decile"]
    pop = pd.read_csv(IOD19_POP, thousands=",", usecols=[0, 3, 4, 5])
    pop.columns = ["lsoa_code", "lad_name", "population", "children_0_15"]
    d = ranks.merge(pop, on="lsoa_code", validate="1:1")
    d["n_lsoa_national"] = len(d)
    return d


@needs_public
def test_iod2019_districts_reproduce_published_deciles_and_release(iod2019):
    s = la_deprivation_summary(iod2019.rename(columns={"lad_code": "la_code"}))
    assert len(s) == 317
    # share of LSOAs in decile 1 agrees with the published decile column of File 2
    pub = iod2019.groupby("lad_code")["imd_decile"].apply(lambda x: (x == 1).mean())
    got = s.set_index("la_code")["share_lsoa_most_deprived_10pct"]
    assert np.allclose(got.sort_index(), pub.sort_index(), atol=0)
    # IoD2019 statistical release: the five districts with the highest proportions of LSOAs in
    # the most deprived 10% are Middlesbrough, Liverpool, Knowsley, Hull and Manchester
    names = iod2019.drop_duplicates("lad_code").set_index("lad_code")["lad_name"]
    top5 = s.nlargest(5, "share_lsoa_most_deprived_10pct")["la_code"].map(names)
    assert set(top5) == {
        "Middlesbrough", "Liverpool", "Knowsley", "Kingston upon Hull, City of", "Manchester",
    }  # fmt: skip
    assert s["deprivation_measure"].eq("avg_rank").all()  # File 2 has no scores
    # the national population-weighted mean of summary ranks is near the middle (n+1)/2
    mid = (len(iod2019) + 1) / 2
    national = np.average(s["avg_rank"], weights=s["population"])
    assert abs(national - mid) / mid < 0.02


@needs_public
def test_iod2019_upper_tier_summaries_track_the_published_iod2015_ones(iod2019):
    """Orientation and scale against MHCLG's published upper-tier summaries (IoD2015 File 11).

    Different vintages, so not equal: but a reversed rank orientation, a percentage instead of a
    fraction or a wrong 10% cut would break these correlations and distances.
    """
    lk = pd.read_csv(LSOA_LTLA21, usecols=["lsoa11_code", "ltla21_code"])
    ut = pd.read_csv(LTLA_UTLA21, usecols=["ltla21_code", "utla21_code"])
    d = iod2019.merge(lk, left_on="lsoa_code", right_on="lsoa11_code").merge(ut, on="ltla21_code")
    s = la_deprivation_summary(d.rename(columns={"utla21_code": "la_code"}))
    pub = pd.read_excel(IOD15_UTLA, sheet_name="IMD")
    pub.columns = ["la_code", "name", "ar", "rar", "sc", "rsc", "prop", "rprop", "ext", "rext",
                   "lc", "rlc"]  # fmt: skip
    m = s.merge(pub, on="la_code")
    assert len(m) >= 140  # UTLAs whose 2013 and 2021 codes agree
    for ours, theirs, max_median_gap in (
        ("avg_rank", "ar", 1000),
        ("extent", "ext", 0.03),
        ("local_concentration", "lc", 500),
        ("share_lsoa_most_deprived_10pct", "prop", 0.02),
    ):
        assert m[ours].corr(m[theirs], method="spearman") > 0.9, ours
        assert (m[ours] - m[theirs]).abs().median() < max_median_gap, ours
    hart = m.set_index("name").loc["Hartlepool"]
    assert hart["avg_rank"] == pytest.approx(hart["ar"], rel=0.05)  # 21,886.6 published


@needs_public
def test_iod2025_scores_make_score_the_measure():
    imd = pd.read_csv(IMD25, usecols=["lsoa21_code", "IMD_score", "IMD_rank"])
    lk = pd.read_csv(
        SHARED_PUBLIC / "lookups" / "lookup_lsoa11_lsoa21_ltla22.csv",
        usecols=["lsoa21_code", "ltla22_code"],
    ).drop_duplicates("lsoa21_code")
    d = imd.merge(lk, on="lsoa21_code")
    d = d.rename(columns={"ltla22_code": "la_code", "IMD_rank": "imd_rank",
                          "IMD_score": "imd_score"})  # fmt: skip
    d["population"] = 1.0  # unweighted: avg_score is the plain mean score
    d["n_lsoa_national"] = len(imd)
    s = la_deprivation_summary(d)
    assert (s["deprivation_measure"] == "avg_score").all()
    one = d[d["la_code"] == s["la_code"].iloc[0]]
    assert s["avg_score"].iloc[0] == pytest.approx(one["imd_score"].mean(), rel=1e-12)
    assert s["avg_score"].corr(s["avg_rank"], method="spearman") > 0.95
    assert s["extent"].between(0, 1).all() and s["local_concentration"].between(1, len(imd)).all()
