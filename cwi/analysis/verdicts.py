"""Plain-English verdicts per research question, generated from the estimates.

Each verdict is chosen by the direction of the interval, never by hand: a ratio whose interval
lies wholly above 1 "rises", wholly below 1 "falls", otherwise "no clear difference".
"""

from __future__ import annotations

import math

import pandas as pd

from cwi.analysis.cells import REGION_CODE
from cwi.disclosure.derived import crude_ratio
from cwi.schemas import MEASURE_LABELS, MEASURES

__all__ = ["direction", "verdicts"]


def direction(lower: float, upper: float, null: float = 1.0) -> str:
    """``"up"`` if the interval lies above ``null``, ``"down"`` if below, else ``"unclear"``."""
    if pd.notna(lower) and lower > null:
        return "up"
    if pd.notna(upper) and upper < null:
        return "down"
    return "unclear"


def _fmt(x: float, nd: int = 2) -> str:
    return f"{x:.{nd}f}"


def _ci(r: pd.Series, nd: int = 2) -> str:
    return f"{_fmt(r['estimate'], nd)} (95% CI {_fmt(r['lower'], nd)} to {_fmt(r['upper'], nd)})"


def _shown(r: pd.Series) -> bool:
    """True when the estimate a sentence quotes is published (not hidden as ``[c]``)."""
    return all(pd.notna(r.get(k)) for k in ("estimate", "lower", "upper"))


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
        if sel.empty:
            continue
        r = sel.iloc[0]
        if not _shown(r):
            continue
        d = direction(r["lower"], r["upper"])
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
        if not math.isnan(ratio):
            extra = (f" Children in the most deprived tenth of neighbourhoods were "
                     f"{_fmt(ratio, 1)} times as likely to be {label} as children "
                     f"in the least deprived tenth.")  # fmt: skip
        text = {
            "up": f"Rates of {label} rise with neighbourhood deprivation: each step of one "
                  f"decile towards the most deprived multiplies the rate by {_ci(r)}.",
            "down": f"Rates of {label} fall as neighbourhood deprivation rises "
                    f"(rate ratio per decile step {_ci(r)}).",
            "unclear": f"The data show no clear deprivation gradient in {label} "
                       f"(rate ratio per decile step {_ci(r)}).",
        }[d]  # fmt: skip
        rows.append({"question": "Q1", "measure": m, "direction": d, "estimate": r["estimate"],
                     "lower": r["lower"], "upper": r["upper"], "verdict": text + extra,
                     "method": r["method"]})  # fmt: skip
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
            word = "higher" if d == "up" else "lower"
            # The unadjusted ratio is crude: quoted only where its counts are published.
            before = (
                f"; {_fmt(r['unadjusted'])} before adjustment"
                if pd.notna(r.get("unadjusted"))
                else ""
            )
            parts.append(f"{r['ethnic_group']} children {word} ({_ci(r)}{before})")
        text = (
            f"After allowing for neighbourhood deprivation, rates of {MEASURE_LABELS[m]} differ "
            f"from White children's for: " + "; ".join(parts) + "."
            if parts
            else f"After allowing for deprivation, no ethnic group's rate of {MEASURE_LABELS[m]} "
            "clearly differs from White children's."
        )
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
        if sel.empty:
            continue
        r = sel.iloc[0]
        if not _shown(r):
            continue
        d = direction(r["lower"], r["upper"])
        text = {
            "down": f"At the same level of neighbourhood deprivation, children in the most "
                    f"deprived third of LAs were less likely to be {MEASURE_LABELS[m]} than those "
                    f"in the least deprived third (rate ratio {_ci(r)}): the inverse "
                    f"intervention pattern.",
            "up": f"At the same level of neighbourhood deprivation, children in the most deprived "
                  f"third of LAs were more likely to be {MEASURE_LABELS[m]} (rate ratio {_ci(r)}): "
                  f"no sign of an inverse intervention pattern.",
            "unclear": f"At the same level of neighbourhood deprivation, rates of "
                       f"{MEASURE_LABELS[m]} did not clearly differ between the most and least "
                       f"deprived thirds of LAs (rate ratio {_ci(r)}).",
        }[d]  # fmt: skip
        rows.append({"question": "Q3", "measure": m, "direction": d, "estimate": r["estimate"],
                     "lower": r["lower"], "upper": r["upper"], "verdict": text,
                     "method": r["method"]})  # fmt: skip
    diff = tables.get("q4_difference", pd.DataFrame())
    if not diff.empty:
        for pair in ("CLA vs CPP", "CLA vs CIN"):
            sel = diff[
                diff["comparison"].str.startswith(pair)
                & diff["method"].str.startswith("Bootstrap")
            ]
            if sel.empty:
                continue
            r = sel.iloc[0]
            if not _shown(r):
                continue
            d = direction(r["lower"], r["upper"])
            a, b = pair.split(" vs ")
            text = {
                "up": f"The deprivation gradient is steeper for {MEASURE_LABELS[a]} than for "
                      f"{MEASURE_LABELS[b]} (ratio of per-step rate ratios {_ci(r, 3)}).",
                "down": f"The deprivation gradient is shallower for {MEASURE_LABELS[a]} than for "
                        f"{MEASURE_LABELS[b]} (ratio of per-step rate ratios {_ci(r, 3)}).",
                "unclear": f"The deprivation gradients of {MEASURE_LABELS[a]} and "
                           f"{MEASURE_LABELS[b]} do not clearly differ (ratio {_ci(r, 3)}).",
            }[d]  # fmt: skip
            rows.append({"question": "Q4", "measure": pair, "direction": d,
                         "estimate": r["estimate"], "lower": r["lower"], "upper": r["upper"],
                         "verdict": text, "method": r["method"]})  # fmt: skip
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
