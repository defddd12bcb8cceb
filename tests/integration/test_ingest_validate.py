"""`cwi validate DIR`: exit codes, report file, summary, folder forms."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from cwi.config import load_settings
from cwi.ingest import validate_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs"


@pytest.fixture()
def settings(tmp_path):
    return load_settings().with_overrides(
        data={
            "private_dir": str(tmp_path / "private"),
            "postcode_directory": str(FIXTURES / "nspl.csv"),
        },
        output={"build_dir": str(tmp_path / "build")},
    )


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("09_code_format", 0),
        ("21_orphans", 1),
        ("01_xlsx", 2),
        ("24_not_xml", 2),
        ("24_xml_truncated", 1),
    ],
)
def test_exit_codes(case, code, settings, tmp_path, capsys):
    report = tmp_path / "report.csv"
    assert validate_cli(FIXTURES / case / "X06000001" / "2023", report, settings) == code
    frame = pd.read_csv(report, dtype=str, keep_default_na=False)
    assert list(frame.columns) == [
        "file",
        "row",
        "child_pid",
        "column",
        "rule_code",
        "severity",
        "message",
    ]
    printed = capsys.readouterr().out
    assert "Validation findings per rule" in printed and "Conservation" in printed
    for rule in set(frame["rule_code"]):
        assert rule in printed


def test_la_folder_and_default_report(settings):
    assert validate_cli(FIXTURES / "01_bom" / "X06000001", None, settings) == 0
    report = settings.build_dir / "validation" / "X06000001.csv"
    frame = pd.read_csv(report, dtype=str)
    assert list(frame["rule_code"]) == ["FILE_ENCODING_BOM"]
    assert frame["file"].iloc[0] == "X06000001/2023/ssda903_header.csv"


def test_flat_folder_year_from_cin_header_or_unknown(settings, tmp_path):
    flat = tmp_path / "X06000001"
    shutil.copytree(FIXTURES / "08_unborn" / "X06000001" / "2023", flat)
    assert validate_cli(flat, tmp_path / "a.csv", settings) == 0
    flat2 = tmp_path / "flat2" / "X06000001"
    shutil.copytree(FIXTURES / "01_bom" / "X06000001" / "2023", flat2)
    assert validate_cli(flat2, tmp_path / "b.csv", settings) == 1
    assert set(pd.read_csv(tmp_path / "b.csv")["rule_code"]) == {"FILE_YEAR_UNKNOWN"}


def test_report_has_no_raw_values(settings, tmp_path):
    report = tmp_path / "r.csv"
    validate_cli(FIXTURES / "26_formula" / "X06000001" / "2023", report, settings)
    text = report.read_text(encoding="utf-8")
    assert "HYPERLINK" not in text and "cmd" not in text and "SUM(" not in text


def test_missing_postcode_directory_exits_2(settings, tmp_path):
    s = settings.with_overrides(data={"postcode_directory": str(tmp_path / "none.csv")})
    assert validate_cli(FIXTURES / "01_bom" / "X06000001" / "2023", None, s) == 2
