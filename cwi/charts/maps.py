"""Maps of neighbourhood deprivation: IMD deciles only, never counts of children."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from cwi.charts.figure import Figure  # noqa: E402
from cwi.charts.theme import FONT, palette  # noqa: E402


def decile_map(
    areas: Any,
    path: Path,
    *,
    title: str,
    subtitle: str,
    source: str,
    alt: str,
    width: float = 7.2,
    height: float = 4.2,
) -> Figure:
    """Draw a choropleth of IMD deciles (1 = most deprived, darkest).

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        One row per LSOA with ``imd_decile`` and ``geometry``. Only public deprivation
        data: the map carries no counts of children.
    path : Path
        PNG file to write.
    title, subtitle, source, alt : str
        The words that travel with the map (see :class:`cwi.charts.Figure`).
    width, height : float
        Size in inches.

    Returns
    -------
    Figure
        The saved map and its words.
    """
    figure = Figure(path=path, title=title, subtitle=subtitle, source=source, alt=alt)
    figure.validate()
    colours = palette("deciles")
    fig, ax = plt.subplots(figsize=(width, height))
    areas = areas.assign(_colour=areas["imd_decile"].astype(int).map(lambda d: colours[d - 1]))
    areas.plot(ax=ax, color=areas["_colour"], edgecolor="#7F7F7F", linewidth=0.15)
    # The LA's outline, so the lightest deciles still read as inside it.
    areas[["geometry"]].dissolve().boundary.plot(ax=ax, color="#3D3D3D", linewidth=0.6)
    ax.set_axis_off()
    ax.set_aspect("equal")
    handles = [
        Patch(facecolor=c, edgecolor="#7F7F7F", linewidth=0.4, label=str(i))
        for i, c in enumerate(colours, start=1)
    ]
    ax.legend(
        handles=handles,
        title="IMD decile (1 = most deprived)",
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
        prop={"family": FONT, "size": 8},
        title_fontproperties={"family": FONT, "size": 8},
    )
    return figure.write(fig)


def ratio_map(
    areas: Any,
    path: Path,
    *,
    title: str,
    subtitle: str,
    source: str,
    alt: str,
    panels: list[str] | None = None,
    width: float = 9.6,
    height: float = 4.6,
) -> Figure:
    """Choropleth of standardised ratios by LA, one panel per measure, diverging around 1.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        One row per LA x panel with ``panel``, ``ratio`` (observed / expected; NaN where not
        published: grey) and ``geometry``. LA-level published rates only, never counts below LA.
    path : Path
        PNG file to write.
    title, subtitle, source, alt : str
        The words that travel with the map.
    panels : list of str, optional
        Panel order (default: as found).
    width, height : float
        Size in inches.

    Returns
    -------
    Figure
        The saved map and its words.
    """
    import numpy as np
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    figure = Figure(path=path, title=title, subtitle=subtitle, source=source, alt=alt)
    figure.validate()
    panels = panels or list(dict.fromkeys(areas["panel"]))
    blue, orange = palette("duo")
    cmap = LinearSegmentedColormap.from_list("ratio", [blue, "#F2F2F2", orange])
    norm = Normalize(vmin=-1.0, vmax=1.0)  # log2 ratio: half to double
    fig, axes = plt.subplots(1, len(panels), figsize=(width, height))
    axes = np.atleast_1d(axes)
    for ax, name in zip(axes, panels, strict=True):
        part = areas[areas["panel"] == name]
        shown = part["ratio"].notna() & (part["ratio"] > 0)
        part[~shown].plot(ax=ax, color="#BFBFBF", edgecolor="white", linewidth=0.15)
        values = np.clip(np.log2(part.loc[shown, "ratio"].astype(float)), -1, 1)
        part[shown].plot(ax=ax, color=cmap(norm(values)), edgecolor="white", linewidth=0.15)
        ax.set_title(name, loc="left", fontdict={"family": FONT, "size": 9, "weight": "bold"})
        ax.set_axis_off()
        ax.set_aspect("equal")
    bar = fig.colorbar(
        plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=list(axes), orientation="horizontal",
        fraction=0.04, pad=0.02, aspect=40,
    )  # fmt: skip
    bar.set_ticks([-1, -0.5, 0, 0.5, 1])
    bar.set_ticklabels(["half or less", "0.71", "as England", "1.41", "double or more"])
    bar.ax.tick_params(labelsize=8)
    bar.set_label(
        "Observed / expected at England's rates, relative to England (grey: not published)",
        fontdict={"family": FONT, "size": 8},
    )
    return figure.write(fig)
