"""Draw every LA's profile charts (in worker processes) and return their words and paths."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cwi.analysis.funnels import overdispersed_ratio_limits, overdispersion
from cwi.config import Settings
from cwi.io import worker_pool
from cwi.profiles.model import FigureRef, LaProfile
from cwi.profiles.sentences import (
    decile_title,
    funnel_title,
    gradient_phrase,
    spine_title,
    trend_direction,
    trend_title,
)
from cwi.schemas import MEASURES

if TYPE_CHECKING:
    from cwi.profiles.build import ProfileTables


def gradient_ends(frame: pd.DataFrame, measure: str = "CLA") -> tuple[float | None, float | None]:
    """Rates of the most and the least deprived deciles with a published rate (one measure).

    Deciles with a hidden rate, or without children (where a population is given), are
    skipped; fewer than two published deciles give ``(None, None)``.
    """
    cla = frame[frame["measure"] == measure].dropna(subset=["rate"]).sort_values("imd_decile")
    if "population" in cla.columns:
        cla = cla[cla["population"] > 0]
    if len(cla) < 2:
        return None, None
    return float(cla["rate"].iloc[0]), float(cla["rate"].iloc[-1])


def funnel_inputs(standardised: pd.DataFrame, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points (every LA's O/E) and overdispersion-adjusted limits per measure, once per build."""
    if standardised.empty:
        return pd.DataFrame(columns=["la_code", "measure", "expected", "estimate"]), pd.DataFrame()
    sr = standardised[standardised["year"] == year]
    points = sr[["la_code", "measure", "expected", "estimate"]].copy()
    frames = []
    for measure, d in sr.groupby("measure", sort=False):
        od = overdispersion(d["observed"], d["expected"])  # Q3's and the public page's method
        e = d["expected"].dropna()
        e = e[e > 0]
        if e.empty:
            continue
        grid = np.geomspace(e.min() / 1.5, e.max() * 1.5, 120)
        lim = overdispersed_ratio_limits(grid, od["tau2"])
        frames.append(lim.assign(measure=measure, tau2=od["tau2"]))
    limits = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return points, limits


def funnel_positions(points: pd.DataFrame, limits: pd.DataFrame, la_code: str) -> dict[str, str]:
    """Where an LA lies against the adjusted 99.8% limits, per measure."""
    out = {}
    for measure in MEASURES:
        p = points[(points["la_code"] == la_code) & (points["measure"] == measure)]
        lm = limits[limits["measure"] == measure] if len(limits) else limits
        if p.empty or pd.isna(p["estimate"].iloc[0]) or lm.empty:
            out[measure] = "unknown"
            continue
        e, y = float(p["expected"].iloc[0]), float(p["estimate"].iloc[0])
        at = overdispersed_ratio_limits([e], float(lm["tau2"].iloc[0])).iloc[0]
        out[measure] = (
            "above" if y > at["upper_99.8"] else "below" if y < at["lower_99.8"] else "within"
        )
    return out


@dataclass(frozen=True)
class ChartJob:
    """One chart of one LA: what it draws (plain data and its words) and where it goes.

    ``inputs`` are the keyword arguments of the drawing function for ``key`` (see
    :data:`CHARTS`), the output path excluded: everything the picture depends on, so they also
    key the chart cache.
    """

    la_code: str
    key: str
    inputs: dict[str, Any]
    path: Path

    def ref(self, base: Path) -> FigureRef:
        """The figure's reference in the profile (path relative to ``base``, its words)."""
        words = self.inputs
        return FigureRef(
            key=self.key,
            path=self.path.resolve().relative_to(base.resolve()).as_posix(),
            title=words["title"],
            subtitle=words["subtitle"],
            source=words["source"],
            alt=words["alt"],
        )


def _charts() -> dict[str, Callable[..., Any]]:
    import matplotlib.figure  # noqa: F401 - imported once, before any worker is forked
    from matplotlib.backends import backend_agg  # noqa: F401

    from cwi.charts.maps import decile_map
    from cwi.charts.profile import decile_chart, funnel_profile_chart, spine_chart, trend_chart

    return {
        "spine": spine_chart,
        "deciles": decile_chart,
        "funnel": funnel_profile_chart,
        "trend": trend_chart,
        "map": decile_map,
    }


def draw_chart(job: ChartJob) -> Path:
    """Draw one chart to its path (runs in a worker process); return the path."""
    _charts()[job.key](path=job.path, **job.inputs)
    return job.path


