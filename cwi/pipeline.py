"""The build: the stages of the one-way flow, run in order with a progress bar.

``inputs -> reference -> ingest -> cube -> analysis -> disclosure -> store -> pages -> site -> pdf
-> scan``. Each stage is a function of the :class:`BuildState`; a stage that needs the output of
an earlier one that did not run in this process reads it back from disk (the private folder or
the results store), so Quarto's ``pre-render`` and ``post-render`` hooks can run the two halves
separately.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cwi.config import Settings, SettingsError
from cwi.io import BuildLock, write_parquet, write_text

log = logging.getLogger("cwi")
console = Console(stderr=True)


class BuildError(RuntimeError):
    """A stage failed in a way the user can fix; the message says how."""


@dataclass
class BuildState:
    """What the stages hand each other within one process."""

    settings: Settings
    reference: Any = None
    ingest: Any = None
    cube: Any = None
    raw_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    progress: Any = None  # the build's rich Progress, for stages that show their own steps
    public: Any = None  # the public-data edition's result (cwi.public.build.PublicResult)
    force: bool = False  # ignore every cache (``cwi build --force``)
    memo: Any = None  # remembered file digests (cwi.incremental.DigestMemo)
    reference_fp: str | None = None  # fingerprint of the reference files and settings
    ingest_key: str | None = None  # key of the ingest's inputs (set by the ingest stage)
    store_fresh: bool | None = None  # the results store is up to date (decided once)
    skipped: list[str] = field(default_factory=list)  # stages skipped as up to date
    # work started in a worker process for a later stage (name -> future; see start_public)
    background: dict[str, Any] = field(default_factory=dict)
    pools: list[Any] = field(default_factory=list)  # the worker pools of that work
    early: dict[str, Any] = field(default_factory=dict)  # later stages' work done meanwhile

    # ---- lazy loaders for stages run on their own -----------------------------------------
    def need_memo(self) -> Any:
        """Return the build's digest memo (``<build_dir>/cache/digests.json``)."""
        if self.memo is None:
            from cwi.incremental import memo_for

            self.memo = memo_for(self.settings)
        return self.memo

    def need_reference_fp(self) -> str:
        """Return the reference fingerprint (files hashed, none parsed)."""
        if self.reference_fp is None:
            from cwi.incremental import reference_fingerprint

            self.reference_fp = reference_fingerprint(self.settings, self.need_memo())
        return self.reference_fp

    def need_reference(self) -> Any:
        """Return the reference data, loading it if no stage has yet."""
        if self.reference is None:
            from cwi.reference import load_reference

            self.reference = load_reference(self.settings)
        return self.reference

    def need_cube(self) -> Any:
        """Return the count cube, reading the private copy if no stage built it here."""
        if self.cube is None:
            from cwi.cube import Cube

            folder = self.settings.private_dir / "cube"
            if not (folder / "counts.parquet").is_file():
                raise BuildError(
                    "No count cube yet: run `cwi build` (or the ingest and cube stages)."
                )
            self.cube = Cube.load(folder)
        return self.cube


# ---- stages ----------------------------------------------------------------------------------


def stage_inputs(state: BuildState) -> None:
    """Make sure the inputs exist: generate the demo region when it is the configured source."""
    s = state.settings
    if s.data_source == "public":
        return  # published tables only: nothing to generate or ingest
    if s.data_source in ("demo", "real-geography"):
        from cwi.inputs import ensure_demo_inputs

        ensure_demo_inputs(s)
    elif not s.extracts_dir.is_dir():
        raise BuildError(
            f"No LA extracts at {s.extracts_dir}. Put one folder per LA there (see data/README.md) "
            "or set data.source: demo in settings.yml."
        )


def stage_reference(state: BuildState) -> None:
    """Fingerprint the reference data: IMD, LSOA lookups, populations, postcodes, LA names.

    The files are hashed, not parsed: the later stages load them when they need them (a build
    whose results store is up to date never does; ``--force`` loads them here).
    """
    state.reference = None
    state.reference_fp = None
    state.need_reference_fp()
    if state.force:
        state.need_reference()


def check_la_list(settings: Settings, known: set[str]) -> None:
    """Refuse ``release.la_list`` codes that are not LAs of the reference data."""
    unknown = [c for c in settings.la_list or [] if c not in known]
    if unknown:
        raise SettingsError(
            f"Settings error: release.la_list {unknown} not among the {len(known)} LAs of the "
            f"reference data (e.g. {', '.join(sorted(known)[:3])}); use their codes, 'all', or "
            "set data.region_code to their region"
        )


def check_years(settings: Settings, jobs: list[tuple[Path, str, int]]) -> None:
    """Refuse ``release.years`` that no extract folder holds (a year of nothing but zeros)."""
    found = sorted({year for _d, _la, year in jobs})
    empty = [y for y in settings.years if y not in found]
    if jobs and empty:
        raise SettingsError(
            f"Settings error: release.years {empty} not held by any extract folder (years "
            f"found: {found}); remove them from release.years or add their extracts"
        )


