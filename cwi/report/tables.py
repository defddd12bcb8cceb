"""Every report table through one renderer (great_tables), the same HTML for the web and the PDF.

A table is a published (disclosure-controlled) frame plus a list of :class:`Col` saying how each
column is read: readable headers with units, integers as integers, shares as percentages,
``p < 0.001``, Analysis Function shorthand (``[c]``, ``[x]``, ``[z]``) for hidden or missing
cells, a year column wherever years mix. A table longer than ``max_rows`` is never cut silently:
the fragment says "Showing N of M rows" and names the download holding all of them.

The fragment is a raw HTML block (```` ```{=html} ````), which pandoc and Quarto both pass
through unchanged, so the two render paths show the same table.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from great_tables import GT

from cwi.disclosure import SYMBOLS

__all__ = ["Col", "format_value", "table_fragment"]

#: Wider than this many columns, the PDF puts the table on a landscape page.
WIDE_COLUMNS = 7


@dataclass(frozen=True)
class Col:
    """How one column of a table is shown.

    Parameters
    ----------
    key : str
        Column of the frame (for ``kind="ci"``: the lower limit; ``upper`` names the upper).
    label : str
        Header, with its unit where it has one.
    kind : str
        ``text``, ``int``, ``dec1``, ``dec2``, ``dec3``, ``pct`` (share 0-1 shown as %),
        ``pct1`` (one decimal), ``p`` (p-value) or ``ci`` (``lower to upper``).
    upper : str
        For ``kind="ci"``: the upper-limit column.
    decimals : int
        Decimals of a ``ci`` column.
    """

    key: str
    label: str
    kind: str = "text"
    upper: str = ""
    decimals: int = 2


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _symbol(note: object) -> str:
    tokens = str(note).split() if isinstance(note, str) else []
    for sym in SYMBOLS:
        if sym in tokens:
            return sym
    return "[x]"


def format_value(value: object, kind: str, note: object = "") -> str:
    """One cell as text; a missing value becomes its row's shorthand (``[x]`` if none)."""
    if kind == "text":
        return "" if _missing(value) else str(value)
    if _missing(value):
        return _symbol(note)
    v = float(value)  # type: ignore[arg-type]
    if kind == "int":
        return f"{round(v):,}"
    if kind in ("dec1", "dec2", "dec3"):
        return f"{v:,.{int(kind[-1])}f}"
    if kind == "pct":
        return f"{100 * v:.0f}%"
    if kind == "pct1":
        return f"{100 * v:.1f}%"
    if kind == "p":
        return "< 0.001" if v < 0.001 else f"{v:.3f}"
    raise ValueError(f"unknown column kind {kind!r}")


def _cells(frame: pd.DataFrame, cols: Sequence[Col]) -> pd.DataFrame:
    notes = frame["note"] if "note" in frame.columns else pd.Series("", index=frame.index)
    out = {}
    for i, c in enumerate(cols):
        if c.kind == "ci":
            out[f"c{i}"] = [
                (
                    _symbol(n)
                    if _missing(lo) or _missing(hi)
                    else f"{float(lo):,.{c.decimals}f} to {float(hi):,.{c.decimals}f}"
                )
                for lo, hi, n in zip(frame[c.key], frame[c.upper], notes, strict=True)
            ]
        else:
            out[f"c{i}"] = [
                format_value(v, c.kind, n) for v, n in zip(frame[c.key], notes, strict=True)
            ]
    return pd.DataFrame(out, columns=[f"c{i}" for i in range(len(cols))])


def table_fragment(
    frame: pd.DataFrame,
    cols: Sequence[Col],
    *,
    name: str,
    title: str,
    subtitle: str = "",
    source: str = "",
    notes: Sequence[str] = (),
    max_rows: int | None = None,
    download: str = "",
) -> str:
    """Render a published table as a markdown fragment holding its HTML.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows to show, in order (already disclosure-controlled).
    cols : sequence of Col
        Columns to show and how. A ``year`` column is added in front when the rows span more
        than one year; when they hold one year, the subtitle names it instead.
    name : str
        Stable id of the table (used for the HTML id, so builds are reproducible).
    title, subtitle, source : str
        Finding title, what / where / when, and source line.
    notes : sequence of str
        Footnotes (e.g. the meaning of shorthand used in the table).
    max_rows : int, optional
        Show at most this many rows; the fragment then says how many it shows and where the
        rest are (``download``).
    download : str
        File name of the full table in the downloads.

    Returns
    -------
    str
        Markdown: a raw HTML block, followed by a "Showing N of M rows" line when cut.
    """
    frame = frame.reset_index(drop=True)
    cols = list(cols)
    if "year" in frame.columns and frame["year"].nunique() > 1:
        if all(c.key != "year" for c in cols):
            cols.insert(0, Col("year", "Year (31 March)", "text"))
        frame = frame.assign(year=frame["year"].astype("Int64").astype(str))
    elif "year" in frame.columns and len(frame):
        year = int(frame["year"].iloc[0])
        cols = [c for c in cols if c.key != "year"]
        if str(year) not in subtitle:
            subtitle = f"{subtitle}, 31 March {year}" if subtitle else f"31 March {year}"
    total = len(frame)
    shown = frame if max_rows is None else frame.head(max_rows)
    cells = _cells(shown, cols)
    numeric = [f"c{i}" for i, c in enumerate(cols) if c.kind != "text"]
    table_id = "t" + hashlib.sha1(name.encode()).hexdigest()[:10]
    gt = (
        GT(cells, id=table_id)
        .tab_header(title=title, subtitle=subtitle or None)
        .cols_label(**{f"c{i}": c.label for i, c in enumerate(cols)})
    )
    if numeric:
        gt = gt.cols_align("right", columns=numeric)
    text_cols = [f"c{i}" for i, c in enumerate(cols) if c.kind == "text"]
    if text_cols:
        gt = gt.cols_align("left", columns=text_cols)
    used = sorted({s for s in SYMBOLS for v in cells.to_numpy().ravel() if s in str(v)})
    symbol_words = {
        "[c]": "[c] hidden to protect confidentiality",
        "[x]": "[x] not available",
        "[z]": "[z] not applicable",
        "[u]": "[u] low reliability",
    }
    for line in [*notes, *(symbol_words.get(s, s) for s in used)]:
        gt = gt.tab_source_note(line)
    if source:
        gt = gt.tab_source_note(f"Source: {source}")
    gt = gt.tab_options(
        table_font_size="0.85em",
        heading_title_font_size="1.05em",
        heading_subtitle_font_size="0.9em",
        heading_align="left",
        table_width="100%",
        column_labels_font_weight="bold",
        source_notes_font_size="0.8em",
    )
    html = gt.as_raw_html(inline_css=False, make_page=False)
    wide = " cwi-wide" if len(cols) > WIDE_COLUMNS else ""
    out = f'```{{=html}}\n<div class="cwi-table{wide}" data-table="{name}">\n{html}\n</div>\n```\n'
    if len(shown) < total:
        where = f" All {total:,} rows are in the download {download}." if download else ""
        out += f"\nShowing {len(shown):,} of {total:,} rows.{where}\n"
    return out
