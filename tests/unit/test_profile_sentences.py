"""The profile's data-dependent sentences, for every direction they can take."""

from __future__ import annotations

import itertools
import math

import pytest

from cwi.profiles.sentences import (
    DIRECTIONS,
    MeasureComparison,
    decile_title,
    direction_against,
    england_sentence,
    funnel_title,
    gradient_phrase,
    headline_sentences,
    ordinal,
    rank_phrase,
    reconcile,
    resources_sentence,
    spine_title,
    subject,
    trend_direction,
    trend_sentence,
    trend_title,
)


@pytest.mark.parametrize(
    ("lower", "upper", "ref", "expected"),
    [
        (11.0, 12.0, 10.0, "higher"),
        (8.0, 9.0, 10.0, "lower"),
        (9.0, 11.0, 10.0, "similar"),
        (10.0, 11.0, 10.0, "similar"),  # touching the reference is not significant
        (math.nan, math.nan, 10.0, "unknown"),  # suppressed
        (9.0, 11.0, None, "unknown"),  # no reference
        (None, 11.0, 10.0, "unknown"),
    ],
)
def test_direction_against_every_case(lower, upper, ref, expected):
    assert direction_against(lower, upper, ref) == expected


# Every combination of the region comparison and the deprivation-mix comparison.
RECONCILED = {
    ("higher", "higher"): "above the region's and 1.26 times what its deprivation mix predicts",
    ("higher", "lower"): "above the region's but 1.26 times what its deprivation mix predicts",
    ("lower", "higher"): "below the region's but 1.26 times what its deprivation mix predicts",
    ("lower", "lower"): "below the region's and 1.26 times what its deprivation mix predicts",
    ("similar", "higher"): "similar to the region's but 1.26 times what its deprivation mix predicts",
    ("similar", "lower"): "similar to the region's but 1.26 times what its deprivation mix predicts",
    ("higher", "similar"): "above the region's, as its deprivation mix predicts",
    ("lower", "similar"): "below the region's, as its deprivation mix predicts",
    ("similar", "similar"): "similar to the region's and in line with what its deprivation mix predicts",
    ("higher", "unknown"): "above the region's; the comparison with its deprivation mix is not available [c]",
    ("lower", "unknown"): "below the region's; the comparison with its deprivation mix is not available [c]",
    ("similar", "unknown"): "similar to the region's; the comparison with its deprivation mix is not available [c]",
    ("unknown", "higher"): "1.26 times what its deprivation mix predicts (region comparison not available)",
    ("unknown", "lower"): "1.26 times what its deprivation mix predicts (region comparison not available)",
    ("unknown", "similar"): "in line with what its deprivation mix predicts (region comparison not available)",
    ("unknown", "unknown"): "not published for comparison [c]",
}  # fmt: skip


def test_reconcile_covers_every_direction_pair():
    assert set(RECONCILED) == set(itertools.product(DIRECTIONS, DIRECTIONS))
    for (region, expected), words in RECONCILED.items():
        assert reconcile(region, expected, ["1.26"]) == words, (region, expected)


def test_the_issue_example_sentence():
    out = headline_sentences([MeasureComparison("CLA", "lower", "higher", "1.26")])
    assert out == [
        "The CLA rate is below the region's but 1.26 times what its deprivation mix predicts."
    ]


def test_headline_groups_measures_that_share_directions_and_adds_england():
    out = headline_sentences(
        [
            MeasureComparison("CIN", "lower", "higher", "1.26", "higher"),
            MeasureComparison("CPP", "similar", "similar", "1.02", "similar"),
            MeasureComparison("CLA", "lower", "higher", "1.31", "higher"),
        ]
    )
    assert out == [
        "The CIN and CLA rates are below the region's but 1.26 and 1.31 times what its "
        "deprivation mix predicts, respectively.",
        "The CPP rate is similar to the region's and in line with what its deprivation mix "
        "predicts.",
        "The CIN and CLA rates are above England's; the CPP rate is similar to England's.",
    ]


def test_headline_when_all_agree_and_england_unknown():
    out = headline_sentences(
        [MeasureComparison(m, "higher", "similar", "1.00") for m in ("CIN", "CPP", "CLA")]
    )
    assert out == ["All three rates are above the region's, as its deprivation mix predicts."]


def test_headline_with_a_suppressed_measure():
    out = headline_sentences(
        [
            MeasureComparison("CIN", "similar", "similar", "0.98"),
            MeasureComparison("CPP", "unknown", "unknown", "[c]"),
        ]
    )
    assert out[1] == "The CPP rate is not published for comparison [c]."
    assert "[c]" not in out[0]


