"""The one registry of published tables.

Every table that reaches an output (report, LA profile, PDF, download) is declared here once:
its title, the report chapter it belongs to, its count columns and how they are protected
(:class:`~cwi.disclosure.engine.TableSpec`: dimensions, additive lines, threshold level), the
margins it shares with other tables (:class:`~cwi.disclosure.engine.Margin`), and the columns
whose values must be made uniform before publication. The suppression pass
(:func:`cwi.disclosure.publish.protect_all`), the recovery audit
(:mod:`cwi.disclosure.audit`), the leak scanner (:mod:`cwi.leaks`) and the tests all read it.

Adding a published table? Declare it in :data:`REGISTRY` (a table with count columns and no
spec stops the build).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cwi.disclosure.engine import Line, Margin, TableSpec
from cwi.disclosure.symbols import DOCUMENTED_MINIMUM

__all__ = [
    "MARGINS",
    "REGION",
    "REGISTRY",
    "SPECS",
    "STRUCTURAL_COLUMNS",
    "TABLE_TITLES",
    "PublishedTable",
    "documented_limit",
    "entry",
]

REGION = "REGION"
_RATE_DEPENDENTS = ("rate", "lower", "upper")
_GAP_DEPENDENTS = ("estimate", "lower", "upper", "difference", "difference_lower",
                   "difference_upper")  # fmt: skip

#: The confidence-limit method of every rate, stated once for the whole table: a per-row
#: "Exact" (n < 10) / "Byars" label would tell a reader which hidden counts are small.
RATE_METHOD = (
    "PHEindicatormethods phe_rate limits: exact Poisson for counts under 10, Byar's "
    "approximation from 10"
)

#: Columns that count things other than children (LAs, LSOAs, years, models): never read as
#: child counts by the scanner or the count-column check.
STRUCTURAL_COLUMNS = frozenset(
    {
        "n_la",
        "n_las",
        "n_lsoa",
        "n_lsoas",
        "n_lsoa_national",
        "n_years",
        "n_groups",
        "n_strata",
        "n_models",
        "n_boot",
        "n_bootstrap",
        "n_measures",
        "n_deciles",
        "year",
        "years",
        "df",
        "rank",
    }
)


@dataclass(frozen=True)
class PublishedTable:
    """One published table.

    Parameters
    ----------
    name : str
        Table name in the results store (and the download's file stem).
    title : str
        Heading in the report and the download index.
    chapter : str
        Report chapter (``q1`` .. ``q4``, ``england``, ``allocation``, ``methods``, ``data``).
    spec : TableSpec, optional
        How its counts are protected; ``None`` for tables without child counts.
    derived_from_deciles : tuple of str, optional
        For estimates computed from an area's decile counts: the count columns to drop; an
        area's row is hidden wherever any of its decile counts is hidden.
    uniform : mapping of str to str
        Columns replaced by one value on every row (e.g. the rate ``method``).
    """

    name: str
    title: str
    chapter: str
    spec: TableSpec | None = None
    derived_from_deciles: tuple[str, ...] | None = None
    uniform: Mapping[str, str] = field(default_factory=dict)

    @property
    def count_columns(self) -> tuple[str, ...]:
        """The columns holding counts of children (empty for estimate tables)."""
        return self.spec.counts if self.spec is not None else ()

    def threshold(self, thresholds: Mapping[str, Any] | None = None) -> int:
        """The primary threshold of the table's cells (documented minimum by default)."""
        if self.spec is None:
            return 0
        return self.spec.threshold(thresholds or DOCUMENTED_MINIMUM)


def _rates(
    name: str,
    title: str,
    chapter: str,
    *by: str,
    level: str = "crosstab",
    along: tuple[str, ...] | None = None,
) -> PublishedTable:
    """A rates table by ``by`` (after year and measure): its counts add along every ``by``.

    Each dimension is an additive line (the last first): along a group the counts add to the
    area's total; along ``area_code`` the LAs add to the region's row. ``along`` keeps only
    the named dimensions' lines: a line without a total row is taken to have its total
    published elsewhere *and known*, which is wrong where that total is a cell of another
    table that can itself be hidden (then the relation belongs in :data:`MARGINS`).
    """
    dims = [d for d in reversed(by) if along is None or d in along]
    lines = tuple(Line(d, total=REGION if d == "area_code" else None) for d in dims)
    spec = TableSpec(
        name=name,
        counts=("n",),
        dims=("year", "measure", *by),
        lines=lines,
        level=level,  # type: ignore[arg-type]
        dependents=_RATE_DEPENDENTS,
    )
    return PublishedTable(name, title, chapter, spec, uniform={"method": RATE_METHOD})


def _by_decile(
    name: str, title: str, chapter: str, dependents: Mapping[str, tuple[str, ...]]
) -> PublishedTable:
    """A table of counts by area and IMD decile (crosstab); its counts are ``dependents``' keys."""
    spec = TableSpec(
        name=name,
        counts=tuple(dependents),
        dims=("year", "measure", "area_code", "imd_decile"),
        lines=(Line("imd_decile"),),
        level="crosstab",
        dependents=dependents,
    )
    return PublishedTable(name, title, chapter, spec)


def _la_totals(
    name: str,
    title: str,
    chapter: str,
    dependents: tuple[str, ...],
    count: str = "observed",
    area: str = "la_code",
    **spec: Any,
) -> PublishedTable:
    """A table of one count per LA (``la_total``) with the columns that give it back."""
    table = TableSpec(
        name=name,
        counts=(count,),
        dims=("year", "measure", area),
        level="la_total",
        dependents=dependents,
        **spec,
    )
    return PublishedTable(name, title, chapter, table)


def _from_deciles(name: str, title: str, *counts: str) -> PublishedTable:
    """A Q1 estimate computed from an area's decile counts (``counts``: the columns dropped)."""
    return PublishedTable(name, title, "q1", derived_from_deciles=counts)


def _no_counts(chapter: str, **titles: str) -> list[PublishedTable]:
    """Tables without child counts in one chapter, name -> title."""
    return [PublishedTable(name, title, chapter) for name, title in titles.items()]


#: An LA table's cells are the rates tables' area cells: la_code is area_code, observed is n.
_AS_AREA_N = {"la_code": "area_code", "observed": "n"}
#: A share gives back either count from the other: hidden with both.
_SHARE = ("estimate", "lower", "upper")

_TABLES: list[PublishedTable] = [
    _rates("area_rates", "Rates per 10,000 children by area", "q1", "area_code", level="la_total"),
    _rates("q1_decile_rates", "Rates by IMD decile", "q1", "area_code", "imd_decile"),
    _rates("q1_quintile_rates", "Rates by IMD quintile", "q1", "area_code", "imd_quintile"),
    _rates("q2_rates_age_band", "Rates by age band", "q2", "area_code", "age_band"),
    _rates("q2_rates_sex", "Rates by sex", "q2", "area_code", "sex"),
    _rates("q2_rates_ethnic_group", "Rates by ethnic group", "q2", "area_code", "ethnic_group"),
    _by_decile(
        "q2_disability",
        "Share of children in need recorded as disabled, by decile",
        "q2",
        {"disabled": _SHARE, "recorded": _SHARE},
    ),
    _by_decile(
        "q2_male_share",
        "Share of cases who are boys, by decile (population has no split by sex)",
        "q2",
        {"male": _SHARE, "sex_recorded": _SHARE},
    ),
    _la_totals(
        "q3_standardised",
        "Standardised ratios: observed against deprivation-expected",
        "q3",
        # "significance" (High/Low against the funnel) narrows a hidden count too
        ("crude_rate", "estimate", "lower", "upper", "significance"),
        aliases=_AS_AREA_N,
    ),
    _rates(
        "q3_rates_by_la_third",
        "Rates by LA deprivation third at equal neighbourhood deprivation",
        "q3",
        "la_third",
        "imd_decile",
        # Not a line along la_third: the thirds' sum for a decile is the region's decile cell,
        # which is itself hidden when small; a "known" total there pinned a third's cell to
        # the hidden region cell whenever one third held all of a decile (e.g. 10 demo LAs).
        # The margins below relate thirds to their LAs' deciles, and the LAs to the region.
        along=("imd_decile",),
    ),
    _la_totals(
        "england",
        "Comparison with England",
        "england",
        ("rate", "rate_lower", "rate_upper", "estimate", "lower", "upper", "significance"),
        count="n",
        area="area_code",
    ),
    _la_totals(
        "allocation",
        "Shares of need, children and caseload",
        "allocation",
        ("share_caseload", "need_vs_caseload"),
        aliases=_AS_AREA_N,
    ),
    _from_deciles("q1_rate_ratio", "Most versus least deprived: rate ratios", "n_most", "n_least"),
    _from_deciles(
        "q1_case_shares",
        "Share of cases and of children in the most deprived areas",
        "cases",
        "cases_total",
    ),
    _from_deciles("q1_concentration", "Concentration index"),
    _from_deciles("q1_sii_rii", "Slope and relative index of inequality"),
    _from_deciles("q1_gradient", "Per-decile-step incidence rate ratios"),
    *_no_counts("data", linkage="Share of children linked to a neighbourhood (LSOA)"),
    *_no_counts("summary", verdicts="Plain-English verdicts, generated from the numbers"),
    *_no_counts("methods", analysis_notes="Analyses the data could not support, and why"),
    *_no_counts("data", la_coverage="Postcode directory coverage of each LA's neighbourhoods"),
    *_no_counts(
        "q2",
        q2_adjusted="Adjusted rate ratios",
        q2_ethnic="Ethnic rate ratios before and after allowing for deprivation",
        q2_interactions=(
            "Does the deprivation gradient differ between groups? (likelihood-ratio tests)"
        ),
        q2_group_gradients="Deprivation gradient within each group",
    ),
    _by_decile(
        "q2_gender_gap",
        "Gender gap by decile",
        "q2",
        # a boys' or girls' rate with the public population gives its count; the ratio
        # and difference involve both
        {"n_m": _GAP_DEPENDENTS + ("rate_m",), "n_f": _GAP_DEPENDENTS + ("rate_f",)},
    ),
    *_no_counts(
        "q3",
        q3_la_deprivation="Deprivation of each local authority",
        q3_between_la="How much of the between-LA variation is explained",
        q3_mix_vs_score="Deprivation mix against overall IMD score: deviance explained and tests",
        q3_multilevel="Between-LA variance and median rate ratio",
        q3_inverse_intervention="The inverse intervention test",
        q3_funnel_limits="Funnel plot control limits",
    ),
    *_no_counts(
        "q4",
        q4_outcomes="Deprivation effect by outcome",
        q4_difference="Do the gradients differ between outcomes?",
    ),
    *_no_counts("england", neighbours="Comparison with statistical neighbours"),
    # ---- the public-data edition (cwi.public): DfE's published LA counts, every English LA
    _la_totals(
        "england_public",
        "England, LA by LA: observed, expected and standardised ratios",
        "england_public",
        ("rate", "ratio", "ratio_lcl", "ratio_ucl", "ratio_vs_england", "neighbours_ratio"),
        # DfE's published counts: their own cells, never matched with the region's
        constants={"source": "dfe_published"},
    ),
    *_no_counts(
        "england_public",
        england_public_deciles="England, LA by LA: children 0-17 by IMD decile",
        england_public_la="England, LA by LA: deprivation summary measures",
        england_public_models="England, LA by LA: between-LA models and verdicts",
        england_public_trends="England, LA by LA: trends",
        england_public_neighbours="England, LA by LA: statistical neighbours (public data)",
        england_public_spend="England, LA by LA: Section 251 spending",
        england_public_funnel="England, LA by LA: funnel parameters",
        england_public_decile_rates="England rates by IMD decile used for expected counts",
        england_public_notes="England, LA by LA: boundaries, vintages and assumptions",
    ),
    # Public data and ingest quality for the LA profiles (cwi.profiles.reference): no child counts.
    *_no_counts(
        "england",
        england_reference=(
            "England's rates and the spread of English LAs' rates (DfE published tables)"
        ),
        dfe_la_rates="Published DfE rates of the LAs in this build",
    ),
    *_no_counts("data", ingest_quality="Rows read and the share rejected by validation, by LA"),
]

#: Every published table by name.
REGISTRY: dict[str, PublishedTable] = {t.name: t for t in _TABLES}

#: Published count tables and how they are protected (one family: shared cells agree).
SPECS: dict[str, TableSpec] = {t.name: t.spec for t in _TABLES if t.spec is not None}

#: Titles of the published tables (report headings, download index).
TABLE_TITLES: dict[str, str] = {t.name: t.title for t in _TABLES}


def entry(name: str) -> PublishedTable | None:
    """The registry entry of a table (``None`` when it is not published)."""
    return REGISTRY.get(name)


def documented_limit(name: str | None) -> int:
    """The smallest publishable count of a table, at the documented minimum thresholds.

    The leak scanner's limit: never taken from the user's settings. Unknown tables get the
    strictest (cross-tabulation) minimum.
    """
    table = REGISTRY.get(name) if name else None
    if table is None or table.spec is None:
        return max(DOCUMENTED_MINIMUM["la_total_min"], DOCUMENTED_MINIMUM["crosstab_min"])
    return table.threshold(DOCUMENTED_MINIMUM)


def _quintile(parts: pd.DataFrame, _context: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    decile = pd.to_numeric(parts["imd_decile"], errors="coerce")
    return pd.DataFrame({"imd_quintile": ((decile + 1) // 2).astype("Int64")}, index=parts.index)


def _la_third(parts: pd.DataFrame, context: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    dep = context.get("q3_la_deprivation")
    thirds: dict[Any, Any] = {}
    if dep is not None and {"la_code", "la_third"} <= set(dep.columns):
        d = dep
        if "year" in dep.columns:
            d = dep.drop_duplicates("la_code", keep="last")
        thirds = dict(zip(d["la_code"], d["la_third"], strict=False))
    third = parts["area_code"].map(thirds)
    return pd.DataFrame({"la_third": third}, index=parts.index)


#: Sums across published tables: a reader can add and subtract them, so suppression and the
#: recovery audit treat each as one more additive line.
MARGINS: tuple[Margin, ...] = (
    Margin(
        name="quintiles are pairs of deciles",
        total="q1_quintile_rates",
        parts="q1_decile_rates",
        on=("year", "measure", "area_code", "imd_quintile"),
        derive=_quintile,
    ),
    Margin(
        name="area totals are sums of deciles",
        total="area_rates",
        parts="q1_decile_rates",
        on=("year", "measure", "area_code"),
    ),
    Margin(
        name="LA thirds are sums of their LAs' deciles",
        total="q3_rates_by_la_third",
        parts="q1_decile_rates",
        on=("year", "measure", "la_third", "imd_decile"),
        derive=_la_third,
        parts_where={"area_type": "la"},
    ),
    Margin(
        name="the LA thirds of a decile add up to the region's decile",
        total="q1_decile_rates",
        parts="q3_rates_by_la_third",
        on=("year", "measure", "imd_decile"),
        total_where={"area_code": REGION},
    ),
)
