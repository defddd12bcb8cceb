"""The public-data edition on the real files in ../shared/data/public.

Checks observed rates and children by decile against the published figures, the coverage of
every LA and year, the boundary changes, the West Midlands ordering of standardised ratios
(published CWIP decile rates: about 0.8 in Birmingham to about 3 in Shropshire for CLA 2024),
and the verdict sentences in every direction.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from cwi.config import ROOT, SHARED_PUBLIC
from cwi.public.analysis import PUBLISHED_DECILE_RATES
from cwi.public.build import MAIN_COLUMNS, build_public, public_available
from cwi.public.data import la_of_lsoa, vintage_for_year
from cwi.public.verdicts import model_verdict
from cwi.reference.lookups import WEST_MIDLANDS_LAS

needs_public = pytest.mark.skipif(
    not public_available(SHARED_PUBLIC), reason=f"public data not found at {SHARED_PUBLIC}"
)
DFE = SHARED_PUBLIC / "dfe_csc"


@pytest.fixture(scope="module")
def result():
    return build_public(SHARED_PUBLIC)


@pytest.fixture(scope="module")
def main(result):
    return result.tables["england_public"]


def _published(name: str) -> pd.DataFrame:
    return pd.read_csv(DFE / name, dtype=str, keep_default_na=False)


# ---- coverage and observed figures -------------------------------------------------------------


@needs_public
def test_every_la_with_a_published_count_every_year(main):
    assert list(main.columns) == list(MAIN_COLUMNS)
    b1 = _published("b1_children_in_need_2013_to_2024.csv")
    b1 = b1[(b1["geographic_level"] == "Local authority") & b1["At31_episodes"].str.isdigit()]
    for year, g in b1.groupby(b1["time_period"].str[:4].astype(int)):
        ours = main[(main["year"] == year) & (main["measure"] == "CIN")]
        assert set(g["new_la_code"]) == set(ours.dropna(subset=["observed"])["la_code"]), year
    assert sorted(main["year"].unique()) == list(range(2013, 2025))
    assert sorted(main.loc[main["measure"] == "CLA", "year"].unique()) == list(range(2014, 2025))
    per_year = main.groupby(["year", "measure"])["la_code"].nunique()
    assert per_year.between(151, 153).all()
    assert main["la_code"].str.match(r"^E(06|08|09|10)\d{6}$").all()


@needs_public
@pytest.mark.parametrize(
    "code,measure,column,dp",
    [("E08000025", "CLA", "rate_per_10000", 0), ("E06000051", "CLA", "rate_per_10000", 0),
     ("E10000016", "CLA", "rate_per_10000", 0), ("E08000003", "CIN", "At31_episodes_rate", 1),
     ("E08000025", "CIN", "At31_episodes_rate", 1)],
)  # fmt: skip
def test_observed_rates_round_to_the_published_ones(main, code, measure, column, dp):
    if measure == "CLA":
        pub = _published("cla_number_and_rate_per_10k_children.csv")
        pub = pub[pub["population_count"] == "Children looked after at 31 March each year"]
        number = "number"
    else:
        pub = _published("b1_children_in_need_2013_to_2024.csv")
        number = "At31_episodes"
    row = pub[(pub["new_la_code"] == code) & (pub["time_period"].str[:4] == "2024")].iloc[0]
    ours = main[(main["la_code"] == code) & (main["year"] == 2024) & (main["measure"] == measure)]
    ours = ours.iloc[0]
    assert ours["observed"] == float(row[number])
    assert round(ours["rate"], dp) == pytest.approx(float(row[column]), abs=1e-9)
    assert ours["rate_source"] == "computed, unrounded"


@needs_public
def test_children_by_decile_match_the_published_populations(result, main):
    """LA totals equal DfE's child population; decile shares follow IoD2019 File 6 children."""
    dec = result.tables["england_public_deciles"]
    d24 = dec[dec["year"] == 2024].groupby("la_code")["children_0_17"].sum()
    pop = main[(main["year"] == 2024) & (main["measure"] == "CLA")].set_index("la_code")
    assert np.allclose(d24.reindex(pop.index), pop["population"], rtol=1e-9)
    # IoD2019 File 6: dependent children 0-15, mid-2015, by LSOA, with File 2's IoD2019 deciles
    f6 = pd.read_csv(SHARED_PUBLIC / "imd2019" / "File_6_-_IoD2019_Population_Denominators.csv.gz",
                     thousands=",", usecols=[0, 5])  # fmt: skip
    f2 = pd.read_csv(SHARED_PUBLIC / "imd2019" / "File_2_-_IoD2019_Domains_of_Deprivation.csv.gz",
                     usecols=[0, 5])  # fmt: skip
    f6.columns, f2.columns = ["lsoa", "kids"], ["lsoa", "decile"]
    lk = pd.read_csv(SHARED_PUBLIC / "lookups" / "lookup_lsoa11_ltla21.csv")
    ut = pd.read_csv(SHARED_PUBLIC / "lookups" / "lookup_ltla21_utla21.csv")
    ref = f6.merge(f2, on="lsoa").merge(lk, left_on="lsoa", right_on="lsoa11_code")
    ref = ref.merge(ut, on="ltla21_code")
    d20 = dec[dec["year"] == 2020]
    for code in ("E08000025", "E06000051", "E09000033", "E06000009"):
        pub = ref[ref["utla21_code"] == code].groupby("decile")["kids"].sum()
        pub = pub.reindex(range(1, 11), fill_value=0) / pub.sum()
        ours = d20[d20["la_code"] == code].set_index("imd_decile")["children_0_17"]
        ours = ours / ours.sum()
        assert np.abs(ours - pub).max() < 0.03, code


