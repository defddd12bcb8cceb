"""Coding units and inter-coder agreement (Cohen's kappa, Krippendorff's alpha).

Units
    A transcript is cut into units at line breaks (one speaker turn per line). A coded segment
    covers every unit its ``[start, end)`` span overlaps. When a row has no positions but the
    transcript is known, its text is located in the transcript; when neither is possible the
    unit is the whitespace-normalised coded text itself (coders who highlight the same words
    agree on the unit).

Agreement per code
    For each interview coded by two or more coders, the units are those that any of its
    coders coded with any code. For each code and unit, each coder's value is 1 (applied the
    code) or 0. Cohen's kappa is computed on the units of interviews with exactly two coders
    (first and second coder in alphabetical order as the two raters); Krippendorff's alpha
    (nominal) on the units of every multi-coded interview, whatever the number of coders.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

_WS = re.compile(r"\s+")


def cohen_kappa(rater_a: Sequence[object], rater_b: Sequence[object]) -> float:
    """Cohen's kappa of two raters' nominal ratings of the same units.

    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed proportion of agreement and
    ``p_e = sum_k p_a(k) p_b(k)`` the agreement expected from the raters' marginals (Cohen 1960);
    equal to ``statsmodels.stats.inter_rater.cohens_kappa`` on the same contingency table.

    Parameters
    ----------
    rater_a, rater_b : sequence
        Ratings, one per unit, same length, no missing values.

    Returns
    -------
    float
        Kappa, or NaN when there are no units or ``p_e == 1`` (both raters used one category).
    """
    a = np.asarray(rater_a, dtype=object)
    b = np.asarray(rater_b, dtype=object)
    if a.shape != b.shape:
        raise ValueError("Both raters must rate the same units (equal lengths).")
    if a.size == 0:
        return float("nan")
    cats = sorted(set(a.tolist()) | set(b.tolist()), key=str)
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    for x, y in zip(a, b, strict=True):
        table[index[x], index[y]] += 1
    n = table.sum()
    p_o = np.trace(table) / n
    p_e = float((table.sum(axis=1) / n) @ (table.sum(axis=0) / n))
    if np.isclose(p_e, 1.0):
        return float("nan")
    return float((p_o - p_e) / (1 - p_e))


def krippendorff_alpha_nominal(reliability_data: Sequence[Sequence[object]]) -> float:
    """Krippendorff's alpha for nominal data, any number of coders, missing values allowed.

    Implements Krippendorff (2011, "Computing Krippendorff's alpha-reliability") via the
    coincidence matrix: for each unit ``u`` with ``m_u >= 2`` values, every ordered pair of
    values from different coders adds ``1 / (m_u - 1)`` to ``o[c, k]``; with ``n_c`` the row
    sums and ``n`` the total, ``alpha = 1 - (n - 1) * sum_{c != k} o[c, k] /
    sum_{c != k} n_c n_k``.

    Parameters
    ----------
    reliability_data : sequence of sequences
        Rows are coders, columns are units (Krippendorff's layout); ``None`` or NaN = missing.

    Returns
    -------
    float
        Alpha, or NaN when fewer than two pairable values exist or all values are one category.
    """
    data = [list(r) for r in reliability_data]
    if not data:
        return float("nan")
    n_units = max(len(r) for r in data)

    def missing(v: object) -> bool:
        return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA

    cats: dict[object, int] = {}
    units: list[list[int]] = []
    for j in range(n_units):
        vals = [r[j] for r in data if j < len(r) and not missing(r[j])]
        if len(vals) < 2:
            continue
        units.append([cats.setdefault(v, len(cats)) for v in vals])
    if not units or len(cats) < 2:
        return float("nan")
    o = np.zeros((len(cats), len(cats)))
    for vals in units:
        m = len(vals)
        counts = np.bincount(vals, minlength=len(cats)).astype(float)
        # ordered pairs (i != j) of values within the unit, weighted 1 / (m - 1)
        o += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    disagree_obs = o.sum() - np.trace(o)
    disagree_exp = n_c.sum() ** 2 - (n_c**2).sum()
    if disagree_exp == 0:
        return float("nan")
    return float(1 - (n - 1) * disagree_obs / disagree_exp)


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            spans.append((pos, pos + len(line)))
        pos += len(line)
    return spans


def assign_units(
    segments: pd.DataFrame, transcripts: dict[str, str] | None = None
) -> pd.DataFrame:
    """Give every coded segment the unit(s) it covers.

    Parameters
    ----------
    segments : pandas.DataFrame
        Canonical segments (``interview_id``, ``start``, ``end``, ``text``, ...).
    transcripts : dict of str to str, optional
        Transcript text by interview id.

    Returns
    -------
    pandas.DataFrame
        ``segments`` exploded to one row per (segment, unit) with a text column ``unit``
        (``L<line index>`` for transcript lines, ``T:<normalised text>`` otherwise).
    """
    transcripts = transcripts or {}
    spans_cache: dict[str, list[tuple[int, int]]] = {}
    units: list[list[str]] = []
    for iid, start, end, text in zip(
        segments["interview_id"], segments["start"], segments["end"], segments["text"], strict=True
    ):
        transcript = transcripts.get(iid) if isinstance(iid, str) else None
        if transcript is not None and (pd.isna(start) or pd.isna(end)) and isinstance(text, str):
            found = transcript.find(text.strip())
            if found >= 0:
                start, end = found, found + len(text.strip())
        if transcript is not None and pd.notna(start) and pd.notna(end):
            spans = spans_cache.setdefault(iid, _line_spans(transcript))
            hit = [
                f"L{i}"
                for i, (a, b) in enumerate(spans)
                if a < max(int(end), int(start) + 1) and int(start) < b
            ]
            if hit:
                units.append(hit)
                continue
        norm = _WS.sub(" ", str(text)).strip().casefold() if isinstance(text, str) else ""
        units.append([f"T:{norm}" if norm else f"S:{start}-{end}"])
    out = segments.copy()
    out["unit"] = units
    out = out.explode("unit", ignore_index=True)
    out["unit"] = out["unit"].astype("string")
    return out


def presence_matrix(unit_rows: pd.DataFrame) -> pd.DataFrame:
    """Binary presence of each code per (interview, unit, coder) on multi-coded interviews.

    Parameters
    ----------
    unit_rows : pandas.DataFrame
        Output of :func:`assign_units` restricted to usable rows (``code`` known).

    Returns
    -------
    pandas.DataFrame
        Index (``interview_id``, ``unit``, ``coder``), one 0/1 column per code, plus column
        ``n_coders`` (coders of that interview). Only interviews with two or more coders.
    """
    coders = unit_rows.groupby("interview_id")["coder"].nunique()
    multi = coders[coders >= 2].index
    rows = unit_rows[unit_rows["interview_id"].isin(multi)]
    if rows.empty:
        return pd.DataFrame()
    present = (
        rows.assign(v=1)
        .pivot_table(
            index=["interview_id", "unit", "coder"], columns="code", values="v", aggfunc="max"
        )
        .fillna(0)
        .astype(int)
    )
    # every coder of an interview gives a value (0 or 1) on every unit anyone coded there
    full = []
    for iid, group in rows.groupby("interview_id"):
        idx = pd.MultiIndex.from_product(
            [[iid], sorted(group["unit"].unique()), sorted(group["coder"].unique())],
            names=["interview_id", "unit", "coder"],
        )
        full.append(idx)
    index = full[0].append(full[1:]) if len(full) > 1 else full[0]
    present = present.reindex(index, fill_value=0)
    present["n_coders"] = present.index.get_level_values("interview_id").map(coders).astype(int)
    return present


def agreement_table(unit_rows: pd.DataFrame, codes: Sequence[str]) -> pd.DataFrame:
    """Inter-coder agreement per code (and pooled over codes) on multi-coded interviews.

    Parameters
    ----------
    unit_rows : pandas.DataFrame
        Output of :func:`assign_units` on usable segments of all coders.
    codes : sequence of str
        Codes to report (in order); codes never used get zero counts and NaN statistics.

    Returns
    -------
    pandas.DataFrame
        Columns ``code``, ``interviews`` (multi-coded), ``units``, ``units_2coders``,
        ``units_3plus``, ``applied`` (unit-coder values equal to 1), ``pct_agreement`` (units
        where all coders agree, %), ``kappa`` (two-coder interviews) and ``alpha`` (all
        multi-coded interviews). The last row, ``code == "All codes"``, pools every
        code-unit decision.
    """
    cols = [
        "code",
        "interviews",
        "units",
        "units_2coders",
        "units_3plus",
        "applied",
        "pct_agreement",
        "kappa",
        "alpha",
    ]
    pm = presence_matrix(unit_rows)
    if pm.empty:
        out = pd.DataFrame({"code": [*codes, "All codes"]})
        for c in cols[1:]:
            out[c] = (
                0
                if c in ("interviews", "units", "units_2coders", "units_3plus", "applied")
                else np.nan
            )
        return out[cols]
    for code in codes:
        if code not in pm.columns:
            pm[code] = 0
    wide: dict[str, pd.DataFrame] = {
        code: pm[code].unstack("coder") for code in codes
    }  # (interview, unit) x coder, NaN where the coder did not code that interview
    n_coders = pm["n_coders"].groupby(level=["interview_id", "unit"]).first()
    two = n_coders[n_coders == 2].index
    records = []
    pooled_a, pooled_b, pooled_alpha = [], [], []
    for code in codes:
        w = wide[code]
        vals = [row[~np.isnan(row)] for row in w.to_numpy(dtype=float)]
        agree = np.mean([len(set(v)) == 1 for v in vals]) * 100 if vals else np.nan
        # two-coder units: the two non-missing values, in alphabetical coder order
        arr2 = w.loc[two].to_numpy(dtype=float)
        pair_vals = arr2[~np.isnan(arr2)].reshape(-1, 2) if len(arr2) else np.empty((0, 2))
        pairs_a, pairs_b = pair_vals[:, 0].tolist(), pair_vals[:, 1].tolist()
        kappa = cohen_kappa(pairs_a, pairs_b) if pairs_a else float("nan")
        alpha = krippendorff_alpha_nominal(w.to_numpy(dtype=float).T)
        pooled_a += pairs_a
        pooled_b += pairs_b
        pooled_alpha.append(w.to_numpy(dtype=float))
        records.append(
            {
                "code": code,
                "interviews": w.index.get_level_values("interview_id").nunique(),
                "units": len(w),
                "units_2coders": len(two),
                "units_3plus": int((n_coders >= 3).sum()),
                "applied": int(np.nansum(w.to_numpy(dtype=float))),
                "pct_agreement": agree,
                "kappa": kappa,
                "alpha": alpha,
            }
        )
    stacked = np.vstack(pooled_alpha) if pooled_alpha else np.empty((0, 0))
    all_vals = [row[~np.isnan(row)] for row in stacked]
    records.append(
        {
            "code": "All codes",
            "interviews": records[0]["interviews"] if records else 0,
            "units": len(n_coders),
            "units_2coders": len(two),
            "units_3plus": int((n_coders >= 3).sum()),
            "applied": int(np.nansum(stacked)) if stacked.size else 0,
            "pct_agreement": np.mean([len(set(v)) == 1 for v in all_vals]) * 100
            if all_vals
            else np.nan,
            "kappa": cohen_kappa(pooled_a, pooled_b) if pooled_a else float("nan"),
            "alpha": krippendorff_alpha_nominal(stacked.T) if stacked.size else float("nan"),
        }
    )
    return pd.DataFrame(records, columns=cols)
