"""A4 PDFs with weasyprint: one per LA from its stored context, and the regional report.

An LA's PDF is rendered from exactly the profile its web page was written from
(``results/profiles/<code>.json``, a :class:`cwi.profiles.LaProfile`) with the same template,
so the two cannot disagree. Profile PDFs are tagged (PDF/UA-1).
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from rich.progress import track

from cwi.config import Settings
from cwi.store import ResultsStore

logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


def print_css(templates: Path) -> str:
    """The print stylesheet (DejaVu fonts named everywhere, including margin boxes)."""
    return (templates / "print.css").read_text(encoding="utf-8")


def profile_html(la_code: str, settings: Settings) -> str:
    """The print page of one LA as HTML, from its stored profile (figures as file URIs)."""
    from cwi.profiles import load_profile, render_print

    store = ResultsStore(settings)
    profile = load_profile(store, la_code)
    src = {
        key: (store.profiles_dir / fig.path).resolve().as_uri()
        for key, fig in profile.figures.items()
    }
    return render_print(profile, src, print_css(settings.templates_dir), settings.templates_dir)


def _write_one(args: tuple[str, str, str, str]) -> str:
    from weasyprint import HTML

    html, base, out, kind = args
    options: dict[str, Any] = {}
    if kind == "profile":
        # Tagged PDF (PDF/UA-1): structure tags, document title and language, figure alt text.
        options = {"pdf_variant": "pdf/ua-1"}
    HTML(string=html, base_url=base).write_pdf(out, **options)
    return out


def write_pdfs(settings: Settings, workers: int = 2) -> list[Path]:
    """Write ``<pdf_dir>/<code>.pdf`` for every LA profile in the store, and the report PDF.

    Parameters
    ----------
    settings : Settings
        Gives the store and the output folder.
    workers : int
        Processes rendering in parallel (weasyprint is single-threaded).

    Returns
    -------
    list of Path
        PDFs written.
    """
    store = ResultsStore(settings)
    out_dir = settings.pdf_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = []
    for code in store.profile_codes():
        jobs.append(
            (
                profile_html(code, settings),
                str(settings.root),
                str(out_dir / f"{code}.pdf"),
                "profile",
            )
        )
    jobs.append(
        (
            report_html(settings),
            str(settings.root / "report"),
            str(out_dir / "report.pdf"),
            "report",
        )
    )
    if workers > 1 and len(jobs) > 2:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = list(
                track(
                    pool.map(_write_one, jobs), total=len(jobs), description="PDFs", transient=True
                )
            )
    else:
        done = [_write_one(j) for j in jobs]
    return [Path(p) for p in done]


def report_html(settings: Settings) -> str:
    """The regional findings report as one print HTML document, chapters in navigation order."""
    from cwi.site.render import load_pages, page_html

    project, pages, _ = load_pages(settings)
    by_rel = {str(p.rel): p for p in pages}
    order = ["index.qmd"]
    for item in project["website"]["navbar"]["left"]:
        for entry in item.get("menu", [item]):
            href = entry if isinstance(entry, str) else entry.get("href")
            if href and href.startswith("report/") and href not in order:
                order.append(href)
    parts = []
    for rel in order:
        page = by_rel.get(rel)
        if page is None:
            continue
        base = (settings.root / page.rel.parent).resolve()
        body = _absolute_images(page_html(page), base)
        parts.append(f'<section class="page-break"><h1>{page.title}</h1>{body}</section>')
    css = print_css(settings.templates_dir) + (
        settings.templates_dir / "report_print.css"
    ).read_text(encoding="utf-8")
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{settings.title}</title><style>{css}</style></head><body>"
        f'<header class="masthead"><p class="kicker">Regional findings report</p>'
        f"<h1>{settings.title}</h1></header>{''.join(parts)}</body></html>"
    )


def _absolute_images(html: str, base: Path) -> str:
    import re

    def repl(match: re.Match[str]) -> str:
        src = match.group(1)
        if re.match(r"^[a-z]+:", src):
            return match.group(0)
        return f'src="{(base / src).resolve().as_uri()}"'

    return re.sub(r'src="([^"]+)"', repl, html)
