"""``cwi validate DIR``: ingest and link one LA's extract on its own, write the report, set the exit code.

``DIR`` is either one year's folder (``<la_code>/<year>``) or an LA folder (``<la_code>``) holding
year folders; an LA folder holding the files directly is read with the year taken from the CIN
census header, or every file is reported with ``FILE_YEAR_UNKNOWN``. The postcode directory is
``data.postcode_directory`` in the settings file, or the demo region's ``reference/nspl.csv``.

Exit codes follow the statutory validators: 0 no errors (queries allowed), 1 errors, 2 a file
(or the postcode directory) cannot be read at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from cwi.ingest.core import IngestResult, _files, ingest_la
from cwi.ingest.pseudo import load_key
from cwi.ingest.readers import read_source
from cwi.ingest.report import findings_frame, print_summary, safe_csv_write

if TYPE_CHECKING:
    from cwi.config import Settings

_YEAR = re.compile(r"(19|20)\d\d")


def postcode_directory_paths(settings: Settings) -> list[Path]:
    """The postcode files to link against, found as ``cwi build`` finds them.

    ``data.postcode_directory`` (one file or a list) if set; otherwise every postcode file of
    the reference registry (``cwi reference use FOLDER`` / ``fetch``); for the demo source, the
    demo region's generated directory.
    """
    configured = settings.postcode_directories
    if configured:
        return configured
    if settings.data_source == "demo":
        return [settings.demo_dir / "reference" / "nspl.csv"]
    from cwi.reference.load import _Finder

    found = [path for _name, path in _Finder(settings).role("postcodes")]
    if settings.data_source == "real-geography":
        synthetic = settings.demo_dir / "reference" / "nspl.csv"
        if synthetic.is_file():
            found.append(synthetic)
    return found


def postcode_directory_path(settings: Settings) -> Path:
    """The first postcode file (kept for callers that read one file)."""
    paths = postcode_directory_paths(settings)
    return paths[0] if paths else settings.reference_dir / "postcode"


def read_postcodes(settings: Settings) -> pd.DataFrame:
    """Read and stack every postcode file; raise PostcodeDirectoryError naming what to do."""
    from cwi.reference.postcodes import PostcodeDirectoryError, read_postcode_directory

    paths = postcode_directory_paths(settings)
    if not paths:
        raise PostcodeDirectoryError(
            f"No postcode directory found (looked in {settings.reference_dir} and "
            f"{settings.reference_cache}). Run `cwi reference use FOLDER` on a folder holding "
            "the NSPL/ONSPD files of your LAs' postcode areas, or `cwi reference fetch`."
        )
    frames = [read_postcode_directory(p) for p in paths]
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates("pcd_key").reset_index(drop=True)


def _year_folders(directory: Path) -> tuple[str, list[tuple[Path, int | None]]]:
    if _YEAR.fullmatch(directory.name):
        return directory.parent.name, [(directory, int(directory.name))]
    years = sorted(p for p in directory.iterdir() if p.is_dir() and _YEAR.fullmatch(p.name))
    if years:
        return directory.name, [(p, int(p.name)) for p in years]
    year = None
    for path in _files(directory):
        src = read_source(path, path.name)
        if src.kind == "CIN_XML" and src.xml_year:
            year = src.xml_year
            break
    return directory.name, [(directory, year)]


def run_validation(
    directory: Path,
    settings: Settings,
    postcodes: pd.DataFrame | None = None,
    key: bytes | None = None,
) -> IngestResult:
    """Ingest one LA's extract folder (all its years) and return the result."""
    directory = Path(directory).resolve()
    if postcodes is None:
        postcodes = read_postcodes(settings)
    key = key if key is not None else load_key(settings)
    la_code, folders = _year_folders(directory)
    results = []
    for folder, year in folders:
        flat = folder == directory and not _YEAR.fullmatch(folder.name)
        base = folder.parent if flat else folder.parent.parent
        if year is None:
            records = [
                {
                    "file": f"{la_code}/{p.name}",
                    "row": 0,
                    "child_pid": "",
                    "column": "",
                    "rule_code": "FILE_YEAR_UNKNOWN",
                }
                for p in _files(folder)
            ]
            cons = pd.DataFrame(
                [
                    {
                        "la_code": la_code,
                        "year": 0,
                        "file": r["file"],
                        "rows_in": 0,
                        "accepted": 0,
                        "rejected": 0,
                    }
                    for r in records
                ],
                columns=["la_code", "year", "file", "rows_in", "accepted", "rejected"],
            )
            empty = IngestResult.empty()
            results.append(
                IngestResult(
                    empty.children,
                    findings_frame(records) if records else empty.findings,
                    cons,
                    empty.linkage,
                )
            )
            continue
        results.append(ingest_la(folder, la_code, year, postcodes, settings, key, base=base))
    result = IngestResult.concat(results)
    result.check_conservation()
    return result


