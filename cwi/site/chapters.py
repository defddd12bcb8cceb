"""Bodies of the report chapters, generated as markdown fragments from the results store.

Each chapter source ``report/<chapter>.qmd`` holds the hand-written framing and brings in the
fragment of the same name (``{{< fragment q1_clustering >}}``), made here from published tables
only; charts are drawn into ``report/_generated/figures/``. Verdict sentences
come from the numbers (``cwi.analysis`` verdict tables where present).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from cwi.charts.deprivation import decile_rates_chart
from cwi.config import Settings
from cwi.disclosure import crude_ratio, format_cell, rule_text
from cwi.profiles import data_source_label
from cwi.publish import TABLE_TITLES
from cwi.schemas import MEASURE_LABELS, MEASURES
from cwi.site.markdown import figure_block, pipe_table
from cwi.store import ResultsStore

REGION = "REGION"


#: Columns shown when a published table is rendered generically, with their decimals.
_DECIMALS = {"n": 0, "population": 0, "observed": 0, "expected": 1, "number": 0}


def _fmt(value: object, note: object = "", decimals: int = 2) -> str:
    if isinstance(value, str):
        return value
    return format_cell(value, note if isinstance(note, str) else "", decimals)


_HIDE_COLUMNS = {"note", "method", "area_type", "area_name", "se", "log_irr", "alpha", "year"}


def generic_table(frame: pd.DataFrame, max_rows: int = 40) -> str:
    """Render a published table as a pipe table: region rows, key columns, shorthand kept.

    LA rows live on the LA pages; the report shows the region (where the table has areas).
    Methods are listed once under the table instead of in a column.
    """
    if "area_code" in frame.columns and (frame["area_code"] == REGION).any():
        frame = frame[frame["area_code"] == REGION]
    frame = frame.head(max_rows)
    notes = frame["note"] if "note" in frame.columns else pd.Series("", index=frame.index)
    cols = [c for c in frame.columns if c not in _HIDE_COLUMNS and c != "area_code"]
    rows = []
    for idx, rec in frame[cols].iterrows():
        rows.append(
            [
                ("" if pd.isna(rec[c]) else rec[c])
                if frame[c].dtype == object or isinstance(rec[c], str)
                else _fmt(rec[c], notes.loc[idx], _DECIMALS.get(c, 0 if c.endswith("_n") else 2))
                for c in cols
            ]
        )
    align = "".join("l" if frame[c].dtype == object else "r" for c in cols)
    table = pipe_table([c.replace("_", " ") for c in cols], rows, align=align)
    if "method" in frame.columns:
        methods = [m for m in dict.fromkeys(frame["method"].dropna().astype(str))]
        if methods:
            table += "\nMethod: " + "; ".join(methods) + ".\n"
    return table


def verdicts_md(store: ResultsStore, question: str) -> str:
    """The generated plain-English verdicts for one research question, as a list."""
    if not store.has_table("verdicts"):
        return ""
    v = store.table("verdicts")
    v = v[v["question"] == question]
    if v.empty:
        return ""
    return (
        "## What the numbers say\n\n" + "".join(f"- {t}\n" for t in v["verdict"].dropna()) + "\n"
    )


def _region_deciles(store: ResultsStore, settings: Settings) -> pd.DataFrame:
    d = store.table("q1_decile_rates")
    return d[(d["year"] == settings.main_year) & (d["area_type"] == "region")]


def chapter_index(store: ResultsStore, settings: Settings, out: Path) -> str:
    """Key findings for the home page."""
    region = _region_deciles(store, settings)
    area = store.table("area_rates")
    reg = area[(area["area_type"] == "region") & (area["year"] == settings.main_year)]
    lines = []
    for m in MEASURES:
        r = reg[reg["measure"] == m]
        if r.empty:
            continue
        rate = _fmt(r["rate"].iloc[0], r["note"].iloc[0] if "note" in r else "", 1)
        # hidden (NaN) when either decile's count is hidden: the ratio would give it back
        ratio = crude_ratio(
            region, {"measure": m, "imd_decile": 1}, {"measure": m, "imd_decile": 10}
        )
        ratio_txt = (
            f"; children in the most deprived tenth of neighbourhoods were "
            f"{ratio:.1f} times as likely to be {MEASURE_LABELS[m].replace('children ', '')} "
            f"as children in the least deprived tenth"
            if pd.notna(ratio)
            else ""
        )
        lines.append(
            f"- **{MEASURE_LABELS[m].capitalize()}:** {rate} per 10,000 children{ratio_txt}."
        )
    return "\n".join(lines) + "\n"


def chapter_q1(store: ResultsStore, settings: Settings, out: Path) -> str:
    """Q1: clustering of children's-services clients in the most deprived areas."""
    region = _region_deciles(store, settings).assign(series=lambda d: d["area_name"].astype(str))
    fig_path = out / "figures" / "q1_region_deciles.png"
    name = str(region["area_name"].iloc[0]) if not region.empty else "the region"
    fig = decile_rates_chart(
        region,
        fig_path,
        title="Rates rise with every step of neighbourhood deprivation",
        subtitle=f"Rate per 10,000 children aged 0-17 by IMD decile, {name}, 31 March {settings.main_year}",
        source=data_source_label(settings),
        alt=(
            f"Line charts of CIN, CPP and CLA rates by IMD decile in {name}; rates are highest in "
            "decile 1 (most deprived) and fall towards decile 10. Values are in the table."
        ),
    )
    rows = []
    for decile in range(1, 11):
        cells = [str(decile)]
        for m in MEASURES:
            c = region[(region["measure"] == m) & (region["imd_decile"] == decile)]
            if c.empty:
                cells += ["[z]", "[z]"]
                continue
            c = c.iloc[0]
            cells += [
                _fmt(c["rate"], c.get("note", ""), 1),
                f"{_fmt(c['lower'], c.get('note', ''), 1)} to {_fmt(c['upper'], c.get('note', ''), 1)}",
            ]
        rows.append(cells)
    header = ["IMD decile"] + [h for m in MEASURES for h in (f"{m} rate", f"{m} 95% CI")]
    table = pipe_table(header, rows)
    body = figure_block(f"_generated/figures/{fig_path.name}", fig.as_dict(), table_md=table)
    extra = _extra_tables(store, ["q1_"], exclude={"q1_decile_rates"})
    return (
        verdicts_md(store, "Q1")
        + "## Rates by decile\n\n"
        + body
        + ("\n## Tables\n" + extra if extra else "")
    )


