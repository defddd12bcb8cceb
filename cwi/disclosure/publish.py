"""The suppression pass over every table of a build, on its way to the results store.

A table that carries counts must be declared with a spec in :mod:`cwi.disclosure.registry`
(the build fails otherwise, naming it). All count tables are protected together
(:func:`cwi.disclosure.engine.protect_family`) with the registry's cross-table margins, so a
cell hidden in one is hidden wherever it appears and cannot be worked out by adding or
subtracting tables. The recovery audit then runs over the published result. Tables of model
estimates without counts pass after the same forbidden-column check; estimates computed from
an area's decile counts are hidden with them; generated sentences are made from the
protected tables only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from cwi.disclosure.engine import FORBIDDEN_COLUMN, DisclosureError, protect_family
from cwi.disclosure.registry import MARGINS, REGION, REGISTRY, SPECS, STRUCTURAL_COLUMNS
from cwi.disclosure.symbols import DOCUMENTED_MINIMUM

#: Column names that hold counts of children (a table with one needs a spec).
COUNT_COLUMN = re.compile(
    r"^(n|n_(?!lsoa$|la$)\w+|count|cases|cases_total|number|observed|children|linked|disabled|recorded)$"
)

#: Tables kept out of the published store (internal diagnostics with file names or ids).
PRIVATE_TABLES = frozenset({"findings", "validation"})


def count_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of a table that hold counts of children (not LAs, LSOAs or years)."""
    return [
        c for c in frame.columns if COUNT_COLUMN.match(str(c)) and str(c) not in STRUCTURAL_COLUMNS
    ]


