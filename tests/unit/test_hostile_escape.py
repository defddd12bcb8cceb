"""Issue 12 item 1: data from sources reaches pages and PDFs as text, never as markup or files."""

from __future__ import annotations

import io
import re
from html import unescape
from pathlib import Path, PurePosixPath

import pytest
import yaml

from cwi.config import load_settings
from cwi.site.markdown import pipe_table, template_env
from cwi.site.render import (
    Page,
    RenderError,
    _check_links,
    _copy_images,
    page_html,
)
from cwi.site.safe import asset_check, md_text

SCRIPT = '<script>alert("x")</script>'
PRIVATE_IMG = "![x](../build/private/children.parquet)"
ATTACH = '<a rel="attachment" href="../build/private/children.parquet">data</a>'
QUOTED = 'St. "Helens" & <Knowsley>'


def _html(markdown: str, rel: str = "report/x.qmd") -> str:
    return page_html(Page(Path(rel), PurePosixPath(rel), {}, markdown))


@pytest.mark.parametrize(
    "hostile", [SCRIPT, PRIVATE_IMG, ATTACH, "`<b>x</b>`{=html}", "[a](b){onclick=x}"]
)
def test_escaped_text_shows_as_text(hostile):
    html = _html(f"Name: {md_text(hostile)}\n\n{pipe_table(['LA'], [[hostile]])}")
    assert "<script" not in html and "<img" not in html and "<a " not in html
    assert "onclick" not in html.replace("{onclick=x}", "")
    text = unescape(re.sub(r"<[^>]+>", "", html))
    assert text.count(hostile) == 2  # shown as the same characters, in the text and the table


def test_raw_html_in_a_page_body_is_not_passed_through():
    html = _html(f"Region {SCRIPT} and {ATTACH}\n")
    assert "<script" not in html and not re.search(r"<a\b[^>]*\brel=", html)


def test_image_outside_the_figure_folders_is_refused(tmp_path):
    root = tmp_path / "project"
    (root / "build" / "private").mkdir(parents=True)
    (root / "build" / "private" / "children.parquet").write_bytes(b"PAR1 child rows")
    (root / "report").mkdir()
    page = Page(root / "report" / "x.qmd", PurePosixPath("report/x.qmd"), {}, PRIVATE_IMG)
    html = page_html(page)
    site = tmp_path / "_site"
    with pytest.raises(RenderError, match="figure folders"):
        _copy_images(html, page, root, site)
    assert not list(site.rglob("*.parquet")) if site.exists() else True
    link = Page(page.source, page.rel, {}, "[data](../build/private/children.parquet)")
    with pytest.raises(RenderError, match="private"):
        _check_links(page_html(link), link)


def test_figure_in_its_folder_is_allowed(tmp_path):
    fig = tmp_path / "report" / "_generated" / "figures" / "a.png"
    fig.parent.mkdir(parents=True)
    fig.write_bytes(b"png")
    assert asset_check(fig, tmp_path, "a.png") == fig.resolve()


def test_front_matter_yaml_survives_quotes():
    text = template_env().from_string("title: [[ name | yaml ]]\n").render(name=QUOTED)
    assert md_text(QUOTED) == yaml.safe_load(text)["title"]


def _pdf_of(html: str, root: Path, out: Path) -> bytes:
    from cwi.site.pdf import _write_one

    _write_one((html, str(root / "report"), str(out), "report"))
    return out.read_bytes()


def test_pdf_embeds_no_attachment_and_no_private_file(tmp_path):
    from pypdf import PdfReader

    root = tmp_path / "project"
    secret = root / "build" / "private" / "pseudo.key"
    secret.parent.mkdir(parents=True)
    secret.write_text("SECRETKEY" * 100)
    (root / "report").mkdir()
    html = (
        "<html><head><link rel='attachment' href='../build/private/pseudo.key'></head><body>"
        f"<h1>{ATTACH.replace('children.parquet', 'pseudo.key')}</h1>"
        f"<img src='{secret.as_uri()}'><img src='../build/private/pseudo.key'>"
        "<p>text</p></body></html>"
    )
    data = _pdf_of(html, root, tmp_path / "r.pdf")
    reader = PdfReader(io.BytesIO(data))
    catalog = reader.trailer["/Root"]
    assert "/EmbeddedFiles" not in catalog.get("/Names", {})
    for page in reader.pages:
        for annot in page.get("/Annots", []) or []:
            assert annot.get_object().get("/Subtype") != "/FileAttachment"
    assert b"SECRETKEY" not in data and b"pseudo.key" not in data.replace(b" ", b"")


def test_report_title_is_escaped_in_the_pdf_html(monkeypatch):
    from cwi.site import render
    from cwi.site.pdf import report_html

    project = {"website": {"navbar": {"left": []}}}
    monkeypatch.setattr(render, "load_pages", lambda _s: (project, [], {}))
    hostile = load_settings().with_overrides(release={"title": ATTACH})
    html = report_html(hostile)
    assert 'rel="attachment"' not in html and "&lt;a rel=" in html


def test_coding_scheme_definition_with_an_image_link_is_text():
    import pandas as pd

    from cwi.interviews.chapter import pipe_table as scheme_table

    codes = pd.DataFrame(
        {"code": ["THR-01"], "label": [SCRIPT], "definition": [f"See {PRIVATE_IMG} | {ATTACH}"]}
    )
    md = scheme_table(codes, {"code": "Code", "label": "Label", "definition": "Definition"})
    html = _html(md)
    assert "<img" not in html and "<script" not in html and not re.search(r"<a\b", html)
    assert "../build/private/children.parquet" in unescape(html)  # shown, as text