def stage_ingest(state: BuildState) -> None:
    """Ingest every LA extract: validate rows, pseudonymise, link postcode -> LSOA.

    When the extracts, the reference files, the settings that shape the ingest, the pseudonym
    key and the code are those of the last full ingest, and its private outputs are intact,
    they are read back instead (:mod:`cwi.ingest.cache`); the checks run again either way.
    """
    from cwi.incremental import ingest_key
    from cwi.ingest import cache as ingest_cache
    from cwi.ingest import ingest_all
    from cwi.ingest.inventory import take_inventory
    from cwi.ingest.pseudo import load_key
    from cwi.ingest.report import safe_csv_write

    s = state.settings
    memo = state.need_memo()
    reference_fp = state.need_reference_fp()
    root = s.demo_dir / "la" if s.data_source in ("demo", "real-geography") else s.extracts_dir
    record = None if state.force else ingest_cache.read_record(s)
    if record and record.get("reference") == reference_fp and record.get("known_las"):
        known = set(record["known_las"])  # same reference files and settings: same LAs
    else:
        known = set(state.need_reference().la["la_code"])
    check_la_list(s, known)
    inventory = take_inventory(root, known, s.years, s.la_list)
    safe_csv_write(inventory.entries, s.build_dir / "inputs_inventory.csv")
    if inventory.errors:
        raise BuildError(
            "The extracts root holds what the build will not guess about:\n  "
            + "\n  ".join(inventory.errors)
            + f"\n(every entry is listed in {s.build_dir / 'inputs_inventory.csv'})"
        )
    missing = sorted(set(s.la_list or []) - set(inventory.la_codes))
    if missing:
        raise BuildError(
            f"release.la_list names {missing} but {root} holds no extract folder for them in "
            f"the years {s.years}; add their extracts or remove them from release.la_list."
        )
    check_years(s, inventory.jobs)
    if not inventory.jobs:
        raise BuildError(
            f"No extract to read under {root} for the years {s.years}; see "
            f"{s.build_dir / 'inputs_inventory.csv'} for what was found and why it was not read."
        )
    for rec in inventory.ignored_years.to_dict("records"):
        say(f"Not read: {rec['path']}/ ({rec['reason']}; add the year to release.years to use it)")
    key = ingest_key(s, root, inventory.entries, reference_fp, load_key(s), memo)
    state.ingest_key = key
    cached = None if state.force else ingest_cache.read_back(s, key, memo)
    if cached is not None:
        state.inputs.extend(cached.inputs)
        say(
            "ingest up to date (extracts, reference files, settings, pseudonym key and code "
            f"unchanged): {cached.rows:,} child-measure rows read back from {s.private_dir}"
        )
        check_ingest(cached.findings, cached.conservation, cached.supplied, s, cached.rows)
        return
    ingest_cache.forget(s)  # the files it vouches for are about to be replaced
    ref = state.need_reference()
    total = len(inventory.jobs)
    bar = state.progress
    task = bar.add_task("  LA-years", total=total) if bar is not None else None

    def tick(_la: str, _year: int) -> None:
        if bar is not None:
            bar.advance(task)

    try:
        result = ingest_all(
            root, ref.postcodes, s, years=s.years, progress=tick, jobs=inventory.jobs
        )
    finally:
        if bar is not None:
            bar.remove_task(task)
    state.ingest = result
    inputs = extract_inputs(root, result.conservation, memo)
    state.inputs.extend(inputs)
    s.private_dir.mkdir(parents=True, exist_ok=True)
    write_parquet(result.children, s.private_dir / "children.parquet", index=False)
    write_parquet(result.linkage, s.private_dir / "linkage.parquet", index=False)
    write_parquet(result.conservation, s.private_dir / "conservation.parquet", index=False)
    write_parquet(result.supplied, s.private_dir / "supplied.parquet", index=False)
    write_parquet(result.findings, s.private_dir / "findings.parquet", index=False)
    safe_csv_write(result.supplied, s.build_dir / "supplied.csv")
    safe_csv_write(result.findings, s.build_dir / "validation_report.csv")
    ingest_cache.write_record(
        s, key, reference_fp, sorted(known), inputs, len(result.children), memo
    )  # last: it vouches for the files above
    check_ingest(result.findings, result.conservation, result.supplied, s, len(result.children))


def check_ingest(
    findings: pd.DataFrame,
    conservation: pd.DataFrame,
    supplied: pd.DataFrame,
    s: Settings,
    rows: int,
) -> None:
    """The checks every ingest ends with, fresh or read back: file errors, measures, rows."""
    stop_on_file_errors(findings, conservation, s)
    missing_measures = measures_missing(supplied)
    if missing_measures:
        raise BuildError(
            "Some LA-years lack a statutory table, so their rates would count as true zeros:\n  "
            + "\n  ".join(missing_measures)
            + "\nAdd the missing file(s), or move that year folder out of the extracts root."
        )
    bad = conservation[
        conservation["rows_in"] != conservation["accepted"] + conservation["rejected"]
    ]
    if not bad.empty:
        raise BuildError(
            f"Conservation check failed for {len(bad)} file(s); see validation_report.csv."
        )
    summary = findings.groupby(["rule_code", "severity"]).size()
    log.info("ingest: %d child-measure rows; findings per rule: %s", rows, summary.to_dict())


