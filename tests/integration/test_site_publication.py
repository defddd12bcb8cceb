"""What the demo build publishes besides pages: downloads, the workbook, the search index."""

from __future__ import annotations

import csv
import json
import re
import shutil

import pytest
from openpyxl import load_workbook

from cwi.leaks import scan_paths

pytestmark = pytest.mark.slow

_DECIMAL = re.compile(r"^-?(\d+)\.(\d+)$")


def _too_precise(cell: str) -> bool:
    """More than 3 decimal places (more than 3 significant figures below 0.01)."""
    match = _DECIMAL.match(cell)
    if not match:
        return False
    whole, frac = match.groups()
    if int(whole) == 0 and frac.startswith("00"):
        return len(frac.lstrip("0")) > 3
    return len(frac) > 3


def test_every_download_has_rows_and_numbers_are_written_for_readers(built):
    folder = built["site"] / "downloads"
    csvs = sorted(folder.glob("*.csv"))
    assert len(csvs) >= 20
    bad = []
    for path in csvs:
        rows = list(csv.reader(path.open(encoding="utf-8")))
        assert len(rows) >= 2, f"{path.name} is published with no rows"
        header = rows[0]
        for row in rows[1:]:
            for name, cell in zip(header, row, strict=True):
                if _too_precise(cell):
                    bad.append(f"{path.name}:{name}={cell}")
                # AF shorthand: [c] confidential, [x] not available, [z] not applicable
                is_count = name in ("n", "population", "observed", "year") or name.startswith("n_")
                if is_count and not re.fullmatch(r"\d+|\[[cxz]\]|", cell):
                    bad.append(f"{path.name}:{name}={cell}")
                if name == "rate" and cell and not re.fullmatch(r"\d+\.\d|\[[cxz]\]", cell):
                    bad.append(f"{path.name}:{name}={cell}")
    assert bad == []
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert "[c]" in readme and "cwi_tables.xlsx" in readme
    # A suppressed cell carries the shorthand in the cell itself.
    rows = list(csv.DictReader((folder / "q1_decile_rates.csv").open(encoding="utf-8")))
    hidden = [r for r in rows if "[c]" in r["note"]]
    assert hidden and all(r["n"] == "[c]" and r["rate"] == "[c]" for r in hidden)


def test_the_workbook_holds_every_csv_table_with_contents_and_notes(built):
    folder = built["site"] / "downloads"
    wb = load_workbook(folder / "cwi_tables.xlsx")
    names = sorted(p.stem for p in folder.glob("*.csv"))
    assert wb.sheetnames[:2] == ["Contents", "Notes"]
    assert sorted(wb.sheetnames[2:]) == sorted(n[:31] for n in names)
    listed = [r[0] for r in wb["Contents"].iter_rows(min_row=4, values_only=True)]
    assert sorted(listed) == sorted(wb.sheetnames[2:])
    ws = wb["q1_decile_rates"]
    assert ws["A1"].value == "Rates by IMD decile"
    header = [c.value for c in ws[4]]
    first = dict(zip(header, [c.value for c in ws[5]], strict=True))
    assert isinstance(first["n"], int) and isinstance(first["year"], int)
    assert first["rate"] == round(first["rate"], 1)
    for sheet in wb.sheetnames[2:]:
        assert wb[sheet].max_row >= 5, f"sheet {sheet} has no rows"


def test_search_index_is_scanned_and_clean_and_a_planted_leak_in_it_is_caught(built, tmp_path):
    site = built["site"]
    docs = json.loads((site / "search.json").read_text(encoding="utf-8"))
    assert {d["href"] for d in docs} >= {"index.html", "la_profiles/index.html"}
    assert (site / "site_libs" / "search-index.json").is_file()
    clean = [site / "search.json", site / "site_libs" / "search-index.json"]
    copy = tmp_path / "site"
    copy.mkdir()
    for path in clean:
        shutil.copy2(path, copy / path.name)
    assert scan_paths(copy) == []
    docs.append({"href": "x.html", "title": "x", "text": "The child lives at XB1 2CD now."})
    (copy / "search.json").write_text(json.dumps(docs), encoding="utf-8")
    assert [f.kind for f in scan_paths(copy)] == ["postcode"]
