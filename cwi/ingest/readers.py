"""Read one extract file into raw text tables, recognising the table by its content.

CSV tables are recognised by their column set (after normalising case, spaces, a byte-order
mark and the aliases ``CHILDID`` -> ``CHILD``, ``PL`` -> ``PLACE``), never by file name; XML files
by their root element (``EXPSSDA903`` for the SSDA903 return, ``Message`` with a CIN collection for
the CIN census). Large XML is stream-parsed with :func:`lxml.etree.iterparse`, clearing each child
record once read.

Row numbers: a CSV row is the 1-based line number in the file (header on line 1; a quoted field
spanning lines numbers the record by its first line); an XML row is the 1-based ordinal of the
child record. Every cell is read as text; typing is done by the rules.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from lxml import etree

# ---- known tables -------------------------------------------------------------------------------
#: Columns of each recognised CSV table (upper case) and the ones the ingest needs.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "HEADER": (
        ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"),
        ("CHILD", "SEX", "DOB", "ETHNIC"),
    ),
    "EPISODES": (
        (
            "CHILD",
            "DECOM",
            "RNE",
            "LS",
            "CIN",
            "PLACE",
            "PLACE_PROVIDER",
            "DEC",
            "REC",
            "REASON_PLACE_CHANGE",
            "HOME_POST",
            "PL_POST",
            "URN",
        ),
        ("CHILD", "DECOM", "LS", "DEC", "HOME_POST"),
    ),
    "UASC": (("CHILD", "SEX", "DOB", "DUC"), ("CHILD", "DUC")),
    "REVIEWS": (("CHILD", "DOB", "REVIEW", "REVIEW_CODE"), ("CHILD", "REVIEW")),
    "OC2": (
        (
            "CHILD",
            "DOB",
            "SDQ_SCORE",
            "SDQ_REASON",
            "CONVICTED",
            "HEALTH_CHECK",
            "IMMUNISATIONS",
            "TEETH_CHECK",
            "HEALTH_ASSESSMENT",
            "SUBSTANCE_MISUSE",
            "INTERVENTION_RECEIVED",
            "INTERVENTION_OFFERED",
        ),
        ("CHILD", "SDQ_SCORE"),
    ),
    "OC3": (("CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"), ("CHILD", "IN_TOUCH")),
    "AD1": (
        (
            "CHILD",
            "DOB",
            "DATE_INT",
            "DATE_MATCH",
            "FOSTER_CARE",
            "NB_ADOPTR",
            "SEX_ADOPTR",
            "LS_ADOPTR",
        ),
        ("CHILD", "DATE_INT"),
    ),
    "PLACEDADOPTION": (
        ("CHILD", "DOB", "DATE_PLACED", "DATE_PLACED_CEASED", "REASON_PLACED_CEASED"),
        ("CHILD", "DATE_PLACED"),
    ),
    "PREVPERM": (("CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"), ("CHILD", "PREV_PERM")),
    "MISSING": (("CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"), ("CHILD", "MIS_START")),
    "SWEPISODES": (
        ("CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"),
        ("CHILD", "SW_DECOM"),
    ),
    "DOLO": (("CHILD", "DOB", "DOLO_START", "DOLO_END"), ("CHILD", "DOLO_START")),
    "ADDRESSES": (("LACHILDID", "POSTCODE", "AS_AT"), ("LACHILDID", "POSTCODE", "AS_AT")),
    "STANDARD": (
        (
            "CHILD_ID",
            "MEASURE",
            "START_DATE",
            "END_DATE",
            "DOB",
            "SEX",
            "ETHNICITY",
            "DISABLED",
            "LEGAL_STATUS",
            "POSTCODE",
        ),
        ("CHILD_ID", "MEASURE", "START_DATE", "DOB", "SEX", "ETHNICITY", "POSTCODE"),
    ),
}
ID_COLUMN = {"ADDRESSES": "LACHILDID", "STANDARD": "CHILD_ID"}
HEADER_ALIASES = {
    "CHILDID": "CHILD",
    "PL": "PLACE",
    "LA_CHILD_ID": "LACHILDID",
    "LACHILD_ID": "LACHILDID",
    "ASAT": "AS_AT",
    # common export names of the address extract's date the address applies from
    "ADDRESSSTARTDATE": "AS_AT",
    "ADDRESS_START_DATE": "AS_AT",
    "ADDRESSSTART": "AS_AT",
    "ADDRESS_START": "AS_AT",
    "ADDRESSFROM": "AS_AT",
    "AS_AT_DATE": "AS_AT",
    "POST_CODE": "POSTCODE",
    "ADDRESSPOSTCODE": "POSTCODE",
    "ADDRESS_POSTCODE": "POSTCODE",
}
#: Delimiters that are refused (with a rule naming them) instead of read as one column.
OTHER_DELIMITERS = {";": "FILE_DELIMITER_SEMICOLON", "\t": "FILE_DELIMITER_TAB",
                    "|": "FILE_DELIMITER_PIPE"}  # fmt: skip
#: XML namespaces of the statutory returns: none, or the DfE common basic data set namespace
#: that CIN census exports declare. Any other namespace is refused (FILE_XML_NAMESPACE).
XML_NAMESPACES = {"", "http://www.dcsf.gov.uk/schemas/cbds", "http://www.dfe.gov.uk/schemas/cbds"}


class UnreadableFile(Exception):
    """The file cannot be decoded or parsed at all (the rule code is carried in ``code``)."""

    def __init__(self, code: str = "FILE_UNREADABLE") -> None:
        super().__init__(code)
        self.code = code


@dataclass
class SourceFile:
    """One extract file as read: its table kind, row count and raw text frames.

    ``tables`` maps a table kind (``HEADER``, ``EPISODES``, ``CIN_CHILDREN``, ...) to a frame of
    text cells with a ``_row`` column. ``notes`` holds file- and row-level findings raised while
    reading, as ``(row, column, rule_code)``.
    """

    path: Path
    rel: str
    fmt: str = "csv"
    kind: str = "UNKNOWN"
    rows_in: int = 0
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[tuple[int, str, str]] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)
    file_rejected: bool = False
    unreadable: bool = False
    xml_year: int | None = None


# ---- decoding ------------------------------------------------------------------------------------
def decode(data: bytes) -> tuple[str, str | None]:
    """Decode a CSV's bytes; return the text and the encoding rule code to report (or None)."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise UnreadableFile()  # xlsx / xls / zip
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "FILE_ENCODING_BOM"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "FILE_ENCODING_UTF16"
        except UnicodeDecodeError as exc:
            raise UnreadableFile() from exc
    if b"\x00" in data[:4096]:
        raise UnreadableFile()
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "FILE_ENCODING_CP1252"
    except UnicodeDecodeError as exc:
        raise UnreadableFile() from exc


