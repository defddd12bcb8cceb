"""Real-data mode: the site for the 14 West Midlands LAs, built from ../shared/data/public.

Synthetic children are placed on the real LSOAs (real IMD, populations and boundaries) and go
through the whole flow. IoD2025 is used (bridged to LSOA 2011) because the IoD2019 copy in
../shared has ranks and deciles but no scores. PDFs are left out to keep CI fast: the demo build
covers them.
"""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
import yaml

from tests.conftest import cwi_command, project_copy

pytestmark = [pytest.mark.slow, pytest.mark.shared]

WEST_MIDLANDS = {
    "Birmingham", "Coventry", "Dudley", "Herefordshire, County of", "Sandwell", "Shropshire", "Solihull",
    "Staffordshire", "Stoke-on-Trent", "Telford and Wrekin", "Walsall", "Warwickshire",
    "Wolverhampton", "Worcestershire",
}  # fmt: skip


def test_real_geography_builds_the_west_midlands_site(shared_public, tmp_path):
    override = {
        "release": {"main_year": 2021, "years": [2021], "imd_vintage": "2025"},
        "data": {
            "source": "real-geography",
            "reference_dir": str(shared_public),
            "demo_dir": str(tmp_path / "demo"),
            "private_dir": str(tmp_path / "build" / "private"),
        },
        "demo": {"years": [2021]},
        "output": {
            "build_dir": str(tmp_path / "build"),
            "results_dir": str(tmp_path / "build" / "results"),
            "site_dir": str(tmp_path / "_site"),
            "pdf_dir": str(tmp_path / "_site" / "pdf"),
        },
    }
    settings = tmp_path / "settings.yml"
    settings.write_text(yaml.safe_dump(override))
    stages = "inputs,reference,ingest,cube,analysis,disclosure,store,pages,site,scan"
    root, env = project_copy(tmp_path / "project")  # its own page sources, not this tree's
    proc = subprocess.run(
        cwi_command() + ["build", "--stages", stages],
        cwd=root,
        env=env | {"CWI_SETTINGS": str(settings)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    site = tmp_path / "_site"
    area = pd.read_csv(tmp_path / "build" / "results" / "tables" / "area_rates.csv")
    las = area[area["area_type"] == "la"].drop_duplicates("area_code")
    assert set(las["area_name"]) == WEST_MIDLANDS
    assert (area[area["area_type"] == "region"]["area_name"] == "West Midlands").all()
    for code in las["area_code"]:
        assert code.startswith("E"), code
        assert (site / "la_profiles" / f"{code}.html").is_file()
    assert "Birmingham" in (site / "la_profiles" / "index.html").read_text(encoding="utf-8")
    # The children's linkage went through real LSOAs: nearly every child is linked.
    linkage = pd.read_csv(tmp_path / "build" / "results" / "tables" / "linkage.csv")
    assert linkage["linkage_rate"].min() > 0.9
    manifest = (tmp_path / "build" / "results" / "manifest.json").read_text()
    assert "imd2025" in manifest and "population" in manifest
    # The recovery audit on real geography: an attacker's LP over every published count
    # table pins no confidential decile count to an interval narrower than the threshold.
    from cwi.config import load_settings
    from tests.disclosure_attack import attack_build

    result, disclosed = attack_build(
        tmp_path / "build" / "results", tmp_path / "build" / "private", load_settings(settings)
    )
    assert result.bounds  # cells were hidden, so the attack had work to do
    assert disclosed == []
    # The findings report on real geography: every var, fragment and generated sentence.
    from cwi.report import build_report_content
    from tests.report_checks import check_report

    content = build_report_content(load_settings(settings))
    check_report(site, content.sentences, root)
    q3 = (site / "report" / "q3_within_between.html").read_text(encoding="utf-8")
    assert all(name.split(",")[0] in q3 for name in WEST_MIDLANDS)
