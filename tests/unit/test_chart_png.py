"""Chart PNGs: 8-bit RGB, pixels only, exactly the pixels matplotlib drew."""

from __future__ import annotations

import io
import struct

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from cwi.charts.figure import DPI, encode_png
from cwi.charts.profile import SpineRow, spine_chart, spine_figure
from cwi.site.pdf import png_idat

ROWS = [
    SpineRow("CIN", 360.0, 344.1, 339.1, 180.0, 290.0, 410.0, 720.0, "higher"),
    SpineRow("CPP", 41.0, 45.2, 41.6, 20.0, 33.0, 52.0, 90.0, "similar"),
    SpineRow("CLA", None, 70.3, 71.0, 30.0, 55.0, 95.0, 160.0, "unknown"),
]
WORDS = {"range_label": "Range of 153 English LAs", "centre_label": "England",
         "la_name": "Brackenford"}  # fmt: skip


def _chunks(data: bytes) -> list[bytes]:
    kinds, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack("!I", data[pos : pos + 4])
        kinds.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return kinds


def test_a_chart_png_holds_exactly_the_drawn_pixels_and_nothing_else(tmp_path):
    path = tmp_path / "spine.png"
    spine_chart(ROWS, path, title="t", subtitle="s", source="src", alt="a", **WORDS)
    data = path.read_bytes()
    assert _chunks(data) == [b"IHDR", b"IDAT", b"IEND"]  # no text, time or software chunk
    with Image.open(path) as img:
        img.load()  # checks every CRC and the deflate stream
        assert img.mode == "RGB" and img.size == (900, 459)  # 6 x 3.06 in at 150 dpi
        drawn = np.asarray(img)
    fig = spine_figure(ROWS, **WORDS)  # the same chart drawn again
    assert fig.get_dpi() == DPI
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    assert (rgba[:, :, 3] == 255).all()  # opaque: dropping alpha loses nothing
    assert np.array_equal(drawn, rgba[:, :, :3])
    # the same pixels as Pillow's own PNG of them, in a smaller file
    pillow = io.BytesIO()
    Image.fromarray(rgba[:, :, :3]).save(pillow, format="PNG", compress_level=3)
    assert np.array_equal(np.asarray(Image.open(pillow)), drawn)
    assert len(data) < len(pillow.getvalue())
    assert png_idat(data) is not None  # goes into the profile PDF without re-encoding


def test_encode_png_round_trips_any_rgb_array_and_refuses_alpha():
    rng = np.random.default_rng(7)
    for shape in ((1, 1, 3), (3, 5, 3), (40, 17, 3)):
        pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
        with Image.open(io.BytesIO(encode_png(pixels))) as img:
            assert img.mode == "RGB" and np.array_equal(np.asarray(img), pixels)
    with pytest.raises(ValueError, match="RGB"):
        encode_png(np.zeros((2, 2, 4), dtype=np.uint8))


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def test_the_lean_renderer_draws_the_same_pixels_as_matplotlibs_own():
    from cwi.charts.figure import lean_canvas
    from cwi.charts.profile import trend_figure

    trends = pd.DataFrame(
        [{"measure": m, "year": y, "rate": r, "lower": r * 0.9, "upper": r * 1.1,
          "region": r * 1.05, "dfe": r * 0.98 if y < 2023 else None}
         for m, base in (("CIN", 340.0), ("CPP", 45.0), ("CLA", 70.0))
         for y, r in zip((2021, 2022, 2023), (base, base * 1.04, base * 0.97), strict=True)]
    )  # fmt: skip
    figures = [
        lambda name: spine_figure(ROWS, **(WORDS | {"la_name": name})),
        lambda name: trend_figure(
            trends, la_name=name, region_name="Demo region", measures=["CIN", "CPP", "CLA"]
        ),  # fmt: skip
    ]
    for make in figures:
        for name in ("Brackenford", "Ynys Môn – “Bath & North East” ≥ 5", "Brackenford"):
            fig = make(name)
            assert type(fig.canvas).__name__ == "LeanCanvas"
            lean = _pixels(fig)  # layouts kept from earlier charts are used again here
            FigureCanvasAgg(fig)  # matplotlib's own canvas and renderer
            plain = _pixels(fig)
            lean_canvas(fig)
            assert np.array_equal(lean, plain), name
            assert np.array_equal(_pixels(fig), plain)


