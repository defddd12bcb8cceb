"""Pandoc markdown for the interviews chapter (written to ``report/_generated/interviews.md``).

Only pipe tables, headings, paragraphs and block quotes: no raw HTML, no code cells.
"""

from __future__ import annotations

import math

import pandas as pd

from cwi.interviews.scheme import Scheme
from cwi.site.safe import md_text


def _cell(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return md_text(value)


def pipe_table(
    frame: pd.DataFrame,
    headers: dict[str, str],
    numeric: tuple[str, ...] = (),
    caption: str | None = None,
    digits: int = 2,
) -> str:
    """Render selected columns of a frame as a pandoc pipe table.

    Parameters
    ----------
    frame : pandas.DataFrame
        Table data.
    headers : dict
        Column name -> header text, in display order.
    numeric : tuple of str
        Columns aligned right.
    caption : str, optional
        Table caption (pandoc ``Table:`` syntax).
    digits : int
        Decimals for floats.

    Returns
    -------
    str
        Markdown text ending with a blank line.
    """
    cols = list(headers)
    lines = [
        "| " + " | ".join(_cell(headers[c]) for c in cols) + " |",
        "|" + "|".join("---:" if c in numeric else ":---" for c in cols) + "|",
    ]
    for rec in frame[cols].itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v, digits) for v in rec) + " |")
    out = "\n".join(lines) + "\n"
    if caption:
        out += f"\n: {caption}\n"
    return out + "\n"


def _wide(frame: pd.DataFrame, column: str, value: str, order: list[str]) -> pd.DataFrame:
    wide = frame.pivot(index="theme", columns=column, values=value)
    wide = wide.reindex(columns=[c for c in order if c in wide.columns])
    themes = list(dict.fromkeys(frame["theme"]))
    return wide.reindex(themes).reset_index()


def _theme_table(frame: pd.DataFrame, column: str, order: list[str], caption: str) -> str:
    """Coded segments by theme (rows) and ``column`` (one column per value, in ``order``)."""
    return pipe_table(
        _wide(frame, column, "segments", order),
        {"theme": "Theme", **{v: str(v).capitalize() for v in order}},
        numeric=tuple(order),
        caption=caption,
    )


