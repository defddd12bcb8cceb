"""Checks of a rendered findings report, shared by the demo and the real-geography builds."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import yaml

from cwi.config import ROOT
from cwi.report.content import FRAGMENTS

_SHORTCODE = re.compile(r"\{\{<\s*(var|fragment)\s+([\w./-]+)\s*>\}\}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        if tag in ("style", "script"):
            self.skip += 1

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag in ("style", "script"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def text_of(html: str) -> str:
    """Visible text of an HTML page, whitespace collapsed, typographic quotes made plain."""
    parser = _Text()
    parser.feed(html)
    out = " ".join(" ".join(parser.parts).split())
    return out.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-")


def report_pages(site: Path) -> dict[str, str]:
    """Report chapter name -> HTML, plus the home page."""
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (site / "report").glob("*.html")}
    pages["index"] = (site / "index.html").read_text(encoding="utf-8")
    return pages


def used_shortcodes() -> set[tuple[str, str]]:
    """Every ``var`` and ``fragment`` the report's page sources use."""
    found: set[tuple[str, str]] = set()
    for source in [*ROOT.glob("report/*.qmd"), ROOT / "index.qmd", ROOT / "downloads.qmd"]:
        found |= set(_SHORTCODE.findall(source.read_text(encoding="utf-8")))
    return found


def check_report(site: Path, sentences: list[str], root: Path = ROOT) -> None:
    """Assert the rendered report is complete; ``sentences`` are the build's generated ones.

    ``root`` is the project the build ran in (its ``_variables.yml`` and fragments).
    """
    pages = report_pages(site)
    for name in ("summary", "q1_clustering", "q2_identity", "q3_within_between", "q4_outcomes",
                 "england", "implications", "next_studies", "interviews", "methods"):  # fmt: skip
        assert name in pages, f"report/{name}.html was not rendered"
    # every var and fragment resolves
    variables = yaml.safe_load((root / "_variables.yml").read_text(encoding="utf-8"))
    for kind, key in used_shortcodes():
        if kind == "var":
            node = variables
            for part in key.split("."):
                assert isinstance(node, dict) and part in node, f"var {key} is not generated"
                node = node[part]
        else:
            assert key in {*FRAGMENTS, "downloads", "la_list"}, f"fragment {key} is not declared"
            folder = root / variables["cwi_fragments_dir"]  # (an absolute path stays absolute)
            assert (folder / f"{key}.md").is_file(), key
    for name, html in pages.items():
        assert "{{<" not in html, f"{name}: unresolved shortcode"
        assert "times less likely" not in html, name
    # every generated sentence appears in the report
    text = " ".join(text_of(html) for html in pages.values())
    missing = [sent for sent in sentences if sent not in text]
    assert not missing, f"{len(missing)} generated sentences not in the report, e.g. {missing[:2]}"
    # no table cut without saying so: a shown-of-total line wherever rows were left out
    for name, html in pages.items():
        for m in re.finditer(r"Showing ([\d,]+) of ([\d,]+) rows", text_of(html)):
            assert int(m.group(1).replace(",", "")) < int(m.group(2).replace(",", "")), name
    # every chart has a finding title (bold, before it), alt text and a source line
    for name, html in pages.items():
        for img in re.finditer(r"<img[^>]*>", html):
            tag = img.group(0)
            alt = re.search(r'alt="([^"]*)"', tag)
            assert alt and len(alt.group(1)) > 40, f"{name}: chart without alt text: {tag[:120]}"
            before = html[max(0, img.start() - 3000) : img.start()]
            after = html[img.end() : img.end() + 1500]
            assert "<strong>" in before, f"{name}: chart without a finding title"
            assert "Source:" in after, f"{name}: chart without a source line"
    # the interview chapter groups LAs by the Q3 standardised ratios
    interviews = text_of(pages["interviews"])
    assert "not yet linked" not in interviews
    assert "Interviewed LAs per group" in interviews
    assert variables["interviews"]["groups_linked"] == "yes"
