"""Real extracts, any region (issue 11) and inputs accounted for (issue 12 item 7).

Hostile and awkward inputs a new user meets with real data: unknown LA folder names, symlinks
out of the extracts root, year folders outside ``release.years``, ``la_list: all`` with
extracts for 3 of 14 LAs, a one-LA region, IMD 2019 without scores, persons-only populations,
semicolon-separated files, ``AddressStartDate``, truncated / namespaced / UTF-16 XML and
file-level errors that must stop an LA unless the user accepts them.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic import synthetic_cube
from cwi.analysis import q2, q3, run_all
from cwi.analysis.cells import la_deprivation
from cwi.config import SettingsError, load_settings
from cwi.cube import Cube
from cwi.cube_build import build_cube
from cwi.ingest.inventory import take_inventory
from cwi.ingest.readers import read_source
from cwi.ingest.validate import validate_cli
from cwi.pipeline import BuildError, check_la_list, measures_missing, stop_on_file_errors
from cwi.schemas import CHILD_SNAPSHOT

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs"
KNOWN = [f"E0600000{i}" for i in range(1, 10)] + [f"E1000000{i}" for i in range(1, 6)]  # 14


def _tree(root: Path, paths: list[str]) -> None:
    for rel in paths:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("CHILD,SEX\n1,1\n", encoding="utf-8")


# ---- the extracts root: every entry read or listed with a reason ---------------------------------
def test_every_entry_is_read_or_listed_with_a_reason(tmp_path):
    root = tmp_path / "extracts"
    _tree(root, [
        "E06000001/2023/ssda903_header.csv", "E06000001/2023/README.md",
        "E06000001/2023/.~lock.csv#", "E06000001/2019/ssda903_header.csv",
        "E06000001/notes/x.csv", "E06000002/2022/cin.xml", ".git/config", "list.csv",
    ])  # fmt: skip
    inv = take_inventory(root, KNOWN, years=[2021, 2022, 2023])
    assert inv.errors == []
    e = inv.entries.set_index("path")
    assert e.loc["E06000001/2023/ssda903_header.csv", "status"] == "read"
    assert "documentation" in e.loc["E06000001/2023/README.md", "reason"]
    assert "hidden" in e.loc["E06000001/2023/.~lock.csv#", "reason"]
    assert "not in release.years" in e.loc["E06000001/2019", "reason"]
    assert "collection-year" in e.loc["E06000001/notes", "reason"]
    assert "hidden" in e.loc[".git", "reason"] and "top level" in e.loc["list.csv", "reason"]
    assert list(inv.ignored_years["path"]) == ["E06000001/2019"]
    assert sorted((la, y) for _d, la, y in inv.jobs) == [("E06000001", 2023), ("E06000002", 2022)]


@pytest.mark.parametrize("name", ["E99999999", "X06000009 (copy)", "e06000001", "Shropshire"])
def test_folder_not_named_after_a_known_la_is_an_error(tmp_path, name):
    root = tmp_path / "extracts"
    _tree(root, [f"{name}/2023/a.csv", "E06000001/2023/a.csv"])
    inv = take_inventory(root, KNOWN, years=[2023])
    assert len(inv.errors) == 1 and name in inv.errors[0] and "rename" in inv.errors[0]
    assert inv.entries.set_index("path").loc[name, "status"] == "refused"


def test_symlink_out_of_the_root_is_refused(tmp_path):
    outside = tmp_path / "secret"
    _tree(outside, ["pseudo.csv"])
    root = tmp_path / "extracts"
    _tree(root, ["E06000001/2023/a.csv"])
    (root / "E06000001" / "2023" / "b.csv").symlink_to(outside / "pseudo.csv")
    (root / "E06000002").symlink_to(outside, target_is_directory=True)
    inv = take_inventory(root, KNOWN, years=[2023])
    assert len(inv.errors) == 2 and all("symlink" in e for e in inv.errors)
    refused = inv.entries[inv.entries["status"] == "refused"]["path"].tolist()
    assert sorted(refused) == ["E06000001/2023/b.csv", "E06000002"]


def test_la_list_all_means_las_with_extracts_3_of_14(tmp_path):
    root = tmp_path / "extracts"
    _tree(root, [f"{c}/2023/a.csv" for c in KNOWN[:3]])
    inv = take_inventory(root, KNOWN, years=[2023], la_list=None)
    assert inv.la_codes == KNOWN[:3]
    # the cube keeps only the supplied LAs: denominators of 3 LAs, not 14
    ref = types.SimpleNamespace(
        la=pd.DataFrame({"la_code": KNOWN, "la_name": KNOWN, "region_name": "R"}),
        lsoa=pd.DataFrame({"lsoa_code": [f"L{i:02d}" for i in range(14)], "lsoa_name": "",
                           "la_code": KNOWN, "la_name": KNOWN, "imd_score": np.nan,
                           "imd_rank": np.arange(1, 15) * 1000, "imd_decile": 5}),
        population=pd.DataFrame({"year": 2023, "lsoa_code": [f"L{i:02d}" for i in range(14)],
                                 "age": 5, "sex": "P", "population": 100}),
        population_ethnicity=None,
    )  # fmt: skip
    supplied = pd.DataFrame({"la_code": KNOWN[:3], "year": 2023, "measure": "CLA"})
    children = pd.DataFrame(columns=list(CHILD_SNAPSHOT))
    settings = load_settings().with_overrides(release={"years": [2023], "main_year": 2023,
                                                       "region_name": "My region"})  # fmt: skip
    cube = build_cube(children, ref, settings, supplied=supplied)
    assert cube.la["la_code"].tolist() == KNOWN[:3]
    assert cube.population["population"].sum() == 300
    assert (cube.la["region_name"] == "My region").all()
    # an LA-year without an extract has no denominator (never a true zero)
    part = supplied.iloc[:2]
    cube2 = build_cube(children, ref, settings, supplied=part)
    assert cube2.population["population"].sum() == 200


def test_la_list_code_unknown_to_the_reference_is_a_settings_error():
    s = load_settings().with_overrides(release={"la_list": ["E06000099"]})
    with pytest.raises(SettingsError, match=r"release.la_list \['E06000099'\] not among"):
        check_la_list(s, set(KNOWN))


def test_missing_measure_file_is_named():
    supplied = pd.DataFrame(
        {"la_code": ["E06000001"] * 2, "year": 2023, "measure": ["CIN", "CPP"]}
    )
    assert measures_missing(supplied) == ["E06000001 2023: no accepted the SSDA903 return (CLA)"]


def test_file_error_stops_the_la_unless_accepted():
    findings = pd.DataFrame([{"file": "E06000001/2023/cin.xml", "row": 0, "child_pid": "",
                              "column": "", "rule_code": "FILE_XML_MALFORMED", "severity": "error",
                              "message": "The XML is not well formed."}])  # fmt: skip
    cons = pd.DataFrame({"file": ["E06000001/2023/cin.xml"], "la_code": ["E06000001"]})
    s = load_settings()
    with pytest.raises(BuildError, match="E06000001: E06000001/2023/cin.xml: FILE_XML_MALFORMED"):
        stop_on_file_errors(findings, cons, s)
    stop_on_file_errors(findings, cons, s.with_overrides(data={"accept_errors": ["E06000001"]}))


# ---- readers -------------------------------------------------------------------------------------
def test_semicolon_file_is_a_file_error_naming_the_delimiter(tmp_path):
    path = tmp_path / "ssda903_header.csv"
    path.write_text("CHILD;SEX;DOB;ETHNIC\n1;1;01/05/2010;WBRI\n", encoding="utf-8")
    src = read_source(path, path.name)
    assert src.file_rejected and src.notes == [(0, "", "FILE_DELIMITER_SEMICOLON")]


def test_semicolon_file_exits_2_in_validate(tmp_path, capsys):
    folder = tmp_path / "X06000001" / "2023"
    folder.mkdir(parents=True)
    (folder / "ssda903_header.csv").write_text("CHILD;SEX;DOB;ETHNIC\n1;1;01/05/2010;WBRI\n")
    s = load_settings().with_overrides(
        data={"postcode_directory": str(FIXTURES / "nspl.csv")},
        output={"build_dir": str(tmp_path / "build")},
    )
    assert validate_cli(folder.parent, None, s) == 2
    assert "semicolons" in capsys.readouterr().out


def test_address_start_date_is_read_as_the_as_at_date(tmp_path):
    path = tmp_path / "addresses.csv"
    path.write_text("LAchildID,Postcode,AddressStartDate\n201,XA1 1AA,2022-01-01\n")
    src = read_source(path, path.name)
    assert src.kind == "ADDRESSES" and not src.file_rejected, src.notes
    assert src.tables["ADDRESSES"]["AS_AT"].tolist() == ["2022-01-01"]


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "addresses.csv"
    path.write_text("LAchildID,Postcode,Moved\n201,XA1 1AA,2022-01-01\n")
    src = read_source(path, path.name)
    assert (0, "AS_AT", "FILE_MISSING_COLUMNS") in src.notes


def _cin_xml() -> str:
    return (FIXTURES / "18_address_history" / "X06000001" / "2023" / "cin_census.xml").read_text()


def test_utf16_xml_is_read_as_xml(tmp_path):
    path = tmp_path / "cin_census.xml"
    text = _cin_xml().replace('encoding="utf-8"', 'encoding="utf-16"')
    path.write_bytes(text.encode("utf-16"))
    src = read_source(path, path.name)
    assert src.kind == "CIN_XML" and src.rows_in > 0 and not src.file_rejected


def test_truncated_xml_is_a_file_error(tmp_path):
    path = tmp_path / "cin_census.xml"
    text = _cin_xml()
    path.write_text(text[: int(len(text) * 0.7)], encoding="utf-8")
    src = read_source(path, path.name)
    assert src.file_rejected and src.notes == [(0, "", "FILE_XML_MALFORMED")] and not src.tables


def test_unknown_xml_namespace_is_a_file_error(tmp_path):
    path = tmp_path / "cin_census.xml"
    path.write_text(
        _cin_xml().replace("<Message>", '<Message xmlns="urn:evil">'), encoding="utf-8"
    )
    src = read_source(path, path.name)
    assert src.file_rejected and src.notes == [(0, "", "FILE_XML_NAMESPACE")]


def test_declared_encoding_that_lies_is_a_file_error(tmp_path):
    path = tmp_path / "cin_census.xml"
    # declared utf-8, written in Windows-1252: the accented byte is not UTF-8
    path.write_bytes(_cin_xml().replace("<LEA>999</LEA>", "<LEA>Caf\u00e9</LEA>").encode("cp1252"))
    src = read_source(path, path.name)
    assert src.file_rejected


# ---- any number of LAs; deprivation without scores; persons only ------------------------------------
def _one_la_cube() -> Cube:
    cube, _ = synthetic_cube(n_la=1, lsoa_per_la=150, seed=3)
    return cube


def test_one_la_region_runs_and_reports_what_it_cannot_estimate():
    cube = _one_la_cube()
    tables = run_all(cube, load_settings().with_overrides(release={"years": [2023],
                                                                   "main_year": 2023}))  # fmt: skip
    notes = tables["analysis_notes"].set_index("table")["reason"]
    for name in ("q3_inverse_intervention", "q3_rates_by_la_third", "q3_multilevel",
                 "q3_between_la"):  # fmt: skip
        assert name not in tables and "this build has 1" in notes[name]
    assert not tables["q1_decile_rates"].empty and not tables["q3_standardised"].empty
    assert all(not str(r).startswith(("KeyError", "IndexError")) for r in notes)


def test_imd_without_scores_thirds_follow_the_rank_measure_not_code_order():
    cube, _ = synthetic_cube(n_la=9, lsoa_per_la=60, seed=4)
    lsoa = cube.lsoa.copy()
    lsoa["imd_score"] = np.nan
    # make the LA with the highest code the most deprived and the lowest code the least
    order = {c: i for i, c in enumerate(sorted(cube.la["la_code"]))}
    lsoa["imd_rank"] = (
        lsoa["la_code"].map(order).rsub(9) * 3000 + lsoa.groupby("la_code").cumcount() + 1
    )
    nc = Cube(counts=cube.counts, population=cube.population,
              population_ethnicity=cube.population_ethnicity, lsoa=lsoa, la=cube.la)  # fmt: skip
    dep = la_deprivation(nc, 2023).set_index("la_code")
    assert (dep["deprivation_measure"] == "avg_rank").all()
    codes = sorted(dep.index)
    assert dep.loc[codes[-1], "la_third"] == 1 and dep.loc[codes[0], "la_third"] == 3
    assert dep["la_third"].tolist() == sorted(dep["la_third"], reverse=True)
    inv = q3.inverse_intervention(nc, 2023)
    assert inv["term"].str.contains("average IMD rank").any()
    assert not inv["term"].str.contains("score").any()


def test_persons_only_population_gives_the_male_share_of_cases():
    cube, _ = synthetic_cube(n_la=6, lsoa_per_la=60, seed=6)
    pop = cube.population.groupby(["year", "la_code", "lsoa_code", "age_band"], as_index=False)[
        "population"
    ].sum().assign(sex="U")[cube.population.columns]  # fmt: skip
    nc = Cube(counts=cube.counts, population=pop, population_ethnicity=cube.population_ethnicity,
              lsoa=cube.lsoa, la=cube.la)  # fmt: skip
    assert not q2.has_sex_split(nc)
    share = q2.male_share_by_decile(nc, 2023)
    c = cube.counts[(cube.counts["measure"] == "CLA") & cube.counts["sex"].isin(["M", "F"])]
    assert share.loc[share["measure"] == "CLA", "sex_recorded"].sum() == c["n"].sum()
    assert share["estimate"].between(0, 1).all()
    tables = run_all(nc, load_settings().with_overrides(release={"years": [2023],
                                                                 "main_year": 2023}))  # fmt: skip
    notes = tables["analysis_notes"].set_index("table")["reason"]
    assert "persons only" in notes["q2_rates_sex"] and "q2_male_share" in notes["q2_rates_sex"]
    assert "q2_male_share" in tables and "q2_gender_gap" not in notes
    assert set(tables["q2_adjusted"]["dimension"]) == {"age_band"}


def test_a_year_no_extract_holds_is_a_settings_error(tmp_path):
    from cwi.pipeline import check_years

    root = tmp_path / "extracts"
    _tree(root, ["E06000001/2023/a.csv", "E06000002/2022/a.csv"])
    s = load_settings()  # years 2021-2023
    inv = take_inventory(root, KNOWN, years=s.years)
    with pytest.raises(SettingsError, match=r"release.years \[2021\] not held by any extract"):
        check_years(s, inv.jobs)
    check_years(s.with_overrides(release={"years": [2022, 2023]}), inv.jobs)