def exit_code(findings: pd.DataFrame, conservation: pd.DataFrame | None = None) -> int:
    """0 no errors, 1 errors, 2 a file that cannot be read at all."""
    codes = set(findings["rule_code"]) if not findings.empty else set()
    whole_file = {"FILE_UNREADABLE", "FILE_XML_NAMESPACE", "FILE_DELIMITER_SEMICOLON",
                  "FILE_DELIMITER_TAB", "FILE_DELIMITER_PIPE"}  # fmt: skip
    if codes & whole_file:
        return 2
    if "FILE_XML_MALFORMED" in codes and conservation is not None:
        bad_files = set(findings.loc[findings["rule_code"] == "FILE_XML_MALFORMED", "file"])
        rows = conservation[conservation["file"].isin(bad_files)]
        if rows.empty or (rows["rows_in"] == 0).any():
            return 2
    if not findings.empty and (findings["severity"] == "error").any():
        return 1
    return 0


def validate_cli(directory: Path, report: Path | None, settings: Settings) -> int:
    """Run ``cwi validate``: ingest + linkage of one LA's extract, report CSV, printed summary.

    Parameters
    ----------
    directory : Path
        ``<la_code>/<year>`` or ``<la_code>`` folder.
    report : Path, optional
        Report CSV; default ``<build_dir>/validation/<la_code>.csv``.
    settings : Settings
        Project settings.

    Returns
    -------
    int
        Exit code: 0 no errors, 1 errors, 2 unreadable file or postcode directory.
    """
    from rich.console import Console

    from cwi.reference.postcodes import PostcodeDirectoryError

    console = Console()
    directory = Path(directory)
    if not directory.is_dir():
        console.print(
            f"[red]Not a folder: {directory}. Give one LA's extract folder (see data/README.md).[/red]"
        )
        return 2
    try:
        postcodes = read_postcodes(settings)
    except PostcodeDirectoryError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    from cwi.ingest.pseudo import PseudoKeyError

    try:
        key = load_key(settings)
    except PseudoKeyError:
        import secrets

        key = secrets.token_bytes(32)  # a report needs no stable pseudonyms: one-off key
        console.print(
            "No pseudonym key is set: the report's child ids use a one-off key for this run "
            "(set CWI_PSEUDO_KEY to make them stable between runs)."
        )
    result = run_validation(directory, settings, postcodes, key=key)
    la_code = _year_folders(directory.resolve())[0]
    report = Path(report) if report else settings.build_dir / "validation" / f"{la_code}.csv"
    safe_csv_write(result.findings, report)
    print_summary(result.findings, result.conservation, console)
    for rec in result.linkage.itertuples(index=False):
        if rec.children:
            console.print(
                f"{rec.la_code} {rec.year} {rec.measure}: {rec.linked:,} of {rec.children:,} children linked to an LSOA ({rec.linkage_rate:.1%})."
            )
    code = exit_code(result.findings, result.conservation)
    console.print(
        f"Report written to {report}. Exit code {code} ({['no errors', 'errors found', 'unreadable file'][code]})."
    )
    return code
