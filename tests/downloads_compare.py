"""Describe a workbook cell by cell (value, type, number format, font, link) for comparisons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import load_workbook


def describe(path: Path) -> dict[str, Any]:
    """Everything a reader sees in a workbook: sheets, cells, widths, panes, tables."""
    wb = load_workbook(path)
    out: dict[str, Any] = {
        "properties": (wb.properties.title, wb.properties.creator),
        "sheets": wb.sheetnames,
    }
    for ws in wb.worksheets:
        cells = [
            (c.coordinate, type(c.value).__name__, c.value, c.number_format, c.font.b, c.data_type,
             c.font.sz, c.style, c.hyperlink.location if c.hyperlink else None)
            for row in ws.iter_rows() for c in row
            if c.value is not None or c.has_style
        ]  # fmt: skip
        tables = {
            t.name: (t.ref, [col.name for col in t.tableColumns], t.tableStyleInfo.name,
                     t.tableStyleInfo.showRowStripes)
            for t in ws.tables.values()
        }  # fmt: skip
        out[ws.title] = {
            "cells": cells,
            "widths": {k: v.width for k, v in ws.column_dimensions.items()},
            "freeze": ws.freeze_panes,
            "tables": tables,
        }
    return out