def _extra_tables(
    store: ResultsStore, prefixes: list[str], exclude: set[str] = frozenset()
) -> str:
    parts = []
    for path in sorted(store.tables_dir.glob("*.csv")):
        name = path.stem
        if name in exclude or not any(name.startswith(p) for p in prefixes):
            continue
        title = TABLE_TITLES.get(name, name.replace("_", " ").capitalize())
        parts.append(f"\n### {title}\n\n{generic_table(store.table(name))}")
    return "\n".join(parts)


def _chapter_tables(
    prefixes: list[str], question: str | None = None
) -> Callable[[ResultsStore, Settings, Path], str]:
    def chapter(store: ResultsStore, settings: Settings, out: Path) -> str:
        body = _extra_tables(store, prefixes)
        if body:
            body = "## Tables\n" + body
        verdicts = verdicts_md(store, question) if question else ""
        return (
            verdicts + body
        ) or "_The analysis tables for this chapter are not in this build._\n"

    return chapter


def chapter_q2(store: ResultsStore, settings: Settings, out: Path) -> str:
    """Q2: verdicts, ethnic rate ratios before and after allowing for deprivation, tables."""
    from cwi.charts.estimates import estimates_chart

    body = verdicts_md(store, "Q2")
    if store.has_table("q2_ethnic") and not store.table("q2_ethnic").empty:
        e = store.table("q2_ethnic")
        e = e[e["year"] == settings.main_year]
        series = {
            "Unadjusted": ("unadjusted", "unadjusted_lower", "unadjusted_upper"),
            "Deprivation-adjusted": ("estimate", "lower", "upper"),
            "Deprivation- and LA-adjusted": (
                "la_adjusted",
                "la_adjusted_lower",
                "la_adjusted_upper",
            ),
        }
        frames = [
            pd.DataFrame(
                {
                    "panel": e["measure"],
                    "label": e["ethnic_group"],
                    "series": name,
                    "estimate": e[cols[0]],
                    "lower": e[cols[1]],
                    "upper": e[cols[2]],
                }
            )
            for name, cols in series.items()
            if cols[0] in e.columns
        ]
        frame = pd.concat(frames, ignore_index=True)
        asian = e[(e["measure"] == "CLA") & (e["ethnic_group"] == "Asian")]
        title = "Allowing for deprivation changes the picture of ethnic differences"
        if not asian.empty and pd.notna(asian["estimate"].iloc[0]):
            title = (
                f"After allowing for deprivation, Asian children were "
                f"{1 / asian['estimate'].iloc[0]:.1f} times less likely than White children "
                "to be looked after"
            )
        fig_path = out / "figures" / "q2_ethnic.png"
        fig = estimates_chart(
            frame,
            fig_path,
            title=title,
            subtitle=(
                f"Rate ratio against White children, by measure, region, "
                f"31 March {settings.main_year} (log scale)"
            ),
            source=data_source_label(settings),
            alt=(
                "Dot-and-range charts of rate ratios against White children for each ethnic "
                "group and measure, unadjusted, adjusted for deprivation and adjusted for "
                "deprivation and LA. Values are in the ethnic rate ratios table."
            ),
            axis_label="Rate ratio against White children",
        )
        body += "## Ethnicity and deprivation\n\n" + figure_block(
            f"_generated/figures/{fig_path.name}", fig.as_dict()
        )
    extra = _extra_tables(store, ["q2_"])
    return body + ("\n## Tables\n" + extra if extra else "")


