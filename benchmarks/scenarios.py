"""What ``cwi bench`` measures: the rows, their goals and definitions, and the report they make.

Pure functions and constants only (no timing, no I/O), so that the definitions printed with the
figures, the goal checks and the README table are unit-tested (``tests/unit/test_bench.py``).
The goals are those of issue 18 (2 cores); a row without a goal is a figure for comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

#: Sections of ``cwi bench --only a,b`` in the order they run.
SECTIONS = ("demo", "linkage", "models", "build", "marginal", "naive", "national", "public")
#: Sections run when ``--only`` is not given (``national`` is heavy: opt-in).
DEFAULT_SECTIONS = ("demo", "linkage", "models", "build", "marginal", "naive", "public")
#: LAs of the small build the marginal cost per LA is measured against.
SMALL_N = 10
#: LAs of the smaller run of our LA outputs (benchmarks/ours_la.py) for the marginal cost.
OURS_SMALL_N = 5
#: The one chapter the "text edit" rebuild changes (in a copy of the project, never the original).
EDIT_CHAPTER = "report/q1_clustering.qmd"
EDIT_SENTENCE = "This sentence was added by `cwi bench` to time a rebuild after a text edit."


@dataclass(frozen=True)
class Goal:
    """A speed or memory goal: ``measured <= limit`` (``at_most``) or ``>= limit``."""

    text: str
    limit: float
    direction: Literal["at_most", "at_least"] = "at_most"

    def met(self, value: float | None) -> bool | None:
        """True or False when ``value`` is known, None when it is not."""
        if value is None:
            return None
        return value <= self.limit if self.direction == "at_most" else value >= self.limit


#: Goals of issue 18 by row id.
GOALS: dict[str, Goal] = {
    "inputs_cached": Goal("<= 30 s", 30.0),
    "chapter_edit": Goal("<= 5 s", 5.0),
    "marginal": Goal("<= 0.4 s per LA", 0.4),
    "naive_fresh": Goal("naive / ours >= 15", 15.0, "at_least"),
    "naive_quarto": Goal("naive / ours >= 15", 15.0, "at_least"),
    "national_cold": Goal("<= 90 s", 90.0),
    "national_cached": Goal("<= 90 s", 90.0),
}
#: Peak memory goal of the national builds (MB of resident memory, whole process tree).
NATIONAL_PEAK = Goal("peak <= 3 GB", 3 * 1024.0)

#: What each row measures, printed under the table and written to the JSON.
DEFINITIONS: dict[str, str] = {
    "cold": (
        "wall time of `cwi build` in a fresh copy of the project (its git-tracked and new "
        "files) with empty `build/` and `_site/` folders and no cache; the demo inputs already generated "
        "(cached by seed; generation is the `demo` row)."
    ),
    "inputs_cached": (
        "wall time of `cwi build` in the same copy after the cold build, once everything but "
        "the ingest cache is removed: `<build_dir>/cache/*` and `<private_dir>/cache/*` "
        "other than `ingest*`, the results store, `_site/` and the generated page sources (untracked "
        "files of the copy outside `build/`). The ingest cache (its private outputs and record in "
        "`<private_dir>`, its reports in `<build_dir>`) stays: the extracts are unchanged, so "
        "only the ingest may be reused; analysis, store (profiles, charts), pages, site, PDFs and scan run from "
        "scratch. This is the goal row 'Full 15-LA demo build (analysis, report, 15 web pages, "
        "15 PDFs, site), inputs cached'."
    ),
    "nothing_changed": "wall time of `cwi build` again in the same copy, nothing changed.",
    "chapter_edit": (
        f"one sentence appended to {EDIT_CHAPTER} in the copy (never in the project's own "
        "files), then `cwi build` in the copy."
    ),
    "marginal": (
        f"(T(15) - T({OURS_SMALL_N})) / (15 - {OURS_SMALL_N}), T(n) = wall time of one fresh "
        "Python process making n LAs' outputs the build's way (`benchmarks/ours_la.py`: "
        "imports, settings, a copy of the results store; every profile and its charts drawn in "
        "worker processes, the LA page sources, their HTML with the site renderer, their PDFs "
        "with the build's PDF workers), every cache cold; the same work as the naive baselines, "
        "without the report or the site's other pages. The detail gives each step's seconds."
    ),
    "marginal_build": (
        f"(T(15) - T({SMALL_N})) / (15 - {SMALL_N}), T(n) = the 'inputs cached' build of n "
        "LAs, each measured in this run in its own copy after its own cold build (the whole "
        "build: ingest reused; analysis, report, n web pages, n PDFs, site). The 10 LAs "
        "(release.la_list) are the first 10 in code order, else the last 10, else the next "
        "window: disclosure control may refuse a smaller region (a suppressed regional cell "
        "recoverable from its totals); the detail names the LAs used. Whole builds differ by "
        "more than their LA outputs (disclosure, analysis and noise), so this row has no goal."
    ),
    "naive_fresh": (
        "naive: one fresh Python process per LA, 15 LAs in turn (import the package, load "
        "the results store, build the LA's profile and charts, its page with pandoc, its PDF "
        "with weasyprint), total wall time; ours: one fresh Python process making the same 15 "
        "LAs' profiles, charts, pages and PDFs the build's way (T(15) of the marginal row); "
        "ratio = naive / ours."
    ),
    "naive_quarto": (
        "naive the Quarto way: one `quarto render profile.qmd -P la_code:X` per LA, 15 LAs in "
        "turn, each through a fresh Jupyter kernel (`benchmarks/naive_profile.qmd`: the LA's "
        "rates table and one chart, HTML only, no PDF), total wall time; ours as for the "
        "fresh-process row; ratio = naive / ours."
    ),
    "national_demo": (
        "generating the national demo region (153 LAs, ~33,000 LSOAs, one year), reported "
        "apart from the builds; cached by seed under `<build_dir>/cache/bench-national-demo/`."
    ),
    "national_cold": (
        "`cwi build` of the national demo (153 LAs, one year) in a fresh copy of the project, "
        "inputs generated, no cache; peak = resident memory of the whole process tree."
    ),
    "national_cached": (
        "the national build again in the same copy with only the ingest cache kept (as for "
        "the 15-LA 'inputs cached' row)."
    ),
}

#: Row titles (the first column of the table and of the README table).
TITLES: dict[str, str] = {
    "demo": "demo region generated (15 LAs x 3 years)",
    "cold": "cold build, 15 LAs (fresh folders, no cache, demo inputs generated)",
    "inputs_cached": "full 15-LA demo build, inputs cached",
    "nothing_changed": "rebuild, nothing changed",
    "chapter_edit": "rebuild after a one-chapter text edit",
    "marginal": "marginal cost per extra LA (web page + PDF)",
    "marginal_build": "whole inputs-cached build, 15 LAs against 10, per extra LA",
    "naive_fresh": "naive / ours, 15 LAs: fresh Python process per LA",
    "naive_quarto": "naive / ours, 15 LAs: `quarto render -P` per LA",
    "national_demo": "national demo generated (153 LAs, ~33,000 LSOAs)",
    "national_cold": "national build, 153 LAs, cold",
    "national_cached": "national build, 153 LAs, inputs cached",
}


@dataclass
class Row:
    """One line of the report: what, its goal, the figure, whether the goal is met."""

    id: str
    what: str
    measured: str = "-"
    value: float | None = None
    goal: str = "-"
    met: bool | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the JSON report."""
        return asdict(self)


