"""``cwi bench``: performance figures printed, never asserted (speed goals live here, not in tests).

Sections (``cwi bench --only a,b``): ``demo`` (generate the 15-LA region), ``linkage`` (1 million
records against a national-size postcode directory), ``models`` (Q1-Q4 on a 33,000-LSOA cube),
``build`` (the whole demo build, each stage's time and peak memory), ``naive`` (the same LA pages
one fresh process per LA, and one ``quarto render -P`` per LA where Quarto and Jupyter exist),
``national`` (153 synthetic LAs, ~33,000 LSOAs; slow, opt-in), ``public`` (the public-data
edition alone, ``cwi build --public``: every English LA 2013-2024 from published tables).
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cwi.config import Settings

console = Console()
SECTIONS = ("demo", "linkage", "models", "build", "naive", "public")
GOALS = {
    "build": "full 15-LA demo build, inputs cached <= 30 s",
    "per_la": "marginal web page + PDF per LA <= 0.4 s",
    "naive_ratio": "naive / ours >= 15 for 15 LAs",
    "national": "153-LA build <= 90 s, peak <= 3 GB",
    "public": "public edition (every English LA, 12 years) in minutes on 2 cores",
}

Row = tuple[str, str, str]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(label: str, func: Callable[[], Any], rows: list[Row]) -> Any:
    start = time.perf_counter()
    try:
        result = func()
    except Exception as exc:  # a benchmark that fails is reported, the others still run
        rows.append((label, "failed", f"{type(exc).__name__}: {exc}"[:120]))
        return None
    rows.append(
        (label, f"{time.perf_counter() - start:.2f} s", f"peak RSS {_peak_rss_mb():,.0f} MB")
    )
    return result


def _detail(result: dict[str, Any], keys: tuple[str, ...]) -> str:
    """The figures that answer the speed goals, rounded."""
    parts = []
    for key in keys:
        if key in result:
            value = result[key]
            parts.append(f"{key}={value:,.2f}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(parts)


def _build_rows(label: str, result: dict[str, Any], rows: list[Row]) -> None:
    if result["returncode"] != 0:
        rows.append((label, "failed", result.get("stderr_tail", "")[-150:]))
        return
    rows.append((label, f"{result['wall_s']:.2f} s", f"peak {result['peak_total_mb']:,} MB"))
    for stage, seconds in result["stages"].items():
        peak = result["peak_mb"].get(stage)
        rows.append((f"  {stage}", f"{seconds:.2f} s", f"peak {peak:,} MB" if peak else ""))


def bench_build_section(settings: Settings, rows: list[Row], naive: bool) -> dict[str, Any]:
    """The whole demo build (inputs cached), then the naive per-LA baselines."""
    from benchmarks.build import measure_build, naive_per_la, output_override, quarto_per_la
    from cwi.inputs import ensure_demo_inputs

    out: dict[str, Any] = {}
    ensure_demo_inputs(settings)  # inputs cached: generation is timed in its own section
    with tempfile.TemporaryDirectory(prefix="cwi-bench-") as tmp:
        override = output_override(Path(tmp))
        result = measure_build(override)
        out["build"] = result
        _build_rows("demo build, inputs cached (cwi build)", result, rows)
        if result["returncode"] != 0:
            return out
        from cwi.config import load_settings
        from cwi.store import ResultsStore

        built = load_settings(override)
        codes = ResultsStore(built).profile_codes()
        stages = result["stages"]
        la_work = sum(stages.get(s, 0.0) for s in ("pages", "site", "pdf"))
        ours = la_work / max(len(codes), 1)
        rows.append(
            (
                f"  per LA, ours ({len(codes)} LAs)",
                f"{ours:.2f} s",
                "(pages + site + pdf stages) / LAs, report included",
            )
        )
        again = measure_build(override, ("build", "--stages", "pages,site,pdf"))
        out["rebuild"] = again
        _build_rows("rebuild, nothing changed (pages, site, pdf: render caches)", again, rows)
        if not naive:
            return out
        n = naive_per_la(override, codes, settings.root)
        out["naive"] = n
        if "per_la_s" in n:
            rows.append(
                (
                    f"naive: fresh process per LA ({n['n']} LAs)",
                    f"{n['per_la_s']:.2f} s/LA",
                    f"total {n['total_s']:.1f} s; naive / ours = {n['per_la_s'] / ours:.1f}",
                )
            )
        else:
            rows.append(("naive: fresh process per LA", "failed", str(n.get("error"))[:150]))
        q = quarto_per_la(override, codes, Path(tmp) / "quarto")
        out["quarto"] = q
        if "per_la_s" in q:
            rows.append(
                (
                    f"naive: quarto render -P per LA ({q['n']} LAs, HTML only)",
                    f"{q['per_la_s']:.2f} s/LA",
                    f"total {q['total_s']:.1f} s; naive / ours = {q['per_la_s'] / ours:.1f}",
                )
            )
        else:
            rows.append(
                ("naive: quarto render -P per LA", "skipped", str(q.get("skipped", q))[:150])
            )
    return out


def bench_public_section(rows: list[Row]) -> None:
    """The public-data edition alone (``cwi build --public``), outputs in a temporary folder."""
    from benchmarks.build import measure_build, output_override
    from cwi.config import load_settings
    from cwi.public.build import public_available

    if not public_available(load_settings().public_data_dir):
        rows.append(("public edition (cwi build --public)", "skipped", "no public data folder"))
        return
    with tempfile.TemporaryDirectory(prefix="cwi-bench-public-") as tmp:
        override = output_override(Path(tmp))
        _build_rows(
            "public edition, every English LA 2013-2024 (cwi build --public)",
            measure_build(override, ("build", "--public")),
            rows,
        )


def bench_national_section(rows: list[Row]) -> None:
    """153 synthetic LAs, ~33,000 LSOAs: generate, then build (site and PDFs included)."""
    from benchmarks.build import measure_build, output_override
    from cwi.demo import generate

    with tempfile.TemporaryDirectory(prefix="cwi-bench-national-") as tmp:
        demo = Path(tmp) / "demo"
        _timed(
            "national demo region (153 LAs, 1 year)",
            lambda: generate(demo, seed=1, n_las=153, years=[2023], national=True),
            rows,
        )
        override = output_override(
            Path(tmp),
            {
                "data": {"demo_dir": str(demo)},
                "release": {"years": [2023], "main_year": 2023},
                "demo": {"n_las": 153, "years": [2023], "seed": 1},
            },
        )
        _build_rows("national build (153 LAs)", measure_build(override), rows)


def run_bench(
    settings: Settings, quick: bool = False, only: Iterable[str] | None = None
) -> list[Row]:
    """Run the chosen sections (default: all but ``national``) and print one table."""
    wanted = set(only) if only else set(SECTIONS)
    rows: list[Row] = []
    if "demo" in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            from cwi.demo import generate

            _timed(
                "demo region (15 LAs, 3 years)",
                lambda: generate(Path(tmp) / "demo", seed=1, n_las=15, years=[2021, 2022, 2023]),
                rows,
            )
    if "linkage" in wanted:
        from benchmarks.linkage import bench_linkage

        n = 100_000 if quick else 1_000_000
        m = 270_000 if quick else 2_700_000
        result = _timed(
            f"link {n:,} records to {m:,} postcodes", lambda: bench_linkage(n, m), rows
        )
        if isinstance(result, dict):
            rows.append(
                ("  linkage detail", "", ", ".join(f"{k}={v}" for k, v in result.items())[:160])
            )
    if "models" in wanted:
        from benchmarks.models import bench_models

        n_lsoa = 3_300 if quick else 33_000
        result = _timed(
            f"Q1-Q4 models, {n_lsoa:,} LSOAs", lambda: bench_models(n_lsoa=n_lsoa), rows
        )
        if isinstance(result, dict):
            rows.append(
                ("  model detail", "", _detail(result, ("models_total", "build_cube", "cells")))
            )
    if wanted & {"build", "naive"}:
        bench_build_section(settings, rows, naive="naive" in wanted)
    if "public" in wanted:
        bench_public_section(rows)
    if "national" in wanted:
        bench_national_section(rows)
    table = Table(title="cwi bench (goals: " + "; ".join(GOALS.values()) + ")")
    for col in ("what", "time", "detail"):
        table.add_column(col)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)
    return rows
