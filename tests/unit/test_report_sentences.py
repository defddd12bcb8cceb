"""Every generated sentence, in every direction: higher, lower, similar, not estimable."""

from __future__ import annotations

import math

import pytest

from cwi.report import sentences as s

NAN = math.nan
HIGHER, LOWER, SIMILAR, NONE = (2.0, 1.5, 2.6), (0.2, 0.15, 0.27), (1.02, 0.9, 1.15), (NAN,) * 3


def test_direction():
    assert s.direction(1.1, 1.3) == "higher"
    assert s.direction(0.5, 0.9) == "lower"
    assert s.direction(0.9, 1.1) == "similar"
    assert s.direction(NAN, 1.1) == "not estimable"
    assert s.direction(-0.3, -0.1, null=0) == "lower"


@pytest.mark.parametrize(
    ("ratio", "words"),
    [
        (2.34, "2.3 times as likely"),
        (1.0, "about as likely"),
        (0.2, "a fifth as likely"),
        (0.21, "about a fifth as likely"),
        (0.5, "half as likely"),
        (0.25, "a quarter as likely"),
        (0.7, "30% less likely"),
        (0.05, "less than a tenth as likely"),
        (NAN, "[x] times as likely"),
    ],
)
def test_likelihood_phrase_never_times_less(ratio, words):
    assert s.likelihood_phrase(ratio) == words
    assert "times less" not in s.likelihood_phrase(ratio)


def test_as_or_than():
    assert s.as_or_than(3) == "as"
    assert s.as_or_than(0.2) == "as"
    assert s.as_or_than(0.7) == "than"


def _all(gen):
    return {
        d: gen(*v)
        for d, v in zip(("h", "l", "s", "n"), (HIGHER, LOWER, SIMILAR, NONE), strict=True)
    }


def test_decile_contrast():
    out = {
        "h": s.decile_contrast("children looked after", 12.0, 9.0, 16.0),
        "l": s.decile_contrast("children looked after", 0.2, 0.15, 0.27),
        "s": s.decile_contrast("children looked after", *SIMILAR),
        "n": s.decile_contrast("children looked after", *NONE),
    }
    assert "12.0 times as likely to be children looked after as" in out["h"]
    assert "a fifth as likely" in out["l"]
    assert "not clearly more or less likely" in out["s"]
    assert s.NOT_ESTIMABLE in out["n"]
    assert all("times less" not in t for t in out.values())


@pytest.mark.parametrize("model", ["pooled", "within"])
def test_gradient_names_its_model(model):
    out = _all(lambda e, lo, hi: s.gradient("children in need", model, e, lo, hi))
    name = "pooled model" if model == "pooled" else "within-LA model"
    assert all(name in t for t in out.values())
    assert "rise with neighbourhood deprivation" in out["h"] and "multiplied the rate" in out["h"]
    assert "fall as neighbourhood deprivation rises" in out["l"]
    assert "no clear deprivation gradient" in out["s"]
    assert s.NOT_ESTIMABLE in out["n"]


def test_case_share():
    assert "1.9 times their share" in s.case_share("CLA", "most deprived 10%", 0.38, 0.2)
    assert "less than their share" in s.case_share("CLA", "most deprived 10%", 0.1, 0.2)
    assert "about their share" in s.case_share("CLA", "most deprived 10%", 0.2, 0.2)
    assert s.NOT_ESTIMABLE in s.case_share("CLA", "most deprived 10%", NAN, 0.2)


def test_sii_rii():
    h = s.sii_rii("CLA", 233, 220, 247, 14.2, 12.8, 15.7)
    lo = s.sii_rii("CLA", -20, -30, -10, 0.6, 0.5, 0.8)
    si = s.sii_rii("CLA", 5, -5, 15, 1.05, 0.9, 1.2)
    n = s.sii_rii("CLA", *[NAN] * 6)
    assert "14.2 times the rate" in h and "slope index of inequality" in h
    assert "lower at the most deprived end" in lo
    assert "no clear inequality" in si
    assert s.NOT_ESTIMABLE in n


