"""The report PDF laid out chapter by chapter (cwi.site.report_pdf) on the demo build's report.

The joined PDF must read exactly as the whole document laid out at once: same pages, same text on
every page (footers "Page X of N" and the contents' page numbers included), same outline, same
link targets, DejaVu fonts only, same title. After a one-chapter edit only that chapter is laid
out again; a corrupted cached piece is laid out again; a chapter that grows by a page renumbers
the rest.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from cwi.site import pdf as pdf_mod
from cwi.site import report_pdf
from cwi.site.report_pdf import LINK_BASE, split_report

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")


@pytest.fixture(scope="module")
def report(built_settings) -> tuple[str, str]:
    """The demo build's report print HTML and its base URL."""
    return pdf_mod.report_html(built_settings), str(built_settings.root / "report")


@pytest.fixture(scope="module")
def cold(report, tmp_path_factory) -> tuple[Path, report_pdf.Stats]:
    """A piece cache filled by one first render (laid out once as a whole document)."""
    html, base = report
    folder = tmp_path_factory.mktemp("cold")
    with pytest.MonkeyPatch.context() as monkeypatch:
        stats = _render(html, base, folder / "report.pdf", folder / "cache", monkeypatch)
    return folder, stats


def _cache_from(cold: tuple[Path, report_pdf.Stats], tmp_path: Path) -> Path:
    """A copy of the cold cache for one test (and the report PDF it wrote)."""
    shutil.copytree(cold[0], tmp_path, dirs_exist_ok=True)
    return tmp_path / "cache"


