"""The LA profile's charts: spine, rates by decile, funnel, trends (matplotlib, A4 sized).

Every chart orders the measures CIN, CPP, CLA, carries its words in a :class:`Figure`, and stays
readable in greyscale: directions are shown by marker shape as well as colour. A value that is
not published is never drawn as a number: a suppressed decile is a gap in the line with its
symbol (``[c]``) written at the foot of the panel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, NullFormatter

from cwi.charts.figure import Figure, Layout, kept_legend, reused_figure, widen_to_fit
from cwi.charts.theme import FONT

DARK, TEAL, PINK, ORANGE, GREY = "#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D"
LIGHT = "#BFBFBF"
#: Marker and fill for each direction against the reference (shape carries it in greyscale).
DIRECTION_STYLE = {
    "higher": {"marker": "^", "color": DARK, "label": "Significantly higher"},
    "lower": {"marker": "v", "color": "#6BACE6", "label": "Significantly lower"},
    "similar": {"marker": "o", "color": "white", "label": "Not significantly different"},
    "unknown": {"marker": "s", "color": LIGHT, "label": "Not compared"},
}
#: A decile with fewer children than this (or than TINY_SHARE of the LA's children) is too
#: small for a reliable rate: it is not drawn (symbol ``[u]``, value in the table).
TINY_CHILDREN = 500
TINY_SHARE = 0.02

#: Margins (inches) of each chart, fixed so no chart is measured before it is drawn: room for
#: four-digit tick labels, the legend above the panels and the axis label below them.
SPINE_LAYOUT = Layout(left=0.45, right=0.1, bottom=0.96, top=0.1)
DECILE_LAYOUT = Layout(left=0.58, right=0.12, bottom=0.6, top=0.62, gap=0.42)
FUNNEL_LAYOUT = Layout(left=0.58, right=0.2, bottom=0.6, top=0.64, gap=0.45)
TREND_LAYOUT = Layout(left=0.58, right=0.12, bottom=0.3, top=0.62, gap=0.42)

mpl.rcParams.update({"font.family": FONT, "font.size": 8, "svg.fonttype": "none"})


def _intervals(ax: Axes, x: Any, lower: Any, upper: Any, zorder: float = 3) -> None:
    """95% intervals as vertical lines, all in one collection (beneath the points)."""
    segments = [((xi, lo), (xi, hi)) for xi, lo, hi in zip(x, lower, upper, strict=True)]
    if segments:
        ax.add_collection(LineCollection(segments, colors=DARK, linewidths=0.9, zorder=zorder))


def _panels(axes: Sequence[Axes], grid_y: bool = True) -> None:
    """Fixed styling of a new figure's panels (a reused figure keeps it)."""
    for i, ax in enumerate(axes):
        _style(ax, grid_y)
        ax.xaxis.set_label_coords(0.5, 0.0)  # no axis label below a panel: skip placing one
        if i:
            ax.yaxis.set_label_coords(0.0, 0.5)  # only the first panel has a y label


def _style(ax: Axes, grid_y: bool = True) -> None:
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(GREY)
    ax.tick_params(length=0, colors="#1A1A1A")
    ax.tick_params(bottom=False, left=False)  # zero-length marks: nothing to draw
    if grid_y:
        ax.yaxis.grid(True, color="#D9D9D9", linewidth=0.5)
        ax.set_axisbelow(True)


@dataclass(frozen=True)
class SpineRow:
    """One measure on the spine chart (rates per 10,000; ``None`` when not available)."""

    measure: str
    la: float | None
    region: float | None
    centre: float | None
    low: float | None
    p25: float | None
    p75: float | None
    high: float | None
    direction: str


