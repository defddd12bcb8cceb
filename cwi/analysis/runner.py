"""Run every analysis once per build: table name -> tidy frame."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from cwi.analysis import allocation, q1, q2, q3, q4, verdicts
from cwi.analysis import england as eng_mod
from cwi.analysis.cells import la_deprivation, lsoa_cells
from cwi.cube import Cube
from cwi.schemas import MEASURES

if TYPE_CHECKING:
    from cwi.config import Settings

__all__ = ["run_all"]


def _require_denominator(cube: Cube, dim: str) -> str:
    """Return ``dim`` if the cube has child populations by it, else say why not."""
    if dim == "sex" and not {"M", "F"} <= set(cube.population["sex"].astype(str)):
        raise q3.NotEstimable(
            "not estimable: the child population source has persons only (no split by sex), "
            "so rates by sex have no denominator; gender is shown as the male share of cases "
            "by decile instead (q2_male_share)"
        )
    if dim == "ethnic_group" and cube.population_ethnicity.empty:
        raise q3.NotEstimable(
            "not estimable: no child population by ethnic group for these LSOAs, so rates by "
            "ethnic group have no denominator"
        )
    return dim


def _get(settings: Settings, name: str, default: Any) -> Any:
    if isinstance(settings, dict):
        return settings.get(name, default)
    return getattr(settings, name, default)


def run_all(
    cube: Cube,
    settings: Settings,
    england_table: pd.DataFrame | None = None,
    neighbours: dict[str, list[str]] | None = None,
    england: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Run Q1-Q4, England comparisons, allocation and verdicts.

    Parameters
    ----------
    cube : Cube
        The count cube.
    settings : Settings or dict
        Gives ``main_year``, ``years``, ``confidence``, ``rate_per`` (and optionally
        ``measures``).
    england_table, england : pandas.DataFrame, optional
        DfE LA table (``year, la_code, la_name, measure, number, population,
        rate_per_10000``); either name is accepted.
    neighbours : dict, optional
        LA code -> statistical neighbour LA codes.

    Returns
    -------
    dict of str to pandas.DataFrame
        Private tables (they hold LA x decile counts): pass them through ``cwi.disclosure``
        before publishing.
    """
    dfe = england_table if england_table is not None else england
    year = int(_get(settings, "main_year", max(cube.years)))
    years = [int(y) for y in _get(settings, "years", cube.years) if int(y) in cube.years]
    conf = float(_get(settings, "confidence", 0.95))
    per = float(_get(settings, "rate_per", 10000))
    measures = [m for m in _get(settings, "measures", list(MEASURES)) if m in MEASURES]
    if year not in cube.years:
        raise ValueError(
            f"main_year {year} is not in the cube (years {cube.years}); set release.main_year "
            "in settings.yml to a year the data cover."
        )
    t: dict[str, pd.DataFrame] = {}
    t["area_rates"] = pd.concat(
        [q1.area_rates(cube, y, conf, per, measures) for y in years or [year]], ignore_index=True
    )
    t["q1_decile_rates"] = pd.concat(
        [q1.decile_rates(cube, y, conf, per, measures) for y in years or [year]], ignore_index=True
    )
    t["q1_quintile_rates"] = pd.concat(
        [q1.quintile_rates(cube, y, conf, per, measures) for y in years or [year]],
        ignore_index=True,
    )
    main = t["q1_decile_rates"][t["q1_decile_rates"]["year"] == year]
    mainq = t["q1_quintile_rates"][t["q1_quintile_rates"]["year"] == year]
    cells = lsoa_cells(cube, year, measures)
    notes: list[dict[str, str]] = []

    def attempt(names: str | tuple[str, ...], compute: Any) -> None:
        """Run one analysis; if the data cannot support it, record why and go on.

        The rates above are the backbone and may not fail; a model that cannot be fitted on
        these data (e.g. ethnic rates without ethnic denominators) leaves its table out and
        says so in ``analysis_notes``, shown in the report's methods chapter.
        """
        try:
            result = compute()
        except q3.NotEstimable as exc:
            for name in (names,) if isinstance(names, str) else names:
                notes.append({"table": name, "reason": str(exc)[:300]})
            return
        except Exception as exc:  # noqa: BLE001 - reported, never silent
            for name in (names,) if isinstance(names, str) else names:
                notes.append({"table": name, "reason": f"{type(exc).__name__}: {exc}"[:300]})
            return
        if isinstance(names, str):
            t[names] = result
        else:
            t.update(dict(zip(names, result, strict=True)))

    attempt(
        "q1_rate_ratio",
        lambda: pd.concat(
            [q1.extreme_rate_ratios(main, conf), q1.extreme_rate_ratios(mainq, conf)],
            ignore_index=True,
        ),
    )
    attempt("q1_gradient", lambda: q1.gradient_irr(cells, cube, year, conf))
    attempt("q1_case_shares", lambda: q1.case_shares(main, conf))
    attempt("q1_concentration", lambda: q1.concentration_indices(main, conf))
    attempt("q1_sii_rii", lambda: q1.sii_rii(main, conf, per))
    for dim in ("age_band", "sex", "ethnic_group"):
        attempt(
            f"q2_rates_{dim}",
            lambda dim=dim: q2.identity_rates(
                cube, year, _require_denominator(cube, dim), conf, per, measures
            ),
        )
    attempt("q2_adjusted", lambda: q2.adjusted_rate_ratios(cube, year, conf, measures))
    attempt("q2_ethnic", lambda: q2.ethnic_rate_ratios(cube, year, conf, measures))
    attempt(
        ("q2_interactions", "q2_group_gradients"),
        lambda: q2.interaction_tests(cube, year, conf, measures),
    )
    if q2.has_sex_split(cube):
        attempt("q2_gender_gap", lambda: q2.gender_gap_by_decile(cube, year, conf, per, measures))
    else:
        attempt("q2_male_share", lambda: q2.male_share_by_decile(cube, year, conf, measures))
    if "CIN" in measures:
        attempt("q2_disability", lambda: q2.disability_by_decile(cube, year, conf))
    # Strata: decile x age band. Sex is left out so that every counted child (including sex
    # not recorded) is observed: the observed count then equals the published LA total, and no
    # small group can be found by differencing the two tables.
    attempt(
        "q3_standardised",
        lambda: q3.standardised_ratios(
            cube, year, conf, per, strata=("age_band",), measures=measures
        ),
    )
    attempt("q3_funnel_limits", lambda: q3.funnel_grid(t["q3_standardised"]))
    attempt("q3_la_deprivation", lambda: la_deprivation(cube, year))
    dep = t.get("q3_la_deprivation")
    if dep is not None and not dep.empty and (dep["deprivation_measure"] == "avg_rank").any():
        notes.append(
            {
                "table": "q3_la_deprivation",
                "reason": "The IMD edition used has no scores: LA deprivation is the child-"
                "weighted average rank of its LSOAs (MHCLG's LA summary measure), used for LA "
                "thirds and every LA-level model in place of the average score.",
            }
        )
    attempt("q3_between_la", lambda: q3.between_la_explained(cube, year, conf, measures))
    attempt("q3_mix_vs_score", lambda: q3.mix_vs_score(t.get("q3_between_la")))
    attempt("q3_multilevel", lambda: q3.multilevel_variance(cube, year, conf, measures))
    attempt("q3_inverse_intervention", lambda: q3.inverse_intervention(cube, year, conf, measures))
    attempt("q3_rates_by_la_third", lambda: q3.rates_by_la_third(cube, year, conf, per, measures))
    attempt(
        "q4_outcomes",
        lambda: q4.outcome_gradients(
            t["q1_gradient"], t["q1_sii_rii"], t["q1_concentration"], cells
        ),
    )
    attempt("q4_difference", lambda: q4.gradient_difference(cells, conf, measures=measures))
    attempt(
        "england",
        lambda: eng_mod.compare_with_england(cube, dfe, years or [year], conf, per, measures),
    )
    attempt(
        "neighbours",
        lambda: eng_mod.compare_with_neighbours(cube, dfe, neighbours, year, conf, per, measures),
    )
    attempt("allocation", lambda: allocation.need_shares(t["q3_standardised"]))
    attempt("verdicts", lambda: verdicts.verdicts(t))
    t["analysis_notes"] = pd.DataFrame(notes, columns=["table", "reason"])
    return t
