"""Read coded segments exported by qualitative-analysis tools into the canonical frame.

CSV layouts recognised (by their header):

``taguette``
    Taguette's highlights export: ``id, document, tag, content`` (one row per highlight and
    tag; an untagged highlight has an empty ``tag``). It carries no coder and no positions: the
    coder comes from the ``coder`` argument (default ``"coder"``).
``qualcoder``
    QualCoder's coding report exported as CSV: ``File`` (or ``Case`` then ``Filename``),
    ``Coder``, ``Coded``, ``Id`` (``ctid:12``; ``imid:`` / ``avid:`` rows are image or A/V
    codings and are dropped with a finding), ``Codename``, ``Coded_Memo``, then ``Category``
    columns and, if "export variables" was ticked, ``FileVar_<name>`` / ``CaseVar_<name>``
    columns; ``FileVar_la`` / ``FileVar_role`` (any case) fill the LA pseudonym and role.
``cwi``
    This project's plain layout: ``interview_id, la, role, coder, code`` plus optional
    ``segment_id, start, end, text``.

Leading lines starting with ``#`` are skipped (the demo set labels its files that way). Files are
read as UTF-8 (a byte-order mark, as QualCoder writes, is accepted).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from cwi.interviews.segments import (
    FICTIONAL_LABEL,
    INTERVIEW_COLUMNS,
    CodedSet,
    normalise_segments,
)

TAGUETTE_COLUMNS = ("id", "document", "tag", "content")
QUALCODER_COLUMNS = ("Coder", "Coded", "Id", "Codename")
CWI_COLUMNS = ("interview_id", "coder", "code")


class SegmentImportError(ValueError):
    """A coded-segment file cannot be read; the message says why and what to do."""


def _read_text(path: Path) -> tuple[str, bool]:
    """Return the file text without leading ``#`` lines, and whether it is labelled fictional."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SegmentImportError(
            f"{path.name} is not UTF-8 text. Re-export it as UTF-8 CSV (or open it in a text "
            "editor and save it with UTF-8 encoding)."
        ) from exc
    lines = raw.splitlines(keepends=True)
    skipped = 0
    fictional = False
    while skipped < len(lines) and lines[skipped].lstrip().startswith("#"):
        fictional = fictional or "FICTIONAL" in lines[skipped]
        skipped += 1
    return "".join(lines[skipped:]), fictional