def test_concentration():
    assert "most deprived" in s.concentration("CLA", -0.35, -0.36, -0.34)
    assert "least deprived" in s.concentration("CLA", 0.2, 0.1, 0.3)
    assert "not clearly" in s.concentration("CLA", 0.01, -0.1, 0.1)
    assert s.NOT_ESTIMABLE in s.concentration("CLA", NAN, NAN, NAN)


def test_group_ratio():
    out = _all(lambda e, lo, hi: s.group_ratio("girls", "boys", "CLA", e, lo, hi, "allowing x"))
    assert "2.0 times as likely as boys" in out["h"]
    assert "a fifth as likely as boys" in out["l"]
    assert "not clearly more or less likely than boys" in out["s"]
    assert s.NOT_ESTIMABLE in out["n"]
    assert out["h"].startswith("Allowing x, girls")


def test_ethnic_paradox_reversal():
    rev = s.ethnic_paradox("Black", "CLA", 1.3, 0.8, 0.7, 0.9)
    assert "reverses" in rev and "30% more" not in rev
    same = s.ethnic_paradox("Asian", "CLA", 0.5, 0.2, 0.15, 0.27)
    assert "reverses" not in same and "a fifth as likely" in same
    unclear = s.ethnic_paradox("Mixed", "CLA", 1.5, 1.0, 0.9, 1.1)
    assert "not clear" in unclear
    assert s.NOT_ESTIMABLE in s.ethnic_paradox("Other", "CLA", NAN, NAN, NAN, NAN)
    higher = s.ethnic_paradox("Mixed", "CLA", 1.5, 1.4, 1.2, 1.6)
    assert "1.4 times as likely" in higher


def test_share_trend():
    assert "higher in more deprived" in s.share_trend("x", 0.2, 0.1, 1.5, 2.5)
    assert "falls as deprivation rises" in s.share_trend("x", 0.08, 0.12, 0.6, 0.8)
    assert "does not clearly change" in s.share_trend("x", 0.1, 0.1, 0.9, 1.1)
    assert s.NOT_ESTIMABLE in s.share_trend("x", NAN, NAN, NAN, NAN)


def test_interaction_and_p():
    assert "differs by sex" in s.interaction("CLA", "sex", 0.0001)
    assert "p < 0.001" in s.interaction("CLA", "sex", 0.0001)
    assert "do not show" in s.interaction("CLA", "sex", 0.5)
    assert s.NOT_ESTIMABLE in s.interaction("CLA", "sex", NAN)
    assert s.p_text(0.0123) == "p = 0.012"


def test_mix_vs_score_all_outcomes():
    mix = s.mix_vs_score("CLA", 0.87, 0.76, 0.006, 0.47)
    score = s.mix_vs_score("CLA", 0.5, 0.7, 0.4, 0.001)
    both = s.mix_vs_score("CLA", 0.7, 0.48, 0.0001, 0.0006)
    neither = s.mix_vs_score("CLA", 0.6, 0.55, 0.3, 0.4)
    assert "within-LA pattern explains more, and the difference is real" in mix
    assert "87%" in mix and "76%" in mix
    assert "overall IMD score explains more, and the difference is real" in score
    ranked = s.mix_vs_score("CLA", 0.87, 0.76, 0.006, 0.47, score_name="average IMD rank")
    assert "adds to the average IMD rank" in ranked
    assert "each adds to the other" in both
    assert "could be chance" in neither
    assert s.NOT_ESTIMABLE in s.mix_vs_score("CLA", NAN, NAN, NAN, NAN)


def test_inverse_intervention():
    out = _all(lambda e, lo, hi: s.inverse_intervention("CLA", e, lo, hi))
    assert "no sign of an inverse" in out["h"]
    assert "the inverse intervention pattern" in out["l"] and "a fifth as likely" in out["l"]
    assert "did not clearly differ" in out["s"]
    assert s.NOT_ESTIMABLE in out["n"]


def test_funnel_words():
    assert s.funnel_title(0, 15).startswith("Every local authority")
    assert s.funnel_title(4, 45) == "4 of 45 ratios lie outside the 99.8% limits"
    assert "could be published" in s.funnel_title(0, 0)
    assert "3 of 15" in s.funnel_sentence("CLA", 3, 2, 15) and "2 lie below" in s.funnel_sentence(
        "CLA", 3, 2, 15
    )
    assert "all 15" in s.funnel_sentence("CLA", 0, 0, 15)
    assert s.NOT_ESTIMABLE in s.funnel_sentence("CLA", 0, 0, 0)