def spine_chart(
    rows: Sequence[SpineRow],
    path: Path,
    *,
    range_label: str,
    centre_label: str,
    la_name: str,
    title: str,
    subtitle: str,
    source: str,
    alt: str,
    width: float = 6.0,
    height: float = 3.06,
) -> Figure:
    """Draw a Child Health Profiles style spine chart, one row per measure (top: CIN).

    Each row is scaled so that the centre value (England's rate, or the region's) sits in the
    middle and the further of the range's ends at the edge. The range is a light bar, its middle
    half a darker bar, the centre a vertical line, the region a diamond and the LA a marker whose
    shape and fill give its direction against the centre.
    """
    figure = Figure(path=path, title=title, subtitle=subtitle, source=source, alt=alt)
    figure.validate()
    fig = spine_figure(rows, range_label=range_label, centre_label=centre_label,
                       la_name=la_name, width=width, height=height)  # fmt: skip
    return figure.write(fig, tight=False)


def spine_figure(
    rows: Sequence[SpineRow],
    *,
    range_label: str,
    centre_label: str,
    la_name: str,
    width: float = 6.0,
    height: float = 3.06,
) -> Any:
    """The spine chart as a matplotlib figure (see :func:`spine_chart`)."""
    fig, (ax,), new = reused_figure("spine", width, height, SPINE_LAYOUT)
    if new:
        _panels([ax], grid_y=False)
        ax.set_xticks([-1, 0, 1])
    n = len(rows)
    for i, row in enumerate(rows):
        y = n - 1 - i
        if None in (row.centre, row.low, row.high):
            ax.text(0, y, "No comparison range available", ha="center", va="center", color=GREY)
            continue
        half = max(row.centre - row.low, row.high - row.centre) or 1.0  # type: ignore[operator]

        def x(v: float, c: float = row.centre, h: float = half) -> float:  # type: ignore[assignment]
            return (v - c) / h

        ax.barh(y, x(row.high) - x(row.low), left=x(row.low), height=0.5, color="#E3E3E3", lw=0)  # type: ignore[arg-type]
        if row.p25 is not None and row.p75 is not None:
            ax.barh(y, x(row.p75) - x(row.p25), left=x(row.p25), height=0.5, color="#A6A6A6", lw=0)
        ax.plot([0, 0], [y - 0.32, y + 0.32], color="#1A1A1A", lw=1.6)
        if row.region is not None:
            ax.plot(x(row.region), y, marker="D", ms=6, mfc="white", mec=TEAL, mew=1.6, ls="")
        if row.la is not None:
            st = DIRECTION_STYLE.get(row.direction, DIRECTION_STYLE["unknown"])
            ax.plot(
                x(row.la), y, marker=st["marker"], ms=9, mfc=st["color"], mec=DARK, mew=1.2, ls=""
            )
        else:
            ax.text(1.05, y, "[c]", va="center", color=GREY)
    ax.set_yticks(range(n))
    ax.set_yticklabels([r.measure for r in rows][::-1], fontweight="bold", fontsize=10)
    ax.set_xlim(-1.12, 1.12)  # limits every time: a reused panel autoscales like a new one
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xticklabels(["Lowest", centre_label, "Highest"])
    handles = [
        Line2D([], [], marker=DIRECTION_STYLE[k]["marker"], ls="", ms=7,
               mfc=DIRECTION_STYLE[k]["color"], mec=DARK, label=f"{la_name}: {DIRECTION_STYLE[k]['label'].lower()}")
        for k in ("higher", "similar", "lower")
    ] + [
        Line2D([], [], marker="D", ls="", ms=6, mfc="white", mec=TEAL, mew=1.6, label="Region"),
        Line2D([], [], color="#1A1A1A", lw=1.6, label=centre_label),
        Rectangle((0, 0), 1, 1, color="#E3E3E3", label=range_label),
        Rectangle((0, 0), 1, 1, color="#A6A6A6", label="Middle half of that range"),
    ]  # fmt: skip
    legend = kept_legend(ax, handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3,
                       frameon=False, fontsize=7, handletextpad=0.4, columnspacing=1.2)  # fmt: skip
    widen_to_fit(fig, legend, SPINE_LAYOUT)
    return fig


