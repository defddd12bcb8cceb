"""The public edition built in a worker beside the cube gives the tables of an in-process build.

The build starts the public edition (and then the LA outlines) in a worker process while the
cube and the analysis run (``cwi.pipeline.start_public``); the public stage and the store stage
read what the worker left in the caches. The tables and outlines must be those the build's own
process would have made, a worker that failed must leave the work to the build, and a failed
build must not leave the worker running.
"""

from __future__ import annotations

import os
import time

import geopandas as gpd
import pandas as pd
import pytest

from cwi import pipeline
from cwi.config import load_settings
from cwi.public import build as public_build
from cwi.public.data import PUBLIC_FILES
from cwi.public.page import OUTLINES, la_outlines

pytestmark = pytest.mark.shared


@pytest.fixture
def settings(shared_public, tmp_path):
    return load_settings().with_overrides(
        output={"build_dir": str(tmp_path / "build")},
        public={"data_dir": str(shared_public), "enabled": True},
    )


def test_worker_edition_and_outlines_are_the_in_process_ones(settings, shared_public, tmp_path):
    state = pipeline.BuildState(settings=settings)
    pipeline.start_public(state, ["cube", "analysis", "public", "disclosure", "store"])
    assert set(state.background) == {"public", "outlines"}
    worker_pid = next(iter(state.pools[0]._processes))
    try:
        pipeline.stage_public(state)
        root = tmp_path / "store"
        pipeline.write_store_outlines(state, root)
    finally:
        pipeline.stop_background(state, failed=False)
    assert worker_pid != os.getpid()

    fresh = public_build.build_public(shared_public, settings)
    assert list(state.public.tables) == list(fresh.tables)
    for name, frame in fresh.tables.items():
        assert state.public.tables[name].to_csv() == frame.to_csv(), name
    assert state.public.notes == fresh.notes
    pd.testing.assert_frame_equal(state.public.lsoa_latest, fresh.lsoa_latest)

    kept = gpd.read_parquet(root / OUTLINES)
    direct = la_outlines(shared_public / PUBLIC_FILES["boundaries"], fresh.lsoa_latest)
    assert list(kept["la_code"]) == list(direct["la_code"])
    assert kept.geometry.geom_equals_exact(direct.geometry, tolerance=0).all()


def test_outlines_worker_never_builds_the_edition(settings, shared_public, monkeypatch):
    def refuse(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the outlines worker built the public edition")

    monkeypatch.setattr(public_build, "build_public", refuse)
    drawn = []
    monkeypatch.setattr("cwi.public.page.cached_outlines", lambda *a, **k: drawn.append(a) or None)
    public_build.warm_outlines(shared_public, settings)  # no fresh edition in the cache
    assert drawn == []
    assert not (settings.build_dir / "cache" / "outlines").exists()


def test_a_failed_worker_leaves_the_edition_to_the_build(settings, shared_public, monkeypatch):
    state = pipeline.BuildState(settings=settings)

    class Failed:  # a finished future whose worker raised
        def done(self):  # noqa: ANN202
            return True

        def result(self):  # noqa: ANN202
            raise RuntimeError("worker died")

    state.background["public"] = Failed()
    built = []

    def in_process(folder, s, memo, force=False):  # noqa: ANN001, ANN202
        built.append(force)
        return public_build.PublicResult({}, _inputs(), None, 2024, [])

    monkeypatch.setattr(public_build, "build_public_cached", in_process)
    pipeline.stage_public(state)
    assert built == [False]
    assert "public" not in state.background


def _inputs():  # noqa: ANN202
    from cwi.public.data import PublicInputs

    return PublicInputs(
        base=pd.DataFrame(), imd={}, population={}, dfe=pd.DataFrame(), s251=None,
        la_names={}, notes=[], sources=[],
    )  # fmt: skip


def test_a_failed_build_kills_the_worker(settings):
    from cwi.io import worker_pool

    state = pipeline.BuildState(settings=settings)
    pool = worker_pool(1)
    state.pools.append(pool)
    state.background["public"] = pool.submit(time.sleep, 60)
    time.sleep(0.5)  # the worker has started the task
    procs = list(pool._processes.values())
    assert procs and all(p.is_alive() for p in procs)
    start = time.monotonic()
    pipeline.stop_background(state, failed=True)
    assert time.monotonic() - start < 10
    assert not any(p.is_alive() for p in procs)
    assert state.pools == [] and state.background == {}
