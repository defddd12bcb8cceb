"""Findings frames, the validation report CSV and its printed summary.

Every CSV the project writes for people to open in a spreadsheet goes through
:func:`safe_csv_write`, which neutralises formula injection (a cell starting ``=``, ``+``, ``-`` or
``@`` is prefixed with an apostrophe, as OWASP advises). Findings carry file, row number,
pseudonymised child id, column name and rule code, never a value from the data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cwi.ingest.rules import RULES

FINDING_COLUMNS = ("file", "row", "child_pid", "column", "rule_code", "severity", "message")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Prefix a string that a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_csv_write(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write ``frame`` as UTF-8 CSV with formula-injection strings neutralised.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table; object (text) cells and column names are checked.
    path : Path or str
        Destination; parent folders are created.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].astype(object).map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def findings_frame(records: list[dict[str, object]]) -> pd.DataFrame:
    """Build the findings frame from ``{file,row,child_pid,column,rule_code}`` records.

    Severity and message are filled from the rule registry, so a producer cannot put a data value
    into a message.
    """
    frame = pd.DataFrame.from_records(
        records, columns=["file", "row", "child_pid", "column", "rule_code"]
    )
    frame["row"] = frame["row"].astype("int64")
    frame["severity"] = frame["rule_code"].map(lambda c: RULES[c].severity).astype(object)
    frame["message"] = frame["rule_code"].map(lambda c: RULES[c].message).astype(object)
    return frame[list(FINDING_COLUMNS)]


def summary_counts(findings: pd.DataFrame) -> pd.DataFrame:
    """Count findings per rule: ``rule_code``, ``severity``, ``n``, ``message``, errors first."""
    if findings.empty:
        return pd.DataFrame(columns=["rule_code", "severity", "n", "message"])
    order = {"error": 0, "query": 1, "info": 2}
    counts = findings.groupby("rule_code").size().rename("n").reset_index()
    counts["severity"] = counts["rule_code"].map(lambda c: RULES[c].severity)
    counts["message"] = counts["rule_code"].map(lambda c: RULES[c].message)
    counts["_o"] = counts["severity"].map(order)
    counts = counts.sort_values(["_o", "n", "rule_code"], ascending=[True, False, True])
    return counts[["rule_code", "severity", "n", "message"]].reset_index(drop=True)


def print_summary(findings: pd.DataFrame, conservation: pd.DataFrame, console=None) -> None:
    """Print the counts per rule and the conservation check with rich."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title="Validation findings per rule")
    for name in ("rule", "severity", "rows", "what to do"):
        table.add_column(name, overflow="fold")
    style = {"error": "bold red", "query": "yellow", "info": "dim"}
    for rec in summary_counts(findings).itertuples(index=False):
        table.add_row(
            rec.rule_code, rec.severity, f"{rec.n:,}", rec.message, style=style[rec.severity]
        )
    console.print(table)
    if not findings.empty:
        files = findings[
            findings["rule_code"].astype(str).str.startswith("FILE_")
            & (findings["severity"] == "error")
        ].drop_duplicates(["file", "rule_code", "column"])
        for rec in files.itertuples(index=False):
            column = f" (column {rec.column})" if str(rec.column or "") else ""
            console.print(
                f"[bold red]{rec.file}: {rec.rule_code}{column}: {rec.message}[/bold red]",
                soft_wrap=True,
            )
    cons = Table(title="Conservation: rows in = accepted + rejected")
    for name in ("LA", "year", "file", "rows in", "accepted", "rejected"):
        cons.add_column(name)
    for rec in conservation.itertuples(index=False):
        cons.add_row(
            rec.la_code,
            str(rec.year),
            rec.file,
            f"{rec.rows_in:,}",
            f"{rec.accepted:,}",
            f"{rec.rejected:,}",
        )
    console.print(cons)
