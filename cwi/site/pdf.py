"""A4 PDFs with weasyprint: one per LA from its stored context, and the regional report.

An LA's PDF is rendered from exactly the profile its web page was written from
(``results/profiles/<code>.json``, a :class:`cwi.profiles.LaProfile`) with the same template,
so the two cannot disagree. Profile PDFs are tagged (PDF/UA-1).
"""

from __future__ import annotations

import gc
import logging
import os
import re
import shutil
import struct
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from cwi.config import Settings
from cwi.io import load_yaml, recover, staging_dir, swap_in, worker_pool
from cwi.site.cache import OutputCache, atomic_write_bytes, cache_dir, html_key
from cwi.site.report_pdf import FRONT, LINK_BASE, MARK, render_report, whole_document
from cwi.site.safe import asset_check, asset_fetcher, md_plain, strip_attachments
from cwi.store import ResultsStore

logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


def print_css(templates: Path) -> str:
    """The print stylesheet (DejaVu fonts named everywhere, including margin boxes)."""
    return (templates / "print.css").read_text(encoding="utf-8")


#: Extra folders (the store's profile charts) the PDF workers may read images from.
ASSETS_ENV = "CWI_PDF_ASSET_DIRS"
#: The report's piece cache (cwi.site.report_pdf), set by write_pdfs for the workers.
REPORT_CACHE_ENV = "CWI_REPORT_PDF_CACHE"


def profile_html(la_code: str, settings: Settings) -> str:
    """The print page of one LA as HTML, from its stored profile (figures as file URIs)."""
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


