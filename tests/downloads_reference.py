"""The download writers as they were before the streaming rewrite: the reference for tests.

Cell by cell openpyxl and per-cell Python, kept verbatim (column kinds are shared) so that tests can check the faster
writers in :mod:`cwi.site.downloads` give the same CSV bytes and the same workbook cells.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

# How columns are classified is shared with the new writers (it was not rewritten); what is
# kept verbatim below is how values are computed and written.
from cwi.site.downloads import SHORTHAND, Column, _decimal, column_kinds  # noqa: F401


def publication_values(frame: pd.DataFrame) -> tuple[list[Column], list[list[Any]]]:
    """Cell values ready to write: ints, rounded floats, shorthand strings or text."""
    columns = column_kinds(frame)
    notes = frame["note"].fillna("").astype(str) if "note" in frame.columns else None
    rows = []
    for i, rec in enumerate(frame.itertuples(index=False, name=None)):
        symbol = None
        if notes is not None:
            found = SHORTHAND.search(notes.iloc[i])
            symbol = found.group(0) if found else None
        row: list[Any] = []
        for col, value in zip(columns, rec, strict=True):
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            if col.kind == "text":
                row.append("" if missing else str(value))
            elif missing:
                row.append(symbol or "[z]")
            elif col.kind == "int":
                row.append(int(round(float(value))))
            elif col.kind == "rate":
                row.append(round(float(value), 1))
            else:
                row.append(_decimal(float(value)))
        rows.append(row)
    return columns, rows


def _csv_cell(value: Any, kind: str) -> str:
    if isinstance(value, str):
        return value
    if kind == "rate":
        return f"{value:.1f}"
    return repr(value) if isinstance(value, float) else str(value)


def write_csv(frame: pd.DataFrame, path: Path) -> int:
    """Write one table as a publication CSV; return its number of rows."""
    import csv

    from cwi.io import atomic_open

    columns, rows = publication_values(frame)
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([c.name for c in columns])
        for row in rows:
            writer.writerow([_csv_cell(v, c.kind) for v, c in zip(row, columns, strict=True)])
    return len(rows)


_FORMATS = {"int": "0", "rate": "0.0", "decimal": "General", "text": "@"}


def write_workbook(
    tables: list[tuple[str, str, pd.DataFrame]],
    path: Path,
    title: str,
    notes: list[str],
    source: str,
) -> None:
    """Write the XLSX workbook: contents, notes, then one sheet per table.

    Parameters
    ----------
    tables : list of (name, title, frame)
        Tables with at least one row, in publication order.
    path : Path
        Output ``.xlsx``.
    title : str
        Workbook title (contents sheet, document properties).
    notes : list of str
        Notes shown on the notes sheet, numbered.
    source : str
        Source line shown above every table.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink
    from openpyxl.worksheet.table import Table, TableStyleInfo

    wb = Workbook()
    wb.properties.title = title
    wb.properties.creator = "CWI"
    contents = wb.active
    contents.title = "Contents"
    contents["A1"] = title
    contents["A1"].font = Font(bold=True, size=14)
    contents["A2"] = (
        f"This worksheet contains one table: the {len(tables)} tables of this workbook, with links."
    )
    contents.append(["Sheet", "Table title", "Rows"])
    for name, table_title, frame in tables:
        sheet = name[:31]
        contents.append([sheet, table_title, len(frame)])
        cell = contents.cell(row=contents.max_row, column=1)
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{sheet}'!A1")
        cell.style = "Hyperlink"
    _as_table(contents, 3, 3, len(tables), "contents_table", Table, TableStyleInfo)
    for letter, width in zip("ABC", (26, 80, 8), strict=True):
        contents.column_dimensions[letter].width = width

    sheet_notes = wb.create_sheet("Notes")
    sheet_notes["A1"] = "Notes"
    sheet_notes["A1"].font = Font(bold=True, size=14)
    sheet_notes["A2"] = "This worksheet contains one table of notes that apply to every table."
    sheet_notes.append(["Note number", "Note text"])
    for i, note in enumerate(notes, start=1):
        sheet_notes.append([f"[note {i}]", note])
    _as_table(sheet_notes, 3, 2, len(notes), "notes_table", Table, TableStyleInfo)
    sheet_notes.column_dimensions["A"].width = 14
    sheet_notes.column_dimensions["B"].width = 110

    for name, table_title, frame in tables:
        ws = wb.create_sheet(name[:31])
        ws["A1"] = table_title
        ws["A1"].font = Font(bold=True, size=14)
        ws["A2"] = (
            "This worksheet contains one table. Shorthand: [c] confidential (suppressed so no "
            "child can be identified), [z] not applicable. See the Notes sheet."
        )
        ws["A3"] = f"Source: {source}"
        columns, rows = publication_values(frame)
        ws.append([c.name for c in columns])
        for row in rows:
            ws.append(row)
        for j, col in enumerate(columns, start=1):
            fmt = _FORMATS[col.kind]
            for r in range(5, 5 + len(rows)):
                cell = ws.cell(row=r, column=j)
                if not isinstance(cell.value, str):
                    cell.number_format = fmt
            width = max(len(col.name), *(len(str(r[j - 1])) for r in rows[:200]))
            ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)
        _as_table(ws, 4, len(columns), len(rows), f"t_{name}", Table, TableStyleInfo)
        ws.freeze_panes = "A5"
    from cwi.io import atomic_path

    with atomic_path(path) as tmp:  # a killed build never leaves half a workbook
        wb.save(tmp)


def _as_table(ws, header_row: int, n_cols: int, n_rows: int, name: str, table, style) -> None:
    from openpyxl.utils import get_column_letter

    ref = f"A{header_row}:{get_column_letter(n_cols)}{header_row + max(n_rows, 1)}"
    t = table(displayName=re.sub(r"\W", "_", name)[:250], ref=ref)
    t.tableStyleInfo = style(name="TableStyleLight1", showRowStripes=False)
    ws.add_table(t)
