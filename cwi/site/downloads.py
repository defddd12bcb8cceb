"""Downloads: every published table as a tidy CSV and one XLSX workbook.

Numbers are written as a reader expects them (Analysis Function guidance): counts and other
whole numbers as integers (``21330``, never ``21330.0``), rates per 10,000 to one decimal place,
other estimates to three decimal places (three significant figures below 0.01, p-values
included), and an empty cell of a suppressed row carries the shorthand from the row's ``note``
(``[c]`` confidential); any other empty numeric cell reads ``[z]`` (not applicable). A table with no
rows is not published. The workbook has a contents sheet, a notes sheet and one sheet per table,
each starting with its title in cell A1, with the table as an Excel table of its own.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SHORTHAND = re.compile(r"\[(c|x|z|low|u)\]")
_RATE = re.compile(r"^(rate|rate_.*|.*_rate|difference|difference_(lower|upper))$")
_RATE_BOUNDS = ("lower", "upper")


@dataclass(frozen=True)
class Column:
    """How one column is written: ``int``, ``rate`` (1 dp), ``decimal`` (3 dp) or ``text``."""

    name: str
    kind: str


def column_kinds(frame: pd.DataFrame) -> list[Column]:
    """Decide how each column is written from its name and values.

    Whole-number columns are integers. Rate columns (``rate``, ``*_rate``, ``rate_*``,
    ``difference``) are rates; so are ``lower``/``upper`` in a table whose estimate is a rate
    (it has ``rate`` and no ``estimate`` column).
    """
    rate_table = "rate" in frame.columns and "estimate" not in frame.columns
    out = []
    for name in frame.columns:
        values = frame[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if not numeric:
            out.append(Column(name, "text"))
            continue
        present = values.dropna()
        if _RATE.match(name) or (rate_table and name in _RATE_BOUNDS):
            out.append(Column(name, "rate"))
        elif present.empty or (present == present.round()).all():
            out.append(Column(name, "int"))
        else:
            out.append(Column(name, "decimal"))
    return out


def _decimal(value: float) -> float:
    if value == 0 or abs(value) >= 0.01:
        return round(value, 3)
    return float(f"{value:.3g}")


def _row_symbols(frame: pd.DataFrame) -> pd.Series:
    """Per row, the shorthand an empty numeric cell carries: from the note, else ``[z]``."""
    if "note" not in frame.columns:
        return pd.Series("[z]", index=frame.index, dtype=object)
    found = frame["note"].fillna("").astype(str).str.extract(SHORTHAND, expand=False)
    return ("[" + found + "]").fillna("[z]").astype(object)


def _column_values(values: pd.Series, kind: str, symbols: pd.Series) -> list[Any]:
    """One column's cell values (see :func:`publication_values`), a whole column at a time."""
    missing = values.isna().to_numpy()
    if kind == "text":
        return values.astype(str).where(~missing, "").tolist()
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    if missing.any():
        numbers = np.where(missing, 0.0, numbers)
    if kind == "int":
        out: list[Any] = np.rint(numbers).astype(np.int64).tolist()  # half to even, as round()
    elif kind == "rate":  # Python's round: correctly rounded, unlike numpy's scaled rounding
        out = list(map(round, numbers.tolist(), repeat(1)))
    else:
        out = list(map(_decimal, numbers.tolist()))
    if missing.any():
        for i, symbol in zip(np.flatnonzero(missing).tolist(), symbols[missing], strict=True):
            out[i] = symbol
    return out


def publication_columns(frame: pd.DataFrame) -> tuple[list[Column], list[list[Any]]]:
    """Cell values ready to write, column by column: ints, rounded floats, shorthand or text.

    Text cells are text (empty when missing); an empty numeric cell carries the shorthand of
    its row's note (``[c]``...) or ``[z]``; whole numbers are ints (rounded half to even), rates
    are rounded to one decimal place and other estimates by :func:`_decimal`.
    """
    columns = column_kinds(frame)
    symbols = _row_symbols(frame)
    return columns, [
        _column_values(frame.iloc[:, j], col.kind, symbols) for j, col in enumerate(columns)
    ]