def normalise_header(name: str) -> str:
    """Normalise a CSV column name: strip BOM, quotes and spaces, upper-case, apply aliases."""
    clean = name.replace("\ufeff", "").strip().strip('"').strip().upper().replace(" ", "_")
    return HEADER_ALIASES.get(clean, clean)


def match_table(columns: list[str]) -> tuple[str, list[str]]:
    """Return the best-matching table and its missing required columns (``UNKNOWN`` if none)."""
    have = set(columns)
    best, best_key = "UNKNOWN", (0, 0.0)
    for name, (cols, _required) in TABLES.items():
        overlap = len(have & set(cols))
        frac = overlap / len(cols)
        id_col = ID_COLUMN.get(name, "CHILD")
        if id_col not in have or overlap < 2 or frac < 0.5:
            continue
        key = (overlap, frac)
        if key > best_key:
            best, best_key = name, key
    if best == "UNKNOWN":
        return best, []
    missing = [c for c in TABLES[best][1] if c not in have]
    return best, missing


# ---- CSV -------------------------------------------------------------------------------------------
def read_csv_file(src: SourceFile, data: bytes) -> None:
    """Fill ``src`` from a CSV file's bytes (see module docstring for row numbers)."""
    text, enc_code = decode(data)
    if enc_code:
        src.notes.append((0, "", enc_code))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        header = []
    except csv.Error as exc:
        raise UnreadableFile() from exc
    if not any(h.strip() for h in header):
        src.kind = "EMPTY"
        src.notes.append((0, "", "FILE_EMPTY"))
        return
    if len(header) == 1:
        for delim, code in OTHER_DELIMITERS.items():
            if delim in header[0]:
                raise UnreadableFile(code)
    names = [normalise_header(h) for h in header]
    kind, missing = match_table(names)
    src.kind = kind
    rows: list[list[str]] = []
    row_numbers: list[int] = []
    prev = reader.line_num
    try:
        for record in reader:
            start = prev + 1
            prev = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue  # blank line (e.g. trailing rows): not a data row
            src.rows_in += 1
            if len(record) != len(names):
                src.notes.append((start, "", "ROW_FIELD_COUNT"))
                src.bad_rows.add(start)
                continue
            rows.append(record)
            row_numbers.append(start)
    except csv.Error as exc:
        raise UnreadableFile() from exc
    if src.rows_in == 0:
        src.notes.append((0, "", "FILE_EMPTY"))
    if kind == "UNKNOWN":
        src.notes.append((0, "", "FILE_UNKNOWN_TABLE"))
        src.file_rejected = True
        return
    if missing:
        src.notes.append((0, ",".join(missing), "FILE_MISSING_COLUMNS"))
        src.file_rejected = True
        return
    seen: set[str] = set()
    keep: list[int] = []
    for i, name in enumerate(names):
        if name in seen:
            src.notes.append((0, name, "FILE_DUPLICATE_COLUMNS"))
            continue
        seen.add(name)
        keep.append(i)
    frame = pd.DataFrame(
        [[r[i] for i in keep] for r in rows], columns=[names[i] for i in keep], dtype=object
    )
    if frame.empty:
        frame = pd.DataFrame(columns=[names[i] for i in keep], dtype=object)
    for col in TABLES[kind][0]:
        if col not in frame:
            frame[col] = ""
    frame["_row"] = pd.Series(row_numbers, dtype="int64", index=frame.index)
    src.tables[kind] = frame


