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
