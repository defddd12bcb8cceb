"""run_all on a synthetic region: every table present, tidy and consistent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.synthetic import synthetic_cube
from cwi.analysis import run_all
from cwi.cube import Cube


@pytest.fixture(scope="module")
def tables():
    cube, _ = synthetic_cube(n_la=9, lsoa_per_la=80, years=(2022, 2023), seed=12)
    settings = {"main_year": 2023, "years": [2022, 2023], "confidence": 0.95, "rate_per": 10000}
    dfe = pd.DataFrame({"year": [2023] * 3, "la_code": ["E92000001"] * 3, "la_name": ["England"] * 3,
                        "measure": ["CIN", "CPP", "CLA"], "number": [400000, 50000, 83000],
                        "population": [12e6] * 3, "rate_per_10000": [333.3, 41.7, 69.2]})  # fmt: skip
    return cube, run_all(cube, settings, england=dfe)


def test_all_tables_present(tables):
    _, t = tables
    expected = {
        "q1_decile_rates", "q1_quintile_rates", "q1_rate_ratio", "q1_gradient", "q1_case_shares",
        "q1_concentration", "q1_sii_rii", "q2_rates_age_band", "q2_rates_sex",
        "q2_rates_ethnic_group", "q2_adjusted", "q2_ethnic", "q2_interactions",
        "q2_group_gradients", "q2_gender_gap", "q2_disability", "q3_standardised",
        "q3_la_deprivation", "q3_between_la", "q3_mix_vs_score", "q3_multilevel", "q3_inverse_intervention",
        "q3_rates_by_la_third", "q4_outcomes", "q4_difference", "england", "neighbours",
        "allocation", "verdicts",
    }  # fmt: skip
    assert expected <= set(t)
    for name in expected - {"neighbours"}:
        assert isinstance(t[name], pd.DataFrame) and len(t[name]) > 0, name


def test_estimate_tables_are_tidy(tables):
    _, t = tables
    for name, df in t.items():
        if {"estimate", "lower", "upper"} <= set(df.columns):
            assert "method" in df.columns, name
            ok = df[["estimate", "lower", "upper"]].notna().all(axis=1)
            assert (df.loc[ok, "lower"] <= df.loc[ok, "estimate"] + 1e-9).all(), name
            assert (df.loc[ok, "estimate"] <= df.loc[ok, "upper"] + 1e-9).all(), name


def test_trend_years_and_verdicts(tables):
    _, t = tables
    assert sorted(t["q1_decile_rates"]["year"].unique()) == [2022, 2023]
    v = t["verdicts"]
    assert set(v["question"]) == {"Q1", "Q2", "Q3", "Q4"}
    q1v = v[v["question"] == "Q1"]
    assert (q1v["direction"] == "up").all()
    assert q1v["verdict"].str.contains("rise with neighbourhood deprivation").all()


def test_bad_main_year_message():
    cube, _ = synthetic_cube(n_la=2, lsoa_per_la=20, seed=1)
    with pytest.raises(ValueError, match="main_year 2019 is not in the cube"):
        run_all(cube, {"main_year": 2019, "years": [2019]})


@pytest.mark.slow
def test_run_all_on_demo_cube(built, built_settings):
    """On the session's demo build: every table computed, nothing left to analysis_notes."""
    cube = Cube.load(built["private"] / "cube")
    t = run_all(cube, built_settings)
    g = t["q1_gradient"]
    assert np.isfinite(g["estimate"]).all()
    assert t["analysis_notes"].empty, t["analysis_notes"].to_dict("records")


def _profile_funnel_is_q3s(standardised: pd.DataFrame, q3_limits: pd.DataFrame) -> int:
    """Assert the profile funnel's limits and positions are Q3's; return LA x measure checked."""
    from cwi.analysis.funnels import overdispersed_ratio_limits
    from cwi.profiles.draw import funnel_inputs, funnel_positions

    year = int(standardised["year"].max())
    sr = standardised[standardised["year"] == year]
    points, limits = funnel_inputs(sr, year)
    q3_tau2 = q3_limits.groupby("measure")["tau2"].first()
    assert set(limits["measure"]) == set(q3_tau2.index)
    checked = 0
    for measure, lm in limits.groupby("measure"):
        tau2 = float(q3_tau2[measure])
        assert lm["tau2"].iloc[0] == pytest.approx(tau2, rel=1e-12, abs=1e-15), measure
        q3 = overdispersed_ratio_limits(lm["expected"], tau2)  # Q3's curve on the profile's grid
        for col in ("lower_95", "upper_95", "lower_99.8", "upper_99.8"):
            np.testing.assert_allclose(lm[col], q3[col], rtol=1e-12, err_msg=measure)
        # Q3's own table at its own grid: the same curve.
        q3m = q3_limits[q3_limits["measure"] == measure]
        at = overdispersed_ratio_limits(q3m["expected"], tau2)
        np.testing.assert_allclose(q3m["upper_3sd_od"], at["upper_99.8"], rtol=1e-12)
        np.testing.assert_allclose(q3m["lower_3sd_od"], at["lower_99.8"], rtol=1e-12)
        # Each LA's position as the report counts it (estimate against the 99.8% limits).
        shown = sr[(sr["measure"] == measure) & sr["estimate"].notna()]
        lim = overdispersed_ratio_limits(shown["expected"], tau2)
        for (_, row), (_, li) in zip(shown.iterrows(), lim.iterrows(), strict=True):
            q3_pos = (
                "above" if row["estimate"] > li["upper_99.8"]
                else "below" if row["estimate"] < li["lower_99.8"] else "within"
            )  # fmt: skip
            assert funnel_positions(points, limits, row["la_code"])[measure] == q3_pos
            checked += 1
    return checked


def test_profile_funnel_limits_are_q3_limits(tables):
    """The LA profile's funnel and Q3's (report, England page) use one overdispersion method."""
    _, t = tables
    assert t["q3_funnel_limits"]["tau2"].gt(0).any()  # the check covers widened limits
    assert _profile_funnel_is_q3s(t["q3_standardised"], t["q3_funnel_limits"]) >= 9 * 3


@pytest.mark.slow
def test_profile_funnel_limits_are_q3_limits_in_the_demo_build(built):
    """In the session's demo build: the published Q3 tables and the profile funnels agree."""
    tables = built["results"] / "tables"
    sr = pd.read_csv(tables / "q3_standardised.csv", dtype={"la_code": str})
    q3 = pd.read_csv(tables / "q3_funnel_limits.csv")
    assert _profile_funnel_is_q3s(sr, q3) >= 15 * 3
