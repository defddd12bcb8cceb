"""The prescan of the downloads: findings kept for the scan, never a different finding.

The build scans ``downloads/`` in a worker while the site is rendered
(:func:`cwi.pipeline.start_prescan`); the scan stage then finds those files in its cache under
the names and digests they have in the site. A file published with other bytes, or a leak in
a prescanned file, must still be found.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cwi import leaks
from cwi.leaks import prescan, scan_paths

TH: dict[str, int] = {}
SENTINEL = "ZQXCHILD0042"
CLEAN = "area_code,imd_decile,n\nX1,1,412\nX1,2,380\n"
LEAKY = "area_code,imd_decile,n\nX1,1,3\nX1,2,380\n"


def _project(tmp_path: Path) -> tuple[Path, Path, Path]:
    downloads, site = tmp_path / "downloads", tmp_path / "_site"
    downloads.mkdir()
    (downloads / "clean.csv").write_text(CLEAN)
    (downloads / "q1_decile_rates.csv").write_text(LEAKY)
    (downloads / "notes.txt").write_text(f"planted {SENTINEL}\n")
    return downloads, site, tmp_path / "build" / "cache" / "scan"


def _names(downloads: Path) -> dict[Path, str]:
    return {p: f"downloads/{p.name}" for p in sorted(downloads.iterdir())}


def test_prescanned_files_are_not_read_again_and_keep_their_findings(tmp_path, scanned_files):
    downloads, site, cache = _project(tmp_path)
    (site / "index.html").parent.mkdir(parents=True)
    (site / "index.html").write_text("<html><body><p>Nothing here.</p></body></html>")
    assert prescan(_names(downloads), [SENTINEL], cache, years=[2023]) == 3
    shutil.copytree(downloads, site / "downloads")  # as the site stage publishes them

    uncached = scan_paths(site, [SENTINEL], TH, workers=1, years=[2023])
    scanned = scanned_files
    scanned.clear()
    found = scan_paths(site, [SENTINEL], TH, workers=1, years=[2023], cache=cache)
    assert found == uncached  # the same findings, leaks included
    assert scanned == ["index.html"]  # the downloads came from the prescan
    kinds = {(Path(f.file).name, f.kind) for f in found}
    assert ("q1_decile_rates.csv", "small count") in kinds
    assert ("notes.txt", "sentinel") in kinds


def test_a_file_published_with_other_bytes_or_other_sentinels_is_scanned_again(
    tmp_path, scanned_files
):
    downloads, site, cache = _project(tmp_path)
    prescan(_names(downloads), [SENTINEL], cache, years=[2023])
    shutil.copytree(downloads, site / "downloads")
    (site / "downloads" / "q1_decile_rates.csv").write_text(CLEAN)  # changed after it
    scanned = scanned_files
    scanned.clear()  # what the prescan read
    found = scan_paths(site, [SENTINEL], TH, workers=1, years=[2023], cache=cache)
    assert scanned == ["q1_decile_rates.csv"]
    assert {f.kind for f in found} == {"sentinel"}  # the published bytes' findings
    scanned.clear()
    other = scan_paths(site, ["OTHER"], TH, workers=1, years=[2023], cache=cache)
    assert sorted(scanned) == ["clean.csv", "notes.txt", "q1_decile_rates.csv"]
    assert "sentinel" not in {f.kind for f in other}


def test_prescan_keeps_the_cache_entries_of_other_files(tmp_path):
    downloads, site, cache = _project(tmp_path)
    site.mkdir()
    (site / "index.html").write_text("<html><body>fine</body></html>")
    scan_paths(site, [SENTINEL], TH, workers=1, years=[2023], cache=cache)  # one entry
    before = set(leaks.ScanCache(cache).entries)
    prescan(_names(downloads), [SENTINEL], cache, years=[2023])
    after = set(leaks.ScanCache(cache).entries)
    assert before < after and len(after) == len(before) + 3
    assert prescan(_names(downloads), [SENTINEL], cache, years=[2023]) == 0  # all cached