def test_gradient_comparison_and_q4_title_agree():
    out = _all(lambda e, lo, hi: s.gradient_comparison("CLA", "CIN", e, lo, hi))
    assert "steeper for CLA than for CIN" in out["h"]
    assert "shallower" in out["l"]
    assert "do not clearly differ" in out["s"]
    assert s.NOT_ESTIMABLE in out["n"]
    assert s.q4_title(["CIN"], [], "CLA") == "Deprivation matters more for CLA than for CIN"
    assert "less for CLA" in s.q4_title([], ["CPP"], "CLA")
    assert "some outcomes" in s.q4_title(["CIN"], ["CPP"], "CLA")
    assert "about as much" in s.q4_title([], [], "CLA")


def test_against_england():
    out = _all(lambda e, lo, hi: s.against_england("CLA", 80.0, 70.0, lo, hi))
    assert "higher than England's" in out["h"]
    assert "lower than England's" in out["l"]
    assert "similar to England's" in out["s"]
    assert s.NOT_ESTIMABLE in out["n"]


def test_need_vs_caseload_and_published():
    assert "3 held" in s.need_vs_caseload("CLA", 3, 2, 15)
    assert "within a tenth" in s.need_vs_caseload("CLA", 0, 0, 15)
    assert s.NOT_ESTIMABLE in s.need_vs_caseload("CLA", 0, 0, 0)
    assert "close to" in s.against_published(12.0, 11.1, "ratio")
    assert "above" in s.against_published(20.0, 11.1, "ratio")
    assert "below" in s.against_published(5.0, 11.1, "ratio")
    assert s.NOT_ESTIMABLE in s.against_published(NAN, 11.1, "ratio")


def test_q1_answer():
    assert s.q1_answer(["higher"] * 3) == "Yes, for every measure."
    assert "allow" in s.q1_answer(["higher", "higher", "not estimable"])
    assert s.q1_answer(["lower"] * 3).startswith("No")
    assert s.q1_answer(["higher", "similar", "lower"]).startswith("For some")
    assert s.q1_answer(["similar"] * 3).startswith("Not clearly")
    assert "cannot" in s.q1_answer(["not estimable"] * 3)


def test_within_vs_pooled():
    assert "steeper" in s.within_vs_pooled("CLA", 1.41, 1.40, 1.43, 1.29, 1.28, 1.31)
    assert "less steep" in s.within_vs_pooled("CLA", 1.2, 1.19, 1.21, 1.29, 1.28, 1.31)
    assert "not clearly different" in s.within_vs_pooled("CLA", 1.3, 1.25, 1.35, 1.29, 1.2, 1.3)
    assert "cannot be compared" in s.within_vs_pooled("CLA", *[NAN] * 6)


def test_crude_contrast_and_ethnic_summary():
    assert "4.4 times as likely to be CLA as" in s.crude_contrast("CLA", 4.4)
    assert "half as likely to be CLA as" in s.crude_contrast("CLA", 0.5)
    assert "30% less likely to be CLA than" in s.crude_contrast("CLA", 0.7)
    assert s.crude_contrast("CLA", NAN) == ""
    assert s.ethnic_summary("CLA", ["A.", "B."]) == "A. B."
    assert "no ethnic group" in s.ethnic_summary("CLA", [])


def test_gender_gap_trend():
    assert "narrows" in s.gender_gap_trend("CIN", 1.05, 1.02, 1.08, 1.25, 1.2, 1.3)
    assert "widens" in s.gender_gap_trend("CIN", 1.3, 1.25, 1.35, 1.05, 1.0, 1.1)
    assert "does not clearly change" in s.gender_gap_trend("CIN", 1.1, 1.0, 1.2, 1.15, 1.05, 1.2)
    assert s.NOT_ESTIMABLE in s.gender_gap_trend("CIN", *[NAN] * 6)
