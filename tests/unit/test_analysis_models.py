"""Model kernels against statsmodels and hand-computed random-effects formulas."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from cwi.analysis.models import grouped_glm, median_rate_ratio, random_effects


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    n = 300
    x = rng.integers(0, 10, n).astype(float)
    pop = rng.uniform(100, 400, n)
    y = rng.poisson(pop * 0.01 * 1.12**x * rng.gamma(10, 0.1, n))
    return np.column_stack([np.ones(n), x]), y.astype(float), np.log(pop)


@pytest.mark.parametrize("family,scale", [("poisson", None), ("quasipoisson", "X2")])
def test_grouped_glm_equals_statsmodels(data, family, scale):
    x, y, off = data
    fit = grouped_glm(x, y, off, family=family)
    ref = sm.GLM(y, x, family=sm.families.Poisson(), offset=off).fit(scale=scale)
    np.testing.assert_allclose(fit.beta[0], ref.params, rtol=1e-8)
    np.testing.assert_allclose(fit.se[0], ref.bse, rtol=1e-6)
    assert fit.deviance[0] == pytest.approx(ref.deviance, rel=1e-8)


def test_grouped_glm_negbin_alpha_by_moments(data):
    x, y, off = data
    fit = grouped_glm(x, y, off, family="negbin")
    ref = sm.GLM(y, x, family=sm.families.NegativeBinomial(alpha=fit.alpha[0]), offset=off).fit()
    np.testing.assert_allclose(fit.beta[0], ref.params, rtol=1e-6)
    np.testing.assert_allclose(fit.se[0], ref.bse, rtol=1e-5)
    # Cameron & Trivedi moment estimator, recomputed from the NB fitted means
    mu = np.exp(x @ fit.beta[0] + off)
    # one more update from the final means is close to the reported alpha
    assert np.sum((y - mu) ** 2 - y) / np.sum(mu**2) == pytest.approx(fit.alpha[0], rel=0.05)


def test_grouped_glm_groups_are_independent(data):
    x, y, off = data
    g = np.r_[np.zeros(150, int), np.ones(150, int)]
    fit = grouped_glm(x, y, off, g)
    for k in (0, 1):
        ref = sm.GLM(y[g == k], x[g == k], family=sm.families.Poisson(), offset=off[g == k]).fit()
        np.testing.assert_allclose(fit.beta[k], ref.params, rtol=1e-8)


def test_dersimonian_laird_by_hand():
    theta = np.array([0.10, 0.30, -0.05, 0.22, 0.15])
    v = np.array([0.010, 0.020, 0.015, 0.010, 0.030])
    w = 1 / v
    mu = np.sum(w * theta) / np.sum(w)
    q = np.sum(w * (theta - mu) ** 2)
    tau2 = max(0.0, (q - 4) / (np.sum(w) - np.sum(w**2) / np.sum(w)))  # DerSimonian & Laird 1986
    re = random_effects(theta, v)
    assert re.q == pytest.approx(q)
    assert re.tau2 == pytest.approx(tau2)
    ws = 1 / (v + tau2)
    assert re.beta[0] == pytest.approx(np.sum(ws * theta) / np.sum(ws))
    assert re.tau2_lower <= re.tau2 <= re.tau2_upper


def test_median_rate_ratio_by_hand():
    # Merlo et al. (2006): MRR = exp(sqrt(2 tau2) * 0.6745)
    assert median_rate_ratio(0.1) == pytest.approx(np.exp(np.sqrt(0.2) * 0.6744897501960817))
    assert median_rate_ratio(0.0) == 1.0
