"""The findings report's generated content: values, sentences, tables and figures.

:func:`build_report_content` reads the results store (disclosure-controlled tables only) and
returns a :class:`ReportContent`:

- ``variables``: a nested dict written to the project's ``_variables.yml`` and read in the page
  sources as ``{{< var q1.cla.decile_ratio >}}`` (plain text values, no markdown);
- ``fragments``: name -> markdown (tables as great_tables HTML, figures with their words), read
  as ``{{< fragment q1/decile_table >}}``.

The narrative itself is written in ``report/*.qmd``. Sentences whose direction depends on the
data come from :mod:`cwi.report.sentences`; tables from :mod:`cwi.report.tables`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ReportContent", "build_report_content"]


def __getattr__(name: str) -> Any:
    """Load :mod:`cwi.report.content` on first use (``sentences`` alone stays light)."""
    if name in __all__:
        from cwi.report import content

        return getattr(content, name)
    raise AttributeError(name)
