"""Every demo LA's PDF against its LaProfile: same numbers as the web page, blocks on their pages.

Uses the session build (``built``); poppler's ``pdfinfo`` / ``pdffonts`` check tagging and font
embedding where installed (``make sysdeps``).
"""

from __future__ import annotations

import re
import subprocess

import pytest
from pypdf import PdfReader

from cwi.profiles import LaProfile
from tests.conftest import have
from tests.integration.test_build_site import html_text

pytestmark = pytest.mark.slow

#: Which blocks each page holds (the layout every LA's PDF keeps).
PAGE_OF_FIGURE = {"spine": 1, "deciles": 2, "funnel": 2, "map": 3, "trend": 4}


def _flat(text: str) -> str:
    return " ".join(text.split())


def _profiles(built) -> list[LaProfile]:
    folder = built["results"] / "profiles"
    return [
        LaProfile.model_validate_json(p.read_text(encoding="utf-8"))
        for p in sorted(folder.glob("*.json"))
    ]


def test_every_pdf_holds_its_profile_block_by_block_and_matches_the_web_page(built, shared_public):
    # the England block and the spine need the public-data edition (../shared)
    profiles = _profiles(built)
    assert len(profiles) == 15
    for p in profiles:
        pdf = built["site"] / "pdf" / f"{p.la_code}.pdf"
        pages = [page.extract_text() or "" for page in PdfReader(pdf).pages]
        assert len(pages) == 4, (p.la_code, len(pages))
        flat = [_flat(t) for t in pages]
        web = html_text(built["site"] / "la_profiles" / f"{p.la_code}.html")
        # Page 1: headline box, at-a-glance table, spine chart.
        assert "in brief" in flat[0].lower() and "At a glance" in flat[0]
        assert 1 <= len(p.headline) <= 4
        for sentence in p.headline:
            assert sentence in flat[0], (p.la_code, sentence)
            assert sentence in web, (p.la_code, sentence)
        for m in p.measures:
            for value in (m.rate, m.ci, m.region_rate, m.england_rate, m.linkage):
                assert value in flat[0], (p.la_code, m.measure, value)
                assert value in web, (p.la_code, m.measure, value)
            assert m.rank_region in flat[0] and m.rank_region in web
            # Interval cells never wrap: each interval sits on one line of its page.
            assert any(m.ci in line for line in pages[0].splitlines()), (p.la_code, m.ci)
            # Page 2: the deprivation-expected table.
            for value in (m.expected_rate, m.ratio, m.ratio_ci):
                assert value in flat[1] and value in web, (p.la_code, m.measure, value)
            assert any(m.ratio_ci in line for line in pages[1].splitlines()), (
                p.la_code,
                m.ratio_ci,
            )
        for key, fig in p.figures.items():
            page = PAGE_OF_FIGURE[key]
            assert fig.title in flat[page - 1], (p.la_code, key, page)
            assert fig.title in web, (p.la_code, key)
        # Page 3: the decile table.
        for row in p.deciles:
            assert row.label in flat[2]
        assert all(r.population in flat[2] for r in p.deciles if r.population != "[z]")
        # Page 4: trends, England, data quality next to its numbers, methods.
        for sentence in p.trend_sentences:
            assert sentence in flat[3] and sentence in web
        for block in ("Data quality", "What this means for resources", "Methods in brief"):
            assert block in flat[3] and block in web, (p.la_code, block)
        for measure, share in p.quality.linkage.items():
            assert f"{measure} {share}" in flat[3]
        for t in p.trends:
            assert t.rate in flat[3]
        assert p.england, "no England comparison in the profile"
        for e in p.england:
            assert e.england_rate in flat[3] and e.ratio in flat[3]
        assert p.neighbours and all(n.name in flat[0] for n in p.neighbours)


def test_profiles_compare_with_england_and_rank_in_the_region(built, shared_public):
    for p in _profiles(built):
        assert all(m.england_rate_value is not None for m in p.measures), p.la_code
        assert all(s.england_min is not None and s.n_england_las > 100 for s in p.spine)
        assert all(m.rank_region.endswith(" of 15") for m in p.measures)
        assert [m.measure for m in p.measures] == ["CIN", "CPP", "CLA"]
        assert p.years == [2021, 2022, 2023]
        assert {t.year for t in p.trends} == {2021, 2022, 2023}


