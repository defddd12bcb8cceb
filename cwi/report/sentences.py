"""Sentences whose direction depends on the data: the only words of the report written in Python.

Every generator takes numbers (an estimate and its confidence interval, or shares) and returns
plain text without markdown, so the sentence can travel as a Quarto ``{{< var >}}`` value. The
narrative around them lives in ``report/*.qmd``. Each generator handles every direction it can
meet (higher / lower / similar / not estimable); ``tests/unit/test_report_sentences.py`` checks
each one.

Ratios below 1 are said as fractions ("a fifth as likely"), never "times less likely".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "NOT_ESTIMABLE",
    "ci_text",
    "direction",
    "fmt",
    "likelihood_phrase",
]

#: What a sentence says when the numbers it needs are suppressed or could not be estimated.
NOT_ESTIMABLE = "not estimable from the published figures"

_FRACTIONS = {
    2: "half",
    3: "a third",
    4: "a quarter",
    5: "a fifth",
    6: "a sixth",
    7: "a seventh",
    8: "an eighth",
    9: "a ninth",
    10: "a tenth",
}


def _ok(*values: object) -> bool:
    """True when every value is a finite number."""
    for v in values:
        try:
            f = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        if not math.isfinite(f):
            return False
    return True


def fmt(value: float, decimals: int = 2) -> str:
    """Format a number with thousands separators, or ``[x]`` if it is missing."""
    if not _ok(value):
        return "[x]"
    return f"{float(value):,.{decimals}f}"


def pct(value: float, decimals: int = 0) -> str:
    """Format a share (0-1) as a percentage, or ``[x]`` if it is missing."""
    if not _ok(value):
        return "[x]"
    return f"{100 * float(value):.{decimals}f}%"


def direction(lower: float, upper: float, null: float = 1.0) -> str:
    """Where a confidence interval lies against ``null``.

    Returns
    -------
    str
        ``"higher"`` (wholly above), ``"lower"`` (wholly below), ``"similar"`` (spans it) or
        ``"not estimable"`` (a limit is missing).
    """
    if not _ok(lower, upper):
        return "not estimable"
    if float(lower) > null:
        return "higher"
    if float(upper) < null:
        return "lower"
    return "similar"


def ci_text(lower: float, upper: float, decimals: int = 2) -> str:
    """``"95% CI 1.10 to 1.30"`` (the CI level of every published interval is 95%)."""
    return f"95% CI {fmt(lower, decimals)} to {fmt(upper, decimals)}"


def likelihood_phrase(ratio: float) -> str:
    """A ratio of rates as words: ``"2.3 times as likely"``, ``"a fifth as likely"``.

    Ratios of 1 or more are "N times as likely" (1.0-1.1: "about as likely"); ratios below 1
    are the nearest simple fraction when it is a half or smaller ("about a fifth as likely"),
    otherwise a percentage ("30% less likely"). Never "times less likely".
    """
    if not _ok(ratio) or float(ratio) <= 0:
        return "[x] times as likely"
    r = float(ratio)
    if 0.95 <= r < 1.1:
        return "about as likely"
    if r >= 1.1:
        return f"{r:.1f} times as likely"
    if r > 0.6:
        return f"{round(100 * (1 - r))}% less likely"
    n = round(1 / r)
    if n > 10:
        return "less than a tenth as likely"
    word = _FRACTIONS[n]
    exact = abs(1 / r - n) < 0.05
    return f"{'' if exact else 'about '}{word} as likely"


def as_or_than(ratio: float) -> str:
    """The comparison word that follows :func:`likelihood_phrase`: "as" or "than"."""
    return "than" if "less likely" in likelihood_phrase(ratio).replace("as likely", "") else "as"


# ---- Q1 -----------------------------------------------------------------------------------
def decile_contrast(label: str, ratio: float, lower: float, upper: float) -> str:
    """Most against least deprived tenth of neighbourhoods, for one measure."""
    d = direction(lower, upper)
    if d == "not estimable" or not _ok(ratio):
        return (
            f"The rate of {label} in the most deprived tenth of neighbourhoods against the least "
            f"deprived tenth is {NOT_ESTIMABLE}."
        )
    ci = ci_text(lower, upper, 1)
    if d == "similar":
        return (
            f"Children in the most deprived tenth of neighbourhoods were not clearly more or less "
            f"likely to be {label} than children in the least deprived tenth (rate ratio "
            f"{fmt(ratio, 1)}, {ci})."
        )
    return (
        f"Children in the most deprived tenth of neighbourhoods were {likelihood_phrase(ratio)} "
        f"to be {label} {as_or_than(ratio)} children in the least deprived tenth (rate ratio "
        f"{fmt(ratio, 1)}, {ci})."
    )


def crude_contrast(label: str, ratio: float) -> str:
    """The crude ratio of the extreme deciles' published rates (empty when it is hidden)."""
    if not _ok(ratio) or float(ratio) <= 0:
        return ""
    return (
        f"Children in the most deprived tenth of neighbourhoods were {likelihood_phrase(ratio)} "
        f"to be {label} {as_or_than(ratio)} children in the least deprived tenth."
    )


