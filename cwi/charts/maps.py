"""Maps of neighbourhood deprivation: IMD deciles only, never counts of children.

Both maps fill their areas with one plotting block, :func:`fill_areas`: every polygon becomes one
path of a single collection (holes and multi-part areas included), which draws far faster than a
patch per area.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

from cwi.charts.figure import Figure, Layout, kept_legend, new_figure, reused_figure  # noqa: E402
from cwi.charts.theme import FONT, palette  # noqa: E402

#: Largest map panel as a share of the figure size given (matplotlib's default subplot box),
#: and the room (inches) around the panel and its legend, which sits to its right.
MAP_PANEL = (0.775, 0.77)
MAP_PAD = 0.1
#: Size (inches) of the decile legend, measured once per process.
_LEGEND_SIZE: dict[tuple[Any, ...], tuple[float, float]] = {}


def _area_paths(geometries: Any) -> tuple[list[MplPath], np.ndarray]:
    """One matplotlib path per area (all its parts and holes, rings closed) and its row number."""
    import shapely

    # Normalised as geopandas does: exterior rings one way round and holes the other (so a hole
    # is left empty when filled), parts and vertices in one order.
    geoms = shapely.normalize(np.asarray(geometries, dtype=object))
    parts, index = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)  # polygons
    parts, index = parts[keep], index[keep]
    if not len(parts):
        return [], index
    _, coords, (rings, polys) = shapely.to_ragged_array(parts)
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    codes[rings[:-1]] = MplPath.MOVETO
    codes[rings[1:] - 1] = MplPath.CLOSEPOLY
    starts = rings[polys]  # first vertex of each part, and the end
    first = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])  # first part of each area
    ends = np.r_[first[1:], len(parts)]
    paths = [
        MplPath(coords[starts[a] : starts[b]], codes[starts[a] : starts[b]])
        for a, b in zip(first, ends, strict=True)
    ]
    return paths, index[first]


def fill_areas(ax: Any, geometries: Any, colours: Any, edgecolor: str, linewidth: float) -> None:
    """Fill each area with its colour (one collection); the axes' data limits take them in."""
    paths, index = _area_paths(geometries)
    if not paths:
        return
    faces = np.asarray(colours, dtype=object)[index].tolist()
    collection = PathCollection(
        paths, facecolors=faces, edgecolors=edgecolor, linewidths=linewidth
    )
    ax.add_collection(collection, autolim=False)
    import shapely

    x0, y0, x1, y1 = shapely.total_bounds(np.asarray(geometries, dtype=object))
    ax.update_datalim([(x0, y0), (x1, y1)])
    ax.autoscale_view()


def outline(ax: Any, geometries: Any, color: str, linewidth: float) -> None:
    """Draw the outer boundary of the areas taken together (e.g. an LA's edge)."""
    import shapely

    edge = shapely.union_all(np.asarray(geometries, dtype=object)).boundary
    lines = [shapely.get_coordinates(part) for part in shapely.get_parts(edge)]
    ax.add_collection(LineCollection(lines, colors=color, linewidths=linewidth), autolim=False)


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
        Size in inches that bounds the map panel; the image is cut to the panel (which keeps
        the area's proportions) and its legend.

    Returns
    -------
    Figure
        The saved map and its words.
    """
    figure = Figure(path=path, title=title, subtitle=subtitle, source=source, alt=alt)
    figure.validate()
    # saved at once, so the figure of the previous map can be emptied and used again
    fig = decile_map_figure(areas, width=width, height=height, reuse=True)
    return figure.write(fig, tight=False)


def decile_map_figure(
    areas: Any, width: float = 7.2, height: float = 4.2, reuse: bool = False
) -> Any:
    """The decile map as a matplotlib figure sized to the area's shape (see :func:`decile_map`).

    The panel keeps the area's proportions (equal scales on both axes) within the default subplot
    box of a ``width`` x ``height`` figure; the image is cut to the panel and its legend, as a
    tight crop would, without measuring the whole figure. With ``reuse``, the figure is the
    previous map's, emptied (:func:`cwi.charts.figure.reused_figure`: making a figure and its
    panel costs as much as drawing a map), so it is valid only until the next such call.
    """
    colours = palette("deciles")
    geoms = np.asarray(areas.geometry.values, dtype=object)
    faces = [colours[int(d) - 1] for d in areas["imd_decile"]]
    import shapely

    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    dx, dy = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    xlim, ylim = (x0 - 0.05 * dx, x1 + 0.05 * dx), (y0 - 0.05 * dy, y1 + 0.05 * dy)
    aspect = (xlim[1] - xlim[0]) / (ylim[1] - ylim[0])

    # The legend's size first (it does not depend on the map), then the panel beside it.
    if reuse:
        fig, (ax,), _new = reused_figure("map", width, height, Layout(0, 0, 0, 0))
    else:
        fig, (ax,) = new_figure(width, height, Layout(0, 0, 0, 0))
    handles = [
        Patch(facecolor=c, edgecolor="#7F7F7F", linewidth=0.4, label=str(i))
        for i, c in enumerate(colours, start=1)
    ]
    legend = kept_legend(
        ax,
        handles,
        title="IMD decile (1 = most deprived)",
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
        prop={"family": FONT, "size": 8},
        title_fontproperties={"family": FONT, "size": 8},
    )
    size_key = (fig.dpi, tuple(colours), FONT)  # the legend's size depends on nothing else
    if size_key not in _LEGEND_SIZE:
        box = legend.get_window_extent(fig.canvas.get_renderer())
        _LEGEND_SIZE[size_key] = (box.width / fig.dpi, box.height / fig.dpi)
    legend_w, legend_h = _LEGEND_SIZE[size_key]
    max_w, max_h = MAP_PANEL[0] * width, MAP_PANEL[1] * height
    panel_w = min(max_w, aspect * max_h)
    panel_h = panel_w / aspect
    fig_w = MAP_PAD + panel_w + legend_w + MAP_PAD
    fig_h = max(panel_h, legend_h) + 2 * MAP_PAD
    fig.set_size_inches(fig_w, fig_h)
    ax.set_position(
        (MAP_PAD / fig_w, (fig_h - panel_h) / 2 / fig_h, panel_w / fig_w, panel_h / fig_h)
    )
    fill_areas(ax, geoms, faces, edgecolor="#7F7F7F", linewidth=0.15)
    # The LA's outline, so the lightest deciles still read as inside it.
    outline(ax, geoms, color="#3D3D3D", linewidth=0.6)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_axis_off()
    ax.set_aspect("equal")
    return fig


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
    import matplotlib.pyplot as plt
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
        ratio = part["ratio"].astype(float).to_numpy()
        shown = np.isfinite(ratio) & (ratio > 0)
        # grey first, then the published ratios over it
        order = np.argsort(shown, kind="stable")
        faces = np.empty(len(part), dtype=object)
        faces[~shown] = "#BFBFBF"
        if shown.any():
            rgba = cmap(norm(np.clip(np.log2(ratio[shown]), -1, 1)))
            faces[np.flatnonzero(shown)] = [tuple(c) for c in rgba]
        geoms = np.asarray(part.geometry.values, dtype=object)[order]
        fill_areas(ax, geoms, faces[order], edgecolor="white", linewidth=0.15)
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