@pytest.mark.skipif(not have("pdfinfo") or not have("pdffonts"), reason="poppler-utils missing")
def test_every_profile_pdf_is_tagged_titled_and_embeds_every_font(built):
    for p in _profiles(built):
        pdf = built["site"] / "pdf" / f"{p.la_code}.pdf"
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
        assert re.search(r"^Tagged:\s+yes$", info.stdout, re.M), (p.la_code, info.stdout)
        assert re.search(rf"^Title:\s+{re.escape(p.la_name)}", info.stdout, re.M)
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
        rows = fonts.stdout.splitlines()[2:]
        assert rows, "no fonts listed"
        for row in rows:
            assert "DejaVu" in row, row
            assert row.split()[-5] == "yes", f"{p.la_code}: font not embedded: {row}"
        root = PdfReader(pdf).trailer["/Root"]
        assert root.get("/Lang") == "en-GB"
        alts = _figure_alts(root["/StructTreeRoot"])
        assert sorted(alts) == sorted(f.alt for f in p.figures.values()), p.la_code


def _figure_alts(node, out=None) -> list[str]:
    """Alt texts of every Figure element in a PDF structure tree."""
    out = [] if out is None else out
    node = node.get_object()
    if isinstance(node, dict):
        if node.get("/S") == "/Figure":
            out.append(str(node.get("/Alt")))
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
            _figure_alts(kid, out)
    return out


def test_england_block_comes_from_the_public_edition_and_coverage_notes_show(built, tmp_path):
    """With the public-data edition's row for an LA, the profile shows its ratio, rank and spend."""
    import shutil

    import pandas as pd

    from cwi.config import load_settings
    from cwi.profiles import render_print, render_web
    from cwi.profiles.build import ProfileTables, build_profile
    from cwi.store import ResultsStore

    results = tmp_path / "results"
    shutil.copytree(built["results"], results, ignore=shutil.ignore_patterns("figures"))
    settings = load_settings(built["settings"]).with_overrides(
        output={"results_dir": str(results)}
    )
    code = "X06000003"
    rows = []
    for m in ("CIN", "CPP", "CLA"):
        for la, rank in ((code, 2), ("E08000025", 1), ("E06000051", 3)):
            rows.append({"la_code": la, "la_name": la, "year": settings.main_year, "measure": m,
                         "observed": 1000, "rate": 321.04, "expected": 900.0, "ratio": 1.114,
                         "ratio_lcl": 1.047, "ratio_ucl": 1.184, "rank": rank,
                         "spend_per_child": 812.4})  # fmt: skip
    pd.DataFrame(rows).to_csv(results / "tables" / "england_public.csv", index=False)
    pd.DataFrame(
        [
            {
                "la_code": code,
                "la_name": "x",
                "share_lsoa_covered": 0.9,
                "share_children_covered": 0.88,
                "denominators": "LSOAs with postcodes only",
                "note": "Rates use the 90% of LSOAs the postcode directory covers.",
            }
        ]  # fmt: skip
    ).to_csv(results / "tables" / "la_coverage.csv", index=False)
    store = ResultsStore(settings)
    profile = build_profile(code, store, settings, ProfileTables.load(store, settings, None))
    assert profile.england_source == "public-data edition"
    assert [e.measure for e in profile.england] == ["CIN", "CPP", "CLA"]
    first = profile.england[0]
    assert (first.rate, first.ratio, first.ratio_ci) == ("321.0", "1.11", "1.05 to 1.18")
    assert first.rank == "2nd of 3" and first.spend_per_child == "£812"
    assert profile.quality.postcode_note.startswith("Rates use the 90% of LSOAs")
    for html in (render_print(profile, {}, ""), render_web(profile, {})):
        assert "public-data edition" in html and "£812" in html and "1.05 to 1.18" in html
        assert "Rates use the 90% of LSOAs" in html


def test_profile_pdf_is_byte_identical_to_weasyprint_rendering_its_page_alone(
    built_settings, tmp_path, monkeypatch
):
    """The PDF worker's shortcuts change no byte of a profile PDF.

    The worker parses the print stylesheet once per process, shares one font configuration and
    runs the garbage collector rarely; weasyprint given the same print page on its own (its
    stylesheet inside, a fresh font configuration, default collector) writes the same bytes.
    """
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    from cwi.site.pdf import ASSETS_ENV, _write_one, profile_html
    from cwi.site.safe import asset_fetcher, strip_attachments
    from cwi.store import ResultsStore

    store = ResultsStore(built_settings)
    monkeypatch.setenv(ASSETS_ENV, str(store.profiles_dir))
    root = built_settings.root
    fetcher = asset_fetcher(root, [store.profiles_dir])
    for code in store.profile_codes()[:2]:  # the second reuses the parsed stylesheet
        html = profile_html(code, built_settings)
        out = tmp_path / f"{code}.pdf"
        _write_one((html, str(root), str(out), "profile"))
        alone = HTML(string=strip_attachments(html), base_url=str(root), url_fetcher=fetcher)
        own = alone.write_pdf(
            attachments=[], pdf_variant="pdf/ua-1", font_config=FontConfiguration()
        )
        assert own == out.read_bytes(), code
