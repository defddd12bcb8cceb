"""Build the count cube from ingested children and the reference data.

Pure functions of data frames: the only inputs are the child snapshot (``cwi.schemas.CHILD_SNAPSHOT``)
and the reference frames; the output is a :class:`cwi.cube.Cube`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cwi.cube import Cube
from cwi.schemas import (
    AGE_BANDS,
    CUBE_COUNTS,
    CUBE_LA,
    CUBE_LSOA,
    CUBE_POPULATION,
    CUBE_POPULATION_ETHNICITY,
    age_band,
    quintile_from_decile,
)

if TYPE_CHECKING:
    from cwi.config import Settings
    from cwi.reference.load import ReferenceData


def lsoa_frame(reference_lsoa: pd.DataFrame, la_codes: list[str]) -> pd.DataFrame:
    """One row per LSOA of the LAs analysed, with deprivation (decile 1 = most deprived)."""
    lsoa = reference_lsoa[reference_lsoa["la_code"].isin(la_codes)].copy()
    lsoa["imd_decile"] = lsoa["imd_decile"].astype(int)
    lsoa["imd_quintile"] = quintile_from_decile(lsoa["imd_decile"]).astype(int)
    return lsoa[list(CUBE_LSOA)].sort_values("lsoa_code").reset_index(drop=True)


def population_frame(
    population: pd.DataFrame, lsoa: pd.DataFrame, years: list[int]
) -> pd.DataFrame:
    """Children aged 0-17 by year x LA x LSOA x age band x sex.

    Persons-only sources (sex ``P``) are carried as sex ``U``.
    """
    pop = population[(population["age"] >= 0) & (population["age"] <= 17)]
    pop = pop[pop["year"].isin(years) & pop["lsoa_code"].isin(lsoa["lsoa_code"])].copy()
    pop["age_band"] = age_band(pop["age"])
    pop["sex"] = pop["sex"].replace({"P": "U"})
    pop = pop.merge(lsoa[["lsoa_code", "la_code"]], on="lsoa_code", how="inner")
    out = (
        pop.groupby(["year", "la_code", "lsoa_code", "age_band", "sex"], observed=True)[
            "population"
        ]
        .sum()
        .reset_index()
    )
    out["age_band"] = out["age_band"].astype(str)
    return out[list(CUBE_POPULATION)]


def population_ethnicity_frame(
    population_ethnicity: pd.DataFrame | None, lsoa: pd.DataFrame, years: list[int]
) -> pd.DataFrame:
    """Children 0-17 by year x LA x LSOA x ethnic group (empty where there is no source)."""
    if population_ethnicity is None or population_ethnicity.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in CUBE_POPULATION_ETHNICITY})
    pe = population_ethnicity[
        population_ethnicity["year"].isin(years)
        & population_ethnicity["lsoa_code"].isin(lsoa["lsoa_code"])
    ]
    pe = pe.merge(lsoa[["lsoa_code", "la_code"]], on="lsoa_code", how="inner")
    return pe[list(CUBE_POPULATION_ETHNICITY)].reset_index(drop=True)


def counts_frame(children: pd.DataFrame, lsoa: pd.DataFrame) -> pd.DataFrame:
    """Count linked children by the cube's dimensions (non-zero cells only).

    Children without an LSOA, or aged outside 0-17 (age band missing), are not in the cube;
    the ingest linkage table reports how many that is per LA.
    """
    kids = children[children["lsoa_code"].notna() & children["age_band"].notna()]
    kids = kids[kids["lsoa_code"].isin(lsoa["lsoa_code"])].copy()
    kids["age_band"] = kids["age_band"].astype(str)
    keys = [c for c in CUBE_COUNTS if c != "n"]
    counts = kids.groupby(keys, observed=True).size().rename("n").reset_index()
    counts = counts[counts["age_band"].isin(AGE_BANDS)]
    counts["year"] = counts["year"].astype(int)
    counts["n"] = counts["n"].astype(int)
    return counts[list(CUBE_COUNTS)].reset_index(drop=True)


def build_cube(
    children: pd.DataFrame,
    reference: ReferenceData,
    settings: Settings,
    supplied: pd.DataFrame | None = None,
) -> Cube:
    """Assemble the cube for the LAs and years that were supplied.

    The cube's LAs are those of ``release.la_list``, or (``la_list: all``) every LA with an
    extract; an LA-year without an extract has no population rows, so denominators cover the
    supplied LAs only and a missing year is never a true zero.

    Parameters
    ----------
    children : pandas.DataFrame
        Child snapshot rows (``cwi.schemas.CHILD_SNAPSHOT``).
    reference : ReferenceData
        From :func:`cwi.reference.load_reference`.
    settings : Settings
        Gives the years, the LA list and the region name.
    supplied : pandas.DataFrame, optional
        ``la_code, year, measure`` of the extracts read (``IngestResult.supplied``); ``None``
        keeps every LA of the reference data (tests on synthetic cubes).

    Returns
    -------
    Cube
        Counts, populations and area attributes.
    """
    la = reference.la.copy()
    if settings.la_list:
        la = la[la["la_code"].isin(settings.la_list)]
    if supplied is not None:
        la = la[la["la_code"].isin(set(supplied["la_code"]))]
    if settings.region_name:
        la["region_name"] = settings.region_name
    la = la[list(CUBE_LA)].sort_values("la_code").reset_index(drop=True)
    codes = la["la_code"].tolist()
    lsoa = lsoa_frame(reference.lsoa, codes)
    years = settings.years
    population = population_frame(reference.population, lsoa, years)
    if supplied is not None:
        la_years = supplied[["la_code", "year"]].drop_duplicates().astype({"year": "int64"})
        population = population.merge(la_years, on=["la_code", "year"], how="inner")
        population = population[list(CUBE_POPULATION)].reset_index(drop=True)
    return Cube(
        counts=counts_frame(children[children["la_code"].isin(codes)], lsoa),
        population=population,
        population_ethnicity=population_ethnicity_frame(
            getattr(reference, "population_ethnicity", None), lsoa, years
        ),
        lsoa=lsoa,
        la=la,
    )
