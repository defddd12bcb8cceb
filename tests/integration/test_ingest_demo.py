"""The demo region ingests with a report whose counts per rule equal its truth file's faults."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cwi.config import load_settings


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    generate = pytest.importorskip("cwi.demo").generate
    out = tmp_path_factory.mktemp("demo")
    generate(out, n_las=2, years=[2023])
    return out


@pytest.fixture(scope="module")
def result(demo, tmp_path_factory):
    from cwi.ingest import ingest_all
    from cwi.reference.postcodes import read_postcode_directory

    settings = load_settings().with_overrides(
        data={"private_dir": str(tmp_path_factory.mktemp("private"))}
    )
    postcodes = read_postcode_directory(demo / "reference" / "nspl.csv")
    return ingest_all(demo / "la", postcodes, settings)


@pytest.fixture(scope="module")
def faults(demo) -> pd.DataFrame:
    frame = pd.read_csv(demo / "truth" / "faults.csv", dtype={"file": str, "rule_code": str})
    frame["file"] = frame["file"].str.replace(r"^la/", "", regex=True)
    return frame


def test_counts_per_rule_equal_truth(result, faults):
    got = result.findings.groupby("rule_code").size()
    want = faults.groupby("rule_code").size()
    both = pd.concat({"ingest": got, "truth": want}, axis=1).fillna(0).astype(int)
    diff = both[both["ingest"] != both["truth"]]
    assert diff.empty, f"counts per rule differ:\n{diff}"


def test_findings_located_as_in_truth(result, faults):
    got = set(result.findings[["file", "row", "rule_code"]].itertuples(index=False, name=None))
    want = set(faults[["file", "row", "rule_code"]].itertuples(index=False, name=None))
    assert got == want


def test_conservation_every_la_and_file(result, demo):
    cons = result.conservation
    assert (cons["rows_in"] == cons["accepted"] + cons["rejected"]).all()
    files = {
        p.relative_to(demo / "la").as_posix() for p in (demo / "la").rglob("*") if p.is_file()
    }
    assert set(cons["file"]) == files
    assert cons["rows_in"].gt(0).all()


def test_children_contract_and_linkage(result):
    from cwi.schemas import CHILD_SNAPSHOT, check_columns

    check_columns(result.children, CHILD_SNAPSHOT, "children")
    assert set(result.children["measure"]) == {"CIN", "CPP", "CLA"}
    link = result.linkage
    assert link["linkage_rate"].between(0.8, 1.0).all()
    assert result.children["child_pid"].str.fullmatch(r"[0-9a-f]{24}").all()
