"""Ingest one LA's extract for one year: validate rows, pseudonymise, link, take the snapshot.

The flow for one ``<root>/<la_code>/<year>/`` folder:

1. read every file and recognise its table by content (:mod:`cwi.ingest.readers`);
2. run the row rules, each isolated so a crashing rule is reported as ``RULE_CRASHED`` and the
   run goes on; a row with an ``error`` finding is rejected (for XML, the whole child record);
3. link every postcode-bearing row to an LSOA (:mod:`cwi.ingest.postcode`);
4. take the 31 March snapshot: CLA = an open SSDA903 episode other than short breaks (V3/V4),
   CIN = an open referral in the CIN census (looked-after children in the census count too),
   CPP = an open plan; plus any rows of the standard CSV;
5. pseudonymise ids (keyed HMAC, namespaced by LA) and drop DOB, postcode and raw ids.

Conservation: for each file, ``rows_in == accepted + rejected`` is computed and asserted.
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cwi.ingest import cells
from cwi.ingest.inventory import files_to_read
from cwi.ingest.postcode import PostcodeIndex, as_index, link, normalise
from cwi.ingest.pseudo import pseudonymise
from cwi.ingest.readers import SourceFile, read_source
from cwi.ingest.report import FINDING_COLUMNS, findings_frame
from cwi.ingest.rules import LINKED_REASONS, RULES
from cwi.schemas import CHILD_SNAPSHOT, ETHNIC_CODES, MEASURES, age_band

if TYPE_CHECKING:
    from cwi.config import Settings

CONSERVATION_COLUMNS = ("la_code", "year", "file", "rows_in", "accepted", "rejected")
LINKAGE_COLUMNS = ("year", "la_code", "measure", "children", "linked", "linkage_rate")
SUPPLIED_COLUMNS = ("la_code", "year", "measure")
PREV_CPP_MAX = 20
SDQ_MAX = 40


# ---- the result ------------------------------------------------------------------------------------
@dataclass
class IngestResult:
    """What the ingest hands on: children, findings, conservation and linkage tables.

    Attributes
    ----------
    children : pandas.DataFrame
        :data:`cwi.schemas.CHILD_SNAPSHOT`: one row per child per measure at 31 March.
    findings : pandas.DataFrame
        The validation report: file, row, child_pid, column, rule_code, severity, message.
    conservation : pandas.DataFrame
        la_code, year, file, rows_in, accepted, rejected (rows_in == accepted + rejected).
    linkage : pandas.DataFrame
        year, la_code, measure, children, linked, linkage_rate.
    supplied : pandas.DataFrame
        la_code, year, measure: the LA-year-measures an accepted extract table covers.
    """

    children: pd.DataFrame
    findings: pd.DataFrame
    conservation: pd.DataFrame
    linkage: pd.DataFrame
    supplied: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(SUPPLIED_COLUMNS))
    )

    @staticmethod
    def empty() -> IngestResult:
        """An empty result with every contracted column."""
        return IngestResult(
            children=_empty_children(),
            findings=pd.DataFrame(columns=list(FINDING_COLUMNS)),
            conservation=pd.DataFrame(columns=list(CONSERVATION_COLUMNS)),
            linkage=pd.DataFrame(columns=list(LINKAGE_COLUMNS)),
        )

    @staticmethod
    def concat(results: list[IngestResult]) -> IngestResult:
        """Stack several results (e.g. one per LA and year)."""
        results = [r for r in results if r is not None]
        if not results:
            return IngestResult.empty()

        def cat(frames: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
            frames = [f for f in frames if not f.empty]
            if not frames:
                return pd.DataFrame(columns=list(columns))
            return pd.concat(frames, ignore_index=True)[list(columns)]

        children = cat([r.children for r in results], CHILD_SNAPSHOT)
        if children.empty:
            children = _empty_children()
        else:
            children["age"] = children["age"].astype("Int64")
            children["age_band"] = pd.Categorical(
                children["age_band"].astype(object),
                categories=results[0].children["age_band"].cat.categories
                if isinstance(results[0].children["age_band"].dtype, pd.CategoricalDtype)
                else None,
                ordered=True,
            )
        return IngestResult(
            children=children,
            findings=cat([r.findings for r in results], FINDING_COLUMNS),
            conservation=cat([r.conservation for r in results], CONSERVATION_COLUMNS),
            linkage=cat([r.linkage for r in results], LINKAGE_COLUMNS),
            supplied=cat([r.supplied for r in results], SUPPLIED_COLUMNS),
        )

    def check_conservation(self) -> None:
        """Raise AssertionError naming the files where rows_in != accepted + rejected."""
        c = self.conservation
        bad = c[c["rows_in"] != c["accepted"] + c["rejected"]]
        assert bad.empty, f"Conservation fails for {list(bad['file'])}"


def _empty_children() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in CHILD_SNAPSHOT})
    frame["year"] = frame["year"].astype("int64")
    frame["age"] = frame["age"].astype("Int64")
    frame["age_band"] = age_band(pd.Series([], dtype="Int64"))
    return frame


# ---- findings collector --------------------------------------------------------------------------
class FileLog:
    """Findings and rejected rows of one file."""

    def __init__(self, src: SourceFile) -> None:
        self.src = src
        self.records: list[dict[str, object]] = []
        self.rejected: set[int] = set(src.bad_rows)
        for row, column, code in src.notes:
            self.add_one(row, "", column, code)

    def add_one(self, row: int, pid: object, column: str, code: str) -> None:
        """Record one finding."""
        self.records.append(
            {
                "file": self.src.rel,
                "row": int(row),
                "child_pid": pid or "",
                "column": column,
                "rule_code": code,
            }
        )
        if RULES[code].severity == "error" and row > 0:
            self.rejected.add(int(row))

    def add(
        self, frame: pd.DataFrame, mask: pd.Series | np.ndarray, column: str, code: str
    ) -> None:
        """Record ``code`` for every row of ``frame`` selected by ``mask``."""
        mask = np.asarray(pd.Series(mask, index=frame.index).fillna(False), dtype=bool)
        if not mask.any():
            return
        sel = frame.loc[mask]
        pids = sel["_pid"] if "_pid" in sel else pd.Series("", index=sel.index)
        for row, pid in zip(sel["_row"].tolist(), pids.tolist(), strict=True):
            self.add_one(row, pid, column, code)

    def drop(self, frame: pd.DataFrame, mask: pd.Series) -> None:
        """Mark rows as dropped without an error (exact duplicates)."""
        self.rejected.update(int(r) for r in frame.loc[mask.to_numpy(dtype=bool), "_row"])


def _guard(log: FileLog, name: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run one rule; a crash becomes a RULE_CRASHED finding and the run goes on."""
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - any rule failure must be reported, never raised
        log.add_one(0, "", name, "RULE_CRASHED")
        return None


