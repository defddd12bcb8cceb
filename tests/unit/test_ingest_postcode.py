"""Postcode normalisation, classification and the NSPL/ONSPD reader (bad inputs 12-15 and 27)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cwi.config import SHARED_PUBLIC
from cwi.ingest.postcode import link, normalise
from cwi.reference.postcodes import PostcodeDirectoryError, read_postcode_directory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs"
HR = SHARED_PUBLIC / "postcode" / "NSPL_NOV_2021_UK_HR.csv"


@pytest.fixture(scope="module")
def directory() -> pd.DataFrame:
    return read_postcode_directory(FIXTURES / "nspl.csv")


@pytest.mark.parametrize(
    ("raw", "reason", "lsoa"),
    [
        ("XA1 1AA", "PC_OK", "X01000001"),
        ("xa1 1aa", "PC_REFORMATTED", "X01000001"),
        ("XA11AA", "PC_REFORMATTED", "X01000001"),
        ("XA1  1AA", "PC_REFORMATTED", "X01000001"),
        ("XA1\u00a01AA", "PC_REFORMATTED", "X01000001"),
        ("XA1\t1AA", "PC_REFORMATTED", "X01000001"),
        (" XA1 1AA.", "PC_REFORMATTED", "X01000001"),
        ("XA1 OAA", "PC_INVALID", None),  # letter O is never turned into a zero
        ("XAI 1AA", "PC_INVALID", None),  # letter I is never turned into a one
        ("XA1 1", "PC_PARTIAL_SECTOR", None),
        ("XA1 1A", "PC_PARTIAL_SECTOR", None),
        ("XA1", "PC_PARTIAL_DISTRICT", None),
        ("XA9 9ZZ", "PC_UNKNOWN", None),
        ("XA1 1AD", "PC_TERMINATED", "X01000003"),
        ("XB1 1AA", "PC_OUTSIDE_LA", "X01000009"),
        ("XW1 1AA", "PC_NON_ENGLISH", None),
        ("XS1 1AA", "PC_NON_ENGLISH", None),
        ("GY1 1AA", "PC_NON_ENGLISH", None),
        ("BT1 1AA", "PC_NON_ENGLISH", None),
        ("BFPO 123", "PC_NON_ENGLISH", None),
        ("ZZ99 3WZ", "PC_PLACEHOLDER", None),
        ("NFA", "PC_NFA", None),
        ("no fixed abode", "PC_NFA", None),
        ("", "PC_BLANK", None),
        ("NULL", "PC_BLANK", None),
        (None, "PC_BLANK", None),
    ],
)
def test_link_reasons(directory, raw, reason, lsoa):
    out = link(pd.Series([raw], dtype=object), directory, "X06000001")
    assert out["finding"].iloc[0] == (None if reason == "PC_OK" else reason)
    assert out["lsoa_code"].iloc[0] == lsoa
    expected_link = "PC_OK" if reason in ("PC_OK", "PC_REFORMATTED") else reason
    assert out["link_reason"].iloc[0] == expected_link


def test_blank_expected_only_where_flagged(directory):
    out = link(pd.Series(["", ""]), directory, "X06000001", pd.Series([True, False]))
    assert list(out["finding"]) == ["PC_BLANK_EXPECTED", "PC_BLANK"]


def test_normalise_canonical_form():
    out = normalise(pd.Series(["xa11aa", "XA12 3BD", "X1 1AA"]))
    assert list(out["canonical"]) == ["XA1 1AA", "XA12 3BD", "X1 1AA"]
    assert list(out["reformatted"]) == [True, False, False]


def test_outside_la_needs_an_ons_code(directory):
    out = link(pd.Series(["XB1 1AA"]), directory, "Demo LA")
    assert out["finding"].iloc[0] is None


def test_read_real_nspl():
    if not HR.is_file():
        pytest.skip("shared NSPL sample not available")
    d = read_postcode_directory(HR)
    assert len(d) == 7986
    assert list(d.columns) == [
        "pcd_key",
        "pcds",
        "lsoa_code",
        "lsoa_edition",
        "ctry",
        "laua",
        "doterm",
        "cty",
    ]
    row = d[d["pcd_key"] == "HR11AA"].iloc[0]
    assert (row["pcds"], row["lsoa_code"], row["lsoa_edition"], row["laua"]) == (
        "HR1 1AA",
        "E01014010",
        "2011",
        "E06000019",
    )
    assert (d["doterm"] != "").sum() == 7986 - 6466  # terminated postcodes are kept
    assert set(d["ctry"]) >= {"E92000001", "W92000004"}


def test_read_2025_renamed_columns():
    """Bad input 27: ONSPD/NSPL 2025 renamed pcd7/lad25cd/lsoa21cd; found by pattern."""
    d = read_postcode_directory(FIXTURES / "nspl_2025.csv")
    row = d.iloc[0]
    assert (row["pcd_key"], row["lsoa_code"], row["lsoa_edition"], row["laua"], row["ctry"]) == (
        "XA11AA",
        "X01000101",
        "2021",
        "X06000001",
        "E92000001",
    )


def test_choose_lsoa_edition(tmp_path):
    path = tmp_path / "onspd.csv"
    path.write_text(
        "pcds,lsoa11,lsoa21,ctry,laua,doterm\nXA1 1AA,X01000001,X01000101,E92000001,X06000001,\n"
    )
    assert read_postcode_directory(path)["lsoa_code"].iloc[0] == "X01000101"
    assert read_postcode_directory(path, lsoa_edition="2011")["lsoa_code"].iloc[0] == "X01000001"


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"PK\x03\x04binary", "spreadsheet"), (b"a,b,c\n1,2,3\n", "no postcode column")],
)
def test_unusable_directory_says_what_to_do(tmp_path, content, match):
    path = tmp_path / "nspl.xlsx"
    path.write_bytes(content)
    with pytest.raises(PostcodeDirectoryError, match=match):
        read_postcode_directory(path)
    with pytest.raises(PostcodeDirectoryError, match="not found"):
        read_postcode_directory(tmp_path / "missing.csv")
