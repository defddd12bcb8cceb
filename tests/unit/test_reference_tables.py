"""Unit tests of the population, ethnicity, lookup and DfE readers (synthetic files)."""

from __future__ import annotations

import pandas as pd
import pytest

from cwi.reference import ReferenceDataError
from cwi.reference.dfe import read_dfe_tables, split_symbol
from cwi.reference.lookups import (
    lsoa_to_childrens_la,
    read_lsoa_lookup,
    read_lsoa_ltla,
    read_ltla_region,
    read_ltla_utla,
)
from cwi.reference.population import (
    pick_estimate_year,
    read_population_ethnicity,
    read_population_sya,
    sex_from_name,
    year_from_name,
)

AGES = [str(a) for a in range(90)] + ["90+"]


def _sya(path, codes, base):
    rows = []
    for i, code in enumerate(codes):
        counts = [base + i + a for a in range(91)]
        rows.append({"lsoa11_name": f"X {i}", "lsoa11_code": code, "total_population": sum(counts),
                     **dict(zip(AGES, counts, strict=True))})  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)


def test_population_long_frame_children_only(tmp_path):
    path = tmp_path / "population_mid2020_females.csv"
    _sya(path, ["E01000001", "E01000002"], 10)
    pop = read_population_sya(path)
    assert list(pop.columns) == ["lsoa_code", "age", "sex", "population"]
    assert set(pop["age"]) == set(range(18)) and set(pop["sex"]) == {"F"}
    assert pop.loc[(pop.lsoa_code == "E01000002") & (pop.age == 17), "population"].item() == 28
    assert pop["population"].sum() == sum(10 + a for a in range(18)) + sum(
        11 + a for a in range(18)
    )


@pytest.mark.parametrize(
    ("name", "sex", "year"),
    [("population_mid2020_males.csv", "M", 2020), ("population_mid2019_females.csv.gz", "F", 2019),
     ("population20_lsoa11_single_year_of_age.csv.gz", "P", 2020)],
)  # fmt: skip
def test_sex_and_year_from_file_names(name, sex, year):
    assert sex_from_name(name) == sex and year_from_name(name) == year


def test_population_negative_or_missing_age_refused(tmp_path):
    path = tmp_path / "p.csv"
    _sya(path, ["E01000001"], 1)
    frame = pd.read_csv(path)
    frame.loc[0, "5"] = -3
    frame.to_csv(path, index=False)
    with pytest.raises(ReferenceDataError, match="negative"):
        read_population_sya(path)
    frame.drop(columns=["5"]).to_csv(path, index=False)
    with pytest.raises(ReferenceDataError, match="single-year-of-age"):
        read_population_sya(path)


def test_pick_estimate_year_nearest_with_note():
    assert pick_estimate_year(2020, [2019, 2020]) == (2020, None)
    year, note = pick_estimate_year(2022, [2019, 2020])
    assert year == 2020 and "mid-2022" in note and "mid-2020" in note
    assert pick_estimate_year(2018, [2017, 2019])[0] == 2019  # tie: the later year


def test_ethnicity_codes_summed_to_major_groups(tmp_path):
    path = tmp_path / "population_ethnicity.csv"
    pd.DataFrame({"lsoa11_code": ["E01000001"], "WBRI": [5], "WIRI": [2], "APKN": [7],
                  "NOBT": [1]}).to_csv(path, index=False)  # fmt: skip
    eth = read_population_ethnicity(path).set_index("ethnic_group")["population"]
    assert eth.to_dict() == {"Asian": 7, "Unknown": 1, "White": 7}


def test_lookups_map_districts_to_childrens_services_las(tmp_path):
    (tmp_path / "l.csv").write_text(
        "lsoa11_name,lsoa11_code,ltla21_name,ltla21_code\n"
        "Tamworth 001A,E01029000,Tamworth,E07000199\nBirmingham 001A,E01008881,Birmingham,E08000025\n"
    )
    (tmp_path / "u.csv").write_text(
        "ltla21_name,ltla21_code,utla21_name,utla21_code\n"
        "Tamworth,E07000199,Staffordshire,E10000028\nBirmingham,E08000025,Birmingham,E08000025\n"
    )
    (tmp_path / "r.csv").write_text(
        "ltla21_name,ltla21_code,region21_name,region21_code\n"
        "Tamworth,E07000199,West Midlands,E12000005\nBirmingham,E08000025,West Midlands,E12000005\n"
    )
    out = lsoa_to_childrens_la(
        read_lsoa_ltla(tmp_path / "l.csv"), read_ltla_utla(tmp_path / "u.csv"),
        read_ltla_region(tmp_path / "r.csv"),
    ).set_index("lsoa_code")  # fmt: skip
    assert out.loc["E01029000", "la_code"] == "E10000028"
    assert out.loc["E01029000", "la_name"] == "Staffordshire"
    assert out.loc["E01008881", "la_code"] == "E08000025"
    assert set(out["region_code"]) == {"E12000005"}


