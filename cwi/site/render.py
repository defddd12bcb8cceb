"""Render the website with pandoc (pypandoc-binary) from the page sources Quarto would render.

This is the no-Quarto path of the build. It reads ``_quarto.yml`` for the render list and the
navigation, resolves the two shortcodes the page sources use as Quarto does (``var`` from the
generated ``_variables.yml``; ``fragment``, the project shortcode in ``_extensions/cwi/``, from
the generated fragment files), turns ``.qmd`` links into ``.html`` as Quarto does, converts each
page with pandoc and wraps it in one site shell. Images referenced by pages and the downloads are copied alongside.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path, PurePosixPath
from typing import Any

import pypandoc
import yaml

from cwi.config import Settings
from cwi.io import load_yaml, recover, staging_dir, swap_in
from cwi.site.cache import FragmentCache, atomic_write_bytes, cache_dir
from cwi.site.content import fragments_dir
from cwi.site.markdown import html_env
from cwi.site.safe import UnsafeTargetError, check_link, figure_file, md_plain

_FRAGMENT = re.compile(r"\{\{<\s*fragment\s+([\w./-]+)\s*>\}\}")
_VAR = re.compile(r"\{\{<\s*var\s+([\w.-]+)\s*>\}\}")
_QMD_LINK = re.compile(r"\]\(([^)\s]+?)\.qmd(#[^)]*)?\)")
_FIG_ALT = re.compile(r"\{fig-alt=")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
#: Page bodies are read without raw HTML: data that slipped past escaping still shows as text.
# Report pages: no raw HTML from text, but the build's own ```{=html} blocks (great_tables output)
# are read; data values are markdown-escaped at the source (cwi.site.safe.md_text escapes ` and {),
# so no data string can open such a block. Straight quotes, as in the PDFs.
PANDOC_FROM = "markdown-raw_html-raw_tex-smart"
#: LA pages are written by the autoescaped profile template as HTML blocks: raw HTML is theirs.
PANDOC_FROM_TEMPLATE = "markdown-raw_attribute-raw_tex-smart"


class RenderError(RuntimeError):
    """A page source cannot be rendered; the message names the file."""


@dataclass(frozen=True)
class Page:
    """One page source and where its HTML goes."""

    source: Path
    rel: PurePosixPath  # source path relative to the project root
    meta: dict[str, Any]
    body: str

    @property
    def output(self) -> PurePosixPath:
        """Output path relative to the site root."""
        return self.rel.with_suffix(".html")

    @property
    def title(self) -> str:
        """Page title from its front matter, as plain text (markdown escapes undone)."""
        return md_plain(str(self.meta.get("title", self.rel.stem)))


def load_project(root: Path) -> dict[str, Any]:
    """Read ``_quarto.yml``."""
    path = root / "_quarto.yml"
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RenderError(f"Cannot read {path}: {exc}") from exc


def render_list(project: dict[str, Any], root: Path) -> list[Path]:
    """Expand the project's ``render`` globs; files starting with ``_`` are skipped as in Quarto."""
    files: list[Path] = []
    for pattern in project["project"]["render"]:
        files += [m for m in sorted(root.glob(pattern)) if not m.name.startswith("_")]
    return list(dict.fromkeys(files))


def split_front_matter(text: str, source: Path) -> tuple[dict[str, Any], str]:
    """Split YAML front matter from a page source."""
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        raise RenderError(f"{source}: front matter is not closed with '---'.")
    meta = load_yaml(text[3:end]) or {}
    return meta, text[end + 4 :].lstrip("\n")


def resolve_shortcodes(text: str, variables: dict[str, Any], fragments: Path) -> str:
    """Resolve ``{{< var >}}`` and ``{{< fragment >}}`` as Quarto does.

    ``var`` looks a dotted key up in ``_variables.yml``; ``fragment NAME`` is replaced by the
    markdown file ``<fragments>/NAME.md`` (what ``_extensions/cwi/fragment.lua`` does in Quarto).
    Fragments hold final markdown (no shortcodes), so variables are resolved in the page text
    first and fragments are inserted after. ``{{< include >}}`` is not supported: Quarto expands
    it before the ``pre-render`` hook runs, so it cannot bring in generated content.
    """
    if re.search(r"\{\{<\s*include\s", text):
        raise RenderError(
            "{{< include >}} is not used in page sources: Quarto expands it before pre-render "
            "runs (quarto-dev/quarto-cli#12491). Use {{< fragment NAME >}}."
        )

    def var(match: re.Match[str]) -> str:
        value: Any = variables
        for key in match.group(1).split("."):
            if not isinstance(value, dict) or key not in value:
                raise RenderError(f"Quarto variable {match.group(1)!r} is not in _variables.yml.")
            value = value[key]
        return str(value)

    def fragment(match: re.Match[str]) -> str:
        path = fragments / f"{match.group(1)}.md"
        if not path.is_file():
            raise RenderError(
                f"Fragment {match.group(1)!r} not found in {fragments}. Run `cwi pre-render` first."
            )
        return path.read_text(encoding="utf-8")

    return _FRAGMENT.sub(fragment, _VAR.sub(var, text))