@dataclass(frozen=True)
class Published:
    """A table's cell values made once (:func:`published`), for its CSV and its workbook sheet.

    Parameters
    ----------
    columns : list of Column
        How each column is written.
    values : list of list
        Cell values, column by column (see :func:`publication_columns`).
    rows : int
        Number of rows.
    """

    columns: list[Column]
    values: list[list[Any]]
    rows: int


def published(frame: pd.DataFrame | Published) -> Published:
    """A table's cell values ready to write, for :func:`write_csv` and :func:`write_workbook`."""
    if isinstance(frame, Published):
        return frame
    columns, values = publication_columns(frame)
    return Published(columns, values, len(frame))


def publication_values(frame: pd.DataFrame) -> tuple[list[Column], list[list[Any]]]:
    """Cell values ready to write, row by row (see :func:`publication_columns`)."""
    columns, values = publication_columns(frame)
    return columns, [list(row) for row in zip(*values, strict=True)] if values else []


def _csv_column(values: list[Any], kind: str) -> list[str]:
    """Text of one column's CSV cells: rates with one decimal, other floats as ``repr``."""
    if kind == "rate":
        return [v if isinstance(v, str) else f"{v:.1f}" for v in values]
    if kind == "decimal":
        return [v if isinstance(v, str) else repr(v) for v in values]
    if kind == "int":
        return [v if isinstance(v, str) else str(v) for v in values]
    return values


def write_csv(frame: pd.DataFrame | Published, path: Path) -> int:
    """Write one table (a frame, or its :func:`published` values) as a publication CSV.

    Returns its number of rows.
    """
    import csv

    from cwi.io import atomic_open

    table = published(frame)
    columns, values = table.columns, table.values
    cells = [_csv_column(v, c.kind) for v, c in zip(values, columns, strict=True)]
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([c.name for c in columns])
        writer.writerows(zip(*cells, strict=True))
    return table.rows


_FORMATS = {"int": "0", "rate": "0.0", "decimal": "General", "text": "@"}
#: Zip entry time of every workbook part, so one set of tables always gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _stamp() -> Any:
    from datetime import datetime

    return datetime(*_ZIP_TIME)


