"""An attacker's linear program over the published tables, written apart from cwi.disclosure.

It is what the attack in issue 12 did, from the published tables only: every hidden LA and
region decile count is a variable, and the reader knows

* each area's deciles add up to its total (``area_rates``, at the precision published: a
  rounded total only to within its rounding interval);
* the LAs' deciles add up to the region's decile;
* quintile q is deciles 2q-1 and 2q (``q1_quintile_rates``);
* an LA deprivation third's decile is the sum of its LAs' deciles (``q3_rates_by_la_third``
  with the thirds of ``q3_la_deprivation``);
* a published rate with a published population gives its count (``n = rate x pop / per``).

For each hidden decile cell it minimises and maximises the cell. It shares no code with the
suppression engine, so it checks the engine rather than repeating it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog

REGION = "REGION"


@dataclass
class AttackResult:
    """Bounds of every hidden decile cell: ``(year, measure, area, decile) -> (lo, hi)``."""

    bounds: dict[tuple, tuple[float, float]] = field(default_factory=dict)

    def recovered_exactly(self) -> list[tuple]:
        return [k for k, (lo, hi) in self.bounds.items() if hi - lo < 0.5]

    def narrower_than(self, width: float) -> list[tuple]:
        return [k for k, (lo, hi) in self.bounds.items() if hi - lo < width - 1e-6]


class _LP:
    """Variables (hidden cells), known cells and equations of one year and measure."""

    def __init__(self) -> None:
        self.var: dict[tuple, int] = {}
        self.known: dict[tuple, float] = {}
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.rows: list[dict[int, float]] = []
        self.rhs: list[float] = []

    def cell(self, key: tuple, value: float, lo: float = 0.0, hi: float = math.inf) -> None:
        if pd.isna(value):
            self.var[key] = len(self.lo)
            self.lo.append(lo)
            self.hi.append(hi)
        else:
            self.known[key] = float(value)

    def equation(self, parts: list[tuple], total: tuple) -> None:
        """sum(parts) - total = 0, over the cells that exist (a missing row is a zero)."""
        coef: dict[int, float] = {}
        b = 0.0
        for key, a_ in [(p, 1.0) for p in parts] + [(total, -1.0)]:
            if key in self.var:
                coef[self.var[key]] = coef.get(self.var[key], 0.0) + a_
            elif key in self.known:
                b -= a_ * self.known[key]
        if coef:
            self.rows.append(coef)
            self.rhs.append(b)


def _rate_count(row: pd.Series, per: float) -> float | None:
    """The count a published rate gives back with the published population (or None)."""
    rate, pop = row.get("rate"), row.get("population")
    if rate is None or pop is None or pd.isna(rate) or pd.isna(pop):
        return None
    return float(rate) * float(pop) / per


def attack(published: dict[str, pd.DataFrame], per: float = 10000) -> AttackResult:
    """Bound every hidden decile count from the published tables.

    Parameters
    ----------
    published : dict
        At least ``q1_decile_rates``; ``area_rates``, ``q1_quintile_rates``,
        ``q3_rates_by_la_third`` and ``q3_la_deprivation`` are used when present.
    per : float
        Rate multiplier.
    """
    dec = published["q1_decile_rates"]
    area = published.get("area_rates", pd.DataFrame())
    quint = published.get("q1_quintile_rates", pd.DataFrame())
    thirds_t = published.get("q3_rates_by_la_third", pd.DataFrame())
    dep = published.get("q3_la_deprivation", pd.DataFrame())
    third_of = (
        dict(zip(dep["la_code"], dep["la_third"], strict=False))
        if {"la_code", "la_third"} <= set(dep.columns)
        else {}
    )
    result = AttackResult()
    for (year, measure), d in dec.groupby(["year", "measure"]):
        lp = _LP()
        var, known, lo_b, hi_b, rows, rhs = lp.var, lp.known, lp.lo, lp.hi, lp.rows, lp.rhs
        cell, equation = lp.cell, lp.equation

        for _, r in d.iterrows():
            n = r["n"]
            if pd.isna(n) and _rate_count(r, per) is not None:
                n = round(_rate_count(r, per))
            cell(("d", r["area_code"], int(r["imd_decile"])), n)
        a = area[(area["year"] == year) & (area["measure"] == measure)] if len(area) else area
        for _, r in a.iterrows():
            n, key = r["n"], ("t", r["area_code"])
            from_rate = _rate_count(r, per)
            if from_rate is not None:
                cell(key, round(from_rate))
            elif pd.isna(n):
                cell(key, n)
            else:  # published, perhaps rounded: the attacker does not know the base, so
                # take the value as exact unless it is a multiple of 10 (then +-5)
                if n % 10 == 0 and n > 0:
                    cell(key, math.nan, n - 5, n + 4)
                else:
                    cell(key, n)
        q = quint[(quint["year"] == year) & (quint["measure"] == measure)] if len(quint) else quint
        for _, r in q.iterrows():
            n = r["n"]
            if pd.isna(n) and _rate_count(r, per) is not None:
                n = round(_rate_count(r, per))
            cell(("q", r["area_code"], int(r["imd_quintile"])), n)
        th = (
            thirds_t[(thirds_t["year"] == year) & (thirds_t["measure"] == measure)]
            if len(thirds_t)
            else thirds_t
        )
        for _, r in th.iterrows():
            n = r["n"]
            if pd.isna(n) and _rate_count(r, per) is not None:
                n = round(_rate_count(r, per))
            cell(("th", int(r["la_third"]), int(r["imd_decile"])), n)

        areas = sorted(set(d["area_code"]))
        deciles = range(1, 11)
        for ac in areas:
            equation([("d", ac, k) for k in deciles], ("t", ac))
            for qq in range(1, 6):
                if ("q", ac, qq) in var or ("q", ac, qq) in known:
                    equation([("d", ac, 2 * qq - 1), ("d", ac, 2 * qq)], ("q", ac, qq))
        las = [ac for ac in areas if ac != REGION]
        for k in deciles:
            equation([("d", ac, k) for ac in las], ("d", REGION, k))
            for t in (1, 2, 3):
                if ("th", t, k) in var or ("th", t, k) in known:
                    equation([("d", ac, k) for ac in las if third_of.get(ac) == t], ("th", t, k))
        targets = [key for key in var if key[0] == "d"]
        if not targets:
            continue
        nvar = len(lo_b)
        a_eq = np.zeros((len(rows), nvar))
        for i, coef in enumerate(rows):
            for j, v in coef.items():
                a_eq[i, j] = v
        b_eq = np.asarray(rhs)
        bounds = [(lo_b[j], None if math.isinf(hi_b[j]) else hi_b[j]) for j in range(nvar)]
        for key in targets:
            c = np.zeros(nvar)
            c[var[key]] = 1.0
            res_lo = linprog(c, A_eq=a_eq if rows else None, b_eq=b_eq if rows else None,
                             bounds=bounds, method="highs")  # fmt: skip
            res_hi = linprog(-c, A_eq=a_eq if rows else None, b_eq=b_eq if rows else None,
                             bounds=bounds, method="highs")  # fmt: skip
            lo = res_lo.fun if res_lo.status == 0 else 0.0
            hi = -res_hi.fun if res_hi.status == 0 else math.inf
            result.bounds[(int(year), measure, key[1], key[2])] = (lo, hi)
    return result


FAMILY = ("area_rates", "q1_decile_rates", "q1_quintile_rates", "q3_rates_by_la_third")


def true_tables(private_dir, settings) -> dict[str, pd.DataFrame]:
    """The family's true counts, recomputed from the build's private cube."""
    from cwi.analysis import q1, q3
    from cwi.analysis.cells import la_deprivation
    from cwi.cube import Cube

    cube = Cube.load(private_dir / "cube")
    conf, per = settings.confidence, settings.rate_per
    measures = [m for m in settings.measures]
    years = [y for y in settings.years if y in cube.years]
    main = settings.main_year
    return {
        "area_rates": pd.concat([q1.area_rates(cube, y, conf, per, measures) for y in years]),
        "q1_decile_rates": pd.concat(
            [q1.decile_rates(cube, y, conf, per, measures) for y in years]
        ),
        "q1_quintile_rates": pd.concat(
            [q1.quintile_rates(cube, y, conf, per, measures) for y in years]
        ),
        "q3_rates_by_la_third": q3.rates_by_la_third(cube, main, conf, per, measures),
        "q3_la_deprivation": la_deprivation(cube, main),
    }


def confidential_recovered(
    truth: dict[str, pd.DataFrame], result: AttackResult, crosstab_min: int = 10
) -> list[tuple]:
    """Hidden decile cells with a true count of 1..crosstab_min-1 pinned to under the threshold.

    Also a hidden true zero in a line totalling under the threshold, pinned to under its line.
    """
    dec = truth["q1_decile_rates"].set_index(["year", "measure", "area_code", "imd_decile"])
    line = dec.groupby(level=[0, 1, 2])["n"].sum()
    bad = []
    for key, (lo, hi) in result.bounds.items():
        n = float(dec.loc[key, "n"])
        total = float(line.loc[key[:3]])
        need = min(crosstab_min, total)
        confidential = (1 <= n < crosstab_min) or (n == 0 and 0 < total < crosstab_min)
        if confidential and hi - lo < need - 1e-6:
            bad.append(key)
    return bad


def attack_build(results_dir, private_dir, settings) -> tuple[AttackResult, list[tuple]]:
    """Attack a finished build's published tables; return the bounds and the disclosures."""
    published = {}
    for name in (*FAMILY, "q3_la_deprivation"):
        path = results_dir / "tables" / f"{name}.csv"
        if path.is_file():
            published[name] = pd.read_csv(path)
    result = attack(published, per=float(settings.rate_per))
    truth = true_tables(private_dir, settings)
    return result, confidential_recovered(truth, result)
