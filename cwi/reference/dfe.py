"""Reader for DfE's published LA tables of children in need, on plans and looked after.

Canonical frame (:data:`DFE_COLUMNS`), one row per year x geography x measure:

``year``
    Collection year (31 March of ``year``).
``geographic_level``
    ``National``, ``Regional`` or ``Local authority``.
``la_code``
    ``new_la_code`` (E06/E08/E09/E10) for LAs, the region code for regions, ``E92000001`` for
    England.
``la_name``, ``region_name``
    As published (``la_name`` is the region / ``England`` on those rows).
``measure``
    ``CIN`` (B1 ``At31_episodes``), ``CPP`` (D5 ``CPP_At31``) or ``CLA`` (at 31 March).
``number``
    Count at 31 March, NaN where suppressed.
``population``
    ONS mid-year estimate of children aged 0-17 used by DfE (``population_estimate`` of the CLA
    file, which covers 2020 onwards; NaN for earlier years).
``rate_per_10000``
    Published rate for CIN and CLA. **D5 publishes no CPP rate**: it is computed here as
    ``number / population * 10000`` (unrounded) wherever both are known.
``symbol``
    The suppression symbol found in the number (or rate) cell, else empty: ``c`` confidential
    (1-5 and secondary), ``x`` not available / suppressed (older releases), ``z`` not applicable,
    ``k`` below 0.5, ``low``, ``u`` low reliability.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from cwi.reference._io import find_column, read_csv, to_number

DFE_COLUMNS: tuple[str, ...] = (
    "year", "geographic_level", "la_code", "la_name", "region_name",
    "measure", "number", "population", "rate_per_10000", "symbol",
)  # fmt: skip
SUPPRESSION_SYMBOLS: tuple[str, ...] = ("c", "x", "z", "k", "low", "u", ":", "..", ".", "-")

_CLA_AT_31_MARCH = "Children looked after at 31 March each year"


def split_symbol(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split published cells into numbers and suppression symbols.

    Parameters
    ----------
    values : pandas.Series
        Cells read as strings.

    Returns
    -------
    (pandas.Series, pandas.Series)
        Floats (NaN where suppressed or blank) and the symbol (empty string where numeric).
    """
    text = values.fillna("").astype(str).str.strip()
    is_symbol = text.str.lower().isin(SUPPRESSION_SYMBOLS)
    symbol = text.where(is_symbol, "").str.lower()
    number = to_number(text.where(~is_symbol, ""))
    return number, symbol