def say(message: str) -> None:
    """Print one plain line for the user (and log it)."""
    log.info(message)
    sys.stderr.write(message + "\n")


def stop_on_file_errors(findings: pd.DataFrame, conservation: pd.DataFrame, s: Settings) -> None:
    """Stop the build when a file of an LA was rejected whole, unless the user accepts it."""
    errors = findings[
        (findings["severity"] == "error")
        & findings["rule_code"].astype(str).str.startswith("FILE_")
    ]
    if errors.empty:
        return
    la_of = dict(zip(conservation["file"], conservation["la_code"], strict=False))
    lines = []
    for rec in errors.drop_duplicates(["file", "rule_code"]).to_dict("records"):
        la = la_of.get(rec["file"]) or str(rec["file"]).split("/")[0]
        if la in s.accept_errors:
            say(f"Accepted (data.accept_errors): {rec['file']}: {rec['rule_code']}")
            continue
        column = f" [{rec['column']}]" if rec.get("column") else ""
        lines.append(f"{la}: {rec['file']}: {rec['rule_code']}{column}: {rec['message']}")
    if lines:
        raise BuildError(
            "File-level errors (the whole file was not used):\n  "
            + "\n  ".join(lines)
            + "\nFix the file(s), or add the LA code to data.accept_errors to build without "
            "them (see validation_report.csv)."
        )


def measures_missing(supplied: pd.DataFrame) -> list[str]:
    """``LA year: lacks ...`` for supplied LA-years that do not cover every measure."""
    from cwi.schemas import MEASURES

    out = []
    for (la, year), grp in supplied.groupby(["la_code", "year"]):
        lacking = [m for m in MEASURES if m not in set(grp["measure"])]
        if lacking:
            what = "the SSDA903 return" if lacking == ["CLA"] else "the CIN census"
            if len(lacking) == 3:
                what = "every table"
            out.append(f"{la} {year}: no accepted {what} ({', '.join(lacking)})")
    return out


def extract_inputs(root: Path, conservation: pd.DataFrame, memo: Any) -> list[dict[str, Any]]:
    """Manifest entries (path, sha256, rows) for every LA extract file the ingest read."""
    entries = []
    for rec in conservation.drop_duplicates("file").to_dict("records"):
        path = root / str(rec["file"])
        if path.is_file():
            entries.append(
                {
                    "name": "la_extract",
                    "path": str(rec["file"]),
                    "sha256": memo.digest(path),
                    "rows": int(rec["rows_in"]),
                    "vintage": str(rec["year"]),
                }
            )
    return entries


def stage_cube(state: BuildState) -> None:
    """Build the count cube (LSOA level, private) from the ingested children and reference data."""
    from cwi.cube_build import build_cube

    private = state.settings.private_dir
    if state.ingest is None:
        children = pd.read_parquet(private / "children.parquet")
        path = private / "supplied.parquet"
        supplied = pd.read_parquet(path) if path.is_file() else None
    else:
        children = state.ingest.children
        supplied = state.ingest.supplied
    ref = state.need_reference()
    cube = build_cube(children, ref, state.settings, supplied=supplied)
    cube, coverage = check_postcode_coverage(cube, ref, state.settings)
    coverage.to_parquet(private / "la_coverage.parquet", index=False)
    state.cube = cube
    state.cube.save(private / "cube")


def check_postcode_coverage(cube: Any, ref: Any, s: Settings) -> tuple[Any, pd.DataFrame]:
    """Stop (or restrict, by setting) when the postcode directory misses part of an LA.

    Returns the cube (restricted to covered LSOAs for under-covered LAs when
    ``data.postcode_coverage_action`` is ``restrict``) and the per-LA coverage table to
    publish: shares only, and a note for every restricted LA.
    """
    from cwi.cube import Cube
    from cwi.reference.coverage import (
        coverage_message,
        coverage_note,
        live_postcode_lsoas,
        postcode_coverage,
    )

    lsoa = cube.lsoa.merge(cube.la[["la_code", "la_name"]], on="la_code", how="left")
    pop = cube.population[cube.population["year"] == s.main_year]
    if pop.empty:
        pop = cube.population
    cov = postcode_coverage(lsoa, pop, ref.postcodes)
    low = cov[cov["share_lsoa_covered"] < s.postcode_coverage_min]
    cov["denominators"] = "all LSOAs"
    cov["note"] = ""
    if not low.empty:
        if s.postcode_coverage_action == "stop":
            files = [
                Path(e["path"]).name
                for e in getattr(ref, "sources", [])
                if "nspl" in str(e.get("name", "")).lower()
                or "postcode" in str(e.get("name", "")).lower()
            ]
            raise BuildError(
                coverage_message(cov, lsoa, ref.postcodes, s.postcode_coverage_min, files)
            )
        covered = live_postcode_lsoas(ref.postcodes)
        drop = set(lsoa.loc[lsoa["la_code"].isin(low["la_code"]) & ~lsoa["lsoa_code"].isin(covered),
                            "lsoa_code"])  # fmt: skip
        cube = Cube(
            counts=cube.counts[~cube.counts["lsoa_code"].isin(drop)].reset_index(drop=True),
            population=cube.population[~cube.population["lsoa_code"].isin(drop)].reset_index(
                drop=True
            ),
            population_ethnicity=cube.population_ethnicity[
                ~cube.population_ethnicity["lsoa_code"].isin(drop)
            ].reset_index(drop=True),
            lsoa=cube.lsoa[~cube.lsoa["lsoa_code"].isin(drop)].reset_index(drop=True),
            la=cube.la,
        )
        restricted = cov["la_code"].isin(low["la_code"])
        cov.loc[restricted, "denominators"] = "LSOAs with postcodes only"
        cov.loc[restricted, "note"] = [
            coverage_note(r) for r in cov[restricted].to_dict("records")
        ]
        for note in cov.loc[restricted, "note"]:
            say(f"Restricted (data.postcode_coverage_action: restrict): {note}")
    cov["share_lsoa_covered"] = cov["share_lsoa_covered"].round(3)
    cov["share_children_covered"] = cov["share_children_covered"].round(3)
    published = cov[["la_code", "la_name", "share_lsoa_covered", "share_children_covered",
                     "denominators", "note"]]  # fmt: skip
    return cube, published.reset_index(drop=True)


