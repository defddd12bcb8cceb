"""The interview strand: coding scheme, coded-segment imports, summary tables, agreement.

Public API used by the build pipeline and the CLI:

- :func:`build_tables` (settings, source=None, sr=None) -> dict of publishable frames;
- :func:`chapter_markdown` (tables, scheme) -> pandoc markdown of the report chapter;
- :func:`summary_cli` (source, settings) -> exit code of ``cwi interviews summary``.

Building blocks: :func:`load_scheme`, :func:`read_qdpx` / :func:`write_qdpx`,
:func:`read_segments_csv`, :func:`validate_segments`, :func:`cohen_kappa`,
:func:`krippendorff_alpha_nominal`, :func:`redaction_check`, :func:`write_demo`.
"""

from cwi.interviews.agreement import (
    agreement_table,
    assign_units,
    cohen_kappa,
    krippendorff_alpha_nominal,
)
from cwi.interviews.chapter import chapter_markdown
from cwi.interviews.demo import write_demo
from cwi.interviews.importers import SegmentImportError, read_interviews_csv, read_segments_csv
from cwi.interviews.pipeline import build_tables, load_source, scheme_for, summary_cli
from cwi.interviews.qdpx import QdpxError, read_qdpx, write_qdpx
from cwi.interviews.redact import redaction_check
from cwi.interviews.scheme import Scheme, SchemeError, load_scheme
from cwi.interviews.validate import validate_segments

__all__ = [
    "QdpxError",
    "Scheme",
    "SchemeError",
    "SegmentImportError",
    "agreement_table",
    "assign_units",
    "build_tables",
    "chapter_markdown",
    "cohen_kappa",
    "krippendorff_alpha_nominal",
    "load_scheme",
    "load_source",
    "read_interviews_csv",
    "read_qdpx",
    "read_segments_csv",
    "redaction_check",
    "scheme_for",
    "summary_cli",
    "validate_segments",
    "write_demo",
    "write_qdpx",
]