def q1_answer(directions: Sequence[str]) -> str:
    """The one-word answer to Q1 from the direction of each measure's decile contrast."""
    known = [d for d in directions if d != "not estimable"]
    if not known:
        return "The published figures cannot answer this."
    if all(d == "higher" for d in known):
        return (
            "Yes, for every measure."
            if len(known) == len(directions)
            else ("Yes, for every measure the published figures allow.")
        )
    if all(d == "lower" for d in known):
        return "No: rates are lower in the most deprived neighbourhoods."
    if any(d == "higher" for d in known):
        return "For some measures, not all."
    return "Not clearly: the data show no clear clustering."


def within_vs_pooled(label: str, within: float, within_lo: float, within_hi: float,
                     pooled: float, pooled_lo: float, pooled_hi: float) -> str:  # fmt: skip
    """Compare the within-LA and pooled gradients (intervals that do not overlap differ)."""
    if not _ok(within, within_lo, within_hi, pooled, pooled_lo, pooled_hi):
        return f"The within-LA and pooled gradients of {label} cannot be compared."
    if float(within_lo) > float(pooled_hi):
        return (
            f"For {label} the gradient within authorities ({fmt(within)} per step) is steeper "
            f"than across the region ({fmt(pooled)}): less deprived authorities have higher rates "
            f"than their neighbourhoods alone predict, which flattens the region-wide gradient "
            f"(see Q3)."
        )
    if float(within_hi) < float(pooled_lo):
        return (
            f"For {label} the gradient within authorities ({fmt(within)} per step) is less steep "
            f"than across the region ({fmt(pooled)}): more deprived authorities have higher rates "
            f"than their neighbourhoods alone predict, which steepens the region-wide gradient."
        )
    return (
        f"For {label} the gradients within authorities ({fmt(within)} per step) and across the "
        f"region ({fmt(pooled)}) are not clearly different."
    )


def gradient(label: str, model: str, estimate: float, lower: float, upper: float) -> str:
    """The rate ratio per decile step, naming the model it comes from.

    ``model`` is ``"pooled"`` (region-wide negative binomial) or ``"within"`` (LA fixed effects:
    comparing neighbourhoods inside the same LA).
    """
    name = {
        "pooled": "Across the region as a whole (pooled model)",
        "within": "Comparing neighbourhoods within the same local authority (within-LA model)",
    }[model]
    d = direction(lower, upper)
    if d == "not estimable":
        return f"{name}, the deprivation gradient in {label} is {NOT_ESTIMABLE}."
    ci = ci_text(lower, upper)
    if d == "higher":
        return (
            f"{name}, rates of {label} rise with neighbourhood deprivation: each step of one "
            f"decile towards the most deprived neighbourhoods multiplied the rate by "
            f"{fmt(estimate)} ({ci})."
        )
    if d == "lower":
        return (
            f"{name}, rates of {label} fall as neighbourhood deprivation rises (rate ratio per "
            f"decile step {fmt(estimate)}, {ci})."
        )
    return (
        f"{name}, the data show no clear deprivation gradient in {label} "
        f"(rate ratio per step {fmt(estimate)}, {ci})."
    )


