"""One template, two variants: the same words and numbers, autoescaped, blocks in fixed pages."""

from __future__ import annotations

import re

from cwi.profiles import LaProfile, render_print, render_web
from cwi.profiles.model import DecileRow, MeasureBlock, Quality


def _profile(name: str) -> LaProfile:
    blocks = [
        MeasureBlock(measure=m, label=m, n="1,234", rate="345.6", ci="320.1 to 371.9",
                     rate_value=345.6, lower_value=320.1, upper_value=371.9, region_rate="300.0",
                     region_rate_value=300.0, region_direction="higher", ratio="1.26",
                     ratio_ci="1.17 to 1.36", expected_rate="274.3", linkage="90.2%",
                     linkage_note="Only 90.2% of these children's home postcodes were linked.")
        for m in ("CIN", "CPP", "CLA")
    ]  # fmt: skip
    return LaProfile(
        la_code="X06000001", la_name=name, region_name="Demo region", year=2023,
        years=[2023], snapshot="31 March 2023",
        headline=["All three rates are above the region's and 1.26 times what its deprivation mix predicts."],
        measures=blocks, spine=[], trends=[], trend_sentences=[], england=[],
        england_source="none", neighbours=[], neighbours_label="Neighbours", n_region_las=15,
        deciles=[DecileRow(decile=d, label=str(d), population="[z]",
                           cells={m: ("[c]", "[c]") for m in ("CIN", "CPP", "CLA")})
                 for d in range(1, 11)],
        quality=Quality(linkage={"CIN": "90.2%"}, low_linkage=["CIN"]), figures={},
        resources="Funding follows.", rule_text="Rule.", source="Source.",
        measure_order=["CIN", "CPP", "CLA"],
    )  # fmt: skip


def test_names_are_escaped_in_both_variants():
    p = _profile('Bath & <b>"North"</b> East')
    printed, web = render_print(p, {}, "h1 { color: red; }"), render_web(p, {})
    for page in (printed, web):
        assert "<b>" not in page and "Bath &amp; &lt;b&gt;" in page
    assert "h1 { color: red; }" in printed  # the stylesheet itself is not escaped


def test_web_and_print_carry_the_same_sentences_numbers_and_notes():
    p = _profile("Leeds")
    printed, web = render_print(p, {}, ""), render_web(p, {})
    for text in [*p.headline, "345.6", "320.1 to 371.9", "1.17 to 1.36", "274.3", "90.2%",
                 p.measures[0].linkage_note.replace("'", "&#39;"), "Methods in brief"]:  # fmt: skip
        needle = text.replace("'", "&#39;")
        assert needle in printed and needle in web, text
    # Print: four page sections in a fixed order; web: a Quarto page with its PDF link.
    assert re.findall(r'<section class="page" id="(page-\d)">', printed) == [
        "page-1", "page-2", "page-3", "page-4",
    ]  # fmt: skip
    assert printed.startswith("<!DOCTYPE html>") and '<html lang="en-GB">' in printed
    assert web.startswith('---\ntitle: "Leeds"') and "../pdf/X06000001.pdf" in web
    assert "<section" not in web
    assert web.count('class="table-scroll"') == web.count("<table ")