# ---- per-table rules -----------------------------------------------------------------------------
def _dedupe(frame: pd.DataFrame, log: FileLog, key: list[str], key_column: str) -> pd.DataFrame:
    """Drop exact duplicate rows (ROW_DUPLICATE) and flag key duplicates (ROW_DUPLICATE_KEY)."""
    data_cols = [c for c in frame.columns if not c.startswith("_")]
    if log.src.fmt == "csv":
        exact = frame.duplicated(subset=data_cols, keep="first")
        log.add(frame, exact, "", "ROW_DUPLICATE")
        log.drop(frame, exact)
        frame = frame.loc[~exact]
    has_key = frame["_id"] != ""
    keyed = frame.loc[has_key]
    dup = keyed.duplicated(subset=key, keep="first")
    log.add(keyed, dup, key_column, "ROW_DUPLICATE_KEY")
    return frame


def _ids(
    frame: pd.DataFrame, log: FileLog, column: str, la_code: str, key: bytes, report: bool = True
) -> pd.DataFrame:
    ids, missing, damaged, invalid = cells.clean_ids(frame[column])
    frame = frame.assign(_id=ids.where(~invalid, ""))
    frame["_pid"] = pseudonymise(frame["_id"], la_code, key).fillna("")
    if not report:  # ids copied from the XML child record: reported once, on the header
        return frame
    log.add(frame, missing, column, "ID_MISSING")
    log.add(frame, damaged, column, "ID_EXCEL_DAMAGED")
    log.add(frame, invalid, column, "ID_INVALID")
    return frame


def _dates(
    frame: pd.DataFrame, log: FileLog, column: str, out: str, required: bool
) -> pd.DataFrame:
    dates, invalid = cells.parse_dates(frame[column])
    if required:
        invalid = invalid | (cells.clean(frame[column]) == "")
    log.add(frame, invalid, column, "DATE_INVALID")
    frame[out] = dates
    return frame


def _ethnic(frame: pd.DataFrame, log: FileLog, column: str) -> pd.DataFrame:
    code, alias, invalid = cells.ethnic_codes(frame[column])
    log.add(frame, alias, column, "ETHNIC_ALIAS")
    log.add(frame, invalid, column, "ETHNIC_INVALID")
    frame["_ethnic"] = code
    return frame


def _sex(frame: pd.DataFrame, log: FileLog, column: str, vocabulary: str) -> pd.DataFrame:
    sex, invalid = cells.sex_codes(frame[column], vocabulary)
    log.add(frame, invalid, column, "SEX_INVALID")
    frame["_sex"] = sex
    return frame