def png_idat(data: bytes) -> bytes | None:
    """The compressed pixel data (IDAT chunks) of an 8-bit, non-interlaced RGB or grey PNG.

    That is exactly what a PDF image stream with the PNG predictor holds (weasyprint builds
    it the same way from a PNG it has just encoded), so such a PNG can go into the PDF without
    being decoded and encoded again. None for any other PNG (palette, alpha, 16-bit,
    interlaced, transparency chunk) or a damaged one: weasyprint then re-encodes it as before.
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos, idat, header, ended = 8, [], None, False
    while pos + 8 <= len(data):
        (length,) = struct.unpack("!I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            return None
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind in (b"tRNS", b"PLTE"):
            return None
        elif kind == b"IEND":
            ended = True
            break
        pos += 12 + length
    if header is None or len(header) != 13 or not idat or not ended:
        return None
    depth, colour, _comp, _filter, interlace = header[8:13]
    if depth != 8 or colour not in (0, 2) or interlace != 0:
        return None
    return b"".join(idat)


def _install_png_passthrough() -> None:
    """Let weasyprint embed our chart PNGs' pixel data as it is (no decode, no re-encode).

    weasyprint (``RasterImage.get_x_object``) opens every PNG with Pillow, encodes it again
    and keeps only the IDAT chunks of the new file: for the profile charts about a fifth of a
    PDF's CPU time. For a PNG :func:`png_idat` accepts, its own IDAT chunks are used instead:
    the same pixels, the same PDF image dictionary; any other image goes through weasyprint's
    own code. Installed once per process (the PDF workers).
    """
    from weasyprint.images import RasterImage

    original = RasterImage.__dict__["_get_png_data"]
    if getattr(original, "cwi_passthrough", False):
        return
    encode = original.__func__

    def get_png_data(pillow_image: Any) -> bytes:
        fp = getattr(pillow_image, "fp", None)
        if pillow_image.format == "PNG" and pillow_image.mode in ("RGB", "L") and fp is not None:
            raw = fp.getvalue() if hasattr(fp, "getvalue") else None
            idat = png_idat(raw) if raw else None
            if idat is not None:
                return idat
        return encode(pillow_image)

    get_png_data.cwi_passthrough = True  # type: ignore[attr-defined]
    RasterImage._get_png_data = staticmethod(get_png_data)


@cache
def _profile_fonts() -> Any:
    """One weasyprint font configuration for every profile PDF a process writes.

    A new configuration per document makes Pango load and measure the same DejaVu fonts
    again. The profile's print CSS declares no ``@font-face`` (the only state a
    configuration gathers from a document), so sharing it changes no byte of a PDF.
    """
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


#: The print page's stylesheet: the first ``<style>`` element (templates/la_profile.j2).
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


@cache
def _stylesheet(text: str) -> Any:
    """A print stylesheet parsed once per process, for every profile PDF that uses it.

    Every profile's print page carries the same stylesheet; weasyprint would parse it again
    for each document. Given as the document's only other stylesheet (``stylesheets=``, the
    "user" origin), it beats the user-agent styles exactly as it did in the page (no
    author styles, no ``style`` attributes in the print page), so the layout is the same.
    """
    from weasyprint import CSS

    return CSS(string=text, font_config=_profile_fonts())


@contextmanager
def _few_collections() -> Iterator[None]:
    """Run the cyclic garbage collector rarely, and over new objects only, during a render.

    weasyprint allocates hundreds of thousands of objects per document; with the default
    thresholds the collector runs about 70 times per profile PDF and 950 times for the report
    (about an eighth of their CPU time), though nearly all of these objects live until the
    document is done. Collecting after 50,000 allocations instead of 700 does the same work a
    few times; the objects that existed before (the worker's modules, and everything a worker
    forked from the build inherits) are frozen meanwhile, so a full collection does not walk
    them each time. Only the timing of collections changes, never what is laid out; the old
    thresholds come back and the frozen objects are collectable again after.
    """
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def _write_one(args: tuple[str, str, str, str]) -> str:
    with _few_collections():
        return _write(*args)


def _write(html: str, base: str, out: str, kind: str) -> str:
    from weasyprint import HTML

    options: dict[str, Any] = {}
    _install_png_passthrough()  # the report's figures are RGB PNGs too
    if kind == "profile":
        # Tagged PDF (PDF/UA-1): structure tags, document title and language, figure alt text.
        options = {"pdf_variant": "pdf/ua-1", "font_config": _profile_fonts()}
        style = _STYLE.search(html)
        if style is not None:  # the same stylesheet in every profile: parsed once
            html = html[: style.start()] + html[style.end() :]
            options["stylesheets"] = [_stylesheet(style.group(1))]
    # weasyprint may fetch only the build's figures (and the store's profile charts) and
    # embeds no attachment: no file:// outside them, no rel="attachment"
    extra = [Path(p) for p in os.environ.get(ASSETS_ENV, "").split(os.pathsep) if p]
    fetcher = asset_fetcher(Path(base).parent if kind == "report" else Path(base), extra)

    def document(doc: str) -> Any:  # every PDF, whole or in pieces, goes through this
        return HTML(string=strip_attachments(doc), base_url=base, url_fetcher=fetcher)

    pieces = os.environ.get(REPORT_CACHE_ENV)
    if kind == "report" and pieces:
        # laid out chapter by chapter; unchanged chapters come from the piece cache
        render_report(
            html, Path(out), Path(pieces), lambda doc: document(doc).render(), {"attachments": []}
        )
        return out
    if kind == "report":  # no piece cache: one document, links between chapters as they are
        html = whole_document(html)
    pdf = document(html).write_pdf(attachments=[], **options)
    atomic_write_bytes(Path(out), pdf)
    return out


def _carry(src: Path, dst: Path) -> None:
    """Put the fresh output ``src`` into the staging folder as ``dst``: a hard link, else a copy.

    A link is safe because outputs are never changed in place: every write is a new file renamed
    over the old name (:func:`cwi.io.atomic_path`), so the old folder keeps its bytes.
    """
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def render_jobs(
    jobs: Iterable[tuple[str, str, str, str]],
    cache: OutputCache,
    workers: int = 2,
    staging_parent: Path | None = None,
) -> tuple[list[Path], list[Path]]:
    """Render the PDF jobs whose inputs changed into a new folder and swap it in whole.

    Every job's output lies in one folder (the PDF folder). Outputs that are fresh in ``cache``
    are carried into a staging folder (hard links), the stale ones are rendered there, and the
    staging folder then replaces the PDF folder in one step (:func:`cwi.io.swap_in`). A build
    killed before the swap leaves the previous folder untouched (the staging folder is removed
    by the next build); the cache record is written after the swap and describes the files then
    on disk (a kill between swap and record leaves old digests, which no new file matches, so
    those PDFs are only rendered again). When every output is fresh and the folder holds exactly
    these outputs, nothing is written at all.

    Parameters
    ----------
    jobs : iterable of tuple
        ``(html, base_url, output path, kind)``; all outputs in one folder. A generator is
        consumed lazily: each stale job goes to a worker as soon as it is produced.
    cache : OutputCache
        Record of the outputs' inputs and digests.
    workers : int
        Processes rendering in parallel.
    staging_parent : Path, optional
        Where to build the new folder (default: beside the PDF folder); on the same file system.

    Returns
    -------
    all, rendered : list of Path
        Every job's PDF (in job order, final paths) and the ones weasyprint wrote this time.
    """
    outs: list[Path] = []
    keys: list[str] = []
    final: Path | None = None
    staged: Path | None = None
    fresh: list[Path] = []
    futures: list[Any] = []
    done: list[str] = []
    pool = None
    try:
        # jobs may be a generator: each is checked, and sent to a worker if stale, as soon as
        # its HTML exists, so rendering overlaps with building the next documents' HTML
        for html, base, out_str, kind in jobs:
            out = Path(out_str)
            if final is None:
                final = out.parent
                recover(final, where=staging_parent)
            elif out.parent != final:
                raise ValueError(f"PDF jobs must share one output folder: {final}, {out.parent}")
            key = html_key(html, base, kind)
            outs.append(out)
            keys.append(key)
            if cache.fresh(out, key):
                fresh.append(out)
                if staged is not None:
                    _carry(out, staged / out.name)
                continue
            if staged is None:
                staged = staging_dir(final, where=staging_parent)
                for old in fresh:
                    _carry(old, staged / old.name)
            job = (html, base, str(staged / out.name), kind)
            if workers > 1:
                if pool is None:
                    pool = worker_pool(workers)  # workers die with the build
                futures.append(pool.submit(_write_one, job))
            else:
                done.append(_write_one(job))
        if final is None:
            return [], []
        if staged is None:
            present = {p.name for p in final.iterdir()} if final.is_dir() else set()
            if present == {o.name for o in outs}:
                return outs, []  # everything fresh and nothing else in the folder
            staged = staging_dir(final, where=staging_parent)
            for old in fresh:
                _carry(old, staged / old.name)
        done += [f.result() for f in futures]
        if pool is not None:
            pool.shutdown()
        swap_in(staged, final)
    except BaseException:
        if pool is not None:  # first stop the workers, so none writes into the folder after
            pool.shutdown(wait=True, cancel_futures=True)
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)  # the previous PDFs stay as they were
        raise
    cache.forget_under(final)  # the folder now holds exactly these outputs
    for out, key in zip(outs, keys, strict=True):
        cache.note(out, key)
    cache.save()
    return outs, [final / Path(p).name for p in done]


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
    os.environ[ASSETS_ENV] = str(store.profiles_dir)  # read by the workers' URL fetcher
    os.environ[REPORT_CACHE_ENV] = str(cache_dir(settings.build_dir) / "report-pdf")

    def jobs() -> Iterator[tuple[str, str, str, str]]:
        # the report first: it takes as long as several profiles, so it starts while the
        # profiles' HTML is still being built and the two workers finish together
        yield (
            report_html(settings),
            str(settings.root / "report"),
            str(out_dir / "report.pdf"),
            "report",
        )
        for code in store.profile_codes():
            yield (
                profile_html(code, settings),
                str(settings.root),
                str(out_dir / f"{code}.pdf"),
                "profile",
            )

    cache = OutputCache(cache_dir(settings.build_dir) / "pdf.json")
    # staged in the build folder, never inside the site (the scan must not see a half folder)
    written, _rendered = render_jobs(jobs(), cache, workers, staging_parent=settings.build_dir)
    return written[1:] + written[:1]  # the LA profiles, then the report


def report_chapters(settings: Settings) -> list[Any]:
    """The report's chapters (pages under ``report/``) in navigation order."""
    from cwi.site.render import load_pages

    project, pages, _ = load_pages(settings)
    by_rel = {str(p.rel): p for p in pages}
    order: list[str] = []
    for item in project["website"]["navbar"]["left"]:
        for entry in item.get("menu", [item]):
            href = entry if isinstance(entry, str) else entry.get("href")
            if href and href.startswith("report/") and href not in order:
                order.append(href)
    return [by_rel[rel] for rel in order if rel in by_rel]


