"""Read an ONS postcode directory (NSPL or ONSPD) into a small lookup frame.

The directories rename their columns between releases (``pcd``/``lsoa11``/``laua`` in older
files, ``pcd7``/``lsoa21cd``/``lad25cd`` from 2025), so columns are found by pattern, never by a
fixed name. Only the handful of columns the linkage needs are read, with pyarrow's multi-threaded
CSV reader, so a full 2.7-million-row directory loads in seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

#: Output columns of :func:`read_postcode_directory` (``cty`` is an extra: the county of a
#: two-tier area, so a county LA's children are not reported as outside their LA).
POSTCODE_COLUMNS = (
    "pcd_key",
    "pcds",
    "lsoa_code",
    "lsoa_edition",
    "ctry",
    "laua",
    "doterm",
    "cty",
)

# Patterns in order of preference (first match wins).
_PCD_PATTERNS = (r"pcds", r"pcd", r"pcd7", r"pcd2", r"pcd8")
_LSOA_PATTERNS = {"2021": (r"lsoa21(cd)?",), "2011": (r"lsoa11(cd)?",)}
_CTRY_PATTERNS = (r"ctry(\d\d)?(cd)?",)
_LAUA_PATTERNS = (r"laua", r"lad\d\dcd", r"oslaua")
_CTY_PATTERNS = (r"cty(\d\d)?(cd)?", r"oscty")
_DOTERM_PATTERNS = (r"doterm",)


class PostcodeDirectoryError(ValueError):
    """The file is not a readable NSPL/ONSPD postcode directory."""


def _find(columns: list[str], patterns: tuple[str, ...]) -> str | None:
    lowered = {c.strip().lower(): c for c in columns}
    for pattern in patterns:
        for low, original in lowered.items():
            if re.fullmatch(pattern, low):
                return original
    return None


def _header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise PostcodeDirectoryError(
            f"{path.name} is a spreadsheet or zip, not a CSV. Unzip the NSPL/ONSPD download and "
            "point the project at its Data/*.csv file."
        )
    first = head.decode("utf-8-sig", errors="replace").splitlines()[0] if head else ""
    return [c.strip().strip('"') for c in first.split(",")]


def read_postcode_directory(path: Path | str, lsoa_edition: str | None = None) -> pd.DataFrame:
    """Read the columns the linkage needs from an NSPL or ONSPD CSV.

    Parameters
    ----------
    path : Path or str
        The directory CSV (the whole-UK file or one postcode area's file).
    lsoa_edition : {"2011", "2021"}, optional
        LSOA column to use when the file has both; default: the newest present.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`POSTCODE_COLUMNS`: ``pcd_key`` (upper case, no spaces), ``pcds``
        (standard form), ``lsoa_code``, ``lsoa_edition`` ("2011" or "2021"), ``ctry``, ``laua``,
        ``doterm`` (empty string when live), ``cty``. String columns use the pyarrow string type.

    Raises
    ------
    PostcodeDirectoryError
        If the file is missing, a spreadsheet, or lacks a postcode or LSOA column.
    """
    path = Path(path)
    if not path.is_file():
        raise PostcodeDirectoryError(
            f"Postcode directory not found: {path}. Download the NSPL or ONSPD CSV from the ONS "
            "Open Geography Portal, or set data.postcode_directory in your settings file."
        )
    columns = _header(path)
    pcd = _find(columns, _PCD_PATTERNS)
    editions = [lsoa_edition] if lsoa_edition else ["2021", "2011"]
    lsoa, edition = None, None
    for ed in editions:
        lsoa = _find(columns, _LSOA_PATTERNS[ed])
        if lsoa:
            edition = ed
            break
    if pcd is None or lsoa is None:
        raise PostcodeDirectoryError(
            f"{path.name} has no postcode column (pcd/pcds/pcd7) or no LSOA column "
            f"(lsoa11/lsoa21/lsoa21cd{' for edition ' + lsoa_edition if lsoa_edition else ''}). "
            "Check it is an NSPL or ONSPD data file."
        )
    wanted = {
        "pcds": pcd,
        "lsoa_code": lsoa,
        "ctry": _find(columns, _CTRY_PATTERNS),
        "laua": _find(columns, _LAUA_PATTERNS),
        "doterm": _find(columns, _DOTERM_PATTERNS),
        "cty": _find(columns, _CTY_PATTERNS),
    }
    present = sorted({c for c in wanted.values() if c})
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(
                include_columns=present,
                column_types={c: pa.string() for c in present},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise PostcodeDirectoryError(
            f"{path.name} cannot be read as CSV ({type(exc).__name__}). Re-download the directory."
        ) from exc
    n = table.num_rows
    out: dict[str, pa.Array] = {}
    raw_pcd = pc.utf8_upper(table[pcd])
    pcd_key = pc.replace_substring_regex(raw_pcd, r"\s+", "")
    out["pcd_key"] = pcd_key
    # Standard form: outward code, one space, inward code (last three characters).
    length = pc.utf8_length(pcd_key)
    inward = pc.utf8_slice_codeunits(pcd_key, -3)
    outward = pc.utf8_slice_codeunits(pcd_key, 0, -3)
    out["pcds"] = pc.if_else(
        pc.greater_equal(length, 5), pc.binary_join_element_wise(outward, inward, " "), pcd_key
    )
    out["lsoa_code"] = pc.utf8_trim_whitespace(table[lsoa])
    out["lsoa_edition"] = pa.array([edition] * n, pa.string()) if n else pa.array([], pa.string())
    for name in ("ctry", "laua", "doterm", "cty"):
        col = wanted[name]
        out[name] = pc.utf8_trim_whitespace(table[col]) if col else pa.array([""] * n, pa.string())
    frame = pa.table(out).to_pandas(types_mapper=lambda t: pd.StringDtype("pyarrow"))
    return frame[list(POSTCODE_COLUMNS)]
