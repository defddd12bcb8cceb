"""Download tables are written the way a reader expects: integers, 1-dp rates, shorthand."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from cwi.site.downloads import column_kinds, write_csv, write_workbook


def _rates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "year": [2023, 2023, 2023],
            "measure": ["CIN", "CIN", "null"],
            "n": [21330.0, np.nan, 12.0],
            "population": [427694.0, 5000.0, 800.0],
            "rate": [498.72104822606815, np.nan, 150.0],
            "lower": [492.0503800305741, np.nan, 77.5],
            "upper": [505.4595454292584, np.nan, 262.04],
            "note": ["", "[c]", ""],
        }
    )


def test_counts_are_integers_rates_one_decimal_and_suppressed_cells_carry_c(tmp_path):
    out = tmp_path / "t.csv"
    assert write_csv(_rates(), out) == 3
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == ["year", "measure", "n", "population", "rate", "lower", "upper", "note"]
    assert rows[1] == ["2023", "CIN", "21330", "427694", "498.7", "492.1", "505.5", ""]
    assert rows[2] == ["2023", "CIN", "[c]", "5000", "[c]", "[c]", "[c]", "[c]"]
    assert rows[3][4:7] == ["150.0", "77.5", "262.0"]  # a rate keeps its one decimal place
    assert rows[3][1] == "null"  # text is text


def test_estimates_are_rounded_and_small_values_keep_three_significant_figures(tmp_path):
    frame = pd.DataFrame(
        {
            "estimate": [1.2793714006719303, 0.0031444512],
            "p_value": [8.188928158967337e-23, 0.7693666856806052],
            "term": ["a", None],
            "lower": [1.27, np.nan],
        }
    )
    kinds = {c.name: c.kind for c in column_kinds(frame)}
    assert kinds == {
        "estimate": "decimal",
        "p_value": "decimal",
        "term": "text",
        "lower": "decimal",
    }
    out = tmp_path / "e.csv"
    write_csv(frame, out)
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[1] == ["1.279", "8.19e-23", "a", "1.27"]
    assert rows[2] == ["0.00314", "0.769", "", "[z]"]  # an empty estimate is "not applicable"


def test_workbook_has_contents_notes_and_one_titled_sheet_per_table(tmp_path):
    path = tmp_path / "w.xlsx"
    tables = [("q1_rates", "Rates by decile", _rates()), ("other", "Other", _rates().head(1))]
    write_workbook(tables, path, "CWI tables", ["Note one.", "Note two."], "Demo data")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Contents", "Notes", "q1_rates", "other"]
    contents = list(wb["Contents"].iter_rows(min_row=3, values_only=True))
    assert contents == [
        ("Sheet", "Table title", "Rows"),
        ("q1_rates", "Rates by decile", 3),
        ("other", "Other", 1),
    ]
    assert wb["Contents"]["A4"].hyperlink.location == "'q1_rates'!A1"
    notes = list(wb["Notes"].iter_rows(min_row=4, values_only=True))
    assert notes == [("[note 1]", "Note one."), ("[note 2]", "Note two.")]
    ws = wb["q1_rates"]
    assert ws["A1"].value == "Rates by decile" and "Demo data" in ws["A3"].value
    assert [c.value for c in ws[4]] == list(_rates().columns)
    assert [c.value for c in ws[5]][:7] == [2023, "CIN", 21330, 427694, 498.7, 492.1, 505.5]
    assert isinstance(ws["C5"].value, int) and ws["E5"].number_format == "0.0"
    assert ws["C6"].value == "[c]"
    assert list(ws.tables) == ["t_q1_rates"]
