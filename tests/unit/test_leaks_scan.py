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
        "E06000001,3,412,123.4,\nE06000001,4,12,2.0,\n",
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


def test_workbooks_scanned_by_worker_processes_give_the_same_findings(tmp_path):
    """Heavy files go to fresh worker processes (spawned, not forked); nothing is lost there."""
    import openpyxl

    for k in range(4):
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Table 1"
        ws.append(["la_code", "imd_decile", "count", "note"])
        ws.append(["E06000001", 1, 3 if k == 1 else 50, SENTINEL if k == 2 else ""])
        ws.append(["E06000001", 2, 40, POSTCODE if k == 3 else ""])
        wb.save(tmp_path / f"book{k}.xlsx")
    pooled = scan_paths(tmp_path, [SENTINEL], TH, workers=2, years=[2023])
    assert pooled == scan_paths(tmp_path, [SENTINEL], TH, workers=1, years=[2023])
    assert kinds(pooled, "book0.xlsx") == set()
    assert kinds(pooled, "book1.xlsx") == {"small count"}
    assert kinds(pooled, "book2.xlsx") == {"sentinel"}
    assert kinds(pooled, "book3.xlsx") == {"postcode"}


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


# ---- issue 12, item 4: what the scanner used to miss ------------------------------------------

PID24 = "9c1e4b7a2d3f5e6a7b8c9d0e"  # a pseudonym of the real length (cwi.ingest.pseudo)


def test_pseudonyms_of_the_real_length_are_caught(tmp_path):
    from cwi.ingest.pseudo import PID_LENGTH

    assert len(PID24) == PID_LENGTH
    (tmp_path / "page.html").write_text(f"<p>child {PID24} was placed</p>", encoding="utf-8")
    # cache-busting file names (32 hex) and checksums are not pseudonyms
    (tmp_path / "ok.html").write_text(
        '<link href="site_libs/quarto-2f5df379a58b258e96c21c0638c20c03.css">'
        f"<p>sha256 {'ab' * 32}</p><p>{'1' * 24}</p>",
        encoding="utf-8",
    )
    found = scan_paths(tmp_path, (), TH, years=[2023])
    assert kinds(found, "page.html") == {"pseudonymised id"}
    assert kinds(found, "ok.html") == set()
    assert PID24 not in " ".join(f.detail for f in found)


def test_private_data_files_in_the_site_are_findings(tmp_path):
    for name in ("children.parquet", "cube.pkl", "t.feather", "x.sqlite", "pseudo.key"):
        (tmp_path / name).write_bytes(b"PAR1 whatever")
    found = scan_paths(tmp_path, (), TH, years=[2023])
    assert {Path(f.file).name for f in found if f.kind == "private data file"} == {
        "children.parquet", "cube.pkl", "t.feather", "x.sqlite", "pseudo.key",
    }  # fmt: skip


