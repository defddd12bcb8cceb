"""Summary tables of coded interviews: frequencies, LA groups, co-occurrence, quotes.

Frequencies count each interview once: where an interview was coded by several coders, only its
*primary* coder's segments are counted (the coder who coded most interviews overall; ties broken
alphabetically). The other coders' work feeds the agreement table only.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from cwi.interviews.redact import attribute, find_identifiers, protect_counts
from cwi.interviews.scheme import Scheme

LA_GROUPS = ("above expected", "as expected", "below expected", "not linked")


def primary_coding(segments: pd.DataFrame) -> pd.DataFrame:
    """Keep one coder per interview: the coder who coded most interviews (ties alphabetical)."""
    if segments.empty:
        return segments
    workload = segments.groupby("coder")["interview_id"].nunique()
    rank = {c: i for i, c in enumerate(sorted(workload.index, key=lambda c: (-workload[c], c)))}
    chosen = (
        segments[["interview_id", "coder"]]
        .drop_duplicates()
        .assign(rank=lambda d: d["coder"].map(rank))
        .sort_values(["interview_id", "rank"])
        .drop_duplicates("interview_id")
    )
    keep = segments.merge(chosen[["interview_id", "coder"]], on=["interview_id", "coder"])
    return keep.reset_index(drop=True)


def la_groups(sr: pd.DataFrame | None, measure: str = "CLA") -> pd.DataFrame:
    """Group LAs by their CLA rate against the deprivation-expected rate.

    Parameters
    ----------
    sr : pandas.DataFrame or None
        ``la_code``, ``sr`` (standardised ratio observed / expected), ``lower``, ``upper``
        (confidence limits). A ``measure`` column, if present, is filtered to ``measure``; a
        ``year`` column, if present, to its latest year.
    measure : str
        Measure to keep when ``sr`` has a ``measure`` column.

    Returns
    -------
    pandas.DataFrame
        ``la_code``, ``sr``, ``lower``, ``upper``, ``la_group``: ``above expected`` when
        ``lower > 1``, ``below expected`` when ``upper < 1``, else ``as expected``.
    """
    cols = ["la_code", "sr", "lower", "upper", "la_group"]
    if sr is None or sr.empty:
        return pd.DataFrame(columns=cols)
    frame = sr.copy()
    if "measure" in frame.columns:
        frame = frame[frame["measure"].astype(str).str.upper() == measure.upper()]
    if "year" in frame.columns and len(frame):
        frame = frame[frame["year"] == frame["year"].max()]
    missing = [c for c in ("la_code", "sr", "lower", "upper") if c not in frame.columns]
    if missing:
        raise ValueError(
            f"The standardised-ratio frame lacks {', '.join(missing)}; pass la_code, sr, lower, upper."
        )
    frame = frame[["la_code", "sr", "lower", "upper"]].drop_duplicates("la_code")
    frame["la_group"] = np.select(
        [frame["lower"] > 1, frame["upper"] < 1],
        ["above expected", "below expected"],
        "as expected",
    )
    return frame[cols].reset_index(drop=True)


def attach_la_group(
    segments: pd.DataFrame, la_key: pd.DataFrame | None, groups: pd.DataFrame
) -> pd.DataFrame:
    """Add ``la_group`` to segments through the pseudonym -> LA code key.

    Parameters
    ----------
    segments : pandas.DataFrame
        Segments with ``la`` (pseudonym).
    la_key : pandas.DataFrame or None
        ``la`` (pseudonym) and ``la_code``; kept private, never published.
    groups : pandas.DataFrame
        Output of :func:`la_groups`.

    Returns
    -------
    pandas.DataFrame
        ``segments`` plus ``la_group`` (``not linked`` when no key or no ratio).
    """
    out = segments.copy()
    if la_key is None or la_key.empty or groups.empty:
        out["la_group"] = "not linked"
        return out
    key = la_key.drop_duplicates("la").set_index("la")["la_code"]
    grp = groups.set_index("la_code")["la_group"]
    out["la_group"] = out["la"].map(key).map(grp).fillna("not linked")
    return out


def _counts(seg: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return (
        seg.groupby(by, observed=True)
        .agg(
            segments=("code", "size"),
            interviews=("interview_id", "nunique"),
            las=("la", "nunique"),
        )
        .reset_index()
    )


def frequency_by_code(seg: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Segments, interviews and LAs per active code (zeros included), in scheme order."""
    base = scheme.active_codes[["theme", "code", "label"]].reset_index(drop=True)
    out = base.merge(_counts(seg, ["code"]), on="code", how="left")
    for col in ("segments", "interviews", "las"):
        out[col] = out[col].fillna(0).astype(int)
    return out