def read_csv_table(path: Path | str) -> tuple[pd.DataFrame, bool]:
    """Read a CSV as text columns, skipping leading ``#`` comment lines.

    Parameters
    ----------
    path : Path or str
        The CSV file.

    Returns
    -------
    (pandas.DataFrame, bool)
        The table (all cells as str, blanks as ``""``) and whether it is labelled FICTIONAL.
    """
    path = Path(path)
    text, fictional = _read_text(path)
    if not text.strip():
        raise SegmentImportError(f"{path.name} holds no table. Export the coded segments again.")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise SegmentImportError(
            f"{path.name} is not a readable CSV ({exc}). Check that it was exported as CSV."
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, fictional


def detect_layout(columns: list[str]) -> str:
    """Name the CSV layout of a header: ``taguette``, ``qualcoder``, ``cwi`` or ``interviews``.

    Raises
    ------
    SegmentImportError
        If the header matches no known layout.
    """
    cols = set(columns)
    lower = {c.lower() for c in columns}
    if set(CWI_COLUMNS) <= lower:
        return "cwi"
    if set(TAGUETTE_COLUMNS) <= lower:
        return "taguette"
    if set(QUALCODER_COLUMNS) <= cols and ({"File", "Case"} & cols):
        return "qualcoder"
    if {"interview_id", "la", "role"} <= lower:
        return "interviews"
    raise SegmentImportError(
        "Unrecognised coded-segment CSV header ("
        + ", ".join(columns[:8])
        + "). Export Taguette highlights (id, document, tag, content), a QualCoder coding report "
        "(File, Coder, Coded, Id, Codename) or use the cwi layout (interview_id, coder, code)."
    )


def _from_taguette(frame: pd.DataFrame, name: str, coder: str | None) -> pd.DataFrame:
    frame = frame.rename(columns=str.lower)
    return pd.DataFrame(
        {
            "file": name,
            "row": range(1, len(frame) + 1),
            "segment_id": frame["id"],
            "interview_id": frame["document"],
            "coder": coder or "coder",
            "code_raw": frame["tag"],
            "text": frame["content"],
        }
    )


def _from_qualcoder(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (segments, dropped non-text rows)."""
    doc_col = "Filename" if "Case" in frame.columns and "Filename" in frame.columns else "File"
    if doc_col not in frame.columns:
        doc_col = "Case"
    var = {c.lower(): c for c in frame.columns}
    la_col = var.get("filevar_la") or var.get("casevar_la")
    role_col = var.get("filevar_role") or var.get("casevar_role")
    out = pd.DataFrame(
        {
            "file": name,
            "row": range(1, len(frame) + 1),
            "segment_id": frame["Id"],
            "interview_id": frame[doc_col],
            "la": frame[la_col] if la_col else pd.NA,
            "role": frame[role_col] if role_col else pd.NA,
            "coder": frame["Coder"],
            "code_raw": frame["Codename"],
            "text": frame["Coded"],
        }
    )
    non_text = frame["Id"].str.lower().str.match(r"^(imid|avid):")
    return out[~non_text], out[non_text]


def _from_cwi(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    frame = frame.rename(columns=str.lower)
    out = pd.DataFrame(
        {
            "file": name,
            "row": range(1, len(frame) + 1),
            "segment_id": frame.get("segment_id", pd.Series(pd.NA, index=frame.index)),
            "interview_id": frame["interview_id"],
            "la": frame.get("la", pd.Series(pd.NA, index=frame.index)),
            "role": frame.get("role", pd.Series(pd.NA, index=frame.index)),
            "coder": frame["coder"],
            "code_raw": frame["code"],
            "start": frame.get("start", pd.Series(pd.NA, index=frame.index)),
            "end": frame.get("end", pd.Series(pd.NA, index=frame.index)),
            "text": frame.get("text", pd.Series(pd.NA, index=frame.index)),
        }
    )
    return out


def read_segments_csv(path: Path | str, coder: str | None = None) -> CodedSet:
    """Read one coded-segment CSV in any recognised layout.

    Parameters
    ----------
    path : Path or str
        The CSV export.
    coder : str, optional
        Coder to record for layouts without a coder column (Taguette).

    Returns
    -------
    CodedSet
        Canonical segments (``code`` still empty: see :func:`cwi.interviews.validate`), and the
        rows dropped as non-text codings in ``CodedSet.interviews.attrs["dropped"]``.
    """
    path = Path(path)
    frame, fictional = read_csv_table(path)
    layout = detect_layout(list(frame.columns))
    dropped = pd.DataFrame()
    if layout == "taguette":
        seg = _from_taguette(frame, path.name, coder)
    elif layout == "qualcoder":
        seg, dropped = _from_qualcoder(frame, path.name)
    elif layout == "cwi":
        seg = _from_cwi(frame, path.name)
    else:
        raise SegmentImportError(
            f"{path.name} is interview metadata, not coded segments; pass it as the interviews "
            "file (interviews.csv next to the segments)."
        )
    seg = normalise_segments(seg)
    seg.attrs["layout"] = layout
    seg.attrs["dropped_non_text"] = normalise_segments(dropped) if len(dropped) else None
    return CodedSet(segments=seg, sources=[path], fictional=fictional)


def read_interviews_csv(path: Path | str) -> pd.DataFrame:
    """Read interview metadata (``interview_id, la, role`` and optional ``la_code``).

    Parameters
    ----------
    path : Path or str
        The metadata CSV.

    Returns
    -------
    pandas.DataFrame
        One row per interview, text columns.
    """
    path = Path(path)
    frame, _ = read_csv_table(path)
    frame = frame.rename(columns=str.lower)
    missing = [c for c in INTERVIEW_COLUMNS if c not in frame.columns]
    if missing:
        raise SegmentImportError(
            f"{path.name} lacks column(s) {', '.join(missing)}; interview metadata needs "
            "interview_id, la (pseudonym) and role."
        )
    keep = list(INTERVIEW_COLUMNS) + [c for c in ("la_code",) if c in frame.columns]
    return frame[keep].astype("string")


def attach_metadata(segments: pd.DataFrame, interviews: pd.DataFrame) -> pd.DataFrame:
    """Fill ``la`` and ``role`` of segments from interview metadata where they are empty.

    Parameters
    ----------
    segments : pandas.DataFrame
        Canonical segments.
    interviews : pandas.DataFrame
        Metadata with ``interview_id``, ``la``, ``role``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``segments`` with ``la`` / ``role`` filled.
    """
    if interviews is None or interviews.empty:
        return segments
    meta = interviews.drop_duplicates("interview_id").set_index("interview_id")
    out = segments.copy()
    for col in ("la", "role"):
        looked_up = out["interview_id"].map(meta[col]).astype("string")
        out[col] = out[col].fillna(looked_up)
    return out


__all__ = [
    "FICTIONAL_LABEL",
    "SegmentImportError",
    "attach_metadata",
    "detect_layout",
    "read_csv_table",
    "read_interviews_csv",
    "read_segments_csv",
]
