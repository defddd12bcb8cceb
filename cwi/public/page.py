"""The "England, LA by LA" page: national funnel plot, choropleth, searchable table, downloads.

Everything is drawn from the results store (the disclosure-controlled ``england_public*``
tables) and the LA outlines kept beside it (``geo/la_outlines.parquet``: LA polygons dissolved
from the public LSOA boundaries, no counts). The page source ``england.qmd`` holds the words;
this module writes its generated block, the fragment ``england_public`` (figures in
``report/_generated/england_public/``, verdicts, table; see :mod:`cwi.site.content`), and the
downloads ``downloads/england_public.csv`` / ``.xlsx`` (with a notes
sheet).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cwi.analysis.funnels import overdispersed_ratio_limits
from cwi.schemas import MEASURE_LABELS

__all__ = [
    "COLUMN_NOTES",
    "la_outlines",
    "write_outlines",
    "funnel_figure",
    "map_figure",
    "search_table_html",
    "write_public_downloads",
    "write_public_page",
]

OUTLINES = Path("geo") / "la_outlines.parquet"
GENERATED = Path("report") / "_generated"
FIG_DIR = GENERATED / "england_public"
FRAGMENT = "england_public"
ORDER = ("CIN", "CPP", "CLA")
PUBLIC_CSV, PUBLIC_XLSX = "england_public.csv", "england_public.xlsx"

#: What each column of ``england_public`` holds (the XLSX notes sheet and the methods text).
COLUMN_NOTES: dict[str, str] = {
    "la_code": "Children's-services (upper-tier) LA code of that year.",
    "la_name": "LA name as published by DfE.",
    "year": "Collection year: the snapshot is 31 March of this year.",
    "measure": "CIN = children in need, CPP = on a child protection plan, CLA = looked after.",
    "observed": "Children counted by DfE at 31 March (empty where DfE suppressed it: [x]).",
    "rate": "Observed per 10,000 children aged 0-17 (unrounded where DfE gives the count and "
    "population; else DfE's rounded rate, see rate_source).",
    "expected": "Children expected at England's rates by IMD decile (published 2015 CWIP rates; "
    "CIN: assumed CPP gradient) given the LA's children in each decile.",
    "ratio": "Standardised ratio observed / expected.",
    "ratio_lcl": "Lower 95% limit of the ratio (exact Poisson on the observed count).",
    "ratio_ucl": "Upper 95% limit of the ratio (exact Poisson on the observed count).",
    "rank": "Rank of the ratio among LAs that year and measure (1 = highest).",
    "spend_per_child": "Section 251 children's social care gross spend per child 0-17, pounds, "
    "cash terms (financial year ending in this year; 2009-2019 only).",
    "region_name": "Region (ONS 2021).",
    "population": "Children 0-17: DfE's denominator (ONS mid-year estimate).",
    "rate_source": "Whether the rate is computed unrounded or DfE's rounded rate.",
    "england_ratio": "England's own observed / expected that year (sum over LAs).",
    "ratio_vs_england": "ratio / england_ratio: 1 = as England, given the deprivation mix.",
    "funnel": "Position against 95% and 99.8% funnel limits around England with an "
    "overdispersion allowance (additive random effects, Spiegelhalter 2005).",
    "neighbours_ratio": "Pooled observed / expected of the LA's 10 statistical neighbours "
    "(public characteristics, latest year's neighbour sets).",
    "la_deprivation": "LA's child-weighted average IMD rank as a share of LSOAs (1 = most "
    "deprived).",
    "avg_rank": "MHCLG LA summary: child-weighted average LSOA rank (higher = more deprived).",
    "avg_score": "MHCLG LA summary: child-weighted average IMD score (where the vintage has "
    "scores).",
    "extent": "MHCLG LA summary: share of children in the most deprived 30% of LSOAs (sliding "
    "weights).",
    "imd_vintage": "IMD vintage used that year (in force where supplied).",
    "spend_per_expected_cin": "Section 251 spend per child expected to be in need given the "
    "deprivation mix.",
}


def la_outlines(boundaries: Path, lsoa_la: pd.DataFrame, tolerance: float = 150.0) -> Any:
    """LA polygons dissolved from LSOA boundaries (British National Grid, simplified).

    Parameters
    ----------
    boundaries : Path
        LSOA 2011 boundary file.
    lsoa_la : pandas.DataFrame
        ``lsoa_code, la_code`` of the year to draw.
    tolerance : float
        Simplification tolerance in metres.

    Returns
    -------
    geopandas.GeoDataFrame
        ``la_code, geometry``.
    """
    from cwi.reference.boundaries import read_boundaries

    areas = read_boundaries(boundaries, lsoa_la["lsoa_code"])
    areas = areas.merge(lsoa_la, on="lsoa_code").to_crs(27700)
    areas["geometry"] = areas.geometry.make_valid()
    out = areas[["la_code", "geometry"]].dissolve("la_code").reset_index()
    out["geometry"] = out.geometry.simplify(tolerance, preserve_topology=True)
    return out


def write_outlines(
    store_root: Path, boundaries: Path, lsoa_la: pd.DataFrame, cache: Path | None = None
) -> Path | None:
    """Keep the LA outlines in the results store (public geometry, no counts).

    Dissolving 33,000 LSOAs into LA outlines takes seconds; with ``cache`` (a folder under the
    build's cache) the outlines are kept under the hash of the boundary file, the LSOA-to-LA
    lookup and the code version, and copied into the store when that hash and the cached file's
    recorded digest both match (:func:`cached_outlines`).
    """
    path = Path(store_root) / OUTLINES
    path.unlink(missing_ok=True)
    if not Path(boundaries).is_file() or lsoa_la is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    if cache is None:
        la_outlines(boundaries, lsoa_la).to_parquet(path)
        return path
    import shutil

    shutil.copyfile(cached_outlines(boundaries, lsoa_la, cache), path)
    return path


def cached_outlines(boundaries: Path, lsoa_la: pd.DataFrame, cache: Path) -> Path:
    """The LA outlines of :func:`la_outlines`, kept in ``cache``; return the kept file.

    The entry is keyed by the boundary file's digest, the LSOA-to-LA lookup and the code
    version; it is trusted only while the kept file has the digest recorded when it was
    written, and is written again (atomically, record last) otherwise. The build's public
    worker fills it while the cube and analysis run, so the store stage only copies it.
    """
    from cwi.fingerprint import content_key, file_digest
    from cwi.io import write_parquet, write_text

    lookup = lsoa_la[["lsoa_code", "la_code"]].sort_values(["lsoa_code", "la_code"])
    key = content_key("la-outlines", file_digest(boundaries) or "-", lookup.to_csv(index=False))
    kept, record = Path(cache) / f"{key}.parquet", Path(cache) / f"{key}.sha256"
    recorded = record.read_text(encoding="utf-8").strip() if record.is_file() else None
    if recorded is None or file_digest(kept) != recorded:
        record.unlink(missing_ok=True)
        write_parquet(la_outlines(boundaries, lsoa_la), kept)
        write_text(record, file_digest(kept) or "")
    return kept


def _latest(main: pd.DataFrame) -> int:
    return int(main.dropna(subset=["observed"])["year"].max())


def funnel_figure(main: pd.DataFrame, funnel: pd.DataFrame, year: int, out: Path) -> dict:
    """National funnel plot of ratios relative to England, one panel per measure."""
    from cwi.charts.funnel import funnel_chart

    pts, grids = [], []
    for m in ORDER:
        d = main[(main["year"] == year) & (main["measure"] == m)].dropna(subset=["observed"])
        f = funnel[(funnel["year"] == year) & (funnel["measure"] == m)]
        if d.empty or f.empty:
            continue
        eng, tau2 = float(f["england_ratio"].iloc[0]), float(f["tau2"].iloc[0])
        e = d["expected"] * eng
        label = MEASURE_LABELS[m].capitalize()
        pts.append(pd.DataFrame({"measure": label, "expected": e,
                                 "estimate": d["observed"] / e,
                                 "outside": d["funnel"].str.contains("99.8")}))  # fmt: skip
        grid = np.geomspace(max(e.min() * 0.8, 1.0), e.max() * 1.2, 120)
        lim = overdispersed_ratio_limits(grid, tau2, (0.95, 0.998))
        grids.append(pd.DataFrame({"measure": label, "expected": grid,
                                   "lower_2sd": lim["lower_95"], "upper_2sd": lim["upper_95"],
                                   "lower_3sd": lim["lower_99.8"],
                                   "upper_3sd": lim["upper_99.8"]}))  # fmt: skip
    ratios, limits = pd.concat(pts), pd.concat(grids)
    order = [MEASURE_LABELS[m].capitalize() for m in ORDER]
    for frame in (ratios, limits):
        frame["measure"] = pd.Categorical(frame["measure"], categories=order, ordered=True)
    n_out = int(ratios["outside"].sum())
    fig = funnel_chart(
        ratios, limits, out,
        title=(f"{n_out} of {len(ratios)} LA rates lie outside the 99.8% limits even after "
               "allowing for overdispersion"),
        subtitle=(f"Observed / expected at England's rates by IMD decile, relative to England, "
                  f"every English LA, 31 March {year}; limits with a random-effects allowance"),
        source="DfE children in need, child protection and looked-after tables; MHCLG IMD; "
               "ONS populations; CWIP 2015 England decile rates. Public data only.",
        alt=(f"Funnel plots for children in need, child protection plans and looked after, "
             f"31 March {year}: each dot is an English LA, plotted by its expected number "
             f"against observed/expected relative to England; {n_out} dots lie outside the "
             "outer limits. Values are in the table below."),
        width=9.6, height=3.4, log_x=True,
    )  # fmt: skip
    return fig.as_dict()


def map_figure(main: pd.DataFrame, outlines: Any, year: int, out: Path) -> dict:
    """Choropleth of ratios relative to England by LA, one panel per measure."""
    from cwi.charts.maps import ratio_map

    frames = []
    for m in ORDER:
        d = main[(main["year"] == year) & (main["measure"] == m)][["la_code", "ratio_vs_england"]]
        part = outlines.merge(d, on="la_code", how="left").rename(
            columns={"ratio_vs_england": "ratio"}
        )
        part["panel"] = MEASURE_LABELS[m].capitalize()
        frames.append(part)
    areas = pd.concat(frames, ignore_index=True)
    import geopandas as gpd

    areas = gpd.GeoDataFrame(areas, geometry="geometry", crs=outlines.crs)
    high = main[(main["year"] == year)].dropna(subset=["ratio_vs_england"])
    share_high = float((high["ratio_vs_england"] > 1).mean())
    fig = ratio_map(
        areas, out,
        title=(f"{share_high:.0%} of LA rates are above what England's rates and their "
               "children's deprivation predict"),
        subtitle=(f"Observed / expected at England's rates by IMD decile, relative to England, "
                  f"by LA, 31 March {year}"),
        source="DfE LA tables; MHCLG IMD; ONS populations and LSOA boundaries (dissolved to "
               "LAs). Contains OS data (c) Crown copyright and database right.",
        alt=(f"Three maps of England's LAs, 31 March {year}, coloured from blue (rates below "
             "what the deprivation mix predicts, relative to England) to orange (above). "
             "Values are in the searchable table below."),
        panels=[MEASURE_LABELS[m].capitalize() for m in ORDER],
    )  # fmt: skip
    return fig.as_dict()


def _fmt(x: Any, nd: int = 2) -> str:
    return "" if pd.isna(x) else f"{x:,.{nd}f}"


def search_table_html(main: pd.DataFrame, year: int) -> str:
    """A searchable HTML table of every LA for one year (raw HTML block, no external code)."""
    d = main[main["year"] == year]
    wide = d.pivot_table(index=["la_code", "la_name", "region_name"], columns="measure",
                         values=["rate", "ratio_vs_england"], aggfunc="first")  # fmt: skip
    flags = d.pivot_table(index="la_code", columns="measure", values="funnel", aggfunc="first")
    head = ["LA", "Region"] + [f"{m} rate" for m in ORDER] + [f"{m} ratio" for m in ORDER]
    rows = []
    for (code, name, region), r in wide.sort_index(level=1).iterrows():
        cells = [html.escape(str(name)), html.escape(str(region))]
        cells += [_fmt(r.get(("rate", m)), 1) for m in ORDER]
        for m in ORDER:
            flag = str(flags.loc[code, m]) if m in flags.columns else ""
            mark = " ▲" if flag.startswith("Above 99.8") else " ▼" if flag.startswith(
                "Below 99.8") else ""  # fmt: skip
            cells.append(_fmt(r.get(("ratio_vs_england", m))) + mark)
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    th = "".join(f"<th>{h}</th>" for h in head)
    return (
        '```{=html}\n<div class="england-table">\n'
        '<label for="england-search">Find an LA or region: </label>'
        '<input type="search" id="england-search" placeholder="e.g. Shropshire">\n'
        f'<table id="england-la-table" class="table table-sm"><thead><tr>{th}</tr></thead>'
        f"<tbody>\n{chr(10).join(rows)}\n</tbody></table>\n</div>\n"
        "<script>\n"
        "document.getElementById('england-search').addEventListener('input', function () {\n"
        "  var q = this.value.toLowerCase();\n"
        "  document.querySelectorAll('#england-la-table tbody tr').forEach(function (tr) {\n"
        "    tr.style.display = tr.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';\n"
        "  });\n"
        "});\n</script>\n```\n"
    )


def write_public_downloads(
    folder: Path, main: pd.DataFrame, notes: pd.DataFrame
) -> tuple[Path, Path]:
    """Write ``england_public.csv`` and ``england_public.xlsx`` (contents, notes, data sheets).

    The same publication writers as every other download: integers as integers, rates to one
    decimal place, the shorthand for missing cells, a workbook with contents and notes sheets.
    """
    from cwi.site.downloads import write_csv, write_workbook

    folder.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = folder / PUBLIC_CSV, folder / PUBLIC_XLSX
    write_csv(main, csv_path)
    lines = [f"{c}: {COLUMN_NOTES[c]}" for c in main.columns if COLUMN_NOTES.get(c)]
    lines += [str(n) for n in notes.get("note", pd.Series(dtype=str))]
    title = "England, LA by LA: children's services against the deprivation mix"
    write_workbook(
        [("england_public", title, main)],
        xlsx_path,
        title,
        lines,
        "DfE children's social care tables; MHCLG IMD; ONS populations; CWI analysis",
    )
    return csv_path, xlsx_path


def _verdicts_md(models: pd.DataFrame, year: int) -> str:
    latest = models[models["year"] == year].set_index("measure")
    return "\n".join(f"- {latest.loc[m, 'verdict']}" for m in ORDER if m in latest.index) + "\n"


def _write_fragment(settings: Any, text: str, standalone: bool) -> Path:
    from cwi.site.content import fragments_dir, write_content

    if standalone:  # no other page content this build: write the values file and folder too
        write_content(settings, {}, {FRAGMENT: text})
        return fragments_dir(settings) / f"{FRAGMENT}.md"
    path = fragments_dir(settings) / f"{FRAGMENT}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


NOT_BUILT = (
    "*The public-data edition was not built: the public files were not found (see "
    "`public.data_dir` in settings.yml).*\n"
)


def write_public_tables(settings: Any, downloads: Path) -> tuple[Path, Path] | None:
    """Write ``england_public.csv`` / ``.xlsx`` into ``downloads`` (None: no public tables)."""
    from cwi.store import ResultsStore

    store = ResultsStore(settings)
    if not store.has_table("england_public"):
        return None
    main = store.table("england_public")
    return write_public_downloads(downloads, main, store.table("england_public_notes"))


def public_fragment(settings: Any, fig_dir: Path, downloads: Path | None) -> str | None:
    """The fragment of ``england.qmd``; its figures go to ``fig_dir``, its downloads to ``downloads``.

    The fragment names the figures where the page finds them (``report/_generated/...``), so
    ``fig_dir`` may be a staging folder that is copied there afterwards. With ``downloads``
    None the downloads are not written here (:func:`write_public_tables` writes them).

    Returns
    -------
    str or None
        The fragment, or ``None`` when the store has no public tables.
    """
    from cwi.site.markdown import figure_block
    from cwi.store import ResultsStore

    store = ResultsStore(settings)
    if not store.has_table("england_public"):
        return None
    main = store.table("england_public")
    funnel = store.table("england_public_funnel")
    models = store.table("england_public_models")
    notes = store.table("england_public_notes")
    year = _latest(main)
    fig_dir.mkdir(parents=True, exist_ok=True)
    parts = [f"### Verdicts, 31 March {year}\n\n", _verdicts_md(models, year), "\n"]
    fun = funnel_figure(main, funnel, year, fig_dir / "funnel.png")
    parts.append(figure_block((FIG_DIR / "funnel.png").as_posix(), fun) + "\n")
    outlines_file = store.root / OUTLINES
    if outlines_file.is_file():
        import geopandas as gpd

        outlines = gpd.read_parquet(outlines_file)
        mp = map_figure(main, outlines, year, fig_dir / "map.png")
        parts.append(figure_block((FIG_DIR / "map.png").as_posix(), mp) + "\n")
    parts.append(f"### Every LA, 31 March {year}\n\n")
    parts.append("Rates per 10,000 children; ratios are observed / expected at England's "
                 "decile rates, relative to England (1 = as England given the deprivation mix); "
                 "▲ / ▼ beyond the 99.8% limits.\n\n")  # fmt: skip
    parts.append(search_table_html(main, year) + "\n")
    if downloads is not None:
        write_public_downloads(downloads, main, notes)
    parts.append(
        f"Download every LA and year: [CSV](downloads/{PUBLIC_CSV}) · "
        f"[Excel with notes](downloads/{PUBLIC_XLSX}).\n\n"
    )
    parts.append("### Boundaries, vintages and assumptions\n\n")
    parts += [f"- {n}\n" for n in notes["note"]]
    return "".join(parts)


def write_public_page(settings: Any, standalone: bool = False) -> Path | None:
    """Write the fragment of ``england.qmd``, its figures and the downloads.

    (``cwi build`` writes them through :func:`cwi.site.pages.write_stage`, which skips an
    unchanged store; this writes them in place every time.)

    Parameters
    ----------
    settings : Settings
        Project root, results store.
    standalone : bool
        True when no other page content is written in this build (``cwi build --public``):
        the fragment folder and ``_variables.yml`` are then written here.

    Returns
    -------
    Path or None
        The fragment file, or ``None`` when the store has no public tables (the fragment then
        says so).
    """
    root = settings.root
    text = public_fragment(settings, root / FIG_DIR, root / "downloads")
    path = _write_fragment(settings, text or NOT_BUILT, standalone)
    return None if text is None else path