# ---- standardised ratios, models and verdicts ---------------------------------------------------


@needs_public
def test_west_midlands_ordering_of_standardised_ratios(main):
    wm = main[(main["year"] == 2024) & (main["measure"] == "CLA")
              & main["la_code"].isin(WEST_MIDLANDS_LAS)].set_index("la_code")  # fmt: skip
    assert len(wm) == 14
    birmingham, shropshire = wm.loc["E08000025", "ratio"], wm.loc["E06000051", "ratio"]
    assert 0.75 < birmingham < 0.9 and 2.7 < shropshire < 3.4
    assert wm["ratio"].idxmin() == "E08000025" and wm["ratio"].idxmax() == "E06000051"
    assert wm["ratio"].corr(wm["la_deprivation"], method="spearman") < -0.5
    assert (wm["ratio_lcl"] < wm["ratio"]).all() and (wm["ratio"] < wm["ratio_ucl"]).all()
    assert wm.loc["E08000025", "ratio_ucl"] < 1 < wm.loc["E06000051", "ratio_lcl"]


@needs_public
def test_models_give_a_verdict_per_measure_and_year(result):
    models = result.tables["england_public_models"]
    latest = models[models["year"] == 2024].set_index("measure")
    assert set(latest.index) == {"CIN", "CPP", "CLA"}
    for m, label in (("CIN", "Children in need"), ("CLA", "Children looked after")):
        assert latest.loc[m, "verdict"].startswith(label)
    assert set(models["direction"]) <= {"inverse", "positive", "unclear"}
    assert len(models) == 35  # 12 years of CIN and CPP, 11 of CLA


@needs_public
def test_boundary_changes_follow_dfe(main):
    codes = main.groupby("year")["la_code"].apply(set)
    assert {"E06000028", "E06000029", "E10000009"} <= codes[2019]
    assert not {"E06000058", "E06000059"} & codes[2019]
    assert {"E06000058", "E06000059", "E10000002"} <= codes[2020]
    assert "E06000060" in codes[2021] and "E10000021" in codes[2021]
    assert {"E06000061", "E06000062"} <= codes[2022] and "E10000021" not in codes[2022]
    assert {"E06000063", "E06000064", "E06000065", "E06000066"} <= codes[2024]
    assert not {"E10000006", "E10000023", "E10000027"} & codes[2024]


def test_la_of_lsoa_by_hand():
    base = pd.DataFrame({
        "utla21_code": ["E06000058", "E06000058", "E06000058", "E06000059", "E10000006",
                        "E10000006", "E06000060", "E06000061"],
        "ltla21_code": ["E06000058", "E06000058", "E06000058", "E06000059", "E07000026",
                        "E07000027", "E06000060", "E06000061"],
        "lad17_code": ["E06000028", "E06000029", "E07000048", "E07000049", "E07000026",
                       "E07000027", "E07000004", "E07000150"],
    })  # fmt: skip
    assert la_of_lsoa(base, 2019).tolist() == [
        "E06000028", "E06000029", "E10000009", "E10000009", "E10000006", "E10000006",
        "E10000002", "E10000021"]  # fmt: skip
    assert la_of_lsoa(base, 2021).tolist()[-2:] == ["E06000060", "E10000021"]
    assert la_of_lsoa(base, 2024).tolist() == [
        "E06000058", "E06000058", "E06000058", "E06000059", "E06000063", "E06000064",
        "E06000060", "E06000061"]  # fmt: skip


