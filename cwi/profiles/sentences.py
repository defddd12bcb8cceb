"""Sentences whose direction depends on the data: the only words of a profile made in Python.

Every other word of the LA profile lives in ``templates/``. Each generator here is a pure
function of directions and display strings, tested for every direction it can take
(``tests/unit/test_profile_sentences.py``).

Directions
----------
A comparison has one of four directions: ``"higher"``, ``"lower"``, ``"similar"`` (the 95%
interval includes the reference) or ``"unknown"`` (a number is suppressed or not available).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower", "similar", "unknown"]
DIRECTIONS: tuple[Direction, ...] = ("higher", "lower", "similar", "unknown")


def _missing(*values: float | None) -> bool:
    return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def direction_against(
    lower: float | None, upper: float | None, reference: float | None
) -> Direction:
    """Direction of an estimate's 95% interval against a fixed reference value.

    Parameters
    ----------
    lower, upper : float or None
        The interval of the LA's estimate (NaN / None when suppressed).
    reference : float or None
        The reference (region or England rate; 1 for a ratio).

    Returns
    -------
    str
        ``higher`` if the whole interval is above the reference, ``lower`` if below,
        ``similar`` if it includes it, ``unknown`` if anything is missing.
    """
    if _missing(lower, upper, reference):
        return "unknown"
    if lower > reference:  # type: ignore[operator]
        return "higher"
    if upper < reference:  # type: ignore[operator]
        return "lower"
    return "similar"


def join_words(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def subject(measures: Sequence[str], total: int = 3) -> tuple[str, str]:
    """Subject of a sentence about some measures' rates, and its verb ("is"/"are").

    ``("The CLA rate", "is")``, ``("The CIN and CPP rates", "are")``, ``("All three rates",
    "are")`` when every one of ``total`` measures is meant.
    """
    if len(measures) == 1:
        return f"The {measures[0]} rate", "is"
    if len(measures) == total and total == 3:
        return "All three rates", "are"
    if len(measures) == total == 2:
        return "Both rates", "are"
    return f"The {join_words(measures)} rates", "are"


_REGION_PHRASE = {
    "higher": "above the region's",
    "lower": "below the region's",
    "similar": "similar to the region's",
}
_ENGLAND_PHRASE = {
    "higher": "above England's",
    "lower": "below England's",
    "similar": "similar to England's",
}


@dataclass(frozen=True)
class MeasureComparison:
    """What the headline needs to know about one measure.

    Parameters
    ----------
    measure : str
        ``CIN``, ``CPP`` or ``CLA``.
    region : str
        Direction of the LA's rate against the region's rate.
    expected : str
        Direction of the observed/expected ratio against 1.
    ratio : str
        The ratio as displayed (e.g. ``"1.26"``); ignored when ``expected`` is unknown.
    england : str
        Direction of the LA's rate against England's rate.
    """

    measure: str
    region: Direction
    expected: Direction
    ratio: str = ""
    england: Direction = "unknown"


def _ratio_words(ratios: Sequence[str]) -> str:
    if len(ratios) == 1:
        return f"{ratios[0]} times what its deprivation mix predicts"
    return f"{join_words(ratios)} times what its deprivation mix predicts, respectively"


def reconcile(region: Direction, expected: Direction, ratios: Sequence[str]) -> str:
    """The predicate joining the region comparison and the deprivation-mix comparison.

    The region comparison says where the LA stands; the observed/expected ratio says whether
    its children's deprivation explains it. Agreeing directions are joined with "and",
    opposite ones with "but", and a ratio near 1 explains the region comparison ("as its
    deprivation mix predicts").

    Parameters
    ----------
    region, expected : str
        Directions (see module docstring).
    ratios : sequence of str
        Displayed ratios of the measures the sentence is about.

    Returns
    -------
    str
        A predicate starting with the verb's complement, e.g. ``"below the region's but 1.26
        times what its deprivation mix predicts"``.
    """
    if region == "unknown" and expected == "unknown":
        return "not published for comparison [c]"
    if region == "unknown":
        if expected == "similar":
            return (
                "in line with what its deprivation mix predicts (region comparison not available)"
            )
        return f"{_ratio_words(ratios)} (region comparison not available)"
    where = _REGION_PHRASE[region]
    if expected == "unknown":
        return f"{where}; the comparison with its deprivation mix is not available [c]"
    if expected == "similar":
        if region == "similar":
            return f"{where} and in line with what its deprivation mix predicts"
        return f"{where}, as its deprivation mix predicts"
    joiner = "and" if region == expected else "but"
    return f"{where} {joiner} {_ratio_words(ratios)}"


def headline_sentences(comparisons: Sequence[MeasureComparison]) -> list[str]:
    """One sentence per group of measures that share both directions, then one on England.

    Parameters
    ----------
    comparisons : sequence of MeasureComparison
        One per measure, in the profile's order (CIN, CPP, CLA).

    Returns
    -------
    list of str
        Usually one or two sentences for the regional reconciliation, and one for England
        (left out when England's rates are not available for any measure).
    """
    groups: dict[tuple[str, str], list[MeasureComparison]] = {}
    for c in comparisons:
        groups.setdefault((c.region, c.expected), []).append(c)
    out = []
    total = len(comparisons)
    for (region, expected), members in groups.items():
        subj, verb = subject([m.measure for m in members], total)
        predicate = reconcile(region, expected, [m.ratio for m in members])  # type: ignore[arg-type]
        out.append(f"{subj} {verb} {predicate}.")
    england = england_sentence(comparisons)
    if england:
        out.append(england)
    return out


def england_sentence(comparisons: Sequence[MeasureComparison]) -> str:
    """How the LA's rates compare with England's, grouped by direction ("" if none known)."""
    groups: dict[str, list[str]] = {}
    for c in comparisons:
        if c.england != "unknown":
            groups.setdefault(c.england, []).append(c.measure)
    if not groups:
        return ""
    parts = []
    total = len(comparisons)
    for i, (direction, measures) in enumerate(groups.items()):
        subj, verb = subject(measures, total)
        if i:
            subj = subj[0].lower() + subj[1:]
        parts.append(f"{subj} {verb} {_ENGLAND_PHRASE[direction]}")
    return "; ".join(parts) + "."


def trend_direction(
    first: float | None,
    first_lower: float | None,
    first_upper: float | None,
    last: float | None,
    last_lower: float | None,
    last_upper: float | None,
) -> Direction:
    """Whether a rate rose (``higher``), fell (``lower``) or changed little between two years.

    A change counts only when the two 95% intervals do not overlap (a conservative test).
    """
    if _missing(first, first_lower, first_upper, last, last_lower, last_upper):
        return "unknown"
    if last_lower > first_upper:  # type: ignore[operator]
        return "higher"
    if last_upper < first_lower:  # type: ignore[operator]
        return "lower"
    return "similar"


def trend_sentence(
    measure: str, direction: Direction, first: tuple[int, str], last: tuple[int, str]
) -> str:
    """One sentence on a measure's trend, e.g. "The CLA rate rose from 60.1 in 2021 to 66.0 in 2023".

    Parameters
    ----------
    measure : str
        The measure.
    direction : str
        From :func:`trend_direction`.
    first, last : tuple of (int, str)
        Year and displayed rate at the two ends of the series.
    """
    (y0, r0), (y1, r1) = first, last
    if direction == "unknown":
        return f"The {measure} rate cannot be compared between {y0} and {y1} (a year is not published)."
    verb = {"higher": "rose", "lower": "fell", "similar": "changed little"}[direction]
    return f"The {measure} rate {verb} between {y0} and {y1} ({r0} to {r1} per 10,000)."


def rank_phrase(rank: int | None, of: int, group: str) -> str:
    """``"4th of 15"`` (1st = highest rate); ``"not ranked [c]"`` without a rank.

    ``group`` names what is ranked, for the web page's table caption; it is not repeated in
    each cell so that cells stay on one line.
    """
    if rank is None or of < 2:
        return "not ranked [c]"
    return f"{ordinal(rank)} of {of}"


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``21st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _grouped(directions: dict[str, str], phrases: dict[str, str], total: int) -> str:
    """``"All three rates are X"`` / ``"The CIN rate is X; the CPP and CLA rates are Y"``."""
    groups: dict[str, list[str]] = {}
    for measure, direction in directions.items():
        if direction in phrases:
            groups.setdefault(direction, []).append(measure)
    parts = []
    for i, (direction, measures) in enumerate(groups.items()):
        subj, verb = subject(measures, total)
        if i:
            subj = subj[0].lower() + subj[1:]
        parts.append(f"{subj} {verb} {phrases[direction]}")
    return "; ".join(parts)


def spine_title(directions: dict[str, Direction], reference: str) -> str:
    """Finding title of the spine chart, e.g. "All three rates are above England's".

    Parameters
    ----------
    directions : dict
        Measure -> direction of the LA's rate against the reference.
    reference : str
        ``"England"`` or ``"the region"``.
    """
    ref = "England's" if reference == "England" else "the region's"
    phrases = {"higher": f"above {ref}", "lower": f"below {ref}", "similar": f"similar to {ref}"}
    text = _grouped(directions, phrases, len(directions))
    return text or f"Rates cannot be compared with {ref}"


def gradient_phrase(most: float | None, least: float | None) -> str:
    """How rates vary between the most and the least deprived deciles with a published rate.

    A rate at least 1.5 times the other counts as a gradient.
    """
    if _missing(most, least):
        return "cannot be compared across deprivation deciles"
    if most > 0 and most >= 1.5 * least:  # type: ignore[operator]
        return "are highest in the most deprived neighbourhoods"
    if least > 0 and least >= 1.5 * most:  # type: ignore[operator]
        return "are highest in the least deprived neighbourhoods"
    return "vary little with deprivation"


def decile_title(la_name: str, la_phrase: str, region_phrase: str, measure: str = "") -> str:
    """Finding title of the decile chart, comparing the LA's gradient with the region's.

    ``measure`` names the rates described (the first of CLA, CPP, CIN the LA publishes by
    decile); left out, the title speaks of "rates".
    """
    what = f"{measure} rates" if measure else "rates"
    if la_phrase == region_phrase:
        return f"In {la_name}, as in the region, {what} {la_phrase}"
    return f"In {la_name} {what} {la_phrase}; in the region they {region_phrase}"


FunnelPosition = Literal["above", "below", "within", "unknown"]


def funnel_title(la_name: str, positions: dict[str, FunnelPosition]) -> str:
    """Finding title of the funnel plot from where the LA lies against the 99.8% limits."""
    phrases = {
        "above": "above the region's 99.8% limits",
        "below": "below the region's 99.8% limits",
        "within": "within the region's limits",
    }
    known = {m: p for m, p in positions.items() if p in phrases}
    if not known:
        return f"{la_name}'s ratios are not shown [c]"
    if len(set(known.values())) == 1:
        (pos,) = set(known.values())
        what = "every measure" if len(known) == len(positions) else join_words(list(known))
        return f"{la_name} lies {phrases[pos]} for {what}"
    groups: dict[str, list[str]] = {}
    for m, p in known.items():
        groups.setdefault(p, []).append(m)
    parts = [f"{phrases[p]} for {join_words(ms)}" for p, ms in groups.items()]
    return f"{la_name} lies " + join_words(parts)


def trend_title(directions: dict[str, Direction], first: int, last: int) -> str:
    """Finding title of the trend chart, e.g. "The CLA rate rose between 2021 and 2023"."""
    phrases = {"higher": "rose", "lower": "fell", "similar": "changed little"}
    groups: dict[str, list[str]] = {}
    for m, d in directions.items():
        if d in phrases:
            groups.setdefault(d, []).append(m)
    if not groups:
        return f"Rates cannot be compared between {first} and {last}"
    parts = []
    for i, (d, ms) in enumerate(groups.items()):
        subj, _verb = subject(ms, len(directions))
        if i:
            subj = subj[0].lower() + subj[1:]
        parts.append(f"{subj} {phrases[d]}")
    return "; ".join(parts) + f" between {first} and {last}"


def resources_sentence(la_name: str, cla_expected: Direction) -> str:
    """What the looked-after ratio means for funding that follows deprivation alone."""
    if cla_expected == "higher":
        what = f"would under-provide for {la_name}'s looked-after caseload"
    elif cla_expected == "lower":
        what = f"would give {la_name} more than its looked-after caseload needs"
    elif cla_expected == "similar":
        what = f"would roughly match {la_name}'s looked-after caseload"
    else:
        return (
            "The looked-after ratio is not available, so how far deprivation-based funding "
            f"would match {la_name}'s caseload cannot be said."
        )
    return (
        f"Funding that follows deprivation alone {what}; the gap is a question for practice "
        "and thresholds as much as for need."
    )