def _defaults(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutral values for derived columns, kept when the rule deriving them crashes."""
    frame["_dob"], frame["_sex"], frame["_ethnic"] = pd.NaT, "U", None
    return frame


def _dob_future(frame: pd.DataFrame, log: FileLog, column: str, snapshot: pd.Timestamp) -> None:
    log.add(frame, frame["_dob"] > snapshot, column, "DOB_FUTURE")


@dataclass
class Context:
    """What the rules of one LA-year need."""

    la_code: str
    year: int
    key: bytes
    index: PostcodeIndex
    snapshot: pd.Timestamp = field(init=False)

    def __post_init__(self) -> None:
        self.snapshot = pd.Timestamp(self.year, 3, 31)


def check_header(frame: pd.DataFrame, log: FileLog, ctx: Context) -> pd.DataFrame:
    """SSDA903 Header: id, duplicates, DOB, sex, ethnicity."""
    frame = _ids(frame, log, "CHILD", ctx.la_code, ctx.key)
    frame = _guard(log, "duplicates", _dedupe, frame, log, ["_id"], "CHILD")
    frame = _defaults(frame.copy())
    _guard(log, "DOB", _dates, frame, log, "DOB", "_dob", True)
    _guard(log, "DOB_FUTURE", _dob_future, frame, log, "DOB", ctx.snapshot)
    _guard(log, "SEX", _sex, frame, log, "SEX", "903")
    _guard(log, "ETHNIC", _ethnic, frame, log, "ETHNIC")
    return frame


def _episode_dates(frame: pd.DataFrame, log: FileLog) -> None:
    _dates(frame, log, "DECOM", "_start", True)
    _dates(frame, log, "DEC", "_end", False)
    log.add(frame, frame["_end"] < frame["_start"], "DEC", "DATE_ORDER")


def _legal_status(frame: pd.DataFrame, log: FileLog) -> None:
    ls = cells.clean(frame["LS"]).str.upper()
    log.add(frame, ~ls.isin(cells.LEGAL_STATUSES), "LS", "LEGAL_STATUS_INVALID")
    frame["_short_break"] = ls.isin(cells.SHORT_BREAK_STATUSES)
    log.add(frame, frame["_short_break"], "LS", "SHORT_BREAK")


def _place(frame: pd.DataFrame, log: FileLog, year: int) -> None:
    place = cells.clean(frame["PLACE"]).str.upper()
    log.add(frame, (place != "") & ~place.isin(cells.place_codes(year)), "PLACE", "PLACE_INVALID")


def _overlap(frame: pd.DataFrame, log: FileLog) -> None:
    ok = frame[(frame["_id"] != "") & frame["_start"].notna()].sort_values(
        ["_id", "_start", "_row"]
    )
    prev_end = ok.groupby("_id")["_end"].shift(1)
    prev_exists = ok.groupby("_id").cumcount() > 0
    overlap = prev_exists & (prev_end.isna() | (prev_end > ok["_start"]))
    log.add(ok, overlap, "DECOM", "EPISODE_OVERLAP")


def _home_is_placement(frame: pd.DataFrame, log: FileLog) -> None:
    home = normalise(frame["HOME_POST"])
    pl = normalise(frame["PL_POST"])
    place = cells.clean(frame["PLACE"]).str.upper()
    same = (home["kind"] == "full") & (home["key"] == pl["key"]) & (place != "P1")
    log.add(frame, same, "HOME_POST", "PC_HOME_IS_PLACEMENT")


def _link_rows(
    frame: pd.DataFrame, log: FileLog, ctx: Context, column: str, expected: pd.Series | None
) -> None:
    linked = link(frame[column], ctx.index, ctx.la_code, expected)
    frame["_link_reason"] = linked["link_reason"]
    frame["_lsoa"] = linked["lsoa_code"]
    for code, rows in linked.groupby("finding").groups.items():
        mask = frame.index.isin(rows)
        log.add(frame, mask, column, str(code))
    frame["_pc_key"] = normalise(frame[column])["key"]


def check_episodes(
    frame: pd.DataFrame, log: FileLog, ctx: Context, uasc: set[str]
) -> pd.DataFrame:
    """SSDA903 Episodes: id, duplicates, dates, legal status, placement, postcode linkage."""
    frame = _ids(frame, log, "CHILD", ctx.la_code, ctx.key, report=log.src.fmt == "csv")
    frame = _guard(log, "duplicates", _dedupe, frame, log, ["_id", "DECOM"], "DECOM").copy()
    frame["_start"], frame["_end"] = pd.NaT, pd.NaT
    frame["_short_break"] = False
    _guard(log, "episode dates", _episode_dates, frame, log)
    _guard(log, "LS", _legal_status, frame, log)
    _guard(log, "PLACE", _place, frame, log, ctx.year)
    _guard(log, "EPISODE_OVERLAP", _overlap, frame, log)
    expected = frame["_short_break"] | frame["_id"].isin(uasc)
    if "UASC" in frame:
        expected |= cells.clean(frame["UASC"]).isin({"1", "TRUE", "True", "true", "Y"})
    frame["_link_reason"], frame["_lsoa"] = "PC_INVALID", None
    _guard(log, "HOME_POST", _link_rows, frame, log, ctx, "HOME_POST", expected)
    _guard(log, "PC_HOME_IS_PLACEMENT", _home_is_placement, frame, log)
    return frame


def check_addresses(frame: pd.DataFrame, log: FileLog, ctx: Context) -> pd.DataFrame:
    """Address extract: id, duplicates, as-at date, postcode linkage, same-date conflicts."""
    frame = _ids(frame, log, "LACHILDID", ctx.la_code, ctx.key)
    if log.src.fmt == "csv":
        data_cols = [c for c in frame.columns if not c.startswith("_")]
        exact = frame.duplicated(subset=data_cols, keep="first")
        log.add(frame, exact, "", "ROW_DUPLICATE")
        log.drop(frame, exact)
        frame = frame.loc[~exact]
    frame = frame.copy()
    frame["_asat"] = pd.NaT
    _guard(log, "AS_AT", _dates, frame, log, "AS_AT", "_asat", False)
    frame["_link_reason"], frame["_lsoa"], frame["_pc_key"] = "PC_INVALID", None, ""
    _guard(log, "POSTCODE", _link_rows, frame, log, ctx, "POSTCODE", None)

    def conflicts() -> None:
        f = frame[frame["_id"] != ""]
        day = f["_asat"].fillna(pd.Timestamp(1900, 1, 1))
        grp = f.assign(_day=day).groupby(["_id", "_day"])["_pc_key"]
        distinct = grp.transform("nunique") > 1
        later = f.assign(_day=day).duplicated(subset=["_id", "_day"], keep="first")
        frame["_conflict"] = False
        frame.loc[f.index, "_conflict"] = distinct
        log.add(f, distinct & later, "POSTCODE", "ADDRESS_CONFLICT")

    frame["_conflict"] = False
    _guard(log, "ADDRESS_CONFLICT", conflicts)
    return frame


def check_uasc(frame: pd.DataFrame, log: FileLog, ctx: Context) -> pd.DataFrame:
    """SSDA903 UASC table: ids of unaccompanied asylum-seeking children."""
    return _ids(frame, log, "CHILD", ctx.la_code, ctx.key)


def check_oc2(frame: pd.DataFrame, log: FileLog, ctx: Context) -> pd.DataFrame:
    """SSDA903 OC2: SDQ score range."""
    frame = _ids(frame, log, "CHILD", ctx.la_code, ctx.key)

    def sdq() -> None:
        raw = cells.clean(frame["SDQ_SCORE"])
        num = pd.to_numeric(raw, errors="coerce")
        log.add(
            frame,
            (raw != "") & (num.isna() | (num < 0) | (num > SDQ_MAX)),
            "SDQ_SCORE",
            "VALUE_OUT_OF_RANGE",
        )

    _guard(log, "SDQ_SCORE", sdq)
    return frame


def check_cin(
    tables: dict[str, pd.DataFrame], log: FileLog, ctx: Context
) -> dict[str, pd.DataFrame]:
    """CIN census: child identifiers and characteristics, referrals and plans."""
    kids = _ids(tables["CIN_CHILDREN"], log, "LACHILDID", ctx.la_code, ctx.key)
    pid_by_row = dict(zip(kids["_row"], kids["_pid"], strict=True))
    kids = _defaults(_guard(log, "duplicates", _dedupe, kids, log, ["_id"], "LAchildID").copy())

    def births() -> None:
        _dates(kids, log, "DOB", "_dob", False)
        _dates(kids, log, "EXPECTED_DOB", "_expected", False)
        blank = cells.clean(kids["DOB"]) == ""
        unborn = blank & kids["_expected"].notna()
        kids["_unborn"] = unborn
        log.add(kids, unborn, "ExpectedPersonBirthDate", "UNBORN")
        both_blank = blank & (cells.clean(kids["EXPECTED_DOB"]) == "")
        log.add(kids, both_blank, "PersonBirthDate", "DATE_INVALID")
        _dob_future(kids, log, "PersonBirthDate", ctx.snapshot)
        death, bad = cells.parse_dates(kids["DEATH"])
        log.add(kids, bad, "PersonDeathDate", "DATE_INVALID")
        log.add(kids, death < kids["_dob"], "PersonDeathDate", "DATE_ORDER")

    kids["_unborn"] = False
    _guard(log, "birth dates", births)
    _guard(log, "Sex", _sex, kids, log, "SEX", "cin")

    def disabled() -> None:
        codes = kids["DISABILITIES"].astype(str)
        any_real = codes.str.split("|").map(lambda xs: any(x and x != "NONE" for x in xs))
        kids["_disabled"] = np.where(
            any_real, "Y", np.where(kids["HAS_DISABILITIES"] == "1", "N", "U")
        )

    kids["_disabled"] = "U"
    _guard(log, "Disabilities", disabled)
    _guard(log, "Ethnicity", _ethnic, kids, log, "ETHNIC")

    refs = tables["CIN_REFERRALS"].copy()
    refs["_pid"] = refs["_row"].map(pid_by_row).fillna("")
    refs["_start"], refs["_end"] = pd.NaT, pd.NaT

    def referral_dates() -> None:
        _dates(refs, log, "REF_DATE", "_start", True)
        _dates(refs, log, "CLOSE_DATE", "_end", False)
        log.add(refs, refs["_end"] < refs["_start"], "CINclosureDate", "DATE_ORDER")
        dob = refs["_row"].map(dict(zip(kids["_row"], kids["_dob"], strict=True)))
        log.add(refs, refs["_start"] < dob, "CINreferralDate", "DATE_ORDER")

    _guard(log, "CIN dates", referral_dates)

    plans = tables["CIN_PLANS"].copy()
    plans["_pid"] = plans["_row"].map(pid_by_row).fillna("")
    plans["_start"], plans["_end"] = pd.NaT, pd.NaT

    def plan_dates() -> None:
        _dates(plans, log, "START", "_start", True)
        _dates(plans, log, "END", "_end", False)
        log.add(plans, plans["_end"] < plans["_start"], "CPPendDate", "DATE_ORDER")
        raw = cells.clean(plans["PREV_CPP"])
        num = pd.to_numeric(raw, errors="coerce")
        bad = (raw != "") & (num.isna() | (num < 0) | (num > PREV_CPP_MAX))
        log.add(plans, bad, "NumberOfPreviousCPP", "VALUE_OUT_OF_RANGE")

    _guard(log, "CPP dates", plan_dates)
    return {"CIN_CHILDREN": kids, "CIN_REFERRALS": refs, "CIN_PLANS": plans}


def check_standard(frame: pd.DataFrame, log: FileLog, ctx: Context) -> pd.DataFrame:
    """Standard CSV: one row per child per measure episode (see data/README.md)."""
    frame = _ids(frame, log, "CHILD_ID", ctx.la_code, ctx.key)
    frame = _guard(
        log, "duplicates", _dedupe, frame, log, ["_id", "MEASURE", "START_DATE"], "START_DATE"
    ).copy()
    measure = cells.clean(frame["MEASURE"]).str.upper()
    frame["_measure"] = measure
    log.add(frame, ~measure.isin(MEASURES), "MEASURE", "MEASURE_INVALID")
    frame = _defaults(frame)
    frame["_start"], frame["_end"] = pd.NaT, pd.NaT

    def dates() -> None:
        _dates(frame, log, "DOB", "_dob", True)
        _dob_future(frame, log, "DOB", ctx.snapshot)
        _dates(frame, log, "START_DATE", "_start", True)
        _dates(frame, log, "END_DATE", "_end", False)
        log.add(frame, frame["_end"] < frame["_start"], "END_DATE", "DATE_ORDER")

    _guard(log, "dates", dates)
    _guard(log, "sex", _sex, frame, log, "SEX", "standard")
    _guard(log, "ethnicity", _ethnic, frame, log, "ETHNICITY")
    dis = cells.clean(frame["DISABLED"]).str.upper()
    bad = ~dis.isin({"Y", "N", "U", ""})
    log.add(frame, bad, "DISABLED", "DISABLED_INVALID")
    frame["_disabled"] = dis.where(dis.isin({"Y", "N", "U"}), "U")
    ls = cells.clean(frame["LEGAL_STATUS"]).str.upper()
    frame["_short_break"] = (measure == "CLA") & ls.isin(cells.SHORT_BREAK_STATUSES)
    log.add(frame, frame["_short_break"], "LEGAL_STATUS", "SHORT_BREAK")
    frame["_link_reason"], frame["_lsoa"] = "PC_INVALID", None
    _guard(log, "postcode", _link_rows, frame, log, ctx, "POSTCODE", frame["_short_break"])
    return frame


# ---- one LA-year ------------------------------------------------------------------------------------
def _files(folder: Path) -> list[Path]:
    return files_to_read(folder)


def _rel(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            pass
    return path.name


def _open_at(start: pd.Series, end: pd.Series, when: pd.Timestamp) -> pd.Series:
    return (start <= when) & (end.isna() | (end > when))


def ingest_la(
    la_dir: Path,
    la_code: str,
    year: int,
    postcodes: pd.DataFrame | PostcodeIndex,
    settings: Settings,
    key: bytes,
    base: Path | None = None,
) -> IngestResult:
    """Ingest one LA's extract folder for one collection year.

    Parameters
    ----------
    la_dir : Path
        Folder holding the year's files (``<root>/<la_code>/<year>``).
    la_code : str
        The LA's code (folder name), used to namespace pseudonyms and for PC_OUTSIDE_LA.
    year : int
        Collection year; the snapshot is 31 March of it.
    postcodes : pandas.DataFrame or PostcodeIndex
        The postcode directory (:func:`cwi.reference.postcodes.read_postcode_directory`).
    settings : Settings
        Project settings (unused for now; kept for configurable snapshot rules).
    key : bytes
        Pseudonymisation key (:func:`cwi.ingest.pseudo.load_key`).
    base : Path, optional
        Report file paths relative to this folder (default: ``la_dir.parent.parent``).

    Returns
    -------
    IngestResult
        Children, findings, conservation and linkage for this LA and year.
    """
    la_dir = Path(la_dir)
    base = base if base is not None else la_dir.parent.parent
    ctx = Context(la_code=la_code, year=int(year), key=key, index=as_index(postcodes))
    sources = [read_source(p, _rel(p, base)) for p in _files(la_dir)]
    logs = [FileLog(s) for s in sources]

    # One file per table: a second source of the same table is not used.
    claimed: dict[str, str] = {}
    for src, log in zip(sources, logs, strict=True):
        kinds = {"SSDA903_XML": ["HEADER", "EPISODES"], "CIN_XML": ["CIN"]}.get(
            src.kind, [src.kind] if src.tables else []
        )
        if any(k in claimed for k in kinds):
            log.add_one(0, "", "", "FILE_DUPLICATE_TABLE")
            src.file_rejected = True
            continue
        claimed.update(dict.fromkeys(kinds, src.rel))
        if src.kind == "CIN_XML" and src.xml_year and src.xml_year != ctx.year:
            log.add_one(0, "", "", "FILE_YEAR_MISMATCH")

    usable = [(s, lg) for s, lg in zip(sources, logs, strict=True) if not s.file_rejected]
    tables: dict[str, tuple[pd.DataFrame, FileLog]] = {}
    for src, log in usable:
        for kind, frame in src.tables.items():
            tables[kind] = (frame.reset_index(drop=True), log)

    uasc: set[str] = set()
    if "UASC" in tables:
        frame, log = tables["UASC"]
        checked = _guard(log, "UASC", check_uasc, frame, log, ctx)
        if checked is not None:
            tables["UASC"] = (checked, log)
            uasc = set(checked.loc[checked["_id"] != "", "_id"])
    if "HEADER" in tables:
        frame, log = tables["HEADER"]
        if "UASC" in frame:
            uasc |= set(
                cells.clean_ids(
                    frame.loc[cells.clean(frame["UASC"]).isin({"1", "true", "TRUE"}), "CHILD"]
                )[0]
            )
    checks: dict[str, Callable[..., Any]] = {
        "HEADER": check_header,
        "EPISODES": lambda f, lg, c: check_episodes(f, lg, c, uasc),
        "ADDRESSES": check_addresses,
        "OC2": check_oc2,
        "STANDARD": check_standard,
    }
    for kind, fn in checks.items():
        if kind in tables:
            frame, log = tables[kind]
            out = _guard(log, kind.lower(), fn, frame, log, ctx)
            if out is None:  # the table's checks crashed: its rows cannot be trusted
                log.rejected.update(int(r) for r in frame["_row"])
                out = frame.iloc[0:0]
            tables[kind] = (out, log)
    cin_log = None
    if "CIN_CHILDREN" in tables:
        cin_log = tables["CIN_CHILDREN"][1]
        out = _guard(
            cin_log,
            "cin",
            check_cin,
            {k: tables[k][0] for k in ("CIN_CHILDREN", "CIN_REFERRALS", "CIN_PLANS")},
            cin_log,
            ctx,
        )
        if out is None:
            cin_log.rejected.update(int(r) for r in tables["CIN_CHILDREN"][0]["_row"])
            out = {
                k: tables[k][0].iloc[0:0] for k in ("CIN_CHILDREN", "CIN_REFERRALS", "CIN_PLANS")
            }
        for k, v in out.items():
            tables[k] = (v, cin_log)

    # Cross-table rules of the SSDA903 return.
    if "EPISODES" in tables:
        ep, ep_log = tables["EPISODES"]

        def orphans() -> None:
            header_ids = set(tables["HEADER"][0]["_id"]) if "HEADER" in tables else set()
            log_mask = (ep["_id"] != "") & ~ep["_id"].isin(header_ids)
            ep_log.add(ep, log_mask, "CHILD", "ROW_ORPHAN")
            if "HEADER" in tables and "_dob" in tables["HEADER"][0]:
                h = tables["HEADER"][0]
                dob = ep["_id"].map(h.drop_duplicates("_id").set_index("_id")["_dob"])
                ep_log.add(ep, ep["_start"] < dob, "DECOM", "DATE_ORDER")

        if ep_log.src.fmt == "csv":
            _guard(ep_log, "ROW_ORPHAN", orphans)
        elif "HEADER" in tables:
            _guard(ep_log, "DATE_ORDER", orphans)

    # Drop rejected rows (for XML: every table row of a rejected child record).
    accepted: dict[str, pd.DataFrame] = {}
    for kind, (frame, log) in tables.items():
        accepted[kind] = frame[~frame["_row"].isin(log.rejected)]

    children = _snapshot(accepted, tables, ctx)
    findings_records = [r for lg in logs for r in lg.records]
    findings = (
        findings_frame(findings_records)
        if findings_records
        else pd.DataFrame(columns=list(FINDING_COLUMNS))
    )
    conservation = _conservation(sources, logs, ctx, accepted)
    linkage = _linkage(children, ctx)
    return IngestResult(
        children=children,
        findings=findings,
        conservation=conservation,
        linkage=linkage,
        supplied=_supplied(tables, ctx),
    )


def _supplied(tables: dict[str, tuple[pd.DataFrame, FileLog]], ctx: Context) -> pd.DataFrame:
    """The measures this LA-year's accepted tables cover (a file may hold zero children)."""
    measures: set[str] = set()
    if "EPISODES" in tables:
        measures.add("CLA")
    if "CIN_CHILDREN" in tables:
        measures |= {"CIN", "CPP"}
    if "STANDARD" in tables:
        named = set(cells.clean(tables["STANDARD"][0]["MEASURE"]).str.upper())
        measures |= named & set(MEASURES)
    rows = [{"la_code": ctx.la_code, "year": ctx.year, "measure": m} for m in sorted(measures)]
    return pd.DataFrame(rows, columns=list(SUPPLIED_COLUMNS))


def _conservation(
    sources: list[SourceFile], logs: list[FileLog], ctx: Context, accepted: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    rows = []
    for src, log in zip(sources, logs, strict=True):
        rejected = src.rows_in if src.file_rejected else len({r for r in log.rejected if r > 0})
        acc = src.rows_in - rejected
        if not src.file_rejected and src.tables:
            main = {"SSDA903_XML": "HEADER", "CIN_XML": "CIN_CHILDREN"}.get(src.kind, src.kind)
            if main in accepted:
                kept = accepted[main]["_row"].nunique()
                if src.fmt == "csv":
                    assert kept == acc, (
                        f"{src.rel}: {kept} rows kept but {acc} counted as accepted"
                    )
        rows.append(
            {
                "la_code": ctx.la_code,
                "year": ctx.year,
                "file": src.rel,
                "rows_in": src.rows_in,
                "accepted": acc,
                "rejected": rejected,
            }
        )
    frame = pd.DataFrame(rows, columns=list(CONSERVATION_COLUMNS))
    assert (frame["rows_in"] == frame["accepted"] + frame["rejected"]).all()
    return frame


def _person_columns(frame: pd.DataFrame, ctx: Context, log: FileLog | None) -> pd.DataFrame:
    """Age, band and the AGE_OUT_OF_RANGE query (rows aged 18+ are dropped)."""
    age = cells.age_at(frame["_dob"], ctx.snapshot)
    old = (age >= 18).fillna(False).astype(bool)
    if log is not None and old.any():
        first = frame.loc[old].drop_duplicates("_row")
        log.add(first, pd.Series(True, index=first.index), "DOB", "AGE_OUT_OF_RANGE")
    frame = frame.assign(age=age)
    return frame.loc[~old]


def _snapshot(
    accepted: dict[str, pd.DataFrame],
    tables: dict[str, tuple[pd.DataFrame, FileLog]],
    ctx: Context,
) -> pd.DataFrame:
    parts: list[pd.DataFrame] = []
    snap = ctx.snapshot

    # CLA from SSDA903.
    if "EPISODES" in accepted and "HEADER" in accepted:
        ep = accepted["EPISODES"]
        ep = ep[
            ~ep["_short_break"].astype(bool)
            & _open_at(ep["_start"], ep["_end"], snap)
            & (ep["_id"] != "")
        ]
        ep = ep.sort_values(["_id", "_start", "_row"]).drop_duplicates("_id", keep="last")
        head = accepted["HEADER"].drop_duplicates("_id")
        cla = ep[["_id", "_pid", "_link_reason", "_lsoa"]].merge(
            head[["_id", "_dob", "_sex", "_ethnic", "_row"]], on="_id", how="inner"
        )
        cla = _person_columns(cla, ctx, tables["HEADER"][1])
        cla = cla.assign(measure="CLA", disabled="U")
        parts.append(cla)

    # CIN and CPP from the CIN census, postcode from the address extract.
    if "CIN_CHILDREN" in accepted:
        kids = accepted["CIN_CHILDREN"]
        kids = kids[kids["_id"] != ""].drop_duplicates("_id")
        refs = accepted["CIN_REFERRALS"]
        plans = accepted["CIN_PLANS"]
        cin_rows = set(refs.loc[_open_at(refs["_start"], refs["_end"], snap), "_row"])
        cpp_rows = set(plans.loc[_open_at(plans["_start"], plans["_end"], snap), "_row"])
        kids = kids[kids["_row"].isin(cin_rows | cpp_rows)]
        kids = kids.merge(_addresses(accepted.get("ADDRESSES"), snap), on="_id", how="left")
        missing = kids["_link_reason"].isna()
        log = tables["CIN_CHILDREN"][1]
        log.add(kids, missing, "LAchildID", "ADDRESS_MISSING")
        kids["_link_reason"] = kids["_link_reason"].fillna("ADDRESS_MISSING")
        kids = _person_columns(kids, ctx, log)
        kids.loc[kids["_unborn"].astype(bool), "age"] = pd.NA
        cin = kids[kids["_row"].isin(cin_rows)].assign(measure="CIN", disabled=kids["_disabled"])
        cpp = kids[kids["_row"].isin(cpp_rows)].assign(measure="CPP", disabled="U")
        parts.extend([cin, cpp])

    # Standard CSV.
    if "STANDARD" in accepted:
        std = accepted["STANDARD"]
        std = std[
            ~std["_short_break"].astype(bool)
            & _open_at(std["_start"], std["_end"], snap)
            & (std["_id"] != "")
        ]
        std = std.assign(
            measure=std["_measure"],
            disabled=np.where(std["_measure"] == "CIN", std["_disabled"], "U"),
        )
        std = _person_columns(std, ctx, tables["STANDARD"][1])
        parts.append(std)

    parts = [p for p in parts if not p.empty]
    if not parts:
        return _empty_children()
    allc = pd.concat(parts, ignore_index=True).drop_duplicates(["_pid", "measure"], keep="first")
    ethnic = allc["_ethnic"].astype(object)
    out = pd.DataFrame(
        {
            "year": np.int64(ctx.year),
            "la_code": ctx.la_code,
            "child_pid": allc["_pid"].astype(object),
            "measure": allc["measure"].astype(object),
            "age": allc["age"].astype("Int64"),
            "age_band": age_band(allc["age"].astype("Int64")),
            "sex": allc["_sex"].fillna("U").astype(object),
            "ethnic_code": ethnic.where(ethnic.notna(), None),
            "ethnic_group": ethnic.map(ETHNIC_CODES).fillna("Unknown").astype(object),
            "disabled": allc["disabled"].fillna("U").astype(object),
            "lsoa_code": allc["_lsoa"]
            .where(allc["_link_reason"].isin(LINKED_REASONS), None)
            .astype(object),
            "link_reason": allc["_link_reason"].astype(object),
        }
    )
    order = {m: i for i, m in enumerate(MEASURES)}
    out = out.sort_values(
        ["measure", "child_pid"], key=lambda s: s.map(order) if s.name == "measure" else s
    )
    return out[list(CHILD_SNAPSHOT)].reset_index(drop=True)


def _addresses(addr: pd.DataFrame | None, snap: pd.Timestamp) -> pd.DataFrame:
    """The address applying at the snapshot: latest as-at on or before it (blank = oldest)."""
    cols = ["_id", "_link_reason", "_lsoa"]
    if addr is None or addr.empty:
        return pd.DataFrame(columns=cols)
    a = addr[addr["_id"] != ""].copy()
    a["_day"] = a["_asat"].fillna(pd.Timestamp(1900, 1, 1))
    a = a[a["_day"] <= snap].sort_values(["_id", "_day", "_row"])
    latest = a.groupby("_id")["_day"].transform("max")
    a = a[a["_day"] == latest]
    conflict = a.groupby("_id")["_pc_key"].transform("nunique") > 1
    a = a.drop_duplicates("_id", keep="first").copy()
    a.loc[conflict.loc[a.index].to_numpy(dtype=bool), ["_link_reason", "_lsoa"]] = [
        "ADDRESS_CONFLICT",
        None,
    ]
    return a[cols]


def _linkage(children: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    rows = []
    for measure in MEASURES:
        sub = children[children["measure"] == measure]
        n = len(sub)
        linked = int(sub["link_reason"].isin(LINKED_REASONS).sum())
        rows.append(
            {
                "year": ctx.year,
                "la_code": ctx.la_code,
                "measure": measure,
                "children": n,
                "linked": linked,
                "linkage_rate": linked / n if n else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=list(LINKAGE_COLUMNS))


# ---- all LAs -----------------------------------------------------------------------------------------
_YEAR = re.compile(r"(19|20)\d\d")


_WORKER: dict[str, Any] = {}


def _ingest_job(job: tuple[Path, str, int]) -> IngestResult:
    """Ingest one LA-year in a forked worker (state inherited through ``_WORKER``)."""
    year_dir, la_code, year = job
    w = _WORKER
    return ingest_la(year_dir, la_code, year, w["index"], w["settings"], w["key"], base=w["base"])


def ingest_all(
    root: Path,
    postcodes: pd.DataFrame | PostcodeIndex,
    settings: Settings,
    years: list[int] | None = None,
    progress: Callable[[str, int], None] | None = None,
    workers: int = 2,
    jobs: list[tuple[Path, str, int]] | None = None,
) -> IngestResult:
    """Ingest every ``<root>/<la_code>/<year>/`` folder.

    Parameters
    ----------
    root : Path
        Extracts root (``data/demo/la`` for the demo).
    postcodes : pandas.DataFrame or PostcodeIndex
        The postcode directory.
    settings : Settings
        Project settings: ``private_dir`` (key file), ``la_list`` and the IMD's LSOA edition.
    years : list of int, optional
        Collection years to ingest (default: every year folder found).
    progress : callable, optional
        Called as ``progress(la_code, year)`` for each LA-year.
    workers : int
        Processes ingesting LA-years in parallel (1 = in this process).
    jobs : list of (Path, str, int), optional
        The LA-year folders to read, from :func:`cwi.ingest.inventory.take_inventory`
        (default: every ``<LA>/<year>`` folder under ``root``).

    Returns
    -------
    IngestResult
        All LAs and years stacked; conservation already asserted.
    """
    from cwi.ingest.pseudo import load_key

    root = Path(root)
    key = load_key(settings)
    index = as_index(postcodes)
    la_list = getattr(settings, "la_list", None)
    if jobs is None:
        jobs = []
        for la_dir in sorted(
            p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
        ):
            if la_list and la_dir.name not in la_list:
                continue
            for year_dir in sorted(
                p for p in la_dir.iterdir() if p.is_dir() and _YEAR.fullmatch(p.name)
            ):
                year = int(year_dir.name)
                if years is not None and year not in years:
                    continue
                jobs.append((year_dir, la_dir.name, year))
    results: list[IngestResult] = []
    if workers > 1 and len(jobs) > 1 and "fork" in multiprocessing.get_all_start_methods():
        # LA-years are independent; forked workers share the postcode index without pickling it.
        _WORKER.update(index=index, settings=settings, key=key, base=root)
        try:
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                for job, result in zip(jobs, pool.map(_ingest_job, jobs), strict=True):
                    if progress is not None:
                        progress(job[1], job[2])
                    results.append(result)
        finally:
            _WORKER.clear()
    else:
        for year_dir, la_code, year in jobs:
            if progress is not None:
                progress(la_code, year)
            results.append(ingest_la(year_dir, la_code, year, index, settings, key, base=root))
    result = IngestResult.concat(results)
    edition_finding = _edition_check(index, settings)
    if edition_finding is not None:
        result.findings = pd.concat([result.findings, edition_finding], ignore_index=True)
    result.check_conservation()
    return result


def _edition_check(index: PostcodeIndex, settings: Settings) -> pd.DataFrame | None:
    """REF_LSOA_EDITION when the directory's LSOA edition differs from the settings' edition."""
    try:
        wanted = settings.lsoa_edition or None
    except (AttributeError, KeyError, TypeError):
        return None
    if wanted and index.lsoa_edition and wanted != index.lsoa_edition:
        return findings_frame(
            [
                {
                    "file": "postcode directory",
                    "row": 0,
                    "child_pid": "",
                    "column": "lsoa",
                    "rule_code": "REF_LSOA_EDITION",
                }
            ]
        )
    return None
