"""Unit tests of cwi.disclosure: primary/secondary suppression, rounding, families, checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cwi.disclosure import (
    DisclosureError,
    Line,
    TableSpec,
    assert_family_not_recoverable,
    assert_not_recoverable,
    format_cell,
    protect,
    protect_family,
    rule_text,
)

TH = {"la_total_min": 6, "crosstab_min": 10, "zero_safe_margin": 10, "round_regional_to": 10}


def grid(m: np.ndarray, total: str = "T") -> pd.DataFrame:
    """Long table of a matrix with row, column and grand totals."""
    rows = []
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            rows.append({"r": f"r{i}", "c": f"c{j}", "n": int(m[i, j])})
        rows.append({"r": f"r{i}", "c": total, "n": int(m[i].sum())})
    for j in range(m.shape[1]):
        rows.append({"r": total, "c": f"c{j}", "n": int(m[:, j].sum())})
    rows.append({"r": total, "c": total, "n": int(m.sum())})
    return pd.DataFrame(rows)


GRID_SPEC = TableSpec("grid", ("n",), ("r", "c"), (Line("c", "T"), Line("r", "T")))


def cell(df: pd.DataFrame, r: str, c: str, col: str = "n") -> float:
    return float(df.loc[(df.r == r) & (df.c == c), col].iloc[0])


def test_la_totals_primary_only_hides_one_to_five():
    df = pd.DataFrame({"la_code": list("ABCDEF"), "n": [0, 1, 5, 6, 120, 3]})
    spec = TableSpec("la", "n", "la_code", level="la_total")
    out = protect(df, spec, TH)
    assert out.n.isna().tolist() == [False, True, True, False, False, True]
    assert out.note.tolist() == ["", "[c]", "[c]", "", "", "[c]"]
    assert out.loc[0, "n"] == 0 and out.loc[3, "n"] == 6
    assert list(out.columns) == ["la_code", "n", "note"]


def test_crosstab_threshold_is_stricter():
    df = pd.DataFrame({"d": [1, 2], "n": [9, 10]})
    out = protect(df, TableSpec("x", "n", "d", level="crosstab"), TH)
    assert math.isnan(out.n[0]) and out.n[1] == 10


def test_zero_hidden_only_in_small_lines():
    small = pd.DataFrame({"d": [1, 2, 3, "T"], "n": [7, 0, 0, 7]})
    spec = TableSpec("z", "n", "d", (Line("d", "T"),), totals_level="la_total")
    out = protect(small, spec, TH)
    assert out.n.iloc[:3].isna().all()  # 7 of 7 in decile 1 would be disclosed by the zeros
    assert out.n.iloc[3] == 7  # the line total stays published
    big = pd.DataFrame({"d": [1, 2, 3, "T"], "n": [30, 0, 12, 42]})
    out = protect(big, spec, TH)
    assert out.n.tolist() == [30, 0, 12, 42]


def test_single_suppressed_cell_recoverable_by_differencing_gets_secondary():
    # As sdcTable's simpleheuristic test: hiding only the primary cell leaks it through the
    # row and column totals (3 = 38 - 20 - 15).
    m = np.array([[20, 3, 15], [12, 25, 30], [14, 22, 18]])
    df = grid(m)
    naive = df.copy()
    naive.loc[(naive.r == "r0") & (naive.c == "c1"), "n"] = np.nan
    with pytest.raises(
        DisclosureError, match=r"grid.*n along c for r=r0|grid.*n along r for c=c1"
    ):
        assert_not_recoverable(df, naive, GRID_SPEC, TH)
    out = protect(df, GRID_SPEC, TH)
    hidden = out.n.isna()
    assert hidden.sum() >= 4  # primary + secondary in its row, its column and a closing cell
    assert math.isnan(cell(out, "r0", "c1"))
    for r, group in out[out.c != "T"].groupby("r"):
        assert group.n.isna().sum() != 1, r
    for c, group in out[out.r != "T"].groupby("c"):
        assert group.n.isna().sum() != 1, c
    assert_not_recoverable(df, out, GRID_SPEC, TH)


def test_hidden_pair_with_small_sum_is_extended():
    # Two hidden cells 3 and 4 in one line: their sum (7) is recoverable and below 10.
    df = pd.DataFrame({"d": [1, 2, 3, 4, "T"], "n": [3, 4, 40, 50, 97]})
    out = protect(df, TableSpec("s", "n", "d", (Line("d", "T"),)), TH)
    assert out.n.isna().sum() == 3 and math.isnan(out.n[2])


def test_unpublished_margin_check_is_named():
    df = pd.DataFrame({"d": [1, 2, 3], "n": [3, 40, 50]})  # line total published elsewhere
    spec = TableSpec("external", "n", "d", (Line("d"),))
    naive = df.assign(n=[np.nan, 40, 50])
    with pytest.raises(DisclosureError, match="external"):
        assert_not_recoverable(df, naive, spec, TH)
    out = protect(df, spec, TH)
    assert out.n.isna().tolist() == [True, True, False]


def test_published_confidential_count_fails_check():
    df = pd.DataFrame({"d": [1, 2], "n": [3, 40]})
    spec = TableSpec("leaky", "n", "d")
    with pytest.raises(DisclosureError, match="published unsuppressed"):
        assert_not_recoverable(df, df.copy(), spec, TH)


def test_dependents_hidden_and_notes_merged():
    df = pd.DataFrame(
        {
            "la_code": ["A", "B", "C"],
            "n": [4, 50, np.nan],
            "rate": [1.2, 15.0, np.nan],
            "lower": [0.3, 11.0, np.nan],
            "note": ["", "[low]", ""],
        }
    )
    spec = TableSpec("rates", "n", "la_code", level="la_total", dependents=("rate", "lower"))
    out = protect(df, spec, TH)
    assert out.loc[0, ["n", "rate", "lower"]].isna().all()
    assert out.loc[1, "rate"] == 15.0
    assert out.note.tolist() == ["[c]", "[low]", "[x]"]
    assert list(out.columns) == list(df.columns)


def test_regional_rows_rounded_after_suppression():
    df = pd.DataFrame(
        {"la_code": ["A", "B", "REGION"], "n": [123, 4, 127], "name": ["a", "b", "r"]}
    )
    spec = TableSpec(
        "totals",
        "n",
        "la_code",
        (Line("la_code", "REGION"),),
        level="la_total",
        round_to="round_regional_to",
        round_where={"la_code": "REGION"},
    )
    out = protect(df, spec, TH)
    assert out.n[2] == 130  # rounded to nearest 10
    assert math.isnan(out.n[1])
    # An exact total would give B away (127 - 123); rounded to 130 it leaves B anywhere in
    # 2..11, wider than the threshold, so A may stay published.
    assert out.n[0] == 123
    assert_not_recoverable(df, out, spec, TH)


@pytest.mark.parametrize("column", ["lsoa_code", "LSOA11CD", "child_pid", "postcode", "dob"])
def test_refuses_identifying_columns(column):
    df = pd.DataFrame({column: ["x"], "la_code": ["A"], "n": [10]})
    with pytest.raises(DisclosureError, match="must never leave the results store"):
        protect(df, TableSpec("bad", "n", "la_code"), TH)


def test_duplicate_cells_refused():
    df = pd.DataFrame({"la_code": ["A", "A"], "n": [10, 12]})
    with pytest.raises(DisclosureError, match="share the same"):
        protect(df, TableSpec("dup", "n", "la_code"), TH)


def _regional(m: np.ndarray) -> pd.DataFrame:
    rows = []
    for i, la in enumerate(["A", "B", "C"]):
        for j in range(m.shape[1]):
            rows.append({"la_code": la, "imd_decile": j + 1, "n": int(m[i, j])})
        rows.append({"la_code": la, "imd_decile": "Total", "n": int(m[i].sum())})
    return pd.DataFrame(rows)


def test_family_hides_shared_cell_everywhere():
    m = np.array([[3, 12, 40, 45], [40, 30, 35, 60], [50, 44, 33, 70]])
    regional = _regional(m)
    decile_spec = TableSpec(
        "regional",
        "n",
        ("la_code", "imd_decile"),
        (Line("imd_decile", "Total"), Line("la_code")),
    )
    profiles = {
        f"profile_{la}": regional[regional.la_code == la].drop(columns="la_code") for la in "ABC"
    }
    specs = [decile_spec] + [
        TableSpec(
            name,
            "n",
            ("imd_decile",),
            (Line("imd_decile", "Total"),),
            constants={"la_code": name[-1]},
        )
        for name in profiles
    ]
    # Alone, LA B's profile has nothing to hide.
    alone = protect(profiles["profile_B"], specs[2], TH)
    assert alone.n.notna().all()
    out = protect_family({"regional": regional, **profiles}, specs, TH)
    reg = out["regional"]
    hidden_b = reg[(reg.la_code == "B") & reg.n.isna()].imd_decile.tolist()
    assert hidden_b, "the decile-1 column needs a second hidden cell"
    prof_b = out["profile_B"]
    assert prof_b[prof_b.n.isna()].imd_decile.tolist() == hidden_b
    assert_family_not_recoverable({"regional": regional, **profiles}, out, specs, TH)


def test_family_rejects_disagreeing_tables():
    a = pd.DataFrame({"la_code": ["A"], "n": [10]})
    b = pd.DataFrame({"la_code": ["A"], "n": [11]})
    specs = [TableSpec("a", "n", "la_code"), TableSpec("b", "n", "la_code")]
    with pytest.raises(DisclosureError, match="different value"):
        protect_family({"a": a, "b": b}, specs, TH)


def test_format_cell_and_rule_text():
    assert format_cell(float("nan"), "[c]") == "[c]"
    assert format_cell(None, "[z]") == "[z]"
    assert format_cell(float("nan"), "") == "[x]"
    assert format_cell(1234.5, "", 1) == "1,234.5"
    assert format_cell(12, "[c]") == "12"
    text = rule_text(TH)
    assert "1 to 5" in text and "1 to 9" in text and "[c]" in text
    # No published table is rounded any more (one precision per quantity): no rounding claim.
    assert "nearest" not in text and "NOT FOR PUBLICATION" not in text
    low = rule_text({**TH, "la_total_min": 3})
    assert "1 to 2" in low and low.startswith("NOT FOR PUBLICATION")
    # A threshold of 0 or 1 never reads "counts of 1 to -1".
    off = rule_text({**TH, "la_total_min": 0, "crosstab_min": 1})
    assert "-1" not in off and "1 to 0" not in off and "No counts are suppressed" in off
