"""``cwi bench``: performance figures printed, never asserted (speed goals live here, not in tests).

Sections (``cwi bench --only a,b``; default all but ``national``):

* ``demo`` - generate the 15-LA region;
* ``linkage`` - 1 million records against a national-size postcode directory;
* ``models`` - Q1-Q4 on a 33,000-LSOA cube;
* ``build`` - the 15-LA demo build in a copy of the project: cold, inputs cached (the goal row),
  rebuilt with nothing changed, rebuilt after a one-chapter text edit;
* ``marginal`` - cost of one more LA: our LA outputs for 15 LAs against 5 (and the whole
  inputs-cached build of 15 LAs against 10);
* ``naive`` - the same LA pages one fresh process per LA, and one ``quarto render -P`` per LA
  (where Quarto, Jupyter and papermill exist), each as naive / ours;
* ``national`` - 153 synthetic LAs, ~33,000 LSOAs: demo generation, then the build cold and
  inputs cached (slow, opt-in);
* ``public`` - the public-data edition alone (``cwi build --public``).

Every build runs in a temporary copy of the project (:func:`benchmarks.build.project_copy`), so
the project's own files, outputs and caches are never touched. The figures are printed as a
table with each row's goal and whether it is met, the definitions of the rows below it, and
written as JSON and as the README's Markdown table (``--json``; default
``<build_dir>/bench/bench.json`` and ``bench.md`` beside it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchmarks.scenarios import (
    DEFINITIONS,
    EDIT_CHAPTER,
    OURS_SMALL_N,
    SMALL_N,
    Goal,
    Report,
    Row,
    append_sentence,
    best_run,
    goal_row,
    marginal_or_none,
    markdown_table,
    met_text,
    national_row,
    small_subsets,
)
from cwi.config import Settings, load_settings

console = Console(width=None if Console().is_terminal else 150)  # a log keeps its columns

#: Goals of the earlier issues, kept beside issue 18's (see the README).
OTHER_GOALS = {
    "demo": Goal("<= 15 s", 15.0),
    "linkage": Goal("<= 20 s, <= 3 GB", 20.0),
    "models": Goal("<= 30 s", 30.0),
}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(row_id: str, what: str, func: Callable[[], Any], report: Report) -> Any:
    """Run ``func`` in this process, add a row with its wall time and this process's peak."""
    start = time.perf_counter()
    goal = OTHER_GOALS.get(row_id)
    try:
        result = func()
    except Exception as exc:  # a benchmark that fails is reported, the others still run
        report.rows.append(
            Row(row_id, what, "failed", goal=goal.text if goal else "-", detail=f"{exc}"[:150])
        )
        return None
    seconds = round(time.perf_counter() - start, 2)
    report.rows.append(
        Row(
            row_id,
            what,
            f"{seconds:.2f} s",
            seconds,
            goal.text if goal else "-",
            goal.met(seconds) if goal else None,
            f"peak RSS of cwi bench {_peak_rss_mb():,.0f} MB",
        )
    )
    return result


def _machine() -> dict[str, Any]:
    from cwi.config import ROOT

    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = round(int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "ram_gb": ram,
        "load_start": round(os.getloadavg()[0], 1),
        "commit": commit or "?",
    }


def _build_detail(result: dict[str, Any], cold: dict[str, Any] | None = None) -> str:
    """The stage times that explain a build's figure: the slowest stages and the ingest."""
    if result.get("returncode") != 0:
        return result.get("stderr_tail", "")[-200:]
    stages = dict(result["stages"])
    parts = []
    if cold is not None and "ingest" in stages:  # was the ingest reused?
        was = cold.get("stages", {}).get("ingest")
        now = stages.pop("ingest")
        parts.append(f"ingest {now:.1f} s (cold {was:.1f} s)" if was else f"ingest {now:.1f} s")
    top = sorted(stages.items(), key=lambda kv: -kv[1])[:3]
    parts += [f"{k} {v:.1f} s" for k, v in top]
    if result.get("skipped"):
        parts.append("skipped as up to date: " + ", ".join(result["skipped"]))
    parts.append(f"peak {result['peak_total_mb']:,} MB")
    return "; ".join(p for p in parts if p)


def _build_row(
    row_id: str, result: dict[str, Any], cold: dict[str, Any] | None = None, runs: str = ""
) -> Row:
    if result.get("returncode") != 0:
        failed = goal_row(row_id, None, "", _build_detail(result))
        failed.measured = "failed"
        return failed
    seconds = result["wall_s"]
    detail = "; ".join(p for p in (runs, _build_detail(result, cold)) if p)
    return goal_row(row_id, seconds, f"{seconds:.1f} s", detail)