def test_pdf_attachments_are_findings(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_attachment("children.parquet", b"PAR1" + f"child {PID24}".encode())
    with (tmp_path / "profile.pdf").open("wb") as fh:
        writer.write(fh)
    clean = PdfWriter()
    clean.add_blank_page(200, 200)
    with (tmp_path / "clean.pdf").open("wb") as fh:
        clean.write(fh)
    found = scan_paths(tmp_path, (), TH, years=[2023], workers=1)
    assert kinds(found, "profile.pdf") == {
        "PDF attachment", "private data file", "pseudonymised id",
    }  # fmt: skip
    assert kinds(found, "clean.pdf") == set()


PROFILE_TABLE = """<html><body><h2>{heading}</h2><table>
<tr><th>IMD decile</th><th>Children 0-17</th><th>CIN children</th><th>n la</th></tr>
<tr><td>1</td><td>7</td><td>{n}</td><td>3</td></tr>
<tr><td>2</td><td>1,204</td><td>[c]</td><td>3</td></tr></table></body></html>"""


def test_small_counts_in_html_tables_use_the_registry_threshold(tmp_path):
    (tmp_path / "leaky.html").write_text(PROFILE_TABLE.format(heading="Deciles", n=7))
    (tmp_path / "clean.html").write_text(PROFILE_TABLE.format(heading="Deciles", n=12))
    # an LA-total table (registry title) publishes counts from 6; a decile table from 10
    la = PROFILE_TABLE.format(heading="Rates per 10,000 children by area", n=7)
    (tmp_path / "la_totals.html").write_text(la.replace("CIN children", "n"))
    dec = PROFILE_TABLE.format(heading="Rates by IMD decile", n=7)
    (tmp_path / "deciles.html").write_text(dec.replace("CIN children", "n"))
    found = scan_paths(tmp_path, (), TH, years=[2023])
    assert kinds(found, "leaky.html") == {"small count"}
    detail = next(f.detail for f in found if Path(f.file).name == "leaky.html")
    assert "CIN children" in detail and "row 2" in detail
    assert kinds(found, "clean.html") == set()  # the population 7 and n_la 3 are not counts
    assert kinds(found, "la_totals.html") == set()
    assert kinds(found, "deciles.html") == {"small count"}


def test_the_limit_is_the_documented_minimum_not_the_users_threshold(tmp_path):
    (tmp_path / "q1_decile_rates.csv").write_text(
        "year,measure,area_code,imd_decile,n,population,rate\n2023,CLA,X1,1,7,900,77.7\n"
    )
    (tmp_path / "area_rates.csv").write_text(
        "year,measure,area_code,n,population,rate\n2023,CLA,X1,7,900,77.7\n"
    )
    (tmp_path / "q3_inverse_intervention.csv").write_text(
        "year,measure,term,estimate,n_la,n_lsoa,n_years\n2023,CLA,t,1.1,3,4,2\n"
    )
    unsafe = {**TH, "la_total_min": 1, "crosstab_min": 1}
    found = scan_paths(tmp_path, (), unsafe, years=[2023])
    assert kinds(found, "q1_decile_rates.csv") == {"small count"}  # 7 < 10, whatever the setting
    assert kinds(found, "area_rates.csv") == set()  # an LA total of 7 is publishable
    assert kinds(found, "q3_inverse_intervention.csv") == set()  # structural counts


def test_change_log_dates_pass_and_a_planted_date_of_birth_is_caught(tmp_path):
    """Quarto's search.json holds the coding scheme's change log: not dates of birth."""
    entries = [
        {"objectID": "report/interviews.html#change-log", "href": "report/interviews.html",
         "title": "Change log", "section": "Change log",
         "text": "Version Date Change 1.1.0 2024-03-04 THR-00 retired. 1.0.0 2024-01-15 First "
                 "scheme."},
    ]  # fmt: skip
    (tmp_path / "search.json").write_text(json.dumps(entries))
    for years in ([2022, 2023], [2024]):
        assert scan_paths(tmp_path, (), TH, years=years) == [], years
    planted = entries + [
        {"objectID": "x", "href": "x.html", "title": "t", "text": "Child born 2015-07-14 in X."},
        {"objectID": "y", "href": "y.html", "title": "t", "text": f"Seen on {DOB}."},
        {"objectID": "z", "href": "z.html", "title": "t", "dob": "2016-02-29"},
    ]
    (tmp_path / "search.json").write_text(json.dumps(planted))
    found = scan_paths(tmp_path, (), TH, years=[2023])
    assert kinds(found, "search.json") == {"date of birth"}
    assert int(found[0].detail.split()[0]) >= 3  # the born-, dd/mm/yyyy- and dob-dates
    # a date no child of the build's years can have been born on is not a birth date
    (tmp_path / "search.json").write_text(json.dumps([{"text": "born 1990-07-14"}]))
    assert scan_paths(tmp_path, (), TH, years=[2023]) == []


@pytest.mark.parametrize(
    "text",
    [
        "Methods for Q3 3 and Q2 7 are set out below.",  # question labels, as in search.json
        "Panels V1 2 and V2 3 of the chart.",  # no postcode area starts with V
    ],
)
def test_question_labels_are_not_postcode_sectors(text):
    assert [k for k, _ in scan_text(text) if k.startswith("postcode")] == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Lives at B1 3 in the city.", "postcode sector"),
        ("Postcode TF1 2AB on file.", "postcode"),
        ("Synthetic XA12 3BQ of the demo.", "postcode"),
    ],
)
def test_real_and_demo_postcodes_are_still_caught(text, kind):
    assert kind in [k for k, _ in scan_text(text)]


