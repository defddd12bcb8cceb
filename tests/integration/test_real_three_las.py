"""A region of three real LAs, built end to end from ../shared/data/public (issue 11).

Herefordshire (E06000019), Telford and Wrekin (E06000020) and Shropshire (E06000051): real LSOA
2011 geography, IMD 2019 (ranks and deciles only, no scores), ONS persons-only populations and
the real NSPL files for the TF and HR postcode areas; synthetic children are placed on the real
LSOAs by the real-geography generator and go through the statutory-format ingest. The first
build must finish with exit 0; then the postcode directory is cut so that it covers only part
of Shropshire, and the build must stop naming Shropshire, or restrict it when told to.
"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cwi.reference.postcodes import read_postcode_directory
from tests.conftest import cwi_command, project_copy

pytestmark = [pytest.mark.slow, pytest.mark.shared]

LAS = ["E06000019", "E06000020", "E06000051"]


def _settings(base: Path, shared: Path, **extra_data: object) -> Path:
    override = {
        "release": {"main_year": 2021, "years": [2021], "imd_vintage": "2019",
                    "region_name": "The Marches", "la_list": "all"},
        "data": {"source": "real-geography", "reference_dir": str(shared), "real_la_list": LAS,
                 "demo_dir": str(base / "demo"), "private_dir": str(base / "build" / "private"),
                 **extra_data},
        "demo": {"years": [2021]},
        "output": {"build_dir": str(base / "build"), "results_dir": str(base / "build" / "results"),
                   "site_dir": str(base / "_site"), "pdf_dir": str(base / "_site" / "pdf")},
    }  # fmt: skip
    path = base / f"settings-{len(extra_data)}.yml"
    path.write_text(yaml.safe_dump(override), encoding="utf-8")
    return path


def _cwi(settings: Path, stages: str | None = None) -> subprocess.CompletedProcess[str]:
    """``cwi build`` in a copy of the project beside ``settings`` (its own page sources)."""
    root, env = project_copy(settings.parent / "project")
    args = ["build"] + (["--stages", stages] if stages else [])
    return subprocess.run(
        cwi_command() + args + ["--settings", str(settings)],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


@pytest.fixture(scope="module")
def region(shared_public, tmp_path_factory):
    base = tmp_path_factory.mktemp("marches")
    settings = _settings(base, shared_public)
    proc = _cwi(settings)  # every stage: inputs ... site, pdf, scan
    return base, settings, proc


def test_three_real_las_build_end_to_end(region):
    base, _settings_file, proc = region
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tables = base / "build" / "results" / "tables"
    area = pd.read_csv(tables / "area_rates.csv")
    las = area[area["area_type"] == "la"]
    assert sorted(las["area_code"].unique()) == LAS
    reg = area[area["area_type"] == "region"]
    assert (reg["area_name"] == "The Marches").all()  # the user's region name is kept
    # denominators are the three LAs' children (~138,000), not the West Midlands' 1.3 million
    assert 120_000 < reg["population"].max() < 160_000
    for code in LAS:
        assert (base / "_site" / "la_profiles" / f"{code}.html").is_file()
        assert (base / "_site" / "pdf" / f"{code}.pdf").is_file()


def test_recovery_audit_on_three_real_las_finds_nothing(region):
    """An attacker's LP over every published count table of the three-LA build (LA totals,
    deciles, quintiles, region; rates x populations) pins no confidential decile count to an
    interval narrower than the threshold."""
    from cwi.config import load_settings
    from tests.disclosure_attack import attack_build

    base, settings_file, proc = region
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result, disclosed = attack_build(
        base / "build" / "results", base / "build" / "private", load_settings(settings_file)
    )
    assert result.bounds  # three LAs hide decile cells: the attack had work to do
    assert disclosed == []


def test_imd_2019_without_scores_ranks_the_las(region):
    base = region[0]
    dep = pd.read_csv(base / "build" / "results" / "tables" / "q3_la_deprivation.csv")
    assert (dep["deprivation_measure"] == "avg_rank").all()
    assert dep["imd_score_mean"].isna().all()
    third = dep.set_index("la_code")["la_third"]
    # Telford and Wrekin is the most deprived of the three on the rank measure, Shropshire the
    # least (IoD2019 LA summaries): not the order of their codes.
    assert third["E06000020"] == 1 and third["E06000051"] == 3 and third["E06000019"] == 2


def test_three_las_report_what_they_cannot_estimate(region):
    base = region[0]
    tables = base / "build" / "results" / "tables"
    notes = pd.read_csv(tables / "analysis_notes.csv").set_index("table")["reason"]
    for name in ("q3_inverse_intervention", "q3_rates_by_la_third", "q3_multilevel"):
        assert "needs at least" in notes[name] and "has 3" in notes[name]
        assert not (tables / f"{name}.csv").exists()
    assert "average rank" in notes["q3_la_deprivation"]
    assert "persons only" in notes["q2_rates_sex"]
    share = pd.read_csv(tables / "q2_male_share.csv")
    assert share["estimate"].dropna().between(0.3, 0.7).all()
    cov = pd.read_csv(tables / "la_coverage.csv")
    assert (cov["share_lsoa_covered"] >= 0.95).all() and (cov["denominators"] == "all LSOAs").all()


def test_unchanged_rebuild_reads_the_ingest_back_and_skips_to_the_store(region):
    """Issue 18 on real geography: nothing changed, so nothing up to the store runs again
    (the next test then changes the postcode directory, which must trigger a full ingest)."""
    base, settings_file, proc = region
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = base / "build" / "results"
    before = {p: p.read_bytes() for p in sorted(results.rglob("*")) if p.is_file()}
    again = _cwi(settings_file, "inputs,reference,ingest,cube,analysis,public,disclosure,store")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "ingest up to date" in again.stderr
    assert "results store up to date: skipped cube, analysis, public, disclosure, store" in (
        again.stderr
    )
    assert {p: p.read_bytes() for p in before} == before


def _cut_shropshire(base: Path, shared: Path) -> None:
    """Leave only postcodes of the real TF and HR files for Shropshire's LSOAs."""
    real = pd.concat(
        [read_postcode_directory(shared / "postcode" / f"NSPL_NOV_2021_UK_{a}.csv") for a in ("TF", "HR")]
    )  # fmt: skip
    live = set(real.loc[real["doterm"].fillna("").astype(str).str.strip() == "", "lsoa_code"])
    lsoa = pd.read_parquet(base / "build" / "private" / "cube" / "lsoa.parquet")
    cut = set(
        lsoa.loc[(lsoa["la_code"] == "E06000051") & ~lsoa["lsoa_code"].isin(live), "lsoa_code"]
    )
    assert len(cut) > 100  # Shropshire lies mostly in the SY area, which is not in ../shared
    path = base / "demo" / "reference" / "nspl.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("lsoa11")
    kept = [rows[0]] + [r for r in rows[1:] if r[col] not in cut]
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(kept)


