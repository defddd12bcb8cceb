"""The suppression engine: one pass over tables that share cells and margins.

Every table a renderer (report, LA profile web page, PDF, download) sees goes through
:func:`protect` (one table) or :func:`protect_family` (several tables that share cells; the
build protects all its count tables as one family, see :mod:`cwi.disclosure.publish`). The pass

1. refuses tables below LA granularity (any LSOA, postcode, child id or date-of-birth column);
2. applies **primary suppression**: counts from 1 to ``threshold - 1`` become ``[c]``, where the
   threshold is ``la_total_min`` for LA totals and ``crosstab_min`` for cross-tabulations below
   LA level; a zero is also ``[c]`` when a line it sits in totals more than 0 but fewer than
   ``zero_safe_margin`` ("0 of 6 in decile 3" tells the reader where the other 6 are);
3. applies **secondary suppression** to a fixed point over every additive line (rows, columns,
   totals, the same cell wherever it appears in the family, and the :class:`Margin` s between
   tables, e.g. quintile = two deciles): a line with exactly one hidden cell, or whose hidden
   cells sum to less than ``min(threshold, line total)``, gets its next smallest published
   cell hidden; then an **attacker check** bounds every primary cell by linear programming
   over all published values and keeps hiding cells until no primary cell is pinned to an
   interval narrower than ``min(threshold, smallest line total it sits in)``;
4. rounds configured rows after suppression (supported, and the attacker check reads rounded
   cells as intervals; the registry rounds nothing, so each quantity has one precision);
5. hides dependent columns (rates, confidence limits, percentages) with their count and writes
   Analysis Function shorthand (``[c]``, ``[z]``, ``[x]``, ``[low]``) into a ``note`` column.

Conventions for the attacker model
----------------------------------
* A :class:`Line` whose ``total`` label is ``None`` (or whose total row is missing) is assumed
  to have its total published elsewhere, so the reader knows it: the conservative choice.
* Rounded cells are known to the reader only to within their rounding interval.
* The reader is *not* credited with knowing that ``[c]`` means "under the threshold"; the check
  asks what the published numbers alone reveal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from cwi.disclosure.symbols import CONFIDENTIAL, NOTE, SYMBOLS

__all__ = [
    "DisclosureError",
    "Line",
    "TableSpec",
    "assert_family_not_recoverable",
    "assert_not_recoverable",
    "Margin",
    "protect",
    "protect_family",
]

#: Columns that must never reach a published table: below-LA geography, ids, dates of birth.
FORBIDDEN_COLUMN = re.compile(
    r"^(lsoa\w*|oa\d*(cd)?|msoa\w*|child_?(pid|id)|la_?child_?id|upn|postcode\w*|home_post|"
    r"pl_post|pcds?|pcd\d|dob|date_of_birth|person_?birth_?date|mc_dob)$",
    re.IGNORECASE,
)

_TOL = 1e-6


class DisclosureError(ValueError):
    """A table cannot be published safely (names the table and the line, never a value)."""


@dataclass(frozen=True)
class Line:
    """An additive structure of a table: the cells along one dimension add up to a total.

    Parameters
    ----------
    dim : str
        The dimension that varies along the line, e.g. ``"imd_decile"``; the other dimensions
        (and the table's constants) identify the line, e.g. one line per ``(la_code, measure)``.
    total : object, optional
        Label of the total cell in ``dim`` (e.g. ``"Total"``). ``None``, or a line lacking that
        row, means the line total is published elsewhere and is treated as known.
    """

    dim: str
    total: Any = None


@dataclass(frozen=True)
class TableSpec:
    """How one published table is protected.

    Parameters
    ----------
    name : str
        Table name, used in error messages and as the key in :func:`protect_family`.
    counts : tuple of str
        Count columns. Each is protected separately; use a long table when counts in different
        columns add up to each other.
    dims : tuple of str
        Dimension columns; together with ``constants`` they identify one cell.
    lines : tuple of Line
        Additive lines (a bare string ``"imd_decile"`` means ``Line("imd_decile")``).
    level : {"la_total", "crosstab"}
        ``la_total`` uses ``la_total_min``; ``crosstab`` (below LA level) uses ``crosstab_min``.
    totals_level : {"la_total", "crosstab"}, optional
        Level of the total cells of the lines (rows whose line dimension holds the total
        label), e.g. ``"la_total"`` for the LA total row of an LA x decile table. Defaults to
        ``level``.
    dependents : mapping of str to tuple of str, or tuple of str
        Columns hidden with their count (rates, limits, percentages). A bare sequence applies to
        the first count column.
    round_to : int or str, optional
        Round published counts to this base, or to ``thresholds[round_to]`` when a string
        (e.g. ``"round_regional_to"``).
    round_where : mapping, optional
        Only rows whose dimension values match all of these are rounded (e.g. the regional
        total row); ``None`` rounds every row.
    constants : mapping, optional
        Dimensions fixed for the whole table, e.g. ``{"la_code": "E06000001"}`` for one LA's
        profile, so its cells match the same cells in a regional table.
    aliases : mapping, optional
        Column name -> name used to match cells across tables in a family.
    """

    name: str
    counts: tuple[str, ...]
    dims: tuple[str, ...]
    lines: tuple[Line, ...] = ()
    level: Literal["la_total", "crosstab"] = "crosstab"
    totals_level: Literal["la_total", "crosstab"] | None = None
    dependents: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    round_to: int | str | None = None
    round_where: Mapping[str, Any] | None = None
    constants: Mapping[str, Any] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        counts = (self.counts,) if isinstance(self.counts, str) else tuple(self.counts)
        dims = (self.dims,) if isinstance(self.dims, str) else tuple(self.dims)
        lines = tuple(ln if isinstance(ln, Line) else _as_line(ln) for ln in self.lines)
        deps = self.dependents
        if not isinstance(deps, Mapping):
            deps = {counts[0]: tuple(deps)} if counts else {}
        deps = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in deps.items()}
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "dims", dims)
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "dependents", deps)
        if self.level not in ("la_total", "crosstab") or self.totals_level not in (
            None,
            "la_total",
            "crosstab",
        ):
            raise DisclosureError(f"{self.name}: level must be 'la_total' or 'crosstab'.")
        if not counts:
            raise DisclosureError(f"{self.name}: name at least one count column.")
        bad = [ln.dim for ln in lines if ln.dim not in dims]
        if bad:
            raise DisclosureError(f"{self.name}: line dimension(s) {bad} are not in dims.")
        unknown = [k for k in deps if k not in counts]
        if unknown:
            raise DisclosureError(
                f"{self.name}: dependents given for non-count column(s) {unknown}."
            )

    def threshold(self, thresholds: Mapping[str, int], total: bool = False) -> int:
        """Return the primary threshold: counts ``1 .. threshold - 1`` are confidential."""
        level = self.totals_level if total and self.totals_level else self.level
        key = "la_total_min" if level == "la_total" else "crosstab_min"
        return int(thresholds[key])

    def rounding_base(self, thresholds: Mapping[str, int]) -> int | None:
        """Return the rounding base, or ``None`` when counts are published unrounded."""
        if self.round_to is None:
            return None
        base = int(thresholds[self.round_to]) if isinstance(self.round_to, str) else self.round_to
        return base if base > 1 else None


@dataclass(frozen=True)
class Margin:
    """Cells of one published table are sums of cells of another (a margin across tables).

    The suppression pass and the recovery audit treat each such sum as one more additive line,
    so a reader who subtracts, e.g., decile 9 from quintile 5 finds decile 10 hidden too.

    Parameters
    ----------
    name : str
        Name used in messages, e.g. ``"quintiles = pairs of deciles"``.
    total : str
        Table holding the sums (e.g. ``"q1_quintile_rates"``).
    parts : str
        Table holding the parts (e.g. ``"q1_decile_rates"``).
    on : tuple of str
        Columns that identify one sum, present in ``total`` and in ``parts`` (after
        ``derive``), e.g. ``("year", "measure", "area_code", "imd_quintile")``.
    count, part_count : str
        Count column in ``total`` and in ``parts``.
    derive : callable, optional
        ``derive(parts_frame, context) -> DataFrame`` of extra key columns for the parts rows
        (same index), e.g. each decile's quintile or each LA's deprivation third; ``context``
        holds every table of the build (the mapping must itself be published). Rows whose
        derived key is missing take no part.
    parts_where, total_where : mapping, optional
        Keep only rows whose columns equal these values (e.g. ``{"area_type": "la"}``).
    complete : bool
        ``True``: the parts add up exactly to the total (checked on the true counts).
        ``False``: they add up to at most the total (some cases have no group).
    """

    name: str
    total: str
    parts: str
    on: tuple[str, ...]
    count: str = "n"
    part_count: str = "n"
    derive: Callable[[pd.DataFrame, Mapping[str, pd.DataFrame]], pd.DataFrame] | None = None
    parts_where: Mapping[str, Any] | None = None
    total_where: Mapping[str, Any] | None = None
    complete: bool = True


def _as_line(value: Any) -> Line:
    if isinstance(value, str):
        return Line(value)
    dim, total = value
    return Line(dim, total)


# ---- the cell system shared by protection and the attacker check ---------------------------


@dataclass
class _Appearance:
    table: str
    count: str
    rows: np.ndarray  # positional row numbers in the table
    gidx: np.ndarray  # global cell index per row
    rounded: np.ndarray  # bool per row: published value is rounded


@dataclass
class _LineRec:
    table: str
    where: str  # human description of the line (dimension values, no counts)
    members: np.ndarray
    total: int  # global index of the total cell, -1 when the total is external (known)
    known_total: float  # true total (NaN when it cannot be computed)
    threshold: int


@dataclass
class _System:
    values: np.ndarray  # true values (NaN = not available)
    threshold: np.ndarray  # strictest primary threshold of the tables holding the cell
    exact: np.ndarray  # published unrounded in at least one table (when not suppressed)
    round_base: np.ndarray  # smallest rounding base where only rounded (0 = none)
    lines: list[_LineRec]
    appearances: list[_Appearance]
    labels: list[str]  # human location per cell (table and dimension values)
    # per line its cells (members, then the total if any), and per cell the lines holding it
    # in line order: made once, on first use (the lines never change once built)
    _index: tuple[list[np.ndarray], list[list[int]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def size(self) -> int:
        return len(self.values)

    def line_index(self) -> tuple[list[np.ndarray], list[list[int]]]:
        """``(cells of each line, lines of each cell)``; each cell's lines in line order."""
        if self._index is None:
            cells_of = [
                line.members if line.total < 0 else np.append(line.members, line.total)
                for line in self.lines
            ]
            lines_at: list[list[int]] = [[] for _ in range(self.size)]
            for k, cells in enumerate(cells_of):
                for c in cells.tolist():
                    if not lines_at[c] or lines_at[c][-1] != k:
                        lines_at[c].append(k)
            self._index = (cells_of, lines_at)
        return self._index


def _norm(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _check_table(table: pd.DataFrame, spec: TableSpec) -> None:
    forbidden = [c for c in table.columns if FORBIDDEN_COLUMN.match(str(c))]
    if forbidden:
        raise DisclosureError(
            f"{spec.name}: column(s) {forbidden} hold LSOA, postcode, child-id or date-of-birth "
            "data, which must never leave the results store. Aggregate to LA x deprivation "
            "decile (or coarser) and drop the column before publishing."
        )
    needed = [*spec.counts, *spec.dims, *(c for d in spec.dependents.values() for c in d)]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise DisclosureError(f"{spec.name}: table lacks column(s) {missing} named in its spec.")
    for c in spec.counts:
        if not pd.api.types.is_numeric_dtype(table[c]):
            raise DisclosureError(f"{spec.name}: count column {c!r} is not numeric.")
    if spec.dims and table.duplicated(list(spec.dims)).any():
        raise DisclosureError(
            f"{spec.name}: several rows share the same {list(spec.dims)}; each cell must appear "
            "once. Aggregate the rows or add the missing dimension to the spec."
        )


def _round_mask(table: pd.DataFrame, spec: TableSpec, base: int | None) -> np.ndarray:
    if base is None:
        return np.zeros(len(table), dtype=bool)
    if spec.round_where is None:
        return np.ones(len(table), dtype=bool)
    mask = np.ones(len(table), dtype=bool)
    for col, val in spec.round_where.items():
        if col in table.columns:
            mask &= (table[col] == val).to_numpy()
        elif spec.constants.get(col) != val:
            mask[:] = False
    return mask


def _where(frame: pd.DataFrame, where: Mapping[str, Any] | None) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for col, val in (where or {}).items():
        if col not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        mask &= (frame[col] == val).to_numpy()
    return mask


def _margin_lines(
    margin: Margin,
    tables: Mapping[str, pd.DataFrame],
    specs: Mapping[str, TableSpec],
    thresholds: Mapping[str, int],
    gidx_of: Mapping[tuple[str, str], np.ndarray],
    values: list[float],
    new_cell: Callable[[str], int],
    context: Mapping[str, pd.DataFrame],
) -> list[_LineRec]:
    """The additive lines of one cross-table margin (sum of parts = total cell)."""
    t_idx = gidx_of.get((margin.total, margin.count))
    p_idx = gidx_of.get((margin.parts, margin.part_count))
    if t_idx is None or p_idx is None:
        return []  # one of the tables is not published in this build
    total, parts = tables[margin.total], tables[margin.parts]
    pf = parts.reset_index(drop=True)
    if margin.derive is not None:
        extra = margin.derive(pf, context).reset_index(drop=True)
        pf = pd.concat([pf.drop(columns=[c for c in extra.columns if c in pf]), extra], axis=1)
    missing = [c for c in margin.on if c not in pf.columns or c not in total.columns]
    if missing:
        raise DisclosureError(f"Margin {margin.name!r}: column(s) {missing} missing.")
    p_keep = _where(pf, margin.parts_where) & pf[list(margin.on)].notna().all(axis=1).to_numpy()
    t_keep = _where(total.reset_index(drop=True), margin.total_where)
    groups: dict[tuple, list[int]] = {}
    pkeys = [tuple(_norm(v) for v in row) for row in pf[list(margin.on)].itertuples(index=False)]
    for i in np.flatnonzero(p_keep):
        groups.setdefault(pkeys[i], []).append(int(p_idx[i]))
    t_frame = total.reset_index(drop=True)
    # the totals' keys read like the parts' (one pass, not one .loc per row)
    tkeys = [
        tuple(_norm(v) for v in row) for row in t_frame[list(margin.on)].itertuples(index=False)
    ]
    thr = specs[margin.parts].threshold(thresholds)
    out = []
    for i in np.flatnonzero(t_keep):
        key = tkeys[i]
        members = sorted(set(groups.get(key, [])))
        if not members:
            continue
        tot = int(t_idx[i])
        part_sum = float(np.sum([values[g] for g in members]))
        total_value = values[tot]
        where = ", ".join(f"{k}={v}" for k, v in zip(margin.on, key, strict=True))
        if not (math.isnan(part_sum) or math.isnan(total_value)):
            if margin.complete and not math.isclose(part_sum, total_value, abs_tol=_TOL):
                raise DisclosureError(
                    f"Margin {margin.name!r} does not hold at {where}: the parts in "
                    f"{margin.parts} do not add up to the total in {margin.total}. Build both "
                    "tables from the same counts or declare the margin incomplete."
                )
            if part_sum > total_value + _TOL:
                raise DisclosureError(
                    f"Margin {margin.name!r} does not hold at {where}: the parts in "
                    f"{margin.parts} exceed the total in {margin.total}."
                )
        if not margin.complete:
            members.append(new_cell(f"cases without a group in {margin.name} at {where}"))
        out.append(
            _LineRec(
                f"{margin.parts} -> {margin.total}",
                f"{margin.name} at {where}",
                np.asarray(members, dtype=int),
                tot,
                total_value,
                thr,
            )
        )
    return out


def _build_system(
    tables: Mapping[str, pd.DataFrame],
    specs: Mapping[str, TableSpec],
    thresholds: Mapping[str, int],
    margins: Sequence[Margin] = (),
    context: Mapping[str, pd.DataFrame] | None = None,
) -> _System:
    ids: dict[tuple, int] = {}
    values: list[float] = []
    thr: list[int] = []
    exact: list[bool] = []
    rbase: list[int] = []
    labels: list[str] = []
    origin: list[str] = []
    appearances: list[_Appearance] = []
    lines: list[_LineRec] = []

    for name, table in tables.items():
        spec = specs[name]
        _check_table(table, spec)
        t = spec.threshold(thresholds)
        base = spec.rounding_base(thresholds)
        is_total = np.zeros(len(table), dtype=bool)
        for line in spec.lines:
            if line.total is not None:
                is_total |= (table[line.dim].map(_norm) == _norm(line.total)).to_numpy()
        t_row = np.where(is_total, spec.threshold(thresholds, total=True), t)
        rmask = _round_mask(table, spec, base)
        dimvals = [table[d].map(_norm).to_list() for d in spec.dims]
        const = tuple((spec.aliases.get(k, k), _norm(v)) for k, v in spec.constants.items())
        dim_names = [spec.aliases.get(d, d) for d in spec.dims]
        keys = (
            [
                tuple(sorted(const + tuple(zip(dim_names, row, strict=True))))
                for row in zip(*dimvals, strict=True)
            ]
            if spec.dims
            else [tuple(sorted(const))] * len(table)
        )
        for count in spec.counts:
            qty = spec.aliases.get(count, count)
            vals = table[count].to_numpy(dtype=float)
            gidx = np.empty(len(table), dtype=int)
            for i, key in enumerate(keys):
                cid = (qty, key)
                g = ids.get(cid)
                if g is None:
                    g = len(values)
                    ids[cid] = g
                    values.append(vals[i])
                    thr.append(int(t_row[i]))
                    exact.append(not rmask[i])
                    rbase.append(base if rmask[i] else 0)
                    labels.append(f"{count} at " + ", ".join(f"{k}={v}" for k, v in key))
                    origin.append(name)
                else:
                    old = values[g]
                    if not (
                        (math.isnan(old) and math.isnan(vals[i])) or math.isclose(old, vals[i])
                    ):
                        raise DisclosureError(
                            f"{name}: the cell {labels[g]} also appears in {origin[g]} with a "
                            "different value; tables in a family must be built from the same "
                            "counts."
                        )
                    thr[g] = max(thr[g], int(t_row[i]))
                    if not rmask[i]:
                        exact[g] = True
                    elif not exact[g]:
                        rbase[g] = min(rbase[g], base) if rbase[g] else base
                gidx[i] = g
            appearances.append(_Appearance(name, count, np.arange(len(table)), gidx, rmask.copy()))
            for line in spec.lines:
                others = [d for d in spec.dims if d != line.dim]
                pos = spec.dims.index(line.dim)
                groups: dict[tuple, list[int]] = {}
                for i in range(len(table)):
                    gkey = tuple(dimvals[spec.dims.index(d)][i] for d in others)
                    groups.setdefault(gkey, []).append(i)
                for gkey, rows in groups.items():
                    total_rows = [
                        i
                        for i in rows
                        if line.total is not None and dimvals[pos][i] == _norm(line.total)
                    ]
                    member_rows = [i for i in rows if i not in total_rows]
                    if not member_rows:
                        continue
                    members = gidx[member_rows]
                    if total_rows:
                        tot = int(gidx[total_rows[0]])
                        known = vals[total_rows[0]]
                    else:
                        tot = -1
                        known = float(np.sum(vals[member_rows]))  # NaN if any member unknown
                    where = ", ".join(
                        [f"{k}={v}" for k, v in const]
                        + [f"{d}={v}" for d, v in zip(others, gkey, strict=True)]
                    )
                    where = f"{count} along {line.dim}" + (f" for {where}" if where else "")
                    lines.append(_LineRec(name, where, members, tot, known, t))

    gidx_of = {(app.table, app.count): app.gidx for app in appearances}

    def new_cell(label: str) -> int:
        values.append(math.nan)  # an unknown, non-negative quantity (never published)
        thr.append(0)
        exact.append(False)
        rbase.append(0)
        labels.append(label)
        origin.append("margin")
        return len(values) - 1

    for margin in margins:
        lines.extend(
            _margin_lines(
                margin,
                tables,
                specs,
                thresholds,
                gidx_of,
                values,
                new_cell,
                context if context is not None else tables,
            )
        )

    return _System(
        values=np.asarray(values, dtype=float),
        threshold=np.asarray(thr, dtype=int),
        exact=np.asarray(exact, dtype=bool),
        round_base=np.asarray(rbase, dtype=int),
        lines=lines,
        appearances=appearances,
        labels=labels,
    )


def _line_sum(sys_: _System, line: _LineRec) -> float:
    if line.total >= 0 and not math.isnan(sys_.values[line.total]):
        return float(sys_.values[line.total])
    return float(line.known_total)


def _primary(sys_: _System, thresholds: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Return (primary mask, required protection width per cell)."""
    v = sys_.values
    margin = int(thresholds["zero_safe_margin"])
    min_line = np.full(sys_.size, np.inf)
    zero_risk = np.zeros(sys_.size, dtype=bool)
    for line in sys_.lines:
        s = _line_sum(sys_, line)
        if math.isnan(s):
            continue
        min_line[line.members] = np.minimum(min_line[line.members], s)
        if 0 < s < margin:
            zero_risk[line.members] = True
    with np.errstate(invalid="ignore"):
        small = (v > 0) & (v < sys_.threshold)
        zeros = (v == 0) & zero_risk
    primary = small | zeros
    required = np.minimum(sys_.threshold.astype(float), min_line)
    return primary, required


def _best_candidate(sys_: _System, cells: Iterable[int], hidden: np.ndarray) -> int | None:
    """Smallest published cell, preferring positive values (hiding a zero protects nothing)."""
    best: tuple[int, float, int] | None = None
    for g in cells:
        g = int(g)
        val = sys_.values[g]
        if hidden[g] or math.isnan(val):
            continue
        key = (0 if val > 0 else 1, val, g)
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


def _heuristic(sys_: _System, hidden: np.ndarray) -> bool:
    """Secondary suppression by line rules, iterated to a fixed point. Returns True if changed."""
    changed_any = False
    v = np.nan_to_num(sys_.values, nan=0.0)
    while True:
        changed = False
        for line in sys_.lines:
            mem_hidden = hidden[line.members]
            if not mem_hidden.any() and not (line.total >= 0 and hidden[line.total]):
                continue
            # A rounded total is only partly known: the attacker check weighs it.
            fuzzy_total = line.total >= 0 and (hidden[line.total] or not sys_.exact[line.total])
            n_hidden = int(mem_hidden.sum()) + int(fuzzy_total)
            total_known = not fuzzy_total
            pick = None
            if n_hidden == 1:
                pick = _best_candidate(sys_, line.members, hidden)
                if pick is None and line.total >= 0:
                    pick = _best_candidate(sys_, [line.total], hidden)
            elif total_known:
                s = _line_sum(sys_, line)
                target = min(line.threshold, s) if not math.isnan(s) else line.threshold
                if v[line.members[mem_hidden]].sum() < target - _TOL:
                    pick = _best_candidate(sys_, line.members, hidden)
            if pick is not None:
                hidden[pick] = True
                changed = changed_any = True
        if not changed:
            return changed_any


def _components(sys_: _System, variable: np.ndarray) -> list[np.ndarray]:
    parent = np.arange(sys_.size)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return int(x)

    for cells in sys_.line_index()[0]:
        cells = cells[variable[cells]]
        if len(cells) > 1:
            root = find(int(cells[0]))
            for c in cells[1:]:
                r = find(int(c))
                if r != root:
                    parent[r] = root
    roots: dict[int, list[int]] = {}
    for g in np.flatnonzero(variable):
        roots.setdefault(find(int(g)), []).append(int(g))
    return [np.asarray(c) for c in roots.values()]


def _component_lp(
    sys_: _System, hidden: np.ndarray, comp: np.ndarray
) -> tuple[Any, np.ndarray | None, list[tuple[float, float | None]]]:
    """Equality system and bounds over the variables of one component."""
    pos = {int(g): k for k, g in enumerate(comp)}
    in_comp = np.zeros(sys_.size, dtype=bool)
    in_comp[comp] = True
    r_idx: list[int] = []
    c_idx: list[int] = []
    data: list[float] = []
    rhs: list[float] = []
    cells_of, lines_at = sys_.line_index()
    # the lines holding a cell of the component, in line order
    touching = sorted({k for g in comp.tolist() for k in lines_at[g]})
    for k_line in touching:
        line, cells = sys_.lines[k_line], cells_of[k_line]
        if line.total < 0:
            if math.isnan(line.known_total):
                continue
            b = line.known_total
        else:
            b = 0.0
        coef = np.ones(len(cells))
        if line.total >= 0:
            coef[-1] = -1.0
        k = len(rhs)
        for c, a in zip(cells, coef, strict=True):
            c = int(c)
            if in_comp[c]:
                r_idx.append(k)
                c_idx.append(pos[c])
                data.append(a)
            else:  # published exactly (variables of other components never share a line)
                b -= a * sys_.values[c]
        rhs.append(b)
    bounds: list[tuple[float, float | None]] = []
    for g in comp:
        base = sys_.round_base[g]
        if hidden[g] or math.isnan(sys_.values[g]) or base == 0:
            bounds.append((0.0, None))
        else:
            r = math.floor(sys_.values[g] / base + 0.5) * base
            bounds.append((max(0.0, math.ceil(r - base / 2)), math.ceil(r + base / 2) - 1.0))
    if not rhs:
        return None, None, bounds
    from scipy import sparse  # here: builds that only read the store never load scipy

    a_eq = sparse.csr_array((data, (r_idx, c_idx)), shape=(len(rhs), len(comp)))
    return a_eq, np.asarray(rhs), bounds


def _solve(c: np.ndarray, a_eq: Any, b_eq: Any, bounds: list) -> Any:
    from scipy.optimize import linprog

    return _checked(linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs"))


def _checked(res: Any) -> Any:
    if res.status == 2:
        raise DisclosureError(
            "The published margins are inconsistent with the cells (infeasible system); "
            "check that totals were computed from the same counts."
        )
    return res


@dataclass(frozen=True)
class _LpResult:
    """What :func:`_check_component` reads of a solve: linprog's ``status`` and ``x``."""

    status: int
    x: np.ndarray | None


def _solver(a_eq: Any, b_eq: Any, bounds: list) -> Callable[[np.ndarray], Any]:
    """``solve(c)`` for one component's LP: :func:`_solve` without its per-call setup.

    ``linprog(method="highs")`` cleans and converts the constraints and sets HiGHS up again
    on every call, which cost more than the solves themselves (hundreds of small LPs per
    build). Here that is done once per component with scipy's own steps, and each solve
    hands HiGHS the same model, options and costs as ``linprog`` would, in a fresh solver,
    and classifies the result with linprog's own check: the same status and ``x`` as
    :func:`_solve` (tests/unit/test_disclosure_lp.py). Falls back to :func:`_solve` where
    scipy's internals are not as expected.
    """
    try:
        prepared = _PreparedLp(a_eq, b_eq, bounds)
    except Exception:  # noqa: BLE001 - another scipy: linprog as always
        return lambda c: _solve(c, a_eq, b_eq, bounds)
    return lambda c: _checked(prepared.solve(c))


class _PreparedLp:
    """One equality-constrained LP as ``linprog(method="highs")`` hands it to HiGHS.

    Mirrors scipy 1.16's ``linprog`` -> ``_linprog_highs`` -> ``_highs_wrapper`` for
    ``A_eq``, ``b_eq``, ``bounds`` and default options, with the objective set per solve.
    """

    def __init__(self, a_eq: Any, b_eq: Any, bounds: list) -> None:
        import scipy.optimize._highspy._core as highs_core
        from scipy.optimize._linprog_highs import _replace_inf
        from scipy.optimize._linprog_util import _clean_inputs, _LPProblem
        from scipy.sparse import csc_array, issparse, vstack

        if a_eq is None:
            raise ValueError("no equality constraints: linprog handles it")
        n = a_eq.shape[1]
        lp = _clean_inputs(_LPProblem(np.zeros(n), None, None, a_eq, b_eq, bounds, None, None))
        _c, a_ub, b_ub, a_eq_c, b_eq_c, clean_bounds, _x0, _int = lp
        lb, ub = clean_bounds.T.copy()
        with np.errstate(invalid="ignore"):
            lhs_ub = -np.ones_like(b_ub) * np.inf
        lhs = np.concatenate((lhs_ub, b_eq_c))
        rhs = np.concatenate((b_ub, b_eq_c))
        if issparse(a_ub) or issparse(a_eq_c):
            matrix = vstack((a_ub, a_eq_c))
        else:
            matrix = np.vstack((a_ub, a_eq_c))
        matrix = csc_array(matrix)
        self._h = highs_core
        self._bounds = clean_bounds
        self._n_ub = len(b_ub)
        rhs, lhs, lb, ub = _replace_inf(rhs), _replace_inf(lhs), _replace_inf(lb), _replace_inf(ub)
        model = highs_core.HighsLp()
        model.num_col_ = n
        model.num_row_ = rhs.size
        model.a_matrix_.num_col_ = n
        model.a_matrix_.num_row_ = rhs.size
        model.a_matrix_.format_ = highs_core.MatrixFormat.kColwise
        model.col_lower_ = lb
        model.col_upper_ = ub
        model.row_lower_ = lhs
        model.row_upper_ = rhs
        model.a_matrix_.start_ = matrix.indptr
        model.a_matrix_.index_ = matrix.indices
        model.a_matrix_.value_ = matrix.data
        self._model = model
        self._rhs_replaced = rhs
        self._options = _highs_options()

    def solve(self, c: np.ndarray) -> _LpResult:
        """Minimise ``c @ x``: linprog's ``status`` and ``x`` for this objective."""
        from scipy.optimize._linprog_highs import _highs_to_scipy_status_message
        from scipy.optimize._linprog_util import _check_result

        h = self._h
        cost = np.array(c, dtype=np.float64, copy=True).squeeze()
        if cost.size == 1:  # one variable: a 1-D array, as linprog makes it
            cost = cost.reshape(-1)
        self._model.col_cost_ = cost
        highs = h._Highs()
        x = fun = slack = con = None
        if highs.passOptions(self._options) == h.HighsStatus.kError:
            status = highs.getModelStatus()
        elif highs.passModel(self._model) == h.HighsStatus.kError:
            status = h.HighsModelStatus.kModelError
        elif highs.run() == h.HighsStatus.kError:
            status = highs.getModelStatus()
        else:
            status = highs.getModelStatus()
            if status == h.HighsModelStatus.kOptimal:
                solution = highs.getSolution()
                x = np.array(solution.col_value)
                fun = highs.getInfo().objective_function_value
                residual = self._rhs_replaced - solution.row_value
                slack = np.array(residual[: self._n_ub])
                con = np.array(residual[self._n_ub :])
        code, message = _highs_to_scipy_status_message(status, "")
        code, _message = _check_result(x, fun, code, slack, con, self._bounds, 1e-9, message, None)
        return _LpResult(int(code), x)


def _highs_options() -> Any:
    """HiGHS options as ``linprog(method="highs")`` sets them by default (made once)."""
    global _OPTIONS
    if _OPTIONS is None:
        import scipy.optimize._highspy._core as highs_core
        from scipy.optimize._highspy._core import simplex_constants

        options = highs_core.HighsOptions()
        options.presolve = "on"
        options.highs_debug_level = highs_core.HighsDebugLevel.kHighsDebugLevelNone
        options.log_to_console = False
        options.output_flag = False
        options.simplex_strategy = simplex_constants.SimplexStrategy.kSimplexStrategyDual
        _OPTIONS = options
    return _OPTIONS


_OPTIONS: Any = None


def _check_component(
    sys_: _System,
    hidden: np.ndarray,
    comp: np.ndarray,
    targets: list[int],
    required: np.ndarray,
    seed: int = 0,
) -> list[int]:
    """Return the targets whose LP interval is narrower than required.

    Every LP solution is a feasible table, so it widens the observed range of *every* target;
    a target whose observed range already reaches its required width needs no LP of its own.
    A few minimisations with random positive weights certify most cells cheaply.
    """
    a_eq, b_eq, bounds = _component_lp(sys_, hidden, comp)
    solve = _solver(a_eq, b_eq, bounds)
    pos = {int(g): k for k, g in enumerate(comp)}
    t_pos = np.array([pos[g] for g in targets])
    need = required[targets] - _TOL
    truth = sys_.values[comp]
    lo = truth[t_pos].copy()
    hi = truth[t_pos].copy()

    def observe(x: np.ndarray) -> None:
        np.minimum(lo, x[t_pos], out=lo)
        np.maximum(hi, x[t_pos], out=hi)

    rng = np.random.default_rng(seed)
    # 1. one table with every target as low as possible (usually all at zero);
    c = np.zeros(len(comp))
    c[t_pos] = 1.0
    res = solve(c)
    if res.status == 0:
        observe(res.x)
    # 2. then push the uncertified targets up together, with random weights, while it pays.
    for _ in range(20):
        todo = np.flatnonzero(hi - lo < need)
        if len(todo) == 0:
            break
        c = np.zeros(len(comp))
        c[t_pos[todo]] = -rng.uniform(0.5, 1.5, len(todo))
        res = solve(c)
        if res.status != 0:
            break
        observe(res.x)
        if (hi[todo] - lo[todo] >= need[todo]).sum() == 0:
            break
    failing = []
    for k, g in enumerate(targets):
        if hi[k] - lo[k] >= need[k]:
            continue
        c = np.zeros(len(comp))
        c[t_pos[k]] = 1.0
        for sign in (-1.0, 1.0):
            if hi[k] - lo[k] >= need[k]:
                break
            res = solve(sign * c)
            if res.status == 3 and sign < 0:  # unbounded above
                hi[k] = math.inf
            elif res.status == 0:
                observe(res.x)
        if hi[k] - lo[k] < need[k]:
            failing.append(g)
    return failing


def _attack(
    sys_: _System,
    hidden: np.ndarray,
    primary: np.ndarray,
    required: np.ndarray,
    cache: dict[tuple[int, ...], list[int]] | None = None,
) -> list[int]:
    """Return the primary cells an attacker can pin to a too-narrow interval."""
    variable = hidden | (~sys_.exact & (sys_.round_base > 0)) | np.isnan(sys_.values)
    failing: list[int] = []
    for comp in _components(sys_, variable):
        targets = [int(g) for g in comp if primary[g] and hidden[g]]
        if not targets:
            continue
        key = tuple(int(g) for g in comp) + tuple(int(h) for h in hidden[comp])
        if cache is not None and key in cache:
            failing.extend(cache[key])
            continue
        bad = _check_component(sys_, hidden, comp, targets, required)
        if cache is not None:
            cache[key] = bad
        failing.extend(bad)
    return failing


def _lines_of(sys_: _System) -> dict[int, list[_LineRec]]:
    out: dict[int, list[_LineRec]] = {}
    for line in sys_.lines:
        for g in line.members:
            out.setdefault(int(g), []).append(line)
        if line.total >= 0:
            out.setdefault(line.total, []).append(line)
    return out


def _suppress(sys_: _System, thresholds: Mapping[str, int]) -> np.ndarray:
    primary, required = _primary(sys_, thresholds)
    hidden = primary.copy()
    lines_of = _lines_of(sys_)
    cache: dict[tuple[int, ...], list[int]] = {}
    while True:
        _heuristic(sys_, hidden)
        failing = _attack(sys_, hidden, primary, required, cache)
        if not failing:
            return hidden
        added = False
        for g in failing:
            pick = _widen(sys_, hidden, g, lines_of)
            if pick is not None:
                hidden[pick] = True
                added = True
        if not added:
            _raise_recoverable(sys_, failing, hidden)


def _widen(
    sys_: _System, hidden: np.ndarray, g: int, lines_of: dict[int, list[_LineRec]]
) -> int | None:
    """Choose a published cell to hide so that cell ``g`` gains room.

    First the smallest published cell in ``g``'s own lines (members before totals), then,
    moving outwards through lines that share hidden cells, the nearest published cell.
    """
    seen_cells = {g}
    frontier = [g]
    seen_lines: set[int] = set()
    first_total: int | None = None
    while frontier:
        lines = [ln for c in frontier for ln in lines_of.get(c, []) if id(ln) not in seen_lines]
        seen_lines.update(id(ln) for ln in lines)
        members = [int(m) for ln in lines for m in ln.members]
        pick = _best_candidate(sys_, members, hidden)
        if pick is not None:
            return pick
        if first_total is None:
            first_total = _best_candidate(
                sys_, [ln.total for ln in lines if ln.total >= 0], hidden
            )
        nxt = []
        for ln in lines:
            cells = [int(m) for m in ln.members] + ([ln.total] if ln.total >= 0 else [])
            for c in cells:
                if c not in seen_cells and hidden[c]:
                    seen_cells.add(c)
                    nxt.append(c)
        frontier = nxt
    return first_total


def _raise_recoverable(
    sys_: _System, failing: Sequence[int], hidden: np.ndarray | None = None
) -> None:
    """Stop: a hidden cell stays recoverable and no published cell is left to hide beside it.

    Secondary suppression widens every recoverable cell until the attacker check passes, so
    this is reached only when the model itself pins the cell (a defect in the registry, e.g. a
    line whose total is taken as published elsewhere although it is a cell that can be hidden)
    or, from :func:`assert_family_not_recoverable`, when tables were published unprotected.
    """
    lines_of = _lines_of(sys_)
    g = int(failing[0])
    lines = lines_of.get(g, [])
    where = "; ".join(f"{ln.table}: {ln.where}" for ln in lines[:3]) or sys_.labels[g]
    if hidden is None:
        raise DisclosureError(
            f"A suppressed cell ({sys_.labels[g]}) can be worked out to within fewer than its "
            f"threshold from the published totals ({where}). {len(failing)} cell(s) affected. "
            "Protect the tables together with cwi.disclosure.protect_family (the build does, "
            "through cwi.disclosure.protect_all) before publishing them."
        )
    # The line most likely to pin a cell: one whose total is taken as known while every other
    # cell is hidden already, the fewest members first (a one-cell line equals its total).
    pinned = sorted(
        (
            (len(ln.members), k, ln)
            for k, f in enumerate(failing)
            for ln in lines_of.get(int(f), [])
            if ln.total < 0 and all(hidden[m] for m in ln.members if int(m) != int(f))
        ),
        key=lambda t: (t[0], t[1]),
    )
    fixed = [t[2] for t in pinned]
    why = (
        f" The line '{fixed[0].table}: {fixed[0].where}' is modelled with a total published "
        "elsewhere and known, and every other cell of it is already hidden, so hiding more "
        "cannot help: that total must be declared as the cell it is (a Margin in "
        "cwi/disclosure/registry.py)."
        if fixed
        else ""
    )
    raise DisclosureError(
        f"Secondary suppression found no further cell to hide that protects {sys_.labels[g]} "
        f"(recoverable from {where}; {len(failing)} cell(s) affected).{why} This is a defect "
        "in the disclosure rules, not in your data or settings: nothing was published. Please "
        "report it with this message; meanwhile a build with a different release.la_list "
        "(e.g. all LAs of the region) avoids it."
    )


def _apply(
    tables: Mapping[str, pd.DataFrame],
    specs: Mapping[str, TableSpec],
    thresholds: Mapping[str, int],
    sys_: _System,
    hidden: np.ndarray,
) -> dict[str, pd.DataFrame]:
    out = {name: table.copy() for name, table in tables.items()}
    notes: dict[str, list[list[str]]] = {}
    for name, table in out.items():
        if NOTE in table.columns:
            notes[name] = [
                []
                if (isinstance(x, float) and math.isnan(x)) or x is None or x == ""
                else str(x).split()
                for x in table[NOTE]
            ]
        else:
            notes[name] = [[] for _ in range(len(table))]
    for app in sys_.appearances:
        table = out[app.table]
        spec = specs[app.table]
        base = spec.rounding_base(thresholds)
        vals = table[app.count].to_numpy(dtype=float).copy()
        hid = hidden[app.gidx]
        vals[hid] = np.nan
        if base is not None:
            rnd = app.rounded & ~hid & ~np.isnan(vals)
            vals[rnd] = np.floor(vals[rnd] / base + 0.5) * base
        table[app.count] = vals
        for dep in spec.dependents.get(app.count, ()):
            col = (
                table[dep].astype(float)
                if pd.api.types.is_numeric_dtype(table[dep])
                else table[dep]
            )
            col = col.mask(pd.Series(hid, index=table.index))
            table[dep] = col
        row_notes = notes[app.table]
        for i in np.flatnonzero(hid):
            if CONFIDENTIAL not in row_notes[i]:
                row_notes[i].append(CONFIDENTIAL)
        orig_nan = np.isnan(tables[app.table][app.count].to_numpy(dtype=float))
        for i in np.flatnonzero(orig_nan):
            if not any(s in row_notes[i] for s in SYMBOLS):
                row_notes[i].append("[x]")
    for name, table in out.items():
        table[NOTE] = [" ".join(n) for n in notes[name]]
    return out


def _as_specs(specs: Mapping[str, TableSpec] | Iterable[TableSpec]) -> dict[str, TableSpec]:
    if isinstance(specs, Mapping):
        return dict(specs)
    return {s.name: s for s in specs}


def protect_family(
    tables: Mapping[str, pd.DataFrame],
    specs: Mapping[str, TableSpec] | Iterable[TableSpec],
    thresholds: Mapping[str, int],
    margins: Sequence[Margin] = (),
    context: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, pd.DataFrame]:
    """Protect several tables together, hiding a cell everywhere it appears.

    Cells are matched across tables by count column and dimension values (plus each spec's
    ``constants`` and ``aliases``), e.g. an LA's decile count in its profile and in the regional
    LA x decile table. Suppression and the attacker check run over the union of all lines, so
    a reader combining the tables cannot recover a hidden cell either.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Tables keyed by spec name.
    specs : mapping of str to TableSpec, or iterable of TableSpec
        One spec per table.
    thresholds : mapping
        ``Settings.disclosure``: ``la_total_min``, ``crosstab_min``, ``zero_safe_margin`` and
        any rounding base a spec names.
    margins : sequence of Margin
        Sums across tables (e.g. quintile = two deciles); each is one more additive line.
    context : mapping, optional
        Every table of the build, for the margins' ``derive`` functions (defaults to
        ``tables``).

    Returns
    -------
    dict of str to pandas.DataFrame
        Each table with its input columns (hidden counts and dependents set to NaN, rounded
        counts rounded) plus a ``note`` column of shorthand symbols.

    Raises
    ------
    DisclosureError
        If a table holds LSOA/postcode/id/date-of-birth columns, does not match its spec,
        disagrees with another table about a shared cell, or cannot be protected.
    """
    spec_map = _as_specs(specs)
    missing = [n for n in tables if n not in spec_map]
    if missing:
        raise DisclosureError(f"No TableSpec for table(s) {missing}.")
    sys_ = _build_system(tables, spec_map, thresholds, margins, context)
    hidden = _suppress(sys_, thresholds)
    return _apply(tables, spec_map, thresholds, sys_, hidden)


def protect(table: pd.DataFrame, spec: TableSpec, thresholds: Mapping[str, int]) -> pd.DataFrame:
    """Protect one table: primary and secondary suppression, rounding, notes.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per cell: the spec's dimension columns, count column(s), dependents and any
        label columns (carried through unchanged).
    spec : TableSpec
        What the counts, dimensions and additive lines are.
    thresholds : mapping
        ``Settings.disclosure``.

    Returns
    -------
    pandas.DataFrame
        Same columns plus ``note``; see :func:`protect_family`.

    Raises
    ------
    DisclosureError
        See :func:`protect_family`; in particular for any ``lsoa_code`` column.
    """
    return protect_family({spec.name: table}, {spec.name: spec}, thresholds)[spec.name]


# ---- the build-time attacker check ---------------------------------------------------------


def assert_family_not_recoverable(
    originals: Mapping[str, pd.DataFrame],
    protected: Mapping[str, pd.DataFrame],
    specs: Mapping[str, TableSpec] | Iterable[TableSpec],
    thresholds: Mapping[str, int],
    margins: Sequence[Margin] = (),
    context: Mapping[str, pd.DataFrame] | None = None,
) -> None:
    """Fail if a reader of all the published tables can pin down any confidential cell.

    Parameters
    ----------
    originals, protected : mapping of str to pandas.DataFrame
        The tables before and after :func:`protect_family` (same row order).
    specs : mapping or iterable of TableSpec
        The specs used.
    thresholds : mapping
        ``Settings.disclosure``.
    margins, context
        As for :func:`protect_family`.

    Raises
    ------
    DisclosureError
        Naming the table and line of a cell whose linear-programming bounds, given every
        published value, are narrower than ``min(threshold, smallest line total)``; or a
        published count that is itself confidential.
    """
    spec_map = _as_specs(specs)
    sys_ = _build_system(originals, spec_map, thresholds, margins, context)
    hidden = np.zeros(sys_.size, dtype=bool)
    for app in sys_.appearances:
        pub = protected[app.table][app.count].to_numpy(dtype=float)
        if len(pub) != len(app.gidx):
            raise DisclosureError(f"{app.table}: protected table has a different number of rows.")
        hidden[app.gidx[np.isnan(pub)]] = True
    primary, required = _primary(sys_, thresholds)
    shown = primary & ~hidden
    if shown.any():
        g = int(np.flatnonzero(shown)[0])
        raise DisclosureError(
            f"A confidential count is published unsuppressed ({sys_.labels[g]}); "
            "run it through cwi.disclosure.protect."
        )
    failing = _attack(sys_, hidden, primary, required)
    if failing:
        _raise_recoverable(sys_, failing)


def assert_not_recoverable(
    original: pd.DataFrame,
    protected: pd.DataFrame,
    spec: TableSpec,
    thresholds: Mapping[str, int] | None = None,
) -> None:
    """Fail if a reader can pin down a suppressed cell of one table from its published margins.

    Parameters
    ----------
    original, protected : pandas.DataFrame
        The table before and after :func:`protect`.
    spec : TableSpec
        The spec used.
    thresholds : mapping, optional
        ``Settings.disclosure``; read from the settings file when omitted.

    Raises
    ------
    DisclosureError
        See :func:`assert_family_not_recoverable`.
    """
    if thresholds is None:
        from cwi.config import load_settings

        thresholds = load_settings().disclosure
    assert_family_not_recoverable(
        {spec.name: original}, {spec.name: protected}, {spec.name: spec}, thresholds
    )
