"""Chart PNGs saved through strip_png_text: an opaque RGBA image becomes RGB, same pixels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from cwi.charts.figure import strip_png_text  # noqa: E402


def test_opaque_chart_is_saved_as_rgb_with_the_same_pixels(tmp_path):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1, 2], [2, 0, 1], color="#12436D")
    path = tmp_path / "chart.png"
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    before = Image.open(path)
    assert before.mode == "RGBA"  # what matplotlib writes
    rgba = before.convert("RGBA").tobytes()
    strip_png_text(path)
    after = Image.open(path)
    assert after.mode == "RGB" and "Software" not in after.info
    assert after.convert("RGBA").tobytes() == rgba


def test_translucent_image_keeps_its_alpha(tmp_path):
    path = tmp_path / "glass.png"
    Image.new("RGBA", (4, 4), (10, 20, 30, 128)).save(path)
    strip_png_text(path)
    img = Image.open(path)
    assert img.mode == "RGBA" and img.getpixel((1, 1)) == (10, 20, 30, 128)
