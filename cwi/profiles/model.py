"""The typed LA profile: every number, sentence, table and figure of one LA's web page and PDF.

Numbers are held twice where a chart or a test needs them: as the value (float, ``None`` when
hidden) and as the display string both renderers print (so web and print cannot format a
number differently). Words that do not depend on the data are in ``templates/``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cwi.profiles.sentences import Direction


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class FigureRef(_Model):
    """A drawn chart and the words that travel with it.

    ``path`` is relative to the results store's ``profiles/`` folder.
    """

    key: str
    path: str
    title: str
    subtitle: str
    source: str
    alt: str


class SpinePoint(_Model):
    """One measure on the spine chart (values per 10,000; ``None`` when not available)."""

    measure: str
    la: float | None
    la_lower: float | None
    la_upper: float | None
    region: float | None
    england: float | None
    england_min: float | None = None
    england_p25: float | None = None
    england_p75: float | None = None
    england_max: float | None = None
    n_england_las: int = 0
    significance: Direction = "unknown"


class MeasureBlock(_Model):
    """Everything the profile says about one measure (CIN, CPP or CLA)."""

    measure: str
    label: str
    n: str
    rate: str
    ci: str
    rate_value: float | None
    lower_value: float | None
    upper_value: float | None
    region_rate: str
    region_rate_value: float | None
    region_direction: Direction
    england_rate: str = "[x]"
    england_rate_value: float | None = None
    england_direction: Direction = "unknown"
    expected_rate: str = "[x]"
    ratio: str = "[x]"
    ratio_ci: str = "[x]"
    ratio_value: float | None = None
    expected_direction: Direction = "unknown"
    verdict: str = "not available"
    rank_region: str = ""
    rank_neighbours: str = ""
    linkage: str = "[x]"
    linkage_note: str = ""


class DecileRow(_Model):
    """One IMD decile of the LA: children, and per measure the count and rate as displayed."""

    decile: int
    label: str
    population: str
    cells: dict[str, tuple[str, str]] = Field(
        description="measure -> (children, rate per 10,000), as displayed"
    )


class TrendRow(_Model):
    """One built year of one measure, with the published DfE rate where there is one."""

    year: int
    measure: str
    rate: str
    ci: str
    region_rate: str
    dfe_rate: str = ""
    rate_value: float | None = None
    lower_value: float | None = None
    upper_value: float | None = None
    region_value: float | None = None


class EnglandRow(_Model):
    """The LA's place in England (public-data edition, or the DfE published rates)."""

    measure: str
    year: int
    rate: str
    england_rate: str
    ratio: str = ""
    ratio_ci: str = ""
    rank: str = ""
    spend_per_child: str = ""


class Neighbour(_Model):
    """A statistical neighbour and how it was chosen."""

    code: str
    name: str


class Quality(_Model):
    """Data quality shown beside the numbers it affects."""

    linkage: dict[str, str] = Field(default_factory=dict)
    low_linkage: list[str] = Field(default_factory=list)
    rejected_rows: str = ""
    postcode_note: str = ""
    vintages: list[str] = Field(default_factory=list)


class LaProfile(_Model):
    """One LA's profile: built once in the store stage, rendered by the web page and the PDF."""

    la_code: str
    la_name: str
    region_name: str
    year: int
    years: list[int]
    snapshot: str
    headline: list[str]
    measures: list[MeasureBlock]
    spine: list[SpinePoint]
    deciles: list[DecileRow]
    trends: list[TrendRow]
    trend_sentences: list[str]
    england: list[EnglandRow]
    england_source: str
    neighbours: list[Neighbour]
    neighbours_label: str
    n_region_las: int
    quality: Quality
    figures: dict[str, FigureRef]
    resources: str
    rule_text: str
    source: str
    measure_order: list[str]

    def measure(self, code: str) -> MeasureBlock:
        """The block of one measure."""
        for m in self.measures:
            if m.measure == code:
                return m
        raise KeyError(code)
