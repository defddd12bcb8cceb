"""Postcode normalisation and postcode -> LSOA linkage, vectorised.

A postcode is cleaned only for case and spacing (non-breaking spaces, tabs, doubled spaces,
surrounding punctuation); letters are never swapped for digits, so ``Z2 1OG`` stays invalid. It is
then classified and looked up in an NSPL/ONSPD directory. Each outcome has its own rule code
(``PC_*`` in :mod:`cwi.ingest.rules`), and an LSOA is assigned only when the full postcode is found
in the directory and lies in England: it is never guessed from a sector or district.

Work is done once per distinct value, so a million records with repeated postcodes cost little
more than the distinct postcodes they hold.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cwi.ingest.rules import LINKED_REASONS

NULL_SPELLINGS = frozenset({"", "NULL", "N/A", "NA", "-", ".", "0", "NONE", "NAN", "UNKNOWN"})
NFA_SPELLINGS = frozenset({"NFA", "NOFIXEDABODE", "NOFIXEDADDRESS"})
NON_ENGLISH_AREAS = ("GY", "JE", "IM", "BT")  # Guernsey, Jersey, Isle of Man, Northern Ireland
ENGLISH_LSOA_PREFIXES = ("E01", "X01")  # X01 = fictional demo LSOAs, treated as English

_FULL = r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}"
_DISTRICT = r"[A-Z]{1,2}\d[A-Z\d]?"
_SECTOR_SPACED = r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]?"
_SECTOR_COMPACT = r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]?"
_ONS_CODE = re.compile(r"[A-Z]\d{8}")


def _match(arr: pa.Array, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(arr, pattern).to_numpy(zero_copy_only=False).astype(bool)


_LUT = np.zeros(256, dtype=np.int64)
_LUT[48:58] = np.arange(1, 11)  # 0-9
_LUT[65:91] = np.arange(11, 37)  # A-Z
_POW = 37 ** np.arange(6, -1, -1, dtype=np.int64)


def encode_keys(keys: np.ndarray) -> np.ndarray:
    """Encode compact postcodes (up to 7 of ``0-9A-Z``) as int64 in base 37; -1 when not encodable."""
    keys = np.asarray(keys, dtype=object)
    out = np.full(len(keys), -1, dtype=np.int64)
    if not len(keys):
        return out
    arr = pa.array(keys, type=pa.string(), from_pandas=True).fill_null("")
    ok = _match(arr, "^[0-9A-Z]{1,7}$")
    if ok.any():
        raw = np.array(keys[ok].tolist(), dtype="S7")
        digits = _LUT[raw.view(np.uint8).reshape(-1, 7)]
        out[ok] = digits @ _POW
    return out


class PostcodeIndex:
    """A postcode directory prepared for fast repeated lookups.

    Postcodes are encoded as integers and sorted once, so a lookup is a binary search
    (:func:`numpy.searchsorted`) rather than a string hash of millions of rows.

    Parameters
    ----------
    directory : pandas.DataFrame
        Output of :func:`cwi.reference.postcodes.read_postcode_directory`.
    """

    def __init__(self, directory: pd.DataFrame) -> None:
        frame = directory.drop_duplicates("pcd_key", keep="first")
        codes = encode_keys(frame["pcd_key"].to_numpy(dtype=object))
        self.order = np.argsort(codes, kind="stable")
        self.sorted_codes = codes[self.order]
        self.lsoa = frame["lsoa_code"].to_numpy(dtype=object)
        self.ctry = frame["ctry"].fillna("").to_numpy(dtype=object)
        self.laua = frame["laua"].fillna("").to_numpy(dtype=object)
        self.cty = (
            frame["cty"].fillna("").to_numpy(dtype=object)
            if "cty" in frame
            else np.full(len(frame), "", dtype=object)
        )
        self.terminated = (frame["doterm"].fillna("").astype(str).str.strip() != "").to_numpy()
        editions = frame["lsoa_edition"].dropna().unique() if "lsoa_edition" in frame else []
        self.lsoa_edition = str(editions[0]) if len(editions) else None

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Return directory positions of ``keys`` (compact upper-case), -1 when absent."""
        q = encode_keys(keys)
        if not len(self.sorted_codes):
            return np.full(len(q), -1, dtype=np.int64)
        pos = np.searchsorted(self.sorted_codes, q)
        pos = np.minimum(pos, len(self.sorted_codes) - 1)
        found = (self.sorted_codes[pos] == q) & (q >= 0)
        return np.where(found, self.order[pos], -1)


