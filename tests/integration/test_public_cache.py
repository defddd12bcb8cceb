"""The public edition's cache gives the same tables as a fresh run, and only while it is fresh."""

from __future__ import annotations

import pandas as pd
import pytest

from cwi.config import load_settings
from cwi.incremental import DigestMemo
from cwi.public import build as public_build

pytestmark = pytest.mark.shared


def test_cached_public_edition_is_the_fresh_one_until_something_changes(
    shared_public, tmp_path, monkeypatch
):
    settings = load_settings().with_overrides(
        output={"build_dir": str(tmp_path / "build")}, public={"data_dir": str(shared_public)}
    )
    memo = DigestMemo(tmp_path / "memo.json")
    fresh = public_build.build_public_cached(shared_public, settings, memo)
    calls: list[object] = []

    def counted(folder, s):  # noqa: ANN001, ANN202 - a fresh run, without its 5 s
        calls.append(folder)
        return fresh

    monkeypatch.setattr(public_build, "build_public", counted)
    again = public_build.build_public_cached(shared_public, settings, memo)
    assert calls == []  # read back
    assert list(again.tables) == list(fresh.tables)
    for name, frame in fresh.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], frame, obj=name)
        assert again.tables[name].to_csv() == frame.to_csv(), name
    pd.testing.assert_frame_equal(again.lsoa_latest, fresh.lsoa_latest)
    assert (again.latest_year, again.notes) == (fresh.latest_year, fresh.notes)
    assert again.inputs.sources == fresh.inputs.sources

    cached = tmp_path / "build" / "cache" / "public" / "england_public.parquet"
    with cached.open("ab") as handle:  # a tampered cache file is never trusted
        handle.write(b"\0")
    public_build.build_public_cached(shared_public, settings, memo)
    assert len(calls) == 1
    public_build.build_public_cached(shared_public, settings, memo)
    assert len(calls) == 1  # stored again, fresh again
    fewer = settings.with_overrides(public={"neighbours": 5})  # a setting of the edition
    public_build.build_public_cached(shared_public, fewer, memo)
    assert len(calls) == 2
    public_build.build_public_cached(shared_public, fewer, memo, force=True)
    assert len(calls) == 3
