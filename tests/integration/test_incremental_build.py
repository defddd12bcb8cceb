"""Stage-level incremental builds on the session's demo build (issue 18).

A second build with nothing changed reads the ingest back and skips cube..store, changing no
byte of the store or the site; a tampered store table or private parquet is noticed and built
again (the rebuilt store from the cached ingest is byte-identical to the one from a full
ingest); a cached build killed at any moment loses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from cwi.config import ROOT, load_settings
from tests.conftest import cwi_command, env_with_venv

pytestmark = pytest.mark.slow

SKIPPED = ["cube", "analysis", "public", "disclosure", "store"]
UP_TO_DATE = "results store up to date: skipped cube, analysis, public, disclosure, store"
INGEST_CACHED = "ingest up to date"


def _cwi(built: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    env = env_with_venv() | {"CWI_SETTINGS": str(built["settings"])}
    proc = subprocess.run(
        cwi_command() + list(args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, f"cwi {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _hashes(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not any(rel == s or rel.startswith(f"{s}/") for s in skip):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def _store_intact(built: dict[str, Path]) -> bool:
    manifest = json.loads((built["results"] / "manifest.json").read_text(encoding="utf-8"))
    files = manifest["files"]
    return files == _hashes(built["results"], skip=("manifest.json", "fragments"))


def test_second_build_skips_ingest_to_store_and_changes_no_byte(built):
    store_before = _hashes(built["results"])
    site_before = _hashes(built["site"])
    proc = _cwi(built, "pre-render")
    assert INGEST_CACHED in proc.stderr
    assert UP_TO_DATE in proc.stderr
    last = json.loads((built["base"] / "build" / "last_build.json").read_text(encoding="utf-8"))
    assert last["skipped"] == SKIPPED
    assert not set(SKIPPED) & set(last["timings_seconds"])  # no zeros recorded as timings
    manifest = json.loads((built["results"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["timings_seconds"]["store"] > 0  # the measured build's times are kept
    assert _hashes(built["results"]) == store_before  # manifest included: not rewritten
    xlsx_before = {p: _cells(p) for p in sorted(built["site"].rglob("*.xlsx"))}
    _cwi(built, "build", "--stages", "site")
    _cwi(built, "post-render")
    # every page, PDF, CSV and figure byte for byte; workbooks cell for cell (openpyxl stamps
    # the time of writing into docProps/core.xml, and the pages stage writes them again)
    assert _hashes(built["site"], skip=tuple(str(p.relative_to(built["site"])) for p in
                                             xlsx_before)) == {
        k: v for k, v in site_before.items() if not k.endswith(".xlsx")
    }  # fmt: skip
    assert {p: _cells(p) for p in xlsx_before} == xlsx_before


def test_tampered_store_table_is_rebuilt_identically_from_the_cached_ingest(built):
    before = _hashes(built["results"], skip=("manifest.json",))
    table = built["results"] / "tables" / "area_rates.csv"
    table.write_bytes(table.read_bytes() + b"E99999999,la,1,2\n")
    proc = _cwi(built, "pre-render")
    assert INGEST_CACHED in proc.stderr
    assert "results store up to date" not in proc.stderr
    # cube..store re-run from the read-back private files: the same bytes as from a full ingest
    assert _hashes(built["results"], skip=("manifest.json",)) == before
    manifest = json.loads((built["results"] / "manifest.json").read_text(encoding="utf-8"))
    assert {i["name"] for i in manifest["inputs"]} >= {"la_extract", "imd", "nspl"}
    assert UP_TO_DATE in _cwi(built, "pre-render").stderr


def test_tampered_private_parquet_means_a_full_ingest(built, tmp_path):
    children = built["private"] / "children.parquet"
    good = tmp_path / "children.parquet"
    good.write_bytes(children.read_bytes())
    children.write_bytes(good.read_bytes()[:-200])  # cut short
    proc = _cwi(built, "build", "--stages", "inputs,reference,ingest")
    assert INGEST_CACHED not in proc.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(children), pd.read_parquet(good))
    assert INGEST_CACHED in _cwi(built, "build", "--stages", "inputs,reference,ingest").stderr


def test_force_ignores_every_cache(built, tmp_path):
    settings = load_settings(built["settings"])
    cache = settings.build_dir / "cache"
    kept = tmp_path / "cache"  # the session's render caches, put back for the tests after this
    shutil.copytree(cache, kept)
    stale = cache / "pages" / "stale-entry"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("from an earlier build", encoding="utf-8")
    try:
        proc = _cwi(built, "build", "--force", "--stages", "inputs,reference,ingest")
        assert INGEST_CACHED not in proc.stderr
        assert not stale.exists()  # the render caches were emptied too
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(kept, cache)
    assert INGEST_CACHED in _cwi(built, "build", "--stages", "inputs,reference,ingest").stderr


def test_killed_cached_build_loses_nothing(built):
    from cwi.ingest import cache as ingest_cache

    settings = load_settings(built["settings"])
    record = ingest_cache.read_record(settings)
    assert record is not None and _store_intact(built)
    env = env_with_venv() | {"CWI_SETTINGS": str(built["settings"])}
    for delay in (0.5, 1.5, 3.0):
        proc = subprocess.Popen(
            [*cwi_command(), "pre-render"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # any worker left behind
        assert _store_intact(built), delay
        assert ingest_cache.read_record(settings) == record, delay
    proc = _cwi(built, "pre-render")
    assert INGEST_CACHED in proc.stderr and UP_TO_DATE in proc.stderr