def case_share(label: str, group: str, share_cases: float, share_children: float) -> str:
    """Share of cases against share of children living in the most deprived areas."""
    if not _ok(share_cases, share_children) or float(share_children) <= 0:
        return f"The share of {label} living in the {group} of neighbourhoods is {NOT_ESTIMABLE}."
    ratio = float(share_cases) / float(share_children)
    if ratio >= 1.1:
        how = f"{fmt(ratio, 1)} times their share of all children"
    elif ratio <= 1 / 1.1:
        how = f"less than their share of all children ({fmt(ratio, 1)} times it)"
    else:
        how = "about their share of all children"
    return (
        f"{pct(share_cases)} of {label} lived in the {group} of neighbourhoods, which hold "
        f"{pct(share_children)} of the region's children: {how}."
    )


def sii_rii(label: str, sii: float, sii_lo: float, sii_hi: float, rii: float, rii_lo: float,
            rii_hi: float, per: int = 10000) -> str:  # fmt: skip
    """Slope and relative index of inequality, in words."""
    d = direction(rii_lo, rii_hi)
    if d == "not estimable" or not _ok(sii, rii):
        return f"The slope and relative index of inequality for {label} are {NOT_ESTIMABLE}."
    sii_part = (
        f"the modelled gap in the rate of {label} between the most and least deprived ends of "
        f"the region is {fmt(abs(sii), 1)} per {per:,} children ({ci_text(sii_lo, sii_hi, 1)})"
    )
    if d == "higher":
        return (
            f"Taking every decile into account (slope index of inequality), {sii_part}; the most "
            f"deprived end has {fmt(rii, 1)} times the rate of the least deprived "
            f"(relative index of inequality, {ci_text(rii_lo, rii_hi, 1)})."
        )
    if d == "lower":
        return (
            f"Taking every decile into account, rates of {label} are lower at the most deprived "
            f"end: {sii_part}; relative index of inequality {fmt(rii, 2)} "
            f"({ci_text(rii_lo, rii_hi, 2)})."
        )
    return (
        f"Taking every decile into account, the data show no clear inequality in {label}: "
        f"{sii_part}; relative index of inequality {fmt(rii, 2)} ({ci_text(rii_lo, rii_hi, 2)})."
    )


def concentration(label: str, index: float, lower: float, upper: float) -> str:
    """Concentration index (negative: concentrated among the most deprived)."""
    d = direction(lower, upper, null=0.0)
    if d == "not estimable":
        return f"The concentration index for {label} is {NOT_ESTIMABLE}."
    ci = ci_text(lower, upper, 3)
    if d == "lower":
        return (
            f"{label.capitalize()} are concentrated among the most deprived neighbourhoods "
            f"(concentration index {fmt(index, 3)}, {ci}; 0 would mean no concentration)."
        )
    if d == "higher":
        return (
            f"{label.capitalize()} are concentrated among the least deprived neighbourhoods "
            f"(concentration index {fmt(index, 3)}, {ci})."
        )
    return (
        f"{label.capitalize()} are not clearly concentrated by deprivation "
        f"(concentration index {fmt(index, 3)}, {ci})."
    )


# ---- Q2 -----------------------------------------------------------------------------------
def group_ratio(
    group: str,
    reference: str,
    label: str,
    estimate: float,
    lower: float,
    upper: float,
    adjusted_for: str = "",
) -> str:
    """A group's rate against a reference group, e.g. boys against girls, one age against another."""
    d = direction(lower, upper)
    after = f"{adjusted_for}, " if adjusted_for else ""
    if d == "not estimable" or not _ok(estimate):
        return f"{after.capitalize()}{group} against {reference}: {NOT_ESTIMABLE}."
    ci = ci_text(lower, upper)
    lead = (after + group).strip()
    lead = lead[0].upper() + lead[1:]
    if d == "similar":
        return (
            f"{lead} were not clearly more or less likely than {reference} to be {label} "
            f"(rate ratio {fmt(estimate)}, {ci})."
        )
    return (
        f"{lead} were {likelihood_phrase(estimate)} {as_or_than(estimate)} {reference} to be "
        f"{label} "
        f"(rate ratio {fmt(estimate)}, {ci})."
    )


