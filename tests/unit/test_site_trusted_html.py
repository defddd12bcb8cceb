"""Raw HTML is read only where the build wrote it with escaped values (the England page)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from cwi.site.render import Page, page_html

BLOCK = '```{=html}\n<table id="t"><tr><td>Shropshire</td></tr></table>\n```\n'


def _page(rel: str) -> Page:
    return Page(Path(rel), PurePosixPath(rel), {}, BLOCK)


def test_the_england_page_renders_the_builds_own_html_table():
    assert '<table id="t">' in page_html(_page("england.qmd"))


def test_a_report_page_reads_the_builds_html_blocks_but_not_inline_html():
    assert '<table id="t">' in page_html(_page("report/methods.qmd"))  # great_tables output
    inline = Page(Path("m.qmd"), PurePosixPath("report/m.qmd"), {}, "<script>x</script> text\n")
    html = page_html(inline)
    assert "<script>" not in html and "&lt;script&gt;" in html
