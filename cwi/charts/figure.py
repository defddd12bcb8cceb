"""A chart image and the words that must travel with it."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: Pixels per inch of every chart PNG (one file serves the web page and the PDF).
DPI = 150


@dataclass(frozen=True)
class Figure:
    """A saved chart and its words.

    Parameters
    ----------
    path : Path
        The PNG file.
    title : str
        The finding, in a sentence (e.g. "Rates rise steeply with deprivation").
    subtitle : str
        Measure, geography and period.
    source : str
        Where the numbers come from.
    alt : str
        Alternative text: chart type and main pattern.
    """

    path: Path
    title: str
    subtitle: str
    source: str
    alt: str

    def as_dict(self, relative_to: Path | None = None) -> dict[str, Any]:
        """JSON-ready form; ``path`` made relative when asked."""
        out = asdict(self)
        out["path"] = str(self.path.relative_to(relative_to) if relative_to else self.path)
        return out

    def write(self, drawing: Any, dpi: int = DPI, tight: bool = True) -> Figure:
        """Save a plotnine plot or matplotlib figure as this PNG, carrying pixels only.

        The image's text metadata (software, dates) is stripped so no output carries anything
        but what the chart shows; a matplotlib figure is closed after saving. A matplotlib
        figure laid out in advance (``tight=False``, see :func:`new_figure`) is drawn once and
        saved as it is, without the extra text measuring of a tight bounding box.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if hasattr(drawing, "savefig") and not tight:
            self.path.write_bytes(render_png(drawing, dpi))  # as savefig below: no flush
            return self
        if hasattr(drawing, "savefig"):  # matplotlib Figure
            import matplotlib.pyplot as plt

            drawing.savefig(self.path, dpi=dpi, bbox_inches="tight")
            plt.close(drawing)
        else:  # plotnine ggplot
            drawing.save(self.path, dpi=dpi, verbose=False)
        strip_png_text(self.path)
        return self

    def validate(self) -> None:
        """Refuse a chart without its words."""
        missing = [
            k for k in ("title", "subtitle", "source", "alt") if not getattr(self, k).strip()
        ]
        if missing:
            raise ValueError(f"Chart {self.path.name} lacks: {', '.join(missing)}.")


def strip_png_text(path: Path) -> None:
    """Remove text metadata chunks (software, dates) from a PNG so it carries only pixels.

    A fully opaque RGBA image is saved as RGB: the same pixels, and a PDF renderer need not
    split off and re-encode an alpha channel that says nothing.
    """
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        if img.mode == "RGBA" and img.getchannel("A").getextrema() == (255, 255):
            img = img.convert("RGB")  # fully opaque: the same pixels without an alpha channel
        clean = Image.new(img.mode, img.size)
        clean.putdata(list(img.getdata())) if img.mode == "P" else clean.paste(img)
        if img.mode == "P":
            clean.putpalette(img.getpalette())
    clean.save(path, format="PNG", compress_level=PNG_COMPRESSION)


#: zlib level of chart PNGs (level 6 makes them about 10% smaller and takes twice as long).
PNG_COMPRESSION = 3


def encode_png(rgb: Any) -> bytes:
    """An 8-bit RGB PNG of a ``(height, width, 3)`` uint8 array: pixels only, no metadata.

    Every row is stored unfiltered (PNG filter 0) and deflated at :data:`PNG_COMPRESSION`.
    Charts are large flat areas, which deflate compresses well as they are: the file is
    smaller than Pillow's (which tries all five filters on every row) and written in a third
    of the time. Any PNG reader, and a PDF's PNG predictor, read it the same.
    """
    import numpy as np

    pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, channels = pixels.shape
    if channels != 3:
        raise ValueError(f"encode_png takes RGB pixels, not {channels} channels.")
    rows = np.zeros((height, 1 + 3 * width), dtype=np.uint8)  # first byte of a row: filter 0
    rows[:, 1:] = pixels.reshape(height, 3 * width)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(body, zlib.crc32(kind))
        return struct.pack("!I", len(body)) + kind + body + struct.pack("!I", crc)

    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_COMPRESSION))
        + chunk(b"IEND", b"")
    )