def decile_chart(
    la: pd.DataFrame,
    region: pd.DataFrame,
    path: Path,
    *,
    la_name: str,
    region_name: str,
    measures: Sequence[str],
    title: str,
    subtitle: str,
    source: str,
    alt: str,
    width: float = 7.0,
    height: float = 2.77,
) -> tuple[Figure, dict[str, list[int]]]:
    """Rates by IMD decile, LA (points, 95% intervals) against the region (line), per measure.

    Parameters
    ----------
    la, region : pandas.DataFrame
        ``measure, imd_decile, population, rate, lower, upper, note`` for the LA and the region
        (one year). An LA decile with a missing rate is not drawn: its symbol (the row's note,
        ``[c]``; ``[z]`` where the LA has no such neighbourhoods) stands at the panel's foot
        and the line breaks there.
    path : Path
        PNG to write.
    la_name, region_name : str
        Series names.
    measures : sequence of str
        Panels, in order.
    title, subtitle, source, alt : str
        The chart's words.
    width, height : float
        Size in inches.

    Returns
    -------
    (Figure, dict)
        The figure and, per measure, the deciles actually drawn as points (for tests).
    """
    figure = Figure(path=path, title=title, subtitle=subtitle, source=source, alt=alt)
    figure.validate()
    fig, drawn = decile_figure(la, region, la_name=la_name, region_name=region_name,
                               measures=measures, width=width, height=height)  # fmt: skip
    return figure.write(fig, tight=False), drawn


def decile_figure(
    la: pd.DataFrame,
    region: pd.DataFrame,
    *,
    la_name: str,
    region_name: str,
    measures: Sequence[str],
    width: float = 7.0,
    height: float = 2.77,
) -> tuple[Any, dict[str, list[int]]]:
    """The decile chart as a matplotlib figure and the deciles drawn (see :func:`decile_chart`)."""
    fig, axes, new = reused_figure("deciles", width, height, DECILE_LAYOUT, len(measures), True)
    if new:
        _panels(axes)
        for ax in axes:
            ax.set_xticks(range(1, 11))
        fig.supxlabel(
            "IMD decile (1 = most deprived 10% of neighbourhoods in England)", fontsize=8
        )
    drawn: dict[str, list[int]] = {}
    total = la.drop_duplicates("imd_decile")["population"].sum() if len(la) else 0
    for ax, measure in zip(axes, measures, strict=True):
        d = la[la["measure"] == measure].set_index("imd_decile").reindex(range(1, 11))
        r = region[region["measure"] == measure].set_index("imd_decile").reindex(range(1, 11))
        deciles = np.arange(1, 11)
        rate = d["rate"].to_numpy(float)
        lower, upper = d["lower"].to_numpy(float), d["upper"].to_numpy(float)
        pop = d["population"].to_numpy(float)
        published = np.isfinite(rate)
        tiny = published & (
            (np.nan_to_num(pop) < TINY_CHILDREN) | (np.nan_to_num(pop) < TINY_SHARE * total)
        )
        shown = published & ~tiny
        ref = r["rate"].to_numpy(float)
        candidates = [*upper[shown], *ref[np.isfinite(ref)]]
        top = 1.1 * max([v for v in candidates if np.isfinite(v)] or [1.0])
        ax.plot(deciles, ref, color=ORANGE, lw=1.4, marker="s", ms=3, label=region_name, zorder=2)
        line = np.where(shown, rate, np.nan)  # NaN breaks the line: a gap, never a zero
        ax.plot(deciles, line, color=DARK, lw=1.2, zorder=3)
        _intervals(ax, deciles[shown], lower[shown], upper[shown])
        ax.plot(deciles[shown], rate[shown], marker="o", ms=4.5, color=DARK, ls="", zorder=4)
        drawn[measure] = [int(x) for x in deciles[shown]]
        for i in np.flatnonzero(~shown):
            note = d["note"].iloc[i] if "note" in d.columns else None
            if tiny[i]:
                symbol = "[u]"
            elif isinstance(note, str) and note.strip():
                symbol = note.strip()
            else:
                symbol = "[z]"
            ax.text(deciles[i], 0.02 * top, symbol, ha="center", va="bottom",
                    fontsize=6.5, color=GREY)  # fmt: skip
        ax.set_xlim(0.5, 10.5)  # limits every time: a reused panel autoscales like a new one
        ax.set_ylim(0, top)
        ax.set_title(measure, loc="left", fontweight="bold", fontsize=9, y=1.0)  # no auto-place
    axes[0].set_ylabel("Rate per 10,000")
    handles = [
        Line2D([], [], color=DARK, marker="o", ms=4.5, label=f"{la_name} (95% interval)"),
        Line2D([], [], color=ORANGE, marker="s", ms=3, label=region_name),
    ]  # fmt: skip
    legend = kept_legend(fig, handles, loc="upper center", ncol=2, frameon=False, fontsize=7,
                        bbox_to_anchor=(0.5, 1.0))  # fmt: skip
    widen_to_fit(fig, legend, DECILE_LAYOUT, len(measures))
    return fig, drawn