def _chapter_id(rel: str) -> str:
    return "ch-" + Path(rel).stem.replace("_", "-")


def _rewrite_links(html: str, page_rel: str, chapters: set[str], site_url: str | None) -> str:
    """Point links at the PDF's own chapters or the website, never at local files.

    A link to a chapter in this PDF becomes an internal link; any other site page becomes an
    absolute link on the website when ``site_url`` is set, else plain text (a relative link
    would resolve to a ``file://`` path of the build machine).
    """
    import posixpath
    import re

    def repl(m: re.Match[str]) -> str:
        pre, href, post, text = m.group("pre"), m.group("href"), m.group("post"), m.group("text")
        if re.match(r"^([a-z]+:|#)", href):
            return m.group(0)
        path, _, frag = href.partition("#")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page_rel), path))
        if target.endswith(".html") and target[:-5] + ".qmd" in chapters:
            return f'<a{pre}href="#{_chapter_id(target)}"{post}>{text}</a>'
        if site_url:
            url = site_url.rstrip("/") + "/" + target + (f"#{frag}" if frag else "")
            return f'<a{pre}href="{url}"{post}>{text}</a>'
        return f'<span class="site-link">{text}</span>'

    link = r'<a(?P<pre>[^>]*?)href="(?P<href>[^"]*)"(?P<post>[^>]*)>(?P<text>.*?)</a>'
    return re.sub(link, repl, html, flags=re.S)