def read_neighbours(settings: Settings) -> dict[str, list[str]] | None:
    """Statistical neighbours from ``analysis.neighbours_file`` (CSV la_code,neighbour_code)."""
    path = settings.neighbours_file
    if path is None:
        return None
    try:
        frame = pd.read_csv(path, dtype=str)
    except (OSError, pd.errors.ParserError) as exc:
        raise BuildError(
            f"Cannot read the statistical neighbours file {path}: {exc}. Fix the path in "
            "analysis.neighbours_file or set it to null."
        ) from exc
    missing = {"la_code", "neighbour_code"} - set(frame.columns)
    if missing:
        raise BuildError(
            f"{path} lacks column(s) {sorted(missing)}; expected la_code,neighbour_code."
        )
    return frame.groupby("la_code")["neighbour_code"].apply(list).to_dict()


def stage_analysis(state: BuildState) -> None:
    """Run every analysis once on the cube (Q1-Q4, England, allocation)."""
    from cwi.analysis import run_all

    england = getattr(state.need_reference(), "england", None)
    neighbours = read_neighbours(state.settings)
    state.raw_tables = dict(
        run_all(state.need_cube(), state.settings, england=england, neighbours=neighbours)
    )
    add_coverage_tables(state)
    linkage_file = state.settings.private_dir / "linkage.parquet"
    if state.ingest is not None:
        state.raw_tables["linkage"] = state.ingest.linkage
    elif linkage_file.is_file():
        state.raw_tables["linkage"] = pd.read_parquet(linkage_file)
    add_profile_tables(state)


def add_profile_tables(state: BuildState) -> None:
    """Public tables the LA profiles need: England's rates and spread, DfE LA rates, ingest QA."""
    from cwi.profiles.reference import ingest_quality, profile_reference_tables

    cube = state.need_cube()
    codes = [str(c) for c in cube.la["la_code"]]
    state.raw_tables.update(
        profile_reference_tables(state.settings, state.need_reference(), codes)
    )
    conservation_file = state.settings.private_dir / "conservation.parquet"
    if state.ingest is not None:
        conservation = state.ingest.conservation
    elif conservation_file.is_file():
        conservation = pd.read_parquet(conservation_file)
    else:
        conservation = None
    state.raw_tables["ingest_quality"] = ingest_quality(conservation)


def stage_public(state: BuildState) -> None:
    """The public-data edition: every English LA and year from published tables (issue 14).

    Runs when ``data.source`` is ``public`` (then it is the whole analysis) or, in any build,
    when ``public.enabled`` and the public files are found; its tables join the others on
    their way through disclosure control to the results store.
    """
    from cwi.public.build import build_public_cached, public_available

    s = state.settings
    if state.public is not None:
        return
    folder = s.public_data_dir
    if not public_available(folder):
        if s.data_source == "public":
            raise BuildError(
                f"The public-data edition needs the published files under {folder} (laid out "
                "as ../shared/data/public); set public.data_dir in settings.yml."
            )
        log.info("public edition skipped: no public files under %s", folder)
        return
    if s.data_source != "public" and not s.public.enabled:
        return
    force = state.force
    future = state.background.pop("public", None)
    if future is not None:  # the worker started with the cube has filled the caches
        if not future.done() and "outlines" in state.background and state.cube is not None:
            prepare_store_meanwhile(state)  # instead of idling until the worker is done
        try:
            seconds = future.result()
        except Exception as exc:  # noqa: BLE001 - the edition is then built here, as always
            log.warning("public edition worker failed (%r); building it in this process", exc)
        else:
            say(f"  public edition built alongside the cube and analysis ({seconds:.1f} s)")
            force = False  # its cache was written by this build
    state.public = build_public_cached(folder, s, state.need_memo(), force=force)
    state.raw_tables.update(state.public.tables)
    state.inputs.extend(state.public.inputs.sources)


