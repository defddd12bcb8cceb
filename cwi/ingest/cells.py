"""Cell-level cleaning shared by the rules: blanks, identifiers, dates, sex and ethnicity codes.

Each function takes a column of raw text and returns cleaned values plus boolean masks naming the
rows that break a rule. Nothing here guesses: ambiguous values (Excel serial dates, two-digit years,
placeholder 1900 dates, labels that are not codes) are reported, not converted, except where the
repair is exact (``123456.0`` -> ``123456``; an exact DfE label -> its code).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from cwi.schemas import ETHNIC_CODES

NULL_SPELLINGS = frozenset({"", "NULL", "N/A", "NA", "-", ".", "NONE", "NAN"})

#: Legacy or label spellings mapped to DfE codes (reported as ETHNIC_ALIAS). Labels are exact,
#: case-insensitive matches of the DfE code descriptions; nothing else is guessed.
ETHNIC_ALIASES: dict[str, str] = {
    "GROM": "WROM",
    "ACHN": "CHNE",
    "OOEG": "OOTH",
    "WHITE BRITISH": "WBRI",
    "WHITE IRISH": "WIRI",
    "ANY OTHER WHITE BACKGROUND": "WOTH",
    "TRAVELLER OF IRISH HERITAGE": "WIRT",
    "GYPSY/ROMA": "WROM",
    "WHITE AND BLACK CARIBBEAN": "MWBC",
    "WHITE AND BLACK AFRICAN": "MWBA",
    "WHITE AND ASIAN": "MWAS",
    "ANY OTHER MIXED BACKGROUND": "MOTH",
    "INDIAN": "AIND",
    "PAKISTANI": "APKN",
    "BANGLADESHI": "ABAN",
    "ANY OTHER ASIAN BACKGROUND": "AOTH",
    "CARIBBEAN": "BCRB",
    "AFRICAN": "BAFR",
    "ANY OTHER BLACK BACKGROUND": "BOTH",
    "CHINESE": "CHNE",
    "ANY OTHER ETHNIC GROUP": "OOTH",
    "REFUSED": "REFU",
    "INFORMATION NOT YET OBTAINED": "NOBT",
}

LEGAL_STATUSES = frozenset(
    {"C1", "C2", "D1", "E1", "V2", "V3", "V4", "L1", "L2", "L3", "J1", "J2", "J3"}
)
SHORT_BREAK_STATUSES = frozenset({"V3", "V4"})
_PLACE_TO_2025 = {
    "A3",
    "A4",
    "A5",
    "A6",
    "H5",
    "K1",
    "K2",
    "P1",
    "P2",
    "P3",
    "R1",
    "R2",
    "R3",
    "R5",
    "S1",
    "T0",
    "T1",
    "T2",
    "T3",
    "T4",
    "U1",
    "U2",
    "U3",
    "U4",
    "U5",
    "U6",
    "Z1",
}
_PLACE_FROM_2026 = (_PLACE_TO_2025 - {"H5", "P2", "Z1"}) | {"K3", "Z11", "Z12", "Z13", "Z14"}


def place_codes(year: int) -> frozenset[str]:
    """SSDA903 placement types valid in a collection year (31 March of ``year``)."""
    return frozenset(_PLACE_TO_2025 if year <= 2025 else _PLACE_FROM_2026)


def _distinct(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes and distinct values of a string Series (work once per distinct value, not row)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)


def _spread(codes: np.ndarray, per_value: pd.Series, index: pd.Index) -> pd.Series:
    """Per-distinct-value results back onto every row (same index as the input)."""
    out = per_value.take(codes)
    out.index = index
    return out


def clean(values: pd.Series) -> pd.Series:
    """Strip whitespace (incl. non-breaking) and turn null spellings into empty strings."""
    s = values.astype(object).where(values.notna(), "").astype(str)
    codes, u = _distinct(s)
    u = u.str.replace("\u00a0", " ", regex=False).str.strip()
    u = u.where(~u.str.upper().isin(NULL_SPELLINGS), "")
    return _spread(codes, u, s.index).astype(object)


def clean_ids(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Clean child identifiers.

    Returns
    -------
    ids, missing, damaged, invalid : pandas.Series
        Cleaned ids (repaired where a spreadsheet added ``.0`` or scientific notation); masks for
        blank ids (ID_MISSING), repaired ids (ID_EXCEL_DAMAGED) and ids over 20 characters or not
        alphanumeric (ID_INVALID).
    """
    s = clean(values)
    missing = s == ""
    dot0 = s.str.fullmatch(r"\d+\.0+")
    sci = s.str.fullmatch(r"\d(\.\d+)?[Ee]\+?\d{1,2}")
    ids = s.where(~dot0, s.str.replace(r"\.0+$", "", regex=True))

    def unsci(text: str) -> str:
        try:
            return format(Decimal(text).to_integral_value(), "f")
        except InvalidOperation:
            return text

    if sci.any():
        ids = ids.where(~sci, s[sci].map(unsci))
    invalid = ~missing & (~ids.str.fullmatch(r"[A-Za-z0-9]+") | (ids.str.len() > 20))
    return ids, missing, (dot0 | sci) & ~missing, invalid


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse dd/mm/yyyy or ISO yyyy-mm-dd (optionally with a time) dates.

    Returns
    -------
    dates, invalid : pandas.Series
        Timestamps (NaT when blank or invalid) and the mask of non-blank values that are not a
        real date in these formats, or fall before 1901 (placeholders such as 01/01/1900).
    """
    full = clean(values)
    codes, s = _distinct(full)  # dates repeat a lot: parse each distinct text once
    dmy = s.str.extract(r"^(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})$")
    iso = s.str.extract(
        r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
    )
    parts = dmy.fillna(iso)
    nums = parts.apply(pd.to_numeric, errors="coerce")
    ok = nums.notna().all(axis=1) & (nums["y"] >= 1901) & (nums["y"] <= 2100)
    dates = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if ok.any():
        sub = nums[ok].astype("int64")
        dates[ok] = pd.to_datetime(
            {"year": sub["y"], "month": sub["m"], "day": sub["d"]}, errors="coerce"
        )
    invalid = (s != "") & dates.isna()
    return _spread(codes, dates, full.index), _spread(codes, invalid, full.index)


def sex_codes(values: pd.Series, vocabulary: str) -> tuple[pd.Series, pd.Series]:
    """Map sex codes to M/F/U.

    Parameters
    ----------
    values : pandas.Series
        Raw codes.
    vocabulary : {"903", "cin", "standard"}
        SSDA903 (1/2), CIN census (GenderCurrent 0/1/2/9 or Sex M/F/U) or the standard CSV (M/F/U).

    Returns
    -------
    sex, invalid : pandas.Series
        M/F/U and the mask of invalid codes (SEX_INVALID; recorded as U).
    """
    s = clean(values).str.upper().str.replace(r"\.0+$", "", regex=True)
    table = {
        "903": {"1": "M", "2": "F"},
        "cin": {"1": "M", "2": "F", "0": "U", "9": "U", "M": "M", "F": "F", "U": "U"},
        "standard": {"M": "M", "F": "F", "U": "U"},
    }[vocabulary]
    sex = s.map(table)
    invalid = sex.isna()
    return sex.fillna("U").astype(object), invalid


def ethnic_codes(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Map ethnicity to one of the 20 DfE codes.

    Returns
    -------
    code, alias, invalid : pandas.Series
        The DfE code (None when invalid), the mask of values mapped through
        :data:`ETHNIC_ALIASES` (ETHNIC_ALIAS) and the mask of invalid values (ETHNIC_INVALID).
    """
    s = clean(values).str.upper().str.replace(r"\s+", " ", regex=True)
    valid = s.isin(ETHNIC_CODES.keys())
    aliased = s.map(ETHNIC_ALIASES)
    alias = ~valid & aliased.notna()
    code = s.where(valid, aliased)
    invalid = code.isna()
    return code.where(~invalid, None).astype(object), alias, invalid


def age_at(dob: pd.Series, when: pd.Timestamp) -> pd.Series:
    """Age in completed years at ``when`` (nullable integer; missing where DOB is missing)."""
    years = when.year - dob.dt.year
    before = (dob.dt.month > when.month) | ((dob.dt.month == when.month) & (dob.dt.day > when.day))
    age = years - before.astype("Int64")
    return age.astype("Int64")


def as_bool_mask(mask: pd.Series | np.ndarray) -> pd.Series:
    """Return ``mask`` as a plain boolean Series (missing = False)."""
    return pd.Series(mask).fillna(False).astype(bool)
