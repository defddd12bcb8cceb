"""Ratio estimates with confidence intervals, as points and ranges against a line at 1."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from plotnine import (
    aes,
    coord_flip,
    facet_wrap,
    geom_hline,
    geom_linerange,
    geom_point,
    ggplot,
    labs,
    position_dodge,
    scale_color_manual,
    scale_y_log10,
    theme,
)

from cwi.charts.figure import Figure
from cwi.charts.theme import palette, theme_af


def estimates_chart(
    frame: pd.DataFrame,
    path: Path,
    *,
    title: str,
    subtitle: str,
    source: str,
    alt: str,
    axis_label: str,
    width: float = 7.2,
    height: float = 3.2,
) -> Figure:
    """Draw ratio estimates (log scale) with intervals, one panel per ``panel`` value.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``panel, label, series, estimate, lower, upper``; rows with a missing estimate are left
        out. Labels keep their order of first appearance, series likewise.
    path : Path
        PNG file to write.
    title, subtitle, source, alt : str
        The words that travel with the chart (see :class:`cwi.charts.Figure`).
    axis_label : str
        What the ratio is (e.g. "Rate ratio against White children").
    width, height : float
        Size in inches.

    Returns
    -------
    Figure
        The saved chart and its words.
    """
    figure = Figure(path=path, title=title, subtitle=subtitle, source=source, alt=alt)
    figure.validate()
    data = frame.dropna(subset=["estimate"]).copy()
    labels = list(dict.fromkeys(frame["label"]))[::-1]  # first label on top after the flip
    series = list(dict.fromkeys(frame["series"]))
    data["label"] = pd.Categorical(data["label"], categories=labels)
    data["series"] = pd.Categorical(data["series"], categories=series)
    dodge = position_dodge(width=0.6)
    plot = (
        ggplot(data, aes("label", "estimate", color="series"))
        + geom_hline(yintercept=1, color="#3D3D3D", size=0.4)
        + geom_linerange(aes(ymin="lower", ymax="upper"), position=dodge, size=0.8)
        + geom_point(position=dodge, size=1.8)
        + facet_wrap("panel", nrow=1)
        + scale_y_log10()
        + scale_color_manual(values=palette("categorical", n=len(series)), drop=False)
        + coord_flip()
        + labs(x="", y=axis_label)
        + theme_af(base_size=9)
        + theme(figure_size=(width, height))
    )
    return figure.write(plot)
