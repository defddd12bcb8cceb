"""The ingest cache: read the private outputs back when nothing the ingest depends on changed.

A full ingest writes its private outputs (:data:`PRIVATE_FILES` in ``data.private_dir``) and its
reports in the build folder (:data:`BUILD_FILES`), then, last and atomically, a record
(:data:`RECORD`, in the private folder) holding the key of its inputs
(:func:`cwi.incremental.ingest_key`) and the SHA-256 of every file it wrote. A later build
reuses those outputs only when the key matches and every file still has its recorded digest;
anything else (a changed extract, setting, reference file or pseudonym key, new code, a file
missing or altered) means a full ingest. The record holds no key, no child data and nothing
that could reach the site.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cwi.incremental import file_digests, files_intact
from cwi.io import write_text

RECORD = "ingest-cache.json"
#: Private outputs of the ingest (``findings.parquet`` keeps the exact findings frame, so the
#: checks a full ingest runs can be run again on a cached build).
PRIVATE_FILES = (
    "children.parquet",
    "linkage.parquet",
    "conservation.parquet",
    "supplied.parquet",
    "findings.parquet",
)
#: Reports the ingest writes in the build folder (the inventory is taken again every build).
BUILD_FILES = ("validation_report.csv", "supplied.csv")


@dataclass
class CachedIngest:
    """What a cached build reads back (the children stay on disk until the cube needs them)."""

    findings: pd.DataFrame
    conservation: pd.DataFrame
    supplied: pd.DataFrame
    inputs: list[dict[str, Any]]
    rows: int


def _paths(settings: Any) -> dict[str, Path]:
    out = {f"private/{n}": Path(settings.private_dir) / n for n in PRIVATE_FILES}
    out.update({f"build/{n}": Path(settings.build_dir) / n for n in BUILD_FILES})
    return out


def read_record(settings: Any) -> dict[str, Any] | None:
    """The record of the last full ingest, or None (missing or unreadable)."""
    try:
        record = json.loads((Path(settings.private_dir) / RECORD).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def forget(settings: Any) -> None:
    """Drop the record before a full ingest overwrites the files it vouches for."""
    (Path(settings.private_dir) / RECORD).unlink(missing_ok=True)


def write_record(
    settings: Any,
    key: str,
    reference_fp: str,
    known_las: list[str],
    inputs: list[dict[str, Any]],
    rows: int,
    memo: Any,
) -> None:
    """Record a full ingest (written last, atomically): key, digests of its files, inputs."""
    record = {
        "key": key,
        "reference": reference_fp,
        "known_las": sorted(known_las),
        "files": file_digests(_paths(settings), memo),
        "inputs": inputs,
        "rows": int(rows),
    }
    write_text(Path(settings.private_dir) / RECORD, json.dumps(record, indent=1))


def read_back(settings: Any, key: str, memo: Any) -> CachedIngest | None:
    """The cached ingest when ``key`` matches the record and every file is intact, else None."""
    record = read_record(settings)
    if record is None or record.get("key") != key:
        return None
    if not files_intact(record.get("files"), _paths(settings), memo):
        return None
    private = Path(settings.private_dir)
    try:
        return CachedIngest(
            findings=pd.read_parquet(private / "findings.parquet"),
            conservation=pd.read_parquet(private / "conservation.parquet"),
            supplied=pd.read_parquet(private / "supplied.parquet"),
            inputs=list(record.get("inputs") or []),
            rows=int(record.get("rows", 0)),
        )
    except (OSError, ValueError):
        return None


__all__ = ["BUILD_FILES", "PRIVATE_FILES", "RECORD", "CachedIngest", "read_back", "write_record"]
