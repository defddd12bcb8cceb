"""Benchmark: time every Q1-Q4 model on a national-size synthetic cube."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from benchmarks.simulation import irr_coverage
from benchmarks.synthetic import synthetic_cube
from cwi.analysis import q1, q2, q3, q4
from cwi.analysis.cells import lsoa_cells

__all__ = ["bench_models"]


def bench_models(n_lsoa: int = 33000, n_la: int = 153, seed: int = 1) -> dict[str, float]:
    """Time the analysis models on a synthetic cube of about ``n_lsoa`` LSOAs.

    Parameters
    ----------
    n_lsoa : int
        Number of LSOAs (England has about 33,000 (2011) / 33,755 (2021)).
    n_la : int
        Number of LAs (153 in England).
    seed : int
        Seed of the synthetic cube.

    Returns
    -------
    dict of str to float
        Seconds per step (``build_cube`` is the synthetic data, not a model),
        ``models_total`` (all Q1-Q4 steps) and ``n_lsoa``, ``n_la``, ``n_count_rows``.
    """
    t0 = time.perf_counter()
    cube, _ = synthetic_cube(n_la=n_la, lsoa_per_la=max(1, n_lsoa // n_la), seed=seed)
    out: dict[str, float] = {"build_cube": time.perf_counter() - t0}
    year = cube.years[-1]
    state: dict[str, Any] = {}

    def step(name: str, fn: Callable[[], Any]) -> None:
        t = time.perf_counter()
        state[name] = fn()
        out[name] = time.perf_counter() - t

    step("cells", lambda: lsoa_cells(cube, year))
    step("q1_decile_rates", lambda: q1.decile_rates(cube, year))
    step("q1_quintile_rates", lambda: q1.quintile_rates(cube, year))
    step("q1_rate_ratio", lambda: q1.extreme_rate_ratios(state["q1_decile_rates"]))
    step("q1_gradient_glms", lambda: q1.gradient_irr(state["cells"], cube, year))
    step("q1_case_shares", lambda: q1.case_shares(state["q1_decile_rates"]))
    step("q1_concentration", lambda: q1.concentration_indices(state["q1_decile_rates"]))
    step("q1_sii_rii", lambda: q1.sii_rii(state["q1_decile_rates"]))
    step(
        "q2_rates",
        lambda: [q2.identity_rates(cube, year, d) for d in ("age_band", "sex", "ethnic_group")],
    )
    step("q2_adjusted", lambda: q2.adjusted_rate_ratios(cube, year))
    step("q2_ethnic", lambda: q2.ethnic_rate_ratios(cube, year))
    step("q2_interactions", lambda: q2.interaction_tests(cube, year))
    step("q2_gender_gap", lambda: q2.gender_gap_by_decile(cube, year))
    step("q3_standardised", lambda: q3.standardised_ratios(cube, year))
    step("q3_between_la", lambda: q3.between_la_explained(cube, year))
    step("q3_multilevel", lambda: q3.multilevel_variance(cube, year))
    step("q3_inverse_intervention", lambda: q3.inverse_intervention(cube, year))
    step(
        "q4_outcomes",
        lambda: q4.outcome_gradients(
            state["q1_gradient_glms"],
            state["q1_sii_rii"],
            state["q1_concentration"],
            state["cells"],
        ),
    )
    step("q4_difference", lambda: q4.gradient_difference(state["cells"]))
    step("coverage_simulation_200", lambda: irr_coverage(200))
    out["models_total"] = sum(v for k, v in out.items() if k != "build_cube")
    out["n_lsoa"] = float(cube.lsoa.shape[0])
    out["n_la"] = float(n_la)
    out["n_count_rows"] = float(len(cube.counts))
    return out