def frequency_by_theme(seg: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Segments, interviews and LAs per theme, in scheme order."""
    seg = seg.assign(
        theme=seg["code"].map(dict(zip(scheme.codes["code"], scheme.codes["theme"], strict=True)))
    )
    base = scheme.themes[["theme"]]
    out = base.merge(_counts(seg, ["theme"]), on="theme", how="left")
    for col in ("segments", "interviews", "las"):
        out[col] = out[col].fillna(0).astype(int)
    return out


def frequency_by(
    seg: pd.DataFrame, scheme: Scheme, column: str, levels: list[str], thresholds: dict[str, int]
) -> pd.DataFrame:
    """Theme x ``column`` counts, small counts shown as ``[c]``.

    Parameters
    ----------
    seg : pandas.DataFrame
        Primary-coder segments with ``code`` and ``column``.
    scheme : Scheme
        For theme order.
    column : str
        ``role`` or ``la_group``.
    levels : list of str
        Levels of ``column`` to show (all are listed, even when empty).
    thresholds : dict
        ``Settings.disclosure``: segment and interview counts from 1 to ``crosstab_min - 1``
        become ``[c]``, plus secondary suppression (see
        :func:`cwi.interviews.redact.protect_counts`).

    Returns
    -------
    pandas.DataFrame
        ``theme``, ``column``, ``segments``, ``interviews``, ``las`` (LAs are not suppressed:
        they are not people).
    """
    seg = seg.assign(
        theme=seg["code"].map(dict(zip(scheme.codes["code"], scheme.codes["theme"], strict=True)))
    )
    grid = pd.MultiIndex.from_product([scheme.themes["theme"], levels], names=["theme", column])
    counts = _counts(seg, ["theme", column]).set_index(["theme", column])
    out = counts.reindex(grid, fill_value=0).reset_index()
    return protect_counts(out, ("theme", column), column, ["segments", "interviews"], thresholds)


def cooccurrence(unit_rows: pd.DataFrame, scheme: Scheme) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Co-occurrence of codes and of themes in the same coding unit (primary coding).

    Parameters
    ----------
    unit_rows : pandas.DataFrame
        Primary-coder segments exploded to units (:func:`cwi.interviews.agreement.assign_units`).
    scheme : Scheme
        For theme labels and order.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Code pairs (``code_a``, ``code_b``, ``units``, ``interviews``; ``code_a < code_b``,
        sorted by ``units`` descending) and the theme x theme matrix of units (diagonal =
        units coded with that theme).
    """
    theme_of = dict(zip(scheme.codes["code"], scheme.codes["theme"], strict=True))
    units = unit_rows.groupby(["interview_id", "unit"])["code"].agg(lambda s: sorted(set(s)))
    pairs: dict[tuple[str, str], list[str]] = {}
    themes = list(scheme.themes["theme"])
    mat = pd.DataFrame(0, index=themes, columns=themes)
    for (iid, _unit), codes in units.items():
        for a, b in itertools.combinations(codes, 2):
            pairs.setdefault((a, b), []).append(iid)
        ts = sorted({theme_of[c] for c in codes if c in theme_of})
        for t in ts:
            mat.loc[t, t] += 1
        for a, b in itertools.combinations(ts, 2):
            mat.loc[a, b] += 1
            mat.loc[b, a] += 1
    code_pairs = pd.DataFrame(
        [
            {"code_a": a, "code_b": b, "units": len(v), "interviews": len(set(v))}
            for (a, b), v in pairs.items()
        ],
        columns=["code_a", "code_b", "units", "interviews"],
    )
    code_pairs = code_pairs.sort_values(
        ["units", "code_a", "code_b"], ascending=[False, True, True]
    )
    mat.index.name = "theme"
    return code_pairs.reset_index(drop=True), mat.reset_index()


def select_quotes(
    seg: pd.DataFrame,
    scheme: Scheme,
    names: list[str] | None = None,
    per_theme: int = 1,
    min_chars: int = 60,
    max_chars: int = 320,
) -> tuple[pd.DataFrame, int]:
    """Pick illustrative quotes per theme that pass the redaction check.

    Parameters
    ----------
    seg : pandas.DataFrame
        Primary-coder segments with ``text``, ``role``, ``la``.
    scheme : Scheme
        For themes.
    names : list of str, optional
        Extra names for the redaction check.
    per_theme : int
        Quotes per theme.
    min_chars, max_chars : int
        Length window of a quote.

    Returns
    -------
    (pandas.DataFrame, int)
        Quotes (``theme``, ``code``, ``quote``, ``attribution`` by role and LA pseudonym only)
        and the number of coded segments (any length) that the redaction check flags; flagged
        segments are never quoted.
    """
    theme_of = dict(zip(scheme.codes["code"], scheme.codes["theme"], strict=True))
    rows = []
    cand = seg.dropna(subset=["text"]).assign(theme=lambda d: d["code"].map(theme_of))
    flagged = cand["text"].map(lambda t: bool(find_identifiers(t, names)))
    rejected = int(flagged.sum())
    cand = cand[~flagged]
    cand = cand[cand["text"].str.len().between(min_chars, max_chars)]
    cand = cand.sort_values(["interview_id", "start", "code"], na_position="last")
    for theme in scheme.themes["theme"]:
        for rec in cand[cand["theme"] == theme].head(per_theme).itertuples():
            rows.append(
                {
                    "theme": theme,
                    "code": rec.code,
                    "quote": " ".join(str(rec.text).split()),
                    "attribution": attribute(rec.role, rec.la),
                }
            )
    return pd.DataFrame(rows, columns=["theme", "code", "quote", "attribution"]), rejected