def start_public(state: BuildState, order: Sequence[str]) -> None:
    """Start the public edition (and its LA outlines) in a worker, if this build will need it.

    The edition reads only the public files, so it runs on the second core while the cube and
    the analysis run here; :func:`stage_public` waits for it and reads its tables back from the
    cache it filled, checked as always. The same worker then draws the LA outlines from the
    LSOA boundaries while disclosure control and the profiles run here; the store stage waits
    for them before it copies them from their cache. The worker dies with the build
    (:func:`cwi.io.worker_pool`) and is stopped before the build lock is released.
    """
    s = state.settings
    if "public" not in order or "public" in state.background or state.public is not None:
        return
    if s.data_source == "public" or not s.public.enabled:
        return
    from cwi.io import worker_pool
    from cwi.public.build import public_available, warm_outlines, warm_public

    if not public_available(s.public_data_dir):
        return
    pool = worker_pool(1)
    state.pools.append(pool)
    state.background["public"] = pool.submit(warm_public, s.public_data_dir, s, state.force)
    if "store" in order:  # next in the same worker: the LA outlines the store keeps
        state.background["outlines"] = pool.submit(warm_outlines, s.public_data_dir, s)


def stop_background(state: BuildState, failed: bool) -> None:
    """End the build's background workers: wait for them, or kill them when the build failed."""
    for pool in state.pools:
        if failed:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()  # nothing of theirs is trusted unless its record is complete
        pool.shutdown(wait=True, cancel_futures=True)
    state.pools.clear()
    state.background.clear()


def add_coverage_tables(state: BuildState) -> None:
    """Publish the per-LA postcode coverage and note restricted or partly supplied LAs."""
    s = state.settings
    path = s.private_dir / "la_coverage.parquet"
    notes = state.raw_tables.get("analysis_notes", pd.DataFrame(columns=["table", "reason"]))
    extra: list[dict[str, str]] = []
    if path.is_file():
        cov = pd.read_parquet(path)
        state.raw_tables["la_coverage"] = cov
        extra += [{"table": "la_coverage", "reason": n} for n in cov["note"] if n]
    supplied_path = s.private_dir / "supplied.parquet"
    if supplied_path.is_file():
        supplied = pd.read_parquet(supplied_path)
        las = sorted(set(supplied["la_code"]))
        for la in las:
            have = set(supplied.loc[supplied["la_code"] == la, "year"].astype(int))
            lacking = [y for y in s.years if y not in have]
            if lacking:
                extra.append(
                    {
                        "table": "coverage",
                        "reason": f"{la}: no extract for {', '.join(map(str, lacking))}; the "
                        "LA is left out of those years' rates and denominators (not counted "
                        "as zero).",
                    }
                )
    if extra:
        state.raw_tables["analysis_notes"] = pd.concat(
            [notes, pd.DataFrame(extra)], ignore_index=True
        )


def stage_disclosure(state: BuildState) -> None:
    """Apply disclosure control to every table that will be published."""
    from cwi.publish import protect_all

    if not state.raw_tables:
        if state.settings.data_source != "public":
            stage_analysis(state)
        stage_public(state)
    state.tables = protect_all(state.raw_tables, state.settings)


def stage_store(state: BuildState) -> None:
    """Write the results store: published tables, manifest of inputs, settings and code version.

    The new store is written into a staging folder, manifest last, and swapped in whole; until
    then the previous store is untouched. Run without the ingest, the manifest keeps the LA
    extract inputs of the build that produced the private data it was made from.
    """
    from cwi.store import ResultsStore, StoreError

    if not state.tables:  # run on its own: never reset the store to an empty one
        stage_disclosure(state)
    from cwi.incremental import tree_digests

    store = ResultsStore(state.settings)
    public_mode = state.settings.data_source == "public"
    ref = None if public_mode else state.need_reference()
    inputs = list(getattr(ref, "sources", [])) + list(state.inputs)
    if state.ingest is None and state.ingest_key is None and state.public is None:
        try:
            previous = store.manifest().get("inputs", [])
        except (StoreError, ValueError):
            previous = []
        names = {(i.get("name"), i.get("path")) for i in inputs}
        inputs += [i for i in previous if (i.get("name"), i.get("path")) not in names]
    staged = store.begin()
    try:
        staged.write_tables(state.tables)
        if not public_mode:
            write_deprivation_geometry(
                staged, ref, state.need_cube(), state.early.pop("geometry", None)
            )
        body = {
            "inputs": inputs,
            "reference_notes": list(getattr(ref, "notes", []))
            + (state.public.notes if state.public is not None else []),
            "data_source": state.settings.data_source,
            "timings_seconds": state.timings,
        }
        if not public_mode:  # the profiles need child-level results
            from cwi.profiles import build_profiles

            # the profiles read the inputs' vintages from the manifest: a first one now
            staged.write_manifest(body)
            # the profiles (and their charts) go into the new store before it is swapped in
            in_staging = state.settings.with_overrides(output={"results_dir": str(staged.root)})
            build_profiles(in_staging, neighbours=read_neighbours(state.settings))
        if state.public is not None:  # drawn meanwhile by the public worker (start_public)
            write_store_outlines(state, staged.root)
        staged.write_manifest(
            {
                **body,
                # what decides this store, and the digest of every file in it: a later build
                # with the same key skips cube..store while these files are intact
                "build_key": current_store_key(state),
                "files": tree_digests(staged.root, skip=NOT_STORE_FILES),
            }
        )
        store.commit(staged)
    except BaseException:
        import shutil

        shutil.rmtree(staged.root, ignore_errors=True)  # the previous store stays as it was
        raise