# ---- XML -------------------------------------------------------------------------------------------
_LOCAL_NAMES: dict[object, str] = {}


def _local(tag: object) -> str:
    """Local name of an element tag, without any ``{namespace}`` (comments give "").

    A file holds a few dozen distinct tags but millions of elements, so names are memoised.
    """
    try:
        return _LOCAL_NAMES[tag]
    except KeyError:
        name = _LOCAL_NAMES[tag] = tag[tag.rfind("}") + 1 :] if isinstance(tag, str) else ""
        return name


def _text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    if len(el):  # an element with children where text was expected
        return ""
    return (el.text or "").strip()


def _first(el: etree._Element, name: str) -> etree._Element | None:
    # "{*}name": the element (or a descendant) of that local name in any or no namespace,
    # in document order; lxml filters in C rather than Python testing every descendant.
    return next(el.iter("{*}" + name), None)


def _all(el: etree._Element, name: str) -> list[etree._Element]:
    return list(el.iter("{*}" + name))


def _fields(el: etree._Element | None, names: tuple[str, ...]) -> dict[str, str]:
    out = dict.fromkeys(names, "")
    if el is None:
        return out
    for sub in el:
        name = _local(sub.tag)
        if name in out and not out[name]:
            out[name] = _text(sub)
    return out


_903_HEADER = ("CHILDID", "SEX", "DOB", "ETHNIC", "UASC", "UPN")
_903_EPISODE = (
    "DECOM",
    "RNE",
    "LS",
    "CIN",
    "PL",
    "PL_POST",
    "HOME_POST",
    "URN",
    "PLACE_PROVIDER",
    "DEC",
    "REC",
    "REASON_PLACE_CHANGE",
)


