"""Cell cleaning: ids, dates, sex, ethnicity; pseudonyms; the safe CSV writer."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from cwi.config import load_settings
from cwi.ingest import cells
from cwi.ingest.pseudo import ENV_KEY, load_key, pseudonymise
from cwi.ingest.report import safe_csv_write, summary_counts
from cwi.ingest.rules import RULES


@pytest.mark.parametrize(
    ("raw", "expected", "invalid"),
    [
        ("31/03/2020", "2020-03-31", False),
        ("2020-03-31", "2020-03-31", False),
        ("2020-03-31 10:15:00", "2020-03-31", False),
        ("", None, False),
        ("31/02/2020", None, True),
        ("44651", None, True),  # Excel serial: not guessed
        ("01/01/1900", None, True),  # placeholder
        ("1/4/20", None, True),  # two-digit year
        ("12/31/2020", None, True),  # US order
    ],
)
def test_parse_dates(raw, expected, invalid):
    dates, bad = cells.parse_dates(pd.Series([raw]))
    assert bool(bad.iloc[0]) is invalid
    assert (None if pd.isna(dates.iloc[0]) else str(dates.iloc[0].date())) == expected


def test_clean_ids():
    ids, missing, damaged, invalid = cells.clean_ids(
        pd.Series(["123.0", "1.23E+05", " 42 ", "", "A" * 21, "A-1", "ok7"])
    )
    assert list(ids[:3]) == ["123", "123000", "42"]
    assert list(missing) == [False, False, False, True, False, False, False]
    assert list(damaged) == [True, True, False, False, False, False, False]
    assert list(invalid) == [False, False, False, False, True, True, False]


@pytest.mark.parametrize(
    ("vocab", "raw", "sex", "invalid"),
    [
        ("903", "1", "M", False),
        ("903", "2.0", "F", False),
        ("903", "3", "U", True),
        ("903", "", "U", True),
        ("cin", "0", "U", False),
        ("cin", "9", "U", False),
        ("cin", "f", "F", False),
        ("cin", "X", "U", True),
        ("standard", "M", "M", False),
        ("standard", "1", "U", True),
    ],
)
def test_sex_codes(vocab, raw, sex, invalid):
    got, bad = cells.sex_codes(pd.Series([raw]), vocab)
    assert (got.iloc[0], bool(bad.iloc[0])) == (sex, invalid)


def test_ethnic_codes():
    code, alias, invalid = cells.ethnic_codes(
        pd.Series(["wbri", " APKN ", "White British", "GROM", "ACHN", "xyz", "N/A"])
    )
    assert list(code) == ["WBRI", "APKN", "WBRI", "WROM", "CHNE", None, None]
    assert list(alias) == [False, False, True, True, True, False, False]
    assert list(invalid) == [False, False, False, False, False, True, True]


def test_age_at_birthday_boundary():
    dob = pd.Series(pd.to_datetime(["2005-03-31", "2005-04-01", "2023-03-31"]))
    assert list(cells.age_at(dob, pd.Timestamp(2023, 3, 31))) == [18, 17, 0]


def test_place_codes_change_by_year():
    assert "Z1" in cells.place_codes(2023) and "Z11" not in cells.place_codes(2023)
    assert "Z11" in cells.place_codes(2026) and "H5" not in cells.place_codes(2026)


def test_pseudonyms_keyed_and_namespaced(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    demo = load_settings().with_overrides(data={"source": "demo", "demo_dir": str(tmp_path)})
    key = load_key(demo)
    assert (tmp_path / "pseudo.key").is_file() and oct((tmp_path / "pseudo.key").stat().st_mode)[
        -3:
    ] == "600"
    assert load_key(demo) == key  # stable
    ids = pd.Series(["123", "123", None])
    a = pseudonymise(ids, "X06000001", key)
    b = pseudonymise(ids, "X06000002", key)
    other = pseudonymise(ids, "X06000001", b"another key")
    assert a.iloc[0] == a.iloc[1] and a.iloc[0] != b.iloc[0] and a.iloc[0] != other.iloc[0]
    assert a.iloc[2] is None and "123" not in a.iloc[0]
    monkeypatch.setenv(ENV_KEY, "ab" * 32)
    assert load_key(demo) == bytes.fromhex("ab" * 32)


def test_safe_csv_write_neutralises_formulas(tmp_path):
    frame = pd.DataFrame(
        {"a": ['=HYPERLINK("x")', "+cmd", "-1+2", "@SUM(A1)", "fine"], "=col": [1, 2, 3, 4, 5]}
    )
    path = safe_csv_write(frame, tmp_path / "sub" / "r.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["a", "'=col"]
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("x")', "'+cmd", "'-1+2", "'@SUM(A1)", "fine"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_rules_registry_and_summary():
    assert all(r.severity in {"error", "query", "info"} for r in RULES.values())
    findings = pd.DataFrame({"rule_code": ["PC_BLANK", "ID_MISSING", "PC_BLANK"]})
    findings["severity"] = findings["rule_code"].map(lambda c: RULES[c].severity)
    counts = summary_counts(findings)
    assert list(counts["rule_code"]) == ["ID_MISSING", "PC_BLANK"]  # errors first
    assert list(counts["n"]) == [1, 2]
