"""What data may put into a page: escaped text, YAML values, and the build's own files only.

Words from data sources (LA and region names, coding-scheme labels and definitions, interview
quotes, the report title) enter generated markdown as *text*: :func:`md_text` escapes every
character that markdown would read as markup (raw HTML, links, images, emphasis, attributes), so
``<script>`` shows as ``<script>`` and ``![x](../build/private/children.parquet)`` as those
characters. Generated markdown that is meant as markup (tables, figure blocks, links written by
the build) is marked with :class:`Markdown` and passes through unchanged.

Files: a page may show images only from the build's figure folders (:data:`FIGURE_FOLDERS`) and
may link only to pages, the downloads and the PDFs, never into ``build/`` or ``data/``. The PDF
renderer fetches through :class:`AssetFetcher`, which serves the same figure folders and nothing
else, so no ``file://`` outside them and no ``rel="attachment"`` can embed a private file.
"""

from __future__ import annotations

import html
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from markupsafe import Markup

#: Folders (relative to the project root) whose images pages and PDFs may show.
FIGURE_FOLDERS: tuple[str, ...] = (
    "report/_generated",
    "la_profiles/_generated",
)
IMAGE_SUFFIXES = frozenset({".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp"})
#: Top-level project folders no page may link into (private, inputs, outputs-in-progress).
PRIVATE_TOP = frozenset({"build", "data", "tests", "cwi", ".git", ".venv", "templates"})
LINK_SUFFIXES = frozenset({"", ".html", ".qmd", ".pdf", ".csv", ".xlsx", ".txt", ".json"})

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|$^~@&!])")
_MD_UNESCAPE = re.compile(r"\\([\\`*_{}\[\]<>#|$^~@&!])")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class Markdown(str):
    """Markdown written by the build itself (tables, figure blocks, links): not escaped again.

    A plain ``str`` subclass: joining it with other text gives plain ``str`` (escaped again if it
    reaches a template), so wrap the final block, not its parts.
    """


class UnsafeTargetError(ValueError):
    """A page points at a file outside the build's own published folders."""


def md_text(value: Any) -> str:
    """Escape a value from data so markdown shows it as plain text.

    Parameters
    ----------
    value : object
        Anything; :class:`Markdown` (and jinja2's ``Markup``) is returned as is.

    Returns
    -------
    str
        One line of text with markdown's markup characters backslash-escaped.
    """
    if isinstance(value, Markdown | Markup):
        return str(value)
    if value is None:
        return ""
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_plain(text: str) -> str:
    """Markdown text as plain text: undo :func:`md_text` and HTML entities (``&amp;`` -> ``&``).

    For places that show a title as plain text and autoescape it (the site shell), so a name
    escaped either way is shown once, not as ``&amp;``.
    """
    return html.unescape(_MD_UNESCAPE.sub(r"\1", str(text)))


def md_attr(value: Any) -> str:
    """A value for a quoted pandoc attribute (``alt="..."``): one line, quotes escaped."""
    text = " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace('"', '\\"')


def yaml_text(value: Any) -> Markup:
    """A YAML scalar (for front matter) holding the markdown-escaped text of ``value``."""
    dumped = yaml.safe_dump(md_text(value), allow_unicode=True, default_style='"', width=10_000)
    return Markup(dumped.strip().removesuffix("...").strip())


def front_matter(meta: dict[str, Any]) -> str:
    """YAML front matter block written with a YAML library (values markdown-escaped)."""
    clean = {k: md_text(v) if isinstance(v, str) else v for k, v in meta.items()}
    return "---\n" + yaml.safe_dump(clean, allow_unicode=True, sort_keys=False) + "---\n"


def md_finalize(value: Any) -> Any:
    """Jinja2 ``finalize`` for markdown templates: escape everything not marked as markup."""
    if isinstance(value, Markdown | Markup):
        return value
    if isinstance(value, bool | int | float):
        return value
    return md_text(value)