def report_html(settings: Settings) -> str:
    """The regional findings report as one print document.

    Cover (title, region, snapshot, date, version, data source), contents with page numbers,
    then the chapters in navigation order; each chapter's title runs in the page header.
    """
    from cwi.site.render import page_html, pandoc_cache

    chapters = report_chapters(settings)
    rels = {str(p.rel) for p in chapters}
    var_file = settings.root / "_variables.yml"
    v = load_yaml(var_file.read_text(encoding="utf-8")) if var_file.is_file() else {}
    meta = v.get("meta", {})
    parts, toc = [], []
    fragments = pandoc_cache(settings)
    for page in chapters:
        base = (settings.root / page.rel.parent).resolve()
        body = _rewrite_links(page_html(page, fragments), str(page.rel), rels, settings.site_url)
        body = _absolute_images(body, base)
        cid = _chapter_id(str(page.rel))
        # the contents link the chapters as pieces of their own (cwi.site.report_pdf)
        toc.append(
            f'<li><a href="{LINK_BASE}{cid}" data-target="#{cid}">{escape(page.title)}</a></li>'
        )
        parts.append(
            f'{MARK.format(cid)}<section class="chapter" id="{cid}"><h1 class="chapter-title">'
            f"{escape(page.title)}</h1>{body}</section>"
        )
    synthetic = meta.get("synthetic") == "yes"
    cover = (
        f'{MARK.format(FRONT)}<section class="cover" id="{FRONT}">'
        '<p class="kicker">Regional findings report</p>'
        f'<h1 class="cover-title">{escape(settings.title)}</h1>'
        f'<p class="cover-sub">{escape(md_plain(str(v.get("region", ""))))}, '
        f"{escape(str(v.get('snapshot', '')))}</p>"
        '<table class="cover-facts">'
        f"<tr><th>Date</th><td>{escape(str(meta.get('built', '')))}</td></tr>"
        f"<tr><th>Version</th><td>CWI {escape(str(meta.get('version', '')))} "
        f"(commit {escape(str(meta.get('commit', '')))})</td></tr>"
        f"<tr><th>Data</th><td>{escape(str(meta.get('data_kind', '')))}</td></tr>"
        f"<tr><th>Source</th><td>{escape(str(v.get('source', '')))}</td></tr>"
        "</table>"
        + (
            '<p class="cover-warning">Synthetic data: these figures describe generated '
            "children, not real ones. They show what the report will say, not findings.</p>"
            if synthetic
            else ""
        )
        + '<p class="cover-note">Nothing in this report identifies a child: small numbers are '
        "shown as [c]. Decile 1 = the most deprived 10% of neighbourhoods in England.</p>"
        "</section>"
        f'<section class="contents"><h1>Contents</h1><ol>{"".join(toc)}</ol></section>'
    )
    body, table_css = shared_table_styles("".join(parts))
    body, align_css = cell_alignments(body)
    css = print_css(settings.templates_dir) + (
        settings.templates_dir / "report_print.css"
    ).read_text(encoding="utf-8")
    # the tables' rules after the print styles, where each table's own stylesheet stood
    return (
        '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{escape(settings.title)}</title><style>{css}</style>"
        f"<style>{table_css}{align_css}</style></head><body>{cover}{body}</body></html>"
    )


