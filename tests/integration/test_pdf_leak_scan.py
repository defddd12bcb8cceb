"""Issue 12: a small count in a published PDF's table is caught; the demo PDFs pass.

The whole demo site (its 15 profile PDFs and the report PDF included) scans clean in
``test_build_disclosure.py``; here a count of 7 is planted in the deprivation-decile table of a
real LA profile, rendered with the build's own print template, and the scanner must catch it.
"""

from __future__ import annotations

import lxml.html
import pytest

from cwi.leaks import scan_paths

pytestmark = pytest.mark.slow


def _plant_count(html: str, value: str) -> str:
    doc = lxml.html.document_fromstring(html)
    for table in doc.iter("table"):
        head = [th.text_content().strip() for th in table.iter("th")]
        if "CIN children" in head:
            col = head.index("CIN children")
            row = [r for r in table.iter("tr") if r.find("td") is not None][0]
            row.xpath("./th|./td")[col].text = value
            return lxml.html.tostring(doc, doctype="<!DOCTYPE html>", encoding="unicode")
    raise AssertionError("no table with a 'CIN children' column in the profile")


def test_a_count_of_7_planted_in_a_real_profile_pdf_is_caught(
    built, built_settings, tmp_path, monkeypatch
):
    from cwi.site import pdf as pdf_mod
    from cwi.store import ResultsStore

    store = ResultsStore(built_settings)
    code = store.profile_codes()[0]
    html = pdf_mod.profile_html(code, built_settings)
    leaky = _plant_count(html, "7")
    assert leaky != html
    monkeypatch.setenv(pdf_mod.ASSETS_ENV, str(store.profiles_dir))
    for name, doc in (("clean.pdf", html), ("leaky.pdf", leaky)):
        pdf_mod._write_one((doc, str(built_settings.root), str(tmp_path / name), "profile"))
    found = scan_paths(tmp_path, (), years=built_settings.years)
    assert {(f.file.name, f.kind) for f in found} == {("leaky.pdf", "small count")}
    assert "CIN children" in found[0].detail
