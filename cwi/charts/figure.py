"""A chart image and the words that must travel with it."""

from __future__ import annotations

import math
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
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
            png = render_ggplot_png(drawing, dpi)
            if png is not None:
                self.path.write_bytes(png)
                return self
            drawing.save(self.path, dpi=dpi, verbose=False)  # not opaque: as it is, with alpha
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

    pixels = np.asarray(rgb)
    height, width, channels = pixels.shape
    if channels != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"encode_png takes 8-bit RGB pixels, not {channels} x {pixels.dtype}.")
    rows = np.empty((height, 1 + 3 * width), dtype=np.uint8)
    rows[:, 0] = 0  # each row's first byte: filter 0 (none)
    body = rows[:, 1:].reshape(height, width, 3)  # a view of the rows: one copy of the pixels
    if not np.shares_memory(body, rows):
        raise AssertionError("numpy copied the rows instead of viewing them")
    for channel in range(3):  # one plane at a time: several times faster than all at once
        body[:, :, channel] = pixels[:, :, channel]

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(body, zlib.crc32(kind))
        return struct.pack("!I", len(body)) + kind + body + struct.pack("!I", crc)

    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, PNG_COMPRESSION))  # read in place: no copy
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


def render_ggplot_png(plot: Any, dpi: int = DPI) -> bytes | None:
    """A plotnine plot drawn once, as ``ggplot.save`` draws it, as an RGB PNG of its pixels.

    plotnine makes and lays out the figure (``save_helper``, the first half of its ``save``);
    it is drawn under the plot's theme settings, as ``save`` draws it, on a lean canvas (the
    same pixels, text laid out once per process) and encoded by :func:`encode_png`, instead of
    saved by Pillow and read and written again to strip its metadata. None (nothing drawn to
    keep) when the image is not fully opaque: it then needs its alpha channel.
    """
    import matplotlib as mpl
    import numpy as np
    from matplotlib import pyplot as plt

    view = plot.save_helper(dpi=dpi, verbose=False, format="png")
    fig = view.figure
    try:
        with mpl.rc_context(plot.theme.rcParams):  # what ggplot.save draws the figure under
            if fig.get_dpi() != dpi:
                fig.set_dpi(dpi)
            canvas = lean_canvas(fig)
            canvas.draw()
            rgba = np.asarray(canvas.buffer_rgba())
            if not (rgba[:, :, 3] == 255).all():
                return None
            return encode_png(rgba[:, :, :3])
    finally:
        plt.close(fig)


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


#: Glyph layouts of the texts drawn by :class:`LeanRenderer` (see there), by font and string.
_LAYOUTS: dict[tuple[Any, ...], list[Any]] = {}
#: Glyph bitmaps drawn by :class:`LeanRenderer`, by everything a bitmap depends on.
_GLYPHS: dict[tuple[Any, ...], tuple[Any, int, int]] = {}
#: Font height metrics (ascent, descent, line gap in font units per em) by font file.
_HEIGHTS: dict[str, tuple[float, float, float, float] | None] = {}
#: Text layouts (box, lines, corner) measured with a lean renderer, by what they depend on.
_TEXT_LAYOUTS: dict[tuple[Any, ...], tuple[Any, Any, Any]] = {}


def _forget_font_objects() -> None:
    """Drop what holds FreeType font objects (glyph layouts and bitmaps): see below.

    A font object reads its file through a descriptor whose offset a forked process shares
    with its parent and siblings, so matplotlib gives every child process new font objects
    (``_get_font`` is emptied at fork); a child must not use its parent's either, through
    these caches. Text layouts and font heights are plain numbers and stay.
    """
    _LAYOUTS.clear()
    _GLYPHS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_font_objects)


def _font_key(prop: Any) -> tuple[Any, ...]:
    # the values FontProperties hashes, read now: a later change of ``prop`` cannot alias
    return (tuple(prop.get_family()), prop.get_slant(), prop.get_variant(), prop.get_weight(),
            prop.get_stretch(), prop.get_size_in_points(), prop.get_file(),
            prop.get_math_fontfamily())  # fmt: skip


def lean_canvas(fig: Any) -> Any:
    """Attach an Agg canvas whose renderer is a ``LeanRenderer`` to ``fig``."""
    return _lean_canvas_class()(fig)


