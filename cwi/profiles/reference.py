"""Public tables the profiles need beside the analysis: England's rates and their LA spread.

From DfE's published LA tables (:mod:`cwi.reference.dfe`), written to the results store as two
published tables (public data, rates only, no counts of children):

``england_reference``
    ``year, measure, england_rate, la_min, la_p25, la_median, la_p75, la_max, las_compared``: England's
    rate and the spread of upper-tier LAs' rates (the spine chart's England range).
``dfe_la_rates``
    ``year, la_code, la_name, measure, dfe_rate``: the published rate of each LA of this build
    that appears in the DfE tables (real LAs only; the demo's codes never match).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

ENGLAND_CODE = "E92000001"
UPPER_TIER = r"^E(06|08|09|10)"
REFERENCE_COLUMNS = (
    "year", "measure", "england_rate", "la_min", "la_p25", "la_median", "la_p75", "la_max",
    "las_compared",
)  # fmt: skip
DFE_RATE_COLUMNS = ("year", "la_code", "la_name", "measure", "dfe_rate")


def load_dfe(settings: Any, reference: Any = None) -> pd.DataFrame | None:
    """The DfE LA tables: from the loaded reference data, else wherever the registry finds them.

    The demo region's reference folder holds no DfE tables; the published files are then looked
    up like any reference file (``cwi reference use``, ``data/reference``, the cache) and, on a
    machine with the project's shared public data beside it, there.
    """
    dfe = getattr(reference, "england", None)
    if dfe is not None and not dfe.empty:
        return dfe
    from cwi.config import SHARED_PUBLIC
    from cwi.reference.dfe import read_dfe_tables
    from cwi.reference.sources import load_sources, locate

    found: dict[str, Any] = {}
    for src in load_sources():
        if src.name in ("dfe_cla", "dfe_cin_b1", "dfe_cpp_d5"):
            path = locate(src, settings)
            if path is None and (SHARED_PUBLIC / src.file).is_file():
                path = SHARED_PUBLIC / src.file
            found[src.name] = path
    if not any(found.values()):
        return None
    try:
        return read_dfe_tables(
            found.get("dfe_cla"), found.get("dfe_cin_b1"), found.get("dfe_cpp_d5")
        )
    except (OSError, ValueError, KeyError):
        return None


def england_reference(dfe: pd.DataFrame | None) -> pd.DataFrame:
    """England's rate and the spread of upper-tier LA rates, per year and measure."""
    if dfe is None or dfe.empty:
        return pd.DataFrame(columns=list(REFERENCE_COLUMNS))
    rows = []
    code = dfe["la_code"].astype(str)
    is_eng = (code == ENGLAND_CODE) | (dfe["la_name"].astype(str).str.lower() == "england")
    las = dfe[code.str.match(UPPER_TIER) & dfe["rate_per_10000"].notna()]
    for (year, measure), group in las.groupby(["year", "measure"]):
        eng = dfe[is_eng & (dfe["year"] == year) & (dfe["measure"] == measure)]
        rate = float(eng["rate_per_10000"].iloc[0]) if len(eng) else np.nan
        if np.isnan(rate) and len(eng) and eng["population"].iloc[0] > 0:
            rate = 1e4 * float(eng["number"].iloc[0]) / float(eng["population"].iloc[0])
        values = group["rate_per_10000"].to_numpy(float)
        q = np.quantile(values, [0, 0.25, 0.5, 0.75, 1])
        rows.append(
            {
                "year": int(year),
                "measure": measure,
                "england_rate": rate,
                "la_min": q[0],
                "la_p25": q[1],
                "la_median": q[2],
                "la_p75": q[3],
                "la_max": q[4],
                "las_compared": int(len(values)),
            }  # fmt: skip
        )
    return pd.DataFrame(rows, columns=list(REFERENCE_COLUMNS))


def dfe_la_rates(dfe: pd.DataFrame | None, la_codes: Iterable[str]) -> pd.DataFrame:
    """The published DfE rate of each given LA (those the tables hold), per year and measure."""
    if dfe is None or dfe.empty:
        return pd.DataFrame(columns=list(DFE_RATE_COLUMNS))
    codes = set(la_codes)
    d = dfe[dfe["la_code"].isin(codes) & dfe["rate_per_10000"].notna()]
    out = d.rename(columns={"rate_per_10000": "dfe_rate"})[list(DFE_RATE_COLUMNS)]
    out = out.assign(dfe_rate=out["dfe_rate"].round(1))
    return out.drop_duplicates(["year", "la_code", "measure"]).reset_index(drop=True)


def profile_reference_tables(
    settings: Any, reference: Any, la_codes: Iterable[str]
) -> dict[str, pd.DataFrame]:
    """Both tables, ready for the results store (empty frames when no DfE tables are found)."""
    dfe = load_dfe(settings, reference)
    return {
        "england_reference": england_reference(dfe),
        "dfe_la_rates": dfe_la_rates(dfe, la_codes),
    }


def ingest_quality(conservation: pd.DataFrame) -> pd.DataFrame:
    """Rows read and the share rejected by validation, per LA and year (no counts of children).

    Parameters
    ----------
    conservation : pandas.DataFrame
        The ingest's conservation table (``year, la_code, rows_in, rejected`` per file).

    Returns
    -------
    pandas.DataFrame
        ``year, la_code, rows_read, rejected_pct`` (percentage to one decimal place).
    """
    cols = ["year", "la_code", "rows_read", "rejected_pct"]
    if conservation is None or conservation.empty or "la_code" not in conservation.columns:
        return pd.DataFrame(columns=cols)
    g = conservation.groupby(["year", "la_code"], as_index=False)[["rows_in", "rejected"]].sum()
    g["rejected_pct"] = (100 * g["rejected"] / g["rows_in"].where(g["rows_in"] > 0)).round(1)
    return g.rename(columns={"rows_in": "rows_read"})[cols]