def ethnic_paradox(
    group: str,
    label: str,
    unadjusted: float,
    adjusted: float,
    lower: float,
    upper: float,
    reference: str = "White children",
) -> str:
    """How a group's rate against White children changes once deprivation is allowed for."""
    d = direction(lower, upper)
    if d == "not estimable" or not _ok(adjusted):
        return (
            f"For {group} children, the deprivation-adjusted rate of {label} is {NOT_ESTIMABLE}."
        )
    before = (
        f"before allowing for deprivation they were {likelihood_phrase(unadjusted)} "
        f"{as_or_than(unadjusted)} "
        f"{reference} to be {label}"
        if _ok(unadjusted)
        else "their unadjusted rate is not available"
    )
    ci = ci_text(lower, upper)
    if d == "similar":
        after = (
            f"after allowing for it the difference is not clear (rate ratio {fmt(adjusted)}, {ci})"
        )
    else:
        after = (
            f"after allowing for it they were {likelihood_phrase(adjusted)} "
            f"(rate ratio {fmt(adjusted)}, {ci})"
        )
    flipped = (
        _ok(unadjusted)
        and d != "similar"
        and (float(unadjusted) - 1) * (float(adjusted) - 1) < 0
        and abs(float(unadjusted) - 1) >= 0.1
    )
    tail = (
        ": the direction reverses once the deprivation of their neighbourhoods is allowed for."
        if flipped
        else "."
    )
    return f"{group} children: {before}; {after}{tail}"


def ethnic_summary(label: str, parts: Sequence[str]) -> str:
    """The ethnic groups whose deprivation-adjusted rate clearly differs, or that none does."""
    if parts:
        return " ".join(parts)
    return (
        f"After allowing for deprivation, no ethnic group's rate of {label} clearly differs from "
        f"White children's."
    )


def gender_gap_trend(label: str, most: float, most_lo: float, most_hi: float, least: float,
                     least_lo: float, least_hi: float) -> str:  # fmt: skip
    """Boys-to-girls rate ratio in the most against the least deprived decile.

    The gap is "narrower" where the most deprived decile's ratio is nearer 1 and the two
    intervals do not overlap; "wider" the other way; otherwise no clear change.
    """
    if not _ok(most, most_lo, most_hi, least, least_lo, least_hi):
        return f"How the gap between boys and girls in {label} changes with deprivation is {NOT_ESTIMABLE}."
    both = (
        f"(boys' rate over girls' {fmt(most)} in the most deprived tenth, {ci_text(most_lo, most_hi)}, "
        f"against {fmt(least)}, {ci_text(least_lo, least_hi)}, in the least deprived)"
    )
    apart = float(most_lo) > float(least_hi) or float(most_hi) < float(least_lo)
    if not apart:
        return f"The gap between boys and girls in {label} does not clearly change with deprivation {both}."
    nearer = abs(math.log(float(most))) < abs(math.log(float(least)))
    if nearer:
        return f"The gap between boys and girls in {label} narrows as deprivation rises {both}."
    return f"The gap between boys and girls in {label} widens as deprivation rises {both}."


def share_trend(what: str, first: float, last: float, lower: float, upper: float) -> str:
    """Direction of a share across deprivation (e.g. share of CIN recorded as disabled).

    ``first`` is the share in the most deprived decile, ``last`` in the least deprived; the
    interval is for their ratio (first / last).
    """
    d = direction(lower, upper)
    if d == "not estimable" or not _ok(first, last):
        return f"How {what} changes with deprivation is {NOT_ESTIMABLE}."
    span = f"({pct(first)} in the most deprived tenth against {pct(last)} in the least deprived)"
    if d == "higher":
        return f"{what.capitalize()} is higher in more deprived neighbourhoods {span}."
    if d == "lower":
        return f"{what.capitalize()} falls as deprivation rises {span}."
    return f"{what.capitalize()} does not clearly change with deprivation {span}."


def interaction(label: str, factor: str, p_value: float) -> str:
    """Whether the deprivation gradient differs between the groups of ``factor``."""
    if not _ok(p_value):
        return (
            f"Whether the deprivation gradient in {label} differs by {factor} is {NOT_ESTIMABLE}."
        )
    p = p_text(p_value)
    if float(p_value) < 0.05:
        return (
            f"The deprivation gradient in {label} differs by {factor} (likelihood-ratio test {p})."
        )
    return (
        f"The data do not show the deprivation gradient in {label} differing by {factor} "
        f"(likelihood-ratio test {p})."
    )


