"""Readers for the English Indices of Deprivation (IMD) by LSOA, one canonical frame per vintage.

Canonical IMD frame (:data:`IMD_COLUMNS`), one row per LSOA:

``lsoa_code``
    LSOA code of the edition in ``lsoa_edition``.
``lsoa_name``
    LSOA name (empty string where the file has none, e.g. IMD 2010 and IoD2025 package copies).
``lad_code``, ``lad_name``
    Local authority district of the IMD release (empty where the file has none).
``imd_score``
    IMD score (higher = more deprived). **NaN for IoD2019 File 1 / File 2**, which publish ranks
    and deciles only (scores are in File 5 / File 7); the readers never invent one.
``imd_rank``
    National rank, **1 = most deprived**.
``imd_decile``
    National decile, **1 = most deprived 10% of LSOAs** (the orientation of the official files,
    used everywhere in this project). For IMD 2010 the deciles in the package copy were computed by
    the package, not published, so they are recomputed here from the official rank with
    :func:`decile_from_rank`.
``lsoa_edition``
    ``"2001"``, ``"2011"`` or ``"2021"``.
``vintage``
    ``"2010"``, ``"2019"``, ``"2025"`` or ``"demo"``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from cwi.reference._io import find_column, read_csv, to_number
from cwi.reference.errors import ReferenceDataError, require_file

IMD_COLUMNS: tuple[str, ...] = (
    "lsoa_code", "lsoa_name", "lad_code", "lad_name",
    "imd_score", "imd_rank", "imd_decile", "lsoa_edition", "vintage",
)  # fmt: skip

EDITIONS: tuple[str, ...] = ("2001", "2011", "2021")
#: LSOA edition each official IMD vintage is published on.
VINTAGE_EDITION: dict[str, str] = {"2010": "2001", "2015": "2011", "2019": "2011", "2025": "2021"}

_LSOA_CODE = (r"^lsoa code", r"^lsoa\d\d_?c(o)?d(e)?$", r"^lsoa\d\dcd$", r"lsoa.*code")
_LSOA_NAME = (r"^lsoa name", r"^lsoa\d\d_?n(a)?m(e)?$", r"lsoa.*name")
_LAD_CODE = (r"^local authority district code", r"^lad\d\d_?c(o)?d(e)?$")
_LAD_NAME = (r"^local authority district name", r"^lad\d\d_?n(a)?m(e)?$")
_SCORE = (r"^index of multiple deprivation \(imd\) score", r"^imd_?score$", r"^imd\d*_?score$")
_RANK = (r"^index of multiple deprivation \(imd\) rank", r"^imd_?rank$", r"^imd\d*_?rank$")
_DECILE = (r"^index of multiple deprivation \(imd\) decile", r"^imd_?decile$", r"^imd\d*_?decile$")


def decile_from_rank(rank: pd.Series, n: int | None = None) -> pd.Series:
    """National decile from a national rank, **decile 1 = most deprived** (rank 1).

    Decile ``d`` holds ranks in ``((d-1)·n/10, d·n/10]``, the convention of the official IoD
    files (it reproduces every IoD2019 File 1 decile from its rank).

    Parameters
    ----------
    rank : pandas.Series
        Ranks 1..n, 1 = most deprived.
    n : int, optional
        Number of ranked LSOAs (default: the largest rank).

    Returns
    -------
    pandas.Series
        Integer deciles 1-10 (nullable ``Int64``).
    """
    n = int(n if n is not None else rank.max())
    dec = np.ceil(rank.astype(float) * 10.0 / n)
    return pd.Series(dec, index=rank.index).clip(1, 10).astype("Int64")


def _edition_from_header(col: str) -> str | None:
    m = re.search(r"\((20\d\d)\)", col) or re.search(r"lsoa(\d\d)", col, re.IGNORECASE)
    if not m:
        return None
    year = m.group(1)
    year = year if len(year) == 4 else "20" + year
    return year if year in EDITIONS else None


def _vintage_from_headers(columns: list[str]) -> str | None:
    joined = " ".join(columns).lower()
    if "lsoa01" in joined:
        return "2010"
    if "lsoa21" in joined:
        return "2025"
    if "district code (2019)" in joined:
        return "2019"
    return None


def _read_xlsx(path: Path, what: str) -> pd.DataFrame:
    """Read the data sheet of an IoD xlsx (the first sheet whose header has an LSOA code)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ReferenceDataError(
            path,
            f"could not be opened as an Excel workbook ({type(exc).__name__}); it is probably "
            "truncated or corrupted",
            "Delete it and run `cwi reference fetch` again, or replace it with a good copy.",
        ) from exc
    try:
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            header = next(rows, None)
            if not header or not any(h and "lsoa code" in str(h).lower() for h in header):
                continue
            names = [str(h).strip() if h is not None else "" for h in header]
            data = [r for r in rows if r and r[0] is not None]
            return pd.DataFrame(data, columns=names).astype(str)
    finally:
        book.close()
    raise ReferenceDataError(path, f"({what}) has no sheet with an 'LSOA code' column")


