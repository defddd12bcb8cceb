"""Readers for ONS geography lookups, and the LSOA -> children's-services LA mapping.

DfE publishes children's-services statistics for **upper-tier** local authorities (unitary,
metropolitan and London boroughs, and county councils): the LA of an LSOA is found from its
lower-tier district (``lookup_lsoa11_ltla21``) and that district's upper-tier LA
(``lookup_ltla21_utla21``). In the West Midlands the districts of Staffordshire, Warwickshire and
Worcestershire aggregate to their county councils, giving 14 children's-services LAs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from cwi.reference._io import find_column, read_csv
from cwi.reference.errors import ReferenceDataError

#: The 14 West Midlands children's-services LAs (2021 upper-tier codes).
WEST_MIDLANDS_REGION = "E12000005"
WEST_MIDLANDS_LAS: dict[str, str] = {
    "E06000019": "Herefordshire, County of",
    "E06000020": "Telford and Wrekin",
    "E06000021": "Stoke-on-Trent",
    "E06000051": "Shropshire",
    "E08000025": "Birmingham",
    "E08000026": "Coventry",
    "E08000027": "Dudley",
    "E08000028": "Sandwell",
    "E08000029": "Solihull",
    "E08000030": "Walsall",
    "E08000031": "Wolverhampton",
    "E10000028": "Staffordshire",
    "E10000031": "Warwickshire",
    "E10000034": "Worcestershire",
}


def read_lsoa_lookup(path: Path | str) -> pd.DataFrame:
    """Read an ONS LSOA edition lookup (2001 -> 2011 or 2011 -> 2021).

    Parameters
    ----------
    path : Path or str
        ``lookup_lsoa01_lsoa11.csv``, ``lookup_lsoa11_lsoa21_ltla22.csv`` or an ONS geoportal
        file with ``LSOA01CD``/``LSOA11CD``/``LSOA21CD`` and ``CHGIND`` columns.

    Returns
    -------
    pandas.DataFrame
        ``lsoa{YY}_code`` for the two editions (e.g. ``lsoa11_code``, ``lsoa21_code``), their
        ``lsoa{YY}_name`` where present, and ``change_code`` (U unchanged, S split, M merged,
        X irregular; empty if the file has none). One row per pair.
    """
    raw = read_csv(path, "LSOA lookup")
    out = pd.DataFrame(index=raw.index)
    for col in raw.columns:
        m = re.fullmatch(r"lsoa(\d\d)_?(code|cd|name|nm)", col, re.IGNORECASE)
        if m:
            kind = "code" if m.group(2).lower() in ("code", "cd") else "name"
            out[f"lsoa{m.group(1)}_{kind}"] = raw[col].str.strip()
    codes = [c for c in out.columns if c.endswith("_code")]
    if len(codes) < 2:
        raise ReferenceDataError(
            path,
            "does not hold two LSOA code columns (e.g. lsoa11_code and lsoa21_code)",
            "Use the ONS LSOA to LSOA lookup named in cwi/reference/sources.yml.",
        )
    chg = find_column(raw.columns, (r"^change_?code$", r"^chgind$"), path, "change", False)
    out["change_code"] = raw[chg].str.strip() if chg else ""
    return out.drop_duplicates().reset_index(drop=True)


def read_lsoa_ltla(path: Path | str) -> pd.DataFrame:
    """Read an LSOA -> lower-tier LA lookup.

    Accepts the geographr layout (``lsoa11_code, ltla21_code, ...``), the ONS OAC lookup
    (``LSOA11CD, LAD17CD, RGN11CD, ...``, one row per output area) and the demo's
    ``lsoa_lookup.csv`` (same column names as the OAC lookup).

    Parameters
    ----------
    path : Path or str
        The lookup file.

    Returns
    -------
    pandas.DataFrame
        ``lsoa_code, lsoa_name, ltla_code, ltla_name`` plus ``region_code, region_name`` where
        the file has them (else empty strings); one row per LSOA.
    """
    raw = read_csv(path, "LSOA to LA lookup")
    cols = raw.columns
    c_code = find_column(cols, (r"^lsoa\d\d_?c(o)?d(e)?$",), path, "the LSOA code")
    c_name = find_column(cols, (r"^lsoa\d\d_?n(a)?m(e)?$",), path, "the LSOA name", False)
    c_lad = find_column(
        cols, (r"^ltla\d\d_code$", r"^lad\d\dcd$", r"^lad\d\d_code$"), path, "the LA code"
    )
    c_ladn = find_column(
        cols, (r"^ltla\d\d_name$", r"^lad\d\dnm$", r"^lad\d\d_name$"), path, "the LA name", False
    )
    c_rgn = find_column(cols, (r"^rgn\d\dcd$", r"^region\d\d_code$"), path, "region", False)
    c_rgnn = find_column(cols, (r"^rgn\d\dnm$", r"^region\d\d_name$"), path, "region", False)
    out = pd.DataFrame(
        {
            "lsoa_code": raw[c_code].str.strip(),
            "lsoa_name": raw[c_name].str.strip() if c_name else "",
            "ltla_code": raw[c_lad].str.strip(),
            "ltla_name": raw[c_ladn].str.strip() if c_ladn else "",
            "region_code": raw[c_rgn].str.strip() if c_rgn else "",
            "region_name": raw[c_rgnn].str.strip() if c_rgnn else "",
        }
    )
    return out.drop_duplicates("lsoa_code").reset_index(drop=True)


def read_ltla_utla(path: Path | str) -> pd.DataFrame:
    """Read a lower-tier -> upper-tier LA lookup (``ltla21_code, utla21_code, ...``).

    Returns
    -------
    pandas.DataFrame
        ``ltla_code, ltla_name, utla_code, utla_name``.
    """
    raw = read_csv(path, "lower-tier to upper-tier LA lookup")
    cols = raw.columns
    cmap = {
        "ltla_code": find_column(cols, (r"^ltla\d\d_?c(o)?d(e)?$", r"^lad\d\dcd$"), path, "LTLA"),
        "ltla_name": find_column(cols, (r"^ltla\d\d_?n(a)?m(e)?$", r"^lad\d\dnm$"), path, "LTLA"),
        "utla_code": find_column(cols, (r"^utla\d\d_?c(o)?d(e)?$",), path, "the UTLA code"),
        "utla_name": find_column(cols, (r"^utla\d\d_?n(a)?m(e)?$",), path, "the UTLA name"),
    }
    return pd.DataFrame({k: raw[v].str.strip() for k, v in cmap.items() if v}).drop_duplicates()


def read_ltla_region(path: Path | str) -> pd.DataFrame:
    """Read a lower-tier LA -> region lookup (``ltla21_code, region21_code, region21_name``).

    Returns
    -------
    pandas.DataFrame
        ``ltla_code, region_code, region_name``.
    """
    raw = read_csv(path, "LA to region lookup")
    cols = raw.columns
    return pd.DataFrame(
        {
            "ltla_code": raw[find_column(cols, (r"^ltla\d\d_code$", r"^lad\d\dcd$"), path, "LA")],
            "region_code": raw[
                find_column(cols, (r"^region\d\d_code$", r"^rgn\d\dcd$"), path, "RGN")
            ],
            "region_name": raw[
                find_column(cols, (r"^region\d\d_name$", r"^rgn\d\dnm$"), path, "RGN")
            ],
        }
    ).drop_duplicates("ltla_code")


def lsoa_to_childrens_la(
    lsoa_ltla: pd.DataFrame, ltla_utla: pd.DataFrame, ltla_region: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Map each LSOA to its children's-services (upper-tier) LA.

    Parameters
    ----------
    lsoa_ltla : pandas.DataFrame
        From :func:`read_lsoa_ltla`.
    ltla_utla : pandas.DataFrame
        From :func:`read_ltla_utla`.
    ltla_region : pandas.DataFrame, optional
        From :func:`read_ltla_region`; fills ``region_code/region_name`` where ``lsoa_ltla``
        has none.

    Returns
    -------
    pandas.DataFrame
        ``lsoa_code, lsoa_name, ltla_code, ltla_name, la_code, la_name, region_code,
        region_name``; LSOAs
        whose district has no upper-tier entry keep the district as their LA.
    """
    out = lsoa_ltla.merge(
        ltla_utla[["ltla_code", "utla_code", "utla_name"]], on="ltla_code", how="left"
    )
    out["la_code"] = out["utla_code"].fillna(out["ltla_code"])
    out["la_name"] = out["utla_name"].fillna(out["ltla_name"])
    if ltla_region is not None:
        reg = out[["ltla_code"]].merge(ltla_region, on="ltla_code", how="left")
        blank = out["region_code"].fillna("") == ""
        out.loc[blank, "region_code"] = reg.loc[blank, "region_code"].fillna("").to_numpy()
        out.loc[blank, "region_name"] = reg.loc[blank, "region_name"].fillna("").to_numpy()
    cols = [
        "lsoa_code",
        "lsoa_name",
        "ltla_code",
        "ltla_name",
        "la_code",
        "la_name",
        "region_code",
        "region_name",
    ]
    return out[cols]
