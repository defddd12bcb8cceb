import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.inter_rater import cohens_kappa, to_table

from cwi.interviews.agreement import (
    agreement_table,
    assign_units,
    cohen_kappa,
    krippendorff_alpha_nominal,
)

NA = np.nan


def _sm_kappa(a, b):
    table, _ = to_table(np.column_stack([a, b]))
    return cohens_kappa(table).kappa


def test_kappa_matches_statsmodels_on_fixed_data():
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 2, 2, 1]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 2, 1, 1]
    assert cohen_kappa(a, b) == pytest.approx(_sm_kappa(a, b), abs=1e-12)


def test_kappa_hand_worked():
    # 2x2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = 0.4
    a = [1] * 25 + [0] * 25
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=60).filter(
        lambda pairs: len({x for p in pairs for x in p}) >= 2
    )
)
def test_kappa_equals_statsmodels_property(pairs):
    a, b = zip(*pairs, strict=True)
    mine = cohen_kappa(a, b)
    theirs = _sm_kappa(np.array(a), np.array(b))
    if math.isnan(mine):
        assert not np.isfinite(theirs) or np.isnan(theirs)
    else:
        assert mine == pytest.approx(theirs, abs=1e-9)


def test_kappa_undefined_when_one_category():
    assert math.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))


def test_alpha_krippendorff_textbook_four_coders_missing_values():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: 0.743
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NA, NA, NA],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NA, 3],
        [NA, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NA],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NA],
    ]
    assert krippendorff_alpha_nominal(data) == pytest.approx(0.743, abs=5e-4)


def test_alpha_krippendorff_binary_two_coders():
    # Krippendorff (2011), binary data, two observers: alpha = 0.095
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert krippendorff_alpha_nominal([a, b]) == pytest.approx(0.095, abs=5e-4)


def test_alpha_perfect_and_undefined():
    assert krippendorff_alpha_nominal(
        [[1, 2, 1, 2], [1, 2, 1, 2], [1, 2, 1, NA]]
    ) == pytest.approx(1.0)
    assert math.isnan(krippendorff_alpha_nominal([[1, 1, 1], [1, 1, 1]]))


def _segments(rows):
    frame = pd.DataFrame(rows, columns=["interview_id", "coder", "code", "start", "end", "text"])
    frame["la"] = "LA-A"
    frame["role"] = "director"
    return frame


def test_units_follow_transcript_lines():
    transcript = "Header\nInterviewer: q\nRespondent: alpha beta\nRespondent: gamma\n"
    seg = _segments(
        [
            ("I1", "A", "X", 22, 40, None),  # inside line 2
            ("I1", "A", "Y", 30, 55, None),  # spans lines 2 and 3
            ("I1", "B", "X", pd.NA, pd.NA, "gamma"),  # located by its text
        ]
    )
    units = assign_units(seg, {"I1": transcript})
    assert units.loc[units["code"] == "X", "unit"].tolist() == ["L2", "L3"]
    assert sorted(units.loc[units["code"] == "Y", "unit"]) == ["L2", "L3"]


def test_agreement_table_kappa_matches_statsmodels_on_units():
    text = "\n".join(f"Respondent: turn {i}" for i in range(8)) + "\n"
    spans = [(i * 20, i * 20 + 5) for i in range(8)]
    rows = []
    a_codes = ["X", "X", "Y", "Y", "X", "Y", "X", "Y"]
    b_codes = ["X", "Y", "Y", "Y", "X", "X", "X", "Y"]
    for (s, e), ca, cb in zip(spans, a_codes, b_codes, strict=True):
        rows.append(("I1", "A", ca, s, e, None))
        rows.append(("I1", "B", cb, s, e, None))
    rows.append(("I2", "A", "X", 0, 5, None))  # single-coded: not in agreement
    units = assign_units(_segments(rows), {"I1": text, "I2": text})
    table = agreement_table(units, ["X", "Y", "Z"]).set_index("code")
    a = [int(c == "X") for c in a_codes]
    b = [int(c == "X") for c in b_codes]
    assert table.loc["X", "kappa"] == pytest.approx(_sm_kappa(a, b))
    assert table.loc["X", "units"] == 8
    assert table.loc["X", "interviews"] == 1
    assert table.loc["X", "alpha"] == pytest.approx(krippendorff_alpha_nominal([a, b]))
    assert table.loc["Z", "applied"] == 0 and math.isnan(table.loc["Z", "kappa"])


def test_agreement_three_coders_uses_alpha():
    text = "".join(f"Respondent: turn {i}\n" for i in range(4))
    rows = []
    for coder, codes in {"A": "XXYY", "B": "XXYY", "C": "XYYY"}.items():
        for i, c in enumerate(codes):
            rows.append(("I1", coder, c, i * 20, i * 20 + 3, None))
    units = assign_units(_segments(rows), {"I1": text})
    table = agreement_table(units, ["X"]).set_index("code")
    expected = krippendorff_alpha_nominal([[1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0]])
    assert table.loc["X", "alpha"] == pytest.approx(expected)
    assert table.loc["X", "units_3plus"] == 4
    assert math.isnan(table.loc["X", "kappa"])  # no two-coder interviews
