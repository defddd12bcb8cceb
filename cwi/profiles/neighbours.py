"""Statistical neighbours computed from public LA characteristics, when none are supplied.

DfE's statistical neighbours are chosen from many LA characteristics; a build without that list
uses the closest LAs of the region on the public characteristics the store holds (child
population-weighted IMD, share of children in the most deprived 10% of neighbourhoods, and the
log of the number of children), each standardised across the region's LAs. Profiles label them
as computed, never as DfE's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Neighbours per LA (DfE lists ten among 152 LAs; a region of 15 supports fewer).
N_NEIGHBOURS = 5


def characteristics(la_chars: pd.DataFrame, area: pd.DataFrame) -> pd.DataFrame:
    """One row per LA: the standardised features used to find neighbours.

    Parameters
    ----------
    la_chars : pandas.DataFrame
        ``q3_la_deprivation`` (``la_code``, ``imd_score_mean`` or ``imd_rank_mean``,
        ``share_children_decile1``); may be empty.
    area : pandas.DataFrame
        ``area_rates`` of one year (``area_type``, ``area_code``, ``population``).

    Returns
    -------
    pandas.DataFrame
        Indexed by LA code, one column per usable feature, each with mean 0 and SD 1.
    """
    las = area[area["area_type"] == "la"].drop_duplicates("area_code").set_index("area_code")
    feats = pd.DataFrame(index=las.index)
    feats["log_children"] = np.log(las["population"].astype(float).clip(lower=1))
    if not la_chars.empty and "la_code" in la_chars.columns:
        c = la_chars.drop_duplicates("la_code").set_index("la_code")
        score = (
            "imd_score_mean"
            if c.get("imd_score_mean", pd.Series(dtype=float)).notna().any()
            else "imd_rank_mean"
        )
        for col in (score, "share_children_decile1"):
            if col in c.columns and c[col].notna().any():
                feats[col] = c[col].reindex(feats.index).astype(float)
    feats = feats.dropna(axis=1, how="any")
    sd = feats.std(ddof=0).replace(0, 1.0)
    return (feats - feats.mean()) / sd


def computed_neighbours(
    la_chars: pd.DataFrame, area: pd.DataFrame, k: int = N_NEIGHBOURS
) -> dict[str, list[str]]:
    """Each LA's ``k`` nearest LAs of the region (Euclidean distance on standardised features).

    Ties are broken by LA code, so the result does not depend on row order.
    """
    feats = characteristics(la_chars, area)
    if len(feats) < 2 or feats.shape[1] == 0:
        return {}
    codes = sorted(feats.index)
    x = feats.loc[codes].to_numpy(float)
    dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
    out = {}
    for i, code in enumerate(codes):
        order = sorted(
            (d, c) for j, (d, c) in enumerate(zip(dist[i], codes, strict=True)) if j != i
        )
        out[code] = [c for _d, c in order[: min(k, len(codes) - 1)]]
    return out