def _read_903_child(
    el: etree._Element, row: int, headers: list[dict], episodes: list[dict]
) -> None:
    header = _fields(_first(el, "HEADER"), _903_HEADER)
    headers.append(
        {
            "CHILD": header["CHILDID"],
            "SEX": header["SEX"],
            "DOB": header["DOB"],
            "ETHNIC": header["ETHNIC"],
            "UASC": header["UASC"],
            "_row": row,
        }
    )
    for ep in _all(el, "EPISODE"):
        rec = _fields(ep, _903_EPISODE)
        rec["PLACE"] = rec.pop("PL")
        rec["CHILD"] = header["CHILDID"]
        rec["_row"] = row
        episodes.append(rec)


_CIN_IDS = (
    "LAchildID",
    "PersonBirthDate",
    "ExpectedPersonBirthDate",
    "GenderCurrent",
    "Sex",
    "PersonDeathDate",
)


def _read_cin_child(el: etree._Element, row: int, out: dict[str, list[dict]]) -> None:
    ids = _fields(_first(el, "ChildIdentifiers"), _CIN_IDS)
    chars = _first(el, "ChildCharacteristics")
    ethnic = _text(_first(chars, "Ethnicity")) if chars is not None else ""
    disab = _first(el, "Disabilities")
    codes = [_text(d).upper() for d in _all(disab, "Disability")] if disab is not None else []
    sex_vocab = "Sex" if _first(el, "Sex") is not None else "GenderCurrent"
    out["CIN_CHILDREN"].append(
        {
            "LACHILDID": ids["LAchildID"],
            "DOB": ids["PersonBirthDate"],
            "EXPECTED_DOB": ids["ExpectedPersonBirthDate"],
            "SEX": ids["Sex"] if sex_vocab == "Sex" else ids["GenderCurrent"],
            "SEX_VOCAB": sex_vocab,
            "DEATH": ids["PersonDeathDate"],
            "ETHNIC": ethnic,
            "DISABILITIES": "|".join(c for c in codes if c),
            "HAS_DISABILITIES": "1" if disab is not None else "",
            "_row": row,
        }
    )
    for det in _all(el, "CINdetails"):
        f = _fields(det, ("CINreferralDate", "CINclosureDate"))
        out["CIN_REFERRALS"].append(
            {
                "LACHILDID": ids["LAchildID"],
                "REF_DATE": f["CINreferralDate"],
                "CLOSE_DATE": f["CINclosureDate"],
                "_row": row,
            }
        )
        for plan in _all(det, "ChildProtectionPlans"):
            p = _fields(plan, ("CPPstartDate", "CPPendDate", "NumberOfPreviousCPP"))
            out["CIN_PLANS"].append(
                {
                    "LACHILDID": ids["LAchildID"],
                    "START": p["CPPstartDate"],
                    "END": p["CPPendDate"],
                    "PREV_CPP": p["NumberOfPreviousCPP"],
                    "_row": row,
                }
            )


