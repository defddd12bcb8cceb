"""LA outlines (public geometry) are dissolved once and copied from the build cache after."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cwi.config import SHARED_PUBLIC
from cwi.fingerprint import file_digest
from cwi.public import page
from cwi.public.data import PUBLIC_FILES

BOUNDARIES = SHARED_PUBLIC / PUBLIC_FILES["boundaries"]
pytestmark = pytest.mark.skipif(not BOUNDARIES.is_file(), reason="no ../shared boundaries")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """60 real LSOA polygons (read once from the real file, kept as a small GeoJSON) in 2 LAs."""
    from cwi.reference.boundaries import read_boundaries

    areas = read_boundaries(BOUNDARIES, None)
    areas = areas[areas["lsoa_code"].str.startswith("E01")].sort_values("lsoa_code").head(60)
    small = tmp_path_factory.mktemp("geo") / "lsoa.geojson"
    areas.to_file(small, driver="GeoJSON")
    codes = areas["lsoa_code"].tolist()
    return small, pd.DataFrame(
        {"lsoa_code": codes, "la_code": ["E06000001"] * 30 + ["E06000017"] * 30}
    )


def test_outlines_come_from_the_cache_byte_identical_and_a_damaged_entry_is_redone(
    tmp_path: Path, real: tuple[Path, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    boundaries, lookup = real
    cache = tmp_path / "cache"
    plain = page.write_outlines(tmp_path / "plain", boundaries, lookup)
    first = page.write_outlines(tmp_path / "one", boundaries, lookup, cache)
    assert plain is not None and first is not None
    assert pd.read_parquet(first).equals(pd.read_parquet(plain))
    calls: list[int] = []
    real = page.la_outlines

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(page, "la_outlines", counted)
    second = page.write_outlines(tmp_path / "two", boundaries, lookup, cache)
    assert calls == [] and file_digest(second) == file_digest(first)
    # a damaged cache entry is never copied: it is dissolved again
    (kept,) = cache.glob("*.parquet")
    kept.write_bytes(kept.read_bytes()[:-10])
    third = page.write_outlines(tmp_path / "three", boundaries, lookup, cache)
    assert calls == [1] and file_digest(third) == file_digest(first)
    # another lookup (an LSOA moved to the other LA) is another entry
    moved = lookup.copy()
    moved.loc[0, "la_code"] = "E06000017"
    page.write_outlines(tmp_path / "four", boundaries, moved, cache)
    assert calls == [1, 1] and len(list(cache.glob("*.parquet"))) == 2