def test_partial_postcode_directory_stops_or_restricts(region, shared_public):
    base, settings, first = region
    assert first.returncode == 0
    _cut_shropshire(base, shared_public)
    proc = _cwi(settings, "reference,ingest,cube")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "Shropshire (E06000051): only" in proc.stderr
    assert "postcode_coverage_action: restrict" in proc.stderr
    assert "Telford and Wrekin (E06000020)" not in proc.stderr  # fully covered: not named

    restricted = _settings(base, shared_public, postcode_coverage_action="restrict")
    proc = _cwi(restricted, "reference,ingest,cube,analysis,disclosure,store")
    assert proc.returncode == 0, proc.stderr
    cov = pd.read_csv(base / "build" / "results" / "tables" / "la_coverage.csv").set_index(
        "la_code"
    )
    assert cov.loc["E06000051", "share_lsoa_covered"] < 0.5
    assert cov.loc["E06000051", "denominators"] == "LSOAs with postcodes only"
    assert "for those neighbourhoods only" in cov.loc["E06000051", "note"]
    notes = pd.read_csv(base / "build" / "results" / "tables" / "analysis_notes.csv")
    assert notes["reason"].str.contains("Shropshire: the postcode directory covers").any()
    # the LA's profile (web page and PDF are rendered from it) carries the note too
    profiles = base / "build" / "results" / "profiles"
    assert "postcode directory covers" in (profiles / "E06000051.json").read_text()
    assert "postcode directory covers" not in (profiles / "E06000020.json").read_text()