def read_imd(path: Path | str, vintage: str | None = None) -> pd.DataFrame:
    """Read an IMD file of any supported vintage and layout into the canonical frame.

    Supported layouts: IoD2019 File 1 (xlsx, ranks and deciles, no score), File 2 (csv / csv.gz
    export, ranks and deciles), File 7 (csv with score, rank and decile; also the demo's
    ``imd.csv``), IMD 2010 (``lsoa01_code, IMD_score, IMD_rank, ...``) and IoD2025
    (``lsoa21_code, IMD_decile, IMD_rank, IMD_score, ...``).

    Parameters
    ----------
    path : Path or str
        The file.
    vintage : str, optional
        ``"2010"``, ``"2019"``, ``"2025"`` or ``"demo"``; detected from the headers if omitted.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`IMD_COLUMNS` (see the module docstring), sorted by rank.

    Raises
    ------
    ReferenceDataError
        If the file is missing, corrupted or lacks an LSOA code or rank column.
    """
    path = require_file(path, "IMD file")
    what = "IMD file"
    xlsx = path.suffix.lower() in (".xlsx", ".xlsm")
    # a CSV's header first: the checks see every column, the read parses only those used
    raw = _read_xlsx(path, what) if xlsx else read_csv(path, what, nrows=0)
    cols = list(raw.columns)
    c_code = find_column(cols, _LSOA_CODE, path, "the LSOA code")
    c_name = find_column(cols, _LSOA_NAME, path, "the LSOA name", required=False)
    c_lad = find_column(cols, _LAD_CODE, path, "the LA district code", required=False)
    c_ladn = find_column(cols, _LAD_NAME, path, "the LA district name", required=False)
    c_score = find_column(cols, _SCORE, path, "the IMD score", required=False)
    c_rank = find_column(cols, _RANK, path, "the IMD rank", required=False)
    c_dec = find_column(cols, _DECILE, path, "the IMD decile", required=False)
    if c_rank is None and c_score is None:
        raise ReferenceDataError(
            path, "has neither an IMD rank nor an IMD score column", "Use an official IoD file."
        )
    vintage = vintage or _vintage_from_headers(cols)
    if vintage is None:
        raise ReferenceDataError(
            path,
            "does not say which IMD vintage it is",
            "Pass the vintage (release.imd_vintage in settings.yml: 2010, 2019 or 2025).",
        )
    edition = _edition_from_header(c_code) or VINTAGE_EDITION.get(vintage, "2011")
    if not xlsx:
        used = {c for c in (c_code, c_name, c_lad, c_ladn, c_score, c_rank, c_dec) if c}
        raw = read_csv(path, what, usecols=lambda c: str(c).replace("\ufeff", "").strip() in used)

    out = pd.DataFrame({"lsoa_code": raw[c_code].str.strip()})
    out["lsoa_name"] = raw[c_name].str.strip() if c_name else ""
    out["lad_code"] = raw[c_lad].str.strip() if c_lad else ""
    out["lad_name"] = raw[c_ladn].str.strip() if c_ladn else ""
    out["imd_score"] = to_number(raw[c_score]) if c_score else np.nan
    n = len(out)
    if c_rank:
        out["imd_rank"] = to_number(raw[c_rank]).round().astype("Int64")
    else:  # rank from score: 1 = highest score = most deprived
        out["imd_rank"] = out["imd_score"].rank(ascending=False, method="first").astype("Int64")
    if c_dec and vintage != "2010":
        out["imd_decile"] = to_number(raw[c_dec]).round().astype("Int64")
    else:
        # IMD 2010: the package's deciles are not official; recompute from the official rank.
        out["imd_decile"] = decile_from_rank(out["imd_rank"], n)
    out["lsoa_edition"] = edition
    out["vintage"] = str(vintage)
    _check_imd(out, path)
    return out.sort_values("imd_rank", kind="stable").reset_index(drop=True)[list(IMD_COLUMNS)]


def _check_imd(frame: pd.DataFrame, path: Path) -> None:
    """Refuse a frame with duplicate LSOAs, missing ranks or a reversed decile orientation."""
    if frame.empty:
        raise ReferenceDataError(path, "holds no LSOA rows")
    if frame["lsoa_code"].duplicated().any():
        raise ReferenceDataError(path, "lists some LSOA codes more than once")
    if frame["imd_rank"].isna().any() or frame["imd_decile"].isna().any():
        raise ReferenceDataError(path, "has blank IMD ranks or deciles")
    if not frame["imd_decile"].between(1, 10).all():
        raise ReferenceDataError(path, "has IMD deciles outside 1-10")
    by_decile = frame.groupby("imd_decile")["imd_rank"].mean()
    if by_decile.index.min() != by_decile.index.max() and (
        by_decile.loc[by_decile.index.min()] > by_decile.loc[by_decile.index.max()]
    ):
        raise ReferenceDataError(
            path,
            "has deciles numbered the other way round (decile 1 holds the least deprived)",
            "This project uses decile 1 = most deprived, as the official IoD files do; use the "
            "official file or renumber its deciles as 11 - decile.",
        )


