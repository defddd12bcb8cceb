"""A4 PDFs with weasyprint: one per LA from its stored context, and the regional report.

An LA's PDF is rendered from exactly the profile its web page was written from
(``results/profiles/<code>.json``, a :class:`cwi.profiles.LaProfile`) with the same template,
so the two cannot disagree. Profile PDFs are tagged (PDF/UA-1).
"""

from __future__ import annotations

import logging
import re
from html import escape
from pathlib import Path
from typing import Any

from rich.progress import track

from cwi.config import Settings
from cwi.io import recover, staging_dir, swap_in, worker_pool
from cwi.site.safe import asset_check, asset_fetcher, strip_attachments
from cwi.store import ResultsStore

logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


def print_css(templates: Path) -> str:
    """The print stylesheet (DejaVu fonts named everywhere, including margin boxes)."""
    return (templates / "print.css").read_text(encoding="utf-8")


def profile_html(la_code: str, settings: Settings) -> str:
    """The print page of one LA as HTML, from its stored profile (figures as file URIs).

    Figures must be images in the store's profile folder (checked before rendering).
    """
    from cwi.profiles import load_profile, render_print

    store = ResultsStore(settings)
    profile = load_profile(store, la_code)
    src = {
        key: asset_check(
            store.profiles_dir / fig.path, settings.root, fig.path, [store.profiles_dir]
        ).as_uri()
        for key, fig in profile.figures.items()
    }
    return render_print(profile, src, print_css(settings.templates_dir), settings.templates_dir)


def _write_one(args: tuple[str, str, str, str, str, tuple[str, ...]]) -> str:
    """Render one PDF; weasyprint may fetch only the build's figures and embeds no attachment."""
    from weasyprint import HTML

    html, base, out, kind, root, extra = args
    options: dict[str, Any] = {}
    if kind == "profile":
        # Tagged PDF (PDF/UA-1): structure tags, document title and language, figure alt text.
        options = {"pdf_variant": "pdf/ua-1"}
    fetcher = asset_fetcher(Path(root), [Path(e) for e in extra])
    HTML(string=strip_attachments(html), base_url=base, url_fetcher=fetcher).write_pdf(
        out, attachments=[], **options
    )
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

    Notes
    -----
    The PDFs are rendered into a staging folder beside ``pdf_dir`` and swapped in when all are
    done, so a failed or killed run leaves the previous PDFs as they were.
    """
    store = ResultsStore(settings)
    final = settings.pdf_dir
    recover(final, where=settings.build_dir)
    out_dir = staging_dir(final, where=settings.build_dir)  # never inside the published site
    root = str(settings.root)
    extra = (str(store.profiles_dir),)  # the profile charts live in the store
    jobs = []
    for code in store.profile_codes():
        jobs.append(
            (
                profile_html(code, settings),
                str(settings.root),
                str(out_dir / f"{code}.pdf"),
                "profile",
                root,
                extra,
            )
        )
    jobs.append(
        (
            report_html(settings),
            str(settings.root / "report"),
            str(out_dir / "report.pdf"),
            "report",
            root,
            extra,
        )
    )
    try:
        if workers > 1 and len(jobs) > 2:
            with worker_pool(workers) as pool:
                done = list(
                    track(
                        pool.map(_write_one, jobs),
                        total=len(jobs),
                        description="PDFs",
                        transient=True,
                    )
                )
        else:
            done = [_write_one(j) for j in jobs]
    except BaseException:
        recover(final, where=settings.build_dir)  # the previous PDFs stay as they were
        raise
    swap_in(out_dir, final)
    return [final / Path(p).name for p in done]


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
        parts.append(f'<section class="page-break"><h1>{escape(page.title)}</h1>{body}</section>')
    css = print_css(settings.templates_dir) + (
        settings.templates_dir / "report_print.css"
    ).read_text(encoding="utf-8")
    title = escape(settings.title)
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{css}</style></head><body>"
        f'<header class="masthead"><p class="kicker">Regional findings report</p>'
        f"<h1>{title}</h1></header>{''.join(parts)}</body></html>"
    )


def _absolute_images(html: str, base: Path) -> str:
    def repl(match: re.Match[str]) -> str:
        src = match.group(1)
        if re.match(r"^[a-z]+:", src):
            return match.group(0)
        return f'src="{(base / src).resolve().as_uri()}"'

    return re.sub(r'src="([^"]+)"', repl, html)