def to_pandoc_markdown(text: str) -> str:
    """Quarto-only syntax to plain pandoc: ``.qmd`` links to ``.html``, ``fig-alt`` to ``alt``.

    HTML comments are dropped (the body is read without raw HTML, so they would show as text).
    """
    text = _QMD_LINK.sub(lambda m: f"]({m.group(1)}.html{m.group(2) or ''})", text)
    return _FIG_ALT.sub("{alt=", _COMMENT.sub("", text))


def load_pages(
    settings: Settings, only: Iterable[str] | None = None
) -> tuple[dict[str, Any], list[Page], dict[str, Any]]:
    """Read the project, its variables and every page in its render list.

    ``only`` restricts it to the pages named (paths relative to the project root).
    """
    root = settings.root
    project = load_project(root)
    var_file = root / "_variables.yml"
    variables = load_yaml(var_file.read_text(encoding="utf-8")) if var_file.is_file() else {}
    fragments = fragments_dir(settings)
    pages = []
    keep = set(only) if only is not None else None
    for source in render_list(project, root):
        if keep is not None and source.relative_to(root).as_posix() not in keep:
            continue
        meta, body = split_front_matter(source.read_text(encoding="utf-8"), source)
        meta = {
            k: resolve_shortcodes(v, variables, fragments) if isinstance(v, str) else v
            for k, v in meta.items()
        }
        body = resolve_shortcodes(body, variables, fragments)
        pages.append(Page(source, PurePosixPath(source.relative_to(root).as_posix()), meta, body))
    return project, pages, variables


def _from_template(page: Page) -> bool:
    """Whether a page's raw HTML is the build's own, escaped at the source.

    LA pages come from the HTML-autoescaped profile template.
    """
    return page.rel.parts[0] == "la_profiles" and page.rel.name != "index.qmd"


_TEMPLATE_MARK = "<!-- cwi: autoescaped template page -->\n"


def _reader(markdown: str) -> tuple[str, str]:
    """Pandoc's input format for ``markdown`` and the text to hand it (the page mark removed).

    Raw HTML is read only in pages marked as the profile template's.
    """
    if markdown.startswith(_TEMPLATE_MARK):
        return PANDOC_FROM_TEMPLATE, markdown[len(_TEMPLATE_MARK) :]
    return PANDOC_FROM, markdown


def _pandoc(markdown: str) -> str:
    """Pandoc to HTML; raw HTML is read only in pages marked as the profile template's."""
    fmt, text = _reader(markdown)
    return pypandoc.convert_text(text, "html5", format=fmt, extra_args=["--wrap=none"])


#: Lua program converting many documents in one pandoc process (see :func:`pandoc_many`).
BATCH_SCRIPT = Path(__file__).with_name("pandoc_batch.lua")
#: GHC runtime options of the batch process: a larger allocation area halves its garbage
#: collection (about 40% less CPU per LA page); the output does not depend on them.
BATCH_RTS = ("+RTS", "-A64m", "-RTS")


def _batchable(markdown: str) -> bool:
    # the command line turns tabs into spaces and drops carriage returns before reading;
    # pandoc.read in Lua does neither, so such text goes through the command line
    return "\t" not in markdown and "\r" not in markdown


#: Pages at or above which the batch is split over two pandoc processes (one per core).
BATCH_SPLIT_MIN = 8


def _split(sizes: list[int], parts: int) -> list[list[int]]:
    """Indices of ``sizes`` dealt into ``parts`` groups of about equal total size, in order."""
    groups: list[list[int]] = [[] for _ in range(parts)]
    load = [0] * parts
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        g = load.index(min(load))
        groups[g].append(i)
        load[g] += sizes[i]
    return [sorted(g) for g in groups if g]