def funnel_profile_chart(
    points: pd.DataFrame,
    limits: pd.DataFrame,
    path: Path,
    *,
    la_code: str,
    la_name: str,
    measures: Sequence[str],
    title: str,
    subtitle: str,
    source: str,
    alt: str,
    width: float = 7.0,
    height: float = 2.58,
) -> Figure:
    """The region's LAs on a funnel plot per measure, this LA marked and named.

    Parameters
    ----------
    points : pandas.DataFrame
        ``la_code, measure, expected, estimate`` (O/E; missing when suppressed).
    limits : pandas.DataFrame
        ``measure, expected, lower_95, upper_95, lower_99.8, upper_99.8`` (overdispersion
        adjusted).
    """
    figure = Figure(path=path, title=title, subtitle=subtitle, source=source, alt=alt)
    figure.validate()
    fig = funnel_figure(points, limits, la_code=la_code, la_name=la_name, measures=measures,
                        width=width, height=height)  # fmt: skip
    return figure.write(fig, tight=False)


def funnel_figure(
    points: pd.DataFrame,
    limits: pd.DataFrame,
    *,
    la_code: str,
    la_name: str,
    measures: Sequence[str],
    width: float = 7.0,
    height: float = 2.58,
) -> Any:
    """The funnel chart as a matplotlib figure (see :func:`funnel_profile_chart`)."""
    fig, axes, new = reused_figure("funnel", width, height, FUNNEL_LAYOUT, len(measures))
    if new:
        _panels(axes)
        for ax in axes:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        fig.supxlabel(
            "Expected number of children (from the deprivation mix, log scale)", fontsize=8
        )
    for ax, measure in zip(axes, measures, strict=True):
        lim = limits[limits["measure"] == measure].sort_values("expected")
        pts = points[(points["measure"] == measure)].dropna(subset=["estimate", "expected"])
        ax.axhline(1, color=GREY, lw=0.6)
        if len(lim):
            for col, ls in (("95", "--"), ("99.8", ":")):
                ax.plot(lim["expected"], lim[f"lower_{col}"], color="#8C8C8C", ls=ls, lw=0.8)
                ax.plot(lim["expected"], lim[f"upper_{col}"], color="#8C8C8C", ls=ls, lw=0.8)
        others = pts[pts["la_code"] != la_code]
        me = pts[pts["la_code"] == la_code]
        ax.plot(
            others["expected"], others["estimate"], "o", ms=3.5, color=LIGHT, mec=GREY, mew=0.4
        )
        if len(me):
            ax.plot(
                me["expected"],
                me["estimate"],
                "o",
                ms=7,
                color=ORANGE,
                mec="#1A1A1A",
                mew=0.8,
                zorder=5,
            )
        else:
            ax.text(0.5, 0.9, f"{la_name}: [c]", transform=ax.transAxes, ha="center", color=GREY)
        ax.set_title(measure, loc="left", fontweight="bold", fontsize=9, y=1.0)  # no auto-place
        vals = pd.concat([pts["estimate"], lim.get("lower_99.8", pd.Series(dtype=float)),
                          lim.get("upper_99.8", pd.Series(dtype=float))])  # fmt: skip
        if len(vals.dropna()):
            lo, hi = float(vals.min()), float(vals.max())
            pad = 0.08 * (hi - lo or 1)
            ax.set_ylim(max(lo - pad, 0), hi + pad)
    axes[0].set_ylabel("Observed / expected")
    handles = [
        Line2D([], [], marker="o", ls="", ms=7, color=ORANGE, mec="#1A1A1A", label=la_name),
        Line2D([], [], marker="o", ls="", ms=3.5, color=LIGHT, mec=GREY, label="Other LAs of the region"),
        Line2D([], [], color="#8C8C8C", ls="--", label="95% limits"),
        Line2D([], [], color="#8C8C8C", ls=":", label="99.8% limits"),
    ]  # fmt: skip
    legend = kept_legend(fig, handles, loc="upper center", ncol=4, frameon=False, fontsize=7,
                        bbox_to_anchor=(0.5, 1.0))  # fmt: skip
    widen_to_fit(fig, legend, FUNNEL_LAYOUT, len(measures))
    return fig