def write_workbook(
    tables: list[tuple[str, str, pd.DataFrame | Published]],
    path: Path,
    title: str,
    notes: list[str],
    source: str,
) -> None:
    """Write the XLSX workbook: contents, notes, then one sheet per table.

    Written in openpyxl's streaming (write-only) mode, rows as whole lists, with fixed document
    and zip-entry times: the same tables always give the same bytes.

    Parameters
    ----------
    tables : list of (name, title, frame)
        Tables with at least one row, in publication order; a frame may be given as its
        :func:`published` values (made once for its CSV and this workbook).
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
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink

    wb = Workbook(write_only=True)
    wb.properties.title = title
    wb.properties.creator = "CWI"
    wb.properties.created = wb.properties.modified = _stamp()

    def heading(ws: Any, text: str) -> Any:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = Font(bold=True, size=14)
        return cell

    contents = wb.create_sheet("Contents")
    for letter, width in zip("ABC", (26, 80, 8), strict=True):
        contents.column_dimensions[letter].width = width
    contents.append([heading(contents, title)])
    contents.append(
        [
            f"This worksheet contains one table: the {len(tables)} tables of this workbook, with links."
        ]
    )
    contents.append(["Sheet", "Table title", "Rows"])
    tables = [(name, table_title, published(frame)) for name, table_title, frame in tables]
    for name, table_title, table in tables:
        sheet = name[:31]
        link = WriteOnlyCell(contents, value=sheet)
        link.hyperlink = Hyperlink(ref="", location=f"'{sheet}'!A1")
        link.style = "Hyperlink"
        contents.append([link, table_title, table.rows])
    _as_table(contents, 3, ["Sheet", "Table title", "Rows"], len(tables), "contents_table")

    sheet_notes = wb.create_sheet("Notes")
    sheet_notes.column_dimensions["A"].width = 14
    sheet_notes.column_dimensions["B"].width = 110
    sheet_notes.append([heading(sheet_notes, "Notes")])
    sheet_notes.append(["This worksheet contains one table of notes that apply to every table."])
    sheet_notes.append(["Note number", "Note text"])
    for i, note in enumerate(notes, start=1):
        sheet_notes.append([f"[note {i}]", note])
    _as_table(sheet_notes, 3, ["Note number", "Note text"], len(notes), "notes_table")

    for name, table_title, table in tables:
        ws = _sheet(wb, name[:31])
        columns, values = table.columns, table.values
        for j, (col, cells) in enumerate(zip(columns, values, strict=True), start=1):
            width = max(len(col.name), *(len(str(v)) for v in cells[:200]))
            ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)
        ws.freeze_panes = "A5"
        ws.append([heading(ws, table_title)])
        ws.append(
            [
                "This worksheet contains one table. Shorthand: [c] confidential (suppressed so "
                "no child can be identified), [z] not applicable. See the Notes sheet."
            ]
        )
        ws.append([f"Source: {source}"])
        ws.append([c.name for c in columns])
        # numbers of int and rate columns carry a number format (a style of the workbook)
        styles: list[str | None] = []
        for col in columns:
            fmt = _FORMATS[col.kind]
            if fmt == "General" or col.kind == "text":
                styles.append(None)
                continue
            cell = WriteOnlyCell(ws)
            cell.number_format = fmt
            styles.append(str(cell.style_id))
        for block in _row_blocks(columns, values, styles, first_row=5):
            if not isinstance(block, _RowsXML):  # a row with an unusual cell: openpyxl's way
                for j, style in enumerate(styles):
                    if style and not isinstance(block[j], str):
                        block[j] = WriteOnlyCell(ws, value=block[j])
                        block[j].number_format = _FORMATS[columns[j].kind]
            ws.append(block)
        _as_table(ws, 4, [c.name for c in columns], table.rows, f"t_{name}")
    _save(wb, path)


class _RowsXML(list):
    """Rows as SpreadsheetML text (the one item), exactly as openpyxl's writer would write them.

    ``rows`` is how many rows the text holds. The text goes into the worksheet's part as it
    is (see :func:`_sheet` and :func:`_save`), never parsed into elements and written again.
    """

    rows: int


#: Stands in a worksheet's stream for a block of ready-made rows until the part is zipped.
_BLOCK_MARK = re.compile(rb"<!--cwi-rows:(\d+)-->")


def _row_texts(wb: Any) -> list[bytes]:
    """The blocks of ready-made rows of a workbook being written, in order, as UTF-8."""
    return wb.__dict__.setdefault("_cwi_row_texts", [])


def _sheet(wb: Any, title: str) -> Any:
    """A streaming worksheet that also takes blocks of ready-made rows (:class:`_RowsXML`).

    openpyxl builds a cell object and an XML element per cell (about 10 microseconds each); a
    table's rows are instead written as one block of SpreadsheetML made column by column: the
    stream gets a numbered comment in its place, which :func:`_save` replaces by the block's
    text when it zips the part. The rest (header rows, styles, tables, zip) is openpyxl's own.
    """
    from lxml import etree
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    texts = _row_texts(wb)

    class _Sheet(WriteOnlyWorksheet):
        def _write_rows(self) -> Any:  # openpyxl 3.1's generator, plus ready-made blocks
            xf = self._writer.xf.send(True)
            with xf.element("sheetData"):
                row_idx = 1
                try:
                    while True:
                        row = yield
                        if isinstance(row, _RowsXML):
                            xf.write(etree.Comment(f"cwi-rows:{len(texts)}"))
                            texts.append(row[0].encode("utf-8"))
                            row_idx += row.rows
                            continue
                        self._writer.write_row(xf, self._values_to_row(row, row_idx), row_idx)
                        row_idx += 1
                except GeneratorExit:
                    pass
            self._writer.xf.send(None)

    ws = _Sheet(parent=wb, title=title)
    wb._add_sheet(ws)
    return ws


def _plain(value: Any) -> bool:
    """A value whose cell is a plain number or plain text (no formula, error or odd character)."""
    from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        return not (
            (len(value) > 1 and value.startswith("="))
            or value in ERROR_CODES
            or len(value) > 32767
            or ILLEGAL_CHARACTERS_RE.search(value)
        )
    return type(value) in (int, float) and math.isfinite(value)


def _plain_rows(values: list[list[Any]], n_rows: int) -> list[bool]:
    """Per row, whether every cell is plain (:func:`_plain`); a column is checked at once."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    plain = [True] * n_rows
    for column in values:
        texts = [v for v in column if isinstance(v, str)]
        numbers = [v for v in column if not isinstance(v, str)]
        joined = "\n".join(texts)
        suspect = (
            ILLEGAL_CHARACTERS_RE.search(joined)
            or "=" in joined
            or "#" in joined
            or any(len(t) > 32767 for t in texts)
            or not all(type(v) in (int, float) for v in numbers)
            or not all(map(math.isfinite, numbers))
        )
        if suspect:
            plain = [p and _plain(v) for p, v in zip(plain, column, strict=True)]
    return plain