def _run_batches(jobs: list[dict[str, str]]) -> list[tuple[list[int], list[str]]]:
    """Run ``jobs`` in one pandoc batch, or two side by side when there are many and two cores.

    Returns (indices into ``jobs``, their HTML) of every batch that succeeded; the pages of a
    batch that failed are left to the caller (one pandoc run each).
    """
    parts = 2 if len(jobs) >= BATCH_SPLIT_MIN and (os.cpu_count() or 1) >= 2 else 1
    groups = _split([len(j["text"]) for j in jobs], parts)

    def run(group: list[int]) -> list[str] | None:
        part = [jobs[i] for i in group]
        return _run_batch(part, rts=True) or _run_batch(part, rts=False)

    if len(groups) == 1:
        results = [run(groups[0])]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(groups)) as pool:  # each thread waits on its own pandoc
            results = list(pool.map(run, groups))
    return [(g, html) for g, html in zip(groups, results, strict=True) if html is not None]


def _run_batch(jobs: list[dict[str, str]], rts: bool) -> list[str] | None:
    command = [pypandoc.get_pandoc_path(), *(BATCH_RTS if rts else ()), "lua", str(BATCH_SCRIPT)]
    try:
        proc = subprocess.run(
            command, input=json.dumps(jobs).encode("utf-8"), capture_output=True, check=False
        )
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    try:
        out = json.loads(proc.stdout.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(out, list) or len(out) != len(jobs):
        return None
    if not all(isinstance(x, str) for x in out):
        return None
    return [x + "\n" for x in out]  # the command line ends its output with a newline


def pandoc_many(markdowns: list[str]) -> list[str]:
    """:func:`_pandoc` of each markdown text, all in one pandoc process.

    Starting pandoc and growing its heap costs about as much as converting one LA page; one
    process converts every page with the same readers, writer and options, so each HTML is the
    same as :func:`_pandoc` gives (tested on every page of a demo build). Text with tabs or
    carriage returns, and every page when the batch fails (a pandoc without ``pandoc lua`` or
    without runtime options, a page pandoc refuses), go through :func:`_pandoc` one by one, so
    an error names its page as before.
    """
    out: list[str | None] = [None] * len(markdowns)
    todo = [i for i, md in enumerate(markdowns) if _batchable(md)]
    if len(todo) > 1:
        jobs = []
        for i in todo:
            fmt, text = _reader(markdowns[i])
            jobs.append({"from": fmt, "text": text})
        for part, html in _run_batches(jobs):
            for k, h in zip(part, html, strict=True):
                out[todo[k]] = h
    return [h if h is not None else _pandoc(md) for h, md in zip(out, markdowns, strict=True)]


def _page_markdown(page: Page) -> str:
    markdown = to_pandoc_markdown(page.body)
    return _TEMPLATE_MARK + markdown if _from_template(page) else markdown


def pages_html(pages: list[Page], cache: FragmentCache | None = None) -> list[str]:
    """:func:`page_html` of many pages; the ones not in ``cache`` converted in one process."""
    sources = [_page_markdown(p) for p in pages]
    done: dict[int, str] = {}
    if cache is not None:
        for i, source in enumerate(sources):
            hit = cache.get(source)
            if hit is not None:
                done[i] = hit
    todo = [i for i in range(len(pages)) if i not in done]
    try:
        html = pandoc_many([sources[i] for i in todo])
    except RuntimeError:
        html = [page_html(pages[i]) for i in todo]  # raises RenderError naming the page
    for i, h in zip(todo, html, strict=True):
        done[i] = h
        if cache is not None:
            cache.put(sources[i], h)
    return [done[i] for i in range(len(pages))]


def page_html(page: Page, cache: FragmentCache | None = None) -> str:
    """A page's body as an HTML fragment (pandoc), shared by the site and the report PDF.

    Report pages and fragments are read without raw HTML; LA pages, which the profile template
    writes as autoescaped HTML blocks, with it. With a ``cache``, pandoc runs only when the
    exact markdown handed to it (or the code version) changed since a previous build.
    """
    markdown = _page_markdown(page)
    try:
        return cache.get_or_render(markdown, _pandoc) if cache else _pandoc(markdown)
    except RuntimeError as exc:
        raise RenderError(f"pandoc failed on {page.rel}: {exc}") from exc


def pandoc_cache(settings: Settings) -> FragmentCache:
    """The build's cache of pandoc HTML, by content hash of the markdown."""
    return FragmentCache(cache_dir(settings.build_dir) / "pandoc")


def navigation(project: dict[str, Any], pages: list[Page]) -> list[dict[str, Any]]:
    """Navbar entries (text, href relative to the site root, children) from ``_quarto.yml``."""
    titles = {str(p.rel): p.title for p in pages}

    def entry(item: Any) -> dict[str, Any]:
        if isinstance(item, str):
            item = {"href": item}
        if "menu" in item:
            return {
                "text": item.get("text", ""),
                "href": None,
                "children": [entry(i) for i in item["menu"]],
            }
        href = str(item["href"])
        target = PurePosixPath(href)
        return {
            "text": item.get("text") or titles.get(href, href),
            "href": str(target.with_suffix(".html") if target.suffix == ".qmd" else target),
            "children": [],
        }

    nav = project.get("website", {}).get("navbar", {})
    return [entry(i) for i in nav.get("left", []) + nav.get("right", [])]


_TABLE = re.compile(r"<table\b.*?</table>", re.DOTALL)
_HEADING = re.compile(r"<h[2-6][^>]*>(.*?)</h[2-6]>", re.DOTALL)
_CAPTION = re.compile(r"<caption[^>]*>(.*?)</caption>", re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_OWN_REGION = re.compile(r'<div[^>]*class="(?:table-scroll|table-wrap)"[^>]*>\s*\Z')


def wrap_tables(html: str) -> str:
    """Put every table in a focusable, labelled region that scrolls sideways on its own.

    The label is the table's caption, else the heading before it (made unique on the page), so
    keyboard and screen-reader users can reach and name each scrollable table.
    """
    out, last, used = [], 0, {}
    for n, match in enumerate(_TABLE.finditer(html), start=1):
        table = match.group(0)
        if _OWN_REGION.search(html, max(0, match.start() - 400), match.start()):
            continue  # already in its own scrolling region (LA profile tables)
        caption = _CAPTION.search(table)
        headings = _HEADING.findall(html, 0, match.start())
        label = caption.group(1) if caption else (headings[-1] if headings else f"Table {n}")
        label = re.sub(r"\s+", " ", _TAGS.sub("", label)).strip() or f"Table {n}"
        used[label] = used.get(label, 0) + 1
        if used[label] > 1:
            label = f"{label} ({used[label]})"
        if not label.lower().startswith("table"):
            label = f"Table: {label}"
        out.append(html[last : match.start()])
        out.append(
            f'<div class="table-wrap" role="region" tabindex="0" aria-label="{escape(label)}">'
            f"{table}</div>"
        )
        last = match.end()
    out.append(html[last:])
    return "".join(out)


def _relative(target: str, page: PurePosixPath) -> str:
    depth = len(page.parent.parts)
    return "../" * depth + target


def _copy_images(html: str, page: Page, root: Path, site: Path) -> None:
    """Copy a page's images into the site: only files in the build's figure folders."""
    for src in re.findall(r'<img[^>]+src="([^"]+)"', html):
        try:
            origin = figure_file(src, root / page.rel.parent, root)
        except UnsafeTargetError as exc:
            raise RenderError(f"{page.rel}: {exc}; the page is not rendered.") from exc
        if not origin.is_file():
            raise RenderError(f"{page.rel}: image {src} does not exist.")
        dest = site / origin.relative_to(root.resolve())
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, dest)


def _check_links(html: str, page: Page) -> None:
    """Refuse links out of the site or into private folders (Quarto would copy their files)."""
    for href in re.findall(r'<a[^>]+href="([^"]+)"', html):
        try:
            check_link(href, page.rel)
        except UnsafeTargetError as exc:
            raise RenderError(f"{page.rel}: {exc}; the page is not rendered.") from exc


#: Files of the site shell copied from ``templates/`` (source name, path in the site).
SHELL_ASSETS = (
    ("site.css", "site_libs/site.css"),
    ("site.js", "site_libs/site.js"),
    ("search.js", "site_libs/search.js"),
    ("favicon.svg", "favicon.svg"),
)
SEARCH_PAGE = PurePosixPath("search.html")


def _page_nav(nav: list[dict[str, Any]], output: PurePosixPath) -> list[dict[str, Any]]:
    """Navigation hrefs relative to one page, with the current page marked."""

    def one(item: dict[str, Any]) -> dict[str, Any]:
        href = item["href"]
        return {
            **item,
            "href": _relative(href, output) if href else None,
            "current": href == str(output),
            "children": [one(c) for c in item["children"]],
        }

    return [one(n) for n in nav]


def render_site(settings: Settings, only: Iterable[str] | None = None) -> list[Path]:
    """Render every page of the project (or ``only`` those named) into ``settings.site_dir``.

    Besides the pages: the shell's CSS, script and favicon, every table in a scrollable region,
    a search page with its index (:mod:`cwi.site.search`) and the downloads.

    Returns
    -------
    list of Path
        The HTML files written.
    """
    final = settings.site_dir
    recover(final, where=settings.build_dir)
    site = staging_dir(final, where=settings.build_dir)  # rendered aside, swapped in when done
    try:
        if only and final.is_dir():  # a partial render starts from the current site
            shutil.copytree(final, site, dirs_exist_ok=True, symlinks=True)
        written = _render_into(settings, site, only)
        _keep_pdfs(settings, site)
    except BaseException:
        shutil.rmtree(site, ignore_errors=True)  # the previous site stays as it was
        raise
    swap_in(site, final)
    return [final / p.relative_to(site) for p in written]


def _keep_pdfs(settings: Settings, site: Path) -> None:
    """Carry the current PDFs into a new site that holds them (the PDF stage then redoes them)."""
    pdf, final = settings.pdf_dir, settings.site_dir
    if pdf.is_dir() and pdf.resolve().is_relative_to(final.resolve()):
        shutil.copytree(pdf, site / pdf.resolve().relative_to(final.resolve()), dirs_exist_ok=True)


def _render_into(settings: Settings, site: Path, only: Iterable[str] | None) -> list[Path]:
    """Render every page, the shell assets, search and downloads into the folder ``site``."""
    from cwi.site.search import SEARCH_BODY, search_documents, write_search

    root = settings.root
    project, pages, variables = load_pages(settings, only)
    nav = navigation(project, pages) + [
        {"text": "Search", "href": str(SEARCH_PAGE), "children": []}
    ]
    website = project.get("website", {})
    shell = html_env(settings.templates_dir).get_template("site_page.html.j2")
    site.mkdir(parents=True, exist_ok=True)
    for name, dest in SHELL_ASSETS:
        (site / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(settings.templates_dir / name, site / dest)

    def write(output: PurePosixPath, title: str, subtitle: str, body: str) -> Path:
        html = shell.render(
            title=title,
            subtitle=subtitle,
            site_title=website.get("title", ""),
            body=body,
            nav=_page_nav(nav, output),
            home=_relative("index.html", output),
            css=_relative("site_libs/site.css", output),
            js=_relative("site_libs/site.js", output),
            favicon=_relative("favicon.svg", output),
            footer=website.get("page-footer", {}),
        )
        out = site / output
        out.parent.mkdir(parents=True, exist_ok=True)
        data = html.encode("utf-8")
        if not (out.is_file() and out.read_bytes() == data):  # unchanged pages keep their file
            atomic_write_bytes(out, data)
        return out

    written, docs = [], []
    fragments = pandoc_cache(settings)
    for page, body_html in zip(pages, pages_html(pages, fragments), strict=True):
        _check_links(body_html, page)
        _copy_images(body_html, page, root, site)
        subtitle = md_plain(str(page.meta.get("subtitle", "")))
        written.append(write(page.output, page.title, subtitle, wrap_tables(body_html)))
        docs.append((str(page.output), page.title, body_html))
    searchable = write_search(site, root, search_documents(docs))
    search_body = SEARCH_BODY + (
        '<script src="site_libs/lunr.min.js"></script>\n'
        '<script src="site_libs/search.js" data-root=""></script>\n'
        if searchable
        else "<p>Search is not available in this copy of the site (it was built without "
        "<code>npm ci</code>).</p>\n"
    )
    written.append(write(SEARCH_PAGE, "Search", "", search_body))
    downloads = root / "downloads"
    if (site / "downloads").is_dir():
        shutil.rmtree(site / "downloads")  # no stale file of an earlier build is published
    if downloads.is_dir():
        shutil.copytree(downloads, site / "downloads")
    return written