def p_text(p: float) -> str:
    """``p < 0.001`` or ``p = 0.012``."""
    if not _ok(p):
        return "p [x]"
    return "p < 0.001" if float(p) < 0.001 else f"p = {float(p):.3f}"


# ---- Q3 -----------------------------------------------------------------------------------
def mix_vs_score(
    label: str,
    mix_explained: float,
    score_explained: float,
    p_mix_beyond_score: float,
    p_score_beyond_mix: float,
    score_name: str = "overall IMD score",
) -> str:
    """The direct answer to Q3 for one measure.

    Compares the share of the between-LA deviance explained by the LA's deprivation mix
    (expected rate from its neighbourhoods) with that explained by its mean IMD score, and says
    whether the difference is real from the two nested tests: does each add to the other?
    """
    if not _ok(mix_explained, score_explained):
        return (
            f"For {label}, the comparison of deprivation mix and overall score is {NOT_ESTIMABLE}."
        )
    a, b = pct(mix_explained), pct(score_explained)
    pm, ps = p_text(p_mix_beyond_score), p_text(p_score_beyond_mix)
    mix_adds = _ok(p_mix_beyond_score) and float(p_mix_beyond_score) < 0.05
    score_adds = _ok(p_score_beyond_mix) and float(p_score_beyond_mix) < 0.05
    lead = (
        f"For {label}, the pattern of deprivation within LAs explained {a} of the differences "
        f"between LAs (deviance explained) against {b} for the LAs' {score_name}"
    )
    if mix_adds and not score_adds:
        return (
            f"{lead}; the mix adds to the {score_name} ({pm}) but the {score_name} adds nothing "
            f"clear to the mix ({ps}), so the within-LA pattern explains more, and the difference "
            f"is real."
        )
    if score_adds and not mix_adds:
        return (
            f"{lead}; the {score_name} adds to the mix ({ps}) but the mix adds nothing clear to "
            f"the {score_name} ({pm}), so the {score_name} explains more, and the difference is "
            f"real."
        )
    if mix_adds and score_adds:
        return (
            f"{lead}; each adds to the other ({pm} and {ps}), so both carry information and "
            f"neither replaces the other."
        )
    return (
        f"{lead}; neither adds clearly to the other ({pm} and {ps}), so with this many LAs the "
        f"difference could be chance."
    )


def inverse_intervention(label: str, estimate: float, lower: float, upper: float) -> str:
    """Most against least deprived third of LAs at equal neighbourhood deprivation."""
    d = direction(lower, upper)
    if d == "not estimable":
        return f"The inverse intervention test for {label} is {NOT_ESTIMABLE}."
    ci = ci_text(lower, upper)
    if d == "lower":
        return (
            f"At the same level of neighbourhood deprivation, children in the most deprived third "
            f"of LAs were {likelihood_phrase(estimate)} to be {label} {as_or_than(estimate)} "
            f"children in the least "
            f"deprived third (rate ratio {fmt(estimate)}, {ci}): the inverse intervention pattern."
        )
    if d == "higher":
        return (
            f"At the same level of neighbourhood deprivation, children in the most deprived third "
            f"of LAs were {likelihood_phrase(estimate)} to be {label} {as_or_than(estimate)} "
            f"children in the least "
            f"deprived third (rate ratio {fmt(estimate)}, {ci}): no sign of an inverse "
            f"intervention pattern."
        )
    return (
        f"At the same level of neighbourhood deprivation, rates of {label} did not clearly differ "
        f"between the most and least deprived thirds of LAs (rate ratio {fmt(estimate)}, {ci})."
    )


def funnel_title(n_outside: int, n_shown: int) -> str:
    """Finding title of the funnel plot."""
    if n_shown == 0:
        return "No local authority's standardised ratio could be published"
    if n_outside == 0:
        return "Every local authority's rate is in line with its deprivation mix"
    return f"{n_outside} of {n_shown} ratios lie outside the 99.8% limits"