def chapter_q4(store: ResultsStore, settings: Settings, out: Path) -> str:
    """Q4: verdicts, the deprivation gradient of each outcome side by side, tables."""
    from cwi.charts.estimates import estimates_chart

    body = verdicts_md(store, "Q4")
    if store.has_table("q1_gradient"):
        g = store.table("q1_gradient")
        g = g[(g["year"] == settings.main_year) & (g["area_code"] == REGION)]
        g = g[g["model"].isin(["within_la", "negbin"])]
        labels = {
            "within_la": "Within LAs (LA fixed effects)",
            "negbin": "Region (negative binomial)",
        }
        frame = pd.DataFrame(
            {
                "panel": "Per decile step towards the most deprived",
                "label": g["measure"],
                "series": g["model"].map(labels),
                "estimate": g["estimate"],
                "lower": g["lower"],
                "upper": g["upper"],
            }
        )
        within = g[g["model"] == "within_la"].set_index("measure")["estimate"]
        title = "Deprivation gradients compared across outcomes"
        if len(within) == 3:
            steep = within.idxmax()
            title = f"The deprivation gradient is steepest for {MEASURE_LABELS[steep]}"
        fig_path = out / "figures" / "q4_gradients.png"
        fig = estimates_chart(
            frame,
            fig_path,
            title=title,
            subtitle=(
                f"Incidence rate ratio per IMD decile step, region, 31 March {settings.main_year}"
                " (log scale)"
            ),
            source=data_source_label(settings),
            alt=(
                "Dot-and-range chart of the rate ratio per decile step of deprivation for CIN, "
                "CPP and CLA, within LAs and region-wide. Values are in the gradient table of "
                "the Q1 chapter."
            ),
            axis_label="Rate ratio per decile step",
            height=2.4,
        )
        body += "## Gradients by outcome\n\n" + figure_block(
            f"_generated/figures/{fig_path.name}", fig.as_dict()
        )
    extra = _extra_tables(store, ["q4_"])
    return body + ("\n## Tables\n" + extra if extra else "")


