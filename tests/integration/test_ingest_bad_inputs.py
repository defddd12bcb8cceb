"""The bad-input corpus: each of the 27 bad inputs gives its exact rule code and loses nothing else.

Fixtures: tests/fixtures/bad_inputs/<case>/X06000001/2023/ (written by make_fixtures.py there).
Each case asserts (a) the findings expected, by file, row and rule code, (b) the accepted row
count of every file, so rows not at fault are seen to survive, and (c) the children counted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cwi.config import load_settings
from cwi.ingest import ingest_all
from cwi.reference.postcodes import read_postcode_directory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs"
H, E, A, C = "ssda903_header.csv", "ssda903_episodes.csv", "addresses.csv", "cin_census.xml"

# case -> (expected findings {(file, row, code)}, accepted rows per file, children per measure)
CASES: dict[str, tuple[set[tuple[str, int, str]], dict[str, int], dict[str, int]]] = {
    "01_bom": ({(H, 0, "FILE_ENCODING_BOM")}, {H: 3, E: 3}, {"CLA": 3}),
    "01_cp1252": ({(H, 0, "FILE_ENCODING_CP1252")}, {H: 3, E: 3}, {"CLA": 3}),
    "01_utf16": ({(H, 0, "FILE_ENCODING_UTF16")}, {H: 3, E: 3}, {"CLA": 3}),
    "01_xlsx": ({("extra.csv", 0, "FILE_UNREADABLE")}, {H: 3, E: 3, "extra.csv": 0}, {"CLA": 3}),
    "02_header_variants": (set(), {H: 3, E: 3}, {"CLA": 3}),
    "02_missing_columns": ({(E, 0, "FILE_MISSING_COLUMNS")}, {H: 3, E: 0}, {}),
    "02_duplicate_columns": ({(H, 0, "FILE_DUPLICATE_COLUMNS")}, {H: 3, E: 3}, {"CLA": 3}),
    "03_unknown_table": (
        {("other.csv", 0, "FILE_UNKNOWN_TABLE")},
        {H: 3, E: 3, "other.csv": 0},
        {"CLA": 3},
    ),
    "03_mixed_csv_xml": (
        {(H, 0, "FILE_DUPLICATE_TABLE"), (E, 0, "FILE_DUPLICATE_TABLE")},
        {"ssda903.xml": 1, H: 0, E: 0},
        {"CLA": 1},
    ),
    "03_cin_named_903": (set(), {"ssda903.xml": 3, A: 3}, {"CIN": 2, "CPP": 1}),
    "04_empty": ({(A, 0, "FILE_EMPTY")}, {H: 3, E: 3, A: 0}, {"CLA": 3}),
    "04_header_only": ({(E, 0, "FILE_EMPTY")}, {H: 3, E: 0}, {}),
    "04_blank_rows_field_count": ({(E, 3, "ROW_FIELD_COUNT")}, {H: 3, E: 2}, {"CLA": 2}),
    "05_ids": (
        {
            (H, 2, "ID_EXCEL_DAMAGED"),
            (H, 3, "ID_EXCEL_DAMAGED"),
            (H, 5, "ID_MISSING"),
            (H, 6, "ID_INVALID"),
            (H, 7, "ID_INVALID"),
            (E, 5, "ROW_ORPHAN"),
        },
        {H: 4, E: 3},
        {"CLA": 3},
    ),
    "06_dates": (
        {
            (H, 3, "DATE_INVALID"),
            (H, 4, "DATE_INVALID"),
            (H, 5, "DATE_INVALID"),
            (H, 6, "DATE_INVALID"),
        },
        {H: 2, E: 4},
        {"CLA": 2},
    ),
    "07_temporal": (
        {
            (H, 5, "DOB_FUTURE"),
            (H, 6, "AGE_OUT_OF_RANGE"),
            (E, 3, "DATE_ORDER"),
            (E, 6, "DATE_ORDER"),
            (C, 4, "DATE_ORDER"),
            (C, 5, "DATE_ORDER"),
        },
        {H: 4, E: 3, C: 3, A: 3},
        {"CLA": 2, "CIN": 2, "CPP": 1},
    ),
    "08_unborn": ({(C, 4, "UNBORN")}, {C: 4, A: 4}, {"CIN": 3, "CPP": 1}),
    "09_code_format": ({(H, 4, "ETHNIC_ALIAS")}, {H: 3, E: 3}, {"CLA": 3}),
    "10_legacy_codes": (
        {(H, 2, "ETHNIC_ALIAS"), (E, 3, "PLACE_INVALID"), (C, 3, "ETHNIC_ALIAS")},
        {H: 3, E: 3, C: 3, A: 3},
        {"CLA": 3, "CIN": 3},
    ),
    "11_null_spellings": (
        {(E, 2, "PC_BLANK"), (E, 3, "PC_BLANK"), (E, 4, "PC_BLANK"), (H, 4, "ETHNIC_INVALID")},
        {H: 3, E: 3},
        {"CLA": 3},
    ),
    "12_postcode_format": (
        {(E, r, "PC_REFORMATTED") for r in range(2, 8)} | {(E, 8, "PC_INVALID")},
        {H: 7, E: 7},
        {"CLA": 7},
    ),
    "13_partial": (
        {(E, 2, "PC_PARTIAL_SECTOR"), (E, 3, "PC_PARTIAL_DISTRICT")},
        {H: 3, E: 3},
        {"CLA": 3},
    ),
    "14_unknown_terminated": (
        {(E, 2, "PC_UNKNOWN"), (E, 3, "PC_TERMINATED")},
        {H: 3, E: 3},
        {"CLA": 3},
    ),
    "15_non_english": (
        {(E, r, "PC_NON_ENGLISH") for r in (5, 6, 7, 8)}
        | {(E, 9, "PC_PLACEHOLDER"), (E, 10, "PC_NFA")},
        {H: 9, E: 9},
        {"CLA": 9},
    ),
    "16_blank": (
        {
            (E, 2, "SHORT_BREAK"),
            (E, 2, "PC_BLANK_EXPECTED"),
            (E, 3, "PC_BLANK_EXPECTED"),
            (E, 4, "PC_BLANK"),
            (C, 2, "ADDRESS_MISSING"),
        },
        {H: 3, E: 3, C: 3, A: 1, "ssda903_uasc.csv": 1},
        {"CLA": 2, "CIN": 2, "CPP": 1},
    ),
    "17_home_is_placement": (
        {(E, 2, "PC_HOME_IS_PLACEMENT"), (E, 2, "PC_OUTSIDE_LA")},
        {H: 3, E: 3},
        {"CLA": 3},
    ),
    "18_address_history": ({(A, 7, "ADDRESS_CONFLICT")}, {C: 3, A: 6}, {"CIN": 2, "CPP": 1}),
    "19_duplicates": (
        {
            (H, 5, "ROW_DUPLICATE"),
            (H, 6, "ROW_DUPLICATE_KEY"),
            ("ssda903_episodes_copy.csv", 0, "FILE_DUPLICATE_TABLE"),
            (C, 4, "ROW_DUPLICATE_KEY"),
        },
        {H: 3, E: 3, "ssda903_episodes_copy.csv": 0, C: 3, A: 3},
        {"CLA": 3, "CIN": 2, "CPP": 1},
    ),
    "20_outside_la": ({(E, 2, "PC_OUTSIDE_LA")}, {H: 3, E: 3}, {"CLA": 3}),
    "21_orphans": ({(E, 4, "ROW_ORPHAN")}, {H: 2, E: 2}, {"CLA": 2}),
    "22_overlap": ({(E, 5, "EPISODE_OVERLAP")}, {H: 3, E: 4}, {"CLA": 3}),
    "23_year_mismatch": ({(C, 0, "FILE_YEAR_MISMATCH")}, {C: 3, A: 3}, {"CIN": 2, "CPP": 1}),
    # truncated XML is a file error: no child before the break is kept (issue 12 item 7)
    "24_xml_truncated": ({(C, 0, "FILE_XML_MALFORMED")}, {C: 0, A: 3}, {}),
    "24_xml_namespaced_odd": ({(C, 2, "DATE_INVALID")}, {C: 2, A: 3}, {"CIN": 1, "CPP": 1}),
    "24_not_xml": (
        {("ssda903.xml", 0, "FILE_XML_MALFORMED")},
        {"ssda903.xml": 0, C: 3, A: 3},
        {"CIN": 2, "CPP": 1},
    ),
    "24_xml_903": (
        {("ssda903.xml", 2, "DATE_INVALID"), ("ssda903.xml", 3, "PC_BLANK_EXPECTED")},
        {"ssda903.xml": 2},
        {"CLA": 2},
    ),
    "25_numerics": (
        {(C, 4, "VALUE_OUT_OF_RANGE"), ("ssda903_oc2.csv", 2, "VALUE_OUT_OF_RANGE")},
        {C: 4, A: 4, "ssda903_oc2.csv": 2, H: 3, E: 3},
        {"CLA": 3, "CIN": 3, "CPP": 2},
    ),
    "26_formula": (
        {(H, 5, "ID_INVALID"), (H, 6, "ID_INVALID"), (H, 6, "ETHNIC_INVALID")},
        {H: 3, E: 3},
        {"CLA": 3},
    ),
    "standard_csv": (
        {
            ("standard.csv", 5, "MEASURE_INVALID"),
            ("standard.csv", 6, "SHORT_BREAK"),
            ("standard.csv", 6, "PC_BLANK_EXPECTED"),
            ("standard.csv", 7, "SEX_INVALID"),
            ("standard.csv", 7, "DISABLED_INVALID"),
        },
        {"standard.csv": 5},
        {"CLA": 1, "CIN": 2, "CPP": 1},
    ),
}


@pytest.fixture(scope="module")
def postcodes() -> pd.DataFrame:
    return read_postcode_directory(FIXTURES / "nspl.csv")


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    private = tmp_path_factory.mktemp("private")
    return load_settings().with_overrides(data={"private_dir": str(private)})


def _ingest(case: str, postcodes, settings):
    return ingest_all(FIXTURES / case, postcodes, settings)


def test_every_case_has_fixture():
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert folders == set(CASES)
    numbers = {int(c[:2]) for c in CASES if c[:2].isdigit()}
    assert numbers == set(range(1, 27))  # bad inputs 1-26; 27 (the directory) is in unit tests


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case, postcodes, settings):
    expected, accepted, measures = CASES[case]
    result = _ingest(case, postcodes, settings)
    got = {
        (f.split("/")[-1], int(r), c)
        for f, r, c in result.findings[["file", "row", "rule_code"]].itertuples(index=False)
    }
    assert got == expected
    cons = result.conservation.assign(file=result.conservation["file"].str.split("/").str[-1])
    assert dict(zip(cons["file"], cons["accepted"], strict=True)) == accepted
    assert (cons["rows_in"] == cons["accepted"] + cons["rejected"]).all()
    assert result.children.groupby("measure").size().to_dict() == measures
    # The report never carries a raw value: messages come from the registry only.
    assert (
        not result.findings["message"]
        .str.contains(r"XA1|HYPERLINK|\d{2}/\d{2}/\d{4}", regex=True)
        .any()
    )


def test_snapshot_details(postcodes, settings):
    unborn = _ingest("08_unborn", postcodes, settings).children
    assert unborn["age"].isna().sum() == 1  # the unborn child is counted, not aged
    assert set(unborn.loc[unborn["age"].isna(), "sex"]) == {"U"}
    history = _ingest("18_address_history", postcodes, settings).children
    cin = history[history["measure"] == "CIN"].set_index("link_reason")
    assert (
        cin.loc["PC_OK", "lsoa_code"] == "X01000002"
    )  # the address as at 31 March, not the later one
    assert cin.loc["ADDRESS_CONFLICT", "lsoa_code"] is None
    term = _ingest("14_unknown_terminated", postcodes, settings).children
    assert set(term.loc[term["link_reason"] == "PC_TERMINATED", "lsoa_code"]) == {"X01000003"}
    assert term.loc[term["link_reason"] == "PC_UNKNOWN", "lsoa_code"].isna().all()
    partial = _ingest("13_partial", postcodes, settings).children
    assert partial["lsoa_code"].notna().sum() == 1  # never guessed from a sector or district
    std = _ingest("standard_csv", postcodes, settings).children
    assert set(std.loc[std["measure"] == "CIN", "disabled"]) == {"Y", "U"}


def test_row_numbers_follow_lines(postcodes, settings):
    """A quoted field spanning two lines numbers the next record by its own first line."""
    from cwi.ingest.readers import read_source

    path = FIXTURES / "04_blank_rows_field_count" / "X06000001" / "2023" / H
    src = read_source(path, H)
    assert list(src.tables["HEADER"]["_row"]) == [2, 3, 5]


def test_same_id_in_two_las_differs(tmp_path, postcodes, settings):
    import shutil

    src = FIXTURES / "01_bom" / "X06000001"
    shutil.copytree(src, tmp_path / "X06000001")
    shutil.copytree(src, tmp_path / "X06000002")
    result = ingest_all(tmp_path, postcodes, settings)
    by_la = result.children.groupby("la_code")["child_pid"].apply(set)
    assert len(by_la["X06000001"]) == 3
    assert not by_la["X06000001"] & by_la["X06000002"]
    # X06000002's children live in X06000001's postcodes: kept there, but reported
    assert (
        result.findings.loc[result.findings["file"].str.startswith("X06000002"), "rule_code"]
        == "PC_OUTSIDE_LA"
    ).sum() == 3


def test_crashing_rule_is_reported_and_run_continues(monkeypatch, postcodes, settings):
    from cwi.ingest import cells

    def boom(*args, **kwargs):
        raise RuntimeError("rule bug")

    monkeypatch.setattr(cells, "ethnic_codes", boom)
    result = _ingest("01_bom", postcodes, settings)
    crashed = result.findings[result.findings["rule_code"] == "RULE_CRASHED"]
    assert len(crashed) == 1 and crashed["column"].iloc[0] == "ETHNIC"
    assert len(result.children) == 3  # other rules ran, rows survived
    assert set(result.children["ethnic_group"]) == {"Unknown"}


def test_lsoa_edition_mismatch_is_reported(postcodes, settings):
    s = settings.with_overrides(release={"lsoa_edition": "2021"})
    result = ingest_all(FIXTURES / "01_bom", postcodes, s)
    assert "REF_LSOA_EDITION" in set(result.findings["rule_code"])
    ok = ingest_all(
        FIXTURES / "01_bom", postcodes, settings.with_overrides(release={"lsoa_edition": "2011"})
    )
    assert "REF_LSOA_EDITION" not in set(ok.findings["rule_code"])
