"""Unit tests of cwi.leaks: each output format, each kind of value, and clean files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cwi.leaks import LeakFinding, scan_cli, scan_paths, scan_text

TH = {"la_total_min": 6, "crosstab_min": 10, "zero_safe_margin": 10, "round_regional_to": 10}
SENTINEL = "ZQXCHILD0042"
PID = "3f" * 32  # looks like an HMAC-SHA256 pseudonym
POSTCODE = "XA9 9ZZ"
LSOA = "E01012345"
DOB = "14/07/2015"

CLEAN_HTML = """<!doctype html><html><head><title>Children in need in Demo LA</title>
<style>.a{color:#A1B2CD} h1{margin:0}</style></head><body>
<h1>Children in need, 31 March 2023</h1>
<p>Snapshot at 31/03/2023. Decile 1 (most deprived) had 412 children in need (rate 123.4
per 10,000), LA code E06000001, region E12000001. Counts of 1 to 5 are shown as [c].</p>
<p>Built 2025-06-01T10:22:00 from release 2023-24; data vintage 2024-11-30.</p>
<svg><path d="M0 0 L0 15.8 L6.6 18.6 Z"/><title>Rate by decile</title></svg>
<table><tr><th>Decile</th><th>n</th></tr><tr><td>1</td><td>[c]</td></tr></table>
</body></html>"""


def kinds(findings: list[LeakFinding], name: str) -> set[str]:
    return {f.kind for f in findings if Path(f.file).name == name}


def assert_no_values(findings: list[LeakFinding]) -> None:
    for f in findings:
        for value in (SENTINEL, PID, POSTCODE, LSOA, DOB, "XA9 9", "E01"):
            assert value not in f.detail, f


def test_scan_text_kinds():
    text = f"id {PID} dob {DOB} at {POSTCODE} sector XA9 9 lsoa {LSOA} oa E00123456 {SENTINEL}"
    found = {k for k, _ in scan_text(text, [SENTINEL.lower()])}
    assert found == {
        "sentinel",
        "pseudonymised id",
        "date of birth",
        "postcode",
        "postcode sector",
        "LSOA code",
        "output area code",
    }


def test_clean_html_passes(tmp_path):
    (tmp_path / "index.html").write_text(CLEAN_HTML, encoding="utf-8")
    assert scan_paths(tmp_path, [SENTINEL], TH) == []


def test_leaky_html_and_js_caught(tmp_path):
    page = CLEAN_HTML.replace(
        "</body>", f'<img alt="child {SENTINEL}" src="x.png"><p>{LSOA}</p></body>'
    )
    (tmp_path / "la").mkdir()
    (tmp_path / "la" / "E06000001.html").write_text(page, encoding="utf-8")
    (tmp_path / "chart.js").write_text(f'var data = [{{"pid": "{PID}", "dob": "{DOB}"}}];\n')
    (tmp_path / "map.svg").write_text(
        f"<svg><title>{POSTCODE.replace(' ', '&#32;')}</title></svg>"
    )
    found = scan_paths(tmp_path, [SENTINEL], TH)
    assert kinds(found, "E06000001.html") == {"sentinel", "LSOA code"}
    assert kinds(found, "chart.js") == {"pseudonymised id", "date of birth"}
    assert kinds(found, "map.svg") == {"postcode"}
    assert all("line" in f.detail for f in found)
    assert_no_values(found)


def test_file_names_are_scanned(tmp_path):
    (tmp_path / f"{LSOA}.html").write_text("<p>ok</p>")
    assert kinds(scan_paths(tmp_path, (), TH), f"{LSOA}.html") == {"LSOA code"}


def test_pdf_text_and_metadata(tmp_path):
    weasyprint = pytest.importorskip("weasyprint")
    leaky_text = (
        f"<html><head><title>Profile</title></head><body><p>Home {POSTCODE}</p></body></html>"
    )
    leaky_meta = (
        f'<html><head><title>Profile {LSOA}</title><meta name="author" content="{SENTINEL}">'
        "</head><body><p>Rates by decile.</p></body></html>"
    )
    clean = (
        "<html><head><title>Profile</title></head><body><p>Rate 12.3 per 10,000.</p></body></html>"
    )
    weasyprint.HTML(string=leaky_text).write_pdf(tmp_path / "text.pdf")
    weasyprint.HTML(string=leaky_meta).write_pdf(tmp_path / "meta.pdf")
    weasyprint.HTML(string=clean).write_pdf(tmp_path / "clean.pdf")
    found = scan_paths(tmp_path, [SENTINEL], TH)
    assert kinds(found, "text.pdf") == {"postcode"}
    assert any("page 1" in f.detail for f in found if Path(f.file).name == "text.pdf")
    assert kinds(found, "meta.pdf") == {"LSOA code", "sentinel"}
    assert all("metadata" in f.detail for f in found if Path(f.file).name == "meta.pdf")
    assert kinds(found, "clean.pdf") == set()
    assert_no_values(found)


def test_png_text_chunks(tmp_path):
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"source rows for {SENTINEL}")
    info.add_itxt("Description", f"LSOA {LSOA}")
    Image.new("RGB", (4, 4)).save(tmp_path / "leaky.png", pnginfo=info)
    clean = PngImagePlugin.PngInfo()
    clean.add_text("Software", "Matplotlib version3.11.2, https://matplotlib.org/")
    Image.new("RGB", (4, 4)).save(tmp_path / "clean.png", pnginfo=clean)
    found = scan_paths(tmp_path, [SENTINEL], TH)
    assert kinds(found, "leaky.png") == {"sentinel", "LSOA code"}
    assert any("Comment" in f.detail for f in found)
    assert kinds(found, "clean.png") == set()
    assert_no_values(found)


def test_csv_small_counts_and_iso_dates(tmp_path):
    (tmp_path / "leaky.csv").write_text(
        "la_code,imd_decile,n,rate,note\nE06000001,1,3,1.2,\nE06000001,2,[c],,[c]\n"
        "E06000001,3,40,2015-07-14,\n",
        encoding="utf-8",
    )
    (tmp_path / "clean.csv").write_text(
        "la_code,imd_decile,n,rate,note\nE06000001,1,,,[c]\nE06000001,2,0,0.0,\n"
        "E06000001,3,412,123.4,\nE06000001,4,6,2.0,\n",
        encoding="utf-8",
    )
    found = scan_paths(tmp_path, (), TH)
    assert kinds(found, "leaky.csv") == {"small count", "date of birth"}
    small = next(f for f in found if f.kind == "small count")
    assert "row 2" in small.detail and "'n'" in small.detail
    assert kinds(found, "clean.csv") == set()


def test_xlsx_cells_dates_and_properties(tmp_path):
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Table 1"
    ws.append(["Children in need by decile"])
    ws.append(["la_code", "imd_decile", "count", "note"])
    ws.append(["E06000001", 1, 2, ""])
    ws.append(["E06000001", 2, 50, ""])
    ws.append(["E06000001", 3, dt.date(2015, 7, 14), ""])
    wb.properties.creator = SENTINEL
    wb.save(tmp_path / "leaky.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["la_code", "imd_decile", "count", "note"])
    ws.append(["E06000001", 1, None, "[c]"])
    ws.append(["E06000001", 2, 50, ""])
    ws.append(["Snapshot", "31 March 2023", dt.date(2023, 3, 31), ""])
    wb.save(tmp_path / "clean.xlsx")
    found = scan_paths(tmp_path, [SENTINEL], TH)
    assert kinds(found, "leaky.xlsx") == {"small count", "date of birth", "sentinel"}
    assert any("cell C3" in f.detail for f in found if f.kind == "small count")
    assert kinds(found, "clean.xlsx") == set()
    assert_no_values(found)


def test_json_iso_dates_only_in_data(tmp_path):
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "built_at": "2025-06-01",
                "inputs": [{"file": "imd.csv", "sha256": "ab" * 32}],
                "release_date": "2024-11-30",
            }
        )
    )
    (tmp_path / "chart.json").write_text(json.dumps({"points": [{"x": "2015-07-14", "y": 3}]}))
    found = scan_paths(tmp_path, (), TH)
    assert kinds(found, "manifest.json") == set()
    assert kinds(found, "chart.json") == {"date of birth"}
    assert "/points/0/x" in found[0].detail


def test_unreadable_file_is_a_finding(tmp_path):
    (tmp_path / "broken.pdf").write_bytes(b"not a pdf")
    assert kinds(scan_paths(tmp_path, (), TH), "broken.pdf") == {"unreadable"}


class _Settings:
    disclosure = TH


def test_scan_cli_exit_codes(tmp_path, capsys):
    (tmp_path / "index.html").write_text(CLEAN_HTML)
    assert scan_cli(tmp_path, _Settings()) == 0
    (tmp_path / "leak.html").write_text(f"<p>{POSTCODE}</p>")
    assert scan_cli(tmp_path, _Settings()) == 1
    err = capsys.readouterr().err
    assert "leak.html" in err and "postcode" in err and POSTCODE not in err
    assert scan_cli(tmp_path / "missing", _Settings()) == 1


def test_image_inlined_in_html_is_checked(tmp_path):
    import base64
    import io

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"child {SENTINEL}")
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, format="PNG", pnginfo=info)
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    (tmp_path / "page.html").write_text(f'<img alt="Rates by decile" src="{uri}">')
    found = scan_paths(tmp_path, [SENTINEL], TH)
    assert kinds(found, "page.html") == {"sentinel"}
    assert "embedded image 1" in found[0].detail