def test_charts_sized_and_drawn_with_kept_layouts_equal_matplotlibs_own(monkeypatch):
    from cwi.charts import figure as figure_mod

    long_name = "The Royal Borough of Windsor and Maidenhead and Ynys Môn – “Bath & NE” ≥ 5"
    made = {}
    for mode in ("lean", "lean again", "plain"):
        if mode == "plain":  # matplotlib's own canvas for new figures: nothing kept
            monkeypatch.setattr(figure_mod, "lean_canvas", FigureCanvasAgg)
        figure_mod.forget_figures()
        fig = spine_figure(ROWS, **(WORDS | {"la_name": long_name}))
        made[mode] = (tuple(fig.get_size_inches()), _pixels(fig))
    figure_mod.forget_figures()
    monkeypatch.undo()
    assert made["plain"][0][0] > 6.0  # the long name widened the chart
    for mode in ("lean", "lean again"):
        assert made[mode][0] == made["plain"][0]
        assert np.array_equal(made[mode][1], made["plain"][1])


def test_kept_text_layouts_follow_alignment_rotation_size_and_spacing():
    from matplotlib.figure import Figure as MplFigure

    from cwi.charts.figure import lean_canvas

    def draw(canvas) -> np.ndarray:
        fig = MplFigure(figsize=(4, 4), dpi=DPI)
        canvas(fig)
        for i, (ha, va, rot, size, spacing) in enumerate([
            ("left", "baseline", 0, 8, 1.2), ("center", "top", 0, 8, 1.2),
            ("right", "bottom", 0, 8, 1.2), ("center", "center", 90, 8, 1.2),
            ("left", "baseline", 0, 11, 1.2), ("left", "top", 0, 8, 2.0),
            ("right", "center_baseline", 30, 8, 1.2), ("left", "top", 0, 8, 1.2),
            ("left", "bottom", 0, 8, 1.2),
        ]):  # fmt: skip
            fig.text(0.5, 0.1 * (i + 1), "[c] Rate\nper 10,000", ha=ha, va=va, rotation=rot,
                     fontsize=size, linespacing=spacing)  # fmt: skip
        return _pixels(fig)

    plain = draw(FigureCanvasAgg)
    assert np.array_equal(draw(lean_canvas), plain)
    assert np.array_equal(draw(lean_canvas), plain)  # every layout from the cache this time


def test_a_map_drawn_on_the_last_maps_emptied_figure_equals_one_on_a_new_figure(
    tmp_path, monkeypatch
):
    import geopandas as gpd
    from shapely.geometry import box

    from cwi.charts import figure as figure_mod
    from cwi.charts import maps

    def area(cols: int, rows: int, shift: float) -> gpd.GeoDataFrame:
        cells = [
            box(shift + i, j, shift + i + 1, j + 0.7) for i in range(cols) for j in range(rows)
        ]
        return gpd.GeoDataFrame(
            {"imd_decile": [1 + k % 10 for k in range(len(cells))]}, geometry=cells
        )

    areas = [area(6, 3, 0.0), area(2, 9, 5.0), area(11, 2, -3.0)]  # wide, tall, wider
    words = {"title": "t", "subtitle": "s", "source": "src", "alt": "a"}

    def draw_all(tag: str) -> list[np.ndarray]:
        out = []
        for i, a in enumerate(areas):
            path = tmp_path / f"{tag}{i}.png"
            maps.decile_map(a, path, width=7.0, height=3.3, **words)
            out.append(np.asarray(Image.open(path)))
        return out

    figure_mod.forget_figures()
    kept = draw_all("kept")  # the second and third maps reuse the first one's figure

    def fresh(kind, width, height, layout, *args):
        return (*figure_mod.new_figure(width, height, layout, *args), True)

    monkeypatch.setattr(maps, "reused_figure", fresh)  # as decile_map_figure(reuse=False)
    new = draw_all("new")
    assert [m.shape for m in kept] == [m.shape for m in new]
    assert len({m.shape for m in new}) == 3  # each map sized to its own area
    for a, b in zip(kept, new, strict=True):
        assert np.array_equal(a, b)


def test_glyphs_kept_by_sub_pixel_offset_draw_matplotlibs_own_pixels_anywhere():
    from matplotlib.figure import Figure as MplFigure

    from cwi.charts import figure as figure_mod

    def draw(canvas) -> np.ndarray:
        fig = MplFigure(figsize=(3, 3), dpi=DPI)
        canvas(fig)
        for i in range(24):  # the same glyphs at many whole and fractional pixel positions
            x, y = 0.05 + 0.0371 * i, 0.04 + 0.0389 * i
            fig.text(x, y, "0,9 Rate", fontsize=7 + (i % 3), rotation=(0, 30, 90)[i % 3],
                     antialiased=bool(i % 4))  # fmt: skip
        return _pixels(fig)

    plain = draw(FigureCanvasAgg)
    figure_mod._GLYPHS.clear()
    assert np.array_equal(draw(figure_mod.lean_canvas), plain)  # glyphs rendered, then kept
    assert figure_mod._GLYPHS
    assert np.array_equal(draw(figure_mod.lean_canvas), plain)  # every glyph from the cache


