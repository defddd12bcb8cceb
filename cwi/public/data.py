"""Inputs of the public-data edition: published files only, one frame per concern.

* **Geography by year.** DfE publishes each 31 March snapshot for the upper-tier LAs of that
  date. Every LSOA (2011 edition) is placed in its LA for each year from the ONS lookups
  (LSOA 2011 -> district 2021 -> upper tier 2021; districts of 2017 for the areas reorganised in
  2019) and the reorganisations in :data:`BOUNDARY_CHANGES`, so a year's LAs are exactly
  DfE's LAs of that year. Nothing is apportioned: every change merged or split whole districts.
* **IMD in force.** Each year uses the IMD vintage in force on 31 March
  (:data:`VINTAGE_IN_FORCE`) where it is supplied, else the nearest supplied later one (IoD2015
  is not in the public folder: 2016-2019 use IoD2019, and say so). IMD 2010 (LSOA 2001) and
  IoD2025 (LSOA 2021) are bridged to LSOA 2011 with the ONS lookups
  (:func:`cwi.reference.imd.align_imd_to_edition`).
* **Children 0-17 by LSOA.** ONS mid-2019 and mid-2020 LSOA estimates; DfE's rate for 31 March
  Y uses the mid-(Y-1) estimate, so each year takes the nearest supplied mid-year and scales
  every LA's LSOAs to DfE's own child population of that LA and year (the published rate's
  denominator), and says so.
* **DfE tables.** CIN (B1) and CPP (D5) 2013-2024, CLA at 31 March 2014-2019 from the
  underlying data files and 2020-2024 from the CLA table. Child populations: the CLA files
  (2014-2024); 2013 from the CIN count and its published (rounded) rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cwi.reference.dfe import read_dfe_cla_history, read_dfe_tables
from cwi.reference.imd import align_imd_to_edition, read_imd
from cwi.reference.lookups import read_lsoa_lookup
from cwi.reference.population import read_population_wide
from cwi.reference.s251 import read_s251

__all__ = [
    "BOUNDARY_CHANGES",
    "PUBLIC_FILES",
    "VINTAGE_IN_FORCE",
    "PublicInputs",
    "la_of_lsoa",
    "load_public_inputs",
    "vintage_for_year",
]

#: Files read, relative to the public data folder (laid out as ../shared/data/public).
PUBLIC_FILES: dict[str, str] = {
    "imd2010": "imd2010/imd2010_england_lsoa01.csv",
    "imd2019": "imd2019/File_2_-_IoD2019_Domains_of_Deprivation.csv.gz",
    "imd2025": "iod2025/imd2025_england_lsoa21.csv",
    "lsoa01_lsoa11": "lookups/lookup_lsoa01_lsoa11.csv",
    "lsoa11_lsoa21": "lookups/lookup_lsoa11_lsoa21_ltla22.csv",
    "lsoa11_ltla21": "lookups/lookup_lsoa11_ltla21.csv",
    "ltla21_utla21": "lookups/lookup_ltla21_utla21.csv",
    "ltla21_region": "lookups/lookup_ltla21_region21.csv",
    "oa11_lad17": "lookups/OA11_LSOA11_MSOA11_LAD17_RGN11_OAC_lookup_fe6c55f0924b4734adf1cf7104a0173e_0.csv.gz",
    "population2019": "population/population19_lsoa11_single_year_of_age.csv.gz",
    "population2020": "population/population20_lsoa11_single_year_of_age.csv.gz",
    "dfe_cla": "dfe_csc/cla_number_and_rate_per_10k_children.csv",
    "dfe_cin": "dfe_csc/b1_children_in_need_2013_to_2024.csv",
    "dfe_cpp": "dfe_csc/d5_cpps_at31march_by_duration_2013_to_2024.csv",
    "dfe_cla2018": "dfe_csc/history/CLA2018.csv",
    "dfe_cla2019": "dfe_csc/history/CLA2019.csv",
    "s251": "s251/s251_childrens_social_care_by_la.csv",
    "boundaries": "boundaries/LSOA_Dec_2011_BSC_EW_V3.geojson.gz",
}

#: IMD vintage in force on 31 March of a year: (first year, vintage), by publication date
#: (IMD 2010: March 2011; IoD2015: September 2015; IoD2019: September 2019; IoD2025: October
#: 2025).
VINTAGE_IN_FORCE: tuple[tuple[int, str], ...] = (
    (2011, "2010"), (2016, "2015"), (2020, "2019"), (2026, "2025"),
)  # fmt: skip

#: Reorganisations of children's-services LAs since 2013: (first 31 March under the new LAs,
#: old LA codes, new LA codes, what happened). Applied by :func:`la_of_lsoa`.
BOUNDARY_CHANGES: tuple[tuple[int, tuple[str, ...], tuple[str, ...], str], ...] = (
    (2020, ("E06000028", "E06000029", "E10000009"), ("E06000058", "E06000059"),
     "April 2019: Bournemouth, Poole and Christchurch district (from Dorset County) became "
     "Bournemouth, Christchurch and Poole; the rest of Dorset County became Dorset Council."),
    (2021, ("E10000002",), ("E06000060",),
     "April 2020: Buckinghamshire County became the unitary Buckinghamshire Council (same "
     "area, new code)."),
    (2022, ("E10000021",), ("E06000061", "E06000062"),
     "April 2021: Northamptonshire split into North and West Northamptonshire (whole "
     "districts)."),
    (2024, ("E10000006", "E10000023", "E10000027"),
     ("E06000063", "E06000064", "E06000065", "E06000066"),
     "April 2023: Cumbria split into Cumberland (Allerdale, Carlisle, Copeland) and Westmorland "
     "and Furness (Barrow-in-Furness, Eden, South Lakeland); North Yorkshire and Somerset "
     "became unitary councils (same areas, new codes)."),
)  # fmt: skip

_CUMBERLAND = {"E07000026", "E07000028", "E07000029"}
_WESTMORLAND = {"E07000027", "E07000030", "E07000031"}


def vintage_for_year(year: int, supplied: set[str] | list[str]) -> tuple[str, str | None]:
    """The IMD vintage used for 31 March ``year`` and a note if it is not the one in force.

    Returns
    -------
    (str, str or None)
        The vintage, and a sentence when the vintage in force was not supplied.
    """
    in_force = VINTAGE_IN_FORCE[0][1]
    for first, vintage in VINTAGE_IN_FORCE:
        if year >= first:
            in_force = vintage
    if in_force in supplied:
        return in_force, None
    order = [v for _, v in VINTAGE_IN_FORCE]
    later = [v for v in order[order.index(in_force) + 1 :] if v in supplied]
    earlier = [v for v in order[: order.index(in_force)] if v in supplied]
    use = later[0] if later else earlier[-1]
    return use, (
        f"31 March {year}: IMD {in_force} was in force but is not in the public folder; "
        f"IMD {use} is used instead."
    )


def la_of_lsoa(base: pd.DataFrame, year: int) -> pd.Series:
    """Children's-services LA of each LSOA on 31 March ``year``.

    Parameters
    ----------
    base : pandas.DataFrame
        One row per LSOA 2011 with ``utla21_code``, ``ltla21_code`` and ``lad17_code``.
    year : int
        Collection year.

    Returns
    -------
    pandas.Series
        LA codes (index as ``base``).
    """
    la = base["utla21_code"].copy()
    lad17, ltla = base["lad17_code"], base["ltla21_code"]
    if year < 2020:  # before BCP / Dorset Council (April 2019)
        la[lad17 == "E06000028"] = "E06000028"
        la[lad17 == "E06000029"] = "E06000029"
        dorset = (la == "E06000059") | ((la == "E06000058") & (lad17 == "E07000048"))
        la[dorset] = "E10000009"
    if year < 2021:
        la[la == "E06000060"] = "E10000002"
    if year < 2022:
        la[la.isin(["E06000061", "E06000062"])] = "E10000021"
    if year >= 2024:
        la[(la == "E10000006") & ltla.isin(_CUMBERLAND)] = "E06000063"
        la[(la == "E10000006") & ltla.isin(_WESTMORLAND)] = "E06000064"
        la[la == "E10000023"] = "E06000065"
        la[la == "E10000027"] = "E06000066"
    return la


def _dfe_alias(dfe: pd.DataFrame) -> pd.DataFrame:
    """Same-area code changes published under either code: use the code of the year."""
    d = dfe.copy()
    same = (("E06000060", "E10000002", 2021), ("E06000065", "E10000023", 2024),
            ("E06000066", "E10000027", 2024))  # fmt: skip
    for new, old, first in same:
        d.loc[(d["la_code"] == new) & (d["year"] < first), "la_code"] = old
        d.loc[(d["la_code"] == old) & (d["year"] >= first), "la_code"] = new
    return d


@dataclass
class PublicInputs:
    """Everything the public edition reads, on one LSOA edition (2011)."""

    base: pd.DataFrame  # lsoa_code, ltla21_code, utla21_code, lad17_code, region_code/name
    imd: dict[str, pd.DataFrame]  # vintage -> lsoa_code, imd_rank, imd_decile, imd_score, n
    population: dict[int, pd.Series]  # mid-year -> children 0-17 by LSOA
    dfe: pd.DataFrame  # DFE_COLUMNS, LA rows and England, all measures and years
    s251: pd.DataFrame | None
    la_names: dict[str, str]
    notes: list[str] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)


def _file(folder: Path, key: str) -> Path:
    return folder / PUBLIC_FILES[key]


def _read_base(folder: Path) -> pd.DataFrame:
    lk = pd.read_csv(_file(folder, "lsoa11_ltla21"), usecols=["lsoa11_code", "ltla21_code"])
    lk = lk[lk["lsoa11_code"].str.startswith("E01")]
    ut = pd.read_csv(_file(folder, "ltla21_utla21"), usecols=["ltla21_code", "utla21_code"])
    rg = pd.read_csv(
        _file(folder, "ltla21_region"), usecols=["ltla21_code", "region21_code", "region21_name"]
    )
    oa = pd.read_csv(_file(folder, "oa11_lad17"), usecols=["LSOA11CD", "LAD17CD"])
    oa = oa.drop_duplicates("LSOA11CD").rename(
        columns={"LSOA11CD": "lsoa11_code", "LAD17CD": "lad17_code"}
    )
    base = lk.merge(ut, on="ltla21_code", how="left").merge(rg, on="ltla21_code", how="left")
    base = base.merge(oa, on="lsoa11_code", how="left")
    base["utla21_code"] = base["utla21_code"].fillna(base["ltla21_code"])
    return base.rename(
        columns={"lsoa11_code": "lsoa_code", "region21_code": "region_code",
                 "region21_name": "region_name"}
    ).drop_duplicates("lsoa_code").reset_index(drop=True)  # fmt: skip


def _read_imd(folder: Path, notes: list[str], years: list[int]) -> dict[str, pd.DataFrame]:
    files = {"2010": "imd2010", "2019": "imd2019", "2025": "imd2025"}
    supplied = {v for v, k in files.items() if _file(folder, k).is_file()}
    wanted = {vintage_for_year(y, supplied)[0] for y in years}
    out = {}
    for vintage, key, lookup_key in (
        ("2010", "imd2010", "lsoa01_lsoa11"),
        ("2019", "imd2019", None),
        ("2025", "imd2025", "lsoa11_lsoa21"),
    ):
        path = _file(folder, key)
        if vintage not in wanted:
            continue
        imd = read_imd(path, vintage)
        n = int(imd["imd_rank"].max())
        lookup = read_lsoa_lookup(_file(folder, lookup_key)) if lookup_key else None
        on11, bridge_notes = align_imd_to_edition(imd, "2011", lookup)
        notes.extend(bridge_notes)
        frame = on11[["lsoa_code", "imd_rank", "imd_decile", "imd_score"]].copy()
        frame["n_lsoa_national"] = n
        out[vintage] = frame
    return out


def _read_population(folder: Path) -> dict[int, pd.Series]:
    out = {}
    for year in (2019, 2020):
        path = _file(folder, f"population{year}")
        if path.is_file():
            wide = read_population_wide(path)
            wide = wide[wide.index.str.startswith("E01")]
            out[year] = wide.sum(axis=1).astype(float)
    return out


def _read_dfe(folder: Path, notes: list[str]) -> pd.DataFrame:
    dfe = read_dfe_tables(
        _file(folder, "dfe_cla"), _file(folder, "dfe_cin"), _file(folder, "dfe_cpp")
    )
    hist = read_dfe_cla_history(_file(folder, "dfe_cla2018"), _file(folder, "dfe_cla2019"))
    hist = hist[hist["year"] < dfe.loc[dfe["measure"] == "CLA", "year"].min()]
    dfe = pd.concat([dfe, hist], ignore_index=True)
    keep = dfe["geographic_level"].isin(["Local authority", "National"])
    dfe = _dfe_alias(dfe[keep].copy())
    la = dfe["geographic_level"] == "Local authority"
    # suppressed rows of LAs that did not exist that year ("z") carry nothing: drop them
    dfe = dfe[~(la & dfe["number"].isna() & (dfe["symbol"] == "z"))]
    # child population: one value per LA and year, from the CLA files; 2013 from CIN
    pop = (
        dfe[dfe["measure"] == "CLA"].dropna(subset=["population"])
        .drop_duplicates(["year", "la_code"]).set_index(["year", "la_code"])["population"]
    )  # fmt: skip
    cin = dfe[(dfe["measure"] == "CIN") & dfe["number"].gt(0) & dfe["rate_per_10000"].gt(0)]
    derived = (cin["number"] / cin["rate_per_10000"] * 1e4).round()
    derived.index = pd.MultiIndex.from_frame(cin[["year", "la_code"]])
    keys = pd.MultiIndex.from_frame(dfe[["year", "la_code"]])
    published = pd.Series(pop.reindex(keys).to_numpy(), index=dfe.index)
    from_cin = pd.Series(derived[~derived.index.duplicated()].reindex(keys).to_numpy(),
                         index=dfe.index)  # fmt: skip
    dfe["population"] = published.fillna(from_cin)
    dfe["population_source"] = np.where(
        published.notna(), "DfE CLA table (ONS mid-year 0-17)",
        np.where(from_cin.notna(), "derived from the CIN count and its published rate", ""),
    )  # fmt: skip
    years_cin = sorted(set(dfe["year"]) - set(pop.index.get_level_values(0)))
    if years_cin:
        notes.append(
            f"Child populations for {', '.join(map(str, years_cin))}: no DfE table gives them, "
            "so they are derived from each LA's CIN count and its published CIN rate (rounded "
            "to 0.1 per 10,000: about 0.03% uncertain)."
        )
    # rates: unrounded where count and population are known, else the published (rounded) one
    computed = dfe["number"] / dfe["population"] * 1e4
    dfe["rate_source"] = np.where(computed.notna(), "computed, unrounded",
                                  np.where(dfe["rate_per_10000"].notna(),
                                           "published (rounded)", ""))  # fmt: skip
    dfe["rate_per_10000"] = computed.fillna(dfe["rate_per_10000"])
    return dfe.reset_index(drop=True)


def load_public_inputs(folder: Path) -> PublicInputs:
    """Read every public file the edition needs.

    Parameters
    ----------
    folder : Path
        The public data folder (layout of ``../shared/data/public``, see :data:`PUBLIC_FILES`).

    Returns
    -------
    PublicInputs
        Geography, IMD on LSOA 2011, populations, DfE tables, Section 251, notes, sources.

    Raises
    ------
    FileNotFoundError
        If a required file is missing (the message names it).
    """
    folder = Path(folder)
    required = ("imd2019", "lsoa11_ltla21", "ltla21_utla21", "ltla21_region", "oa11_lad17",
                "population2019", "dfe_cla", "dfe_cin", "dfe_cpp")  # fmt: skip
    missing = [PUBLIC_FILES[k] for k in required if not _file(folder, k).is_file()]
    if missing:
        raise FileNotFoundError(
            f"The public edition needs {missing} under {folder}. Point public.data_dir in "
            "settings.yml at a folder laid out as ../shared/data/public."
        )
    notes: list[str] = []
    base = _read_base(folder)
    dfe = _read_dfe(folder, notes)
    years = sorted(int(y) for y in dfe.loc[dfe["number"].notna(), "year"].unique())
    imd = _read_imd(folder, notes, years)
    population = _read_population(folder)
    s251 = read_s251(_file(folder, "s251")) if _file(folder, "s251").is_file() else None
    names = (
        dfe[dfe["geographic_level"] == "Local authority"]
        .sort_values("year").drop_duplicates("la_code", keep="last")
        .set_index("la_code")["la_name"].to_dict()
    )  # fmt: skip
    from cwi.reference.sources import sha256_of

    sources = [
        {"name": key, "path": rel, "sha256": sha256_of(folder / rel)}
        for key, rel in PUBLIC_FILES.items()
        if (folder / rel).is_file() and key != "boundaries"
    ]
    return PublicInputs(base, imd, population, dfe, s251, names, notes, sources)
