"""Stage-level incremental builds: what each key depends on, the digest memo, the ingest record."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from cwi.config import load_settings
from cwi.fingerprint import file_digest
from cwi.incremental import (
    DigestMemo,
    ingest_key,
    key_tag,
    reference_fingerprint,
    store_key,
)
from cwi.ingest import cache as ingest_cache
from cwi.ingest.inventory import take_inventory

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


@pytest.fixture
def region(tmp_path):
    """A tiny extracts root and demo reference folder, with settings pointing at them."""
    demo = tmp_path / "demo"
    for la in ("E06000001", "E06000002"):
        folder = demo / "la" / la / "2023"
        folder.mkdir(parents=True)
        (folder / "ssda903_header.csv").write_text(f"CHILD,SEX\n{la}1,1\n", encoding="utf-8")
        (folder / "notes.md").write_text("documentation", encoding="utf-8")
    ref = demo / "reference"
    ref.mkdir()
    (ref / "nspl.csv").write_text("pcds,lsoa11\nAB1 2CD,E01000001\n", encoding="utf-8")
    (ref / "la_lookup.csv").write_text("la_code,la_name\nE06000001,A\n", encoding="utf-8")
    settings = load_settings().with_overrides(
        data={"demo_dir": str(demo), "private_dir": str(tmp_path / "private")},
        output={"build_dir": str(tmp_path / "build")},
    )
    return settings, demo


def _key(settings, demo, memo, pseudo=KEY_A):
    root = demo / "la"
    inv = take_inventory(root, {"E06000001", "E06000002"}, settings.years)
    return ingest_key(
        settings, root, inv.entries, reference_fingerprint(settings, memo), pseudo, memo
    )


def test_ingest_key_follows_extracts_settings_key_and_reference(region, tmp_path):
    settings, demo = region
    memo = DigestMemo(tmp_path / "memo.json")
    base = _key(settings, demo, memo)
    assert _key(settings, demo, memo) == base  # nothing changed: same key

    extract = demo / "la" / "E06000001" / "2023" / "ssda903_header.csv"
    old = extract.read_bytes()
    extract.write_bytes(old.replace(b",1\n", b",2\n"))  # one extract file, same size
    assert _key(settings, demo, memo) != base
    extract.write_bytes(old)
    assert _key(settings, demo, memo) == base

    assert _key(settings, demo, memo, pseudo=KEY_B) != base  # another pseudonym key
    assert key_tag(KEY_A) != KEY_A.hex() and KEY_A.hex() not in key_tag(KEY_A)

    nspl = demo / "reference" / "nspl.csv"
    nspl.write_text("pcds,lsoa11\nAB1 2CD,E01000002\n", encoding="utf-8")  # a reference file
    assert _key(settings, demo, memo) != base

    other_years = settings.with_overrides(release={"years": [2022, 2023]})
    assert _key(other_years, demo, memo) != _key(settings, demo, memo)
    # accepting an LA's file errors changes no output: the checks run again on a cached ingest
    accepting = settings.with_overrides(data={"accept_errors": ["E06000001"]})
    assert _key(accepting, demo, memo) == _key(settings, demo, memo)

    current = _key(settings, demo, memo)
    # documentation beside the extracts is listed as ignored, never read: no new ingest
    (demo / "la" / "E06000002" / "2023" / "notes.md").write_text("edited", encoding="utf-8")
    assert _key(settings, demo, memo) == current
    # a new file the ingest would read is a new input
    (demo / "la" / "E06000002" / "2023" / "cin.xml").write_text("<x/>", encoding="utf-8")
    assert _key(settings, demo, memo) != current


def test_store_key_follows_thresholds_ingest_and_reference(region, tmp_path):
    settings, _demo = region
    memo = DigestMemo(tmp_path / "memo.json")
    base = store_key(settings, "ingest-1", "ref-1", memo)
    assert store_key(settings, "ingest-1", "ref-1", memo) == base
    stricter = settings.with_overrides(disclosure={"la_total_min": 7})
    assert store_key(stricter, "ingest-1", "ref-1", memo) != base
    assert store_key(settings, "ingest-2", "ref-1", memo) != base
    assert store_key(settings, "ingest-1", "ref-2", memo) != base


def test_memo_trusts_stat_only_when_the_file_cannot_have_changed_unseen(tmp_path):
    path = tmp_path / "extract.csv"
    path.write_bytes(b"CHILD\nA1\n")
    memo = DigestMemo(tmp_path / "memo.json")
    assert memo.digest(path) == file_digest(path)
    # just written: the change and the hashing fall in the same window, so it is hashed again
    assert memo.digest(path) == file_digest(path) and memo.hashed == 2
    entry = memo.entries[str(path)]
    entry[4] += 10 * 10**9  # as if the digest had been taken 10 s after the last change
    assert memo.digest(path) == file_digest(path) and memo.remembered == 1
    # same size, modification time put back: the change time still moves, so it is seen
    st = path.stat()
    path.write_bytes(b"CHILD\nB2\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    assert memo.digest(path) == file_digest(path) != entry[5]
    memo.save()
    assert str(path) in json.loads((tmp_path / "memo.json").read_text())
    assert memo.digest(tmp_path / "missing.csv") is None


def test_ingest_record_vouches_for_its_files_only_while_intact(region, tmp_path):
    settings, _demo = region
    memo = DigestMemo(tmp_path / "memo.json")
    private, build = settings.private_dir, settings.build_dir
    frame = pd.DataFrame({"la_code": ["E06000001"], "year": [2023], "file": ["x"],
                          "rows_in": [1], "accepted": [1], "rejected": [0]})  # fmt: skip
    for name in ingest_cache.PRIVATE_FILES:
        (private / name).parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(private / name)
    build.mkdir(parents=True, exist_ok=True)
    for name in ingest_cache.BUILD_FILES:
        (build / name).write_text("a,b\n1,2\n", encoding="utf-8")
    ingest_cache.write_record(settings, "k1", "ref", ["E06000001"], [{"name": "x"}], 1, memo)
    record = json.loads((private / ingest_cache.RECORD).read_text())
    assert KEY_A.hex() not in json.dumps(record)
    back = ingest_cache.read_back(settings, "k1", memo)
    assert back is not None and back.rows == 1 and back.inputs == [{"name": "x"}]
    pd.testing.assert_frame_equal(back.conservation, frame)
    assert ingest_cache.read_back(settings, "k2", memo) is None  # another key
    with (private / "children.parquet").open("ab") as handle:  # a tampered private file
        handle.write(b"\0")
    assert ingest_cache.read_back(settings, "k1", memo) is None
    frame.to_parquet(private / "children.parquet")
    assert ingest_cache.read_back(settings, "k1", memo) is not None
    (build / "validation_report.csv").unlink()  # a report gone
    assert ingest_cache.read_back(settings, "k1", memo) is None
