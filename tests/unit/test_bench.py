"""`cwi bench`'s pure parts: sections, goals, definitions, the README table, the project copy.

Nothing here is timed: speed goals are measured by `cwi bench`, never asserted in tests.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.build import (
    copy_settings,
    edit_chapter,
    keep_only_ingest_cache,
    mark_demo_current,
    parse_skipped_line,
    parse_stage_line,
    project_copy,
    project_files,
)
from benchmarks.scenarios import (
    DEFAULT_SECTIONS,
    DEFINITIONS,
    EDIT_CHAPTER,
    EDIT_SENTENCE,
    GOALS,
    SECTIONS,
    Report,
    append_sentence,
    goal_row,
    marginal_per_la,
    markdown_table,
    national_row,
    parse_only,
    small_subsets,
)
from cwi.cli import app
from cwi.config import ROOT, load_settings


def test_parse_only_keeps_run_order_and_defaults_leave_out_national():
    assert parse_only("naive, build") == ["build", "naive"]
    assert parse_only(None) == list(DEFAULT_SECTIONS)
    assert "national" not in parse_only("")
    assert parse_only("national") == ["national"]


def test_parse_only_refuses_an_unknown_section_naming_the_choices():
    with pytest.raises(ValueError, match="bulid") as err:
        parse_only("bulid,naive")
    assert all(s in str(err.value) for s in SECTIONS)
    with pytest.raises(ValueError):
        parse_only(",")


def test_cli_refuses_an_unknown_section_before_measuring_anything():
    result = CliRunner().invoke(app, ["bench", "--only", "nope"])
    assert result.exit_code == 2
    assert "nope" in result.output


def test_goals_at_most_and_at_least():
    assert GOALS["inputs_cached"].met(29.9) is True
    assert GOALS["inputs_cached"].met(30.0) is True
    assert GOALS["inputs_cached"].met(30.1) is False
    assert GOALS["naive_fresh"].met(15.0) is True
    assert GOALS["naive_fresh"].met(14.9) is False
    assert GOALS["chapter_edit"].met(None) is None


def test_goal_row_marks_met_and_unmeasured():
    row = goal_row("chapter_edit", 6.2, "6.2 s")
    assert (row.goal, row.met, row.measured) == ("<= 5 s", False, "6.2 s")
    unmeasured = goal_row("marginal", None, "0.3 s", "the 10-LA build failed")
    assert unmeasured.met is None and unmeasured.measured == "-"
    no_goal = goal_row("cold", 80.0, "80.0 s")
    assert no_goal.goal == "-" and no_goal.met is None


def test_national_row_needs_both_time_and_memory():
    assert national_row("national_cold", 80.0, 2000.0, "").met is True
    assert national_row("national_cold", 80.0, 3500.0, "").met is False
    assert national_row("national_cold", 95.0, 2000.0, "").met is False
    failed = national_row("national_cached", None, None, "failed")
    assert failed.met is None and failed.measured == "-"
    assert "2.00 GB" in national_row("national_cold", 80.0, 2048.0, "").measured


def test_marginal_cost_is_the_difference_over_the_extra_las():
    assert marginal_per_la(32.0, 15, 30.0, 10) == pytest.approx(0.4)
    assert marginal_per_la(30.0, 15, 31.0, 10) == pytest.approx(-0.2)  # noise shows, not hidden
    with pytest.raises(ValueError):
        marginal_per_la(30.0, 10, 20.0, 10)


def test_marginal_row_is_our_la_outputs_for_more_las_against_fewer():
    from benchmarks.run import marginal_row

    steps = {"setup": 2.0, "profiles": 3.0, "pages": 0.5, "site": 1.0, "pdf": 4.0, "total": 10.5}
    few = {"n": 5, "total_s": 10.5, "steps": steps}
    many = {"n": 15, "total_s": 14.5, "steps": steps | {"total": 14.5}}
    row = marginal_row(few, many)
    assert row.value == pytest.approx(0.4) and row.met is True
    assert "T(15) 14.5 s" in row.detail and "profiles 3.0" in row.detail
    assert marginal_row(few | {"total_s": 15.0}, many).met is None  # more LAs not slower
    failed = marginal_row({"n": 5, "error": ["boom"]}, many)
    assert failed.value is None and "boom" in failed.detail


def test_naive_over_ours_uses_our_run_for_the_same_las():
    from benchmarks.run import naive_rows

    report = Report()
    naive_rows(report, {"n": 15, "total_s": 78.0, "per_la_s": 5.2}, "naive_fresh",
               {"n": 15, "total_s": 5.2})  # fmt: skip
    assert report.rows[-1].value == pytest.approx(15.0) and report.rows[-1].met is True
    naive_rows(report, {"n": 15, "total_s": 78.0, "per_la_s": 5.2}, "naive_fresh",
               {"n": 15, "error": ["no store"]})  # fmt: skip
    assert report.rows[-1].value is None and "no store" in report.rows[-1].detail


def test_the_text_edit_adds_one_paragraph_and_keeps_the_text():
    text = "---\ntitle: Q1\n---\n\nSome words.\n\n\n"
    edited = append_sentence(text)
    assert edited.startswith(text.rstrip("\n"))
    assert edited.endswith("\n\n" + EDIT_SENTENCE + "\n")
    assert edited.count(EDIT_SENTENCE) == 1


def test_the_edited_chapter_exists_and_every_goal_row_is_defined():
    assert (ROOT / EDIT_CHAPTER).is_file()
    assert set(GOALS) <= set(DEFINITIONS)


def test_small_subsets_first_last_then_windows():
    codes = [f"X{i:02d}" for i in range(15, 0, -1)]
    subsets = small_subsets(codes, 10)
    assert subsets[0] == [f"X{i:02d}" for i in range(1, 11)]
    assert subsets[1] == [f"X{i:02d}" for i in range(6, 16)]
    assert subsets[2] == [f"X{i:02d}" for i in range(2, 12)]
    assert all(len(s) == 10 and len(set(s)) == 10 for s in subsets)
    assert small_subsets(["X1", "X2"], 2) == [["X1", "X2"]]  # no duplicate windows
    with pytest.raises(ValueError):
        small_subsets(["X1"], 2)


def test_markdown_table_from_a_json_report():
    report = Report(machine={"date": "2026-12-01 01:00 UTC", "cpus": 2, "ram_gb": 24,
                             "load_start": 3.1, "load_end": 4.2, "commit": "abc1234"})  # fmt: skip
    report.rows = [
        goal_row("inputs_cached", 28.0, "28.0 s"),
        goal_row("naive_quarto", None, "", "not measured: no Quarto"),
    ]
    data = json.loads(json.dumps(report.as_dict()))
    table = markdown_table(data)
    lines = table.splitlines()
    assert lines[0] == "| what | goal | measured | met |"
    assert lines[2] == "| full 15-LA demo build, inputs cached | <= 30 s | 28.0 s | yes |"
    assert "`quarto render -P` per LA | naive / ours >= 15 | - | - |" in lines[3]
    assert "2 cores, 24 GB RAM; load average (1 min) 3.1 at the start, 4.2 at the end" in table
    assert DEFINITIONS["inputs_cached"] in table
    assert set(data["definitions"]) == {"inputs_cached", "naive_quarto"}


def _tiny_project(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "report").mkdir(parents=True)
    (src / "report" / "q1.qmd").write_text("# Q1\n\nText.\n")
    (src / "settings.yml").write_text("x: 1\n")
    (src / ".gitignore").write_text("build/\n_site/\n")
    subprocess.run(["git", "init", "-q"], cwd=src, check=True)
    subprocess.run(["git", "add", "report", "settings.yml", ".gitignore"], cwd=src, check=True)
    (src / "report" / "new.qmd").write_text("untracked, not ignored\n")
    (src / "build").mkdir()
    (src / "build" / "out.txt").write_text("ignored\n")
    return src


def test_project_copy_takes_tracked_and_new_files_never_outputs(tmp_path):
    src = _tiny_project(tmp_path)
    assert project_files(src) == [".gitignore", "report/new.qmd", "report/q1.qmd", "settings.yml"]
    copy, own = project_copy(tmp_path / "copy", src)
    assert (copy / "report" / "new.qmd").is_file()
    assert not (copy / "build").exists()
    edit_chapter(copy, "report/q1.qmd", append_sentence)
    assert EDIT_SENTENCE in (copy / "report" / "q1.qmd").read_text()
    assert (src / "report" / "q1.qmd").read_text() == "# Q1\n\nText.\n"  # original untouched
    with pytest.raises(ValueError):
        edit_chapter(copy, "../src/report/q1.qmd", append_sentence)


def test_keep_only_ingest_cache_removes_every_other_output(tmp_path):
    copy = tmp_path / "copy"
    settings_file = copy_settings(copy, load_settings(), tmp_path / "s.yml")
    settings = load_settings(settings_file)
    own = ["report/q1.qmd"]
    files = [
        "report/q1.qmd",  # the project's own: kept
        "report/_generated/values.json",  # generated page source: removed
        "la_profiles/X06000001.qmd",  # generated page source: removed
        "build/cache/ingest/a.parquet",  # the ingest cache: kept
        "build/cache/fragments/ab/x.html",  # a render cache: removed
        "build/cache/pdf.json",  # removed
        "build/private/cache/ingest-2023/b.parquet",  # kept
        "build/private/cache/cube/c.parquet",  # removed
        "build/private/children.parquet",  # private intermediates: kept
        "build/results/manifest.json",  # the results store: removed
        "_site/pdf/X06000001.pdf",  # the site: removed
    ]
    for name in files:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text("x")
    removed = keep_only_ingest_cache(copy, settings, own)
    left = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file())
    assert left == [
        "build/cache/ingest/a.parquet",
        "build/private/cache/ingest-2023/b.parquet",
        "build/private/children.parquet",
        "report/q1.qmd",
    ]
    assert "build/results" in removed and "_site" in removed


def test_copy_settings_send_every_output_into_the_copy(tmp_path):
    project = load_settings()
    file = copy_settings(tmp_path / "copy", project, tmp_path / "s.yml", {"demo": {"n_las": 3}})
    s = load_settings(file)
    for path in (s.build_dir, s.results_dir, s.site_dir, s.pdf_dir, s.private_dir):
        assert path.is_relative_to(tmp_path / "copy")
    assert s.demo_dir == project.demo_dir and s.data_source == "demo"
    assert s.demo.n_las == 3
    mark_demo_current(tmp_path, s)
    stamp = json.loads((tmp_path / ".cwi-demo.json").read_text())
    assert stamp["n_las"] == 3 and stamp["source"] == "demo"


def test_stage_lines_of_cwi_build_are_parsed_with_or_without_a_note():
    assert parse_stage_line("  ingest         12.34 s\n") == ("ingest", 12.34)
    assert parse_stage_line("  pdf             0.81 s (15 cached)") == ("pdf", 0.81)
    assert parse_stage_line("Build stopped in stage 'pdf' 1.00 s") is None
    assert parse_stage_line("  ingest 12 s") is None
    assert parse_stage_line("  pages          3.10 seconds") is None
    assert parse_stage_line("  cube         skipped (up to date)") is None
    assert parse_skipped_line("  cube         skipped (up to date)\n") == "cube"
    assert parse_skipped_line("  ingest         12.34 s") is None


def test_inputs_cached_reset_keeps_every_file_the_ingest_cache_vouches_for(tmp_path):
    from cwi.ingest.cache import BUILD_FILES, PRIVATE_FILES, RECORD

    copy = tmp_path / "copy"
    settings = load_settings(copy_settings(copy, load_settings(), tmp_path / "s.yml"))
    kept = [settings.private_dir / n for n in (*PRIVATE_FILES, RECORD)]
    kept += [settings.build_dir / n for n in BUILD_FILES]
    dropped = [settings.build_dir / "cache" / "public" / "x.json", settings.results_dir / "m"]
    for path in kept + dropped:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    keep_only_ingest_cache(copy, settings, [])
    assert all(p.is_file() for p in kept)
    assert not any(p.exists() for p in dropped)


def test_memory_of_a_process_tree_that_is_gone_is_zero_not_an_error():
    import os

    from benchmarks.build import _tree_rss_mb

    proc = subprocess.Popen(["sleep", "0"])
    proc.wait()
    assert _tree_rss_mb(proc.pid) == 0.0
    assert _tree_rss_mb(os.getpid()) > 0


def test_a_bigger_build_that_was_not_slower_gives_no_verdict_not_a_met_goal():
    from benchmarks.scenarios import goal_row, marginal_or_none

    assert marginal_or_none(48.9, 15, 53.5, 10) is None  # measured: noise, not -0.92 s per LA
    assert marginal_or_none(41.7, 15, 36.0, 10) == pytest.approx(1.14)
    assert goal_row("marginal", None, "").met is None
    assert goal_row("marginal", 0.3, "0.30 s").met is True


def test_best_run_is_the_fastest_that_finished_and_names_every_run():
    from benchmarks.scenarios import best_run

    runs = [{"wall_s": 44.0}, {"returncode": 1}, {"wall_s": 41.26}]
    best, text = best_run(runs, "wall_s")
    assert best is runs[2] and text == "best of 3: 44.0, failed, 41.3 s"
    assert best_run(runs[:1], "wall_s") == (runs[0], "")  # one run: no "best of"
    assert best_run([{"returncode": 1}, {"returncode": 2}], "wall_s")[0] == {"returncode": 1}
    with pytest.raises(ValueError):
        best_run([], "wall_s")


def test_repeated_builds_count_the_first_and_prepare_each_run(tmp_path, monkeypatch):
    from benchmarks.run import Bench
    from benchmarks.scenarios import Report

    times = iter([30.0, 28.5])
    made: list[str] = []
    prepared: list[int] = []
    bench = Bench(load_settings(), tmp_path, Report(), repeat=3)
    monkeypatch.setattr(
        bench, "build", lambda key, file, copy: made.append(key) or {"wall_s": next(times)}
    )
    best, text = bench.repeated(
        "15 LAs: chapter", tmp_path, tmp_path, lambda: prepared.append(1), first={"wall_s": 31}
    )
    assert made == ["15 LAs: chapter (run 2)", "15 LAs: chapter (run 3)"]
    assert len(prepared) == 2 and best == {"wall_s": 28.5}
    assert text == "best of 3: 31.0, 30.0, 28.5 s"