def write_store_outlines(state: BuildState, root: Path) -> None:
    """Copy the LA outlines into the store folder ``root``, once the public worker drew them."""
    from cwi.public.build import outlines_cache
    from cwi.public.data import PUBLIC_FILES
    from cwi.public.page import write_outlines

    future = state.background.pop("outlines", None)
    if future is not None:
        try:
            future.result()
        except Exception as exc:  # noqa: BLE001 - drawn here instead, as always
            log.warning("LA outlines worker failed (%r); drawing them in this process", exc)
    boundaries = state.settings.public_data_dir / PUBLIC_FILES["boundaries"]
    write_outlines(root, boundaries, state.public.lsoa_latest, outlines_cache(state.settings))


#: What the results store folder holds besides the store stage's own files: its manifest, and
#: the page fragments the pages stage writes there (every build writes them again).
NOT_STORE_FILES: tuple[str, ...] = ("manifest.json", "fragments")
#: Stages skipped together when the results store is up to date.
UP_TO_DATE_STAGES: tuple[str, ...] = ("cube", "analysis", "public", "disclosure", "store")


def current_store_key(state: BuildState) -> str | None:
    """Key of everything the results store is a function of (None: not known in this run)."""
    from cwi.incremental import store_key

    public_mode = state.settings.data_source == "public"
    if not public_mode and state.ingest_key is None:
        return None  # the ingest did not run here: its inputs are not known
    reference_fp = None if public_mode else state.need_reference_fp()
    return store_key(state.settings, state.ingest_key, reference_fp, state.need_memo())


def store_up_to_date(state: BuildState) -> bool:
    """Whether the store on disk was built from the same inputs and is intact."""
    from cwi.incremental import tree_digests
    from cwi.store import ResultsStore, StoreError

    if state.force:
        return False
    key = current_store_key(state)
    if key is None:
        return False
    store = ResultsStore(state.settings)
    try:
        manifest = store.manifest()
    except (StoreError, ValueError):
        return False
    files = manifest.get("files")
    if manifest.get("build_key") != key or not isinstance(files, dict) or not files:
        return False
    return tree_digests(store.root, state.need_memo(), skip=NOT_STORE_FILES) == files


def write_deprivation_geometry(
    store: Any, reference: Any, cube: Any, areas: Any | None = None
) -> None:
    """Keep the LSOA polygons with their IMD decile (public data) for the profile maps.

    ``areas``: the frame of :func:`deprivation_geometry` when it was made earlier.
    """
    path = store.root / "geo" / "lsoa_deprivation.parquet"
    if areas is None:
        areas = deprivation_geometry(reference, cube)
    if areas is not None:
        write_parquet(areas, path)


def deprivation_geometry(reference: Any, cube: Any) -> Any:
    """The LSOA polygons of the cube with LA and IMD decile, simplified (None: no boundaries)."""
    if getattr(reference, "boundaries", None) is None:
        return None
    from cwi.reference.boundaries import read_boundaries

    areas = read_boundaries(reference.boundaries, cube.lsoa["lsoa_code"])
    areas = areas.merge(cube.lsoa[["lsoa_code", "la_code", "imd_decile"]], on="lsoa_code")
    areas["geometry"] = areas.geometry.simplify(0.0002, preserve_topology=True)
    return areas[["lsoa_code", "la_code", "imd_decile", "geometry"]]


def prepare_store_meanwhile(state: BuildState) -> None:
    """Work of the store stage done while this process waits for the public worker.

    Nothing here depends on the public edition or on disclosure control: the LSOA polygons
    the profile maps use (kept in ``state.early`` and written by the store stage).
    """
    if state.settings.data_source == "public" or "geometry" in state.early:
        return
    try:
        state.early["geometry"] = deprivation_geometry(state.need_reference(), state.need_cube())
    except Exception as exc:  # noqa: BLE001 - the store stage does it again, as always
        state.early.pop("geometry", None)
        log.warning("store preparation while waiting failed (%r); done in the store stage", exc)


def stage_pages(state: BuildState) -> None:
    """Write the page sources Quarto renders (LA pages from the profiles in the store)."""
    from cwi.site.pages import write_stage

    write_stage(state.settings, standalone=state.settings.data_source == "public")


def stage_site(state: BuildState) -> None:
    """Render the website with pandoc from the same page sources Quarto uses."""
    from cwi.site.render import render_site

    if state.settings.data_source == "public":
        render_site(state.settings, only=PUBLIC_PAGES)
    else:
        render_site(state.settings)


def stage_pdf(state: BuildState) -> None:
    """Write one A4 PDF per LA with weasyprint from the same context as its web page."""
    from cwi.site.pdf import write_pdfs

    write_pdfs(state.settings)