def align_imd_to_edition(
    imd: pd.DataFrame, target_edition: str, lookup: pd.DataFrame | None, bridge: bool = True
) -> tuple[pd.DataFrame, list[str]]:
    """Express an IMD frame on another LSOA edition through an ONS LSOA lookup.

    IMD ranks and deciles are defined on the LSOAs of their own edition only, so a bridge is an
    approximation and is reported: where a target LSOA comes from exactly one source LSOA (same
    LSOA, or part of a split) it inherits that LSOA's values; where it comes from several (a merge
    or an irregular change) it takes the **mean** score and mean rank of its sources, and its
    decile is recomputed from that mean rank (:func:`decile_from_rank`, 1 = most deprived).

    Parameters
    ----------
    imd : pandas.DataFrame
        Canonical IMD frame (:data:`IMD_COLUMNS`).
    target_edition : str
        LSOA edition of the records, ``"2001"``, ``"2011"`` or ``"2021"``.
    lookup : pandas.DataFrame or None
        ONS lookup with columns ``lsoa{YY}_code`` for both editions (from
        :func:`cwi.reference.lookups.read_lsoa_lookup`), in either direction. Not needed when
        the editions already match.
    bridge : bool
        ``False`` refuses any mismatch with a :class:`ReferenceDataError` instead of bridging.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The IMD frame on ``target_edition`` (same columns) and notes describing the
        approximation (empty when nothing was bridged).
    """
    target_edition = str(target_edition)
    source = str(imd["lsoa_edition"].iloc[0])
    vintage = str(imd["vintage"].iloc[0])
    if source == target_edition:
        return imd.copy(), []
    label = f"IMD {vintage} (LSOA {source}) vs records on LSOA {target_edition}"
    if not bridge:
        raise ReferenceDataError(
            None,
            f"do not match: {label}",
            "Use the IMD vintage published on the records' LSOA edition, or allow the bridge "
            "through the ONS LSOA lookup (the approximation is then reported).",
        )
    src_col, tgt_col = f"lsoa{source[2:]}_code", f"lsoa{target_edition[2:]}_code"
    if lookup is None or src_col not in lookup.columns or tgt_col not in lookup.columns:
        raise ReferenceDataError(
            None,
            f"cannot be bridged: {label} needs an LSOA {source} to {target_edition} lookup",
            "Provide the ONS LSOA lookup between these editions (see cwi/reference/sources.yml).",
        )
    pairs = lookup[[src_col, tgt_col]].drop_duplicates()
    pairs.columns = ["src", "lsoa_code_new"]
    merged = pairs.merge(imd, left_on="src", right_on="lsoa_code", how="inner")
    n_src = merged.groupby("lsoa_code_new")["src"].transform("nunique")
    n_tgt = merged.groupby("src")["lsoa_code_new"].transform("nunique")
    agg = merged.groupby("lsoa_code_new").agg(
        imd_score=("imd_score", "mean"),
        imd_rank_mean=("imd_rank", "mean"),
        imd_decile_first=("imd_decile", "first"),
        lsoa_name=("lsoa_name", "first"),
        lad_code=("lad_code", "first"),
        lad_name=("lad_name", "first"),
        n_sources=("src", "nunique"),
    )
    multi = agg["n_sources"] > 1
    n_ranked = int(imd["imd_rank"].max())
    out = pd.DataFrame(index=agg.index)
    out["lsoa_name"] = agg["lsoa_name"].where(~multi, "")
    out["lad_code"] = agg["lad_code"]
    out["lad_name"] = agg["lad_name"]
    out["imd_score"] = agg["imd_score"]
    out["imd_rank"] = agg["imd_rank_mean"].round().astype("Int64")
    out["imd_decile"] = agg["imd_decile_first"].astype("Int64")
    out.loc[multi, "imd_decile"] = decile_from_rank(agg.loc[multi, "imd_rank_mean"], n_ranked)
    out["lsoa_edition"] = target_edition
    out["vintage"] = vintage
    out = out.reset_index().rename(columns={"lsoa_code_new": "lsoa_code"})
    n_same = int(((n_src == 1) & (n_tgt == 1)).groupby(merged["lsoa_code_new"]).all().sum())
    n_split = int(((n_src == 1) & (n_tgt > 1)).groupby(merged["lsoa_code_new"]).all().sum())
    n_multi = int(multi.sum())
    unmatched = len(set(pairs["lsoa_code_new"]) - set(out["lsoa_code"]))
    notes = [
        f"{label}: IMD bridged through the ONS LSOA {source}-{target_edition} lookup. "
        f"{n_same:,} LSOAs unchanged, {n_split:,} parts of split LSOAs inherit their parent's "
        f"IMD, {n_multi:,} merged or irregularly changed LSOAs take the mean score and mean rank "
        "of their sources with the decile recomputed from that rank (decile 1 = most "
        "deprived). Ranks and deciles are therefore approximate on the new edition."
    ]
    if unmatched:
        notes.append(
            f"{label}: {unmatched:,} LSOA {target_edition} codes in the lookup have no IMD value "
            "(outside England or absent from the IMD file)."
        )
    return out[list(IMD_COLUMNS)].sort_values("imd_rank", kind="stable").reset_index(
        drop=True
    ), notes