@pytest.mark.parametrize(
    ("dirs", "expected"),
    [
        ({"CIN": "higher", "CPP": "higher", "CLA": "higher"}, "All three rates are above England's."),
        ({"CIN": "lower", "CPP": "lower", "CLA": "lower"}, "All three rates are below England's."),
        ({"CIN": "similar", "CPP": "similar", "CLA": "similar"}, "All three rates are similar to England's."),
        ({"CIN": "higher", "CPP": "unknown", "CLA": "lower"}, "The CIN rate is above England's; the CLA rate is below England's."),
        ({"CIN": "unknown", "CPP": "unknown", "CLA": "unknown"}, ""),
    ],
)  # fmt: skip
def test_england_sentence_every_direction(dirs, expected):
    comps = [MeasureComparison(m, "similar", "similar", "1", d) for m, d in dirs.items()]
    assert england_sentence(comps) == expected


def test_subject_and_verb():
    assert subject(["CLA"]) == ("The CLA rate", "is")
    assert subject(["CIN", "CPP"]) == ("The CIN and CPP rates", "are")
    assert subject(["CIN", "CPP", "CLA"]) == ("All three rates", "are")
    assert subject(["CIN", "CPP"], total=2) == ("Both rates", "are")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((10, 9, 11, 20, 19, 21), "higher"),
        ((20, 19, 21, 10, 9, 11), "lower"),
        ((10, 8, 12, 11, 9, 13), "similar"),
        ((math.nan, math.nan, math.nan, 10, 9, 11), "unknown"),
    ],
)
def test_trend_direction(args, expected):
    assert trend_direction(*args) == expected


def test_trend_sentence_and_title_every_direction():
    words = {"higher": "rose", "lower": "fell", "similar": "changed little"}
    for d, verb in words.items():
        s = trend_sentence("CLA", d, (2021, "60.1"), (2023, "66.0"))
        assert s == f"The CLA rate {verb} between 2021 and 2023 (60.1 to 66.0 per 10,000)."
    assert "cannot be compared" in trend_sentence("CLA", "unknown", (2021, "[c]"), (2023, "66.0"))
    assert trend_title({"CIN": "higher", "CPP": "similar", "CLA": "similar"}, 2021, 2023) == (
        "The CIN rate rose; the CPP and CLA rates changed little between 2021 and 2023"
    )
    assert trend_title({"CIN": "lower", "CPP": "lower", "CLA": "lower"}, 2021, 2023) == (
        "All three rates fell between 2021 and 2023"
    )
    assert (
        trend_title({"CIN": "unknown"}, 2021, 2023)
        == "Rates cannot be compared between 2021 and 2023"
    )


def test_spine_title_against_england_and_region():
    assert spine_title({"CIN": "higher", "CPP": "higher", "CLA": "higher"}, "England") == (
        "All three rates are above England's"
    )
    assert spine_title({"CIN": "lower", "CPP": "similar", "CLA": "lower"}, "the region") == (
        "The CIN and CLA rates are below the region's; the CPP rate is similar to the region's"
    )
    assert spine_title({"CIN": "unknown"}, "England") == "Rates cannot be compared with England's"


def test_gradient_phrase_and_decile_title():
    assert gradient_phrase(150, 50) == "are highest in the most deprived neighbourhoods"
    assert gradient_phrase(50, 150) == "are highest in the least deprived neighbourhoods"
    assert gradient_phrase(100, 90) == "vary little with deprivation"
    assert gradient_phrase(None, 90) == "cannot be compared across deprivation deciles"
    same = decile_title("Leeds", "vary little with deprivation", "vary little with deprivation")
    assert same == "In Leeds, as in the region, rates vary little with deprivation"
    diff = decile_title(
        "Leeds", "vary little with deprivation", "are highest in the most deprived neighbourhoods"
    )
    assert (
        diff
        == "In Leeds rates vary little with deprivation; in the region they are highest in the most deprived neighbourhoods"
    )


def test_funnel_title_every_position():
    assert funnel_title("X", {"CIN": "within", "CPP": "within", "CLA": "within"}) == (
        "X lies within the region's limits for every measure"
    )
    assert funnel_title("X", {"CIN": "above", "CPP": "above", "CLA": "above"}) == (
        "X lies above the region's 99.8% limits for every measure"
    )
    assert funnel_title("X", {"CIN": "below", "CPP": "unknown", "CLA": "below"}) == (
        "X lies below the region's 99.8% limits for CIN and CLA"
    )
    assert funnel_title("X", {"CIN": "above", "CPP": "within", "CLA": "below"}) == (
        "X lies above the region's 99.8% limits for CIN, within the region's limits for "
        "CPP and below the region's 99.8% limits for CLA"
    )
    assert funnel_title("X", {"CIN": "unknown"}) == "X's ratios are not shown [c]"


def test_ranks_and_ordinals():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
    ]  # fmt: skip
    assert rank_phrase(3, 15, "LAs in the region") == "3rd of 15"
    assert rank_phrase(None, 15, "LAs in the region") == "not ranked [c]"


def test_resources_sentence_every_direction():
    assert "under-provide" in resources_sentence("X", "higher")
    assert "more than its looked-after caseload" in resources_sentence("X", "lower")
    assert "roughly match" in resources_sentence("X", "similar")
    assert "not available" in resources_sentence("X", "unknown")