def test_lsoa_lookup_needs_two_editions(tmp_path):
    (tmp_path / "a.csv").write_text("lsoa11_code,lsoa21_code,change_code\nE1,E2,S\n")
    assert read_lsoa_lookup(tmp_path / "a.csv").columns.tolist() == [
        "lsoa11_code",
        "lsoa21_code",
        "change_code",
    ]
    (tmp_path / "b.csv").write_text("lsoa11_code,x\nE1,E2\n")
    with pytest.raises(ReferenceDataError, match="two LSOA code columns"):
        read_lsoa_lookup(tmp_path / "b.csv")


def test_split_symbol_keeps_every_dfe_symbol():
    num, sym = split_symbol(pd.Series(["12", "c", "x", "z", "k", "low", "u", "", "1,200"]))
    assert num.iloc[0] == 12 and num.iloc[-1] == 1200 and num.iloc[1:8].isna().all()
    assert sym.tolist() == ["", "c", "x", "z", "k", "low", "u", "", ""]


GEO = "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,old_la_code,new_la_code,la_name"


def test_dfe_tables_measures_population_and_cpp_rate(tmp_path):
    cla = tmp_path / "cla.csv"
    cla.write_text(
        "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,old_la_code,la_name,new_la_code,population_count,population_estimate,number,rate_per_10000\n"
        "2024,Reporting year,Local authority,E92000001,England,E12000005,West Midlands,330,Birmingham,E08000025,Children looked after at 31 March each year,280000,2100,75\n"
        "2024,Reporting year,Local authority,E92000001,England,E12000005,West Midlands,330,Birmingham,E08000025,Children starting to be looked after each year,280000,900,32\n"
        "2024,Reporting year,Local authority,E92000001,England,E12000005,West Midlands,999,Tiny,E06000999,Children looked after at 31 March each year,500,c,c\n"
    )
    b1 = tmp_path / "b1.csv"
    b1.write_text(f"{GEO},At31_episodes,At31_episodes_rate\n"
                  "2024,Reporting year,Local authority,E92000001,England,E12000005,West Midlands,330,E08000025,Birmingham,9000,321.4\n"
                  "2024,Reporting year,Local authority,E92000001,England,E12000005,West Midlands,999,E06000999,Tiny,low,u\n")  # fmt: skip
    d5 = tmp_path / "d5.csv"
    d5.write_text(f"{GEO},CPP_At31\n"
                  "2024,Reporting year,Local authority,E92000001,England,E12000005,West Midlands,330,E08000025,Birmingham,1400\n"
                  "2024,Reporting year,Local authority,E92000001,England,E12000005,West Midlands,999,E06000999,Tiny,x\n")  # fmt: skip
    out = read_dfe_tables(cla, b1, d5)
    assert list(out.columns) == ["year", "geographic_level", "la_code", "la_name", "region_name",
                                 "measure", "number", "population", "rate_per_10000", "symbol"]  # fmt: skip
    got = out.set_index(["measure", "la_code"])
    assert len(out) == 6  # only the 'at 31 March' CLA rows
    assert got.loc[("CLA", "E08000025"), "rate_per_10000"] == 75
    assert got.loc[("CIN", "E08000025"), "population"] == 280000
    assert got.loc[("CPP", "E08000025"), "rate_per_10000"] == pytest.approx(50.0)
    assert got.loc[("CLA", "E06000999"), "symbol"] == "c"
    assert got.loc[("CIN", "E06000999"), "symbol"] == "low"
    assert pd.isna(got.loc[("CPP", "E06000999"), "number"])
    assert got.loc[("CPP", "E06000999"), "symbol"] == "x"
