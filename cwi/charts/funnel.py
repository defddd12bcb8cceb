"""Funnel plots: each LA's standardised ratio against its expected count, with control limits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from plotnine import (
    aes,
    facet_wrap,
    geom_hline,
    geom_line,
    geom_point,
    geom_text,
    ggplot,
    labs,
    scale_color_manual,
    scale_linetype_manual,
    scale_x_log10,
    theme,
)

from cwi.charts.figure import Figure
from cwi.charts.theme import palette, theme_af


def funnel_chart(
    ratios: pd.DataFrame,
    limits: pd.DataFrame,
    path: Path,
    *,
    title: str,
    subtitle: str,
    source: str,
    alt: str,
    width: float = 7.2,
    height: float = 3.0,
    log_x: bool = False,
) -> Figure:
    """Draw one funnel panel per measure.

    Parameters
    ----------
    ratios : pandas.DataFrame
        ``measure, expected, estimate`` (the standardised ratio) and ``outside`` (bool: beyond
        the 99.8% limits drawn); an optional ``label`` column names the points to label (empty
        = no label). Hidden ratios (missing) are left out.
    limits : pandas.DataFrame
        ``measure, expected, lower_2sd, upper_2sd, lower_3sd, upper_3sd`` on a grid; when the
        overdispersion-adjusted ``..._od`` columns are present, those are drawn as the limits
        and the Poisson-only 99.8% limits as a faint reference.
    path : Path
        PNG file to write.
    title, subtitle, source, alt : str
        The words that travel with the chart (see :class:`cwi.charts.Figure`).
    width, height : float
        Size in inches.
    log_x : bool
        Expected counts on a log scale (for LAs of very different sizes).

    Returns
    -------
    Figure
        The saved chart and its words.
    """
    figure = Figure(path=path, title=title, subtitle=subtitle, source=source, alt=alt)
    figure.validate()
    pts = ratios.dropna(subset=["estimate"]).copy()
    pts["position"] = pts["outside"].map({True: "Outside 99.8% limits", False: "Within limits"})
    od = "lower_3sd_od" in limits.columns
    suffix = "_od" if od else ""
    lines = limits.melt(
        id_vars=["measure", "expected"],
        value_vars=[f"{b}_{k}sd{suffix}" for k in (2, 3) for b in ("lower", "upper")],
        var_name="limit",
        value_name="ratio",
    )
    lines["band"] = lines["limit"].str.contains("2sd").map({True: "95%", False: "99.8%"})
    grey, blue, orange = "#8C8C8C", *palette("duo")
    plot = (
        ggplot()
        + geom_hline(yintercept=1, color="#3D3D3D", size=0.4)
        + geom_line(
            lines, aes("expected", "ratio", group="limit", linetype="band"), color=grey, size=0.5
        )
    )
    if od:
        poisson = limits.melt(
            id_vars=["measure", "expected"], value_vars=["lower_3sd", "upper_3sd"],
            var_name="limit", value_name="ratio",
        )  # fmt: skip
        plot += geom_line(
            poisson, aes("expected", "ratio", group="limit"), color="#CFCFCF", size=0.35
        )
    plot += geom_point(pts, aes("expected", "estimate", color="position"), size=1.8)
    if "label" in pts.columns and (pts["label"].astype(str) != "").any():
        named = pts[pts["label"].astype(str) != ""]
        plot += geom_text(
            named, aes("expected", "estimate", label="label"), size=6, ha="left", va="bottom",
            nudge_y=0.0, color="#3D3D3D",
        )  # fmt: skip
    plot = (
        plot
        + facet_wrap("measure", scales="free", nrow=1)
        + scale_color_manual(values={"Within limits": blue, "Outside 99.8% limits": orange})
        + scale_linetype_manual(values={"95%": "dashed", "99.8%": "solid" if od else "dotted"})
        + labs(x="Expected number of children (from the deprivation mix)", y="Observed / expected")
        + theme_af(base_size=9)
        + theme(figure_size=(width, height))
    )
    if log_x:
        plot = plot + scale_x_log10()
    return figure.write(plot)