def met_text(met: bool | None) -> str:
    """``yes``, ``no`` or ``-`` (no goal, or not measured)."""
    return "-" if met is None else ("yes" if met else "no")


def goal_row(row_id: str, value: float | None, measured: str, detail: str = "") -> Row:
    """A row with its title and goal from the tables above, ``met`` decided by the goal."""
    goal = GOALS.get(row_id)
    return Row(
        id=row_id,
        what=TITLES.get(row_id, row_id),
        measured=measured if value is not None else "-",
        value=value,
        goal=goal.text if goal else "-",
        met=goal.met(value) if goal else None,
        detail=detail,
    )


def national_row(row_id: str, seconds: float | None, peak_mb: float | None, detail: str) -> Row:
    """A national build row: both the time and the peak-memory goal must hold."""
    time_goal = GOALS[row_id]
    if seconds is None:
        return Row(row_id, TITLES[row_id], goal=f"{time_goal.text}, {NATIONAL_PEAK.text}",
                   detail=detail)  # fmt: skip
    met_time = time_goal.met(seconds)
    met_peak = NATIONAL_PEAK.met(peak_mb)
    both = None if met_peak is None else bool(met_time and met_peak)
    peak = f", peak {peak_mb / 1024:.2f} GB" if peak_mb is not None else ""
    return Row(
        id=row_id,
        what=TITLES[row_id],
        measured=f"{seconds:.1f} s{peak}",
        value=seconds,
        goal=f"{time_goal.text}, {NATIONAL_PEAK.text}",
        met=both,
        detail=detail,
    )


def parse_only(text: str | None) -> list[str]:
    """The sections named by ``--only`` (comma-separated), in run order.

    Raises
    ------
    ValueError
        If a name is not a section; the message lists the choices.
    """
    if not text:
        return list(DEFAULT_SECTIONS)
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        raise ValueError(
            f"Unknown bench section(s) {unknown or [text]}; choose from {', '.join(SECTIONS)}."
        )
    return [s for s in SECTIONS if s in names]