PRINT_CSS = (Path(__file__).resolve().parents[2] / "templates" / "print.css").read_text()


def _pdf(path: Path, body: str) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    html = f"<html><head><style>{PRINT_CSS}</style></head><body>{body}</body></html>"
    weasyprint.HTML(string=html).write_pdf(path)


def test_small_counts_in_pdf_tables_use_the_registry_threshold(tmp_path):
    def body(heading: str, n: int) -> str:
        table = PROFILE_TABLE.format(heading=heading, n=n)
        return table.split("<body>")[1].split("</body>")[0]

    _pdf(tmp_path / "leaky.pdf", body("Deciles", 7))
    _pdf(tmp_path / "clean.pdf", body("Deciles", 12))
    la = body("Rates per 10,000 children by area", 7).replace("CIN children", "n")
    _pdf(tmp_path / "la_totals.pdf", la)
    _pdf(tmp_path / "deciles.pdf", body("Rates by IMD decile", 7).replace("CIN children", "n"))
    found = scan_paths(tmp_path, (), TH, years=[2023])
    assert kinds(found, "leaky.pdf") == {"small count"}
    detail = next(f.detail for f in found if Path(f.file).name == "leaky.pdf")
    assert "page 1" in detail and "CIN children" in detail and "row 1" in detail
    assert kinds(found, "clean.pdf") == set()  # the population 7 and n_la 3 are not counts
    assert kinds(found, "la_totals.pdf") == set()  # an LA total of 7 is publishable
    assert kinds(found, "deciles.pdf") == {"small count"}


def test_pdf_tables_numbers_that_are_not_counts_pass(tmp_path):
    """Deciles, years, rates, intervals, percentages, page numbers and sentences are not counts;
    a count of 7 in a wide table (far from its heading's left edge) and on page 2 still is."""
    rows = "".join(
        f"<tr><td>{d}{' (most deprived)' if d == 1 else ''}</td><td>{2020 + d % 4}</td>"
        f"<td>{1000 + 37 * d:,}</td><td>{d}.5</td><td>{d}.1 to {d + 2}.9</td><td>{d}%</td>"
        f"<td>{'[c]' if d == 3 else 40 + d}</td></tr>"
        for d in range(1, 11)
    )
    table = (
        "<h2>Rates by neighbourhood deprivation decile</h2><table><thead><tr>"
        "<th>IMD decile (1 = most deprived)</th><th>Year</th><th>CIN children</th>"
        "<th>CIN rate per 10,000</th><th>CIN 95% CI</th><th>Share</th>"
        "<th>CLA children</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        "<p>Brackenford and its 5 statistical neighbours; 3 of 15 LAs; decile 1 vs 10.</p>"
    )
    page2 = '<section style="break-before: page">' + table + "</section>"
    _pdf(tmp_path / "clean.pdf", table + page2)
    _pdf(tmp_path / "leaky.pdf", table + page2.replace("<td>45</td>", "<td>7</td>"))
    found = scan_paths(tmp_path, (), TH, years=[2023])
    assert kinds(found, "clean.pdf") == set()
    assert kinds(found, "leaky.pdf") == {"small count"}
    detail = next(f.detail for f in found if Path(f.file).name == "leaky.pdf")
    assert "page 2" in detail and "CLA children" in detail and "page 1" not in detail


def test_great_tables_title_rows_do_not_hide_count_columns(tmp_path):
    """A great_tables table starts with its title and subtitle rows; the count columns are in
    the heading row after them (the report's tables were not checked at all)."""
    page = """<html><body><table><thead>
<tr class="gt_heading"><td colspan="3" class="gt_heading gt_title">Rates by IMD decile</td></tr>
<tr class="gt_heading"><td colspan="3" class="gt_subtitle">Demo region, 2023</td></tr>
<tr class="gt_col_headings"><th>IMD decile</th><th>CIN children</th><th>CIN rate</th></tr>
</thead><tbody><tr><td>1</td><td>{n}</td><td>12.5</td></tr>
<tr><td>2</td><td>1,204</td><td>9.5</td></tr></tbody></table></body></html>"""
    (tmp_path / "leaky.html").write_text(page.format(n=7))
    (tmp_path / "clean.html").write_text(page.format(n=12))
    found = scan_paths(tmp_path, (), TH, years=[2023])
    assert kinds(found, "leaky.html") == {"small count"}
    assert "row 4" in next(f.detail for f in found if Path(f.file).name == "leaky.html")
    assert kinds(found, "clean.html") == set()


