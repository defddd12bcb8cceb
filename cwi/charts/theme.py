"""The Analysis Function look for plotnine charts, with the palette read from data."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from cwi.io import load_yaml

_COLOURS = Path(__file__).with_name("af_colours.yml")
FONT = "DejaVu Sans"


@cache
def _colours() -> dict[str, list[str]]:
    return load_yaml(_COLOURS.read_text(encoding="utf-8"))


def palette(kind: str = "categorical", n: int | None = None) -> list[str]:
    """Return AF colours of one kind, in the order they should be used.

    Parameters
    ----------
    kind : str
        ``categorical``, ``duo``, ``sequential`` or ``focus``.
    n : int, optional
        Number of colours needed; two categorical series get the duo pair, as afcharts does.
    """
    if kind == "categorical" and n == 2:
        kind = "duo"
    colours = _colours()[kind]
    if n is not None and n > len(colours):
        raise ValueError(f"The {kind} palette has {len(colours)} colours; {n} requested.")
    return colours[:n] if n else list(colours)


def theme_af(base_size: int = 10) -> Any:
    """Left-aligned text, horizontal grid lines only, no frame, DejaVu Sans (a plotnine theme).

    plotnine is imported on first use, so the profile charts (matplotlib only) and their worker
    processes do not pay for importing it.
    """
    return _theme_af_class()(base_size=base_size)


@cache
def _theme_af_class() -> type:
    """The plotnine theme class of :func:`theme_af` (made once, on first use)."""
    from plotnine import element_blank, element_line, element_text, theme, theme_minimal

    class theme_af(theme_minimal):  # noqa: N801 - plotnine naming convention
        """Left-aligned text, horizontal grid lines only, no frame, DejaVu Sans."""

        def __init__(self, base_size: int = 10) -> None:
            super().__init__(base_size=base_size, base_family=FONT)
            self += theme(
                panel_grid_major_x=element_blank(),
                panel_grid_minor=element_blank(),
                panel_grid_major_y=element_line(color="#D9D9D9", size=0.5),
                axis_line_x=element_line(color="#3D3D3D"),
                legend_position="top",
                legend_title=element_blank(),
                strip_text=element_text(ha="left", weight="bold"),
                plot_background=element_blank(),
                text=element_text(family=FONT, color="#1A1A1A"),
            )

    return theme_af
