"""Property-based tests of cwi.disclosure on random tables with margins."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cwi.disclosure import Line, TableSpec, assert_not_recoverable, protect
from cwi.disclosure.registry import SPECS
from tests.disclosure_attack import (
    _confidential_recovered,
    attack,
    build_tables,
    protect_tables,
    thirds_frame,
)

TH = {"la_total_min": 6, "crosstab_min": 10, "zero_safe_margin": 10, "round_regional_to": 10}

small_count = st.one_of(st.integers(0, 12), st.integers(0, 80), st.just(0))


@st.composite
def tables(draw):
    n_rows = draw(st.integers(2, 5))
    n_cols = draw(st.integers(2, 5))
    m = np.array(draw(st.lists(small_count, min_size=n_rows * n_cols, max_size=n_rows * n_cols)))
    m = m.reshape(n_rows, n_cols)
    rows = []
    for i in range(n_rows):
        for j in range(n_cols):
            rows.append({"la": f"L{i}", "decile": j + 1, "n": m[i, j]})
        rows.append({"la": f"L{i}", "decile": "Total", "n": m[i].sum()})
    for j in range(n_cols):
        rows.append({"la": "REGION", "decile": j + 1, "n": m[:, j].sum()})
    rows.append({"la": "REGION", "decile": "Total", "n": m.sum()})
    df = pd.DataFrame(rows)
    df["rate"] = df.n * 1.5
    level = draw(st.sampled_from(["la_total", "crosstab"]))
    rounded = draw(st.booleans())
    spec = TableSpec(
        "random",
        "n",
        ("la", "decile"),
        (Line("decile", "Total"), Line("la", "REGION")),
        level=level,
        totals_level=draw(st.sampled_from([None, "la_total"])),
        dependents=("rate",),
        round_to="round_regional_to" if rounded else None,
        round_where={"la": "REGION"} if rounded else None,
    )
    return df, spec


def _lines(df):
    """Each LA's row (with its total) and each decile's column (with the regional total)."""
    for _, g in df[df.la != "REGION"].groupby("la"):
        yield g
    for _, g in df[df.decile != "Total"].groupby("decile"):
        yield g


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_protected_tables_publish_nothing_confidential(case):
    df, spec = case
    out = protect(df, spec, TH)
    is_total = (df.la == "REGION") | (df.decile == "Total")
    t_cell = spec.threshold(TH)
    t_total = spec.threshold(TH, total=True)
    t = np.where(is_total, t_total, t_cell)
    pub = out.n.notna()
    # 1. no published count under its threshold (totals of a region may be rounded)
    small = pub & (df.n > 0) & (df.n < t)
    assert not small.any()
    # 2. dependents go with their count; every hidden cell is marked [c]
    assert (out.rate.isna() == out.n.isna()).all()
    assert (out.note[out.n.isna()] == "[c]").all()
    # 3. a zero is published only where each line it sits in totals 0 or at least the margin
    for line in _lines(df):
        total = line.n.max()  # the total row of a non-negative line is its largest cell
        if 0 < total < TH["zero_safe_margin"]:
            zeros = line.index[(line.n == 0) & (line.decile != "Total") & (line.la != "REGION")]
            assert out.n[zeros].isna().all()
    # 4. exact differencing: no line with an exact (unrounded) total has exactly one hidden
    #    cell; lines with a rounded total are left to the LP check below
    for line in _lines(out):
        if spec.round_to and (line.la == "REGION").any():
            continue
        assert line.n.isna().sum() != 1
    # 5. no hidden confidential cell can be bounded more tightly than the threshold by LP
    assert_not_recoverable(df, out, spec, TH)
    # 6. rounding touches the regional row only, and unhidden LA cells are unchanged
    la_cells = pub & (df.la != "REGION")
    assert (out.n[la_cells] == df.n[la_cells]).all()
    if spec.round_to:
        assert (out.n[pub & (df.la == "REGION")] % 10 == 0).all()


@settings(max_examples=40, deadline=None)
@given(tables())
def test_protect_is_deterministic(case):
    df, spec = case
    a = protect(df, spec, TH)
    b = protect(df, spec, TH)
    pd.testing.assert_frame_equal(a, b)


@st.composite
def families(draw):
    n_la = draw(st.integers(2, 4))
    counts = {
        f"L{i}": draw(
            st.lists(st.one_of(st.integers(0, 12), st.integers(10, 90)), min_size=10, max_size=10)
        )
        for i in range(n_la)
    }
    thirds = {la: 1 + i % 3 for i, la in enumerate(counts)}
    return counts, thirds


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(families())
def test_multi_table_family_leaves_nothing_recoverable(case):
    """Deciles, quintiles, LA totals, region and LA thirds together: an independent attacker
    bounds no confidential decile count more tightly than the threshold, and suppression always
    finds enough complementary cells (it never refuses an ordinary family)."""
    counts, thirds = case
    tables = build_tables(counts, thirds)
    public = protect_tables(tables)
    public["q3_la_deprivation"] = thirds_frame(thirds)
    for name, frame in public.items():
        if name in SPECS:
            t = SPECS[name].threshold(TH)
            shown = frame["n"].dropna()
            assert not ((shown > 0) & (shown < t)).any(), name
    assert _confidential_recovered(tables, public, attack(public)) == []