def stage_scan(state: BuildState) -> None:
    """Scan every built file for identifiers, postcodes, LSOA codes and small counts.

    With thresholds below the documented minimum (``disclosure.unsafe_allow_low_thresholds``)
    every output is first stamped "NOT FOR PUBLICATION"; small counts are then reported as
    warnings, while identifiers, private files and attachments still fail the build.
    """
    from cwi.disclosure.stamp import stamp_outputs
    from cwi.disclosure.symbols import publication_stamp
    from cwi.leaks import scan_paths

    sentinels = scan_sentinels(state.settings)
    future = state.background.pop("prescan", None)
    if future is not None:  # the downloads scanned while the site was rendered
        try:
            log.info("prescan: %d download(s) scanned beside the site stage", future.result())
        except Exception as exc:  # noqa: BLE001 - those files are scanned below instead
            log.warning("prescan worker failed (%r); the scan reads those files itself", exc)
    stamp = publication_stamp(state.settings.disclosure)
    if stamp:
        stamp_outputs(state.settings.site_dir, stamp)
    findings = scan_paths(
        state.settings.site_dir,
        sentinels=sentinels,
        years=state.settings.years,
        cache=state.settings.build_dir / "cache" / "scan",  # unchanged files are not reread
    )
    if stamp:
        for f in [f for f in findings if f.kind == "small count"][:50]:
            sys.stderr.write(f"NOT FOR PUBLICATION {f.file}: {f.kind} ({f.detail})\n")
        findings = [f for f in findings if f.kind != "small count"]
    if findings:
        for f in findings[:50]:  # plain lines: file names must never be wrapped or cut
            sys.stderr.write(f"LEAK {f.file}: {f.kind} ({f.detail})\n")
        raise BuildError(
            f"Leak scan found {len(findings)} problem(s) in {state.settings.site_dir}; "
            "nothing may be published until they are fixed."
        )


def scan_sentinels(settings: Settings) -> list[str]:
    """The planted values the leak scan looks for (``<private_dir>/sentinels.txt``)."""
    private = settings.private_dir / "sentinels.txt"
    # one sentinel a line: "XA6 2AZ" is one planted postcode, not two sentinels
    lines = private.read_text(encoding="utf-8").splitlines() if private.is_file() else []
    return [s.strip() for s in lines if s.strip()]


def start_prescan(state: BuildState, order: Sequence[str]) -> None:
    """Scan the downloads in a worker while the site stage renders the pages.

    The site stage copies ``downloads/`` into the site as they are; their scan (the workbooks
    are the scan's slowest files) runs meanwhile on the core the page rendering leaves idle,
    and keeps its findings in the scan cache under the names and digests the files will have
    in the site (:func:`cwi.leaks.prescan`). The scan stage waits for it; a file published
    with other bytes is scanned again there, as is everything else. The worker is a fresh
    interpreter (no copy of the build's memory) and dies with the build.
    """
    if "scan" not in order or "prescan" in state.background:
        return
    downloads = state.settings.root / "downloads"
    if not downloads.is_dir():
        return
    files = {
        p: f"downloads/{p.relative_to(downloads).as_posix()}"
        for p in sorted(downloads.rglob("*"))
        if p.is_file()
    }
    if not files:
        return
    import multiprocessing

    from cwi.io import worker_pool
    from cwi.leaks import prescan

    s = state.settings
    pool = worker_pool(1, mp_context=multiprocessing.get_context("spawn"))
    state.pools.append(pool)
    state.background["prescan"] = pool.submit(
        prescan, files, scan_sentinels(s), s.build_dir / "cache" / "scan", list(s.years)
    )


STAGES: dict[str, Callable[[BuildState], None]] = {
    "inputs": stage_inputs,
    "reference": stage_reference,
    "ingest": stage_ingest,
    "cube": stage_cube,
    "analysis": stage_analysis,
    "public": stage_public,
    "disclosure": stage_disclosure,
    "store": stage_store,
    "pages": stage_pages,
    "site": stage_site,
    "pdf": stage_pdf,
    "scan": stage_scan,
}
PRE_RENDER: tuple[str, ...] = (
    "inputs",
    "reference",
    "ingest",
    "cube",
    "analysis",
    "public",
    "disclosure",
    "store",
    "pages",
)
POST_RENDER: tuple[str, ...] = ("pdf", "scan")
#: ``data.source: public`` (``cwi build --public``): published tables only, no child-level data.
PUBLIC_STAGES: tuple[str, ...] = ("public", "disclosure", "store", "pages", "site", "scan")
#: The pages the public build renders (the rest of the site needs child-level results).
PUBLIC_PAGES: tuple[str, ...] = ("england.qmd",)


