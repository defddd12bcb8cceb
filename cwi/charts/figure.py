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

    def validate(self) -> None:
        """Refuse a chart without its words."""
        missing = [
            k for k in ("title", "subtitle", "source", "alt") if not getattr(self, k).strip()
        ]
        if missing:
            raise ValueError(f"Chart {self.path.name} lacks: {', '.join(missing)}.")
