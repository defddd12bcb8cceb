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

import contextlib
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
    out = {
        "area_rates": pd.concat([q1.area_rates(cube, y, conf, per, measures) for y in years]),
        "q1_decile_rates": pd.concat(
            [q1.decile_rates(cube, y, conf, per, measures) for y in years]
        ),
        "q1_quintile_rates": pd.concat(
            [q1.quintile_rates(cube, y, conf, per, measures) for y in years]
        ),
        "q3_la_deprivation": la_deprivation(cube, main),
    }
    # too few LAs for thirds: the table is not published either
    with contextlib.suppress(ValueError):
        out["q3_rates_by_la_third"] = q3.rates_by_la_third(cube, main, conf, per, measures)
    return out


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


# ---- small synthetic families for unit and property tests ------------------------------------

TH = {"la_total_min": 6, "crosstab_min": 10, "zero_safe_margin": 10, "round_regional_to": 10}


def _rates(frame: pd.DataFrame) -> pd.DataFrame:
    from cwi.analysis.rates import rate_ci

    ci = rate_ci(frame["n"], frame["population"], 0.95, 10000)
    return frame.assign(
        rate=ci["value"].to_numpy(),
        lower=ci["lower"].to_numpy(),
        upper=ci["upper"].to_numpy(),
        method=ci["method"].to_numpy(),
    )


def build_tables(counts: dict[str, list[int]], thirds: dict[str, int] | None = None, year=2024):
    """The published family from LA x decile counts: deciles, quintiles, totals, LA thirds."""
    rows = []
    for la, ns in counts.items():
        for d, n in enumerate(ns, start=1):
            rows.append({"area_code": la, "imd_decile": d, "n": n, "population": 1000 + 37 * d})
    cells = pd.DataFrame(rows)
    reg = cells.groupby("imd_decile", as_index=False)[["n", "population"]].sum()
    reg["area_code"] = "REGION"
    dec = pd.concat([reg, cells], ignore_index=True)
    dec["area_type"] = np.where(dec["area_code"] == "REGION", "region", "la")
    dec["year"], dec["measure"] = year, "CLA"
    dec["imd_quintile"] = (dec["imd_decile"] + 1) // 2
    keys = ["year", "measure", "area_type", "area_code"]
    quint = dec.groupby([*keys, "imd_quintile"], as_index=False)[["n", "population"]].sum()
    area = dec.groupby(keys, as_index=False)[["n", "population"]].sum()
    tables = {
        "q1_decile_rates": _rates(dec.drop(columns="imd_quintile")),
        "q1_quintile_rates": _rates(quint),
        "area_rates": _rates(area),
    }
    if thirds:
        dep = pd.DataFrame({"la_code": list(thirds), "la_third": list(thirds.values())})
        la = cells.assign(la_third=cells["area_code"].map(thirds))
        th = la.groupby(["la_third", "imd_decile"], as_index=False)[["n", "population"]].sum()
        th["year"], th["measure"] = year, "CLA"
        tables["q3_rates_by_la_third"] = _rates(th)
        tables["q3_la_deprivation"] = dep
    return tables


def protect_tables(tables, margins=None):
    from cwi.disclosure import protect_family
    from cwi.disclosure.registry import MARGINS, SPECS

    margins = MARGINS if margins is None else margins
    counted = {n: t for n, t in tables.items() if n in SPECS}
    return protect_family(counted, {n: SPECS[n] for n in counted}, TH, margins, tables)


def _confidential_recovered(tables, published, result):  # noqa: ARG001
    """Hidden decile cells with a true count of 1-9 that the attack pins to under 10."""
    truth = tables["q1_decile_rates"].set_index(["year", "measure", "area_code", "imd_decile"])
    bad = []
    for key in result.narrower_than(TH["crosstab_min"]):
        n = truth.loc[key, "n"]
        if 1 <= n < TH["crosstab_min"]:
            bad.append(key)
    return bad


def thirds_frame(thirds):
    return pd.DataFrame({"la_code": list(thirds), "la_third": list(thirds.values())})