def _render(html: str, base: str, out: Path, cache: Path | None, monkeypatch) -> report_pdf.Stats:
    """Write the report PDF as the PDF stage does; return what was laid out."""
    seen: list[report_pdf.Stats] = []
    real = report_pdf.render_report

    def spy(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(pdf_mod, "render_report", spy)
    if cache is None:
        monkeypatch.delenv(pdf_mod.REPORT_CACHE_ENV, raising=False)
    else:
        monkeypatch.setenv(pdf_mod.REPORT_CACHE_ENV, str(cache))
    pdf_mod._write_one((html, base, str(out), "report"))
    return seen[0] if seen else report_pdf.Stats(mode="whole document")


def _whole(html: str) -> str:
    """The same report as one document with ordinary internal links (the old way)."""
    whole = report_pdf.whole_document(html)
    assert LINK_BASE not in whole
    return whole


def _pages(pdf: Path) -> list[str]:
    """Layout text of every page (pdftotext ends each page with a form feed)."""
    out = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = out.split("\f")[:-1]
    assert len(pages) == len(PdfReader(pdf).pages)
    return pages


def _outline(reader: PdfReader) -> list[tuple[int, str, int]]:
    out: list[tuple[int, str, int]] = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return out


def _links(reader: PdfReader) -> list[tuple[int, str]]:
    """(page, target) of every link: a page number for internal links, else the URI."""
    named = reader.named_destinations
    out = []
    for i, page in enumerate(reader.pages):
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            if annot.get("/Subtype") != "/Link":
                continue
            if "/Dest" in annot:
                target = str(reader.get_destination_page_number(named[str(annot["/Dest"])]))
            else:
                target = str(annot["/A"]["/URI"])
            out.append((i, target))
    return out


def _fonts(pdf: Path) -> set[str]:
    text = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    return {line.split()[0].split("+")[-1] for line in text.splitlines()[2:]}


def assert_same_report(pieces: Path, whole: Path) -> None:
    """The joined PDF reads exactly as the whole document."""
    a, b = PdfReader(pieces), PdfReader(whole)
    assert len(a.pages) == len(b.pages)
    assert _pages(pieces) == _pages(whole)
    assert _outline(a) == _outline(b)
    assert _links(a) == _links(b)
    assert not [t for _, t in _links(a) if t.startswith(LINK_BASE)]
    assert a.metadata.title == b.metadata.title
    assert a.trailer["/Root"].get("/Lang") == b.trailer["/Root"].get("/Lang")
    fonts = _fonts(pieces)
    assert fonts and all(f.startswith("DejaVu") for f in fonts), fonts


def _edit(html: str, pid: str, extra: str) -> str:
    """Append ``extra`` at the end of piece ``pid``'s chapter section."""
    start = html.index(report_pdf.MARK.format(pid))
    nxt = html.find("<!--cwi-piece:", start + 1)
    end = html.rindex("</section>", start, nxt if nxt > 0 else len(html))
    return html[:end] + extra + html[end:]


def test_pieces_read_as_the_whole_document(report, cold, tmp_path, monkeypatch):
    html, base = report
    parts = split_report(html)
    assert parts is not None and parts.pieces[0].pid == report_pdf.FRONT
    assert len(parts.pieces) >= 8  # front matter + the chapters
    whole = tmp_path / "whole.pdf"
    assert _render(_whole(html), base, whole, None, monkeypatch).mode == "whole document"
    assert any("Page 3 of" in p for p in _pages(whole))

    cache = _cache_from(cold, tmp_path)
    first = cold[1]
    # nothing known yet: laid out once as a whole, then written piece by piece
    assert first.mode == "whole" and first.passes == 1
    assert_same_report(tmp_path / "report.pdf", whole)

    # every piece laid out alone (page counts known, no piece PDF kept)
    record = json.loads((cache / "record.json").read_text("utf-8"))
    for pdf in cache.glob("*.pdf"):
        pdf.unlink()
    alone = _render(html, base, tmp_path / "alone.pdf", cache, monkeypatch)
    assert alone.mode == "pieces" and alone.passes == 1 and alone.reused == []
    assert alone.laid_out == [p.pid for p in parts.pieces]
    assert_same_report(tmp_path / "alone.pdf", whole)
    assert json.loads((cache / "record.json").read_text("utf-8"))["pages"] == record["pages"]

    # nothing changed: nothing laid out, same bytes
    again = _render(html, base, tmp_path / "again.pdf", cache, monkeypatch)
    assert again.laid_out == [] and len(again.reused) == len(parts.pieces)
    assert _pages(tmp_path / "again.pdf") == _pages(whole)


def test_one_chapter_edit_lays_out_that_chapter_only(report, cold, tmp_path, monkeypatch):
    html, base = report
    cache = _cache_from(cold, tmp_path)
    pid = "ch-q1-clustering"
    edited = _edit(html, pid, "<p>One sentence added for the test.</p>")
    stats = _render(edited, base, tmp_path / "after.pdf", cache, monkeypatch)
    assert stats.mode == "pieces" and stats.laid_out == [pid]
    assert len(stats.reused) == len(split_report(html).pieces) - 1
    text = "".join(_pages(tmp_path / "after.pdf"))
    assert "One sentence added for the test." in text
    _render(_whole(edited), base, tmp_path / "whole.pdf", None, monkeypatch)
    assert_same_report(tmp_path / "after.pdf", tmp_path / "whole.pdf")


def test_corrupted_piece_is_laid_out_again(report, cold, tmp_path, monkeypatch):
    html, base = report
    cache = _cache_from(cold, tmp_path)
    record = json.loads((cache / "record.json").read_text("utf-8"))
    victim = cache / record["pdfs"]["ch-methods"]["file"]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    stats = _render(html, base, tmp_path / "after.pdf", cache, monkeypatch)
    assert stats.laid_out == ["ch-methods"]
    assert _pages(tmp_path / "after.pdf") == _pages(tmp_path / "report.pdf")
    stats = _render(html, base, tmp_path / "again.pdf", cache, monkeypatch)
    assert stats.laid_out == []


def test_a_chapter_growing_by_a_page_renumbers_the_rest(report, cold, tmp_path, monkeypatch):
    html, base = report
    cache = _cache_from(cold, tmp_path)
    n_before = len(PdfReader(tmp_path / "report.pdf").pages)
    page = '<p style="page-break-before: always">A page of its own.</p>'
    edited = _edit(html, "ch-q2-identity", page)
    stats = _render(edited, base, tmp_path / "after.pdf", cache, monkeypatch)
    # laid out with the old numbers, found one page longer: every other piece is renumbered
    assert stats.laid_out[0] == "ch-q2-identity" and stats.passes == 2
    assert len(PdfReader(tmp_path / "after.pdf").pages) == n_before + 1
    _render(_whole(edited), base, tmp_path / "whole.pdf", None, monkeypatch)
    assert_same_report(tmp_path / "after.pdf", tmp_path / "whole.pdf")