def read_xml_file(src: SourceFile) -> None:
    """Stream-parse an SSDA903 or CIN census XML file into ``src``."""
    src.fmt = "xml"
    headers: list[dict] = []
    episodes: list[dict] = []
    cin: dict[str, list[dict]] = {"CIN_CHILDREN": [], "CIN_REFERRALS": [], "CIN_PLANS": []}
    root_name = None
    depth = 0
    ref_year = header_year = None
    try:
        for event, el in etree.iterparse(
            str(src.path),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            huge_tree=True,
        ):
            name = _local(el.tag)
            if event == "start":
                depth += 1
                if root_name is None:
                    root_name = name
                    tag = str(el.tag)
                    namespace = tag[1:].split("}")[0] if tag.startswith("{") else ""
                    if namespace not in XML_NAMESPACES:
                        raise UnreadableFile("FILE_XML_NAMESPACE")
                    if name == "EXPSSDA903":
                        src.kind = "SSDA903_XML"
                    elif name == "Message":
                        src.kind = "CIN_XML"
                    else:
                        src.kind = "UNKNOWN"
                continue
            depth -= 1
            if src.kind == "SSDA903_XML" and name == "CHILD" and depth == 1:
                src.rows_in += 1
                _read_903_child(el, src.rows_in, headers, episodes)
            elif src.kind == "CIN_XML" and name == "Child":
                src.rows_in += 1
                _read_cin_child(el, src.rows_in, cin)
            elif src.kind == "CIN_XML" and name == "ReferenceDate":
                ref_year = _text(el)[:4]
                continue
            elif src.kind == "CIN_XML" and name == "Year" and depth <= 4:
                header_year = _text(el)[:4]
                continue
            else:
                if depth <= 1:
                    el.clear(keep_tail=False)
                continue
            el.clear(keep_tail=False)
            parent = el.getparent()
            while parent is not None and el.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError:
        # truncated or damaged: the whole file is an error (children before the break are
        # not kept, so a part-file never passes for a complete return)
        raise UnreadableFile("FILE_XML_MALFORMED") from None
    except OSError as exc:
        raise UnreadableFile() from exc
    year = ref_year or header_year
    src.xml_year = int(year) if year and year.isdigit() else None
    if src.kind == "UNKNOWN":
        src.notes.append((0, "", "FILE_UNKNOWN_TABLE"))
        src.file_rejected = True
        return
    if src.rows_in == 0:
        src.notes.append((0, "", "FILE_EMPTY"))
    if src.kind == "SSDA903_XML":
        src.tables["HEADER"] = _frame(headers, ("CHILD", "SEX", "DOB", "ETHNIC", "UASC"))
        src.tables["EPISODES"] = _frame(episodes, TABLES["EPISODES"][0])
    else:
        cols = {
            "CIN_CHILDREN": (
                "LACHILDID",
                "DOB",
                "EXPECTED_DOB",
                "SEX",
                "SEX_VOCAB",
                "DEATH",
                "ETHNIC",
                "DISABILITIES",
                "HAS_DISABILITIES",
            ),
            "CIN_REFERRALS": ("LACHILDID", "REF_DATE", "CLOSE_DATE"),
            "CIN_PLANS": ("LACHILDID", "START", "END", "PREV_CPP"),
        }
        for name, records in cin.items():
            src.tables[name] = _frame(records, cols[name])


def _frame(records: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=[*columns, "_row"])
    for col in columns:
        frame[col] = frame[col].astype(object).fillna("")
    frame["_row"] = frame["_row"].astype("int64")
    return frame


def read_source(path: Path, rel: str) -> SourceFile:
    """Read one extract file, recognising its table by content.

    Parameters
    ----------
    path : Path
        The file.
    rel : str
        Its path as shown in the report (relative to the extracts root).

    Returns
    -------
    SourceFile
        Never raises for bad data: an unreadable file comes back with ``unreadable`` set and a
        ``FILE_UNREADABLE`` (or ``FILE_XML_MALFORMED``) note.
    """
    src = SourceFile(path=path, rel=rel)
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
        stripped = head.lstrip(b"\xef\xbb\xbf").lstrip()
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark
            try:
                stripped = head.decode("utf-16", errors="ignore").lstrip().encode("utf-8")
            except UnicodeDecodeError:
                stripped = b""
        if stripped.startswith(b"<"):
            read_xml_file(src)
        else:
            read_csv_file(src, path.read_bytes())
    except UnreadableFile as exc:
        src.unreadable = True
        src.file_rejected = True
        src.tables = {}
        src.notes = [(0, "", exc.code)]
    except (OSError, MemoryError):
        src.unreadable = True
        src.file_rejected = True
        src.tables = {}
        src.notes = [(0, "", "FILE_UNREADABLE")]
    return src
