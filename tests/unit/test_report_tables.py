"""The one table renderer: readable cells, shorthand, a year column where years mix, no silent cut."""

from __future__ import annotations

import math

import pandas as pd

from cwi.report.tables import Col, format_value, table_fragment


def test_cells_are_formatted_for_readers():
    assert format_value(3500.0, "int") == "3,500"
    assert format_value(0.3123, "pct") == "31%"
    assert format_value(0.3123, "pct1") == "31.2%"
    assert format_value(0.0000123, "p") == "< 0.001"
    assert format_value(0.0456, "p") == "0.046"
    assert format_value(math.nan, "dec1", "[c]") == "[c]"
    assert format_value(math.nan, "dec1", "") == "[x]"
    assert format_value(1.23456, "dec2") == "1.23"


def _frame(years):
    return pd.DataFrame(
        {
            "year": years,
            "la_name": [f"LA {i}" for i in range(len(years))],
            "n": [10.0] * (len(years) - 1) + [math.nan],
            "lower": [1.0] * len(years),
            "upper": [2.0] * len(years),
            "note": [""] * (len(years) - 1) + ["[c]"],
        }
    )


COLS = [Col("la_name", "Local authority"), Col("n", "Children", "int"),
        Col("lower", "95% CI", "ci", upper="upper", decimals=1)]  # fmt: skip


def test_year_column_only_where_years_mix():
    mixed = table_fragment(_frame([2021, 2022, 2023]), COLS, name="t", title="T")
    assert "Year (31 March)" in mixed and ">2021<" in mixed
    one = table_fragment(_frame([2023, 2023]), COLS, name="t", title="T", subtitle="Region")
    assert "Year (31 March)" not in one and "Region, 31 March 2023" in one


def test_suppressed_cells_show_shorthand_and_its_meaning():
    out = table_fragment(_frame([2023, 2023]), COLS, name="t", title="T")
    assert ">[c]<" in out and "hidden to protect confidentiality" in out
    assert ">1.0 to 2.0<" in out and ">10<" in out


def test_long_tables_say_how_many_rows_they_show():
    frame = _frame([2023] * 50)
    cut = table_fragment(frame, COLS, name="t", title="T", max_rows=40, download="x.csv")
    assert "Showing 40 of 50 rows. All 50 rows are in the download x.csv." in cut
    assert cut.count("<tr") < 50
    full = table_fragment(frame, COLS, name="t", title="T")
    assert "Showing" not in full and "LA 49" in full


def test_output_is_reproducible_raw_html_block():
    a = table_fragment(_frame([2023]), COLS, name="q1/x", title="T")
    b = table_fragment(_frame([2023]), COLS, name="q1/x", title="T")
    assert a == b and a.startswith("```{=html}")
    wide = [Col("la_name", "LA")] + [Col("n", f"c{i}", "int") for i in range(8)]
    assert "cwi-wide" in table_fragment(_frame([2023]), wide, name="w", title="T")


def test_repeated_headers_keep_every_column():
    frame = pd.DataFrame({"a": [1.0], "a_lo": [0.5], "a_hi": [1.5], "b": [2.0], "b_lo": [1.5],
                          "b_hi": [2.5], "year": [2023]})  # fmt: skip
    cols = [Col("a", "A", "dec1"), Col("a_lo", "95% CI", "ci", upper="a_hi", decimals=1),
            Col("b", "B", "dec1"), Col("b_lo", "95% CI", "ci", upper="b_hi", decimals=1)]  # fmt: skip
    out = table_fragment(frame, cols, name="t", title="T")
    assert ">0.5 to 1.5<" in out and ">1.5 to 2.5<" in out
    assert out.count(">95% CI<") == 2
