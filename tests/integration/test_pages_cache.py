"""The pages stage is skipped when nothing it reads changed, and redoing it changes no byte."""

from __future__ import annotations

import json
from pathlib import Path

from cwi.site.cache import OutputCache, cache_dir
from cwi.site.content import fragments_dir
from cwi.site.pages import CACHE_NAME, stage_key, write_stage


def _snapshot(files: list[str]) -> dict[str, tuple[bytes, int]]:
    return {p: (Path(p).read_bytes(), Path(p).stat().st_mtime_ns) for p in files}


def test_unchanged_store_skips_the_stage_and_a_redone_stage_gives_the_same_bytes(
    built, built_settings, shared_public
):  # shared_public: the England page's figures come from the public data in ../shared
    settings = built_settings
    write_stage(settings)  # other tests of the session may have touched shared outputs
    record = cache_dir(settings.build_dir) / CACHE_NAME / "record.json"
    files = sorted(OutputCache(record).entries)
    root = settings.root.resolve()
    kinds = {
        "page": root / "la_profiles",
        "report figure": root / "report" / "_generated" / "figures",
        "England figure": root / "report" / "_generated" / "england_public",
        "download": root / "downloads",
        "fragment": fragments_dir(settings).resolve(),
    }
    for kind, folder in kinds.items():
        assert any(Path(p).is_relative_to(folder) for p in files), kind
    assert str(root / "_variables.yml") in files
    assert str(root / "downloads" / "cwi_tables.xlsx") in files
    before = _snapshot(files)

    assert write_stage(settings) is False  # same store, settings and code: nothing written
    assert _snapshot(files) == before

    # an output changed behind the build's back: the stage is made again from scratch, with
    # the same bytes as before, and every file that did not change is left untouched
    readme = root / "downloads" / "README.txt"
    readme.write_text("edited by hand\n", encoding="utf-8")
    assert write_stage(settings) is True
    assert sorted(OutputCache(record).entries) == files
    after = _snapshot(files)
    assert {p: b for p, (b, _) in after.items()} == {p: b for p, (b, _) in before.items()}
    untouched = {p: after[p] for p in files if p != str(readme)}
    assert untouched == {p: before[p] for p in untouched}


def test_the_stage_key_follows_the_store_and_settings_not_the_fragments(built, built_settings):
    settings = built_settings
    key = stage_key(settings)
    (fragments_dir(settings) / "home" / "key_findings.md").touch()  # written by the stage
    assert stage_key(settings) == key
    assert stage_key(settings.with_overrides(release={"title": "Another title"})) != key
    assert stage_key(settings, standalone=True) != key
    table = settings.results_dir / "tables" / "area_rates.csv"
    saved = table.read_bytes()
    try:
        table.write_bytes(saved + b"\n")
        assert stage_key(settings) != key
    finally:
        table.write_bytes(saved)
    assert stage_key(settings) == key
    # the build records its stage times in the manifest after this stage: not a change
    manifest_file = settings.results_dir / "manifest.json"
    saved = manifest_file.read_bytes()
    try:
        manifest = json.loads(saved)
        manifest["timings_seconds"] = {"pages": 123.4}
        manifest_file.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        assert stage_key(settings) == key
        manifest["built_at"] = "1999-01-01T00:00:00Z"  # shown in the report's metadata
        manifest_file.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        assert stage_key(settings) != key
    finally:
        manifest_file.write_bytes(saved)
    assert stage_key(settings) == key


def test_every_published_table_reads_the_same_from_the_fast_workbook(built, tmp_path):
    import pandas as pd

    from cwi.site.downloads import write_csv, write_workbook
    from tests.downloads_compare import describe
    from tests.downloads_reference import write_csv as ref_csv
    from tests.downloads_reference import write_workbook as ref_workbook

    tables = []
    for path in sorted((built["results"] / "tables").glob("*.csv")):
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
        if len(frame):
            tables.append((path.stem, path.stem.replace("_", " "), frame))
            write_csv(frame, tmp_path / "new.csv")
            ref_csv(frame, tmp_path / "ref.csv")
            assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    assert len(tables) > 20
    args = ("CWI tables", ["A note."], "Demo")
    write_workbook(tables, tmp_path / "new.xlsx", *args)
    ref_workbook(tables, tmp_path / "ref.xlsx", *args)
    assert describe(tmp_path / "new.xlsx") == describe(tmp_path / "ref.xlsx")