def as_index(postcodes: pd.DataFrame | PostcodeIndex) -> PostcodeIndex:
    """Return ``postcodes`` prepared as a :class:`PostcodeIndex` (no-op if it already is one)."""
    return postcodes if isinstance(postcodes, PostcodeIndex) else PostcodeIndex(postcodes)


def normalise(values: pd.Series) -> pd.DataFrame:
    """Clean and classify postcodes without the directory.

    Parameters
    ----------
    values : pandas.Series
        Raw postcode strings (missing allowed).

    Returns
    -------
    pandas.DataFrame
        Same index; ``key`` (compact, upper case), ``canonical`` (standard form, full postcodes
        only), ``kind`` (``blank``, ``nfa``, ``placeholder``, ``overseas``, ``full``, ``sector``,
        ``district`` or ``invalid``) and ``reformatted`` (the raw value differs from the standard
        form).
    """
    raw = values.astype(object).where(values.notna(), "")
    codes, uniques = pd.factorize(raw.astype(str), sort=False)
    u = pa.array(np.asarray(uniques, dtype=object), type=pa.string())
    t = pc.utf8_upper(u)
    t = pc.replace_substring_regex(t, r"[\s\p{Zs}\x{200b}\x{feff}]+", " ")
    t = pc.utf8_trim(t, " .,;:'\"")
    key = pc.replace_substring(t, " ", "")
    n = len(u)
    kind = np.full(n, "invalid", dtype=object)
    full = _match(key, "^" + _FULL + "$") | _match(key, "^GIR0AA$")
    spaced = _match(t, " ")
    district = _match(key, "^" + _DISTRICT + "$") & ~spaced
    sector = (_match(t, "^" + _SECTOR_SPACED + "$") & spaced) | (
        _match(key, "^" + _SECTOR_COMPACT + "$") & ~spaced & ~district
    )
    kind[sector] = "sector"
    kind[district] = "district"
    kind[full] = "full"
    kind[_match(key, "^BFPO")] = "overseas"
    kind[_match(key, "^ZZ99")] = "placeholder"
    key_np = np.asarray(key.to_numpy(zero_copy_only=False), dtype=object)
    t_np = np.asarray(t.to_numpy(zero_copy_only=False), dtype=object)
    nfa = pc.is_in(key, value_set=pa.array(sorted(NFA_SPELLINGS))).to_numpy(zero_copy_only=False)
    kind[nfa | (t_np == "NO FIXED ABODE")] = "nfa"
    kind[
        pc.is_in(key, value_set=pa.array(sorted(NULL_SPELLINGS))).to_numpy(zero_copy_only=False)
    ] = "blank"
    joined = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(key, 0, -3), pc.utf8_slice_codeunits(key, -3), " "
    )
    canonical = np.where(full, np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object), "")
    reformatted = full & (np.asarray(uniques, dtype=object) != canonical)
    return pd.DataFrame(
        {
            "key": key_np[codes],
            "canonical": canonical[codes],
            "kind": kind[codes],
            "reformatted": reformatted[codes],
        },
        index=values.index,
    )


