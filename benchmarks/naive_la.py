"""The naive way to make one LA's outputs: everything from scratch in a fresh process.

Used by ``cwi bench`` as the baseline: import the package, load the settings and the results
store, build this LA's profile (charts included), convert its page to HTML with pandoc and print
its PDF with weasyprint. The build does the same work once per LA inside long-lived workers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path


def render_one(code: str) -> Path:
    """Render one LA's web page and PDF into a temporary folder; return the PDF path."""
    import pypandoc
    from weasyprint import HTML

    from cwi.config import load_settings
    from cwi.profiles.build import ProfileTables, build_profile
    from cwi.profiles.draw import draw_all
    from cwi.site.pages import write_la_page
    from cwi.site.pdf import profile_html
    from cwi.site.render import split_front_matter
    from cwi.store import ResultsStore

    settings = load_settings()
    store = ResultsStore(settings)
    tables = ProfileTables.load(store, settings, None)
    profile = build_profile(code, store, settings, tables)
    scratch = Path(tempfile.mkdtemp(prefix="cwi-naive-charts-"))
    draw_all([profile], tables, scratch / "figures", settings, workers=1)
    write_la_page(code, settings)
    page = settings.root / "la_profiles" / f"{code}.qmd"
    _meta, body = split_front_matter(page.read_text(encoding="utf-8"), page)
    out = Path(tempfile.mkdtemp(prefix="cwi-naive-"))
    (out / f"{code}.html").write_text(
        pypandoc.convert_text(body, "html", format="markdown"), encoding="utf-8"
    )
    pdf = out / f"{code}.pdf"
    HTML(
        string=profile_html(code, settings),
        base_url=str(settings.root),
    ).write_pdf(pdf)
    return pdf
