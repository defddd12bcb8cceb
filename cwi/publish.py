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


def _rates_spec(name: str, group: str | None, level: str = "crosstab") -> TableSpec:
    """Spec of a rates table: counts along ``group`` add to the area total, LAs to the region."""
    dims = ("year", "measure", "area_code") + ((group,) if group else ())
    lines = ((Line(group),) if group else ()) + (Line("area_code", total=REGION),)
    return TableSpec(
        name=name,
        counts=("n",),
        dims=dims,
        lines=lines,
        level=level,  # type: ignore[arg-type]
        dependents=_RATE_DEPENDENTS,
        round_to="round_regional_to" if group is None else None,
        round_where={"area_code": REGION} if group is None else None,
    )


#: Published count tables and how they are protected (one family: shared cells agree).
SPECS: dict[str, TableSpec] = {
    "area_rates": _rates_spec("area_rates", None, level="la_total"),
    "q1_decile_rates": _rates_spec("q1_decile_rates", "imd_decile"),
    "q1_quintile_rates": _rates_spec("q1_quintile_rates", "imd_quintile"),
    "q2_rates_age_band": _rates_spec("q2_rates_age_band", "age_band"),
    "q2_rates_sex": _rates_spec("q2_rates_sex", "sex"),
    "q2_rates_ethnic_group": _rates_spec("q2_rates_ethnic_group", "ethnic_group"),
    "q2_disability": TableSpec(
        name="q2_disability",
        counts=("disabled", "recorded"),
        dims=("year", "measure", "area_code", "imd_decile"),
        lines=(Line("imd_decile"),),
        level="crosstab",
        dependents={"disabled": ("estimate", "lower", "upper")},
    ),
    "q3_standardised": TableSpec(
        name="q3_standardised",
        counts=("observed",),
        dims=("year", "measure", "la_code"),
        level="la_total",
        dependents=("crude_rate", "estimate", "lower", "upper"),
        aliases={"la_code": "area_code", "observed": "n"},
    ),
    "q3_rates_by_la_third": TableSpec(
        name="q3_rates_by_la_third",
        counts=("n",),
        dims=("year", "measure", "la_third", "imd_decile"),
        lines=(Line("imd_decile"), Line("la_third")),
        level="crosstab",
        dependents=_RATE_DEPENDENTS,
    ),
    "england": TableSpec(
        name="england",
        counts=("n",),
        dims=("year", "measure", "area_code"),
        level="la_total",
        dependents=("rate", "rate_lower", "rate_upper", "estimate", "lower", "upper"),
    ),
    "allocation": TableSpec(
        name="allocation",
        counts=("observed",),
        dims=("year", "measure", "la_code"),
        level="la_total",
        dependents=("share_caseload", "need_vs_caseload"),
        aliases={"la_code": "area_code", "observed": "n"},
    ),
}

#: Tables of estimates derived from an area's decile counts: an area's row is shown only where
#: every decile count of that area and measure is shown (else a hidden count could be solved
#: from the estimate and the published populations). Count columns listed are dropped.
DERIVED_FROM_DECILES: dict[str, tuple[str, ...]] = {
    "q1_rate_ratio": ("n_most", "n_least"),
    "q1_case_shares": ("cases", "cases_total"),
    "q1_concentration": (),
    "q1_sii_rii": (),
    "q1_gradient": (),
}

