"""Unit tests of the IMD readers and the LSOA edition bridge (synthetic files)."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from cwi.reference import ReferenceDataError, align_imd_to_edition, decile_from_rank, read_imd
from tests.imd_files import F7


def _file7(n: int = 20) -> pd.DataFrame:
    rank = np.arange(1, n + 1)
    return pd.DataFrame(
        {
            F7[0]: [f"E0100{i:04d}" for i in rank],
            F7[1]: [f"Demo {i:03d}A" for i in rank],
            F7[2]: "E06000099",
            F7[3]: "Demoshire",
            F7[4]: np.round(80 - rank * 3.1, 3),
            F7[5]: rank,
            F7[6]: np.ceil(rank * 10 / n).astype(int),
        }
    )


def test_file7_layout_keeps_score_rank_decile(tmp_path):
    path = tmp_path / "imd.csv"
    _file7().to_csv(path, index=False)
    imd = read_imd(path, vintage="demo")
    assert list(imd.columns) == [
        "lsoa_code", "lsoa_name", "lad_code", "lad_name", "imd_score", "imd_rank",
        "imd_decile", "lsoa_edition", "vintage",
    ]  # fmt: skip
    assert imd["imd_score"].iloc[0] == pytest.approx(76.9)
    assert imd.loc[imd["imd_rank"] == 1, "imd_decile"].item() == 1  # 1 = most deprived
    assert imd.loc[imd["imd_rank"] == 20, "imd_decile"].item() == 10
    assert set(imd["lsoa_edition"]) == {"2011"} and set(imd["vintage"]) == {"demo"}


def test_file1_xlsx_without_score_gives_nan_scores(tmp_path):
    frame = _file7().drop(columns=[F7[4]])
    frame.columns = [*F7[:4], "Index of Multiple Deprivation (IMD) Rank",
                     "Index of Multiple Deprivation (IMD) Decile"]  # fmt: skip
    path = tmp_path / "File_1.xlsx"
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame().to_excel(xw, sheet_name="Notes")
        frame.to_excel(xw, sheet_name="IMD2019", index=False)
    imd = read_imd(path)
    assert imd["vintage"].iloc[0] == "2019"  # detected from "(2019)"
    assert imd["imd_score"].isna().all()
    assert imd["imd_rank"].tolist() == list(range(1, 21))


def test_imd2010_deciles_are_recomputed_from_rank(tmp_path):
    n = 30
    rank = np.arange(1, n + 1)
    raw = pd.DataFrame(
        {"lsoa01_code": [f"E01{i:06d}" for i in rank], "IMD_score": 90.0 - rank,
         "IMD_rank": rank.astype(float), "IMD_decile": 5}  # package decile: wrong on purpose
    )  # fmt: skip
    path = tmp_path / "imd2010.csv"
    raw.to_csv(path, index=False)
    imd = read_imd(path)
    assert imd["vintage"].iloc[0] == "2010" and imd["lsoa_edition"].iloc[0] == "2001"
    assert imd["imd_decile"].tolist() == list(np.repeat(np.arange(1, 11), 3))


def test_iod2025_layout_gz(tmp_path):
    raw = pd.DataFrame(
        {"lsoa21_code": ["E01000001", "E01000002"], "IMD_decile": [10.0, 1.0],
         "IMD_rank": [2.0, 1.0], "IMD_score": [5.5, 60.1]}
    )  # fmt: skip
    path = tmp_path / "imd2025.csv.gz"
    raw.to_csv(path, index=False)
    imd = read_imd(path)
    assert imd["lsoa_code"].tolist() == ["E01000002", "E01000001"]  # sorted by rank
    assert imd["lsoa_edition"].iloc[0] == "2021" and imd["vintage"].iloc[0] == "2025"


def test_reversed_decile_orientation_is_refused(tmp_path):
    frame = _file7()
    frame[F7[6]] = 11 - frame[F7[6]]
    path = tmp_path / "imd.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ReferenceDataError, match="other way round"):
        read_imd(path, vintage="demo")


def test_missing_and_corrupted_files_give_one_clear_message(tmp_path):
    with pytest.raises(ReferenceDataError) as missing:
        read_imd(tmp_path / "nope.csv")
    assert "nope.csv" in str(missing.value) and "cwi reference fetch" in str(missing.value)
    bad = tmp_path / "imd.csv.gz"
    data = gzip.compress(_file7().to_csv(index=False).encode())
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReferenceDataError, match="corrupted") as corrupt:
        read_imd(bad, vintage="demo")
    assert "imd.csv.gz" in str(corrupt.value)
    badx = tmp_path / "File_1.xlsx"
    badx.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ReferenceDataError, match="Excel"):
        read_imd(badx)


@pytest.mark.parametrize("n", [10, 32844, 33755, 101])
def test_decile_from_rank_sizes_and_orientation(n):
    rank = pd.Series(np.arange(1, n + 1))
    dec = decile_from_rank(rank)
    sizes = dec.value_counts()
    assert sizes.max() - sizes.min() <= 1
    assert dec.iloc[0] == 1 and dec.iloc[-1] == 10 and dec.is_monotonic_increasing


def _imd(codes, scores, edition="2011"):
    n = len(codes)
    frame = pd.DataFrame({"lsoa_code": codes, "lsoa_name": codes, "lad_code": "E1", "lad_name": "A",
                          "imd_score": scores})  # fmt: skip
    frame["imd_rank"] = frame["imd_score"].rank(ascending=False).astype("Int64")
    frame["imd_decile"] = decile_from_rank(frame["imd_rank"], n)
    frame["lsoa_edition"], frame["vintage"] = edition, "2019"
    return frame


def test_align_bridges_unchanged_split_and_merge():
    codes = [f"A{i:02d}" for i in range(10)]
    imd = _imd(codes, [90.0, 80, 70, 60, 50, 40, 30, 20, 10, 5])
    lookup = pd.DataFrame(
        {
            "lsoa11_code": ["A00", "A01", "A01", "A02", "A03", *codes[4:]],
            "lsoa21_code": [
                "B00",
                "B01",
                "B02",
                "B03",
                "B03",
                *[c.replace("A", "B") for c in codes[4:]],
            ],
        }
    )
    out, notes = align_imd_to_edition(imd, "2021", lookup)
    got = out.set_index("lsoa_code")
    assert got.loc["B00", "imd_score"] == 90.0  # unchanged
    assert got.loc["B01", "imd_score"] == got.loc["B02", "imd_score"] == 80.0  # split inherits
    assert got.loc["B03", "imd_score"] == pytest.approx(65.0)  # merge: mean of 70 and 60
    assert got.loc["B03", "imd_rank"] == 4  # mean of ranks 3 and 4, rounded half to even
    assert got.loc["B03", "imd_decile"] == 4
    assert set(out["lsoa_edition"]) == {"2021"}
    assert len(notes) == 1 and "2 parts of split" in notes[0] and "1 merged" in notes[0]
    # the same lookup read the other way: IMD on 2021 onto 2011 records
    back, _ = align_imd_to_edition(out, "2011", lookup)
    assert back.set_index("lsoa_code").loc["A01", "imd_score"] == 80.0


def test_align_same_edition_is_a_copy_and_refusal_is_clear():
    imd = _imd(["A", "B"], [10.0, 5.0])
    same, notes = align_imd_to_edition(imd, "2011", None)
    assert notes == [] and same.equals(imd)
    with pytest.raises(ReferenceDataError, match="do not match"):
        align_imd_to_edition(imd, "2021", None, bridge=False)
    with pytest.raises(ReferenceDataError, match="needs an LSOA 2011 to 2021 lookup"):
        align_imd_to_edition(imd, "2021", None)
