"""Profile charts: suppressed deciles are never drawn; computed neighbours."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cwi.charts.profile import decile_chart, decile_figure
from cwi.profiles.neighbours import computed_neighbours


def _deciles(area: str, rates: dict[int, float | None], pops: dict[int, float]) -> pd.DataFrame:
    rows = []
    for m in ("CIN", "CPP", "CLA"):
        for d in range(1, 11):
            if d not in pops:
                continue  # the LA has no neighbourhoods in this decile: no row at all
            r = rates.get(d)
            rows.append({"measure": m, "imd_decile": d, "population": pops[d], "rate": r,
                         "lower": None if r is None else r * 0.8,
                         "upper": None if r is None else r * 1.2,
                         "note": "[c]" if r is None else "", "area": area})  # fmt: skip
    return pd.DataFrame(rows)


def test_a_suppressed_decile_is_never_drawn_and_tiny_deciles_do_not_set_the_axis(tmp_path):
    pops = {d: 5000.0 for d in range(1, 9)} | {8: 120.0}  # decile 8 tiny; 9, 10 absent
    rates = {1: 400.0, 2: 300.0, 3: None, 4: 200.0, 5: 150.0, 6: 120.0, 7: 100.0, 8: 0.0}
    la = _deciles("la", rates, pops)
    la.loc[la["imd_decile"] == 8, "upper"] = 9000.0  # a tiny decile's huge interval
    region = _deciles(
        "region", {d: 500.0 - 40 * d for d in range(1, 11)}, {d: 1e5 for d in range(1, 11)}
    )
    fig, drawn = decile_chart(
        la, region, tmp_path / "d.png", la_name="LA", region_name="Region",
        measures=["CIN", "CPP", "CLA"], title="t", subtitle="s", source="src", alt="a",
    )  # fmt: skip
    assert (tmp_path / "d.png").is_file()
    for measure in ("CIN", "CPP", "CLA"):
        assert drawn[measure] == [1, 2, 4, 5, 6, 7]  # 3 suppressed, 8 tiny, 9-10 absent
    # The figure as drawn (the chart's own figure: it is kept for the next decile chart).
    mfig, again = decile_figure(
        la, region, la_name="LA", region_name="Region", measures=["CIN", "CPP", "CLA"]
    )
    assert again == drawn
    assert [ax.get_title(loc="left") for ax in mfig.axes] == ["CIN", "CPP", "CLA"]
    for ax in mfig.axes:
        # No plotted point or interval sits at decile 3 (suppressed) and none at a rate of 0.
        for line in ax.get_lines():
            if line.get_color() == "#F46A25":  # the region's line (every decile published)
                continue
            x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
            pts = np.isfinite(y)
            assert not np.any(np.isin(x, [3, 8, 9, 10]) & pts), "hidden or tiny decile drawn"
            assert not np.any(y[pts] == 0), "a hidden or tiny decile drawn as 0"
        intervals = [seg for c in ax.collections for seg in c.get_segments()]
        assert sorted(int(seg[0][0]) for seg in intervals) == [1, 2, 4, 5, 6, 7]
        symbols = sorted(t.get_text() for t in ax.texts)
        assert symbols == ["[c]", "[u]", "[z]", "[z]"]
        assert ax.get_ylim()[1] < 1000  # the tiny decile's interval does not stretch the axis


def test_computed_neighbours_are_the_closest_las_and_exclude_the_la():
    area = pd.DataFrame({"area_type": "la", "area_code": list("ABCDEF"),
                         "population": [1e4, 1.1e4, 5e4, 5.2e4, 2e5, 2.1e5]})  # fmt: skip
    chars = pd.DataFrame({"la_code": list("ABCDEF"), "imd_score_mean": [40, 41, 20, 21, 10, 11],
                          "share_children_decile1": [0.5, 0.5, 0.1, 0.1, 0.0, 0.0]})  # fmt: skip
    nb = computed_neighbours(chars, area, k=1)
    assert nb == {"A": ["B"], "B": ["A"], "C": ["D"], "D": ["C"], "E": ["F"], "F": ["E"]}
    assert all(code not in nb[code] for code in nb)
