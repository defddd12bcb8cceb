"""Numbers quoted in generated sentences: only published cells, and ratios of them.

A sentence such as "12.5 times as likely" beside a published decile-1 rate and the decile-10
child population gives back the decile-10 count, so a crude ratio that involves a hidden cell
is itself hidden. Sentence writers (``cwi.analysis.verdicts``, ``cwi.report``) take quoted
numbers from the *protected* tables through these helpers, and leave the clause out when they
return NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from cwi.disclosure.symbols import CONFIDENTIAL, NOTE

__all__ = ["crude_ratio", "published_value"]


def _row(table: pd.DataFrame, where: Mapping[str, Any]) -> pd.Series | None:
    if table is None or table.empty:
        return None
    mask = pd.Series(True, index=table.index)
    for col, val in where.items():
        if col not in table.columns:
            return None
        mask &= table[col] == val
    rows = table[mask]
    return rows.iloc[0] if len(rows) == 1 else None


def published_value(
    table: pd.DataFrame, where: Mapping[str, Any], value: str = "rate", count: str | None = "n"
) -> float:
    """One published number of a protected table, or NaN when it is hidden or absent.

    Parameters
    ----------
    table : pandas.DataFrame
        A protected table (output of :func:`cwi.disclosure.protect_all`).
    where : mapping
        Column values selecting exactly one row, e.g. ``{"area_code": "REGION",
        "measure": "CLA", "imd_decile": 10, "year": 2024}``.
    value : str
        The column quoted (e.g. ``"rate"``).
    count : str or None
        The row's count column: when it is hidden (or the row's note says ``[c]``), so is the
        value. ``None`` for tables without counts.

    Returns
    -------
    float
        The value, or NaN (no row, several rows, or hidden).
    """
    row = _row(table, where)
    if row is None or value not in row.index:
        return math.nan
    if count is not None and count in row.index and pd.isna(row[count]):
        return math.nan
    note = row.get(NOTE, "")
    if isinstance(note, str) and CONFIDENTIAL in note.split():
        return math.nan
    try:
        number = float(row[value])
    except (TypeError, ValueError):
        return math.nan
    return number


def crude_ratio(
    table: pd.DataFrame,
    numerator: Mapping[str, Any],
    denominator: Mapping[str, Any],
    value: str = "rate",
    count: str | None = "n",
) -> float:
    """Ratio of two published values of one protected table; NaN if either is hidden.

    Parameters
    ----------
    table : pandas.DataFrame
        A protected table.
    numerator, denominator : mapping
        Column values selecting one row each (see :func:`published_value`).
    value, count : str
        As for :func:`published_value`.

    Returns
    -------
    float
        ``value(numerator) / value(denominator)``; NaN when either is hidden, missing or the
        denominator is 0.

    Examples
    --------
    >>> rates = pd.DataFrame({"imd_decile": [1, 10], "n": [120.0, float("nan")],
    ...                       "rate": [300.0, float("nan")], "note": ["", "[c]"]})
    >>> crude_ratio(rates, {"imd_decile": 1}, {"imd_decile": 10})
    nan
    """
    a = published_value(table, numerator, value, count)
    b = published_value(table, denominator, value, count)
    if math.isnan(a) or math.isnan(b) or b == 0:
        return math.nan
    return a / b
