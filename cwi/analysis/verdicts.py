"""The verdicts table: one plain-English verdict per question and measure, from the estimates.

The words come from :mod:`cwi.report.sentences` (the report's one home of generated sentences,
each tested in every direction); this module only picks the estimate each verdict rests on and
keeps it out where it is hidden. Direction: ``up`` / ``down`` / ``unclear`` by the interval.
"""

from __future__ import annotations

import math

import pandas as pd

from cwi.analysis.cells import REGION_CODE
from cwi.disclosure.derived import crude_ratio
from cwi.report import sentences as words
from cwi.schemas import MEASURE_LABELS, MEASURES

__all__ = ["direction", "verdicts"]


def direction(lower: float, upper: float, null: float = 1.0) -> str:
    """``"up"`` if the interval lies above ``null``, ``"down"`` if below, else ``"unclear"``."""
    if pd.notna(lower) and lower > null:
        return "up"
    if pd.notna(upper) and upper < null:
        return "down"
    return "unclear"


def _shown(r: pd.Series) -> bool:
    """True when the estimate a sentence quotes is published (not hidden as ``[c]``)."""
    return all(pd.notna(r.get(k)) for k in ("estimate", "lower", "upper"))


def _first_shown(sel: pd.DataFrame) -> tuple[pd.Series, str] | None:
    """The first row of ``sel`` and its direction; ``None`` if there is none or it is hidden."""
    if sel.empty:
        return None
    r = sel.iloc[0]
    if not _shown(r):
        return None
    return r, direction(r["lower"], r["upper"])


def _row(question: str, measure: str, r: pd.Series, d: str, text: str) -> dict:
    """One verdict row quoting the estimate and interval of ``r``."""
    return {"question": question, "measure": measure, "direction": d, "estimate": r["estimate"],
            "lower": r["lower"], "upper": r["upper"], "verdict": text,
            "method": r["method"]}  # fmt: skip


def verdicts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One verdict per question and measure from the tables of :func:`cwi.analysis.run_all`.

    Parameters
    ----------
    tables : dict
        Needs ``q1_gradient``, ``q1_rate_ratio``, ``q2_ethnic``, ``q3_inverse_intervention``,
        ``q3_multilevel``, ``q4_difference`` (missing tables are skipped).

    Returns
    -------
    pandas.DataFrame
        ``question, measure, direction, estimate, lower, upper, verdict, method`` (the method
        of the estimate the verdict rests on).
    """
    rows = []
    g = tables.get("q1_gradient", pd.DataFrame())
    for m in MEASURES:
        sel = (
            g[
                (g.get("area_code") == REGION_CODE)
                & (g.get("model") == "within_la")
                & (g.get("measure") == m)
            ]
            if not g.empty
            else g
        )
        if (first := _first_shown(sel)) is None:
            continue
        r, d = first
        label = MEASURE_LABELS[m]
        extra = ""
        # A crude ratio of two published rates; hidden (NaN) when either decile count is.
        deciles = tables.get("q1_decile_rates", pd.DataFrame())
        where = {"area_code": REGION_CODE, "measure": m}
        if "year" in r.index and not deciles.empty:
            where["year"] = r["year"]
        ratio = (
            crude_ratio(deciles, {**where, "imd_decile": 1}, {**where, "imd_decile": 10})
            if not deciles.empty
            else math.nan
        )
        extra = " " + words.crude_contrast(label, ratio) if not math.isnan(ratio) else ""
        text = words.gradient(label, "within", r["estimate"], r["lower"], r["upper"])
        rows.append(_row("Q1", m, r, d, text + extra))
    eth = tables.get("q2_ethnic", pd.DataFrame())
    for m in MEASURES:
        e = eth[eth["measure"] == m] if not eth.empty else eth
        if e.empty:
            continue
        parts = []
        for _, r in e.iterrows():
            if not _shown(r):
                continue
            d = direction(r["lower"], r["upper"])
            if d == "unclear":
                continue
            # The unadjusted ratio is crude: quoted only where its counts are published.
            parts.append(
                words.ethnic_paradox(
                    str(r["ethnic_group"]), MEASURE_LABELS[m], r.get("unadjusted", math.nan),
                    r["estimate"], r["lower"], r["upper"],
                )
            )  # fmt: skip
        text = words.ethnic_summary(MEASURE_LABELS[m], parts)
        rows.append({"question": "Q2", "measure": m, "direction": "up" if parts else "unclear",
                     "estimate": float("nan"), "lower": float("nan"), "upper": float("nan"),
                     "verdict": text, "method": e["method"].iloc[0]})  # fmt: skip
    inv = tables.get("q3_inverse_intervention", pd.DataFrame())
    for m in MEASURES:
        sel = (
            inv[(inv["measure"] == m) & inv["term"].str.startswith("LA third")]
            if not inv.empty
            else inv
        )
        if (first := _first_shown(sel)) is None:
            continue
        r, d = first
        text = words.inverse_intervention(MEASURE_LABELS[m], r["estimate"], r["lower"], r["upper"])
        rows.append(_row("Q3", m, r, d, text))
    diff = tables.get("q4_difference", pd.DataFrame())
    if not diff.empty:
        for pair in ("CLA vs CPP", "CLA vs CIN"):
            sel = diff[
                diff["comparison"].str.startswith(pair)
                & diff["method"].str.startswith("Bootstrap")
            ]
            if (first := _first_shown(sel)) is None:
                continue
            r, d = first
            a, b = pair.split(" vs ")
            text = words.gradient_comparison(
                MEASURE_LABELS[a], MEASURE_LABELS[b], r["estimate"], r["lower"], r["upper"]
            )
            rows.append(_row("Q4", pair, r, d, text))
    return pd.DataFrame(
        rows,
        columns=[
            "question",
            "measure",
            "direction",
            "estimate",
            "lower",
            "upper",
            "verdict",
            "method",
        ],
    )