def marginal_per_la(t_big: float, n_big: int, t_small: float, n_small: int) -> float:
    """Cost of one more LA: the difference of two whole-build times over the difference in LAs."""
    if n_big <= n_small:
        raise ValueError(f"need more LAs in the big build ({n_big}) than the small ({n_small})")
    return (t_big - t_small) / (n_big - n_small)


def marginal_or_none(t_big: float, n_big: int, t_small: float, n_small: int) -> float | None:
    """:func:`marginal_per_la`, or None when the bigger build was not slower (noise, no verdict).

    Two single builds differ by run-to-run noise of a few seconds; a zero or negative
    difference says the marginal cost is below that noise, not that any goal is met.
    """
    per_la = marginal_per_la(t_big, n_big, t_small, n_small)
    return per_la if per_la > 0 else None


def best_run(runs: Sequence[Mapping[str, Any]], key: str) -> tuple[Mapping[str, Any], str]:
    """The run with the smallest ``key`` among those that have it, and all the runs as text.

    With one run, that run and an empty text. A run lacking ``key`` (a failed build, a step
    not measured) is never the best unless every run lacks it; then the first run is returned.

    Parameters
    ----------
    runs : sequence of mapping
        Results of the same measurement repeated (``--repeat``), in the order they ran.
    key : str
        The figure to compare (``wall_s`` of a build, ``total_s`` of our LA outputs).

    Returns
    -------
    tuple
        (best run, ``"best of N: a, b s"`` or ``""`` for a single run).
    """
    if not runs:
        raise ValueError("no run to choose from")
    good = [r for r in runs if isinstance(r.get(key), int | float)]
    if len(runs) == 1 or not good:
        return runs[0], ""
    best = min(good, key=lambda r: r[key])
    shown = ", ".join(f"{r[key]:.1f}" if r in good else "failed" for r in runs)
    return best, f"best of {len(runs)}: {shown} s"


def append_sentence(text: str, sentence: str = EDIT_SENTENCE) -> str:
    """``text`` with ``sentence`` added as a new last paragraph (the benchmark's text edit)."""
    return text.rstrip("\n") + "\n\n" + sentence + "\n"


def small_subsets(codes: Iterable[str], n: int, tries: int = 3) -> list[list[str]]:
    """Candidate sets of ``n`` LAs for the small build of the marginal cost, in order of use.

    The first ``n`` codes in sorted order, then the last ``n``, then windows in between: a
    subset can be refused by disclosure control (a suppressed regional cell recoverable from
    fewer LAs' totals), so the benchmark takes the first candidate that builds.
    """
    ordered = sorted(codes)
    if len(ordered) < n:
        raise ValueError(f"only {len(ordered)} LAs, need {n}")
    starts = [0, len(ordered) - n, *range(1, len(ordered) - n)]
    out: list[list[str]] = []
    for start in starts:
        window = ordered[start : start + n]
        if window not in out:
            out.append(window)
    return out[:tries]


def markdown_table(report: Mapping[str, Any]) -> str:
    """The README table of a ``cwi bench`` JSON report: row, goal, measured, met, machine."""
    lines = ["| what | goal | measured | met |", "|---|---|---|---|"]
    for row in report.get("rows", []):
        cells = [row["what"], row["goal"], row["measured"], met_text(row.get("met"))]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    machine = report.get("machine", {})
    if machine:
        load = machine.get("load_start"), machine.get("load_end")
        lines += [
            "",
            f"Measured {machine.get('date', '?')} on {machine.get('cpus', '?')} cores, "
            f"{machine.get('ram_gb', '?')} GB RAM; load average (1 min) {load[0]} at the start, "
            f"{load[1]} at the end; commit {machine.get('commit', '?')}.",
        ]
    definitions = [(r["id"], r["what"]) for r in report.get("rows", []) if r["id"] in DEFINITIONS]
    if definitions:
        lines += ["", "What each row measures:", ""]
        lines += [f"- **{what}**: {DEFINITIONS[rid]}" for rid, what in definitions]
    return "\n".join(lines) + "\n"


@dataclass
class Report:
    """Everything one ``cwi bench`` run measured (written as JSON)."""

    machine: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    builds: dict[str, Any] = field(default_factory=dict)
    #: Written after every build (``bench.partial.json``) so a long run that is stopped keeps
    #: what it measured; removed when the full report is written.
    checkpoint: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``json.dump``."""
        return {
            "machine": self.machine,
            "rows": [r.as_dict() for r in self.rows],
            "definitions": {r.id: DEFINITIONS[r.id] for r in self.rows if r.id in DEFINITIONS},
            "builds": self.builds,
        }
