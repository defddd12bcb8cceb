"""Unsafe (low-threshold) builds: every output stamped NOT FOR PUBLICATION; scanner unmoved."""

from __future__ import annotations

from pathlib import Path

from cwi.disclosure.stamp import is_stamped, stamp_outputs
from cwi.disclosure.symbols import publication_stamp
from cwi.leaks import scan_paths

TH = {"la_total_min": 6, "crosstab_min": 10, "zero_safe_margin": 10, "round_regional_to": 10}


def _outputs(folder: Path) -> list[Path]:
    import openpyxl
    from weasyprint import HTML

    folder.mkdir()
    (folder / "index.html").write_text("<html><body><h1>Report</h1></body></html>")
    (folder / "q1_decile_rates.csv").write_text(
        "year,measure,area_code,imd_decile,n\n2023,CLA,X1,1,3\n"
    )
    wb = openpyxl.Workbook()
    wb.active.append(["year", "n"])
    wb.active.append([2023, 40])
    wb.save(folder / "tables.xlsx")
    HTML(string="<p>Profile of X1</p>").write_pdf(folder / "X1.pdf")
    return sorted(p for p in folder.iterdir())


def test_every_output_is_stamped_once(tmp_path):
    stamp = publication_stamp({**TH, "crosstab_min": 3})
    assert stamp
    files = _outputs(tmp_path / "site")
    assert not any(is_stamped(p) for p in files)
    assert stamp_outputs(tmp_path / "site", stamp) == 4
    assert all(is_stamped(p) for p in files), [p.name for p in files if not is_stamped(p)]
    before = {p: p.read_bytes() for p in files}
    stamp_outputs(tmp_path / "site", stamp)  # idempotent
    assert {p: p.read_bytes() for p in files} == before
    html = (tmp_path / "site" / "index.html").read_text()
    assert html.index("NOT FOR PUBLICATION") < html.index("<h1>")
    # the scanner still reads the stamped CSV, with the documented minimum as its limit
    found = scan_paths(tmp_path / "site", (), {**TH, "crosstab_min": 3}, workers=1, years=[2023])
    assert {(Path(f.file).name, f.kind) for f in found} == {("q1_decile_rates.csv", "small count")}


def test_publishable_thresholds_get_no_stamp():
    assert publication_stamp(TH) is None
