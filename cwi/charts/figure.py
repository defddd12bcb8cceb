"""A chart image and the words that must travel with it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


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

    def write(self, drawing: Any, dpi: int = 150) -> Figure:
        """Save a plotnine plot or matplotlib figure as this PNG, carrying pixels only.

        The image's text metadata (software, dates) is stripped so no output carries anything
        but what the chart shows; a matplotlib figure is closed after saving.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
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
    """Remove text metadata chunks (software, dates) from a PNG so it carries only pixels."""
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        clean = Image.new(img.mode, img.size)
        clean.putdata(list(img.getdata())) if img.mode == "P" else clean.paste(img)
        if img.mode == "P":
            clean.putpalette(img.getpalette())
    clean.save(path, format="PNG", optimize=True)
