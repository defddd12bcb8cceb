"""Build the public-data edition: every English upper-tier LA, every year, published data only.

:func:`build_public` reads the public folder (:mod:`cwi.public.data`), runs the analysis of
:mod:`cwi.public.analysis` for every year the DfE tables cover and returns the tables that go
to the results store (through the disclosure registry like every published table):

``england_public``
    One row per LA x year x measure: ``la_code, la_name, year, measure, observed, rate,
    expected, ratio, ratio_lcl, ratio_ucl, rank, spend_per_child`` (the columns the LA profiles
    read), then ``region_name, population, rate_source, england_ratio, ratio_vs_england,
    funnel, neighbours_ratio, la_deprivation, avg_rank, avg_score, extent, imd_vintage,
    spend_per_expected_cin``.
``england_public_deciles``
    Children 0-17 per LA, year and IMD decile (1 = most deprived).
``england_public_la``
    MHCLG's summary measures of each LA's deprivation per year (child-weighted).
``england_public_models``
    Between-LA models and the plain-English verdict per measure and year.
``england_public_trends``, ``england_public_neighbours``, ``england_public_spend``,
``england_public_funnel``, ``england_public_decile_rates``, ``england_public_notes``
    Trends, statistical neighbours, Section 251 spending, funnel parameters, the England rates
    used, and every choice and boundary change, stated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cwi.incremental import file_digests, files_intact, public_files
from cwi.public.analysis import (
    between_la_models,
    children_by_decile,
    england_decile_rates,
    la_year_table,
    lsoa_year,
    neighbour_ratios,
    spending,
    statistical_neighbours,
    trends,
)
from cwi.public.data import BOUNDARY_CHANGES, PublicInputs, load_public_inputs

__all__ = [
    "MAIN_COLUMNS",
    "PublicResult",
    "build_public",
    "build_public_cached",
    "outlines_cache",
    "public_available",
    "public_files",
    "read_public_cached",
    "warm_outlines",
    "warm_public",
]

#: Columns of ``england_public`` in order (the first twelve are the profiles' contract).
MAIN_COLUMNS: tuple[str, ...] = (
    "la_code", "la_name", "year", "measure", "observed", "rate", "expected", "ratio",
    "ratio_lcl", "ratio_ucl", "rank", "spend_per_child", "region_name", "population",
    "rate_source", "england_ratio", "ratio_vs_england", "funnel", "neighbours_ratio",
    "la_deprivation", "avg_rank", "avg_score", "extent", "imd_vintage", "spend_per_expected_cin",
)  # fmt: skip


@dataclass
class PublicResult:
    """Tables of the public edition plus what the page needs."""

    tables: dict[str, pd.DataFrame]
    inputs: PublicInputs
    lsoa_latest: pd.DataFrame  # LSOA -> LA of the latest year (private to the build: geometry)
    latest_year: int
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def public_available(folder: Path) -> bool:
    """Whether the public folder holds what the edition needs."""
    from cwi.public.data import PUBLIC_FILES

    need = ("imd2019", "lsoa11_ltla21", "population2019", "dfe_cla", "dfe_cin", "dfe_cpp")
    return all((Path(folder) / PUBLIC_FILES[k]).is_file() for k in need)


def _notes_table(notes: list[str], inp: PublicInputs, years: list[int]) -> pd.DataFrame:
    rows = [("boundaries", text) for *_, text in BOUNDARY_CHANGES]
    rows.append(("boundaries", "Each year uses DfE's LAs of that 31 March; LSOAs are placed in "
                 "them whole (every reorganisation merged or split whole districts), so no "
                 "population is apportioned."))  # fmt: skip
    rows.append(("years", f"Years: 31 March {years[0]} to {years[-1]} (CIN and CPP from "
                 f"{years[0]}, CLA from 2014: the public CLA files start in 2014)."))  # fmt: skip
    rows += [("method", n) for n in notes]
    if inp.s251 is not None:
        from cwi.reference.s251 import s251_notes

        rows += [("spending", n) for n in s251_notes(inp.s251)]
    out = pd.DataFrame(rows, columns=["topic", "note"]).drop_duplicates()
    return out.reset_index(drop=True)


def build_public(folder: Path, settings: Any | None = None) -> PublicResult:
    """Run the public edition on a public data folder.

    Parameters
    ----------
    folder : Path
        Public data folder (layout of ``../shared/data/public``).
    settings : Settings, optional
        Gives the confidence level and the number of neighbours.

    Returns
    -------
    PublicResult
        The tables (see module docstring), inputs and timing.
    """
    start = time.perf_counter()
    confidence = getattr(settings, "confidence", 0.95) if settings is not None else 0.95
    k = settings.public.neighbours if settings is not None else 10
    inp = load_public_inputs(folder)
    rates = england_decile_rates(inp.dfe)
    la_rows = inp.dfe[inp.dfe["geographic_level"] == "Local authority"]
    years = sorted(int(y) for y in la_rows.loc[la_rows["number"].notna(), "year"].unique())
    tables, summaries, deciles, funnels, notes = [], [], [], [], list(inp.notes)
    latest = None
    for year in years:
        frame, year_notes = lsoa_year(inp, year)
        notes += year_notes
        t, s, f = la_year_table(frame, inp.dfe, rates, year, inp.la_names, confidence)
        tables.append(t)
        summaries.append(s)
        deciles.append(children_by_decile(frame).assign(year=year))
        for m, p in f.items():
            funnels.append({"year": year, "measure": m, "england_ratio": p["england_ratio"],
                            "phi": p["phi"], "tau2": p["tau2"],
                            "las_with_count": p["n_las"]})  # fmt: skip
        latest = frame
    main = pd.concat(tables, ignore_index=True)
    summary = pd.concat(summaries, ignore_index=True)
    latest_year = years[-1]
    neighbours = statistical_neighbours(summary[summary["year"] == latest_year], k)
    main["neighbours_ratio"] = neighbour_ratios(main, neighbours)
    pop = (
        inp.dfe[inp.dfe["geographic_level"] == "Local authority"]
        .dropna(subset=["population"]).drop_duplicates(["year", "la_code"])
        [["year", "la_code", "population"]]
    )  # fmt: skip
    spend = pd.DataFrame()
    if inp.s251 is not None:
        from cwi.reference.s251 import spend_by_la

        spend = spending(spend_by_la(inp.s251), main, pop)
        main = main.merge(
            spend[["year", "la_code", "spend_per_child", "spend_per_expected_cin"]],
            on=["year", "la_code"], how="left",
        )  # fmt: skip
    else:
        main["spend_per_child"] = float("nan")
        main["spend_per_expected_cin"] = float("nan")
    main = main[list(MAIN_COLUMNS)].sort_values(["year", "measure", "la_code"])
    models = between_la_models(main, confidence).rename(columns={"n_las": "las_in_model"})
    trend = trends(main).rename(columns={"n_years": "years_with_data"})
    names = inp.la_names
    neighbours["la_name"] = neighbours["la_code"].map(names)
    neighbours["neighbour_name"] = neighbours["neighbour_code"].map(names)
    dec = pd.concat(deciles, ignore_index=True)
    dec["la_name"] = dec["la_code"].map(names)
    out = {
        "england_public": main.reset_index(drop=True),
        "england_public_deciles": dec[
            ["year", "la_code", "la_name", "imd_decile", "children_0_17"]
        ],  # fmt: skip
        "england_public_la": summary.rename(
            columns={
                "population": "children_0_17",
                "n_lsoa": "neighbourhoods",
                "n_lsoa_national": "neighbourhoods_national",
            }
        ),  # fmt: skip
        "england_public_models": models,
        "england_public_trends": trend,
        "england_public_neighbours": neighbours,
        "england_public_spend": spend,
        "england_public_funnel": pd.DataFrame(funnels),
        "england_public_decile_rates": rates,
        "england_public_notes": _notes_table(notes, inp, years),
    }
    lsoa_latest = latest[["lsoa_code", "la_code"]].copy() if latest is not None else None
    return PublicResult(out, inp, lsoa_latest, latest_year, notes,
                        round(time.perf_counter() - start, 2))  # fmt: skip


# ---- the cache ------------------------------------------------------------------------------
#: Record of the cached edition (written last, atomically) inside ``<build_dir>/cache/public``.
CACHE_RECORD = "record.json"


def _public_key(folder: Path, settings: Any, memo: Any) -> str:
    import json

    from cwi.fingerprint import content_key

    full = settings.as_dict()
    parts = {"public": full.get("public"), "analysis": full.get("analysis")}
    return content_key(
        "public edition", json.dumps(parts, sort_keys=True, default=str),
        memo.files(public_files(folder)),
    )  # fmt: skip


def _read_back(cache: Path, key: str, memo: Any) -> PublicResult | None:
    """The edition kept in ``cache`` under ``key``, if its record matches and its files are intact."""
    import json

    from cwi.public.data import PublicInputs

    try:
        record = json.loads((cache / CACHE_RECORD).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    files = record.get("files") or {}
    if record.get("key") != key or not files_intact(
        files, {name: cache / name for name in files}, memo
    ):
        return None
    try:
        tables = {n: pd.read_parquet(cache / f"{n}.parquet") for n in record["tables"]}
        latest = pd.read_parquet(cache / "lsoa_latest.parquet")
    except (OSError, ValueError):
        return None
    inputs = PublicInputs(
        base=pd.DataFrame(), imd={}, population={}, dfe=pd.DataFrame(), s251=None,
        la_names={}, notes=list(record["input_notes"]), sources=list(record["sources"]),
    )  # fmt: skip
    return PublicResult(tables, inputs, latest, int(record["latest_year"]), list(record["notes"]))


def read_public_cached(folder: Path, settings: Any, memo: Any) -> PublicResult | None:
    """The edition from ``<build_dir>/cache/public`` if it is fresh there, else None (no build)."""
    cache = Path(settings.build_dir) / "cache" / "public"
    return _read_back(cache, _public_key(folder, settings, memo), memo)


def build_public_cached(
    folder: Path, settings: Any, memo: Any, force: bool = False
) -> PublicResult:
    """:func:`build_public`, read back from ``<build_dir>/cache/public`` when still fresh.

    The cache is keyed by the public data files, the ``public`` and ``analysis`` settings and
    the code version; an entry is used only when its key matches and every cached file still has
    the digest recorded when it was written. The tables are public data; the LSOA-to-LA lookup
    kept beside them is public geography.

    Parameters
    ----------
    folder : Path
        Public data folder.
    settings : Settings
        Gives ``build_dir`` and the settings of the edition.
    memo : cwi.incremental.DigestMemo
        Remembered file digests.
    force : bool
        Ignore the cache (the result is still stored for next time).

    Returns
    -------
    PublicResult
        The same tables as :func:`build_public` gives.
    """
    import json

    from cwi.io import write_parquet, write_text

    start = time.perf_counter()
    cache = Path(settings.build_dir) / "cache" / "public"
    key = _public_key(folder, settings, memo)
    record_path = cache / CACHE_RECORD
    if not force:
        kept = _read_back(cache, key, memo)
        if kept is not None:
            kept.seconds = round(time.perf_counter() - start, 2)
            return kept
    result = build_public(folder, settings)
    (cache / CACHE_RECORD).unlink(missing_ok=True)
    names = {}
    for name, frame in result.tables.items():
        write_parquet(frame, cache / f"{name}.parquet")
        names[f"{name}.parquet"] = None
    write_parquet(result.lsoa_latest, cache / "lsoa_latest.parquet")
    names["lsoa_latest.parquet"] = None
    record = {
        "key": key,
        "tables": list(result.tables),
        "latest_year": result.latest_year,
        "notes": result.notes,
        "input_notes": result.inputs.notes,
        "sources": result.inputs.sources,
        "files": file_digests({name: cache / name for name in names}, memo),
    }
    write_text(record_path, json.dumps(record, indent=1, default=str))
    return result


def warm_public(folder: Path, settings: Any, force: bool = False) -> float:
    """Fill the public edition's cache (:func:`build_public_cached`); return the seconds.

    Run by the build in a worker process while the cube and the analysis run in the build's
    own process (the edition reads nothing but the public files): the public stage then reads
    the tables back through :func:`build_public_cached`, which checks the entry as always.
    Nothing is returned but the time, so no table travels between the processes.

    Parameters
    ----------
    folder : Path
        Public data folder.
    settings : Settings
        Gives ``build_dir`` and the settings of the edition.
    force : bool
        Build the edition again even when its cache is fresh (``cwi build --force``).

    Returns
    -------
    float
        Wall seconds the worker took.
    """
    from cwi.incremental import memo_for

    start = time.perf_counter()
    build_public_cached(folder, settings, memo_for(settings), force=force)
    return round(time.perf_counter() - start, 2)


def warm_outlines(folder: Path, settings: Any) -> float:
    """Fill the LA outlines' cache (:func:`cwi.public.page.cached_outlines`); return the seconds.

    Run in the build's worker after :func:`warm_public` (it reads the edition's LSOA-to-LA
    lookup back from that cache, and does nothing if that cache is not fresh), while the
    build's own process runs disclosure control and the store stage's profiles; the store
    stage then copies the outlines.
    """
    from cwi.incremental import memo_for
    from cwi.public.data import PUBLIC_FILES
    from cwi.public.page import cached_outlines

    start = time.perf_counter()
    boundaries = Path(folder) / PUBLIC_FILES["boundaries"]
    result = read_public_cached(folder, settings, memo_for(settings))  # never built here
    if result is not None and boundaries.is_file() and result.lsoa_latest is not None:
        cached_outlines(boundaries, result.lsoa_latest, outlines_cache(settings))
    return round(time.perf_counter() - start, 2)


def outlines_cache(settings: Any) -> Path:
    """Folder of the LA outlines' cache: ``<build_dir>/cache/outlines``."""
    return Path(settings.build_dir) / "cache" / "outlines"
