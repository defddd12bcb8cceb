"""Readers for ONS LSOA child population estimates (single year of age) and ethnicity counts.

Long population frame (:data:`POPULATION_COLUMNS`): ``lsoa_code``, ``age`` (0-17), ``sex``
(``M``, ``F``, or ``P`` = persons when the estimates are not split by sex), ``population``.

Ethnicity frame (:data:`ETHNICITY_COLUMNS`): ``lsoa_code``, ``ethnic_group`` (the DfE major group
of :data:`cwi.schemas.ETHNIC_GROUPS`), ``population`` (children 0-17, both sexes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cwi.reference._io import find_column, read_csv, require_columns, to_number
from cwi.reference.errors import ReferenceDataError
from cwi.schemas import ETHNIC_CODES, ETHNIC_GROUPS

POPULATION_COLUMNS: tuple[str, ...] = ("lsoa_code", "age", "sex", "population")
ETHNICITY_COLUMNS: tuple[str, ...] = ("lsoa_code", "ethnic_group", "population")
CHILD_AGES = range(18)


def sex_from_name(path: Path | str) -> str:
    """Return ``M``, ``F`` or ``P`` from a file name such as ``population_mid2020_females.csv``."""
    name = Path(path).name.lower()
    if re.search(r"(^|[^a-z])(fe)?males?([^a-z]|$)", name):
        return "F" if re.search(r"(^|[^a-z])females?([^a-z]|$)", name) else "M"
    return "P"


def year_from_name(path: Path | str) -> int | None:
    """Return the mid-year of an estimates file from its name (``mid2020``, ``population20``)."""
    name = Path(path).name.lower()
    m = re.search(r"mid[-_]?(20\d\d)", name) or re.search(r"population(\d\d)_", name)
    if not m:
        m = re.search(r"(20\d\d)", name)
    if not m:
        return None
    year = m.group(1)
    return int(year) if len(year) == 4 else 2000 + int(year)


def read_population_wide(
    path: Path | str, lsoa_codes: Iterable[str] | None = None, all_ages: bool = False
) -> pd.DataFrame:
    """Read an LSOA single-year-of-age estimates file as a wide integer frame.

    Parameters
    ----------
    path : Path or str
        The file (``.csv`` or ``.csv.gz``), layouts as in :func:`read_population_sya`.
    lsoa_codes : iterable of str, optional
        Keep only these LSOAs (filtering before conversion keeps regional reads fast).
    all_ages : bool
        Keep every age 0-90 (``"90+"`` becomes age 90) instead of 0-17.

    Returns
    -------
    pandas.DataFrame
        Index ``lsoa_code``; one int64 column per age (0..17, or 0..90).
    """
    # the header first: the checks see every column, the read parses only those used
    header = read_csv(path, "LSOA population estimates", nrows=0)
    code = find_column(
        header.columns,
        (r"^lsoa\d\d_?c(o)?d(e)?$", r"^lsoa code$", r"lsoa.*code"),
        path,
        "LSOA code",
    )
    ages = [str(a) for a in CHILD_AGES]
    if all_ages:
        ages = [str(a) for a in range(90)] + ["90+"]
    require_columns(
        header,
        ages,
        path,
        "Use the ONS LSOA single-year-of-age estimates (one column per age 0 to 90+).",
        what="single-year-of-age columns",
        shown=3,
    )
    used = {code, *ages}
    raw = read_csv(
        path,
        "LSOA population estimates",
        usecols=lambda c: str(c).replace("\ufeff", "").strip() in used,
    )
    wide = raw[[code, *ages]]
    wide = wide.assign(**{code: wide[code].str.strip()}).set_index(code)
    if lsoa_codes is not None:
        wide = wide[wide.index.isin(set(lsoa_codes))]
    num = wide.apply(to_number)
    if num.isna().any().any() or (num < 0).any().any():
        raise ReferenceDataError(path, "has blank, non-numeric or negative age counts")
    num = num.round().astype("int64")
    num.columns = [int(a.rstrip("+")) for a in ages]
    num.index.name = "lsoa_code"
    return num


def read_population_sya(
    path: Path | str, sex: str | None = None, lsoa_codes: Iterable[str] | None = None
) -> pd.DataFrame:
    """Read an LSOA single-year-of-age estimates file and keep children aged 0-17.

    Layouts: ``lsoa11_name, lsoa11_code, total_population, "0", ..., "89", "90+"`` (persons),
    the same per sex (``population_mid{Y}_{males|females}.csv``), and the ONS SAPE layout
    (``LSOA Code, LSOA Name, All Ages, 0, ..., 90+``).

    Parameters
    ----------
    path : Path or str
        The file (``.csv`` or ``.csv.gz``).
    sex : str, optional
        ``M``, ``F`` or ``P``; taken from the file name if omitted.
    lsoa_codes : iterable of str, optional
        Keep only these LSOAs.

    Returns
    -------
    pandas.DataFrame
        :data:`POPULATION_COLUMNS`, ``population`` as integers.

    Raises
    ------
    ReferenceDataError
        If the file is missing, corrupted, lacks an age column 0-17 or holds a negative count.
    """
    wide = read_population_wide(path, lsoa_codes)
    long = wide.reset_index().melt(id_vars="lsoa_code", var_name="age", value_name="population")
    long["age"] = long["age"].astype(int)
    long["sex"] = sex or sex_from_name(path)
    return long.sort_values(["lsoa_code", "age"]).reset_index(drop=True)[list(POPULATION_COLUMNS)]


def read_population_ethnicity(path: Path | str) -> pd.DataFrame:
    """Read child population by LSOA and ethnicity, summed to the DfE major groups.

    The file holds an LSOA code column and one count column per DfE ethnicity code (the 20 codes
    of :data:`cwi.schemas.ETHNIC_CODES`, e.g. the demo's ``lsoa11_code, WBRI, ..., NOBT``) or
    per major group (``White, Mixed, Asian, Black, Other, Unknown``).

    Parameters
    ----------
    path : Path or str
        The file.

    Returns
    -------
    pandas.DataFrame
        :data:`ETHNICITY_COLUMNS`, one row per LSOA and major group present.
    """
    raw = read_csv(path, "child population by ethnicity")
    code = find_column(raw.columns, (r"^lsoa\d\d_?c(o)?d(e)?$", r"lsoa.*code"), path, "LSOA code")
    upper = {c.upper(): c for c in raw.columns}
    by_code = [c for c in ETHNIC_CODES if c in upper]
    by_group = [g for g in ETHNIC_GROUPS if g.upper() in upper]
    if by_code:
        cols, groups = [upper[c] for c in by_code], [ETHNIC_CODES[c] for c in by_code]
    elif by_group:
        cols, groups = [upper[g.upper()] for g in by_group], by_group
    else:
        raise ReferenceDataError(
            path,
            "has no ethnicity count columns (DfE codes such as WBRI or groups such as White)",
            "Provide one count column per DfE ethnicity code.",
        )
    wide = raw[[code, *cols]].rename(columns={code: "lsoa_code"})
    long = wide.melt(id_vars="lsoa_code", var_name="col", value_name="population")
    long["ethnic_group"] = long["col"].map(dict(zip(cols, groups, strict=True)))
    long["population"] = to_number(long["population"])
    if long["population"].isna().any() or (long["population"] < 0).any():
        raise ReferenceDataError(path, "has blank, non-numeric or negative counts")
    out = long.groupby(["lsoa_code", "ethnic_group"], as_index=False)["population"].sum()
    out["population"] = out["population"].round().astype("int64")
    return out[list(ETHNICITY_COLUMNS)]


def pick_estimate_year(wanted: int, available: list[int]) -> tuple[int, str | None]:
    """Choose the mid-year estimate for a collection year.

    A collection year ``Y`` (31 March ``Y``) uses the mid-``Y-1`` estimates, as DfE rates do.

    Parameters
    ----------
    wanted : int
        The mid-year wanted (collection year - 1).
    available : list of int
        Mid-years for which files exist.

    Returns
    -------
    (int, str or None)
        The mid-year used, and a note when it is not the one wanted (nearest available; the later
        year on a tie).
    """
    if not available:
        raise ReferenceDataError(None, "hold no population estimates file")
    if wanted in available:
        return wanted, None
    best = min(available, key=lambda y: (abs(y - wanted), -y))
    return best, (
        f"Population: mid-{wanted} LSOA estimates not available; mid-{best} estimates used "
        "instead (nearest available)."
    )