def funnel_sentence(label: str, above: int, below: int, n: int) -> str:
    """How many LAs sit above / below what their deprivation mix predicts."""
    if n == 0:
        return f"Standardised ratios for {label} are {NOT_ESTIMABLE}."
    if above == 0 and below == 0:
        return (
            f"For {label}, all {n} local authorities lie within the 99.8% limits of the rate their "
            f"deprivation mix predicts."
        )
    return (
        f"For {label}, {above} of {n} local authorities lie above the 99.8% limits of the rate "
        f"their deprivation mix predicts and {below} lie below."
    )


# ---- Q4 -----------------------------------------------------------------------------------
def gradient_comparison(
    label_a: str, label_b: str, estimate: float, lower: float, upper: float
) -> str:
    """Is the gradient of ``a`` steeper than that of ``b``? (ratio of per-step rate ratios)."""
    d = direction(lower, upper)
    if d == "not estimable":
        return f"Whether deprivation matters more for {label_a} than {label_b} is {NOT_ESTIMABLE}."
    ci = ci_text(lower, upper, 3)
    if d == "higher":
        return (
            f"The deprivation gradient is steeper for {label_a} than for {label_b} (ratio of "
            f"per-step rate ratios {fmt(estimate, 3)}, {ci})."
        )
    if d == "lower":
        return (
            f"The deprivation gradient is shallower for {label_a} than for {label_b} (ratio of "
            f"per-step rate ratios {fmt(estimate, 3)}, {ci})."
        )
    return (
        f"The deprivation gradients of {label_a} and {label_b} do not clearly differ (ratio of "
        f"per-step rate ratios {fmt(estimate, 3)}, {ci})."
    )


def q4_title(steeper: Sequence[str], shallower: Sequence[str], label: str) -> str:
    """Finding title of the Q4 chart, from the same comparisons as the verdict.

    ``steeper`` / ``shallower`` name the outcomes whose gradient ``label``'s clearly exceeds /
    falls below.
    """
    if steeper and not shallower:
        return f"Deprivation matters more for {label} than for {' or '.join(steeper)}"
    if shallower and not steeper:
        return f"Deprivation matters less for {label} than for {' or '.join(shallower)}"
    if steeper and shallower:
        return f"Deprivation matters more for {label} than some outcomes, less than others"
    return f"Deprivation matters about as much for {label} as for other outcomes"


# ---- England and allocation ---------------------------------------------------------------
def against_england(label: str, region: float, england: float, lower: float, upper: float) -> str:
    """The region's rate against England's (interval of the ratio region / England)."""
    d = direction(lower, upper)
    if d == "not estimable" or not _ok(region, england):
        return f"The region's rate of {label} against England's is {NOT_ESTIMABLE}."
    both = f"({fmt(region, 1)} against {fmt(england, 1)} per 10,000 children)"
    if d == "higher":
        return f"The region's rate of {label} was higher than England's {both}."
    if d == "lower":
        return f"The region's rate of {label} was lower than England's {both}."
    return f"The region's rate of {label} was similar to England's {both}."


def need_vs_caseload(label: str, n_more: int, n_less: int, n: int) -> str:
    """How many LAs hold more / less of the caseload than their share of deprivation-weighted need."""
    if n == 0:
        return f"The allocation comparison for {label} is {NOT_ESTIMABLE}."
    if n_more == 0 and n_less == 0:
        return (
            f"Every local authority's share of the region's {label} is within a tenth of its share "
            f"of deprivation-weighted need."
        )
    return (
        f"Of {n} local authorities, {n_more} held a share of the region's {label} more than a "
        f"tenth above their share of deprivation-weighted need and {n_less} a share more than a "
        f"tenth below it."
    )


def against_published(ours: float, published: float, what: str) -> str:
    """Our figure set beside a published one."""
    if not _ok(ours, published):
        return f"Our {what} is {NOT_ESTIMABLE}; the published figure is {fmt(published, 1)}."
    r = float(ours) / float(published) if float(published) else float("nan")
    if _ok(r) and 0.8 <= r <= 1.25:
        how = "close to"
    elif _ok(r) and r > 1.25:
        how = "above"
    else:
        how = "below"
    return f"Our {what} of {fmt(ours, 1)} is {how} the published {fmt(published, 1)}."