def chart_jobs(job: dict[str, Any]) -> list[ChartJob]:
    """The charts of one LA, their data and words, from its profile and the shared data."""
    from cwi.charts.profile import SpineRow

    p = LaProfile.model_validate(job["profile"])
    out: Path = job["out"]
    code, name, region = p.la_code, p.la_name, p.region_name
    measures = [m.measure for m in p.measures]
    jobs: list[ChartJob] = []

    def add(key: str, **inputs: Any) -> None:
        jobs.append(ChartJob(code, key, inputs, out / f"{code}_{key}.png"))

    # Spine: against England where its LA range is known, else against the region's LAs.
    england = all(s.england is not None and s.england_min is not None for s in p.spine)
    rows, directions = [], {}
    region_range = job["region_range"]
    for s, m in zip(p.spine, p.measures, strict=True):
        if england:
            rows.append(SpineRow(s.measure, s.la, s.region, s.england, s.england_min,
                                 s.england_p25, s.england_p75, s.england_max, s.significance))  # fmt: skip
            directions[s.measure] = m.england_direction
        else:
            rr = region_range.get(s.measure, {})
            rows.append(SpineRow(s.measure, s.la, s.region, s.region, rr.get("min"), rr.get("p25"),
                                 rr.get("p75"), rr.get("max"), m.region_direction))  # fmt: skip
            directions[s.measure] = m.region_direction
    reference = "England" if england else "the region"
    n_eng = p.spine[0].n_england_las if p.spine else 0
    add(
        "spine",
        rows=rows,
        range_label=f"Range of {n_eng} English LAs"
        if england
        else f"Range of the region's {p.n_region_las} LAs",
        centre_label="England" if england else "Region",
        la_name=name,
        title=spine_title(directions, reference),
        subtitle=(
            f"Rates per 10,000 children aged 0-17, {name} against "
            + (
                f"England ({p.spine[0].n_england_las} LAs, DfE published rates)"
                if england
                else f"the {region} LAs"
            )
            + f", {p.snapshot}"
        ),
        source=p.source + ("; DfE LA tables (England)" if england else ""),
        alt=(
            f"Spine chart of CIN, CPP and CLA rates. For each measure a bar shows the range of "
            f"{'English' if england else 'regional'} LA rates with {reference} at its centre; "
            f"{name}'s marker shows: {spine_title(directions, reference)}."
        ),
    )

    la_dec, reg_dec = job["la_deciles"], job["region_deciles"]

    # Describe the first of CLA, CPP, CIN whose rates the LA publishes in two deciles or more.
    gm = next((m for m in ("CLA", "CPP", "CIN") if gradient_ends(la_dec, m)[0] is not None), "CLA")
    la_phrase = gradient_phrase(*gradient_ends(la_dec, gm))
    reg_phrase = gradient_phrase(*gradient_ends(reg_dec, gm))
    add(
        "deciles", la=la_dec, region=reg_dec,
        la_name=name, region_name=region, measures=measures,
        title=decile_title(name, la_phrase, reg_phrase, gm),
        subtitle=f"Rate per 10,000 children aged 0-17 by IMD decile, {name} and {region}, {p.snapshot}",
        source=p.source,
        alt=(
            f"Charts of CIN, CPP and CLA rates by deprivation decile for {name} (points with 95% "
            f"intervals) and {region} (line): in {name} {gm} rates {la_phrase}. Deciles not shown are "
            "marked [c] (suppressed), [u] (too few children) or [z] (no such neighbourhoods). "
            "Values are in the table."
        ),
    )  # fmt: skip

    positions = job["funnel_positions"]
    ftitle = funnel_title(name, positions)
    add(
        "funnel", points=job["funnel_points"], limits=job["funnel_limits"],
        la_code=code, la_name=name, measures=measures, title=ftitle,
        subtitle=(
            f"Observed / deprivation-expected children, the {p.n_region_las} LAs of {region}, "
            f"{p.snapshot}; limits allow for the spread between LAs (overdispersion)"
        ),
        source=p.source,
        alt=(
            f"Funnel plots of each LA's observed over expected ratio against its expected count, "
            f"for CIN, CPP and CLA, with {name} highlighted. {ftitle}."
        ),
    )  # fmt: skip

    tr = pd.DataFrame(
        [
            {
                "measure": r.measure,
                "year": r.year,
                "rate": r.rate_value,
                "lower": r.lower_value,
                "upper": r.upper_value,
                "region": r.region_value,
                "dfe": float(r.dfe_rate.replace(",", ""))
                if r.dfe_rate not in ("", "[x]", "[c]")
                else None,
            }
            for r in p.trends
        ]  # fmt: skip
    )
    if len(tr) and tr["year"].nunique() >= 1:
        tr["dfe"] = pd.to_numeric(tr["dfe"], errors="coerce")
        first, last = int(tr["year"].min()), int(tr["year"].max())
        tdirs = {}
        for m in measures:
            d = tr[tr["measure"] == m].sort_values("year")
            if len(d) >= 2:
                a, b = d.iloc[0], d.iloc[-1]
                tdirs[m] = trend_direction(
                    a["rate"], a["lower"], a["upper"], b["rate"], b["lower"], b["upper"]
                )
            else:
                tdirs[m] = "unknown"
        ttitle = trend_title(tdirs, first, last)
        add(
            "trend", trends=tr, la_name=name, region_name=region, measures=measures,
            title=ttitle,
            subtitle=f"Rate per 10,000 children aged 0-17 at 31 March, {name} and {region}, {first} to {last}",
            source=p.source + ("; DfE LA tables" if tr["dfe"].notna().any() else ""),
            alt=f"Line charts of CIN, CPP and CLA rates per year, {first} to {last}, for {name} and {region}: {ttitle}.",
        )  # fmt: skip

    if job.get("areas") is not None:
        areas = job["areas"]
        n1, n = int((areas["imd_decile"] == 1).sum()), len(areas)
        title = (
            f"{n1} of {name}'s {n} neighbourhoods are among the most deprived 10% in England"
            if n1
            else f"None of {name}'s {n} neighbourhoods is among the most deprived 10% in England"
        )
        add(
            "map", areas=areas[["imd_decile", "geometry"]], title=title,
            subtitle=f"IMD{job['vintage']} decile of each neighbourhood (LSOA), {name}",
            source=p.source,
            alt=(
                f"Map of {name}'s {n} neighbourhoods shaded by IMD decile, darkest for the most "
                f"deprived; {n1} are in decile 1. The map shows deprivation only, not children."
            ),
            width=7.0, height=3.3,
        )  # fmt: skip
    return jobs