def chapter_markdown(tables: dict[str, pd.DataFrame], scheme: Scheme) -> str:
    """Write the interviews chapter body from :func:`cwi.interviews.build_tables` output.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        The tables.
    scheme : Scheme
        The coding scheme the tables were built with.

    Returns
    -------
    str
        Pandoc markdown (headings from level 2).
    """
    meta = dict(zip(tables["meta"]["key"], tables["meta"]["value"], strict=True))
    threshold = meta.get("small_count_threshold", "10")
    out: list[str] = []
    if meta.get("fictional") == "yes":
        out.append(
            "::: {.callout-warning}\n**FICTIONAL demo data.** The interviews, quotes and counts "
            "in this chapter come from a generated demonstration set: they are not real "
            "interviews and say nothing about any local authority.\n:::\n"
        )
    out.append(
        f"This chapter summarises {meta['interviews']} coded interviews with staff in "
        f"{meta['las']} local authorities, coded by {meta['coders']} coders with coding scheme "
        f"version {scheme.version}. Each interview is counted once (its primary coder); "
        f"{meta['interviews_2_coders']} interviews were double-coded and "
        f"{meta['interviews_3plus_coders']} coded by three or more coders to measure agreement. "
        "Local authorities appear only under pseudonyms and quotes are attributed by role and "
        f"pseudonym only. Counts from 1 to {int(threshold) - 1} in the tables by role and by "
        "local-authority group are shown as [c].\n"
    )

    out.append("## Coding scheme\n")
    out.append(
        f"Scheme *{md_text(scheme.name)}*, version {md_text(scheme.version)}: {len(scheme.themes)} themes and "
        f"{len(scheme.active_codes)} active codes.\n"
    )
    for theme in scheme.themes.itertuples():
        codes = scheme.codes[
            (scheme.codes["theme_id"] == theme.theme_id) & (scheme.codes["status"] == "active")
        ]
        out.append(f"### {md_text(theme.theme)}\n\n{md_text(theme.description)}\n")
        out.append(
            pipe_table(
                codes,
                {
                    "code": "Code",
                    "label": "Label",
                    "definition": "Definition",
                    "when_to_use": "Use when",
                    "when_not_to_use": "Do not use when",
                },
            )
        )
    retired = scheme.codes[scheme.codes["status"] == "retired"]
    if len(retired):
        out.append("Retired codes (kept so that older coding can be read):\n")
        out.append(
            pipe_table(retired, {"code": "Code", "label": "Label", "replaced_by": "Replaced by"})
        )
    if len(tables["change_log"]):
        out.append("### Change log\n")
        out.append(
            pipe_table(
                tables["change_log"], {"version": "Version", "date": "Date", "change": "Change"}
            )
        )

    out.append("## Validation of the coded segments\n")
    summary = tables["validation_summary"]
    if len(summary):
        out.append(
            f"{meta['findings_error']} rows with errors were left out of the tables; warnings "
            "are listed for the coders to resolve.\n"
        )
        out.append(
            pipe_table(
                summary,
                {"rule": "Rule", "severity": "Severity", "rows": "Rows"},
                numeric=("rows",),
            )
        )
    else:
        out.append("Every coded segment matched the scheme; no findings.\n")

    out.append("## How often each theme and code was used\n")
    out.append(
        pipe_table(
            tables["freq_theme"],
            {"theme": "Theme", "segments": "Segments", "interviews": "Interviews", "las": "LAs"},
            numeric=("segments", "interviews", "las"),
            caption="Coded segments, interviews and local authorities by theme (primary coding).",
        )
    )
    out.append(
        pipe_table(
            tables["freq_code"],
            {
                "code": "Code",
                "label": "Label",
                "segments": "Segments",
                "interviews": "Interviews",
                "las": "LAs",
            },
            numeric=("segments", "interviews", "las"),
            caption="Coded segments, interviews and local authorities by code.",
        )
    )

    out.append("## By staff role\n")
    role = tables["freq_role"]
    order = list(dict.fromkeys(role["role"]))
    out.append(
        _theme_table(role, "role", order, "Coded segments by theme and role of the interviewee.")
    )

    out.append("## By local-authority group\n")
    groups = tables["freq_la_group"]
    if meta.get("la_groups_linked") == "yes":
        sizes = dict(zip(tables["la_groups"]["la_group"], tables["la_groups"]["las"], strict=True))
        out.append(
            "Local authorities are grouped by their rate of children looked after against the rate "
            "their deprivation mix would predict (standardised ratio and its confidence interval "
            "from the quantitative analysis): *above expected* when the whole interval lies above 1, "
            "*below expected* when it lies below 1, otherwise *as expected*. Interviewed LAs per "
            "group: " + ", ".join(f"{g} {n}" for g, n in sizes.items() if int(n)) + ".\n"
        )
        order = [g for g in dict.fromkeys(groups["la_group"]) if int(sizes.get(g, 0))]
        out.append(
            _theme_table(
                groups,
                "la_group",
                order,
                "Coded segments by theme and LA group (CLA rate against deprivation-expected rate).",
            )
        )
    else:
        out.append(
            "The interviewed local authorities are not yet linked to the standardised ratios of "
            "the quantitative analysis, so no grouping is shown.\n"
        )

    out.append("## Themes raised together\n")
    mat = tables["cooccurrence_theme"]
    themes = [c for c in mat.columns if c != "theme"]
    short = {t: scheme.themes.set_index("theme").loc[t, "theme_id"] for t in themes}
    mat = mat.rename(columns=short)
    out.append(
        pipe_table(
            mat,
            {"theme": "Theme", **{short[t]: short[t] for t in themes}},
            numeric=tuple(short.values()),
            caption="Coding units (speaker turns) coded with both themes; the diagonal counts "
            "units coded with the theme. Column abbreviations are the theme ids of the scheme.",
        )
    )
    pairs = tables["cooccurrence"].head(10)
    if len(pairs):
        out.append(
            pipe_table(
                pairs,
                {
                    "code_a": "Code",
                    "code_b": "Co-occurs with",
                    "units": "Units",
                    "interviews": "Interviews",
                },
                numeric=("units", "interviews"),
                caption="The ten most frequent pairs of codes in the same unit.",
            )
        )

    out.append("## Agreement between coders\n")
    agr = tables["agreement"]
    agr = agr[agr["units"] > 0]
    if len(agr):
        out.append(
            "On the interviews coded by more than one coder, each speaker turn that any coder coded "
            "is a unit; for each code a coder either applied it to the unit or not. Cohen's kappa "
            "uses the double-coded interviews; Krippendorff's alpha (nominal) uses every "
            "multi-coded interview, including those with three coders. Values of 0.8 and above "
            "are usually read as reliable, 0.67 to 0.8 as tentative; a dash means the code was "
            "never applied there, so agreement cannot be estimated.\n"
        )
        out.append(
            pipe_table(
                agr,
                {
                    "code": "Code",
                    "label": "Label",
                    "applied": "Applied",
                    "pct_agreement": "Agreement %",
                    "kappa": "Cohen's kappa",
                    "alpha": "Krippendorff's alpha",
                },
                numeric=("applied", "pct_agreement", "kappa", "alpha"),
                caption=f"Inter-coder agreement per code ({int(agr['units'].iloc[-1])} units).",
            )
        )
    else:
        out.append(
            "No interview was coded by more than one coder, so agreement is not measured.\n"
        )

    quotes = tables["quotes"]
    if len(quotes):
        out.append("## Illustrative quotes\n")
        if meta.get("fictional") == "yes":
            out.append("These quotes are invented for the FICTIONAL demo set.\n")
        for rec in quotes.itertuples():
            out.append(
                f"**{md_text(rec.theme)}** ({md_text(rec.code)})\n\n> {md_text(rec.quote)}\n>\n"
                f"> — {md_text(rec.attribution)}\n"
            )
    return "\n".join(out).rstrip() + "\n"