class Bench:
    """One run of the 15-LA build benchmarks, in copies of the project under ``tmp``."""

    def __init__(self, settings: Settings, tmp: Path, report: Report, repeat: int = 1) -> None:
        self.settings = settings
        self.tmp = tmp
        self.report = report
        self.repeat = max(1, repeat)
        self.own: dict[Path, list] = {}

    def prepare(self, name: str, extra: dict[str, Any] | None = None) -> tuple[Path, Path, list]:
        """A fresh copy of the project and its settings file; returns (copy, file, own files)."""
        from benchmarks.build import copy_settings, project_copy

        copy, own = project_copy(self.tmp / name)
        file = copy_settings(copy, self.settings, self.tmp / f"{name}.yml", extra)
        self.own[copy] = own
        return copy, file, own

    def repeated(
        self,
        key: str,
        file: Path,
        copy: Path,
        before: Callable[[], Any] | None = None,
        first: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """``repeat`` builds in the copy (``before`` runs ahead of each); the fastest, and all.

        ``first`` is a run already made that counts as the first. A build's figures move by
        seconds from run to run on a quiet machine; the fastest of several is the least
        disturbed (as ``timeit`` reports).
        """
        runs = [first] if first is not None else []
        while len(runs) < self.repeat:
            if before is not None:
                before()
            suffix = f" (run {len(runs) + 1})" if self.repeat > 1 else ""
            runs.append(self.build(key + suffix, file, copy))
        best, text = best_run(runs, "wall_s")
        return dict(best), text

    def inputs_cached_again(self, copy: Path, file: Path) -> None:
        """Remove every output and cache but the ingest cache (before an inputs-cached build)."""
        from benchmarks.build import keep_only_ingest_cache

        keep_only_ingest_cache(copy, load_settings(file), self.own[copy])

    def build(self, key: str, file: Path, copy: Path) -> dict[str, Any]:
        """``cwi build`` in the copy, measured; kept in the JSON under ``key``."""
        from benchmarks.build import measure_build

        console.print(f"[dim]cwi bench: {key} ...[/dim]")
        result = measure_build(file, ("build",), root=copy)
        self.report.builds[key] = result
        if self.report.checkpoint is not None:  # a long run keeps what it measured so far
            from cwi.io import write_text

            data = json.dumps(self.report.as_dict(), indent=1, default=str)
            write_text(self.report.checkpoint, data + "\n")
        return result

    def cold_then_cached(
        self, n_las: int, extra: dict[str, Any] | None = None, tag: str = ""
    ) -> tuple:
        """Cold build of ``n_las`` LAs in a new copy, then the inputs-cached build.

        Returns the two results (the second None when the first failed), the copy and its
        settings file.
        """
        from benchmarks.build import keep_only_ingest_cache

        copy, file, own = self.prepare(f"la{n_las}{tag}", extra)
        cold = self.build(f"{n_las} LAs{tag}: cold", file, copy)
        if cold["returncode"] != 0:
            return cold, None, copy, file
        removed = keep_only_ingest_cache(copy, load_settings(file), own)
        self.report.builds[f"{n_las} LAs{tag}: removed before inputs cached"] = removed[:200]
        cached = self.build(f"{n_las} LAs{tag}: inputs cached", file, copy)
        return cold, cached, copy, file

    def marginal_build(self, cached: dict[str, Any], codes: list[str]) -> Row:
        """The whole-build difference: the inputs-cached build of 15 LAs against one of 10."""
        refused = []
        for k, subset in enumerate(small_subsets(codes, SMALL_N)):
            cold, small, _copy, _file = self.cold_then_cached(
                SMALL_N, {"release": {"la_list": subset}}, tag=f"-{k}"
            )
            failed = cold if small is None else small
            if failed["returncode"] != 0:
                if "DisclosureError" not in failed.get("stderr_tail", ""):
                    return goal_row("marginal_build", None, "", "10-LA build failed: "
                                    + _build_detail(failed))  # fmt: skip
                refused.append(f"{subset[0]}..{subset[-1]}")
                continue
            n_big = len(codes)
            per_la = marginal_or_none(cached["wall_s"], n_big, small["wall_s"], SMALL_N)
            why = f"; refused first: {', '.join(refused)}" if refused else ""
            detail = (
                f"T({n_big}) {cached['wall_s']:.1f} s, T({SMALL_N}) {small['wall_s']:.1f} s "
                f"(LAs {subset[0]}..{subset[-1]}){why}"
            )
            if per_la is None:
                return goal_row(
                    "marginal_build",
                    None,
                    "",
                    "no figure: the bigger build was not slower (the difference is below "
                    "run-to-run noise); " + detail,
                )
            return goal_row("marginal_build", round(per_la, 3), f"{per_la:.2f} s", detail)
        return goal_row("marginal_build", None, "", f"no {SMALL_N}-LA build succeeded: {refused}")


def marginal_row(small: dict[str, Any], big: dict[str, Any]) -> Row:
    """The marginal cost per LA from our LA outputs made for fewer and for more LAs."""
    for result in (small, big):
        if "total_s" not in result:
            return goal_row("marginal", None, "", f"not measured: {result.get('error')}"[:200])
    n_small, n_big = small["n"], big["n"]
    per_la = marginal_or_none(big["total_s"], n_big, small["total_s"], n_small)

    def steps(result: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v:.1f}" for k, v in result["steps"].items() if k != "total")

    detail = (
        f"T({n_big}) {big['total_s']:.1f} s ({steps(big)}), T({n_small}) "
        f"{small['total_s']:.1f} s ({steps(small)})"
    )
    if per_la is None:
        return goal_row("marginal", None, "", "no verdict: more LAs were not slower; " + detail)
    return goal_row("marginal", round(per_la, 3), f"{per_la:.2f} s", detail)


def bench_builds(
    settings: Settings, wanted: Sequence[str], report: Report, repeat: int = 1
) -> None:
    """Rows cold, inputs cached, nothing changed, chapter edit, marginal, naive / ours.

    With ``repeat`` > 1 the inputs-cached, nothing-changed and chapter-edit builds and our LA
    outputs are each measured that many times and the fastest run is the figure (every run is
    named in the row's detail); the cold build, the 10-LA builds and the naive baselines once.
    """
    from benchmarks.build import edit_chapter, naive_per_la, ours_for_codes, quarto_per_la
    from cwi.inputs import ensure_demo_inputs
    from cwi.store import ResultsStore

    demo_settings = settings.with_overrides(data={"source": "demo"})
    ensure_demo_inputs(demo_settings)  # inputs generated: generation is the `demo` row
    n_demo = len([p for p in (demo_settings.demo_dir / "la").iterdir() if p.is_dir()])
    with tempfile.TemporaryDirectory(prefix="cwi-bench-") as tmp:
        bench = Bench(demo_settings, Path(tmp), report, repeat)
        cold, cached, copy, file = bench.cold_then_cached(n_demo)
        report.rows.append(_build_row("cold", cold))
        if cached is None:
            return
        runs = ""
        if cached["returncode"] == 0:
            cached, runs = bench.repeated(
                f"{n_demo} LAs: inputs cached",
                file,
                copy,
                lambda: bench.inputs_cached_again(copy, file),
                first=cached,
            )
        report.rows.append(_build_row("inputs_cached", cached, cold, runs))
        if "build" in wanted:
            again, runs = bench.repeated(f"{n_demo} LAs: nothing changed", file, copy)
            report.rows.append(_build_row("nothing_changed", again, runs=runs))
            edited, runs = bench.repeated(
                f"{n_demo} LAs: one chapter edited",
                file,
                copy,
                lambda: edit_chapter(copy, EDIT_CHAPTER, append_sentence),
            )
            report.rows.append(_build_row("chapter_edit", edited, runs=runs))
        codes = ResultsStore(load_settings(file)).profile_codes()

        def ours_best(subset: list[str], name: str) -> dict[str, Any]:
            runs = [
                ours_for_codes(file, subset, copy, Path(tmp) / f"{name}-{k}")
                for k in range(bench.repeat)
            ]
            best, text = best_run(runs, "total_s")
            return dict(best) | ({"runs": text} if text else {})

        if set(wanted) & {"marginal", "naive"} and cached["returncode"] == 0:
            # our way for the same LA outputs the naive baselines make, in a fresh process
            ours = ours_best(codes, "ours")
            report.builds["ours_la_outputs"] = ours
        if "marginal" in wanted and cached["returncode"] == 0:
            few = ours_best(codes[:OURS_SMALL_N], "ours-small")
            report.builds["ours_la_outputs_small"] = few
            report.rows.append(marginal_row(few, ours))
            report.rows.append(bench.marginal_build(cached, codes))
        if "naive" in wanted and cached["returncode"] == 0:
            naive_rows(report, naive_per_la(file, codes, copy), "naive_fresh", ours)
            quarto = quarto_per_la(file, codes, Path(tmp) / "quarto", root=copy)
            naive_rows(report, quarto, "naive_quarto", ours)


def naive_rows(
    report: Report, result: dict[str, Any], row_id: str, ours_result: dict[str, Any]
) -> None:
    """A naive / ours row from a naive baseline's result and ours for the same LAs."""
    ours = ours_result.get("total_s")
    report.builds[row_id] = result | {"ours_s": ours}
    if "total_s" not in result or not ours:
        why = result.get("skipped") or result.get("error") or ours_result.get("error")
        report.rows.append(goal_row(row_id, None, "", f"not measured: {why}"[:200]))
        return
    ratio = result["total_s"] / ours
    report.rows.append(
        goal_row(
            row_id,
            round(ratio, 2) if ratio else None,
            f"{ratio:.1f}" if ratio else "-",
            f"naive {result['total_s']:.1f} s ({result['per_la_s']:.2f} s/LA, {result['n']} "
            f"LAs); ours {ours:.1f} s (one process, the same LA outputs, the build's way)",
        )
    )


def bench_national(settings: Settings, report: Report) -> None:
    """153 synthetic LAs, ~33,000 LSOAs: generation (cached by seed), then cold and cached."""
    from benchmarks.build import ensure_national_demo, mark_demo_current

    seed, n_las, years = 1, 153, [2023]
    folder = settings.build_dir / "cache" / "bench-national-demo"
    console.print(f"[dim]cwi bench: national demo in {folder} ...[/dim]")
    made = ensure_national_demo(folder, seed, n_las, years)
    state = "reused (generated earlier in" if made["cached"] else "generated in"
    report.rows.append(
        Row(
            "national_demo",
            "national demo generated (153 LAs, ~33,000 LSOAs, 1 year)",
            f"{made['seconds']:.1f} s",
            made["seconds"],
            detail=f"{state} {made['seconds']:.1f} s{')' if made['cached'] else ''}; "
            f"{made['size_mb']:,} MB of files in {folder}",
        )
    )
    extra = {
        "data": {"demo_dir": str(folder)},
        "release": {"years": years, "main_year": years[-1]},
        "demo": {"n_las": n_las, "years": years, "seed": seed},
    }
    with tempfile.TemporaryDirectory(prefix="cwi-bench-national-") as tmp:
        bench = Bench(settings.with_overrides(data={"source": "demo"}), Path(tmp), report)
        copy, file, own = bench.prepare("national", extra)
        mark_demo_current(folder, load_settings(file))
        cold = bench.build("national: cold", file, copy)
        report.rows.append(_national_row("national_cold", cold))
        if cold["returncode"] != 0:
            return
        from benchmarks.build import keep_only_ingest_cache

        keep_only_ingest_cache(copy, load_settings(file), own)
        cached = bench.build("national: inputs cached", file, copy)
        report.rows.append(_national_row("national_cached", cached, cold))


def _national_row(row_id: str, result: dict[str, Any], cold: dict[str, Any] | None = None) -> Row:
    if result.get("returncode") != 0:
        return national_row(row_id, None, None, "failed: " + _build_detail(result))
    return national_row(
        row_id, result["wall_s"], result["peak_total_mb"], _build_detail(result, cold)
    )


def bench_public(settings: Settings, report: Report) -> None:
    """The public-data edition alone (``cwi build --public``), in a copy of the project."""
    from benchmarks.build import measure_build
    from cwi.public.build import public_available

    what = "public edition alone, every English LA 2013-2024 (cwi build --public)"
    if not public_available(settings.public_data_dir):
        report.rows.append(Row("public", what, "skipped", detail="no public data folder"))
        return
    with tempfile.TemporaryDirectory(prefix="cwi-bench-public-") as tmp:
        copy, file, _own = Bench(settings, Path(tmp), report).prepare("public")
        console.print("[dim]cwi bench: public edition ...[/dim]")
        result = measure_build(file, ("build", "--public"), root=copy)
        report.builds["public"] = result
        report.rows.append(
            Row(
                "public",
                what,
                f"{result['wall_s']:.1f} s",
                result["wall_s"],
                detail=_build_detail(result),
            )  # fmt: skip
            if result["returncode"] == 0
            else Row("public", what, "failed", detail=_build_detail(result))
        )


def run_bench(
    settings: Settings,
    quick: bool = False,
    only: Sequence[str] = (),
    json_path: Path | None = None,
    repeat: int = 1,
) -> Report:
    """Run the chosen sections, print the table, write the JSON and Markdown reports.

    Parameters
    ----------
    settings : Settings
        The project's settings (demo parameters, where the demo and reference data are).
    quick : bool
        Smaller linkage and model sizes (a smoke run).
    only : sequence of str
        Sections to run (:data:`benchmarks.scenarios.SECTIONS`), from ``parse_only``.
    json_path : Path, optional
        Where to write the JSON report (default ``<build_dir>/bench/bench.json``); the README
        table goes beside it as ``.md``.
    repeat : int
        Runs of each quick build measurement; the fastest is the figure (see
        :func:`bench_builds`).

    Returns
    -------
    Report
        Every row and every measured build.
    """
    wanted = list(only)
    json_path = json_path or settings.build_dir / "bench" / "bench.json"
    report = Report(machine=_machine(), checkpoint=json_path.with_suffix(".partial.json"))
    report.machine["sections"] = wanted
    report.machine["repeat"] = repeat
    if "demo" in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            from cwi.demo import generate

            _timed(
                "demo",
                "demo region generated (15 LAs x 3 years)",
                lambda: generate(Path(tmp) / "demo", seed=1, n_las=15, years=[2021, 2022, 2023]),
                report,
            )
    if "linkage" in wanted:
        from benchmarks.linkage import bench_linkage

        n, m = (100_000, 270_000) if quick else (1_000_000, 2_700_000)
        result = _timed(
            "linkage",
            f"link {n:,} records to {m:,} postcodes",
            lambda: bench_linkage(n, m),
            report,
        )
        if isinstance(result, dict) and report.rows[-1].id == "linkage":
            report.rows[-1].detail = ", ".join(f"{k}={v}" for k, v in result.items())[:200]
    if "models" in wanted:
        from benchmarks.models import bench_models

        n_lsoa = 3_300 if quick else 33_000
        _timed(
            "models",
            f"Q1-Q4 models, {n_lsoa:,} LSOAs",
            lambda: bench_models(n_lsoa=n_lsoa),
            report,
        )
    if set(wanted) & {"build", "marginal", "naive"}:
        bench_builds(settings, wanted, report, repeat)
    if "national" in wanted:
        bench_national(settings, report)
    if "public" in wanted:
        bench_public(settings, report)
    report.machine["load_end"] = round(os.getloadavg()[0], 1)
    print_report(report)
    write_report(report, json_path)
    report.checkpoint.unlink(missing_ok=True)
    return report


def print_report(report: Report) -> None:
    """The rows as one table, the stage times of every build, then the definitions."""
    table = Table(title="cwi bench (issue 18 goals on 2 cores)")
    for col in ("what", "goal", "measured", "met", "detail"):
        table.add_column(col, overflow="fold")
    for row in report.rows:
        cells = (row.what, row.goal, row.measured, met_text(row.met), row.detail)
        table.add_row(*(escape(str(c)) for c in cells))
    console.print(table)
    builds = {k: v for k, v in report.builds.items() if isinstance(v, dict) and "stages" in v}
    if builds:
        stages = Table(title="stage times, s (peak MB of the build's process tree)")
        stages.add_column("stage")
        names: list[str] = []
        for result in builds.values():
            names += [s for s in result["stages"] if s not in names]
        for key in builds:
            stages.add_column(key, overflow="fold")
        for name in [*names, "whole command"]:
            cells = []
            for result in builds.values():
                if name == "whole command":
                    cells.append(f"{result['wall_s']:.1f} ({result['peak_total_mb']:,})")
                elif name in result["stages"]:
                    peak = result["peak_mb"].get(name)
                    cells.append(
                        f"{result['stages'][name]:.1f}" + (f" ({peak:,})" if peak else "")
                    )
                else:
                    cells.append("-")
            stages.add_row(name, *cells)
        console.print(stages)
    m = report.machine
    console.print(
        f"{m['cpus']} cores, {m['ram_gb']} GB RAM; load average {m['load_start']} at the "
        f"start, {m.get('load_end')} at the end; commit {m['commit']}; {m['date']}."
    )
    for row in report.rows:
        if row.id in DEFINITIONS:
            console.print(f"[bold]{escape(row.what)}[/bold]: {escape(DEFINITIONS[row.id])}")


def write_report(report: Report, path: Path) -> None:
    """Write the JSON report and, beside it, the README's Markdown table."""
    from cwi.io import write_text

    data = report.as_dict()
    write_text(path, json.dumps(data, indent=1, default=str) + "\n")
    write_text(path.with_suffix(".md"), markdown_table(data))
    console.print(f"Written: {path} and {path.with_suffix('.md')}")
