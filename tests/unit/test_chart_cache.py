"""Profile charts drawn lean: the chart cache, reused figures and the one map-filling block."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

from cwi.charts.cache import ChartCache, chart_key
from cwi.charts.figure import Layout, forget_figures, new_figure, render_png
from cwi.charts.maps import decile_map_figure, fill_areas
from cwi.charts.profile import SpineRow, spine_figure, trend_figure
from cwi.config import SHARED_PUBLIC

WEST_MIDLANDS = SHARED_PUBLIC / "boundaries" / "LSOA_Dec_2011_BSC_EW_V3_WestMidlands.geojson"


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


# ---- the cache -------------------------------------------------------------------------------
def test_a_cached_chart_is_copied_with_the_digest_it_was_drawn_with(tmp_path):
    drawn = tmp_path / "store" / "A_spine.png"
    drawn.parent.mkdir()
    drawn.write_bytes(b"\x89PNG chart pixels")
    cache = ChartCache(tmp_path / "cache")
    cache.store("k1", drawn)
    cache.save()
    again = ChartCache(tmp_path / "cache")  # the next build reads the record
    out = tmp_path / "next" / "A_spine.png"
    assert again.fetch("k1", out) and out.read_bytes() == drawn.read_bytes()
    assert not again.fetch("k2", tmp_path / "next" / "B.png")  # never drawn
    assert (again.hits, again.misses) == (1, 1)


@pytest.mark.parametrize("damage", ["append", "truncate", "delete"])
def test_a_damaged_cache_entry_is_never_used(tmp_path, damage):
    drawn = tmp_path / "A.png"
    drawn.write_bytes(b"\x89PNG chart pixels")
    cache = ChartCache(tmp_path / "cache")
    cache.store("k1", drawn)
    cache.save()
    entry = next((tmp_path / "cache").glob("*/k1.png"))
    if damage == "append":
        entry.write_bytes(entry.read_bytes() + b"x")
    elif damage == "truncate":
        entry.write_bytes(entry.read_bytes()[:5])
    else:
        entry.unlink()
    out = tmp_path / "out" / "A.png"
    again = ChartCache(tmp_path / "cache")
    assert not again.fetch("k1", out)
    assert not out.exists(), "a damaged copy was left in the output"


def test_prune_keeps_only_what_this_build_used(tmp_path):
    drawn = tmp_path / "A.png"
    drawn.write_bytes(b"pixels")
    cache = ChartCache(tmp_path / "cache")
    for key in ("k1", "k2"):
        cache.store(key, drawn)
    cache.save()
    (tmp_path / "cache" / "zz").mkdir()
    (tmp_path / "cache" / "zz" / "orphan.png").write_bytes(b"?")  # no record
    again = ChartCache(tmp_path / "cache")
    assert again.fetch("k1", tmp_path / "out.png")
    assert again.save(prune=True) == 2  # k2 and the orphan
    assert sorted(p.stem for p in (tmp_path / "cache").glob("*/*.png")) == ["k1"]
    assert set(json.loads((tmp_path / "cache" / "index.json").read_text())) == {"k1"}


def test_the_key_follows_every_value_drawn_and_every_word():
    frame = pd.DataFrame({"measure": ["CIN", "CLA"], "rate": [412.5, 80.25], "note": ["", "[c]"]})
    inputs = {"la": frame, "title": "Rates rise with deprivation", "rows": [SpineRow(
        "CIN", 1.0, 2.0, 3.0, 0.5, 1.5, 4.0, 5.0, "higher")]}  # fmt: skip
    key = chart_key("deciles", inputs)
    assert chart_key("deciles", {**inputs, "la": frame.copy()}) == key  # same values
    nudged = frame.assign(rate=[np.nextafter(412.5, 500), 80.25])  # one ulp
    assert chart_key("deciles", {**inputs, "la": nudged}) != key
    assert chart_key("deciles", {**inputs, "title": "Rates rise with deprivation."}) != key
    assert chart_key("deciles", {**inputs, "la": frame.assign(note=["", "[u]"])}) != key
    moved = [SpineRow("CIN", 1.0, 2.0, 3.0, 0.5, 1.5, 4.0, 5.0, "similar")]
    assert chart_key("deciles", {**inputs, "rows": moved}) != key
    assert chart_key("trend", inputs) != key
    memo: dict[int, str] = {}
    assert chart_key("deciles", inputs, memo) == key and len(memo) == 1


# ---- reused figures ---------------------------------------------------------------------------
def _spine(la: float, name: str) -> bytes:
    rows = [SpineRow(m, la * k, 300.0 * k, 320.0 * k, 100.0 * k, 250.0 * k, 400.0 * k, 700.0 * k,
                     d) for m, k, d in (("CIN", 1.0, "higher"), ("CPP", 0.15, "similar"),
                                         ("CLA", 0.2, "lower"))]  # fmt: skip
    fig = spine_figure(rows, range_label="Range of 151 English LAs", centre_label="England",
                       la_name=name)  # fmt: skip
    return render_png(fig)


def _trend(scale: float, dfe: bool) -> bytes:
    rows = [{"measure": m, "year": y, "rate": scale * (300 + 10 * i), "lower": scale * 280,
             "upper": scale * 340, "region": scale * 310, "dfe": 305.0 if dfe else np.nan}
            for m in ("CIN", "CPP", "CLA") for i, y in enumerate((2021, 2022, 2023))]  # fmt: skip
    return render_png(trend_figure(pd.DataFrame(rows), la_name="LA", region_name="Region",
                                   measures=["CIN", "CPP", "CLA"]))  # fmt: skip


def test_a_reused_figure_draws_exactly_what_a_new_one_draws():
    forget_figures()
    first, trend_first = _spine(500.0, "Oakshire"), _trend(1.0, True)
    # Other charts in between: other data, a long name that widens the figure, no DfE series.
    _spine(90.0, "Bournemouth, Christchurch and Poole and a very long name indeed")
    _trend(40.0, False)
    assert _spine(500.0, "Oakshire") == first
    assert _trend(1.0, True) == trend_first
    forget_figures()


def test_a_long_la_name_widens_the_chart_instead_of_losing_its_legend():
    forget_figures()
    short = _pixels(_spine(500.0, "Oakshire"))
    name = "Bournemouth, Christchurch and Poole and a very long name indeed"
    rows = [SpineRow("CIN", 500.0, 300.0, 320.0, 100.0, 250.0, 400.0, 700.0, "higher")]
    fig = spine_figure(rows, range_label="Range", centre_label="England", la_name=name)
    legend = fig.axes[0].get_legend()
    box = legend.get_window_extent(fig.canvas.get_renderer())
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width, "legend cut off"
    assert _pixels(render_png(fig)).shape[1] > short.shape[1]
    forget_figures()


# ---- maps: one filling block -----------------------------------------------------------------
def _same_as_geopandas(geoms: list, tmp_colours: list[str]) -> None:
    import geopandas as gpd

    series = gpd.GeoSeries(geoms)

    def image(fill) -> np.ndarray:  # noqa: ANN001
        fig, (ax,) = new_figure(4.0, 3.0, Layout(0.1, 0.1, 0.1, 0.1))
        fill(ax)
        ax.set_axis_off()
        ax.set_aspect("equal")
        return _pixels(render_png(fig))

    ours = image(lambda ax: fill_areas(ax, geoms, tmp_colours, "#7F7F7F", 0.15))
    theirs = image(lambda ax: series.plot(ax=ax, color=tmp_colours, edgecolor="#7F7F7F",
                                          linewidth=0.15))  # fmt: skip
    assert np.array_equal(ours, theirs)


def test_fill_areas_draws_holes_and_multipart_areas_as_geopandas_does():
    square = shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2), (1, 2)]])
    islands = shapely.MultiPolygon([shapely.box(5, 0, 6, 1), shapely.box(5, 2, 7, 4)])
    _same_as_geopandas([square, islands, shapely.box(1.2, 1.2, 1.8, 1.8)],
                       ["#12436D", "#F46A25", "#28A197"])  # fmt: skip


@pytest.mark.skipif(not WEST_MIDLANDS.is_file(), reason="real boundaries not found")
def test_fill_areas_on_real_lsoas_matches_geopandas_pixel_for_pixel():
    from cwi.reference.boundaries import read_boundaries

    lsoas = read_boundaries(WEST_MIDLANDS)
    holes = shapely.get_num_interior_rings(lsoas.geometry.values) > 0
    multi = lsoas.geom_type == "MultiPolygon"
    telford = lsoas["lsoa_name"].str.startswith("Telford and Wrekin")
    pick = lsoas[holes | multi.to_numpy() | telford.to_numpy()]
    assert holes.any() and multi.any() and telford.sum() > 100
    colours = ["#0B2A45", "#2073BC", "#A0C6EA"]
    for part in (pick[telford[pick.index]], pick[~telford[pick.index]]):
        _same_as_geopandas(list(part.geometry), [colours[i % 3] for i in range(len(part))])


def test_the_decile_map_takes_the_shape_of_its_area():
    import geopandas as gpd

    def areas(w: float, h: float) -> gpd.GeoDataFrame:
        boxes = [shapely.box(i * w / 4, 0, (i + 1) * w / 4, h) for i in range(4)]
        return gpd.GeoDataFrame({"imd_decile": [1, 4, 7, 10]}, geometry=boxes)

    wide = decile_map_figure(areas(4.0, 1.0), width=7.0, height=3.3)
    tall = decile_map_figure(areas(1.0, 4.0), width=7.0, height=3.3)
    ww, tw = wide.get_size_inches()[0], tall.get_size_inches()[0]
    assert ww > tw and ww <= 7.0 * 0.775 + 2.5  # the panel within matplotlib's default box
    for fig in (wide, tall):
        ax = fig.axes[0]
        box = ax.get_position()
        w, h = fig.get_size_inches()
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        assert box.width * w / (box.height * h) == pytest.approx((x1 - x0) / (y1 - y0), rel=1e-6)
        legend = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
        assert legend.x1 <= fig.bbox.width and legend.y0 >= 0 and legend.y1 <= fig.bbox.height
