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
    )


def _rates(name: str, title: str, chapter: str, group: str | None, level: str = "crosstab"):
    return PublishedTable(
        name, title, chapter, _rates_spec(name, group, level), uniform={"method": RATE_METHOD}
    )


_TABLES: list[PublishedTable] = [
    _rates("area_rates", "Rates per 10,000 children by area", "q1", None, "la_total"),
    _rates("q1_decile_rates", "Rates by IMD decile", "q1", "imd_decile"),
    _rates("q1_quintile_rates", "Rates by IMD quintile", "q1", "imd_quintile"),
    _rates("q2_rates_age_band", "Rates by age band", "q2", "age_band"),
    _rates("q2_rates_sex", "Rates by sex", "q2", "sex"),
    _rates("q2_rates_ethnic_group", "Rates by ethnic group", "q2", "ethnic_group"),
    PublishedTable(
        "q2_disability",
        "Share of children in need recorded as disabled, by decile",
        "q2",
        TableSpec(
            name="q2_disability",
            counts=("disabled", "recorded"),
            dims=("year", "measure", "area_code", "imd_decile"),
            lines=(Line("imd_decile"),),
            level="crosstab",
            # a share gives back either count from the other: hidden with both
            dependents={
                "disabled": ("estimate", "lower", "upper"),
                "recorded": ("estimate", "lower", "upper"),
            },
        ),
    ),
    PublishedTable(
        "q2_male_share",
        "Share of cases who are boys, by decile (population has no split by sex)",
        "q2",
        TableSpec(
            name="q2_male_share",
            counts=("male", "sex_recorded"),
            dims=("year", "measure", "area_code", "imd_decile"),
            lines=(Line("imd_decile"),),
            level="crosstab",
            # a share gives back either count from the other: hidden with both
            dependents={
                "male": ("estimate", "lower", "upper"),
                "sex_recorded": ("estimate", "lower", "upper"),
            },
        ),
    ),
    PublishedTable(
        "q3_standardised",
        "Standardised ratios: observed against deprivation-expected",
        "q3",
        TableSpec(
            name="q3_standardised",
            counts=("observed",),
            dims=("year", "measure", "la_code"),
            level="la_total",
            # "significance" (High/Low against the funnel) narrows a hidden count too
            dependents=("crude_rate", "estimate", "lower", "upper", "significance"),
            aliases={"la_code": "area_code", "observed": "n"},
        ),
    ),
    PublishedTable(
        "q3_rates_by_la_third",
        "Rates by LA deprivation third at equal neighbourhood deprivation",
        "q3",
        TableSpec(
            name="q3_rates_by_la_third",
            counts=("n",),
            dims=("year", "measure", "la_third", "imd_decile"),
            lines=(Line("imd_decile"), Line("la_third")),
            level="crosstab",
            dependents=_RATE_DEPENDENTS,
        ),
        uniform={"method": RATE_METHOD},
    ),
    PublishedTable(
        "england",
        "Comparison with England",
        "england",
        TableSpec(
            name="england",
            counts=("n",),
            dims=("year", "measure", "area_code"),
            level="la_total",
            dependents=(
                "rate",
                "rate_lower",
                "rate_upper",
                "estimate",
                "lower",
                "upper",
                "significance",
            ),  # fmt: skip
        ),
    ),
    PublishedTable(
        "allocation",
        "Shares of need, children and caseload",
        "allocation",
        TableSpec(
            name="allocation",
            counts=("observed",),
            dims=("year", "measure", "la_code"),
            level="la_total",
            dependents=("share_caseload", "need_vs_caseload"),
            aliases={"la_code": "area_code", "observed": "n"},
        ),
    ),
    PublishedTable(
        "q1_rate_ratio",
        "Most versus least deprived: rate ratios",
        "q1",
        derived_from_deciles=("n_most", "n_least"),
    ),
    PublishedTable(
        "q1_case_shares",
        "Share of cases and of children in the most deprived areas",
        "q1",
        derived_from_deciles=("cases", "cases_total"),
    ),
    PublishedTable("q1_concentration", "Concentration index", "q1", derived_from_deciles=()),
    PublishedTable(
        "q1_sii_rii", "Slope and relative index of inequality", "q1", derived_from_deciles=()
    ),
    PublishedTable(
        "q1_gradient", "Per-decile-step incidence rate ratios", "q1", derived_from_deciles=()
    ),
    PublishedTable("linkage", "Share of children linked to a neighbourhood (LSOA)", "data"),
    PublishedTable("verdicts", "Plain-English verdicts, generated from the numbers", "summary"),
    PublishedTable("analysis_notes", "Analyses the data could not support, and why", "methods"),
    PublishedTable(
        "la_coverage", "Postcode directory coverage of each LA's neighbourhoods", "data"
    ),
    PublishedTable("q2_adjusted", "Adjusted rate ratios", "q2"),
    PublishedTable(
        "q2_ethnic", "Ethnic rate ratios before and after allowing for deprivation", "q2"
    ),
    PublishedTable(
        "q2_interactions",
        "Does the deprivation gradient differ between groups? (likelihood-ratio tests)",
        "q2",
    ),
    PublishedTable("q2_group_gradients", "Deprivation gradient within each group", "q2"),
    PublishedTable(
        "q2_gender_gap",
        "Gender gap by decile",
        "q2",
        TableSpec(
            name="q2_gender_gap",
            counts=("n_m", "n_f"),
            dims=("year", "measure", "area_code", "imd_decile"),
            lines=(Line("imd_decile"),),
            level="crosstab",
            # a boys' or girls' rate with the public population gives its count; the ratio
            # and difference involve both
            dependents={
                "n_m": _GAP_DEPENDENTS + ("rate_m",),
                "n_f": _GAP_DEPENDENTS + ("rate_f",),
            },
        ),
    ),
    PublishedTable("q3_la_deprivation", "Deprivation of each local authority", "q3"),
    PublishedTable("q3_between_la", "How much of the between-LA variation is explained", "q3"),
    PublishedTable(
        "q3_mix_vs_score",
        "Deprivation mix against overall IMD score: deviance explained and tests",
        "q3",
    ),
    PublishedTable("q3_multilevel", "Between-LA variance and median rate ratio", "q3"),
    PublishedTable("q3_inverse_intervention", "The inverse intervention test", "q3"),
    PublishedTable("q3_funnel_limits", "Funnel plot control limits", "q3"),
    PublishedTable("q4_outcomes", "Deprivation effect by outcome", "q4"),
    PublishedTable("q4_difference", "Do the gradients differ between outcomes?", "q4"),
    PublishedTable("neighbours", "Comparison with statistical neighbours", "england"),
    # ---- the public-data edition (cwi.public): DfE's published LA counts, every English LA
    PublishedTable(
        "england_public",
        "England, LA by LA: observed, expected and standardised ratios",
        "england_public",
        TableSpec(
            name="england_public",
            counts=("observed",),
            dims=("year", "measure", "la_code"),
            level="la_total",
            dependents=(
                "rate",
                "ratio",
                "ratio_lcl",
                "ratio_ucl",
                "ratio_vs_england",
                "neighbours_ratio",
            ),  # fmt: skip
            # DfE's published counts: their own cells, never matched with the region's
            constants={"source": "dfe_published"},
        ),
    ),
    PublishedTable(
        "england_public_deciles",
        "England, LA by LA: children 0-17 by IMD decile",
        "england_public",
    ),  # fmt: skip
    PublishedTable(
        "england_public_la", "England, LA by LA: deprivation summary measures", "england_public"
    ),
    PublishedTable(
        "england_public_models",
        "England, LA by LA: between-LA models and verdicts",
        "england_public",
    ),  # fmt: skip
    PublishedTable("england_public_trends", "England, LA by LA: trends", "england_public"),
    PublishedTable(
        "england_public_neighbours",
        "England, LA by LA: statistical neighbours (public data)",
        "england_public",
    ),  # fmt: skip
    PublishedTable(
        "england_public_spend", "England, LA by LA: Section 251 spending", "england_public"
    ),
    PublishedTable(
        "england_public_funnel", "England, LA by LA: funnel parameters", "england_public"
    ),
    PublishedTable(
        "england_public_decile_rates",
        "England rates by IMD decile used for expected counts",
        "england_public",
    ),  # fmt: skip
    PublishedTable(
        "england_public_notes",
        "England, LA by LA: boundaries, vintages and assumptions",
        "england_public",
    ),  # fmt: skip
    # Public data and ingest quality for the LA profiles (cwi.profiles.reference): no child counts.
    PublishedTable(
        "england_reference",
        "England's rates and the spread of English LAs' rates (DfE published tables)",
        "england",
    ),
    PublishedTable("dfe_la_rates", "Published DfE rates of the LAs in this build", "england"),
    PublishedTable(
        "ingest_quality", "Rows read and the share rejected by validation, by LA", "data"
    ),
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
)