@dataclass
class DrawReport:
    """What :func:`draw_all` did: charts drawn, copied from the cache, and which were drawn."""

    drawn: list[str] = field(default_factory=list)
    cached: int = 0


def draw_all(
    profiles: Sequence[LaProfile],
    tables: ProfileTables,
    out: Path,
    settings: Settings,
    workers: int = 2,
    report: DrawReport | None = None,
) -> dict[str, dict[str, FigureRef]]:
    """Draw every LA's charts into ``out``; return figure references per LA code.

    A chart whose inputs (data, words) and drawing code are unchanged since a build with the
    same ``build_dir`` is copied from ``<build_dir>/cache/charts/`` instead of drawn; the rest are
    drawn in ``workers`` processes (which die with the build), each handed only the data of the
    charts it draws.
    """
    import shutil

    from cwi.charts.cache import ChartCache, chart_key

    _charts()  # import the drawing code before any worker is forked
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    base = out.parent
    year = tables.year
    dec = tables.deciles[tables.deciles["year"] == year]
    region_dec = dec[dec["area_type"] == "region"]
    points, limits = funnel_inputs(tables.standardised, year)
    area = tables.area[(tables.area["year"] == year) & (tables.area["area_type"] == "la")]
    region_range = {}
    for m, d in area.groupby("measure"):
        r = d["rate"].dropna()
        if len(r):
            region_range[m] = {
                "min": float(r.min()), "p25": float(r.quantile(0.25)),
                "p75": float(r.quantile(0.75)), "max": float(r.max()),
            }  # fmt: skip
    geo = None
    geo_file = settings.results_dir / "geo" / "lsoa_deprivation.parquet"
    if geo_file.is_file():
        import geopandas as gpd

        geo = gpd.read_parquet(geo_file)
    vintage = "" if settings.imd_vintage == "demo" else f" {settings.imd_vintage}"
    jobs: list[ChartJob] = []
    for p in profiles:
        areas = geo[geo["la_code"] == p.la_code] if geo is not None else None
        jobs += chart_jobs(
            {
                "profile": p.model_dump(),
                "out": out,
                "region_range": region_range,
                "la_deciles": dec[(dec["area_type"] == "la") & (dec["area_code"] == p.la_code)],
                "region_deciles": region_dec,
                "funnel_points": points,
                "funnel_limits": limits,
                "funnel_positions": funnel_positions(points, limits, p.la_code),
                "areas": areas if areas is not None and len(areas) else None,
                "vintage": vintage,
            }
        )
    cache = ChartCache(settings.build_dir / "cache" / "charts")
    memo: dict[int, str] = {}  # frames shared by many charts are hashed once
    keys = {j.path: chart_key(j.key, j.inputs, memo) for j in jobs}
    todo = [j for j in jobs if not cache.fetch(keys[j.path], j.path)]
    if workers > 1 and len(todo) > 2:
        # The first LA's charts are drawn here, before the workers are forked: each worker
        # starts with every kind's figure made, its ticks and text laid out and its glyphs
        # rendered (see cwi.charts.figure.reused_figure), instead of each making them again.
        for j in todo:
            if j.la_code == todo[0].la_code:
                draw_chart(j)
        rest = [j for j in todo if j.la_code != todo[0].la_code]
        if rest:
            with worker_pool(min(workers, len(rest))) as pool:  # workers die with the build
                list(pool.map(draw_chart, rest, chunksize=max(1, len(rest) // (4 * workers))))
    else:
        for j in todo:
            draw_chart(j)
    for j in todo:
        cache.store(keys[j.path], j.path)
    cache.save(prune=not settings.la_list)
    if report is not None:
        report.drawn = [j.path.name for j in todo]
        report.cached = len(jobs) - len(todo)
    figures: dict[str, dict[str, FigureRef]] = {p.la_code: {} for p in profiles}
    for j in jobs:
        figures[j.la_code][j.key] = j.ref(base)
    return figures
