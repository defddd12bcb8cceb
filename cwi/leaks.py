"""Leak scanner: check every built output file for identifiers and small counts.

Run at the end of every build (``cwi scan _site``) and by tests. It reads every file under a
folder -- HTML, JS, JSON, SVG, CSS, XML, TXT/MD, CSV, XLSX, PNG/JPEG metadata, PDF text, links
and metadata, and the file names themselves -- and reports each *kind* of identifying value it
finds, with where it was found, **never the value itself** (the report may be pasted into a
ticket or a CI log).

Kinds of finding
----------------
``sentinel``
    A planted test string (``sentinels`` argument), matched case-insensitively.
``pseudonymised id``
    A hexadecimal string of the real pseudonym length (:data:`cwi.ingest.pseudo.PID_LENGTH`,
    24 characters) or a full 64-character HMAC-SHA256, standing alone. A hex string labelled
    as a file checksum (``sha256``, ``checksum``, ``digest`` or ``hash`` within the 30
    characters before it, or a JSON key of that name) is not reported.
``date of birth``
    A date that can be the birth date of a child counted in the build's collection years
    (born at most 19 years before the first 31 March snapshot and not after the last), found
    where a birth date would sit: a data cell (CSV, XLSX, HTML table cell, a JSON value that
    is a date), a ``dd/mm/yyyy`` date (the extracts' format, also with ``-`` or ``.``)
    anywhere, or an ISO ``yyyy-mm-dd`` date in running text next to a word such as *birth*,
    *born* or *DOB*. So the coding scheme's change-log dates in Quarto's ``search.json`` are
    not dates of birth, and a planted birth date is. ISO date-times are timestamps; 31 March
    and 1 April (the snapshot) are never reported.
``postcode`` / ``postcode sector``
    Full unit postcodes (``AB1 2CD``, with or without the space) and sectors (``AB1 2``), in
    upper case, with any area letters (so the demo region's ``X`` areas too). Embedded
    ``data:`` URIs, long base64 runs and ``#``-prefixed colours are skipped.
``LSOA code`` / ``output area code``
    ``E01``/``W01``/``X01`` and ``E00``/``W00`` followed by six digits.
``small count``
    In CSV and XLSX downloads and in HTML tables, a number from 1 to the table's threshold
    minus 1 in a column of child counts. The threshold is the *documented minimum* of the
    table's level in :mod:`cwi.disclosure.registry` (LA totals 6, cross-tabulations 10; a
    table the registry does not know gets 10), never the user's setting. Count columns are the
    registry's (``n``, ``observed``, ``disabled``...) or, for unknown tables, columns named
    like counts; structural counts (``n_la``, ``n_lsoa``, ``years``...) are not child counts.
``private data file``
    A parquet, pickle, feather, Arrow, SQLite, HDF5, R or Stata data file, a NumPy array or
    a key file anywhere in the output folder (also as a PDF attachment): such files hold
    child-level data and are never published.
``PDF attachment``
    A file embedded in a PDF (the profiles never attach files).
``unreadable``
    A file the scanner could not parse (an unchecked file is not a clean file).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cwi.config import Settings

__all__ = ["KINDS", "LeakFinding", "ScanCache", "scan_cli", "scan_file", "scan_paths", "scan_text"]

KINDS = (
    "sentinel",
    "pseudonymised id",
    "date of birth",
    "postcode",
    "postcode sector",
    "LSOA code",
    "output area code",
    "small count",
    "private data file",
    "PDF attachment",
    "unreadable",
)

#: Files that hold data tables or keys, never published (reported as ``private data file``).
PRIVATE_SUFFIXES = {
    ".parquet", ".pq", ".pkl", ".pickle", ".feather", ".arrow", ".ipc", ".sqlite",
    ".sqlite3", ".db", ".duckdb", ".h5", ".hdf5", ".hdf", ".rds", ".rdata", ".rda", ".dta",
    ".sav", ".npy", ".npz", ".joblib", ".key", ".avro", ".orc",
}  # fmt: skip

TEXT_SUFFIXES = {
    ".html",
    ".htm",
    ".js",
    ".mjs",
    ".cjs",
    ".json",
    ".geojson",
    ".svg",
    ".css",
    ".xml",
    ".txt",
    ".md",
    ".qmd",
    ".map",
    ".yml",
    ".yaml",
    ".tsv",
    ".csv",
    ".tex",
    ".log",
}
MARKUP_SUFFIXES = {".html", ".htm", ".svg", ".xml"}
_HEAVY_SUFFIXES = {".pdf", ".xlsx", ".xlsm"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff"}

# Patterns start with a narrow character class (no leading look-behind or \b) so the regex
# engine skips most positions quickly; boundaries are checked in Python on the few matches.
_HEXRUN = re.compile(r"[0-9A-Fa-f]{24,}")
_HEX = frozenset("0123456789abcdefABCDEF")
_BIRTH_CONTEXT = re.compile(r"birth|born|\bdob\b|d\.o\.b", re.IGNORECASE)
_DMY = re.compile(r"(\d\d?)([/.-])(\d\d?)\2((?:19|20)\d\d)\b")
_ISO = re.compile(r"((?:19|20)\d\d)-([01]\d)-([0-3]\d)\b")
# No postcode area starts with Q or V (X is kept: the demo region's synthetic areas use it), so
# "Q3 3" is a question label; the unit letters stay broad so a mistyped postcode is still caught.
_POSTCODE = re.compile(r"[A-PR-UW-Z][A-Z]?\d[A-Z\d]? {0,2}\d[A-Z][A-Z]\b")
_SECTOR = re.compile(r"[A-PR-UW-Z][A-Z]?\d[A-Z\d]? \d\b")
_LSOA = re.compile(r"([EWX])0([01])\d{6}\b")
_CHECKSUM_LABEL = re.compile(r"sha-?256|checksum|digest|hash|integrity", re.IGNORECASE)
_COORDINATE_NEXT = re.compile(r"\s*[A-Za-z]?[-.]?\d")
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpe?g|gif|webp);base64,([A-Za-z0-9+/=\s]+)")
_LONG_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{120,}")
_COUNT_COLUMN = re.compile(
    r"^(n|count|number|observed|cases|cases_total|disabled|recorded)(_.*)?$|^.*_(n|count)$",
    re.IGNORECASE,
)
#: HTML table headings that name a count of children ("n", "CIN children", "Observed"...);
#: "Children 0-17" (a population) and interview tallies ("Segments") are not.
_COUNT_HEADER = re.compile(
    r"^(n|count|number|observed|cases|disabled|recorded|n \(.*\)|.* \(n\)|"
    r"(cin|cpp|cla) children|children (in need|on .*|looked after))$",
    re.IGNORECASE,
)
_TIMESTAMP_KEY = re.compile(
    r"date|created|modified|generated|built|updated|lastmod|time|version|released?|published",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LeakFinding:
    """One kind of identifying value found in one file.

    Parameters
    ----------
    file : Path
        The file, as found under the scanned root.
    kind : str
        One of :data:`KINDS`.
    detail : str
        Where and how often (line, page, sheet/cell, metadata field); never the value.
    """

    file: Path
    kind: str
    detail: str


def _pid_lengths() -> frozenset[int]:
    from cwi.ingest.pseudo import PID_LENGTH

    return frozenset({int(PID_LENGTH), 64})


def dob_window(years: Iterable[int] | None = None) -> tuple[dt.date, dt.date]:
    """The dates on which a child counted in the collection years can have been born.

    Parameters
    ----------
    years : iterable of int, optional
        Collection years (snapshot 31 March of each); defaults to the last 19 years.

    Returns
    -------
    tuple of datetime.date
        First and last possible birth date.
    """
    ys = sorted(int(y) for y in years) if years else []
    if not ys:
        today = dt.date.today()
        return dt.date(today.year - 19, 1, 1), today
    return dt.date(ys[0] - 19, 4, 1), dt.date(ys[-1], 3, 31)


def _is_reference_date(day: int, month: int) -> bool:
    return (day, month) in ((31, 3), (1, 4))


def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        dt.date(y, m, d)
    except ValueError:
        return False
    return True


def _clean(text: str) -> str:
    text = _DATA_URI.sub(" ", text)
    return _LONG_TOKEN.sub(" ", text)


def scan_text(
    text: str,
    sentinels: Iterable[str] = (),
    iso_dates: bool = False,
    window: tuple[dt.date, dt.date] | None = None,
) -> Iterator[tuple[str, int]]:
    """Yield ``(kind, character offset)`` for every identifying value in a text.

    Parameters
    ----------
    text : str
        Text to scan.
    sentinels : iterable of str
        Planted strings to look for (case-insensitive).
    iso_dates : bool
        The text is a data cell: report ISO ``yyyy-mm-dd`` dates too (in running text they
        are reported only next to a word such as *birth*).
    window : tuple of datetime.date, optional
        Possible birth dates (:func:`dob_window`); dates outside are not reported.

    Yields
    ------
    tuple of (str, int)
        Kind of value and its offset in ``text``.
    """
    lowered = text.lower()
    for s in sentinels:
        s = s.strip().lower()
        if not s:
            continue
        start = lowered.find(s)
        while start >= 0:
            yield "sentinel", start
            start = lowered.find(s, start + 1)
    text = _clean(text)
    n = len(text)

    def before(m: re.Match[str]) -> str:
        return text[m.start() - 1] if m.start() > 0 else " "

    def after(m: re.Match[str], k: int = 0) -> str:
        return text[m.end() + k] if m.end() + k < n else " "

    lengths = _pid_lengths()
    lo, hi = window or dob_window()

    def possible_birth(y: int, mo: int, d: int) -> bool:
        if not _valid_date(y, mo, d) or _is_reference_date(d, mo):
            return False
        return lo <= dt.date(y, mo, d) <= hi

    for m in _HEXRUN.finditer(text):
        if len(m.group()) not in lengths or before(m).isalnum() or after(m).isalnum():
            continue
        run = m.group()
        if run.isdigit() or not any(c.isdigit() for c in run):
            continue  # a long number, or a word of letters a-f
        if not _CHECKSUM_LABEL.search(text[max(0, m.start() - 30) : m.start()]):
            yield "pseudonymised id", m.start()
    for m in _DMY.finditer(text):
        if (
            before(m).isdigit()
            or before(m) in "/.-"
            or (after(m) in "/.-" and after(m, 1).isdigit())
        ):
            continue
        d, mo, y = int(m.group(1)), int(m.group(3)), int(m.group(4))
        if possible_birth(y, mo, d):
            yield "date of birth", m.start()
    for m in _ISO.finditer(text):
        if before(m).isdigit() or before(m) == "-" or after(m) == "-":
            continue
        if after(m) == "T" and after(m, 1).isdigit():
            continue  # a timestamp
        if after(m) == " " and re.match(r"\d\d:", text[m.end() + 1 : m.end() + 4]):
            continue
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if not possible_birth(y, mo, d):
            continue
        if iso_dates or _BIRTH_CONTEXT.search(text[max(0, m.start() - 40) : m.start()]):
            yield "date of birth", m.start()
    for m in _POSTCODE.finditer(text):
        if not (before(m).isalnum() or before(m) == "#"):
            yield "postcode", m.start()
    for m in _SECTOR.finditer(text):
        if before(m).isalnum() or before(m) == "#":
            continue
        if after(m) in ".," and after(m, 1).isdigit():
            continue  # a decimal number such as "A1 2.5"
        if _COORDINATE_NEXT.match(text, m.end()):
            continue  # a drawing command such as SVG path "M0 0 L10 5"
        yield "postcode sector", m.start()
    for m in _LSOA.finditer(text):
        if before(m).isalnum():
            continue
        if m.group(2) == "1":
            yield "LSOA code", m.start()
        elif m.group(1) != "X":
            yield "output area code", m.start()


class _Collector:
    """Group hits by kind and location for one file."""

    def __init__(self, file: Path, window: tuple[dt.date, dt.date] | None = None) -> None:
        self.file = file
        self.hits: dict[str, list[str]] = {}
        self.window = window or dob_window()

    def add(self, kind: str, where: str) -> None:
        self.hits.setdefault(kind, []).append(where)

    def text(
        self,
        text: str,
        where: str,
        sentinels: Iterable[str],
        iso_dates: bool = False,
        lines: bool = True,
    ) -> None:
        for kind, offset in scan_text(text, sentinels, iso_dates, self.window):
            if lines:
                line = f"line {text.count(chr(10), 0, offset) + 1}"
                self.add(kind, f"{where} {line}" if where else line)
            else:
                self.add(kind, where)

    def findings(self) -> list[LeakFinding]:
        out = []
        for kind in KINDS:
            places = self.hits.get(kind)
            if not places:
                continue
            unique = list(dict.fromkeys(places))
            shown = ", ".join(unique[:3]) + (
                f" and {len(unique) - 3} more" if len(unique) > 3 else ""
            )
            n = len(places)
            out.append(
                LeakFinding(
                    self.file, kind, f"{n} value{'s' if n > 1 else ''} of this kind: {shown}"
                )
            )
        return out


# ---- per-format readers ----------------------------------------------------------------------


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _header_key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _table_limit(table: Any) -> int:
    """The documented minimum of an HTML table, found by its caption or preceding heading."""
    from cwi.disclosure.registry import TABLE_TITLES, documented_limit

    by_title = {_header_key(t).lower(): name for name, t in TABLE_TITLES.items()}
    cap = table.find(".//caption")
    texts = [cap.text_content()] if cap is not None else []
    texts += [t.text_content() for t in table.find_class("gt_title")]  # great_tables' title
    node = table
    for _ in range(6):  # the nearest heading before the table (same section)
        node = node.getprevious()
        if node is None:
            break
        if isinstance(node.tag, str) and node.tag.lower() in ("h1", "h2", "h3", "h4", "h5"):
            texts.append(node.text_content())
            break
    for text in texts:
        name = by_title.get(_header_key(text).lower())
        if name:
            return documented_limit(name)
    return documented_limit(None)


def _scan_html_tables(text: str, col: _Collector) -> None:
    """Child counts under the table's documented threshold in HTML tables."""
    import lxml.html

    from cwi.disclosure.registry import STRUCTURAL_COLUMNS

    try:
        doc = lxml.html.document_fromstring(text)
    except Exception:  # noqa: BLE001 - an empty or fragmentary page has no tables
        return
    for t_no, table in enumerate(doc.iter("table"), start=1):
        rows = [r for r in table.iter("tr")]
        # the column headings: the first row, or (great_tables) the first heading row after
        # the title and subtitle rows that names a count column
        h_no, cols, header = 0, [], []
        for k, row in enumerate(rows[:6]):
            cells = [c for c in row if c.tag in ("th", "td")]
            if k and not (
                any(a.tag == "thead" for a in row.iterancestors())
                or all(c.tag == "th" for c in cells)
            ):
                break
            header = [_header_key(c.text_content()) for c in cells]
            cols = [
                i
                for i, h in enumerate(header)
                if _COUNT_HEADER.match(h) and h.lower().replace(" ", "_") not in STRUCTURAL_COLUMNS
            ]
            if cols:
                h_no = k
                break
        if not cols:
            continue
        limit = _table_limit(table)
        for r_no, row in enumerate(rows[h_no + 1 :], start=h_no + 2):
            cells = [c for c in row if c.tag in ("th", "td")]
            for i in cols:
                if i < len(cells) and _small(_header_key(cells[i].text_content()), limit):
                    col.add("small count", f"table {t_no} row {r_no}, column '{header[i]}'")