def render_png(fig: Any, dpi: int = DPI) -> bytes:
    """Draw a matplotlib figure once and return it as an RGB PNG without metadata chunks."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if fig.get_dpi() != dpi:
        fig.set_dpi(dpi)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return encode_png(rgba[:, :, :3])  # the alpha channel dropped, as Image.convert("RGB") does


@dataclass(frozen=True)
class Layout:
    """Margins of a chart in inches, fixed in advance so it is drawn without measuring its text.

    Parameters
    ----------
    left, right, bottom, top : float
        Space outside the panels (axis labels, legend, panel titles).
    gap : float
        Space between side-by-side panels (the next panel's tick labels).
    """

    left: float
    right: float
    bottom: float
    top: float
    gap: float = 0.0

    def apply(self, fig: Any, ncols: int = 1) -> None:
        """Place ``ncols`` panels in ``fig`` with these margins, whatever its size."""
        width, height = fig.get_size_inches()
        panel = (width - self.left - self.right - (ncols - 1) * self.gap) / ncols
        fig.subplots_adjust(
            left=self.left / width,
            right=1 - self.right / width,
            bottom=self.bottom / height,
            top=1 - self.top / height,
            wspace=self.gap / panel if ncols > 1 else 0.0,
        )


def new_figure(
    width: float, height: float, layout: Layout, ncols: int = 1, sharex: bool = False
) -> tuple[Any, Sequence[Any]]:
    """A matplotlib figure (no pyplot state) with ``ncols`` panels placed by ``layout``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, sharex=sharex, squeeze=False)[0]
    layout.apply(fig, ncols)
    return fig, list(axes)


def widen_to_fit(fig: Any, artist: Any, layout: Layout, ncols: int = 1, pad: float = 0.1) -> None:
    """Widen ``fig`` (margins kept) when ``artist`` (e.g. a legend with a long name) overflows it.

    The artist is measured once; the figure grows by twice its larger overflow, so an artist
    centred on the figure or on a panel fits with ``pad`` inches to spare.
    """
    box = artist.get_window_extent(fig.canvas.get_renderer())
    width, height = fig.get_size_inches()
    over = max(pad - box.x0 / fig.dpi, box.x1 / fig.dpi - (width - pad), 0.0)
    if over > 0:
        fig.set_size_inches(width + 2 * over, height)
        layout.apply(fig, ncols)


#: Figures kept between charts of one kind and size (per process): see :func:`reused_figure`.
_KEPT: dict[tuple[Any, ...], tuple[Any, list[Any]]] = {}


def reused_figure(
    kind: str, width: float, height: float, layout: Layout, ncols: int = 1, sharex: bool = False
) -> tuple[Any, list[Any], bool]:
    """Like :func:`new_figure`, but the figure of the last chart of this kind and size, emptied.

    Making the panels, their ticks and the text measurements of a chart costs as much as drawing
    it: a worker drawing one kind of chart for LA after LA keeps the figure and removes the
    previous chart's data, legends and notes. Each panel is set back to a new panel's state
    (data limits forgotten, autoscaling on), so a chart comes out the same whatever came before;
    the charts set every data-dependent property (titles, ticks, limits) each time, and their
    fixed styling only on a new figure (the third value returned: True when new).
    """
    key = (kind, width, height, layout, ncols, sharex)
    kept = _KEPT.get(key)
    if kept is None:
        fig, axes = new_figure(width, height, layout, ncols, sharex)
        _KEPT[key] = (fig, list(axes))
        return fig, list(axes), True
    fig, axes = kept
    for legend in list(fig.legends):
        legend.remove()
    for ax in axes:
        if ax.legend_ is not None:
            ax.legend_.remove()
        for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
            artist.remove()
        ax.containers.clear()
        ax.ignore_existing_data_limits = True
        ax.set_autoscale_on(True)
    if tuple(fig.get_size_inches()) != (width, height):
        fig.set_size_inches(width, height)
        layout.apply(fig, ncols)
    return fig, axes, False


def forget_figures() -> None:
    """Drop the kept figures (the next chart of each kind starts from a new figure)."""
    _KEPT.clear()