def test_vintage_in_force():
    supplied = {"2010", "2019", "2025"}
    assert vintage_for_year(2014, supplied) == ("2010", None)
    v, note = vintage_for_year(2017, supplied)
    assert v == "2019" and "IMD 2015 was in force" in note
    assert vintage_for_year(2024, supplied) == ("2019", None)
    assert vintage_for_year(2026, supplied) == ("2025", None)


PUBLISHED_FIGURES = ROOT.parent / "shared" / "reference" / "published_figures.md"


@pytest.mark.skipif(not PUBLISHED_FIGURES.is_file(), reason=f"{PUBLISHED_FIGURES} not found")
def test_published_decile_rates_match_published_figures_md():
    text = PUBLISHED_FIGURES.read_text()
    for m, rates in PUBLISHED_DECILE_RATES.items():
        row = re.search(rf"^\| {m} \|([^\n]+)$", text, re.MULTILINE)
        if row is None:
            pytest.skip("published_figures.md not at hand")
        cells = [c.strip() for c in row.group(1).split("|") if c.strip()]
        assert tuple(int(c) for c in cells[:10]) == rates


@pytest.mark.parametrize("ii", ["down", "up", "unclear"])
@pytest.mark.parametrize("rate", ["down", "up", "unclear"])
@pytest.mark.parametrize("mix_more", [True, False])
def test_verdict_sentences_in_every_direction(ii, rate, mix_more):
    band = {"down": (0.8, 0.75, 0.85), "up": (1.2, 1.1, 1.3), "unclear": (0.97, 0.9, 1.05)}
    row = {"year": 2024, "measure": "CLA", "n_las": 150,
           "irr_ratio_dep": band[ii][0], "irr_ratio_dep_lcl": band[ii][1],
           "irr_ratio_dep_ucl": band[ii][2], "irr_rate_dep": band[rate][0],
           "irr_rate_dep_lcl": band[rate][1], "irr_rate_dep_ucl": band[rate][2],
           "r2_mix": 0.5 if mix_more else 0.3, "r2_deprivation": 0.4}  # fmt: skip
    code, text = model_verdict(row)
    assert code == {"down": "inverse", "up": "positive", "unclear": "unclear"}[ii]
    assert text.startswith("Children looked after, 31 March 2024 (150 LAs)")
    expect = {"down": "falls below", "up": "rises above", "unclear": "no clear relation"}[ii]
    assert expect in text
    assert {"down": "fall as LA deprivation", "up": "do rise with LA deprivation",
            "unclear": "no clear gradient"}[rate] in text  # fmt: skip
    assert ("mix explains more" in text) == mix_more


@needs_public
def test_spend_per_child_from_section_251(result, main):
    spend = result.tables["england_public_spend"]
    b = spend[(spend["la_code"] == "E08000025") & (spend["year"] == 2019)].iloc[0]
    assert b["spend_per_child"] == pytest.approx(b["gross_gbp"] / b["children_0_17"])
    assert 300 < b["spend_per_child"] < 2000
    row = main[(main["la_code"] == "E08000025") & (main["year"] == 2019)]
    assert (row["spend_per_child"] == b["spend_per_child"]).all()
    assert main.loc[main["year"] > 2019, "spend_per_child"].isna().all()
    assert set(spend["year"]) == set(range(2009, 2020))


def test_workbook_sheet_of_la_totals_is_held_to_the_la_total_minimum(tmp_path):
    """DfE's LA counts of 6-9 are publishable LA totals, also inside the combined workbook."""
    import openpyxl

    from cwi.leaks import scan_file
    from cwi.site.downloads import write_workbook

    table = pd.DataFrame({"la_code": ["E09000001", "E06000017"], "la_name": ["City", "Rutland"],
                          "year": [2024, 2024], "measure": ["CLA", "CPP"],
                          "observed": [7, 8]})  # fmt: skip
    book = tmp_path / "cwi_tables.xlsx"
    write_workbook([("england_public", "t", table)], book, "T", ["n"], "s")
    assert scan_file(book) == []
    wb = openpyxl.load_workbook(book)
    ws = wb["england_public"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == 7)
    cell.value = 3
    wb.save(book)
    assert [f.kind for f in scan_file(book)] == ["small count"]
