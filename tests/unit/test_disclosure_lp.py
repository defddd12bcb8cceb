"""The disclosure engine's LP solver gives exactly what ``linprog(method="highs")`` gives.

The attacker check solves hundreds of small LPs per build; :func:`cwi.disclosure.engine._solver`
sets each component's LP up once and hands HiGHS the same model per objective. These tests
hold it to linprog's status and solution, bit for bit, on tables like the engine's (feasible,
unbounded in some directions, rounded cells with bounds) and on an infeasible one.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from cwi.disclosure import engine
from cwi.disclosure.engine import DisclosureError, _PreparedLp, _solve, _solver


def _table_lp(rng: np.random.Generator, rows: int, cols: int, rounded: bool):
    """A rows x cols table with row and column totals as equalities (cells are variables)."""
    truth = rng.integers(0, 30, size=(rows, cols)).astype(float)
    r_idx, c_idx, rhs = [], [], []
    for i in range(rows):
        for j in range(cols):
            r_idx.append(len(rhs))
            c_idx.append(i * cols + j)
        rhs.append(truth[i].sum())
    for j in range(cols):
        for i in range(rows):
            r_idx.append(len(rhs))
            c_idx.append(i * cols + j)
        rhs.append(truth[:, j].sum())
    a_eq = sparse.csr_array((np.ones(len(r_idx)), (r_idx, c_idx)), shape=(len(rhs), rows * cols))
    bounds: list[tuple[float, float | None]] = []
    for v in truth.ravel():
        if rounded and rng.random() < 0.3:  # published rounded to base 5
            r = np.floor(v / 5 + 0.5) * 5
            bounds.append((max(0.0, np.ceil(r - 2.5)), np.ceil(r + 2.5) - 1.0))
        else:
            bounds.append((0.0, None))
    return a_eq, np.asarray(rhs), bounds


def _same(fast, slow) -> bool:
    if fast.status != slow.status:
        return False
    if fast.x is None or slow.x is None:
        return fast.x is None and slow.x is None
    return np.array_equal(fast.x, slow.x)


@pytest.mark.parametrize("seed", range(6))
def test_prepared_lp_matches_linprog_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    a_eq, b_eq, bounds = _table_lp(rng, 3 + seed % 3, 4, rounded=seed % 2 == 1)
    solve = _solver(a_eq, b_eq, bounds)
    n = a_eq.shape[1]
    objectives = [np.ones(n), -np.ones(n)]
    objectives += [rng.uniform(-1.5, 1.5, n) for _ in range(6)]
    for k in range(n):  # every single cell down and up, as the attacker check does
        e = np.zeros(n)
        e[k] = 1.0
        objectives += [e, -e]
    for c in objectives:
        assert _same(solve(c), _solve(c, a_eq, b_eq, bounds))


def test_unbounded_direction_has_linprogs_status():
    # x0 - x1 = 0 with no upper bounds: maximising x0 is unbounded
    a_eq = sparse.csr_array(np.array([[1.0, -1.0]]))
    b_eq = np.array([0.0])
    bounds = [(0.0, None), (0.0, None)]
    c = np.array([-1.0, 0.0])
    fast = _solver(a_eq, b_eq, bounds)(c)
    assert _same(fast, _solve(c, a_eq, b_eq, bounds))
    assert fast.status in (3, 4)  # what linprog says, whichever it is
    assert _same(_solver(a_eq, b_eq, bounds)(-c), _solve(-c, a_eq, b_eq, bounds))


def test_one_variable_component():
    # one hidden cell pinned by its line: x0 = 7
    a_eq = sparse.csr_array(np.array([[1.0]]))
    for c in (np.array([1.0]), np.array([-1.0])):
        fast = _solver(a_eq, np.array([7.0]), [(0.0, None)])(c)
        assert _same(fast, _solve(c, a_eq, np.array([7.0]), [(0.0, None)]))
        assert fast.x.tolist() == [7.0]


def test_infeasible_margins_stop_as_before():
    a_eq = sparse.csr_array(np.array([[1.0, 1.0], [1.0, 1.0]]))
    b_eq = np.array([3.0, 4.0])  # the same cells summing to two totals
    bounds = [(0.0, None), (0.0, None)]
    with pytest.raises(DisclosureError, match="inconsistent"):
        _solve(np.ones(2), a_eq, b_eq, bounds)
    with pytest.raises(DisclosureError, match="inconsistent"):
        _solver(a_eq, b_eq, bounds)(np.ones(2))


def test_the_fast_path_is_the_one_used(monkeypatch):
    """With this scipy the prepared LP is used: linprog is never called per solve."""
    a_eq, b_eq, bounds = _table_lp(np.random.default_rng(1), 3, 3, rounded=False)
    assert isinstance(_PreparedLp(a_eq, b_eq, bounds), _PreparedLp)

    def no_linprog(*_a, **_k):
        raise AssertionError("linprog called")

    monkeypatch.setattr(engine, "_solve", no_linprog)
    assert _solver(a_eq, b_eq, bounds)(np.ones(a_eq.shape[1])).status == 0