def _geo(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    level = raw[find_column(raw.columns, (r"^geographic_level$",), path, "geographic level")]
    code = raw["new_la_code"].where(raw["new_la_code"] != "", raw["region_code"])
    code = code.where(code != "", raw["country_code"])
    name = raw["la_name"].where(raw["la_name"] != "", raw["region_name"])
    name = name.where(name != "", raw["country_name"])
    return pd.DataFrame(
        {
            "year": raw["time_period"].str[:4].astype(int),
            "geographic_level": level,
            "la_code": code,
            "la_name": name,
            "region_name": raw["region_name"],
        }
    )


def read_dfe_cla(path: Path | str) -> pd.DataFrame:
    """Read DfE ``cla_number_and_rate_per_10k_children.csv`` (children looked after at 31 March).

    Returns
    -------
    pandas.DataFrame
        :data:`DFE_COLUMNS` with ``measure == "CLA"``.
    """
    raw = read_csv(path, "DfE children looked after table")
    raw = raw[raw["population_count"].str.strip() == _CLA_AT_31_MARCH].reset_index(drop=True)
    out = _geo(raw, Path(path))
    out["measure"] = "CLA"
    out["number"], sym_n = split_symbol(raw["number"])
    out["population"], _ = split_symbol(raw["population_estimate"])
    out["rate_per_10000"], sym_r = split_symbol(raw["rate_per_10000"])
    out["symbol"] = sym_n.where(sym_n != "", sym_r)
    return out[list(DFE_COLUMNS)]


def _population_by_key(cla: pd.DataFrame | None) -> pd.DataFrame | None:
    if cla is None:
        return None
    return cla[["year", "la_code", "population"]].drop_duplicates(["year", "la_code"])


def read_dfe_cin(path: Path | str, cla: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read DfE table B1 (children in need at 31 March: ``At31_episodes`` and its rate).

    Parameters
    ----------
    path : Path or str
        ``b1_children_in_need_*.csv``.
    cla : pandas.DataFrame, optional
        The CLA frame, whose ``population`` is attached by year and ``la_code``.

    Returns
    -------
    pandas.DataFrame
        :data:`DFE_COLUMNS` with ``measure == "CIN"``.
    """
    raw = read_csv(path, "DfE children in need table B1")
    out = _geo(raw, Path(path))
    out["measure"] = "CIN"
    out["number"], sym_n = split_symbol(raw["At31_episodes"])
    out["rate_per_10000"], sym_r = split_symbol(raw["At31_episodes_rate"])
    out["symbol"] = sym_n.where(sym_n != "", sym_r)
    pop = _population_by_key(cla)
    out = out.merge(pop, on=["year", "la_code"], how="left") if pop is not None else out
    if "population" not in out:
        out["population"] = np.nan
    return out[list(DFE_COLUMNS)]


def read_dfe_cpp(path: Path | str, cla: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read DfE table D5 (``CPP_At31``); the rate is computed from the CLA file's population.

    Parameters
    ----------
    path : Path or str
        ``d5_cpps_at31march_by_duration_*.csv``.
    cla : pandas.DataFrame, optional
        The CLA frame supplying ``population`` (0-17) by year and ``la_code``.

    Returns
    -------
    pandas.DataFrame
        :data:`DFE_COLUMNS` with ``measure == "CPP"``; ``rate_per_10000`` computed, unrounded.
    """
    raw = read_csv(path, "DfE child protection plans table D5")
    out = _geo(raw, Path(path))
    out["measure"] = "CPP"
    out["number"], out["symbol"] = split_symbol(raw["CPP_At31"])
    pop = _population_by_key(cla)
    out = out.merge(pop, on=["year", "la_code"], how="left") if pop is not None else out
    if "population" not in out:
        out["population"] = np.nan
    out["rate_per_10000"] = out["number"] / out["population"] * 10000
    return out[list(DFE_COLUMNS)]


def read_dfe_tables(
    cla: Path | str | None, cin: Path | str | None = None, cpp: Path | str | None = None
) -> pd.DataFrame:
    """Read the DfE LA tables that are given into one long frame.

    Parameters
    ----------
    cla, cin, cpp : Path or str or None
        The CLA file, table B1 and table D5. CIN and CPP take their population from the CLA file.

    Returns
    -------
    pandas.DataFrame
        :data:`DFE_COLUMNS`, sorted by year, measure, level and code.
    """
    frames = []
    cla_frame = read_dfe_cla(cla) if cla else None
    if cla_frame is not None:
        frames.append(cla_frame)
    if cin:
        frames.append(read_dfe_cin(cin, cla_frame))
    if cpp:
        frames.append(read_dfe_cpp(cpp, cla_frame))
    if not frames:
        return pd.DataFrame(columns=list(DFE_COLUMNS))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["year", "measure", "geographic_level", "la_code"]).reset_index(
        drop=True
    )


def read_dfe_cla_history(cla2018: Path | str | None, cla2019: Path | str | None) -> pd.DataFrame:
    """Read DfE's CLA underlying data (CLA2018.csv, CLA2019.csv): CLA at 31 March 2014-2019.

    CLA2019 gives 2015-2019 and CLA2018 adds 2014 (a later release wins where both have a
    year). The files label their populations inconsistently (``PROVENANCE.md`` 7b): in
    CLA2019 ``CLA_Pop{Y-1}`` is the denominator of ``CLA_Rate{Y}``, in CLA2018 ``CLA_Pop{Y}``
    is; both are the mid-year 0-17 estimate before 31 March. National and regional counts are
    rounded to the nearest 10 by DfE; LA counts are unrounded.

    Parameters
    ----------
    cla2018, cla2019 : Path or str or None
        The two files (either may be missing).

    Returns
    -------
    pandas.DataFrame
        :data:`DFE_COLUMNS` with ``measure == "CLA"``.
    """
    level_names = {"NATIONAL": "National", "REGION": "Regional", "LA": "Local authority"}
    frames = []
    for path, pop_lag in ((cla2019, 1), (cla2018, 0)):
        if not path:
            continue
        raw = read_csv(path, "DfE CLA underlying data", encoding="cp1252")
        years = sorted(int(c[-4:]) for c in raw.columns if re.fullmatch(r"CLA_Mar\d{4}", c))
        for year in years:
            pop_col = f"CLA_Pop{year - pop_lag}"
            if pop_col not in raw.columns:
                continue
            out = pd.DataFrame(
                {
                    "year": year,
                    "geographic_level": raw["geog_l"].str.strip().map(level_names),
                    "la_code": raw["New_geog_code"].str.strip(),
                    "la_name": raw["geog_n"].str.strip(),
                    "region_name": "",
                    "measure": "CLA",
                }
            )
            out["number"], sym_n = split_symbol(raw[f"CLA_Mar{year}"])
            out["population"], _ = split_symbol(raw[pop_col])
            out["rate_per_10000"], sym_r = split_symbol(raw[f"CLA_Rate{year}"])
            out["symbol"] = sym_n.where(sym_n != "", sym_r)
            frames.append(out)
    if not frames:
        return pd.DataFrame(columns=list(DFE_COLUMNS))
    out = pd.concat(frames, ignore_index=True).drop_duplicates(["year", "la_code"], keep="first")
    return out[list(DFE_COLUMNS)].reset_index(drop=True)
