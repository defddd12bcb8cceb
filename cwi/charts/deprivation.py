"""Charts of rates against deprivation decile."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from plotnine import (  # noqa: E402
    aes,
    facet_wrap,
    geom_errorbar,
    geom_line,
    geom_point,
    ggplot,
    labs,
    scale_color_manual,
    scale_x_continuous,
    theme,
)

from cwi.charts.figure import Figure  # noqa: E402
from cwi.charts.theme import palette, theme_af  # noqa: E402


def decile_rates_chart(
    frame: pd.DataFrame,
    path: Path,
    *,
    title: str,
    subtitle: str,
    source: str,
    alt: str,
    width: float = 7.2,
    height: float = 3.0,
) -> Figure:
    """Draw rates per 10,000 by IMD decile, one panel per measure, one line per series.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``series``, ``measure``, ``imd_decile`` (1 = most deprived), ``rate``, ``lower``,
        ``upper``. Suppressed cells (missing rate) are left out of the chart.
    path : Path
        PNG file to write.
    title, subtitle, source, alt : str
        The words that travel with the chart (see :class:`cwi.charts.Figure`).
    width, height : float
        Size in inches.

    Returns
    -------
    Figure
        The saved chart and its words.
    """
    figure = Figure(path=path, title=title, subtitle=subtitle, source=source, alt=alt)
    figure.validate()
    return figure.write(decile_rates_plot(frame, width, height))


def decile_rates_plot(frame: pd.DataFrame, width: float = 7.2, height: float = 3.0) -> ggplot:
    """The plotnine plot :func:`decile_rates_chart` draws (suppressed cells left out)."""
    data = frame.dropna(subset=["rate"]).copy()
    series = list(dict.fromkeys(frame["series"]))
    data["series"] = pd.Categorical(data["series"], categories=series)
    return (
        ggplot(data, aes("imd_decile", "rate", color="series", group="series"))
        + geom_line(size=0.8)
        + geom_point(size=1.6)
        + geom_errorbar(aes(ymin="lower", ymax="upper"), width=0.25, size=0.4)
        + facet_wrap("measure", scales="free_y", nrow=1)
        + scale_x_continuous(breaks=list(range(1, 11)))
        + scale_color_manual(values=palette("categorical", n=len(series)), drop=False)
        + labs(x="IMD decile (1 = most deprived 10% of areas in England)", y="Rate per 10,000")
        + theme_af(base_size=9)
        + theme(figure_size=(width, height))
    )
