"""Check coded segments against the coding scheme, one finding per problem per row.

Rules (``rule`` column of the findings frame):

=====================  ========  ==========================================================
rule                   severity  when
=====================  ========  ==========================================================
``missing_field``      error     interview id, coder or code is empty
``unknown_code``       error     the code name matches no code of the scheme
``retired_code``       warning   the code is retired; the message names its replacement
``missing_metadata``   warning   the interview has no LA pseudonym or no role
``unknown_role``       warning   the role is not one of the scheme's ``roles``
``bad_position``       error     start/end negative or end before start
``non_text_coding``    info      an image / audio / video coding was dropped (QualCoder)
=====================  ========  ==========================================================

Messages say what is wrong and what to do; they never quote the coded text.
"""

from __future__ import annotations

import pandas as pd

from cwi.interviews.scheme import Scheme

FINDING_COLUMNS = (
    "file",
    "row",
    "interview_id",
    "coder",
    "code",
    "rule",
    "severity",
    "message",
)

RULES = {
    "missing_field": "error",
    "unknown_code": "error",
    "retired_code": "warning",
    "missing_metadata": "warning",
    "unknown_role": "warning",
    "bad_position": "error",
    "non_text_coding": "info",
}


def resolve_codes(segments: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Return a copy of ``segments`` with ``code`` set to the scheme id of ``code_raw``."""
    out = segments.copy()
    mapping = {raw: scheme.resolve(raw) for raw in out["code_raw"].dropna().unique()}
    out["code"] = out["code_raw"].map(mapping).astype("string")
    return out


def validate_segments(
    segments: pd.DataFrame, scheme: Scheme, dropped: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Resolve codes and list every problem per row.

    Parameters
    ----------
    segments : pandas.DataFrame
        Canonical segments.
    scheme : Scheme
        The coding scheme.
    dropped : pandas.DataFrame, optional
        Rows an importer dropped (non-text codings), reported as ``non_text_coding``.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The segments with ``code`` resolved (unknown codes stay ``<NA>``; retired codes are kept
        as their own id so counts can be re-coded deliberately), and the findings frame
        (:data:`FINDING_COLUMNS`, one row per problem).
    """
    seg = resolve_codes(segments, scheme)
    findings: list[dict[str, object]] = []
    status = dict(zip(scheme.codes["code"], scheme.codes["status"], strict=True))
    replaced = dict(zip(scheme.codes["code"], scheme.codes["replaced_by"], strict=True))
    roles = {r.casefold() for r in scheme.roles}

    def add(row: pd.Series, rule: str, message: str) -> None:
        findings.append(
            {
                "file": row["file"],
                "row": row["row"],
                "interview_id": row["interview_id"],
                "coder": row["coder"],
                "code": row["code_raw"],
                "rule": rule,
                "severity": RULES[rule],
                "message": message,
            }
        )

    for _, row in seg.iterrows():
        where = f"{row['file']} row {row['row']}"
        empty = [c for c in ("interview_id", "coder", "code_raw") if pd.isna(row[c])]
        if empty:
            names = {"interview_id": "interview/document", "coder": "coder", "code_raw": "code"}
            add(
                row,
                "missing_field",
                f"{where}: no {', '.join(names[c] for c in empty)}. Fill it in the coding tool "
                "and export again, or delete the row if it is an empty highlight.",
            )
        if pd.notna(row["code_raw"]) and pd.isna(row["code"]):
            add(
                row,
                "unknown_code",
                f"{where}: code '{row['code_raw']}' is not in coding scheme {scheme.version}. "
                "Rename it to a scheme code id or label, or add it to "
                "data/interviews/coding_scheme.yml with a change-log entry.",
            )
        elif pd.notna(row["code"]) and status.get(row["code"]) == "retired":
            add(
                row,
                "retired_code",
                f"{where}: code {row['code']} is retired in scheme {scheme.version}; "
                f"re-code the segment as {replaced.get(row['code'])}.",
            )
        if pd.notna(row["interview_id"]):
            missing = [c for c in ("la", "role") if pd.isna(row[c])]
            if missing:
                add(
                    row,
                    "missing_metadata",
                    f"{where}: interview {row['interview_id']} has no "
                    f"{' or '.join('LA pseudonym' if c == 'la' else 'role' for c in missing)}. "
                    "Add it to interviews.csv (interview_id, la, role) or as a source variable.",
                )
            elif roles and str(row["role"]).casefold() not in roles:
                add(
                    row,
                    "unknown_role",
                    f"{where}: role '{row['role']}' is not one of the scheme roles "
                    f"({', '.join(scheme.roles)}). Use one of them so quotes and tables group it.",
                )
        start, end = row["start"], row["end"]
        if pd.notna(start) and pd.notna(end) and (start < 0 or end < start):
            add(
                row,
                "bad_position",
                f"{where}: segment positions run backwards or below zero. Re-export the "
                "coding; positions must satisfy 0 <= start <= end.",
            )
    if dropped is not None and len(dropped):
        for _, row in dropped.iterrows():
            add(
                row,
                "non_text_coding",
                f"{row['file']} row {row['row']}: image or audio/video coding ignored; only text "
                "codings are analysed.",
            )
    out = pd.DataFrame(findings, columns=list(FINDING_COLUMNS))
    out["row"] = pd.to_numeric(out["row"]).astype("Int64")
    return seg, out


def usable_segments(segments: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Keep the rows fit for analysis: known code, interview and coder present.

    Retired codes are mapped to their replacement so that counts follow the current scheme.
    """
    seg = segments.dropna(subset=["interview_id", "coder", "code"]).copy()
    replaced = {
        c: r
        for c, r, s in zip(
            scheme.codes["code"], scheme.codes["replaced_by"], scheme.codes["status"], strict=True
        )
        if s == "retired"
    }
    seg["code"] = seg["code"].replace(replaced)
    return seg.reset_index(drop=True)