def trend_chart(
    trends: pd.DataFrame,
    path: Path,
    *,
    la_name: str,
    region_name: str,
    measures: Sequence[str],
    title: str,
    subtitle: str,
    source: str,
    alt: str,
    width: float = 7.0,
    height: float = 2.28,
) -> Figure:
    """Rates per year: the LA with 95% intervals, the region, and DfE's published LA rate.

    Parameters
    ----------
    trends : pandas.DataFrame
        ``measure, year, rate, lower, upper, region, dfe`` (missing values are not drawn).
    """
    figure = Figure(path=path, title=title, subtitle=subtitle, source=source, alt=alt)
    figure.validate()
    fig = trend_figure(trends, la_name=la_name, region_name=region_name, measures=measures,
                       width=width, height=height)  # fmt: skip
    return figure.write(fig, tight=False)


def trend_figure(
    trends: pd.DataFrame,
    *,
    la_name: str,
    region_name: str,
    measures: Sequence[str],
    width: float = 7.0,
    height: float = 2.28,
) -> Any:
    """The trend chart as a matplotlib figure (see :func:`trend_chart`)."""
    fig, axes, new = reused_figure("trend", width, height, TREND_LAYOUT, len(measures), True)
    if new:
        _panels(axes)
    years = sorted(trends["year"].unique()) if len(trends) else []
    has_dfe = bool(len(trends)) and trends["dfe"].notna().any()
    for ax, measure in zip(axes, measures, strict=True):
        d = trends[trends["measure"] == measure].sort_values("year")
        ax.plot(d["year"], d["region"], color=ORANGE, marker="s", ms=3, lw=1.2)
        ax.plot(d["year"], d["rate"], color=DARK, marker="o", ms=4, lw=1.4)
        shown = d.dropna(subset=["rate"])
        _intervals(ax, shown["year"], shown["lower"], shown["upper"], zorder=2)
        for rec in d[d["rate"].isna()].itertuples():
            ax.text(rec.year, 0, "[c]", ha="center", va="bottom", fontsize=6.5, color=GREY)
        if has_dfe:
            ax.plot(d["year"], d["dfe"], ls="", marker="x", ms=5, color=PINK)
        vals = d[["rate", "upper", "region", "dfe"]].to_numpy(float)
        top = np.nanmax(vals) if np.isfinite(vals).any() else 1.0
        ax.set_ylim(0, 1.15 * top)
        ax.set_xticks(years)
        ax.set_xticklabels([str(y) for y in years])
        ax.set_xlim(min(years, default=0) - 0.4, max(years, default=1) + 0.4)
        ax.set_title(measure, loc="left", fontweight="bold", fontsize=9, y=1.0)  # no auto-place
    axes[0].set_ylabel("Rate per 10,000")
    handles = [
        Line2D([], [], color=DARK, marker="o", ms=4, label=f"{la_name} (95% interval)"),
        Line2D([], [], color=ORANGE, marker="s", ms=3, label=region_name),
    ]
    if has_dfe:
        handles.append(
            Line2D([], [], ls="", marker="x", ms=5, color=PINK, label="DfE published rate")
        )
    legend = kept_legend(fig, handles, loc="upper center", ncol=len(handles), frameon=False,
                        fontsize=7, bbox_to_anchor=(0.5, 1.0))  # fmt: skip
    widen_to_fit(fig, legend, TREND_LAYOUT, len(measures))
    return fig
