"""Ingest and link LA extracts: SSDA903 CSV/XML, CIN census XML, address extracts, standard CSV.

Public entry points (used by the pipeline and the CLI):

- :func:`ingest_all` / :func:`ingest_la` -> :class:`IngestResult`
- :func:`validate_cli` (``cwi validate DIR``)
- :func:`cwi.ingest.report.safe_csv_write` (formula-injection-safe CSV)

The entry points are imported when first asked for, so that importing one light module of the
package (e.g. :data:`cwi.ingest.pseudo.PID_LENGTH`, which the leak scanner's worker processes
read) does not import the whole ingest.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "IngestResult",
    "ingest_all",
    "ingest_la",
    "run_validation",
    "validate_cli",
]

_HOME = {
    "IngestResult": "cwi.ingest.core",
    "ingest_all": "cwi.ingest.core",
    "ingest_la": "cwi.ingest.core",
    "run_validation": "cwi.ingest.validate",
    "validate_cli": "cwi.ingest.validate",
}


def __getattr__(name: str) -> Any:
    """Import an entry point of :data:`__all__` on first use."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value
