"""Charts that carry their words: every chart has a finding title, subtitle, source and alt text.

Charts are drawn with plotnine in the Analysis Function style and saved as PNG (used by both the
web pages and the PDFs, which weasyprint renders reliably). The words travel with the image in a
:class:`Figure` so renderers show them as real text beside it, with a table alternative.
"""

from cwi.charts.figure import Figure
from cwi.charts.theme import palette, theme_af

__all__ = ["Figure", "palette", "theme_af"]
