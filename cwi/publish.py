"""Which analysis tables are published, and the disclosure rule each one goes through.

Every table the analysis returns passes here on its way to the results store. A table that
carries counts must have a :class:`~cwi.disclosure.TableSpec` in :data:`SPECS` (the build fails
otherwise, naming it); the count tables of one kind are protected together
(:func:`cwi.disclosure.protect_family`) so a cell hidden in one is hidden wherever it appears.
Tables of model estimates without counts pass after the same forbidden-column check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from cwi.config import Settings
from cwi.disclosure import FORBIDDEN_COLUMN, DisclosureError, Line, TableSpec, protect_family

REGION = "REGION"
_RATE_DEPENDENTS = ("rate", "lower", "upper")

#: Published count tables and how they are protected.
SPECS: dict[str, TableSpec] = {
    "area_rates": TableSpec(
        name="area_rates",
        counts=("n",),
        dims=("year", "measure", "area_code"),
        lines=(Line("area_code", total=REGION),),
        level="la_total",
        dependents=_RATE_DEPENDENTS,
        round_to="round_regional_to",
        round_where={"area_code": REGION},
    ),
    "decile_rates": TableSpec(
        name="decile_rates",
        counts=("n",),
        dims=("year", "measure", "area_code", "imd_decile"),
        lines=(Line("imd_decile"), Line("area_code", total=REGION)),
        level="crosstab",
        dependents=_RATE_DEPENDENTS,
    ),
    "quintile_rates": TableSpec(
        name="quintile_rates",
        counts=("n",),
        dims=("year", "measure", "area_code", "imd_quintile"),
        lines=(Line("imd_quintile"), Line("area_code", total=REGION)),
        level="crosstab",
        dependents=_RATE_DEPENDENTS,
    ),
}

#: Column names that hold counts of children (a table with one needs a spec).
COUNT_COLUMN = re.compile(r"^(n|n_\w+|count|cases|number|observed|children|linked)$")

#: Tables kept out of the published store (internal diagnostics with file names or ids).
PRIVATE_TABLES = frozenset({"findings", "validation"})


def count_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of a table that hold counts of children."""
    return [c for c in frame.columns if COUNT_COLUMN.match(str(c))]


def linkage_for_publication(linkage: pd.DataFrame) -> pd.DataFrame:
    """The linkage table reduced to what the profiles state: the share of children linked."""
    out = linkage[["year", "la_code", "measure", "linkage_rate"]].copy()
    out["linkage_rate"] = out["linkage_rate"].round(3)
    return out


def protect_all(raw: Mapping[str, pd.DataFrame], settings: Settings) -> dict[str, pd.DataFrame]:
    """Apply disclosure control to every table before it reaches the results store.

    Parameters
    ----------
    raw : mapping of str to pandas.DataFrame
        Analysis output (table name -> tidy frame), plus ``linkage`` from ingest.
    settings : Settings
        Gives the thresholds.

    Returns
    -------
    dict of str to pandas.DataFrame
        Tables safe to publish.

    Raises
    ------
    DisclosureError
        If a table has below-LA columns, or counts without a spec.
    """
    thresholds = settings.disclosure
    counted = {name: frame for name, frame in raw.items() if name in SPECS}
    out = protect_family(counted, {n: SPECS[n] for n in counted}, thresholds) if counted else {}
    for name, frame in raw.items():
        if name in SPECS or name in PRIVATE_TABLES:
            continue
        if name == "linkage":
            out[name] = linkage_for_publication(frame)
            continue
        forbidden = [c for c in frame.columns if FORBIDDEN_COLUMN.match(str(c))]
        if forbidden:
            raise DisclosureError(f"{name}: column(s) {forbidden} must never be published.")
        counts = count_columns(frame)
        if counts:
            raise DisclosureError(
                f"Table {name!r} holds counts ({counts}) but has no TableSpec in cwi/publish.py; "
                "add one so it goes through suppression."
            )
        out[name] = frame
    return out