def test_a_plotnine_chart_is_drawn_once_to_the_pixels_ggplot_save_writes(tmp_path):
    from cwi.charts.deprivation import decile_rates_plot
    from cwi.charts.figure import render_ggplot_png

    frame = pd.DataFrame(
        [{"series": s, "measure": m, "imd_decile": d, "rate": k * (400 - 25 * d) / (1 + j)}
         for s, k in (("Region", 1.0), ("England – “all” ≥", 0.8))
         for j, m in enumerate(("CIN", "CLA")) for d in range(1, 11)]
    )  # fmt: skip
    frame["lower"], frame["upper"] = frame["rate"] * 0.9, frame["rate"] * 1.1
    frame.loc[3, "rate"] = None  # a suppressed cell, left out
    plot = decile_rates_plot(frame, width=5.0, height=2.4)  # the report's own chart
    plot.save(tmp_path / "saved.png", dpi=DPI, verbose=False)  # plotnine's own way
    with Image.open(tmp_path / "saved.png") as img:
        saved = np.asarray(img.convert("RGBA"))
    assert (saved[:, :, 3] == 255).all()
    for _ in range(2):  # text layouts and glyphs kept from the first drawing in the second
        data = render_ggplot_png(plot, DPI)
        assert _chunks(data) == [b"IHDR", b"IDAT", b"IEND"]
        with Image.open(io.BytesIO(data)) as img:
            assert img.mode == "RGB" and img.size == (750, 360)
            assert np.array_equal(np.asarray(img), saved[:, :, :3])


def test_a_forked_worker_starts_without_its_parents_font_objects():
    import multiprocessing

    from cwi.charts import figure as figure_mod

    spine_figure(ROWS, **WORDS).canvas.draw()  # the parent lays out and renders glyphs
    assert figure_mod._LAYOUTS and figure_mod._GLYPHS
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        left = pool.apply(_font_caches_in_child)
    assert left == (0, 0)  # else two workers would read one font file through one offset
    assert figure_mod._LAYOUTS and figure_mod._GLYPHS  # the parent keeps its own


def _font_caches_in_child() -> tuple[int, int]:
    from cwi.charts import figure as figure_mod

    return len(figure_mod._LAYOUTS), len(figure_mod._GLYPHS)


def test_charts_on_kept_figures_with_kept_legends_equal_charts_on_new_figures(monkeypatch):
    from cwi.charts import figure as figure_mod
    from cwi.charts import profile as profile_mod
    from cwi.charts.profile import trend_figure

    def trends(dfe: bool) -> pd.DataFrame:
        return pd.DataFrame(
            [{"measure": m, "year": y, "rate": r, "lower": r * 0.9, "upper": r * 1.1,
              "region": r * 1.05, "dfe": r * 0.98 if dfe else None}
             for m, base in (("CIN", 340.0), ("CPP", 45.0), ("CLA", 70.0))
             for y, r in zip((2022, 2023), (base, base * 1.04), strict=True)]
        )  # fmt: skip

    names = ["Brackenford", "The Royal Borough of Windsor and Maidenhead – “Bath & NE” ≥ 5",
             "Ynys Môn", "Brackenford"]  # fmt: skip
    charts = [
        lambda name, i: spine_figure(ROWS, **(WORDS | {"la_name": name})),
        lambda name, i: trend_figure(trends(dfe=i % 2 == 0), la_name=name,
                                     region_name="Demo region", measures=["CIN", "CPP", "CLA"]),
    ]  # fmt: skip

    def draw_all() -> list[np.ndarray]:
        return [_pixels(make(name, i)) for make in charts for i, name in enumerate(names)]

    figure_mod.forget_figures()
    kept = draw_all()  # each chart on the last one's figure, its legend's words replaced

    def fresh(kind, width, height, layout, *args):
        return (*figure_mod.new_figure(width, height, layout, *args), True)

    monkeypatch.setattr(profile_mod, "reused_figure", fresh)
    new = draw_all()
    figure_mod.forget_figures()
    assert len({m.shape for m in new}) > 1  # the long name widened its charts
    for i, (a, b) in enumerate(zip(kept, new, strict=True)):
        assert a.shape == b.shape and np.array_equal(a, b), i