#: A great_tables stylesheet: every rule scoped by the id of the table's wrapper.
_GT_STYLE = re.compile(
    r"<style[^>]*>(?P<css>(?:(?!</style>).)*?#(?P<id>[A-Za-z][\w-]*) table\b(?:(?!</style>).)*)"
    r"</style>",
    re.S,
)


def shared_table_styles(html: str) -> tuple[str, str]:
    """Replace each great_tables table's own stylesheet by one shared copy.

    great_tables writes about 60 rules per table, each scoped by the table's id (``#t1 .gt_title``);
    the report holds 15 such tables, so weasyprint matched every element against 15 copies of the
    same rules. Each wrapper gets the class ``gt-print`` instead and one copy of the rules is
    scoped by that class. The rules, their order and their relative specificity are unchanged
    (``#id .x`` and ``.gt-print .x`` both beat the print styles' element and one-class rules),
    so the tables look the same.

    Returns
    -------
    html, css : str
        The HTML without the per-table stylesheets, and the shared rules (empty if none).
    """
    shared: dict[str, None] = {}
    ids: list[str] = []

    def take(match: re.Match[str]) -> str:
        tid = match.group("id")
        scoped = re.compile(rf"#{re.escape(tid)}(?![\w-])")
        shared.setdefault(scoped.sub(".gt-print", match.group("css")), None)
        ids.append(tid)
        return ""

    html = _GT_STYLE.sub(take, html)
    for tid in ids:
        tag = re.compile(rf'<(\w+)(?P<attrs>[^>]*?)\sid="{re.escape(tid)}"(?P<rest>[^>]*)>')
        match = tag.search(html)
        if match is None:
            continue
        whole = match.group(0)
        if re.search(r'\sclass="', whole):
            new = re.sub(r'\sclass="', ' class="gt-print ', whole, count=1)
        else:
            new = whole[:-1] + ' class="gt-print">'
        html = html[: match.start()] + new + html[match.end() :]
    return html, "".join(shared)


#: A table cell whose only inline style is its alignment (great_tables and pandoc write these).
_ALIGNED_CELL = re.compile(
    r'<(?P<tag>td|th)(?P<pre>[^>]*?) style="text-align: ?(?P<align>left|right|center);?"'
    r"(?P<post>[^>]*)>"
)


def cell_alignments(html: str) -> tuple[str, str]:
    """Give table cells aligned by a ``style`` attribute a class instead, with one rule per side.

    The report's tables carry about 900 cells with ``style="text-align: right;"`` or ``left``.
    weasyprint parses every such attribute on its own and cannot share a computed style
    between two cells that have one, so it computes every property of every such cell again.
    The class rules are ``!important``: like the attribute they beat every other normal rule,
    and no rule in the print styles or the tables' stylesheets sets ``text-align`` as
    important, so each cell is aligned as before.

    Returns
    -------
    html, css : str
        The HTML with those cells classed, and the rules (empty if no cell was changed).
    """
    used: dict[str, None] = {}

    def repl(match: re.Match[str]) -> str:
        tag, pre, align, post = match.group("tag", "pre", "align", "post")
        cls = f"cwi-align-{align}"
        used.setdefault(align, None)
        attrs = pre + post
        if re.search(r'\sclass="', attrs):
            attrs = re.sub(r'\sclass="', f' class="{cls} ', attrs, count=1)
        elif attrs.endswith("/"):
            attrs = attrs[:-1] + f' class="{cls}"/'
        else:
            attrs += f' class="{cls}"'
        return f"<{tag}{attrs}>"

    html = _ALIGNED_CELL.sub(repl, html)
    css = "".join(f".cwi-align-{a} {{ text-align: {a} !important; }}" for a in used)
    return html, css


def _absolute_images(html: str, base: Path) -> str:
    import re

    def repl(match: re.Match[str]) -> str:
        src = match.group(1)
        if re.match(r"^[a-z]+:", src):
            return match.group(0)
        return f'src="{(base / src).resolve().as_uri()}"'

    return re.sub(r'src="([^"]+)"', repl, html)
