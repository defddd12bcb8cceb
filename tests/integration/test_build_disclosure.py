"""Disclosure control on a whole build: no sentinel leaks, no small published count, leaks fail."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest
import yaml

from cwi.config import ROOT
from cwi.leaks import scan_paths
from tests.conftest import cwi_command, env_with_venv

pytestmark = pytest.mark.slow


def test_sentinel_child_was_ingested(built):
    """The planted child went through the flow (else the no-leak test proves nothing)."""
    children = pd.read_parquet(built["private"] / "children.parquet")
    assert len(children) > 10_000
    # The pseudonym replaced the id: the raw sentinel id is nowhere in the private snapshot.
    assert not children["child_pid"].astype(str).str.contains(built["sentinels"][-1]).any()


def test_no_planted_identifier_appears_in_any_output(built):
    sentinels = built["sentinels"]
    assert len(sentinels) >= 4  # id, DOB (two forms), postcode (two forms)
    assert scan_paths(built["site"], sentinels=sentinels) == []
    roots = [built["site"], built["results"], built["base"] / "build" / "build.log"]
    for root in roots:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            if path.suffix == ".pdf":
                continue  # PDF text is compressed: covered by scan_paths above
            data = path.read_bytes()
            for s in sentinels:
                assert s.encode() not in data, f"{s!r} found in {path}"


def test_published_tables_have_no_small_counts(built):
    thresholds = yaml.safe_load((ROOT / "settings.yml").read_text())["disclosure"]
    for path in (built["site"] / "downloads").glob("*.csv"):
        frame = pd.read_csv(path)
        for col in [c for c in frame.columns if c in ("n", "observed", "disabled", "recorded")]:
            values = pd.to_numeric(frame[col], errors="coerce").dropna()
            small = values[(values > 0) & (values < thresholds["la_total_min"])]
            assert small.empty, f"{path.name}:{col} publishes counts under the threshold"
        assert not any(c.startswith("lsoa") for c in frame.columns), path.name


def test_a_leaky_template_fails_the_build_naming_the_file(built, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    page = templates / "la_profile.j2"
    text = page.read_text(encoding="utf-8")
    assert "<h1>[[ p.la_name ]]</h1>" in text
    page.write_text(
        text.replace(
            "<h1>[[ p.la_name ]]</h1>",
            "<h1>[[ p.la_name ]]</h1><p>Home XA1 2BD, area X01000017</p>",
        ),
        encoding="utf-8",
    )
    site = tmp_path / "site"
    override = yaml.safe_load(built["settings"].read_text())
    override["output"].update(
        templates_dir=str(templates), site_dir=str(site), pdf_dir=str(site / "pdf")
    )
    settings_file = tmp_path / "leaky.yml"
    settings_file.write_text(yaml.safe_dump(override))
    proc = subprocess.run(
        cwi_command() + ["build", "--stages", "pdf,scan"],
        cwd=ROOT,
        env=env_with_venv() | {"CWI_SETTINGS": str(settings_file)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Leak scan found" in out
    assert "X06000001.pdf" in out
    assert "postcode" in out and "LSOA" in out.upper()


def test_recovery_audit_on_the_demo_build_finds_nothing(built, built_settings):
    """An attacker's LP over every published count table (all years and measures together:
    LA totals, deciles, quintiles, region, LA thirds, rates x populations) pins no
    confidential decile count to an interval narrower than the threshold."""
    from tests.disclosure_attack import attack_build

    result, disclosed = attack_build(built["results"], built["private"], built_settings)
    assert len(result.bounds) > 50  # the demo hides many decile cells: the attack had work
    assert disclosed == []


def _plant_html_count(page, value: str) -> None:
    import lxml.html

    doc = lxml.html.parse(str(page)).getroot()
    for table in doc.iter("table"):
        thead = table.find(".//thead")
        head = [
            th.text_content().strip() for th in (thead if thead is not None else table).iter("th")
        ]
        if "CIN children" in head:
            col = head.index("CIN children")
            row = table.findall(".//tr")[1]
            row.xpath("./th|./td")[col].text = value  # row headers (th) count as cells
            page.write_bytes(lxml.html.tostring(doc, doctype="<!DOCTYPE html>"))
            return
    raise AssertionError(f"no table with a 'CIN children' column in {page}")


def test_sentinels_planted_in_a_built_site_are_each_caught(built, tmp_path):
    """A real pseudonym, a count of 7 in an HTML table, a parquet file, a PDF attachment."""
    from pypdf import PdfWriter

    site = tmp_path / "_site"
    shutil.copytree(built["site"], site)
    pid = str(pd.read_parquet(built["private"] / "children.parquet")["child_pid"].iloc[0])
    pages = sorted((site / "la_profiles").glob("X*.html"))
    pdfs = sorted((site / "pdf").glob("*.pdf"))
    assert pages and pdfs
    # 1. a pseudonym of the real length, in running text of one page
    text = pages[0].read_text(encoding="utf-8")
    pages[0].write_text(text.replace("</h1>", f"</h1><p>Case {pid}</p>", 1), encoding="utf-8")
    # 2. a count of 7 in the decile table of another page
    _plant_html_count(pages[1], "7")
    # 3. a parquet file among the downloads
    shutil.copy(built["private"] / "children.parquet", site / "downloads" / "extra.parquet")
    # 4. an attachment in one PDF
    writer = PdfWriter(clone_from=pdfs[0])
    writer.add_attachment("notes.txt", b"nothing to see")
    with pdfs[0].open("wb") as fh:
        writer.write(fh)
    found = {(f.file.relative_to(site).as_posix(), f.kind) for f in scan_paths(site, ())}
    assert found == {
        (pages[0].relative_to(site).as_posix(), "pseudonymised id"),
        (pages[1].relative_to(site).as_posix(), "small count"),
        ("downloads/extra.parquet", "private data file"),
        (pdfs[0].relative_to(site).as_posix(), "PDF attachment"),
    }
    assert all(pid not in f.detail for f in scan_paths(site, ()))


def test_a_low_threshold_build_is_stamped_not_for_publication_everywhere(built, tmp_path):
    """Thresholds under the documented minimum (allowed only with the unsafe flag): the scan
    stage stamps every page, download and PDF; small counts are then warnings, not errors."""
    from cwi.config import load_settings
    from cwi.disclosure.stamp import is_stamped
    from cwi.pipeline import BuildState, stage_scan

    site = tmp_path / "_site"
    shutil.copytree(built["site"], site)
    override = yaml.safe_load(built["settings"].read_text())
    override["output"].update(site_dir=str(site), pdf_dir=str(site / "pdf"))
    override["disclosure"] = {
        "la_total_min": 3,
        "crosstab_min": 3,
        "zero_safe_margin": 10,
        "round_regional_to": 10,
        "unsafe_allow_low_thresholds": True,
    }
    path = tmp_path / "unsafe.yml"
    path.write_text(yaml.safe_dump(override))
    stage_scan(BuildState(settings=load_settings(path)))
    outputs = [
        p
        for p in site.rglob("*")
        if p.suffix in (".html", ".csv", ".xlsx", ".pdf") and "site_libs" not in p.parts
    ]
    assert any(p.suffix == ".pdf" for p in outputs) and any(p.suffix == ".csv" for p in outputs)
    assert [p.name for p in outputs if not is_stamped(p)] == []


def test_one_precision_per_quantity(built):
    """The region's count is the same wherever a reader finds it: the area table, the sum of
    its deciles, and rate x population (it was 42,760 rounded beside 42,763 derivable)."""
    tables = built["results"] / "tables"
    area = pd.read_csv(tables / "area_rates.csv")
    dec = pd.read_csv(tables / "q1_decile_rates.csv")
    reg = area[area["area_code"] == "REGION"].set_index(["year", "measure"])
    dsum = dec[dec["area_code"] == "REGION"].groupby(["year", "measure"])["n"].sum(min_count=10)
    assert len(reg) >= 3
    for key, row in reg.iterrows():
        assert row["n"] == dsum[key], key
        assert round(row["rate"] * row["population"] / 10000) == row["n"], key
    for name in ("area_rates", "q1_decile_rates", "q1_quintile_rates"):
        assert pd.read_csv(tables / f"{name}.csv")["method"].nunique() == 1, name
