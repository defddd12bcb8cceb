"""The public-data edition in the builds: the demo build's England section, and `cwi build --public`.

The demo build (session fixture ``built``) adds the public tables to the results store and the
"England, LA by LA" page to the site; ``cwi build --public`` builds that edition alone, with no
child-level data, and its outputs pass the leak scan.
"""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
import yaml

from cwi.config import SHARED_PUBLIC
from cwi.public.build import MAIN_COLUMNS, public_available
from tests.conftest import cwi_command, project_copy

pytestmark = pytest.mark.skipif(
    not public_available(SHARED_PUBLIC), reason="public data not found"
)
PROFILE_COLUMNS = ("la_code", "la_name", "year", "measure", "observed", "rate", "expected",
                   "ratio", "ratio_lcl", "ratio_ucl", "rank", "spend_per_child")  # fmt: skip


def test_demo_build_carries_the_england_section(built):
    table = pd.read_csv(built["results"] / "tables" / "england_public.csv")
    assert tuple(table.columns[:12]) == PROFILE_COLUMNS
    assert set(MAIN_COLUMNS) <= set(table.columns)
    assert table["la_code"].nunique() >= 155  # every LA of 2013-2024, old and new codes
    assert (built["results"] / "geo" / "la_outlines.parquet").is_file()
    page = (built["site"] / "england.html").read_text(encoding="utf-8")
    assert 'id="england-search"' in page and "Shropshire" in page
    assert page.count("<img") >= 2 and "inverse intervention" in page
    xlsx = built["site"] / "downloads" / "england_public.xlsx"
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert set(sheets) == {"Contents", "Notes", "england_public"}
    assert "ratio_lcl: " in sheets["Notes"].to_csv()  # every column explained
    data = (built["site"] / "downloads" / "england_public.csv").read_text(encoding="utf-8")
    assert ".0," not in data.splitlines()[1]  # counts written as integers, as every download
    index = (built["site"] / "index.html").read_text(encoding="utf-8")
    assert "england.html" in index  # in the navigation


@pytest.mark.xdist_group("public-only-build")  # in a project copy: need not wait for `built`
def test_public_only_build(tmp_path):
    override = {
        "output": {
            "build_dir": str(tmp_path / "build"),
            "results_dir": str(tmp_path / "build" / "results"),
            "site_dir": str(tmp_path / "_site"),
            "pdf_dir": str(tmp_path / "_site" / "pdf"),
        },
        "data": {"private_dir": str(tmp_path / "private")},
    }
    settings = tmp_path / "settings.yml"
    settings.write_text(yaml.safe_dump(override), encoding="utf-8")
    # in a copy of the project: the build's page sources and _variables.yml are written there,
    # not in this project's tree, which the session build's tests read
    root, env = project_copy(tmp_path / "project")
    env |= {"CWI_SETTINGS": str(settings)}
    proc = subprocess.run(cwi_command() + ["build", "--public"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    for stage in ("public", "disclosure", "store", "pages", "site", "scan"):
        assert f"  {stage} " in proc.stderr
    assert "  ingest " not in proc.stderr and "  cube " not in proc.stderr
    tables = {p.stem for p in (tmp_path / "build" / "results" / "tables").glob("*.csv")}
    assert {"england_public", "england_public_models", "england_public_deciles"} <= tables
    assert "area_rates" not in tables  # nothing child-level
    assert (tmp_path / "_site" / "england.html").is_file()
    manifest = (tmp_path / "build" / "results" / "manifest.json").read_text(encoding="utf-8")
    assert '"data_source": "public"' in manifest and "dfe_cla" in manifest
