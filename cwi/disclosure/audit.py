"""The recovery audit: whether a reader of everything published can pin down a hidden count.

The audit reads the published tables as a reader would -- a missing count is unknown, a
rounded count is known only to within its rounding interval -- and puts every additive
relation a reader knows into one linear program: the lines of each table (deciles add up to
the area, LAs to the region), the margins between tables (quintile = two deciles, an LA third
= the sum of its LAs), across all measures and years of the build. For each confidential cell
(a true count from 1 to its threshold minus 1, or a zero in a line totalling less than the
zero-safe margin) it bounds the feasible values by linear programming (scipy ``linprog``,
HiGHS). A cell is *recoverable* when its interval is narrower than
``min(threshold, smallest line total)``: the reader would then learn it is small, or which
small value it has.

It runs at the end of every suppression pass (:func:`cwi.disclosure.publish.protect_all`), so a
build that would publish a recoverable cell stops; its summary (numbers of cells, never
values) goes into the build log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cwi.disclosure.engine import (
    DisclosureError,
    Margin,
    TableSpec,
    _attack,
    _build_system,
    _lines_of,
    _primary,
)

__all__ = ["AuditReport", "audit_published"]


@dataclass
class AuditReport:
    """What the recovery audit found (cell locations only, never values).

    Attributes
    ----------
    tables : list of str
        The published count tables audited together.
    cells : int
        Distinct count cells across them (a cell shown in two tables counts once).
    hidden : int
        Cells shown as ``[c]``.
    confidential : int
        Cells the rule protects (small counts, risky zeros).
    lines : int
        Additive relations in the reader's linear program (within and across tables).
    exposed : list of str
        Confidential cells published as numbers.
    recoverable : list of str
        Confidential hidden cells whose bounds are narrower than their protection width.
    """

    tables: list[str]
    cells: int = 0
    hidden: int = 0
    confidential: int = 0
    lines: int = 0
    exposed: list[str] = field(default_factory=list)
    recoverable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing confidential is shown or recoverable."""
        return not self.exposed and not self.recoverable

    def summary(self) -> dict[str, Any]:
        """Counts for the manifest and the build log."""
        return {
            "tables": self.tables,
            "cells": self.cells,
            "hidden": self.hidden,
            "confidential": self.confidential,
            "relations": self.lines,
            "exposed": len(self.exposed),
            "recoverable": len(self.recoverable),
        }

    def raise_if_recoverable(self) -> None:
        """Raise :class:`DisclosureError` naming the first problem cells (no values)."""
        if self.exposed:
            raise DisclosureError(
                f"{len(self.exposed)} confidential count(s) are published unsuppressed, e.g. "
                f"{self.exposed[0]}; run the table through cwi.disclosure.protect_all."
            )
        if self.recoverable:
            shown = "; ".join(self.recoverable[:3])
            raise DisclosureError(
                f"{len(self.recoverable)} suppressed cell(s) can be worked out from the "
                f"published tables together ({shown}). The suppression pass should have "
                "hidden more cells around them: this is a defect in cwi.disclosure, not in "
                "your data or settings, and nothing was published. Please report it with this "
                "message."
            )


def audit_published(
    originals: Mapping[str, pd.DataFrame],
    published: Mapping[str, pd.DataFrame],
    thresholds: Mapping[str, Any],
    context: Mapping[str, pd.DataFrame] | None = None,
    specs: Mapping[str, TableSpec] | None = None,
    margins: Sequence[Margin] | None = None,
) -> AuditReport:
    """Audit the published count tables of a build together.

    Parameters
    ----------
    originals : mapping of str to pandas.DataFrame
        The true tables (before suppression), by name.
    published : mapping of str to pandas.DataFrame
        The same tables as published (same rows in the same order; hidden counts NaN).
    thresholds : mapping
        ``Settings.disclosure`` (the thresholds the build promises).
    context : mapping, optional
        Every table of the build, for margins that need a published mapping (LA thirds).
    specs : mapping of str to TableSpec, optional
        Defaults to the registry's specs.
    margins : sequence of Margin, optional
        Defaults to the registry's margins.

    Returns
    -------
    AuditReport
        Cells counted, confidential cells shown, and cells recoverable.
    """
    from cwi.disclosure.registry import MARGINS, SPECS

    specs = dict(SPECS if specs is None else specs)
    names = [n for n in originals if n in published and not originals[n].empty]
    tables = {n: originals[n] for n in names}
    sys_ = _build_system(
        tables, {n: specs[n] for n in names}, thresholds, MARGINS if margins is None else margins,
        context if context is not None else originals,
    )  # fmt: skip
    hidden = np.zeros(sys_.size, dtype=bool)
    for app in sys_.appearances:
        pub = published[app.table][app.count].to_numpy(dtype=float)
        if len(pub) != len(app.gidx):
            raise DisclosureError(f"{app.table}: published table has a different number of rows.")
        hidden[app.gidx[np.isnan(pub)]] = True
    primary, required = _primary(sys_, thresholds)
    real = ~np.isnan(sys_.values)
    report = AuditReport(
        tables=names,
        cells=int(real.sum()),
        hidden=int((hidden & real).sum()),
        confidential=int(primary.sum()),
        lines=len(sys_.lines),
    )
    shown = primary & ~hidden
    report.exposed = [sys_.labels[g] for g in np.flatnonzero(shown)]
    failing = _attack(sys_, hidden, primary, required)
    lines_of = _lines_of(sys_)
    for g in sorted(set(failing)):
        where = "; ".join(f"{ln.table}: {ln.where}" for ln in lines_of.get(g, [])[:2])
        report.recoverable.append(f"{sys_.labels[g]} ({where})" if where else sys_.labels[g])
    return report