def linkage_for_publication(
    linkage: pd.DataFrame, thresholds: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The linkage table reduced to what the profiles state: the share of children linked.

    The share with the LA's published count gives back the number of children *not* linked;
    where that number is from 1 to ``la_total_min - 1`` the share is shown as ``[c]``.
    """
    la_min = int((thresholds or DOCUMENTED_MINIMUM)["la_total_min"])
    out = linkage[["year", "la_code", "measure", "linkage_rate"]].copy()
    out["linkage_rate"] = out["linkage_rate"].round(3)
    if {"children", "linked"} <= set(linkage.columns):
        unlinked = (linkage["children"] - linkage["linked"]).to_numpy()
        small = (unlinked > 0) & (unlinked < la_min)
        out.loc[small, "linkage_rate"] = float("nan")
        out["note"] = pd.Series(small, index=out.index).map({True: "[c]", False: ""})
    return out


def mask_derived(
    frame: pd.DataFrame, deciles: pd.DataFrame | None, drop: tuple[str, ...]
) -> pd.DataFrame:
    """Hide an area's derived estimates where any of its decile counts is hidden.

    Parameters
    ----------
    frame : pandas.DataFrame
        Estimates with ``year, area_code, measure`` (and ``estimate``, ``lower``, ``upper``).
    deciles : pandas.DataFrame or None
        The protected decile table; ``None`` hides every LA row (nothing to check against).
    drop : tuple of str
        Count columns removed before publication.

    Returns
    -------
    pandas.DataFrame
        The table without ``drop`` columns, hidden rows' numbers set to NaN with note ``[c]``.
    """
    out = frame.drop(columns=[c for c in drop if c in frame.columns]).copy()
    keys = ["year", "area_code", "measure"]
    if deciles is None:
        hidden = out["area_code"] != REGION
    else:
        bad = deciles[deciles["n"].isna()][keys].drop_duplicates().assign(_hide=True)
        hidden = out.merge(bad, on=keys, how="left")["_hide"].eq(True).to_numpy(bool)
    numeric = [c for c in out.columns if c not in keys and pd.api.types.is_float_dtype(out[c])]
    out.loc[hidden, numeric] = float("nan")
    note = out["note"] if "note" in out.columns else pd.Series("", index=out.index)
    out["note"] = note.where(~pd.Series(hidden, index=out.index), "[c]")
    return out


def _uniform(frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """Give the named columns one value on every row (no per-row hint of a hidden count)."""
    present = {c: v for c, v in columns.items() if c in frame.columns}
    return frame.assign(**present) if present else frame


def _region_count_shown(rates: pd.DataFrame | None, where: Mapping[str, Any]) -> bool:
    """True when exactly one region row matches ``where`` and its count is published."""
    if rates is None or rates.empty:
        return False
    sel = rates[rates["area_code"] == REGION]
    for col, val in where.items():
        if col not in sel.columns:
            return False
        sel = sel[sel[col] == val]
    return len(sel) == 1 and bool(sel["n"].notna().all())


def mask_ethnic_crude(ethnic: pd.DataFrame, rates: pd.DataFrame | None) -> pd.DataFrame:
    """Hide the unadjusted (crude) ethnic rate ratios that involve a hidden regional count.

    The crude ratio is group rate / White rate; with the child populations published, it gives
    back the group's count. It is shown only where both regional counts are published.
    """
    cols = [c for c in ("unadjusted", "unadjusted_lower", "unadjusted_upper") if c in ethnic]
    if not cols:
        return ethnic
    out = ethnic.copy()
    keep = [
        all(
            _region_count_shown(
                rates, {"year": r["year"], "measure": r["measure"], "ethnic_group": g}
            )
            for g in (r["ethnic_group"], r.get("reference", "White"))
        )
        for _, r in out.iterrows()
    ]
    out.loc[~pd.Series(keep, index=out.index), cols] = float("nan")
    return out


def mask_unadjusted_ratios(
    adjusted: pd.DataFrame, published: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Hide the unadjusted (crude) rate ratios by age band or sex that involve a hidden count.

    Rows with ``adjustment == "unadjusted"`` compare a group's regional rate with the reference
    group's; each is shown only where both regional counts are published in
    ``q2_rates_<dimension>``. Adjusted (model) ratios are kept.
    """
    need = {"adjustment", "dimension", "group", "reference", "measure", "year"}
    if not need <= set(adjusted.columns):
        return adjusted
    out = adjusted.copy()
    if "note" not in out.columns:
        out["note"] = ""
    numeric = [c for c in ("estimate", "lower", "upper", "p_value") if c in out.columns]
    for idx, r in out.iterrows():
        if r["adjustment"] != "unadjusted":
            continue
        rates = published.get(f"q2_rates_{r['dimension']}")
        ok = all(
            _region_count_shown(
                rates, {"year": r["year"], "measure": r["measure"], r["dimension"]: g}
            )
            for g in (r["group"], r["reference"])
        )
        if not ok:
            out.loc[idx, numeric] = float("nan")
            out.loc[idx, "note"] = "[c]"
    out["note"] = out["note"].fillna("")
    return out


def protect_all(raw: Mapping[str, pd.DataFrame], settings: Any) -> dict[str, pd.DataFrame]:
    """Apply disclosure control to every table before it reaches the results store.

    Parameters
    ----------
    raw : mapping of str to pandas.DataFrame
        Analysis output (table name -> tidy frame), plus ``linkage`` from ingest.
    settings : Settings
        Gives the thresholds (``settings.disclosure``).

    Returns
    -------
    dict of str to pandas.DataFrame
        Tables safe to publish. ``verdicts`` is regenerated from the protected tables.

    Raises
    ------
    DisclosureError
        If a table has below-LA columns, counts without a spec, or a hidden cell stays
        recoverable from the published tables together (the recovery audit).
    """
    from cwi.disclosure.audit import audit_published

    thresholds = settings.disclosure
    counted = {
        name: _uniform(frame, REGISTRY[name].uniform)
        for name, frame in raw.items()
        if name in SPECS and not frame.empty
    }
    specs = {n: SPECS[n] for n in counted}
    out = protect_family(counted, specs, thresholds, MARGINS, raw) if counted else {}
    if counted:
        report = audit_published(counted, out, thresholds, context=raw)
        logging.getLogger("cwi").info("disclosure recovery audit: %s", report.summary())
        report.raise_if_recoverable()
    for name, frame in raw.items():
        if name in counted or name in PRIVATE_TABLES or frame.columns.empty:
            continue  # (a table with no columns, e.g. no neighbour list given, is not published)
        entry = REGISTRY.get(name)
        if name in SPECS:  # an empty count table: nothing to protect
            out[name] = frame
            continue
        if name == "linkage":
            out[name] = linkage_for_publication(frame, thresholds)
            continue
        if entry is not None and entry.derived_from_deciles is not None:
            frame = mask_derived(frame, out.get("q1_decile_rates"), entry.derived_from_deciles)
        if name == "q2_ethnic":
            frame = mask_ethnic_crude(frame, out.get("q2_rates_ethnic_group"))
        if name == "q2_adjusted":
            frame = mask_unadjusted_ratios(frame, out)
        if entry is not None:
            frame = _uniform(frame, entry.uniform)
        forbidden = [c for c in frame.columns if FORBIDDEN_COLUMN.match(str(c))]
        if forbidden:
            raise DisclosureError(f"{name}: column(s) {forbidden} must never be published.")
        counts = count_columns(frame)
        if counts:
            raise DisclosureError(
                f"Table {name!r} holds counts ({counts}) but has no spec in "
                "cwi/disclosure/registry.py; declare it there so it goes through suppression."
            )
        out[name] = frame
    if "verdicts" in out:
        from cwi.analysis.verdicts import verdicts

        out["verdicts"] = verdicts(out)
    return out
