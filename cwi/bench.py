"""``cwi bench``: performance figures printed, never asserted (speed goals live here, not in tests)."""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cwi.config import Settings

console = Console()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(label: str, func: Callable[[], Any], rows: list[tuple[str, str, str]]) -> Any:
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


def run_bench(settings: Settings, quick: bool = False) -> list[tuple[str, str, str]]:
    """Time demo generation, postcode linkage, the models and the build stages; print a table."""
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        from cwi.demo import generate

        _timed(
            "demo region (15 LAs, 3 years)",
            lambda: generate(Path(tmp) / "demo", seed=1, n_las=15, years=[2021, 2022, 2023]),
            rows,
        )
    from cwi.ingest import bench_linkage

    n = 100_000 if quick else 1_000_000
    m = 270_000 if quick else 2_700_000
    result = _timed(f"link {n:,} records to {m:,} postcodes", lambda: bench_linkage(n, m), rows)
    if isinstance(result, dict):
        rows.append(
            ("  linkage detail", "", ", ".join(f"{k}={v}" for k, v in result.items())[:160])
        )
    from cwi.analysis import bench_models

    n_lsoa = 3_300 if quick else 33_000
    result = _timed(f"Q1-Q4 models, {n_lsoa:,} LSOAs", lambda: bench_models(n_lsoa=n_lsoa), rows)
    if isinstance(result, dict):
        rows.append(
            ("  model detail", "", _detail(result, ("models_total", "build_cube", "cells")))
        )
    table = Table(title="cwi bench")
    for col in ("what", "time", "detail"):
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return rows