@cache
def _lean_canvas_class() -> Any:
    """The canvas class of :func:`lean_canvas` (made once, on first use: matplotlib imported)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
    from matplotlib.font_manager import fontManager, get_font
    from matplotlib.ft2font import RenderMode

    class LeanRenderer(RendererAgg):
        """The Agg renderer, remembering what does not change from chart to chart.

        Every chart draws the same tick labels, titles and legend words as the chart before
        it; the Agg renderer lays each string out into glyphs (FreeType, HarfBuzz) and reads
        the font's height tables every time it is drawn or measured. This one keeps each
        string's glyph layout (by font, size, resolution, hinting and the string) and each
        font's height metrics, and draws the same glyphs at the same places: the same pixels.
        """

        def draw_text(  # noqa: PLR0913 - matplotlib's signature
            self, gc: Any, x: float, y: float, s: str, prop: Any, angle: float,
            ismath: Any = False, mtext: Any = None,
        ) -> None:  # fmt: skip
            if ismath:
                return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            features = mtext.get_fontfeatures() if mtext is not None else None
            language = mtext.get_language() if mtext is not None else None
            flags = get_hinting_flag()
            key = (_font_key(prop), self.dpi, s, flags, language,
                   tuple(features) if features is not None else None)  # fmt: skip
            items = _LAYOUTS.get(key)
            if items is None:
                font = self._prepare_font(prop)
                items = list(font._layout(s, flags=flags, features=features, language=language))
                if len(_LAYOUTS) > 20000:
                    _LAYOUTS.clear()
                _LAYOUTS[key] = items
            size = prop.get_size_in_points()
            self._draw_text_glyphs_and_boxes(
                gc, x, y, angle,
                ((i.ft_object, size, i.glyph_index, 0, 1, i.x, i.y) for i in items), [],
            )  # fmt: skip
            return None

        def _draw_text_glyphs_and_boxes(  # noqa: PLR0913 - matplotlib's signature
            self, gc: Any, x: float, y: float, angle: float, glyphs: Any, boxes: Any
        ) -> None:
            """Agg's glyph drawing, each glyph's bitmap rendered once per sub-pixel offset.

            FreeType renders a glyph moved by whole pixels as the same bitmap moved by those
            pixels: a bitmap is kept by everything it depends on (font, size, resolution,
            glyph, rotation, hinting, anti-aliasing and the position's 1/64 pixel fractions)
            and placed at the glyph's whole-pixel position, as Agg's own loop places it.
            """
            if boxes:
                return super()._draw_text_glyphs_and_boxes(gc, x, y, angle, glyphs, boxes)
            cos = math.cos(math.radians(angle))
            sin = math.sin(math.radians(angle))
            flags = get_hinting_flag()
            antialiased = gc.get_antialiased()
            mode = RenderMode.NORMAL if antialiased else RenderMode.MONO
            dpi, height = self.dpi, self.height
            top_row = int(height)
            draw_image = self._renderer.draw_text_image
            for font, size, glyph_index, slant, extend, dx, dy in glyphs:  # dy is upwards
                # the 26.6 fixed-point position FreeType is given (its y is upwards)
                px = round(0x40 * (x + dx * cos - dy * sin))
                py = round(0x40 * (height - y + dx * sin + dy * cos))
                key = (font, size, dpi, glyph_index, angle, slant, extend, flags, antialiased,
                       px & 0x3F, py & 0x3F)  # fmt: skip
                kept = _GLYPHS.get(key)
                if kept is None:
                    font.set_size(size, dpi)
                    font._set_transform(
                        (0x10000 * np.array([[cos, -sin], [sin, cos]])
                         @ [[extend, extend * slant], [0, 1]]).round().astype(int),
                        [px & 0x3F, py & 0x3F],
                    )  # fmt: skip
                    bitmap = font._render_glyph(glyph_index, flags, mode)
                    buffer = np.array(bitmap.buffer)  # a copy: FreeType reuses its own
                    if not antialiased:
                        buffer *= 0xFF
                    if len(_GLYPHS) > 50000:
                        _GLYPHS.clear()
                    kept = _GLYPHS[key] = (buffer, bitmap.left, bitmap.top)
                buffer, left, top = kept
                # draw_text_image's y is downwards & the bitmap bottom side
                draw_image(buffer, left + (px >> 6),
                           top_row - (top + (py >> 6)) + buffer.shape[0], 0, gc)  # fmt: skip
            return None

        def _get_font_height_metrics(self, prop: Any) -> tuple[Any, Any, Any]:
            # what matplotlib.text.Text._get_layout computes from the font's tables
            fname = fontManager._find_fonts_by_props(prop)
            cache_key = str(fname)
            if cache_key not in _HEIGHTS:
                font = get_font(fname)
                found = None
                for table_name, gap, up, down in (
                    ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
                    ("hhea", "lineGap", "ascent", "descent"),
                ):
                    table = font.get_sfnt_table(table_name)
                    if table is None:
                        continue
                    per_em = font.get_sfnt_table("head")["unitsPerEm"]
                    found = (table[gap], table[up], table[down], per_em)
                    break
                _HEIGHTS[cache_key] = found
            found = _HEIGHTS[cache_key]
            if found is None:
                return None, None, None
            gap, up, down, per_em = found
            scale = 1 / per_em * prop.get_size_in_points() * self.dpi / 72
            return up * scale, -down * scale, gap * scale

    from matplotlib.text import Text

    plain_layout = Text._get_layout

    def text_layout(text: Any, renderer: Any) -> Any:
        """``Text._get_layout``, kept by everything it depends on when a lean renderer asks.

        Legends and tick labels measure each text several times per chart (each level of a
        legend's boxes asks again) and every chart measures the same words; the layout is a
        function of the string, font, size, resolution, line spacing, alignment and rotation
        only (not of the text's position), so it is computed once for them.
        """
        if not isinstance(renderer, LeanRenderer):
            return plain_layout(text, renderer)
        key = (
            text._get_wrapped_text(), _font_key(text._fontproperties), renderer.dpi,
            text.get_figure(root=True).dpi, text.get_usetex(), text.get_parse_math(),
            text._linespacing, text._get_multialignment(), text.get_rotation(),
            text.get_rotation_mode(), text._horizontalalignment, text._verticalalignment,
        )  # fmt: skip
        kept = _TEXT_LAYOUTS.get(key)
        if kept is None:
            kept = plain_layout(text, renderer)
            if len(_TEXT_LAYOUTS) > 20000:
                _TEXT_LAYOUTS.clear()
            _TEXT_LAYOUTS[key] = kept
        bbox, lines, corner = kept
        return bbox.frozen(), list(lines), corner  # a new box: callers may move it

    Text._get_layout = text_layout

    class LeanCanvas(FigureCanvasAgg):
        """An Agg canvas drawing with a ``LeanRenderer``."""

        def get_renderer(self) -> Any:
            w, h = self.get_width_height(physical=True)
            key = w, h, self.figure.dpi
            if self._lastKey != key:
                self.renderer = LeanRenderer(w, h, self.figure.dpi)
                self._lastKey = key
            return self.renderer

    return LeanCanvas


def new_figure(
    width: float, height: float, layout: Layout, ncols: int = 1, sharex: bool = False
) -> tuple[Any, Sequence[Any]]:
    """A matplotlib figure (no pyplot state) with ``ncols`` panels placed by ``layout``."""
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(width, height), dpi=DPI)
    lean_canvas(fig)
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
    for legend in [*fig.legends, *(ax.legend_ for ax in axes if ax.legend_ is not None)]:
        if getattr(legend, "_cwi_spec", None) is None:
            legend.remove()
        else:  # hidden until the chart asks for the same legend again (see kept_legend)
            legend.set_visible(False)
    for ax in axes:
        for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
            artist.remove()
        ax.containers.clear()
        ax.ignore_existing_data_limits = True
        ax.set_autoscale_on(True)
    if tuple(fig.get_size_inches()) != (width, height):
        fig.set_size_inches(width, height)
        layout.apply(fig, ncols)
    return fig, axes, False


def _legend_spec(handles: Sequence[Any], options: dict[str, Any]) -> tuple[Any, ...] | None:
    """Everything a legend's look depends on but its words; None for handles not described."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    styles: list[tuple[Any, ...]] = []
    for h in handles:
        if type(h) is Line2D:
            styles.append(("line", h.get_color(), h.get_linestyle(), h.get_linewidth(),
                           h.get_marker(), h.get_markersize(), h.get_markerfacecolor(),
                           h.get_markeredgecolor(), h.get_markeredgewidth(), h.get_fillstyle(),
                           h.get_alpha(), h.get_drawstyle(), h.get_solid_capstyle(),
                           h.get_dash_capstyle(), h.get_solid_joinstyle(),
                           h.get_dash_joinstyle(), h.get_visible()))  # fmt: skip
        elif isinstance(h, Patch) and type(h).__name__ in ("Patch", "Rectangle"):
            styles.append(("patch", type(h).__name__, tuple(h.get_facecolor()),
                           tuple(h.get_edgecolor()), h.get_linewidth(), h.get_linestyle(),
                           h.get_hatch(), h.get_alpha(), h.get_fill(), h.get_visible()))  # fmt: skip
        else:
            return None
    return (tuple(styles), repr(sorted(options.items())))


def kept_legend(owner: Any, handles: Sequence[Any], **options: Any) -> Any:
    """``owner.legend(handles=handles, **options)``, made once for charts that differ in words only.

    ``owner`` is a figure or a panel of a figure kept by :func:`reused_figure`. When the last
    chart drawn on it made a legend with the same handle styles and options, that legend is
    shown again with these handles' labels as its words (its layout is worked out afresh when
    drawn, as a new legend's is); otherwise a new legend is made.
    """
    spec = _legend_spec(handles, options)
    legends = owner.legends if hasattr(owner, "legends") else [owner.legend_]
    for old in [lg for lg in legends if lg is not None]:
        if spec is not None and getattr(old, "_cwi_spec", None) == spec:
            for text, handle in zip(old.texts, handles, strict=True):
                text.set_text(handle.get_label())
            old.set_visible(True)
            return old
        old.remove()
    legend = owner.legend(handles=handles, **options)
    legend._cwi_spec = spec
    return legend


def forget_figures() -> None:
    """Drop the kept figures (the next chart of each kind starts from a new figure)."""
    _KEPT.clear()
