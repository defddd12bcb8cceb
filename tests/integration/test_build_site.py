"""The spine end to end: demo region -> results store -> site, LA pages and A4 PDFs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from cwi.config import ROOT

pytestmark = pytest.mark.slow

A4_POINTS = (595.0, 842.0)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(parser.parts).split())


def pdf_text(path: Path) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(path).pages).split())


def profile_codes(results: Path) -> list[str]:
    return sorted(p.stem for p in (results / "profiles").glob("*.json"))


def test_site_has_home_report_and_one_page_and_pdf_per_la(built):
    site = built["site"]
    assert (site / "index.html").is_file()
    for chapter in ("q1_clustering", "q2_identity", "q3_within_between", "q4_outcomes", "methods"):
        assert (site / "report" / f"{chapter}.html").is_file(), chapter
    assert (site / "pdf" / "report.pdf").is_file()
    codes = profile_codes(built["results"])
    assert len(codes) == 15
    for code in codes:
        assert (site / "la_profiles" / f"{code}.html").is_file()
        assert (site / "pdf" / f"{code}.pdf").is_file()


def test_each_pdf_is_a4_multipage_with_embedded_fonts_and_the_web_numbers(built):
    from cwi.profiles import LaProfile

    site, results = built["site"], built["results"]
    for code in profile_codes(results):
        profile = LaProfile.model_validate_json(
            (results / "profiles" / f"{code}.json").read_text(encoding="utf-8")
        )
        reader = PdfReader(site / "pdf" / f"{code}.pdf")
        assert 2 <= len(reader.pages) <= 4, code
        for page in reader.pages:
            box = page.mediabox
            assert (round(float(box.width)), round(float(box.height))) == (595, 842)
        fonts = _fonts(reader)
        assert fonts, "no fonts found"
        assert all(embedded for embedded in fonts.values()), f"{code}: fonts not embedded {fonts}"
        assert all("DejaVu-Sans" in name or "DejaVuSans" in name for name in fonts), fonts
        text = pdf_text(site / "pdf" / f"{code}.pdf")
        web = html_text(site / "la_profiles" / f"{code}.html")
        assert profile.la_name in text and profile.la_name in web
        assert f"Page 1 of {len(reader.pages)}" in text  # @page margin boxes rendered
        for m in profile.measures:
            # The same rate strings appear on the web page and in the PDF text layer.
            assert m.rate in text and m.rate in web, (code, m.measure)
            assert m.ci in text and m.ci in web
            assert m.expected_rate in text and m.expected_rate in web
            assert m.ratio_ci in text and m.ratio_ci in web
        assert all(m.ratio != "[x]" for m in profile.measures), "no deprivation-expected rates"
        # The charts, each with its words: spine, deciles, funnel, trend and the map.
        assert set(profile.figures) == {"spine", "deciles", "funnel", "trend", "map"}
        for fig in profile.figures.values():
            assert (results / "profiles" / fig.path).is_file()
            assert fig.title in text and fig.title in web


def _fonts(reader: PdfReader) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        fonts = resources.get("/Font") or {}
        for ref in fonts.values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            found[str(font.get("/BaseFont"))] = embedded
    return found


def test_la_page_rates_match_the_results_store(built):
    """Every headline rate on a page is the stored, disclosure-controlled area rate."""
    import pandas as pd

    area = pd.read_csv(built["results"] / "tables" / "area_rates.csv")
    for code in profile_codes(built["results"]):
        context = json.loads((built["results"] / "profiles" / f"{code}.json").read_text())
        for h in context["measures"]:
            row = area[
                (area["area_code"] == code)
                & (area["measure"] == h["measure"])
                & (area["year"] == context["year"])
            ]
            assert len(row) == 1
            if h["rate"] != "[c]":
                assert float(h["rate"].replace(",", "")) == pytest.approx(
                    round(row["rate"].iloc[0], 1)
                )


def test_quarto_project_lists_existing_pages_and_hooks_are_cwi_commands(built):
    project = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    assert project["project"]["type"] == "website"
    from cwi.site.render import render_list

    pages = render_list(project, ROOT)
    assert ROOT / "index.qmd" in pages
    assert len([p for p in pages if p.parent.name == "la_profiles"]) == 16  # index + 15 LAs

    def hrefs(items):
        for item in items:
            if isinstance(item, str):
                yield item
            elif "menu" in item:
                yield from hrefs(item["menu"])
            else:
                yield item["href"]

    for href in hrefs(project["website"]["navbar"]["left"]):
        exists = (ROOT / href).is_file() or (built["site"] / href).is_file()  # or a built PDF
        assert exists, f"navbar page {href} does not exist"
    # The hooks are the cwi stages the `built` fixture ran successfully.
    assert project["project"]["pre-render"] == "cwi pre-render"
    assert project["project"]["post-render"] == "cwi post-render"
    from typer.testing import CliRunner

    from cwi.cli import app

    help_text = CliRunner().invoke(app, ["--help"]).output
    assert "pre-render" in help_text and "post-render" in help_text


def test_page_sources_have_no_code_cells_and_no_kernel_starts(built):
    sources = (
        list(ROOT.glob("*.qmd"))
        + list((ROOT / "report").glob("*.qmd"))
        + list((ROOT / "la_profiles").glob("*.qmd"))
    )
    assert sources
    for source in sources:
        assert not re.search(r"^```\s*\{", source.read_text(encoding="utf-8"), re.M), source
    code = (
        "import sys, cwi.pipeline, cwi.site.render, cwi.site.pdf, cwi.site.pages;"
        "bad=[m for m in ('ipykernel','jupyter_client','nbclient') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_generated_outputs_are_git_ignored(built):
    paths = [
        "_site/index.html",
        "build/results/manifest.json",
        "data/demo/truth/truth.json",
        "la_profiles/X06000001.qmd",
        "report/_generated/figures/q1_region_deciles.png",
        "node_modules/esbuild/package.json",
        "downloads/q1_decile_rates.csv",
        "_variables.yml",
        "x.pdf",
    ]
    proc = subprocess.run(
        ["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True
    )
    ignored = set(proc.stdout.split())
    assert ignored == set(paths), set(paths) - ignored


def test_manifest_records_inputs_settings_and_code_version(built):
    manifest = json.loads((built["results"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["code_version"]["package"]
    assert manifest["settings"]["release"]["main_year"]
    assert manifest["inputs"], "no input files recorded"
    assert all(len(i.get("sha256", "")) == 64 for i in manifest["inputs"])
    extracts = [i for i in manifest["inputs"] if i["name"] == "la_extract"]
    assert len(extracts) >= 15 * 3 * 3  # every LA, year and file the ingest read
    assert all(not i["path"].startswith("/") for i in extracts)
    assert set(manifest["timings_seconds"]) >= {"ingest", "cube", "analysis", "store", "pages"}


def test_profiles_name_the_reference_data_vintages_of_the_manifest(built):
    """The profiles are built inside the staged store: they must still see its inputs."""
    manifest = json.loads((built["results"] / "manifest.json").read_text(encoding="utf-8"))
    sources = {i["name"] for i in manifest["inputs"] if i.get("vintage")} - {"la_extract"}
    assert sources
    for path in sorted((built["results"] / "profiles").glob("*.json")):
        vintages = json.loads(path.read_text(encoding="utf-8"))["quality"]["vintages"]
        assert vintages, f"{path.name}: no reference vintages"
        page = built["site"] / "la_profiles" / f"{path.stem}.html"
        assert vintages[0] in page.read_text(encoding="utf-8")


def test_findings_report_is_complete(built, built_settings):
    """Every var and fragment resolves, every generated sentence shows, charts carry words."""
    from cwi.report import build_report_content
    from tests.report_checks import check_report

    content = build_report_content(built_settings)
    assert len(content.sentences) > 60
    check_report(built["site"], content.sentences)
    # the LA tables show every LA (the old report cut them at 40 rows without saying so)
    q3 = html_text(built["site"] / "report" / "q3_within_between.html")
    names = {
        p["la_name"] for p in map(_profile(built["results"]), profile_codes(built["results"]))
    }
    assert names and all(n in q3 for n in names)


def _profile(results: Path):
    return lambda code: json.loads((results / "profiles" / f"{code}.json").read_text("utf-8"))


def test_no_pdf_links_to_local_files(built):
    pdfs = sorted((built["site"] / "pdf").glob("*.pdf"))
    assert any(p.name == "report.pdf" for p in pdfs)
    for pdf in pdfs:
        for page in PdfReader(pdf).pages:
            for annot in page.get("/Annots") or []:
                uri = str(annot.get_object().get("/A", {}).get("/URI", ""))
                assert not uri.startswith("file:"), f"{pdf.name}: link to {uri}"
    text = pdf_text(built["site"] / "pdf" / "report.pdf")
    assert "Contents" in text and "Executive summary" in text
    assert "Synthetic data" in text  # the cover says what the data are