def _text_xml(ref: str, value: str) -> str:
    """A text cell as openpyxl writes it (inline string; spaces kept when at either end)."""
    if not value:
        return f'<c r="{ref}" t="inlineStr"/>'
    space = ' xml:space="preserve"' if value != value.strip() else ""
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\r", "&#13;")
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _column_xml(refs: list[str], column: list[Any], style: str | None) -> list[str]:
    """One column's cells: text inline, numbers as ``%.16g`` (as openpyxl) with their style."""
    s = f' s="{style}"' if style else ""
    return [
        _text_xml(ref, v) if isinstance(v, str) else f'<c r="{ref}"{s} t="n"><v>{v:.16g}</v></c>'
        for ref, v in zip(refs, column, strict=True)
    ]


def _row_blocks(
    columns: list[Column], values: list[list[Any]], styles: list[str | None], first_row: int
) -> Iterator[Any]:
    """The table's rows as blocks of ready-made rows; a row with an unusual cell goes alone.

    An unusual cell (a formula-like or error-code text, a character Excel refuses, a
    non-finite number) goes through openpyxl's own cell writer, which handles it (or refuses
    it) as it always did.
    """
    from openpyxl.utils import get_column_letter

    n = len(values[0]) if values else 0
    plain = _plain_rows(values, n)
    numbers = [str(first_row + i) for i in range(n)]
    cells = [
        _column_xml([get_column_letter(j) + r for r in numbers], column, style)
        for j, (column, style) in enumerate(zip(values, styles, strict=True), start=1)
    ]
    xml = [
        f'<row r="{r}">{"".join(row)}</row>'
        for r, row in zip(numbers, zip(*cells, strict=True), strict=True)
    ]
    start = 0
    while start < n:
        stop = start
        while stop < n and plain[stop]:
            stop += 1
        if stop > start:
            block = _RowsXML(["".join(xml[start:stop])])
            block.rows = stop - start
            yield block
            start = stop
        else:
            yield [column[start] for column in values]
            start += 1


def _save(wb: Any, path: Path) -> None:
    """Save atomically into a zip whose entries all carry the same fixed time."""
    import zipfile

    from openpyxl.writer.excel import ExcelWriter

    from cwi.io import atomic_path

    texts = _row_texts(wb)

    class _FixedTimeZip(zipfile.ZipFile):
        def writestr(self, name: Any, data: Any, *args: Any, **kwargs: Any) -> None:
            if isinstance(data, bytes) and str(name).startswith("xl/worksheets/"):
                data = _BLOCK_MARK.sub(lambda m: texts[int(m[1])], data)  # the rows in place
            if not isinstance(name, zipfile.ZipInfo):
                name = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                name.compress_type = zipfile.ZIP_DEFLATED
                name.external_attr = 0o600 << 16
            super().writestr(name, data, *args, **kwargs)

        def write(self, filename: Any, arcname: Any = None, *args: Any, **kwargs: Any) -> None:
            self.writestr(arcname or Path(filename).name, Path(filename).read_bytes())

    with atomic_path(path) as tmp:  # a killed build never leaves half a workbook
        archive = _FixedTimeZip(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        ExcelWriter(wb, archive).save()


def _as_table(ws: Any, header_row: int, headers: list[str], n_rows: int, name: str) -> None:
    """Mark the block under ``header_row`` as an Excel table (columns named by ``headers``)."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

    ref = f"A{header_row}:{get_column_letter(len(headers))}{header_row + max(n_rows, 1)}"
    t = Table(displayName=re.sub(r"\W", "_", name)[:250], ref=ref)
    t.tableColumns = [TableColumn(id=i, name=str(h)) for i, h in enumerate(headers, start=1)]
    t.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
    with warnings.catch_warnings():  # "add table columns manually": done above
        warnings.simplefilter("ignore", UserWarning)
        ws.add_table(t)