# ---- files ----------------------------------------------------------------------------------


def _is_local(target: str) -> bool:
    return not (_SCHEME.match(target) or target.startswith(("#", "//")))


def figure_file(target: str, page_dir: Path, root: Path) -> Path:
    """The file a page's image target names, if it lies in a figure folder; else raise.

    Parameters
    ----------
    target : str
        The ``src`` as written in the page (relative, no scheme).
    page_dir : Path
        Folder of the page source the target is relative to.
    root : Path
        Project root.

    Returns
    -------
    Path
        The resolved image file.

    Raises
    ------
    UnsafeTargetError
        If the target has a scheme, resolves outside every figure folder (``../``, symlinks) or
        is not an image.
    """
    if not _is_local(target):
        raise UnsafeTargetError(f"image {target!r} is not a file of this build")
    path = (page_dir / unquote(urlsplit(target).path)).resolve()
    return asset_check(path, root, f"image {target!r}")


def asset_check(
    path: Path, root: Path, what: str, extra: list[Path] | tuple[Path, ...] = ()
) -> Path:
    """Return ``path`` (resolved) if it is an image in :data:`FIGURE_FOLDERS` (or ``extra``)."""
    path = path.resolve()
    folders = [(root / f).resolve() for f in FIGURE_FOLDERS] + [Path(e).resolve() for e in extra]
    if path.suffix.lower() not in IMAGE_SUFFIXES or not any(
        path.is_relative_to(f) for f in folders
    ):
        raise UnsafeTargetError(
            f"{what} is outside the build's figure folders ({', '.join(FIGURE_FOLDERS)}); "
            "pages may show only the figures the build draws"
        )
    return path


def check_link(target: str, page_rel: PurePosixPath) -> None:
    """Refuse a local link that leaves the site or points into private or source folders.

    Parameters
    ----------
    target : str
        The ``href`` as written (local links only are checked).
    page_rel : PurePosixPath
        The page's path relative to the project (= site) root.

    Raises
    ------
    UnsafeTargetError
        If the link climbs out of the site, names a private folder or an unpublished file type.
    """
    if not _is_local(target):
        return
    path = unquote(urlsplit(target).path)
    if not path:
        return
    parts: list[str] = list(page_rel.parent.parts)
    for part in PurePosixPath(path).parts:
        if part == "..":
            if not parts:
                raise UnsafeTargetError(f"link {target!r} leaves the site")
            parts.pop()
        elif part not in (".", "/"):
            parts.append(part)
    if path.startswith("/") or (parts and parts[0] in PRIVATE_TOP):
        raise UnsafeTargetError(f"link {target!r} points into a private or source folder")
    if PurePosixPath(parts[-1] if parts else "").suffix.lower() not in LINK_SUFFIXES:
        raise UnsafeTargetError(f"link {target!r} is not a page, PDF or download")


_ATTACHMENT = re.compile(r"""\brel\s*=\s*(["']?)[^"'>]*attachment[^"'>]*\1""", re.IGNORECASE)


def strip_attachments(html: str) -> str:
    """Remove every ``rel="attachment"`` so weasyprint embeds no file in a PDF."""
    return _ATTACHMENT.sub("", html)


def asset_fetcher(root: Path, extra: list[Path] | tuple[Path, ...] = ()) -> Any:
    """A weasyprint URL fetcher serving only images in the build's figure folders (and ``extra``).

    Everything else (other ``file://`` paths, ``http(s)``, ``data:``) fails, which weasyprint
    reports as a missing resource and renders without it.
    """
    from weasyprint.urls import URLFetcher

    class AssetFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme != "file":
                raise UnsafeTargetError(f"{url} is not a file of this build")
            asset_check(Path(unquote(parts.path)), root, url, extra)
            return super().fetch(url, headers)

    return AssetFetcher(allowed_protocols=("file",), allow_redirects=False)