def test_scan_cache_rereads_only_changed_files_and_keeps_reporting_findings(
    tmp_path, scanned_files
):
    site, cache = tmp_path / "site", tmp_path / "build" / "cache" / "scan"
    site.mkdir()
    (site / "index.html").write_text(CLEAN_HTML, encoding="utf-8")
    (site / "leaky.html").write_text(PROFILE_TABLE.format(heading="Deciles", n=7))
    (site / "q1_decile_rates.csv").write_text("area_code,imd_decile,n\nX1,1,12\n")
    scanned = scanned_files

    def scan(sentinels=()):
        scanned.clear()
        return scan_paths(site, sentinels, TH, workers=1, years=[2023], cache=cache)

    uncached = scan_paths(site, (), TH, workers=1, years=[2023])
    first = scan()
    assert first == uncached  # a cache never changes a finding
    assert sorted(scanned) == ["index.html", "leaky.html", "q1_decile_rates.csv"]
    again = scan()
    assert again == first and scanned == []  # unchanged files are not read again...
    assert kinds(again, "leaky.html") == {"small count"}  # ...and a cached leak still fails

    (site / "q1_decile_rates.csv").write_text("area_code,imd_decile,n\nX1,1,7\n")
    third = scan()
    assert scanned == ["q1_decile_rates.csv"]  # a changed file is always scanned again
    assert kinds(third, "q1_decile_rates.csv") == {"small count"}
    assert third == scan_paths(site, (), TH, workers=1, years=[2023])

    (site / "index.html").write_text(CLEAN_HTML.replace("</body>", f"<p>{SENTINEL}</p></body>"))
    assert kinds(scan(), "index.html") == set()  # not a sentinel yet...
    assert kinds(scan([SENTINEL]), "index.html") == {"sentinel"}  # ...new sentinels rescan
    assert sorted(scanned) == ["index.html", "leaky.html", "q1_decile_rates.csv"]
    record = (cache / "findings.json").read_text(encoding="utf-8")
    assert SENTINEL not in record  # kinds and places only, never a value


def test_fast_workbook_reader_finds_what_openpyxl_finds(tmp_path):
    """The scanner reads workbooks from their XML (openpyxl's reader dominated the scan); every
    kind of value openpyxl sees must be found the same way, in the same cells."""
    import datetime as dt

    import openpyxl

    import cwi.leaks as leaks

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "q1_decile_rates"
    ws.append(["Contents of this workbook & notes"])
    ws.append(["area_code", "imd_decile", "n", "note"])
    ws.append(["X1", 1, 7, SENTINEL])
    ws.append(["X1", 2, 12.0, "born 2012-03-04"])
    ws.append(["X1", 3, dt.datetime(2012, 5, 6), POSTCODE])
    ws.append([LSOA, True, 4.5, "=CONCAT(A1)"])
    ws.cell(row=8, column=2, value=dt.date(2011, 1, 2))
    ws.cell(row=9, column=30, value=PID)
    totals = wb.create_sheet("area_rates")
    totals.append(["area_code", "n"])
    totals.append(["X1", 7])
    totals.append(["X2", 3])
    wb.properties.creator = LSOA
    wb.properties.keywords = SENTINEL
    wb.save(tmp_path / "book.xlsx")
    fast = leaks._Collector(tmp_path / "book.xlsx", leaks.dob_window([2023]))
    slow = leaks._Collector(tmp_path / "book.xlsx", leaks.dob_window([2023]))
    leaks._scan_xlsx_cells(tmp_path / "book.xlsx", fast, [SENTINEL])  # no silent fallback
    leaks._scan_xlsx_openpyxl(tmp_path / "book.xlsx", slow, [SENTINEL])
    assert fast.findings() == slow.findings()
    assert {f.kind for f in fast.findings()} == {
        "sentinel", "pseudonymised id", "date of birth", "postcode", "LSOA code", "small count",
    }  # fmt: skip