def link(
    values: pd.Series,
    postcodes: pd.DataFrame | PostcodeIndex,
    la_code: str | None = None,
    blank_expected: pd.Series | None = None,
) -> pd.DataFrame:
    """Link postcodes to LSOAs and give each its reason.

    Parameters
    ----------
    values : pandas.Series
        Raw postcode strings.
    postcodes : pandas.DataFrame or PostcodeIndex
        The postcode directory.
    la_code : str, optional
        The returning LA's ONS code; a linked postcode in another LA gets ``PC_OUTSIDE_LA``.
    blank_expected : pandas.Series of bool, optional
        Rows where a blank postcode is expected (UASC, short breaks): ``PC_BLANK_EXPECTED``.

    Returns
    -------
    pandas.DataFrame
        Same index; ``finding`` (the rule code to report, or None when the postcode is fine as
        given), ``link_reason`` (``PC_OK`` or the ``PC_*`` code) and ``lsoa_code`` (None unless
        linked).
    """
    idx = as_index(postcodes)
    norm = normalise(values)
    n = len(norm)
    kind = norm["kind"].to_numpy(dtype=object)
    reason = np.full(n, "PC_INVALID", dtype=object)
    lsoa = np.full(n, None, dtype=object)
    reason[kind == "blank"] = "PC_BLANK"
    if blank_expected is not None:
        expected = blank_expected.reindex(norm.index).fillna(False).to_numpy(dtype=bool)
        reason[(kind == "blank") & expected] = "PC_BLANK_EXPECTED"
    reason[kind == "nfa"] = "PC_NFA"
    reason[kind == "placeholder"] = "PC_PLACEHOLDER"
    reason[kind == "overseas"] = "PC_NON_ENGLISH"
    reason[kind == "sector"] = "PC_PARTIAL_SECTOR"
    reason[kind == "district"] = "PC_PARTIAL_DISTRICT"
    full = np.flatnonzero(kind == "full")
    if len(full):
        keys = norm["key"].to_numpy(dtype=object)[full]
        pos = idx.lookup(keys)
        found = pos >= 0
        # not found
        nf = full[~found]
        prefix = pd.Series(keys[~found], dtype=object).str[:2].isin(NON_ENGLISH_AREAS).to_numpy()
        reason[nf] = np.where(prefix, "PC_NON_ENGLISH", "PC_UNKNOWN")
        # found
        rows, p = full[found], pos[found]
        f_lsoa = idx.lsoa[p]
        f_ctry = pd.Series(idx.ctry[p], dtype=object).fillna("")
        lsoa_en = pd.Series(f_lsoa, dtype=object).fillna("").str[:3].isin(ENGLISH_LSOA_PREFIXES)
        ctry_en = (f_ctry == "E92000001") | f_ctry.str.startswith("X") | (f_ctry == "")
        english = (lsoa_en & ctry_en).to_numpy()
        r = np.where(ctry_en.to_numpy(), "PC_UNKNOWN", "PC_NON_ENGLISH").astype(object)
        r[english] = "PC_OK"
        reform = norm["reformatted"].to_numpy(dtype=bool)[rows]
        r[english & reform] = "PC_REFORMATTED"
        if la_code and _ONS_CODE.fullmatch(la_code):
            outside = (idx.laua[p] != la_code) & (idx.cty[p] != la_code)
            outside &= pd.Series(idx.laua[p], dtype=object).fillna("").to_numpy() != ""
            r[english & outside] = "PC_OUTSIDE_LA"
        r[english & idx.terminated[p]] = "PC_TERMINATED"
        reason[rows] = r
        linked = english
        lsoa[rows[linked]] = f_lsoa[linked]
    link_reason = np.where(reason == "PC_REFORMATTED", "PC_OK", reason).astype(object)
    lsoa[~np.isin(link_reason, list(LINKED_REASONS))] = None
    finding = np.where(reason == "PC_OK", None, reason).astype(object)
    return pd.DataFrame(
        {"finding": finding, "link_reason": link_reason, "lsoa_code": lsoa}, index=values.index
    )
