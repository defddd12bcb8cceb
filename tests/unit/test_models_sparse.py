"""The sparse sums of the grouped GLM are bit-for-bit those of the dense loop.

``cwi.analysis.models._SparseDesign`` adds only the non-zero terms of a design of factor
dummies (the LA-adjusted ethnic model has ~170 columns at national scale); every coefficient,
covariance and fitted value must equal the dense loop's exactly, not just closely.
"""

from __future__ import annotations

import numpy as np
import pytest

from cwi.analysis import models


def _design(rng: np.random.Generator, n: int, levels: list[int], dense: int) -> np.ndarray:
    cols = [np.ones(n)]
    for k in levels:  # treatment dummies of a factor (level 0 is the reference)
        f = rng.integers(0, k, n)
        cols += [(f == j).astype(float) for j in range(1, k)]
    cols += [rng.normal(size=n) * rng.integers(0, 2, n) for _ in range(dense)]
    return np.column_stack(cols)


def _fit_both(monkeypatch, x, y, offset, group, family):  # noqa: ANN001, ANN202
    sparse = models.grouped_glm(x, y, offset, group, family)
    with monkeypatch.context() as m:
        m.setattr(models._SparseDesign, "of", classmethod(lambda *a, **k: None))
        dense = models.grouped_glm(x, y, offset, group, family)
    return sparse, dense


@pytest.mark.parametrize("family", ["poisson", "quasipoisson", "negbin"])
@pytest.mark.parametrize("groups", [1, 4])
def test_sparse_sums_equal_the_dense_loop_exactly(monkeypatch, family, groups):
    rng = np.random.default_rng(7 + groups)
    n = 3000
    x = _design(rng, n, [6, 10, 40], dense=1)
    group = rng.integers(0, groups, n)
    pop = rng.integers(50, 5000, n).astype(float)
    rate = np.exp(-5 + x[:, 1:8] @ rng.normal(0, 0.3, 7))
    y = rng.poisson(pop * rate).astype(float)
    pairs = [(i, j) for i in range(x.shape[1]) for j in range(i, x.shape[1])]
    assert models._SparseDesign.of(x, pairs, group, groups) is not None  # the sparse sums run
    sparse, dense = _fit_both(monkeypatch, x, y, np.log(pop), group, family)
    for field in ("beta", "cov", "alpha", "pearson", "deviance", "mu"):
        assert np.array_equal(getattr(sparse, field), getattr(dense, field), equal_nan=True), field
    assert np.array_equal(sparse.converged, dense.converged)


def test_a_dense_design_keeps_the_dense_loop():
    x = np.random.default_rng(1).normal(size=(200, 4))
    pairs = [(i, j) for i in range(4) for j in range(i, 4)]
    assert models._SparseDesign.of(x, pairs, np.zeros(200, int), 1) is None
    x[0, 0] = np.nan
    assert models._SparseDesign.of(x, pairs, np.zeros(200, int), 1) is None


def test_non_finite_weights_fall_back_to_the_dense_sums():
    assert models._SparseDesign.exact_for(np.ones(3), np.array([1.0, 2.0, 3.0]))
    assert not models._SparseDesign.exact_for(np.ones(3), np.array([1.0, np.inf, 3.0]))
    assert not models._SparseDesign.exact_for(np.array([np.nan, 1.0]))
