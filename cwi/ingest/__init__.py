"""Ingest and link LA extracts: SSDA903 CSV/XML, CIN census XML, address extracts, standard CSV.

Public entry points (used by the pipeline and the CLI):

- :func:`ingest_all` / :func:`ingest_la` -> :class:`IngestResult`
- :func:`validate_cli` (``cwi validate DIR``)
- :func:`cwi.ingest.report.safe_csv_write` (formula-injection-safe CSV)
"""

from __future__ import annotations

from cwi.ingest.core import IngestResult, ingest_all, ingest_la
from cwi.ingest.validate import run_validation, validate_cli

__all__ = [
    "IngestResult",
    "ingest_all",
    "ingest_la",
    "run_validation",
    "validate_cli",
]