#: Titles of the published tables (report headings, download index).
TABLE_TITLES = {
    "area_rates": "Rates per 10,000 children by area",
    "q1_decile_rates": "Rates by IMD decile",
    "linkage": "Share of children linked to a neighbourhood (LSOA)",
    "verdicts": "Plain-English verdicts, generated from the numbers",
    "analysis_notes": "Analyses the data could not support, and why",
    "q1_quintile_rates": "Rates by IMD quintile",
    "q1_rate_ratio": "Most versus least deprived: rate ratios",
    "q1_gradient": "Per-decile-step incidence rate ratios",
    "q1_case_shares": "Share of cases and of children in the most deprived areas",
    "q1_concentration": "Concentration index",
    "q1_sii_rii": "Slope and relative index of inequality",
    "q2_rates_age_band": "Rates by age band",
    "q2_rates_sex": "Rates by sex",
    "q2_rates_ethnic_group": "Rates by ethnic group",
    "q2_adjusted": "Adjusted rate ratios",
    "q2_ethnic": "Ethnic rate ratios before and after allowing for deprivation",
    "q2_interactions": "Does the deprivation gradient differ between groups? (likelihood-ratio tests)",
    "q2_group_gradients": "Deprivation gradient within each group",
    "q2_gender_gap": "Gender gap by decile",
    "q2_disability": "Share of children in need recorded as disabled, by decile",
    "q3_standardised": "Standardised ratios: observed against deprivation-expected",
    "q3_la_deprivation": "Deprivation of each local authority",
    "q3_between_la": "How much of the between-LA variation is explained",
    "q3_mix_vs_score": "Deprivation mix against overall IMD score: deviance explained and tests",
    "q3_multilevel": "Between-LA variance and median rate ratio",
    "q3_inverse_intervention": "The inverse intervention test",
    "q3_rates_by_la_third": "Rates by LA deprivation third at equal neighbourhood deprivation",
    "q4_outcomes": "Deprivation effect by outcome",
    "q4_difference": "Do the gradients differ between outcomes?",
    "allocation": "Shares of need, children and caseload",
    "england": "Comparison with England",
}

#: Column names that hold counts of children (a table with one needs a spec).
COUNT_COLUMN = re.compile(
    r"^(n|n_(?!lsoa$|la$)\w+|count|cases|cases_total|number|observed|children|linked|disabled|recorded)$"
)

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


def mask_derived(
    frame: pd.DataFrame, deciles: pd.DataFrame | None, drop: tuple[str, ...]
) -> pd.DataFrame:
    """Hide an area's derived estimates where any of its decile counts is hidden.

    Parameters
    ----------
    frame : pandas.DataFrame
        Estimates with ``year, area_code, measure`` (and ``estimate``, ``lower``, ``upper``).
    deciles : pandas.DataFrame or None
        The protected decile table; ``None`` hides every LA row (nothing to check against).
    drop : tuple of str
        Count columns removed before publication.

    Returns
    -------
    pandas.DataFrame
        The table without ``drop`` columns, hidden rows' numbers set to NaN with note ``[c]``.
    """
    out = frame.drop(columns=[c for c in drop if c in frame.columns]).copy()
    keys = ["year", "area_code", "measure"]
    if deciles is None:
        hidden = out["area_code"] != REGION
    else:
        bad = deciles[deciles["n"].isna()][keys].drop_duplicates().assign(_hide=True)
        hidden = out.merge(bad, on=keys, how="left")["_hide"].eq(True).to_numpy(bool)
    numeric = [c for c in out.columns if c not in keys and pd.api.types.is_float_dtype(out[c])]
    out.loc[hidden, numeric] = float("nan")
    note = out["note"] if "note" in out.columns else pd.Series("", index=out.index)
    out["note"] = note.where(~pd.Series(hidden, index=out.index), "[c]")
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
    counted = {name: frame for name, frame in raw.items() if name in SPECS and not frame.empty}
    out = protect_family(counted, {n: SPECS[n] for n in counted}, thresholds) if counted else {}
    for name, frame in raw.items():
        if name in counted or name in PRIVATE_TABLES or frame.columns.empty:
            continue  # (a table with no columns, e.g. no neighbour list given, is not published)
        if name in SPECS:  # an empty count table: nothing to protect
            out[name] = frame
            continue
        if name == "linkage":
            out[name] = linkage_for_publication(frame)
            continue
        if name in DERIVED_FROM_DECILES:
            frame = mask_derived(frame, out.get("q1_decile_rates"), DERIVED_FROM_DECILES[name])
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
