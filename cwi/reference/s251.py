"""Reader for Section 251 children's services spending by LA (DfE outturn, Table A1).

Reads the tidy long file ``s251/s251_childrens_social_care_by_la.csv`` (one row per financial
year x LA x spending category; built from the official Table A1 files 2008-09 to 2018-19 by the
documented script beside it, see ``PROVENANCE.md`` section 7a) into :data:`S251_COLUMNS`:

``year``
    Financial year **end** (2019 = 2018-19), which lines up with DfE's 31 March snapshots.
``la_code``
    LA code (E06/E08/E09/E10) as of 2019, applied to every year by DfE's own old-to-new
    mapping; blank (dropped) for Bedfordshire and Cheshire in 2008-09.
``old_la_code``, ``la_name``
    DfE's 3-digit LA number and the name as published that year.
``category``
    ``children_looked_after``, ``safeguarding``, ``family_support``,
    ``other_children_family``, ``youth_justice``, ``total_childrens_social_care_derived``
    (the sum of CLA, safeguarding, family support and other children's and family services,
    with the earlier years' pieces that later moved into them), ...
``gross_gbp``, ``net_gbp``
    Gross expenditure and net current expenditure in **pounds** (cash terms).

Known breaks the reader reports through :func:`s251_notes` rather than hides: before 2012-13
"safeguarding" excludes social work; the 2009-10 return of Stockton-on-Tees (808) is all zeros
(treated as missing here); 2017-18 is as first published (DfE later revised CLA by +£60m).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cwi.reference._io import read_csv, require_columns, to_number

__all__ = ["S251_COLUMNS", "read_s251", "s251_notes", "spend_by_la"]

S251_COLUMNS: tuple[str, ...] = (
    "year", "la_code", "old_la_code", "la_name", "category", "gross_gbp", "net_gbp",
)  # fmt: skip

_NEEDED = ("year", "new_la_code", "old_la_code", "la_name", "category",
           "gross_expenditure_gbp", "net_current_expenditure_gbp")  # fmt: skip


def read_s251(path: Path | str) -> pd.DataFrame:
    """Read the tidy Section 251 file into :data:`S251_COLUMNS`.

    Parameters
    ----------
    path : Path or str
        ``s251_childrens_social_care_by_la.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per year x LA x category, pounds; rows without an LA code (Bedfordshire and
        Cheshire 2008-09) are dropped; Stockton-on-Tees 2009-10 (an all-zero return) is NaN.

    Raises
    ------
    ReferenceDataError
        If the file is missing or lacks a needed column.
    """
    raw = read_csv(path, "Section 251 tidy spending file")
    require_columns(
        raw,
        _NEEDED,
        path,
        "Use s251_childrens_social_care_by_la.csv as built by build_s251_tidy.py.",
    )
    out = pd.DataFrame(
        {
            "year": raw["year"].astype(int),
            "la_code": raw["new_la_code"].fillna("").str.strip(),
            "old_la_code": raw["old_la_code"].fillna("").str.strip(),
            "la_name": raw["la_name"].fillna("").str.strip(),
            "category": raw["category"].str.strip(),
            "gross_gbp": to_number(raw["gross_expenditure_gbp"]),
            "net_gbp": to_number(raw["net_current_expenditure_gbp"]),
        }
    )
    out = out[out["la_code"] != ""]
    zero = out.groupby(["year", "la_code"])["gross_gbp"].transform(lambda s: (s == 0).all())
    out.loc[zero, ["gross_gbp", "net_gbp"]] = np.nan
    return out.reset_index(drop=True)[list(S251_COLUMNS)]


def spend_by_la(
    s251: pd.DataFrame, category: str = "total_childrens_social_care_derived"
) -> pd.DataFrame:
    """One category's gross and net spend per LA and year.

    Returns
    -------
    pandas.DataFrame
        ``year, la_code, la_name, gross_gbp, net_gbp``.
    """
    d = s251[s251["category"] == category]
    if d.empty:
        raise ValueError(
            f"No Section 251 rows for category {category!r}; choose one of "
            f"{sorted(s251['category'].unique())}."
        )
    return d[["year", "la_code", "la_name", "gross_gbp", "net_gbp"]].reset_index(drop=True)


def s251_notes(s251: pd.DataFrame) -> list[str]:
    """Plain statements of the comparability breaks and gaps of the spending series."""
    years = sorted(s251["year"].unique())
    missing = s251[s251["gross_gbp"].isna()][["year", "la_name"]].drop_duplicates()
    notes = [
        f"Section 251 outturn, financial years ending {years[0]} to {years[-1]}, cash terms "
        "(not adjusted for inflation), gross expenditure in pounds.",
        "Children's social care = children looked after + safeguarding + family support + "
        "other children's and family services; before 2012-13 it also takes the strategy, "
        "asylum and commissioning lines that later moved into those groups.",
        "Before 2012-13 the safeguarding line excludes social work; 2008-10 family support "
        "includes teenage pregnancy and substance misuse; 2017-18 is as first published.",
    ]
    for r in missing.itertuples(index=False):
        notes.append(f"{r.la_name} {r.year - 1}-{str(r.year)[2:]}: all-zero return, treated as "
                     "missing.")  # fmt: skip
    return notes