def chapter_q3(store: ResultsStore, settings: Settings, out: Path) -> str:
    """Q3: verdicts, the funnel plot of standardised ratios, then the tables."""
    from cwi.charts.funnel import funnel_chart

    body = verdicts_md(store, "Q3")
    if store.has_table("q3_standardised") and store.has_table("q3_funnel_limits"):
        sr = store.table("q3_standardised")
        sr = sr[sr["year"] == settings.main_year].copy()
        sr["outside"] = (sr["estimate"] < sr["lower_3sd"]) | (sr["estimate"] > sr["upper_3sd"])
        limits = store.table("q3_funnel_limits")
        shown = sr.dropna(subset=["estimate"])
        n_out, n = int(shown["outside"].sum()), shown["la_code"].nunique()
        fig_path = out / "figures" / "q3_funnel.png"
        fig = funnel_chart(
            sr,
            limits,
            fig_path,
            title=(
                f"Local authorities differ by more than chance once deprivation is allowed for: "
                f"{n_out} of {len(shown)} ratios lie outside the 99.8% limits"
                if n_out
                else "Local authorities' rates are in line with their deprivation mix"
            ),
            subtitle=(
                f"Observed / deprivation-expected number of children, {n} local authorities, "
                f"31 March {settings.main_year}"
            ),
            source=data_source_label(settings),
            alt=(
                f"Funnel plots for CIN, CPP and CLA: each point is a local authority's "
                f"standardised ratio against its expected count; {n_out} of {len(shown)} points "
                "lie outside the 99.8% control limits. Values are in the standardised ratios table."
            ),
        )
        body += "## Standardised ratios\n\n" + figure_block(
            f"_generated/figures/{fig_path.name}", fig.as_dict()
        )
    extra = _extra_tables(store, ["q3_"], exclude={"q3_funnel_limits"})
    return body + ("\n## Tables\n" + extra if extra else "")


def chapter_methods(store: ResultsStore, settings: Settings, out: Path) -> str:
    """Methods: data, linkage, statistics, disclosure rule and the build manifest."""
    manifest = store.manifest()
    code = manifest.get("code_version", {})
    lines = [
        f"- Data source: {data_source_label(settings)}.",
        f"- Snapshot: 31 March {settings.main_year}; years analysed: {', '.join(map(str, settings.years))}.",
        f"- Deprivation: IMD ({settings.imd_vintage}); decile 1 = most deprived 10% of LSOAs in England.",
        f"- Disclosure control: {rule_text(settings.disclosure)}",
        f"- Built {manifest.get('built_at', '')} from code version {code.get('package', '')} "
        f"(commit {str(code.get('commit', ''))[:10]}).",
    ]
    for note in manifest.get("reference_notes", []):
        lines.append(f"- Reference data note: {note}")
    if store.has_table("analysis_notes"):
        for rec in store.table("analysis_notes").to_dict("records"):
            lines.append(f"- Not computed on these data: {rec['table']} ({rec['reason']}).")
    return "\n".join(lines) + "\n"


CHAPTERS: dict[str, Callable[[ResultsStore, Settings, Path], str]] = {
    "index": chapter_index,
    "q1_clustering": chapter_q1,
    "q2_identity": chapter_q2,
    "q3_within_between": chapter_q3,
    "q4_outcomes": chapter_q4,
    "implications": _chapter_tables(["allocation", "england"]),
    "methods": chapter_methods,
}


def chapter_fragments(store: ResultsStore, settings: Settings) -> dict[str, str]:
    """One fragment per chapter (named as in :data:`CHAPTERS`, plus ``interviews``).

    Charts are drawn into ``report/_generated/figures/`` (inside the project, where Quarto
    finds them); fragments refer to them relative to ``report/``.
    """
    out = settings.root / "report" / "_generated"
    (out / "figures").mkdir(parents=True, exist_ok=True)
    fragments = {name: build(store, settings, out) for name, build in CHAPTERS.items()}
    fragments["interviews"] = _interviews(store, settings)
    return fragments


def _interviews(store: ResultsStore, settings: Settings) -> str:
    try:
        from cwi.interviews import build_tables, chapter_markdown, load_scheme
    except ImportError:
        return "_The interview strand is not in this build._\n"
    sr = (
        store.table("q3_standardised_ratios")
        if store.has_table("q3_standardised_ratios")
        else None
    )
    tables = build_tables(settings, sr=sr)
    return chapter_markdown(tables, load_scheme())