def _setup_logging(settings: Settings) -> None:
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(settings.build_dir / "build.log", mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.handlers = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


def run(
    settings: Settings, stages: Sequence[str] | None = None, force: bool = False
) -> BuildState:
    """Run the named stages (default: all) in flow order.

    Stages whose inputs are unchanged are not run again: the ingest reads its private outputs
    back, and when the results store is up to date (same inputs, files intact) the stages from
    the cube to the store are skipped, said on screen and in ``<build_dir>/last_build.json``.

    Parameters
    ----------
    settings : Settings
        Release settings and paths.
    stages : sequence of str, optional
        Subset of :data:`STAGES`; always run in flow order.
    force : bool
        Ignore every cache (also set by the environment variable ``CWI_FORCE=1``): the
        ingest and every stage run in full and ``<build_dir>/cache`` is emptied first.

    Returns
    -------
    BuildState
        What the stages produced (useful to tests and benchmarks).

    Raises
    ------
    BuildError
        If a stage fails in a way the user can fix, or a stage name is unknown.
    """
    default = PUBLIC_STAGES if settings.data_source == "public" else tuple(STAGES)
    wanted = list(default) if not stages else [s.strip() for s in stages]
    unknown = [s for s in wanted if s not in STAGES]
    if unknown:
        raise BuildError(f"Unknown stage(s) {unknown}; choose from {list(STAGES)}.")
    order = [s for s in STAGES if s in wanted]
    force = force or os.environ.get("CWI_FORCE", "") not in ("", "0")
    with BuildLock(settings.build_dir):
        if force:
            from cwi.io import remove_tree

            cache = settings.build_dir / "cache"
            if cache.exists():
                remove_tree(cache, owned=[settings.build_dir])
        return _run_locked(settings, order, force)


OUTPUT_STAGES = {"store": "results store", "site": "site", "pdf": "PDFs"}


def _run_locked(settings: Settings, order: list[str], force: bool = False) -> BuildState:
    _setup_logging(settings)
    state = BuildState(settings=settings, force=force)
    done: list[str] = []
    try:
        try:
            _run_stages(state, order, done)
        except BaseException:
            stop_background(state, failed=True)
            raise
        stop_background(state, failed=False)
    except BaseException as exc:
        failed = next((s for s in order if s not in done), "?")
        replaced = [
            OUTPUT_STAGES[s] for s in done if s in OUTPUT_STAGES and s not in state.skipped
        ]
        kept = [OUTPUT_STAGES[s] for s in order if s in OUTPUT_STAGES and s not in done]
        message = f"Build stopped in stage {failed!r} ({type(exc).__name__})."
        if kept:
            message += f" Left as they were: the previous {', '.join(kept)}."
        if replaced:
            message += f" Already replaced by this build: {', '.join(replaced)}."
        log.error(message)
        console.print(f"[yellow]{message}[/yellow]")
        raise
    finally:
        if state.memo is not None:
            state.memo.save()
    write_text(
        settings.build_dir / "last_build.json",
        json.dumps(
            {"stages": order, "timings_seconds": state.timings, "skipped": state.skipped},
            indent=1,
        ),
    )
    if "store" in order and "store" not in state.skipped:  # record the full timings
        from cwi.store import ResultsStore

        store = ResultsStore(settings)
        manifest = store.manifest()
        manifest["timings_seconds"] = state.timings
        write_text(store.root / "manifest.json", json.dumps(manifest, indent=1))
    return state


def _run_stages(state: BuildState, order: list[str], done: list[str]) -> None:
    with Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("build", total=len(order))
        state.progress = progress
        for name in order:
            progress.update(task, description=name)
            if name in UP_TO_DATE_STAGES and "store" in order and _skip(state, order):
                state.skipped.append(name)
                progress.console.print(f"  {name:<12} skipped (up to date)")
                progress.advance(task)
                done.append(name)
                continue
            if name in ("cube", "analysis"):  # the public edition runs beside them
                start_public(state, order)
            if name == "site":  # the downloads' scan runs beside the page rendering
                start_prescan(state, order)
            start, cpu = time.perf_counter(), _cpu_seconds()
            STAGES[name](state)
            state.timings[name] = round(time.perf_counter() - start, 2)
            log.info(
                "stage %s done in %.2f s (CPU %.2f s: this process and the workers that ended)",
                name,
                state.timings[name],
                _cpu_seconds() - cpu,
            )
            progress.console.print(f"  {name:<12} {state.timings[name]:7.2f} s")
            progress.advance(task)
            done.append(name)
            if name == "store":
                release_memory(state)


def release_memory(state: BuildState) -> None:
    """Drop what only the stages up to the store need, once the store is written.

    The later stages read the results store from disk; their worker processes are forks of
    this one, so what it still holds would be resident (and counted) in each of them.
    """
    state.ingest = None
    state.cube = None
    state.reference = None
    state.public = None
    state.early = {}
    state.raw_tables = {}
    state.tables = {}
    import gc

    gc.collect()
    try:  # hand freed heap pages back to the system (glibc keeps them otherwise)
        import ctypes
        import ctypes.util

        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its child processes that ended."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _skip(state: BuildState, order: list[str]) -> bool:
    """Decide once per build whether the stages up to the store are up to date."""
    if state.store_fresh is None:
        start = time.perf_counter()
        state.store_fresh = store_up_to_date(state)
        if state.store_fresh:
            names = ", ".join(n for n in order if n in UP_TO_DATE_STAGES)
            seconds = time.perf_counter() - start
            say(
                f"results store up to date: skipped {names} (same inputs, settings and code; "
                f"{state.settings.results_dir} intact, checked in {seconds:.2f} s)"
            )
    return state.store_fresh