def _scan_markup(path: Path, col: _Collector, sentinels: Iterable[str]) -> None:
    text = _read_text(path)
    col.text(html.unescape(text), "", sentinels)
    if path.suffix.lower() in (".html", ".htm") and "<table" in text.lower():
        _scan_html_tables(text, col)
    # Self-contained pages inline their images: check the metadata of each embedded image.
    for k, m in enumerate(_DATA_IMAGE.finditer(text), start=1):
        try:
            blob = base64.b64decode(re.sub(r"\s", "", m.group(1)))
        except ValueError:
            continue
        _scan_image(io.BytesIO(blob), col, sentinels, f"embedded image {k} ")


def _walk_json(obj: Any, key: str, path: str, out: list[tuple[str, str, str]]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append((str(k), "key", f"{path}/{k}"))
            _walk_json(v, str(k), f"{path}/{k}", out)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _walk_json(v, key, f"{path}/{i}", out)
    elif isinstance(obj, str):
        out.append((obj, key, path))


def _scan_json(path: Path, col: _Collector, sentinels: Iterable[str]) -> None:
    raw = _read_text(path)
    col.text(raw, "", sentinels)
    try:
        obj = json.loads(raw)
    except ValueError:
        return
    strings: list[tuple[str, str, str]] = []
    _walk_json(obj, "", "", strings)
    for value, key, where in strings:
        if key == "key" or _TIMESTAMP_KEY.search(key) or not _ISO.search(value):
            continue
        if len(value) > 30 and not _BIRTH_CONTEXT.search(key):
            continue  # running text (e.g. search.json's page text): scanned as text above
        for kind, _ in scan_text(value, iso_dates=True, window=col.window):
            if kind == "date of birth":
                col.add(kind, f"value at {where or '/'}")


def _count_column(name: Any, table: str | None = None) -> bool:
    from cwi.disclosure.registry import REGISTRY, STRUCTURAL_COLUMNS

    if not isinstance(name, str):
        return False
    name = name.strip()
    entry = REGISTRY.get(table) if table else None
    if entry is not None and entry.spec is not None:
        return name in entry.count_columns
    return bool(_COUNT_COLUMN.match(name)) and name.lower() not in STRUCTURAL_COLUMNS


def _small(value: Any, limit: int) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return 1 <= value < limit
    if isinstance(value, str):
        try:
            number = float(value.replace(",", "").strip())
        except ValueError:
            return False
        return 1 <= number < limit
    return False


def _cell_kinds(
    value: str,
    sentinels: Iterable[str],
    window: tuple[dt.date, dt.date],
    memo: dict[str, list[str]],
) -> list[str]:
    """Kinds found in one data cell, remembered per distinct value within a file.

    Tables repeat the same strings (area codes, measure names, years) thousands of times; the
    findings of a value depend only on the value and the file's scan setup.
    """
    kinds = memo.get(value)
    if kinds is None:
        kinds = memo[value] = [k for k, _ in scan_text(value, sentinels, True, window)]
    return kinds


def _scan_csv(path: Path, col: _Collector, sentinels: Iterable[str]) -> None:
    from cwi.disclosure.registry import documented_limit

    text = _read_text(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    while rows and rows[0] and rows[0][0].startswith("#"):  # a stamp or comment line
        for kind, _ in scan_text(",".join(rows[0]), sentinels, window=col.window):
            col.add(kind, "comment line")
        rows = rows[1:]
    if not rows:
        return
    header = rows[0]
    count_cols = [i for i, h in enumerate(header) if _count_column(h, path.stem)]
    limit = documented_limit(path.stem)
    memo: dict[str, list[str]] = {}
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            name = header[c] if c < len(header) else f"column {c + 1}"
            for kind in _cell_kinds(value, sentinels, col.window, memo):
                col.add(kind, f"row {r}, column '{name}'")
            if r > 1 and c in count_cols and _small(value, limit):
                col.add("small count", f"row {r}, column '{name}'")


def _scan_xlsx(path: Path, col: _Collector, sentinels: Iterable[str]) -> None:
    """Scan a workbook: the fast reader (:func:`_xlsx_sheets`), openpyxl if it cannot read it."""
    fast = _Collector(col.file, col.window)
    try:
        _scan_xlsx_cells(path, fast, sentinels)
    except Exception:  # noqa: BLE001 - an unusual workbook: openpyxl reads what it can
        _scan_xlsx_openpyxl(path, col, sentinels)
        return
    for kind, places in fast.hits.items():
        for where in places:
            col.add(kind, where)


_XL_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_XL_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# Cells of a worksheet's XML, read with regular expressions (far faster than a parse tree).
_XL_CELL = re.compile(rb"<c\b([^>]*?)(/>|>(.*?)</c>)", re.S)
_XL_ATTR = re.compile(rb'\b(r|s|t)="([^"]*)"')
#: A cell's attributes as openpyxl and most writers put them: ``r`` (letters, digits), then
#: optionally ``s`` and ``t``; anything else goes through :data:`_XL_ATTR`.
_XL_USUAL_ATTRS = re.compile(
    rb'\s+r="([A-Z]+)([0-9]+)"(?:\s+s="([0-9]+)")?(?:\s+t="([A-Za-z]+)")?\s*'
)
_XL_V = re.compile(rb"<v(?:\s[^>]*)?>(.*?)</v>", re.S)
_XL_T = re.compile(rb"<t(?:\s[^>]*)?>(.*?)</t>", re.S)
_XL_FLOAT = re.compile(r"[.Ee]")
#: Core document properties that are dates, not text.
_DATE_PROPERTIES = {"created", "modified", "lastPrinted"}


def _xlsx_sheets(path: Path) -> Iterator[tuple[str, Iterator[tuple[int, list[tuple[int, Any]]]]]]:
    """The sheets of a workbook as ``(title, rows)``; each row ``(number, [(column, value)])``.

    Values as openpyxl gives them (str, int, float, bool, datetime for date-formatted
    numbers), read straight from the XML with lxml: about ten times faster than openpyxl's
    read-only mode, which dominated the leak scan.
    """
    import posixpath
    import zipfile

    from lxml import etree
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
    from openpyxl.utils.cell import column_index_from_string
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        book = etree.fromstring(zf.read("xl/workbook.xml"))
        pr = book.find(f"{_XL_MAIN}workbookPr")
        epoch = (
            CALENDAR_MAC_1904
            if pr is not None and pr.get("date1904") in ("1", "true")
            else CALENDAR_WINDOWS_1900
        )
        rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels.iter(f"{_PKG_REL}Relationship")}
        strings: list[str] = []
        if "xl/sharedStrings.xml" in names:
            for si in etree.fromstring(zf.read("xl/sharedStrings.xml")).iter(f"{_XL_MAIN}si"):
                strings.append(
                    "".join(
                        t.text or ""
                        for t in si.iter(f"{_XL_MAIN}t")
                        if t.getparent().tag != f"{_XL_MAIN}rPh"
                    )
                )
        dates: set[int] = set()
        if "xl/styles.xml" in names:
            styles = etree.fromstring(zf.read("xl/styles.xml"))
            custom = {
                int(f.get("numFmtId")): f.get("formatCode", "")
                for f in styles.iter(f"{_XL_MAIN}numFmt")
            }
            xfs = styles.find(f"{_XL_MAIN}cellXfs")
            for i, xf in enumerate(xfs if xfs is not None else []):
                fmt_id = int(xf.get("numFmtId", "0"))
                code = custom.get(fmt_id, BUILTIN_FORMATS.get(fmt_id, "General"))
                if is_date_format(code):
                    dates.add(i)
        sheets = book.find(f"{_XL_MAIN}sheets")
        for sheet in sheets if sheets is not None else []:
            ref = target[sheet.get(f"{_XL_REL}id")]
            member = ref.lstrip("/") if ref.startswith("/") else posixpath.join("xl", ref)
            member = posixpath.normpath(member)
            data = zf.read(member)

            def rows(data: bytes = data) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
                if b"<worksheet" not in data[:2000]:
                    raise ValueError("prefixed worksheet XML")  # openpyxl reads it
                current, cells = 0, []
                column_of: dict[str, int] = {}  # column letters -> index, once per sheet
                for m in _XL_CELL.finditer(data):
                    usual = _XL_USUAL_ATTRS.fullmatch(m.group(1))
                    if usual is not None:  # r, s, t in the usual order: one match
                        letters, digits = usual.group(1).decode(), usual.group(2)
                        style, kind = usual.group(3) or b"0", usual.group(4) or b"n"
                    else:
                        attrs = dict(_XL_ATTR.findall(m.group(1)))
                        ref = attrs[b"r"].decode()
                        split = len(ref.rstrip("0123456789"))
                        letters, digits = ref[:split], ref[split:]
                        style, kind = attrs.get(b"s", b"0"), attrs.get(b"t", b"n")
                    column = column_of.get(letters)
                    if column is None:
                        column = column_of[letters] = column_index_from_string(letters)
                    number = int(digits)
                    if number != current:
                        if cells:
                            yield current, cells
                        current, cells = number, []
                    body = m.group(3) or b""
                    if kind == b"inlineStr":
                        if b"<is" in body:
                            text = b"".join(_XL_T.findall(body)).decode("utf-8")
                            cells.append((column, html.unescape(text)))
                        continue
                    v = _XL_V.search(body)
                    if v is None:
                        continue
                    raw = v.group(1).decode("utf-8")
                    if not raw:
                        continue  # e.g. a formula never calculated: no value, as in openpyxl
                    if kind == b"s":
                        cells.append((column, strings[int(raw)]))
                    elif kind in (b"str", b"e"):
                        cells.append((column, html.unescape(raw)))
                    elif kind == b"b":
                        cells.append((column, bool(int(raw))))
                    elif kind == b"d":
                        cells.append((column, dt.datetime.fromisoformat(raw)))
                    else:
                        value: Any = float(raw) if _XL_FLOAT.search(raw) else int(raw)
                        if int(style) in dates:
                            value = from_excel(value, epoch)
                        cells.append((column, value))
                if cells:
                    yield current, cells

            yield sheet.get("name", ""), rows()


def _xlsx_properties(path: Path) -> list[tuple[str, str]]:
    """The workbook's core document properties that hold text (author, title, keywords...)."""
    import zipfile

    from lxml import etree

    with zipfile.ZipFile(path) as zf:
        if "docProps/core.xml" not in zf.namelist():
            return []
        root = etree.fromstring(zf.read("docProps/core.xml"))
    out = []
    for node in root:
        name = etree.QName(node).localname
        if name not in _DATE_PROPERTIES and node.text and node.text.strip():
            out.append((name, node.text))
    return out


def _scan_sheet(
    title: str,
    rows: Iterable[tuple[int, Iterable[tuple[int, Any]]]],
    col: _Collector,
    sentinels: Iterable[str],
    stem: str,
    memo: dict[str, list[str]],
) -> None:
    """Scan one worksheet's cells, whichever reader gave them (``(row, [(column, value)])``).

    A workbook of several tables: a sheet named after a registered table is held to that
    table's documented minimum (e.g. LA totals 6), others to the file's.
    """
    from openpyxl.utils import get_column_letter

    from cwi.disclosure.registry import documented_limit, entry

    col.text(title, f"sheet name '{title}'", sentinels, lines=False)
    sheet_limit = documented_limit(title) if entry(title) is not None else documented_limit(stem)
    count_cols: set[int] = set()
    header_seen = False
    # a sheet without a count column tests every row of strings as a header: remember answers
    is_count: dict[tuple[Any, str], bool] = {}

    def count_column(value: Any, table: str) -> bool:
        key = (type(value), value, table)
        found = is_count.get(key)
        if found is None:
            found = is_count[key] = _count_column(value, table)
        return found

    def where(c: int, r: int) -> str:  # only built for a finding
        return f"sheet '{title}' cell {get_column_letter(c)}{r}"

    for r, row in rows:
        cells = list(row)
        for c, value in cells:
            if value is None:
                continue
            if isinstance(value, (dt.datetime, dt.date)):
                day = value.date() if isinstance(value, dt.datetime) else value
                lo, hi = col.window
                if not _is_reference_date(day.day, day.month) and lo <= day <= hi:
                    col.add("date of birth", where(c, r))
                continue
            if isinstance(value, str):
                for kind in _cell_kinds(value, sentinels, col.window, memo):
                    col.add(kind, where(c, r))
            if header_seen and c in count_cols and _small(value, sheet_limit):
                col.add("small count", where(c, r))
        if not header_seen and any(isinstance(v, str) for _, v in cells):
            found = {c for c, v in cells if count_column(v, title)} or {
                c for c, v in cells if count_column(v, stem)
            }
            if found:
                count_cols = found
                header_seen = True


def _scan_xlsx_cells(path: Path, col: _Collector, sentinels: Iterable[str]) -> None:
    """Scan a workbook read straight from its XML (the fast reader)."""
    for name, value in _xlsx_properties(path):
        col.text(value, f"document property {name}", sentinels, lines=False)
    memo: dict[str, list[str]] = {}
    for title, rows in _xlsx_sheets(path):
        _scan_sheet(title, rows, col, sentinels, path.stem, memo)


def _scan_xlsx_openpyxl(path: Path, col: _Collector, sentinels: Iterable[str]) -> None:
    """Scan a workbook with openpyxl (the fallback reader)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        props = wb.properties
        for field in (
            "creator",
            "title",
            "subject",
            "description",
            "keywords",
            "category",
            "lastModifiedBy",
            "identifier",
            "comments",
        ):
            value = getattr(props, field, None)
            if isinstance(value, str):
                col.text(value, f"document property {field}", sentinels, lines=False)
        memo: dict[str, list[str]] = {}
        for ws in wb.worksheets:
            rows = (
                (r, enumerate(row, start=1))
                for r, row in enumerate(ws.iter_rows(values_only=True), start=1)
            )
            _scan_sheet(ws.title, rows, col, sentinels, path.stem, memo)
    finally:
        wb.close()


def _scan_image(
    source: Path | io.BytesIO, col: _Collector, sentinels: Iterable[str], prefix: str = ""
) -> None:
    from PIL import Image

    with Image.open(source) as im:
        info = dict(im.info)
        text_chunks = dict(getattr(im, "text", {}) or {})
        exif = im.getexif()
    for key, value in {**info, **text_chunks}.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="ignore")
        if isinstance(value, str):
            col.text(f"{key} {value}", f"{prefix}metadata chunk '{key}'", sentinels, lines=False)
    for tag, value in exif.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="ignore")
        if isinstance(value, str):
            col.text(value, f"{prefix}EXIF tag {tag}", sentinels, lines=False)


# ---- tables in PDF text ----------------------------------------------------------------------

#: A cell: a run of words separated by single spaces (cells are 2+ spaces apart in layout text).
_CELL = re.compile(r"\S+(?: \S+)*")
#: A confidence interval ("5.4 to 9.5") or a suppression symbol ("[c]"): never a count.
_NOT_COUNT = re.compile(r"-?\d[\d,]*(?:\.\d+)? to -?\d[\d,]*(?:\.\d+)?|\[[a-z]\]")
#: A count as tables print it: a whole number, with thousands separators.
_INTEGER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")
_LETTER = re.compile(r"[^\W\d_]")


def pdf_pages_text(path: Path, n_pages: int | None = None) -> list[str]:
    """The text of each page of a PDF in its printed layout (columns kept apart by spaces).

    Uses poppler's ``pdftotext -layout`` (fast, and it keeps table columns aligned); without it,
    pypdf's layout extraction.
    """
    import shutil
    import subprocess

    exe = shutil.which("pdftotext")
    if exe:
        proc = subprocess.run(
            [exe, "-layout", "-enc", "UTF-8", "-q", str(path), "-"],
            capture_output=True,
            check=True,
            timeout=300,
        )
        pages = proc.stdout.decode("utf-8", errors="replace").split("\f")
        return pages[:n_pages] if n_pages is not None else pages[:-1]
    from pypdf import PdfReader

    return [p.extract_text(extraction_mode="layout") or "" for p in PdfReader(path).pages]


def _cells(line: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _CELL.finditer(line)]


def _numbers(cell: tuple[int, int, str]) -> list[tuple[int, int, str]] | None:
    """The whole numbers of a data cell with their positions; None for a cell of words."""
    start, _, text = cell
    masked = _NOT_COUNT.sub(lambda m: " " * len(m.group()), text)
    if _LETTER.search(masked):
        return None  # a label, a sentence, a page number ("Page 1 of 4"), "1 (most deprived)"
    return [
        (start + m.start(), start + m.end(), m.group())
        for m in re.finditer(r"\S+", masked)
        if _INTEGER.fullmatch(m.group())
    ]


def _is_heading_line(line: str) -> bool:
    """A line of words only (no number, no [c]): a table heading row or part of one."""
    return bool(line.strip()) and all(
        _numbers(c) is None and not _NOT_COUNT.search(c[2]) for c in _cells(line)
    )


def _merge_heading(lines: list[str]) -> list[tuple[int, int, str]]:
    """Column headings of a heading block of one or more lines (wrapped headings joined)."""
    cols: list[list[Any]] = [[a, b, t] for a, b, t in _cells(lines[0])]
    for line in lines[1:]:
        for a, b, t in _cells(line):
            for c in cols:
                if a < c[1] and b > c[0]:
                    c[0], c[1], c[2] = min(a, c[0]), max(b, c[1]), f"{c[2]} {t}"
                    break
            else:
                cols.append([a, b, t])
    out = []
    for a, _b, t in cols:
        out += _split_heading(a, _header_key(t))
    return sorted(out)


def _split_heading(start: int, text: str) -> list[tuple[int, int, str]]:
    """Split a heading run in which a count heading touches its neighbour by one space only.

    ``Share CLA children`` becomes ``Share`` and ``CLA children``, so a narrow table whose
    headings ``pdftotext`` joined still has its count column.
    """
    from cwi.disclosure.registry import STRUCTURAL_COLUMNS

    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    if (
        _count_heading(text)
        or len(words) < 2
        or text.lower().replace(" ", "_") in STRUCTURAL_COLUMNS  # "n la" is n_la
    ):
        return [(start, start + len(text), text)]
    for i in range(len(words)):
        for j in range(len(words), i, -1):
            if (i, j) == (0, len(words)):
                continue
            part = text[words[i][0] : words[j - 1][1]]
            if len(part) > 2 and _count_heading(part):  # never a lone "n" out of a phrase
                spans = [(0, words[i][0] - 1), (words[i][0], words[j - 1][1])]
                spans.append((words[j - 1][1] + 1, len(text)))
                return [
                    (start + x, start + y, text[x:y].strip())
                    for x, y in spans
                    if y > x and text[x:y].strip()
                ]
    return [(start, start + len(text), text)]


def _count_heading(text: str) -> bool:
    from cwi.disclosure.registry import STRUCTURAL_COLUMNS

    return bool(_COUNT_HEADER.match(text)) and (
        text.lower().replace(" ", "_") not in STRUCTURAL_COLUMNS
    )


def _pdf_table_limit(before: list[str]) -> int:
    """The documented minimum of a PDF table, found by its title in the lines above it."""
    from cwi.disclosure.registry import TABLE_TITLES, documented_limit

    for line in reversed(before):
        text = _header_key(line).lower()
        for name, title in TABLE_TITLES.items():
            if text and text.startswith(_header_key(title).lower()):
                return documented_limit(name)
    return documented_limit(None)


def _column_of(a: int, b: int, cols: list[tuple[int, int, str]]) -> int:
    """The heading a value at ``[a, b)`` stands under: most overlap, else the nearest."""

    def distance(col: tuple[int, int, str]) -> tuple[int, int]:
        overlap = min(b, col[1]) - max(a, col[0])
        gap = max(col[0] - b, a - col[1], 0)
        return (-overlap, 0) if overlap > 0 else (1, gap)

    return min(range(len(cols)), key=lambda i: distance(cols[i]))


def scan_pdf_tables(pages: list[str], col: _Collector) -> None:
    """Child counts under the table's documented threshold in the tables of a PDF's pages.

    Works on layout text (:func:`pdf_pages_text`). A table starts at a heading block (one to
    three lines of words, at least two columns) naming a count column as the HTML scanner knows
    them (``CIN children``, ``Observed``, ``n``...); each whole number below it is assigned to
    the heading it stands under. Cells of words (labels, sentences, "Page 1 of 4", "1 (most
    deprived)"), intervals, decimals and percentages are never counts. The table ends at a new
    heading row, three blank lines or the end of the page.
    """
    for p_no, page in enumerate(pages, start=1):
        lines = page.split("\n")
        t_no, i = 0, 0
        while i < len(lines):
            cols: list[tuple[int, int, str]] = []
            if len(_cells(lines[i])) >= 2 and _is_heading_line(lines[i]):
                for size in (1, 2, 3):
                    block = lines[i : i + size]
                    if len(block) < size or not all(_is_heading_line(x) for x in block):
                        break
                    merged = _merge_heading(block)
                    if any(_count_heading(c[2]) for c in merged):
                        cols = merged
                        break
            if not cols:
                i += 1
                continue
            t_no += 1
            before = [x for x in lines[max(0, i - 6) : i] if x.strip()][-4:]
            limit = _pdf_table_limit(before)
            counted = {k for k, c in enumerate(cols) if _count_heading(c[2])}
            i += len(block)
            blank, rows = 0, 0
            while i < len(lines):
                line = lines[i]
                if not line.strip():
                    blank += 1
                    if blank >= 3:
                        break
                    i += 1
                    continue
                blank = 0
                if rows and len(_cells(line)) >= 2 and _is_heading_line(line):
                    break  # the next table's heading
                rows += 1
                for cell in _cells(line):
                    for a, b, number in _numbers(cell) or []:
                        k = _column_of(a, b, cols)
                        if k in counted and _small(number, limit):
                            col.add(
                                "small count",
                                f"page {p_no} table {t_no} row {rows}, column '{cols[k][2]}'",
                            )
                i += 1


def _scan_pdf(path: Path, col: _Collector, sentinels: Iterable[str]) -> None:
    from pypdf import PdfReader

    reader = PdfReader(path)
    for key, value in (reader.metadata or {}).items():
        if isinstance(value, str) and not str(key).endswith("Date"):
            col.text(value, f"metadata {key}", sentinels, lines=False)
    try:
        xmp = reader.trailer["/Root"].get("/Metadata")
        if xmp is not None:
            data = xmp.get_object().get_data().decode("utf-8", errors="ignore")
            col.text(data, "XMP metadata", sentinels, lines=False)
    except Exception:  # noqa: BLE001 - malformed XMP is not a leak; text is still scanned
        pass
    pages = pdf_pages_text(path, len(reader.pages))
    for number, text in enumerate(pages, start=1):
        col.text(text, f"page {number}", sentinels, lines=False)
    scan_pdf_tables(pages, col)
    attached: list[tuple[str, bytes]] = []
    for number, page in enumerate(reader.pages, start=1):
        annots = page.get("/Annots")
        for annot in annots.get_object() if annots is not None else []:
            annot = annot.get_object()
            action = annot.get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if isinstance(uri, str):
                col.text(uri, f"page {number} link", sentinels, lines=False)
            if annot.get("/Subtype") == "/FileAttachment":
                spec = annot.get("/FS")
                spec = spec.get_object() if spec is not None else {}
                name = str(spec.get("/UF") or spec.get("/F") or "file")
                data = b""
                ef = spec.get("/EF") if hasattr(spec, "get") else None
                if ef is not None:
                    stream = ef.get_object().get("/F")
                    data = stream.get_object().get_data() if stream is not None else b""
                attached.append((name, data))
    for name, contents in (reader.attachments or {}).items():
        attached.extend((name, blob) for blob in contents)
    for k, (name, blob) in enumerate(attached, start=1):
        col.add("PDF attachment", f"attachment {k}")
        col.text(name, f"attachment {k} name", sentinels, lines=False)
        if Path(name).suffix.lower() in PRIVATE_SUFFIXES or blob[:4] == b"PAR1":
            col.add("private data file", f"attachment {k}")
        col.text(blob.decode("utf-8", errors="ignore"), f"attachment {k}", sentinels)


def scan_file(
    path: Path,
    sentinels: Iterable[str] = (),
    thresholds: Mapping[str, int] | None = None,
    name: str | None = None,
    years: Iterable[int] | None = None,
) -> list[LeakFinding]:
    """Scan one file (by its suffix) and its name.

    Parameters
    ----------
    path : Path
        The file.
    sentinels : iterable of str
        Planted strings to look for.
    thresholds : mapping, optional
        Ignored for the small-count limit (kept for callers): the scanner always applies the
        registry's documented minimum per table, never the user's setting.
    name : str, optional
        Name to scan as the file's name (defaults to ``path.name``).
    years : iterable of int, optional
        The build's collection years, bounding possible dates of birth.

    Returns
    -------
    list of LeakFinding
        One per kind found; a file that cannot be read is reported as kind ``unreadable``.
    """
    sentinels = [s for s in sentinels if s and s.strip()]
    col = _Collector(path, dob_window(years))
    col.text(name if name is not None else path.name, "file name", sentinels, lines=False)
    suffix = path.suffix.lower()
    if suffix in PRIVATE_SUFFIXES or path.name == "pseudo.key":
        col.add("private data file", "the file itself")
        return col.findings()
    readers: dict[str, Callable[[], None]] = {
        ".json": lambda: _scan_json(path, col, sentinels),
        ".geojson": lambda: _scan_json(path, col, sentinels),
        ".csv": lambda: _scan_csv(path, col, sentinels),
        ".tsv": lambda: _scan_csv(path, col, sentinels),
        ".xlsx": lambda: _scan_xlsx(path, col, sentinels),
        ".xlsm": lambda: _scan_xlsx(path, col, sentinels),
        ".pdf": lambda: _scan_pdf(path, col, sentinels),
    }
    try:
        if suffix in readers:
            readers[suffix]()
        elif suffix in MARKUP_SUFFIXES:
            _scan_markup(path, col, sentinels)
        elif suffix in TEXT_SUFFIXES:
            col.text(_read_text(path), "", sentinels)
        elif suffix in IMAGE_SUFFIXES:
            _scan_image(path, col, sentinels)
    except Exception as exc:  # noqa: BLE001 - an unreadable output must fail the scan, not crash it
        return [
            *col.findings(),
            LeakFinding(path, "unreadable", f"could not be read ({type(exc).__name__})"),
        ]
    return col.findings()


#: Bump when the meaning of a cached scan result changes without a code change.
SCAN_CACHE_FORMAT = "1"


def _scan_setup_key(
    sentinels: list[str], thresholds: Mapping[str, int], years: list[int] | None
) -> str:
    """Key of everything besides a file's bytes and name that decides its findings.

    The package source (this scanner, the disclosure registry) is in every key through
    :func:`cwi.fingerprint.content_key`; the readers' library versions and ``pdftotext`` are
    added here.
    """
    import shutil
    from importlib import metadata

    from cwi.fingerprint import content_key

    versions = []
    for dist in ("pypdf", "openpyxl", "pillow", "lxml"):
        try:
            versions.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist}=-")
    pdftotext = shutil.which("pdftotext") or "-"
    return content_key(
        "leak-scan",
        SCAN_CACHE_FORMAT,
        json.dumps(sorted(sentinels)),
        json.dumps(sorted(thresholds.items())),
        json.dumps(years),
        ";".join(versions),
        pdftotext,
    )


class ScanCache:
    """Findings of earlier scans, per file, under ``<build_dir>/cache/scan/``.

    An entry's key is the file's digest, its name in the scanned folder and the scan setup
    (:func:`_scan_setup_key`: code version, sentinels, thresholds, years, reader versions), so a
    changed file, a changed scanner or new sentinels always scan again. Cached findings are
    returned like new ones: a leak found once keeps failing the build until the file changes.
    The record holds only kinds and places, never a value (as the scan report).
    """

    def __init__(self, folder: Path) -> None:
        self.record = Path(folder) / "findings.json"
        try:
            self.entries: dict[str, list[list[str]]] = json.loads(
                self.record.read_text(encoding="utf-8")
            )
        except (FileNotFoundError, ValueError):
            self.entries = {}
        self.used: dict[str, list[list[str]]] = {}
        self.hits = 0

    def get(self, key: str, path: Path) -> list[LeakFinding] | None:
        """The cached findings of ``path`` under ``key`` (None when not cached)."""
        found = self.entries.get(key)
        if found is None:
            return None
        self.used[key] = found
        self.hits += 1
        return [LeakFinding(path, kind, detail) for kind, detail in found]

    def put(self, key: str, findings: list[LeakFinding]) -> None:
        """Remember the findings of a file just scanned."""
        self.used[key] = [[f.kind, f.detail] for f in findings]

    def save(self) -> None:
        """Write the entries of this scan (older ones dropped) atomically."""
        from cwi.io import write_text

        write_text(self.record, json.dumps(self.used, sort_keys=True))

    def save_all(self) -> None:
        """Write the entries read and those added, atomically (a prescan drops nothing)."""
        from cwi.io import write_text

        write_text(self.record, json.dumps({**self.entries, **self.used}, sort_keys=True))


def prescan(
    files: Mapping[Path, str],
    sentinels: Iterable[str],
    cache: Path,
    years: Iterable[int] | None = None,
    thresholds: Mapping[str, int] | None = None,
) -> int:
    """Scan files before they are published and keep their findings for :func:`scan_paths`.

    ``files`` maps each file to the name it will have in the scanned folder (e.g. the project's
    ``downloads/x.xlsx`` -> ``downloads/x.xlsx`` under ``_site``). A file published with the
    same bytes under that name, scanned with the same sentinels, thresholds and years, is then
    a hit in the scan's :class:`ScanCache` (keyed by its digest, name and the scan setup, as
    always); any other file is scanned again by :func:`scan_paths`. The build runs this in a
    worker while the site is rendered. Returns the number of files scanned here.
    """
    from cwi.fingerprint import content_key, file_digest

    sentinels = list(sentinels)
    thresholds = dict(thresholds or {})
    years = list(years) if years is not None else None
    store = ScanCache(cache)
    setup = _scan_setup_key(sentinels, thresholds, years)
    scanned = 0
    for path, name in files.items():
        digest = file_digest(path)
        if digest is None:
            continue
        key = content_key(setup, name, digest)
        if key in store.entries:
            continue
        findings = scan_file(Path(path), sentinels, thresholds, name, years)
        if file_digest(path) != digest:
            continue  # changed while read: not kept (the scan reads it again)
        store.put(key, findings)
        scanned += 1
    if scanned:
        store.save_all()
    return scanned


def scan_paths(
    root: Path,
    sentinels: Iterable[str] = (),
    thresholds: Mapping[str, int] | None = None,
    workers: int | None = None,
    years: Iterable[int] | None = None,
    cache: Path | None = None,
) -> list[LeakFinding]:
    """Scan every file under ``root`` (or ``root`` itself if it is a file).

    Parameters
    ----------
    root : Path
        Output folder, e.g. ``_site``.
    sentinels : iterable of str
        Planted strings (ids, postcodes, dates) that must not appear.
    thresholds : mapping, optional
        Not used for limits (see :func:`scan_file`); kept for callers.
    workers : int, optional
        Processes for PDF and XLSX files (their text extraction dominates the run time);
        defaults to the number of CPUs. ``1`` scans everything in this process.
    years : iterable of int, optional
        Collection years of the build (bounding possible dates of birth); defaults to the
        settings file's ``release.years``.
    cache : Path, optional
        Folder of a :class:`ScanCache` (the build's ``cache/scan``): files unchanged since an
        earlier scan with the same setup are not read again; their findings are reported as
        before.

    Returns
    -------
    list of LeakFinding
        Sorted by file and kind; empty when the outputs are clean.
    """
    root = Path(root)
    if years is None:
        try:
            from cwi.config import load_settings

            years = list(load_settings().years)
        except Exception:  # noqa: BLE001 - no settings: possible births of the last 19 years
            years = None
    years = list(years) if years is not None else None
    thresholds = dict(thresholds or {})
    sentinels = list(sentinels)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    names = {p: (p.relative_to(root).as_posix() if p != root else p.name) for p in files}
    results: dict[Path, list[LeakFinding]] = {}
    store = ScanCache(cache) if cache is not None else None
    keys: dict[Path, str] = {}
    if store is not None:
        from cwi.fingerprint import content_key, file_digest

        setup = _scan_setup_key(sentinels, thresholds, years)
        for p in files:
            keys[p] = content_key(setup, names[p], file_digest(p) or "missing")
            hit = store.get(keys[p], p)
            if hit is not None:
                results[p] = hit
    todo = [p for p in files if p not in results]
    # the biggest first (the workbook of all tables takes longest), so the workers end together
    heavy = sorted(
        (p for p in todo if p.suffix.lower() in _HEAVY_SUFFIXES),
        key=lambda p: -p.stat().st_size,
    )
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(heavy) > 2:
        import multiprocessing

        from cwi.io import worker_pool

        # fresh interpreters, not forks: a fork of the build process shares (and, as RSS,
        # counts again) everything the build holds, which made the scan the build's peak.
        # This process is one of the ``workers``: a fresh interpreter pays its imports, so
        # only ``workers - 1`` are started; they take the heavy files biggest first, while
        # this process scans the rest and then takes heavy files not yet started, smallest
        # first (a future that has not started can be cancelled).
        spawn = multiprocessing.get_context("spawn")
        with worker_pool(min(workers - 1, len(heavy)), mp_context=spawn) as pool:  # die w/ build
            futures = {
                p: pool.submit(scan_file, p, sentinels, thresholds, names[p], years) for p in heavy
            }
            for p in todo:
                if p not in futures:
                    results[p] = scan_file(p, sentinels, thresholds, names[p], years)
            for p in reversed(heavy):
                if futures[p].cancel():  # not started by a worker: scanned here
                    results[p] = scan_file(p, sentinels, thresholds, names[p], years)
            for p, fut in futures.items():
                if p not in results:
                    results[p] = fut.result()
    else:
        for p in todo:
            results[p] = scan_file(p, sentinels, thresholds, names[p], years)
    if store is not None:
        for p in todo:
            store.put(keys[p], results[p])
        store.save()
    return [f for p in files for f in results[p]]


def scan_cli(directory: Path, settings: Settings) -> int:
    """Scan a folder of outputs and print a table of findings (for ``cwi scan``).

    Parameters
    ----------
    directory : Path
        Folder to scan.
    settings : cwi.config.Settings
        Release settings (thresholds).

    Returns
    -------
    int
        0 when clean, 1 when anything was found or the folder does not exist.
    """
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    directory = Path(directory)
    if not directory.exists():
        console.print(
            f"[red]Nothing to scan: {directory} does not exist.[/red] Build the site first "
            "(cwi build) or pass the output folder."
        )
        return 1
    findings = scan_paths(directory, years=getattr(settings, "years", None))
    n_files = sum(1 for p in directory.rglob("*") if p.is_file()) if directory.is_dir() else 1
    if not findings:
        console.print(f"[green]Leak scan clean:[/green] {n_files} files under {directory}.")
        return 0
    table = Table(title=f"Leak scan: {len(findings)} finding(s) under {directory}")
    table.add_column("file")
    table.add_column("kind")
    table.add_column("where")
    base = directory if directory.is_dir() else directory.parent
    for f in findings:
        table.add_row(str(Path(f.file).relative_to(base)), f.kind, f.detail)
    console.print(table)
    counts = Counter(f.kind for f in findings)
    console.print(
        "[red]The build must not be published.[/red] Remove the values listed ("
        + ", ".join(f"{k}: {v} file(s)" for k, v in counts.items())
        + ") from the templates or tables that produced these files, then rebuild."
    )
    return 1
