"""Shorthand symbols, cell formatting, the rule in words and the unsafe-output stamp.

Everything a renderer needs to show a protected table: the Analysis Function symbols
(``[c]`` confidential, ``[z]`` not applicable, ``[x]`` not available, ``[low]``), one
formatter per cell, the disclosure rule in plain English, and the "NOT FOR PUBLICATION" stamp
that every output carries when the thresholds are below the documented minimum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cwi.config import THRESHOLD_MINIMUMS

__all__ = [
    "CONFIDENTIAL",
    "DOCUMENTED_MINIMUM",
    "NOTE",
    "NOT_FOR_PUBLICATION",
    "SYMBOLS",
    "below_documented_minimum",
    "format_cell",
    "publication_stamp",
    "rule_text",
]

NOTE = "note"
CONFIDENTIAL = "[c]"
SYMBOLS = ("[c]", "[z]", "[x]", "[low]")

#: The documented minimum thresholds for published outputs (README, methods chapter). Lower
#: values are accepted only with ``disclosure.unsafe_low_thresholds: true``, and then every
#: output is stamped :data:`NOT_FOR_PUBLICATION`. The leak scanner always uses these values,
#: never the user's setting.
DOCUMENTED_MINIMUM: dict[str, int] = {
    k: v
    for k, v in THRESHOLD_MINIMUMS.items()
    if k in ("la_total_min", "crosstab_min", "zero_safe_margin")
}

NOT_FOR_PUBLICATION = "NOT FOR PUBLICATION"


def below_documented_minimum(thresholds: Mapping[str, Any]) -> list[str]:
    """Names of the thresholds set below their documented minimum.

    Parameters
    ----------
    thresholds : mapping
        ``Settings.disclosure``.

    Returns
    -------
    list of str
        E.g. ``["crosstab_min"]``; empty when every threshold is at least its minimum.
    """
    low = []
    for key, minimum in DOCUMENTED_MINIMUM.items():
        value = thresholds.get(key, minimum)
        try:
            ok = int(value) >= minimum
        except (TypeError, ValueError):
            ok = False
        if not ok:
            low.append(key)
    return low


def publication_stamp(thresholds: Mapping[str, Any]) -> str | None:
    """The stamp every output must carry, or ``None`` for a publishable build.

    Parameters
    ----------
    thresholds : mapping
        ``Settings.disclosure``; ``unsafe_low_thresholds`` must be true for any threshold to be
        below :data:`DOCUMENTED_MINIMUM` (the settings validation refuses it otherwise).

    Returns
    -------
    str or None
        ``"NOT FOR PUBLICATION"`` with the reason when any threshold is below its documented
        minimum, else ``None``.
    """
    low = below_documented_minimum(thresholds)
    if not low:
        return None
    named = ", ".join(f"{k} = {thresholds.get(k)}" for k in low)
    return (
        f"{NOT_FOR_PUBLICATION}: disclosure thresholds below the documented minimum ({named}); "
        "small counts may be shown."
    )


def format_cell(value: Any, note: Any = "", decimals: int = 0) -> str:
    """Format one published value for a table cell.

    Parameters
    ----------
    value : number or None
        The protected value (NaN when suppressed or not available).
    note : str
        The row's ``note`` (e.g. ``"[c]"``).
    decimals : int
        Decimal places for numbers; thousands are separated by commas.

    Returns
    -------
    str
        ``"[c]"`` (or the row's other symbol, default ``"[x]"``) for a missing value,
        otherwise the formatted number.
    """
    missing = value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
    if missing:
        tokens = str(note).split() if isinstance(note, str) else []
        for sym in SYMBOLS:
            if sym in tokens:
                return sym
        return "[x]"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{float(value):,.{decimals}f}"
    return str(value)


def _range(low: int, high: int) -> str:
    return f"{low}" if low == high else f"{low} to {high}"


def rule_text(thresholds: Mapping[str, int]) -> str:
    """State the disclosure rule in plain English, for every output's notes.

    Parameters
    ----------
    thresholds : mapping
        ``Settings.disclosure``.

    Returns
    -------
    str
        One paragraph (starting with the stamp when the thresholds are below the minimum).
    """
    la = int(thresholds["la_total_min"])
    ct = int(thresholds["crosstab_min"])
    zero = int(thresholds["zero_safe_margin"])
    parts = []
    stamp = publication_stamp(thresholds)
    if stamp:
        parts.append(stamp)
    if la > 1 or ct > 1:
        la_part = (
            f"counts of {_range(1, la - 1)} children for a local authority" if la > 1 else None
        )
        ct_part = (
            f"counts of {_range(1, ct - 1)} in tables below local-authority level (for "
            "example by deprivation decile)"
            if ct > 1
            else None
        )
        named = ", and ".join(p for p in (la_part, ct_part) if p)
        parts.append(f"To protect children's confidentiality, {named}, are shown as [c].")
    else:
        parts.append("No counts are suppressed.")
    if zero > 1:
        parts.append(
            f"A zero is also shown as [c] where its row or column totals fewer than {zero} "
            "children."
        )
    parts.append(
        "Other cells, and the rates and percentages that go with them, are shown as [c] where "
        "needed so that no hidden count can be worked out from any combination of the "
        "published tables."
    )
    parts.append("[z] means not applicable and [x] means not available.")
    return " ".join(parts)
