"""The store stage's profile charts: drawn once, in parallel, and copied from the cache after.

Runs ``build_profiles`` on a copy of the session's demo results store (fixture ``built``), with
its own build folder (so its own chart cache under ``<build_dir>/cache/charts``).
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from cwi.charts.figure import forget_figures
from cwi.profiles import build_profiles
from cwi.profiles.draw import DrawReport

CHARTS_PER_LA = 5  # spine, deciles, funnel, trend, map


def _outputs(results: Path) -> dict[str, bytes]:
    """Every file the profiles wrote (JSON and PNG), by name."""
    folder = results / "profiles"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.*")}


def _build(settings, workers: int = 2) -> DrawReport:  # noqa: ANN001
    report = DrawReport()
    build_profiles(settings, workers=workers, report=report)
    return report


@pytest.fixture(scope="module")
def cold(built, built_settings, tmp_path_factory):
    """A copy of the demo store, its profiles built once with an empty chart cache."""
    base = tmp_path_factory.mktemp("chart-cache")
    results = base / "results"
    shutil.copytree(built["results"], results, ignore=shutil.ignore_patterns("profiles"))
    (results / "profiles").mkdir()
    settings = built_settings.with_overrides(
        output={"results_dir": str(results), "build_dir": str(base / "build")}
    )
    report = _build(settings)
    return {"settings": settings, "results": results, "base": base, "report": report,
            "outputs": _outputs(results)}  # fmt: skip


def test_a_rebuild_copies_every_chart_and_changes_no_byte(cold, built_settings):
    first = cold["report"]
    n_las = len(list((cold["results"] / "profiles").glob("*.json")))
    assert n_las >= 3 and len(first.drawn) == CHARTS_PER_LA * n_las and first.cached == 0
    again = _build(cold["settings"])
    assert again.drawn == [] and again.cached == CHARTS_PER_LA * n_las
    assert _outputs(cold["results"]) == cold["outputs"]  # every PNG and profile, byte for byte
    # Drawn again without any cache, one process, figures new: the same bytes once more.
    forget_figures()
    uncached = cold["settings"].with_overrides(
        output={"build_dir": str(cold["base"] / "other-build")}
    )
    fresh = _build(uncached, workers=1)
    assert fresh.cached == 0 and len(fresh.drawn) == CHARTS_PER_LA * n_las
    assert _outputs(cold["results"]) == cold["outputs"]


def test_a_tampered_cache_entry_is_drawn_again(cold):
    cache = cold["settings"].build_dir / "cache" / "charts"
    entries = sorted(cache.glob("*/*.png"))
    assert len(entries) == len(cold["report"].drawn)
    entries[0].write_bytes(entries[0].read_bytes() + b"tampered")
    entries[1].unlink()
    report = _build(cold["settings"])
    assert len(report.drawn) == 2  # exactly the two damaged entries
    assert _outputs(cold["results"]) == cold["outputs"]


def test_an_edited_la_redraws_only_its_charts(cold):
    table = cold["results"] / "tables" / "q1_decile_rates.csv"
    original = table.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(original)))
    head = rows[0]
    col = {name: i for i, name in enumerate(head)}
    year = str(cold["settings"].main_year)  # the year the charts show
    target = next(
        r for r in rows[1:]
        if r[col["year"]] == year and r[col["area_type"]] == "la" and r[col["measure"]] == "CIN"
        and r[col["rate"]] and r[col["imd_decile"]] == "1"
    )  # fmt: skip
    code = target[col["area_code"]]
    target[col["rate"]] = repr(float(target[col["rate"]]) * 1.1)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    try:
        table.write_text(out.getvalue(), encoding="utf-8")
        report = _build(cold["settings"])
        assert report.drawn == [f"{code}_deciles.png"]
        now = _outputs(cold["results"])
        changed = sorted(k for k in now if now[k] != cold["outputs"][k])
        assert changed == [f"{code}.json", f"figures/{code}_deciles.png"]
    finally:
        table.write_text(original, encoding="utf-8")


def test_profiles_sharing_the_tables_equal_profiles_built_alone(cold):
    from cwi.profiles.build import ProfileTables, build_profile
    from cwi.store import ResultsStore

    settings = cold["settings"]
    store = ResultsStore(settings)
    shared = ProfileTables.load(store, settings, None)
    codes = sorted(p.stem for p in (cold["results"] / "profiles").glob("*.json"))
    together = [build_profile(c, store, settings, shared) for c in codes]
    assert shared.shared  # the year's rows and the region's ranking were made once
    for code, profile in zip(codes, together, strict=True):
        alone = build_profile(code, store, settings, ProfileTables.load(store, settings, None))
        assert profile.model_dump() == alone.model_dump(), code
