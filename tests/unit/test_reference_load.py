"""load_reference in demo mode, on a tiny demo reference folder written here."""

from __future__ import annotations

import pandas as pd
import pytest

from cwi.config import load_settings
from cwi.reference import ReferenceDataError, load_reference
from tests.imd_files import F7

AGES = [str(a) for a in range(90)] + ["90+"]
CODES = ["X01000001", "X01000002", "X01000003", "X01000004"]


def _write_demo(folder):
    ref = folder / "reference"
    ref.mkdir(parents=True)
    pd.DataFrame({F7[0]: CODES, F7[1]: [f"A {i}" for i in range(4)], F7[2]: ["X06000001"] * 2 + ["X06000002"] * 2,
                  F7[3]: ["A"] * 2 + ["B"] * 2, F7[4]: [60.0, 40.0, 20.0, 10.0], F7[5]: [100, 9000, 20000, 32000],
                  F7[6]: [1, 3, 7, 10]}).to_csv(ref / "imd.csv", index=False)  # fmt: skip
    pd.DataFrame({"LSOA11CD": CODES, "LSOA11NM": [f"A {i}" for i in range(4)], "MSOA11CD": "X02000001",
                  "MSOA11NM": "M", "LAD17CD": ["X06000001"] * 2 + ["X06000002"] * 2, "LAD17NM": ["A"] * 2 + ["B"] * 2,
                  "RGN11CD": "X12000001", "RGN11NM": "Demo region"}).to_csv(ref / "lsoa_lookup.csv", index=False)  # fmt: skip
    pd.DataFrame({"la_code": ["X06000001", "X06000002"], "la_name": ["A", "B"], "region_code": "X12000001",
                  "region_name": "Demo region"}).to_csv(ref / "la_lookup.csv", index=False)  # fmt: skip
    for year in (2020, 2021):
        for sex, base in (("males", 3), ("females", 2)):
            rows = [{"lsoa11_name": "n", "lsoa11_code": c, "total_population": 0, **dict.fromkeys(AGES, base)}
                    for c in CODES]  # fmt: skip
            pd.DataFrame(rows).to_csv(ref / f"population_mid{year}_{sex}.csv", index=False)
    pd.DataFrame({"lsoa11_code": CODES, "WBRI": 40, "APKN": 10}).to_csv(
        ref / "population_ethnicity.csv", index=False
    )


def test_demo_reference_loads_canonical_frames(tmp_path):
    _write_demo(tmp_path / "demo")
    settings = load_settings().with_overrides(
        data={"source": "demo", "demo_dir": str(tmp_path / "demo")},
        release={"years": [2021, 2022, 2023], "imd_vintage": "demo"},
    )
    ref = load_reference(settings)
    assert list(ref.lsoa.columns) == ["lsoa_code", "lsoa_name", "la_code", "la_name", "imd_score",
                                      "imd_rank", "imd_decile"]  # fmt: skip
    assert ref.lsoa.set_index("lsoa_code").loc["X01000001", "imd_decile"] == 1
    assert list(ref.population.columns) == ["year", "lsoa_code", "age", "sex", "population"]
    assert set(ref.population["sex"]) == {"M", "F"} and set(ref.population["age"]) == set(
        range(18)
    )
    assert sorted(ref.population["year"].unique()) == [2021, 2022, 2023]
    # each year: 4 LSOAs x 18 ages x (3 + 2)
    assert ref.population.groupby("year")["population"].sum().tolist() == [360, 360, 360]
    assert any("Collection year 2023" in n and "mid-2021" in n for n in ref.notes)
    assert not any("Collection year 2022" in n for n in ref.notes)  # mid-2021 exists
    eth = ref.population_ethnicity
    assert list(eth.columns) == ["year", "lsoa_code", "ethnic_group", "population"]
    assert eth[(eth.year == 2021) & (eth.ethnic_group == "Asian")]["population"].sum() == 40
    assert ref.la["la_code"].tolist() == ["X06000001", "X06000002"]
    assert ref.boundaries is None and ref.england is None and ref.postcodes.empty
    assert {s["name"] for s in ref.sources} >= {"imd", "lsoa_lookup", "la_lookup"}
    assert all(len(s["sha256"]) == 64 for s in ref.sources)


def test_demo_reference_missing_folder_and_file(tmp_path):
    settings = load_settings().with_overrides(
        data={"source": "demo", "demo_dir": str(tmp_path / "x")}
    )
    with pytest.raises(ReferenceDataError, match="cwi demo"):
        load_reference(settings)
    _write_demo(tmp_path / "x")
    (tmp_path / "x" / "reference" / "la_lookup.csv").unlink()
    with pytest.raises(ReferenceDataError, match="la_lookup.csv"):
        load_reference(settings)
