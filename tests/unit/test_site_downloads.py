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


def _awkward() -> pd.DataFrame:
    """Every kind of cell the writers meet: suppressed, missing, halves, tiny, text, flags."""
    n = 40
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "la_code": [f"E0{i:07d}" for i in range(n)],
            "year": np.repeat([2021, 2022], n // 2),
            "n": rng.integers(0, 50_000, n).astype(float),
            "rate": rng.normal(300, 200, n),
            "lower": rng.normal(250, 100, n),
            "upper": rng.normal(350, 100, n),
            "estimate_rate": [0.15, 0.25, 2.675, 0.05, -0.35] * (n // 5),
            "p_value": rng.uniform(0, 1e-3, n),
            "ratio": rng.normal(1, 0.5, n),
            "big": [2**40 + 0.5, 2.5, 3.5, -0.5] * (n // 4),
            "flag": [True, False] * (n // 2),
            "term": [" padded ", "a & b <c>", None, "null", "=1+1", "#N/A", "cr\r\nlf", "t\tab"]
            * (n // 8),
            "note": ["", "[c] small", "[x] not collected", "[low] flagged", "other"] * (n // 5),
        }
    )
    for col, step in (("n", 3), ("rate", 4), ("p_value", 5), ("ratio", 7), ("lower", 6)):
        frame.loc[frame.index[::step], col] = np.nan
    frame.loc[3, "p_value"] = 0.0
    return frame


def test_fast_writers_give_the_reference_csv_bytes_and_workbook_cells(tmp_path):
    from tests.downloads_compare import describe
    from tests.downloads_reference import write_csv as ref_csv
    from tests.downloads_reference import write_workbook as ref_workbook

    frames = [_rates(), _awkward(), _awkward().drop(columns="note")]
    for i, frame in enumerate(frames):
        assert write_csv(frame, tmp_path / f"{i}.csv") == ref_csv(frame, tmp_path / f"r{i}.csv")
        assert (tmp_path / f"{i}.csv").read_bytes() == (tmp_path / f"r{i}.csv").read_bytes()
    tables = [(f"t{i}", f"Table {i}", f) for i, f in enumerate(frames)]
    args = ("CWI tables", ["Note one.", "Note & two."], "Demo <data>")
    write_workbook(tables, tmp_path / "new.xlsx", *args)
    ref_workbook(tables, tmp_path / "ref.xlsx", *args)
    new, ref = describe(tmp_path / "new.xlsx"), describe(tmp_path / "ref.xlsx")
    assert new.keys() == ref.keys()
    for key in ref:
        assert new[key] == ref[key], key
    # shorthand from the note, [z] without one; numbers formatted, text left alone
    cells = {c[0]: c for c in new["t1"]["cells"]}
    assert cells["C11"][1:4] == ("str", "[c]", "General")  # empty n, note "[c] small"
    assert cells["C8"][2] == "[low]" and cells["H10"][2] == "[z]"  # no shorthand in the note
    assert cells["C6"][1:4] == ("int", int(frames[1]["n"].iloc[1]), "0")
    assert cells["G5"][1:4] == ("float", 0.1, "0.0")  # round(0.15, 1), not numpy's 0.2


def test_the_same_tables_give_the_same_workbook_bytes(tmp_path):
    import time

    tables = [("rates", "Rates", _rates())]
    write_workbook(tables, tmp_path / "a.xlsx", "T", ["n"], "s")
    time.sleep(1.1)  # zip entries and document properties carry no clock time
    write_workbook(tables, tmp_path / "b.xlsx", "T", ["n"], "s")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


def test_ready_made_rows_are_the_bytes_lxml_would_write_and_published_values_are_reused(
    tmp_path,
):
    from lxml import etree

    from cwi.site.downloads import _row_blocks, _RowsXML, published

    frame = _awkward()
    table = published(frame)
    styles = [None if c.kind in ("text", "decimal") else "1" for c in table.columns]
    blocks = [b for b in _row_blocks(table.columns, table.values, styles, 5)]
    ready = [b for b in blocks if isinstance(b, _RowsXML)]
    assert ready and sum(b.rows for b in ready) < len(frame)  # some rows went openpyxl's way
    for block in ready:  # spliced in as text: what parsing and writing it again would give
        parsed = etree.fromstring(f"<rows>{block[0]}</rows>".encode())
        again = b"".join(etree.tostring(row, encoding="utf-8") for row in parsed)
        assert again.decode("utf-8") == block[0]
    tables = [("awkward", "Awkward", frame), ("rates", "Rates", _rates())]
    write_workbook(tables, tmp_path / "frames.xlsx", "T", ["n"], "s")
    made = [(n, t, published(f)) for n, t, f in tables]
    write_workbook(made, tmp_path / "made.xlsx", "T", ["n"], "s")
    assert (tmp_path / "frames.xlsx").read_bytes() == (tmp_path / "made.xlsx").read_bytes()
    assert write_csv(made[0][2], tmp_path / "a.csv") == write_csv(frame, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
