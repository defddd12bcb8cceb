"""The report PDF, laid out piece by piece: only the chapters whose HTML changed are laid out again.

Laying out the whole report (about 36 pages, 15 tables) takes weasyprint about 5 s of CPU; after
an edit to one chapter's text only that chapter's pages can differ. So the report's print HTML
(:func:`cwi.site.pdf.report_html`) is cut into pieces at markers it carries (``<!--cwi-piece:ID-->``:
the front matter - cover and contents - and one piece per chapter). Every chapter starts on a new
page, so a piece is laid out the same alone as in the whole document; only what depends on the
other pieces differs, and each piece is given that as literal values:

* the page numbers: the piece's first page number (``counter-reset: page``) and the total pages
  ("Page X of N" in the footer);
* the contents' page numbers (the front matter only);
* links to other pieces: written as ``https://report.cwi.invalid/#<anchor>`` (an external link
  weasyprint keeps whatever piece it is in) and turned into internal links to the named
  destination when the pieces are joined (:func:`join_pieces`).

Each piece's PDF is cached under ``<build_dir>/cache/report-pdf/`` keyed by that piece's whole
standalone HTML (:func:`cwi.site.cache.html_key`: its text with those literal values, the files
it shows, the code version) and trusted only if its bytes still have the digest recorded when it
was written. Page counts are recorded by the piece's HTML without the page numbers: after an edit
the edited chapter is laid out with the numbers of the last build and, if its page count changed,
the pieces whose numbers changed are laid out again (in practice all of them, as the total changed).

When a page count is not known (first build, a cleared cache) or most pieces changed (new code or
styles), the whole document is laid out at once, exactly as before, and then written out piece by
piece (:meth:`weasyprint.Document.copy`) for the cache: no piece is laid out twice.

The joined PDF keeps the whole document's pages, text, outline (bookmarks), internal links,
metadata and fonts (DejaVu only); each piece embeds its own subset of the fonts, so the file is a
little larger.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cwi.site.cache import atomic_write_bytes, file_digest, html_key

log = logging.getLogger(__name__)

#: Marker before each piece of the report's print HTML.
MARK = "<!--cwi-piece:{}-->"
_MARK = re.compile(r"<!--cwi-piece:([\w-]+)-->")
#: Links to other pieces are written to this (reserved, never resolvable) host until joined.
LINK_BASE = "https://report.cwi.invalid/#"
#: The front piece (cover and contents).
FRONT = "front"
#: A piece's first element carries ``id`` = its id; the contents link with ``data-target``.
_TOC_TARGET = re.compile(r'data-target="#([\w-]+)"')
_ID = re.compile(r'\sid="([^"]+)"')
_HREF_FRAG = re.compile(r'href="#([^"]+)"')


@dataclass
class Piece:
    """One piece of the report: its id and its body HTML."""

    pid: str
    body: str


@dataclass
class Report:
    """The report's print HTML cut into pieces: ``head + pieces + tail`` is the whole document."""

    head: str
    pieces: list[Piece]
    tail: str

    def whole(self) -> str:
        """The whole document (every piece, markers kept, links to other pieces unchanged)."""
        return self.head + "".join(MARK.format(p.pid) + p.body for p in self.pieces) + self.tail


@dataclass
class Stats:
    """What one report render did: how (``pieces``, ``whole`` or ``single``) and what it laid out."""

    mode: str = "pieces"
    laid_out: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    passes: int = 0


def whole_document(html: str) -> str:
    """The report's print HTML as one document: links to other pieces as internal links."""
    return html.replace(f'href="{LINK_BASE}', 'href="#')


def split_report(html: str) -> Report | None:
    """Cut the report's print HTML at its piece markers (None if it has none)."""
    marks = list(_MARK.finditer(html))
    if not marks:
        return None
    end = html.rindex("</body>")
    pieces = []
    for i, m in enumerate(marks):
        stop = marks[i + 1].start() if i + 1 < len(marks) else end
        pieces.append(Piece(m.group(1), html[m.end() : stop]))
    report = Report(html[: marks[0].start()], pieces, html[end:])
    return _link_across(report)


def _link_across(report: Report) -> Report:
    """Write each link to an anchor of another piece as a link to :data:`LINK_BASE`."""
    out = []
    for piece in report.pieces:
        own = set(_ID.findall(piece.body))

        def repl(m: re.Match[str], own: set[str] = own) -> str:
            return m.group(0) if m.group(1) in own else f'href="{LINK_BASE}{m.group(1)}"'

        out.append(Piece(piece.pid, _HREF_FRAG.sub(repl, piece.body)))
    return Report(report.head, out, report.tail)


def piece_html(report: Report, piece: Piece, first: int, total: int, toc: dict[str, int]) -> str:
    """The standalone document of one piece: its pages numbered ``first``.. of ``total``.

    ``toc`` gives the first page of each piece (the contents' page numbers).
    """
    # The body's own margins lie at the start of the first piece and the end of the last only.
    edges = ("" if piece is report.pieces[0] else "margin-top: 0;") + (
        "" if piece is report.pieces[-1] else "margin-bottom: 0;"
    )
    style = (
        '<style>@page { @bottom-right { content: "Page " counter(page) " of '
        f'{total}"; }} }} @page :first {{ counter-reset: page {first}; }}'
        ".contents a::after { content: leader('.') attr(data-page); }"
        f"body {{ {edges} }}</style>"
    )
    body = _TOC_TARGET.sub(
        lambda m: f'{m.group(0)} data-page="{toc.get(m.group(1), "")}"', piece.body
    )
    head = report.head.replace("</head>", style + "</head>", 1)
    return head + MARK.format(piece.pid) + body + report.tail


def _layout_key(report: Report, piece: Piece) -> str:
    """Key of what decides a piece's page count (its HTML without the page numbers).

    Figures are named by absolute ``file://`` URIs (their bytes are part of the key), so the
    base URL decides nothing here.
    """
    return html_key(report.head + piece.body + report.tail, "report-piece-layout")


class PieceCache:
    """The cached piece PDFs and the record of their keys, digests and page counts.

    Parameters
    ----------
    folder : Path
        ``<build_dir>/cache/report-pdf``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.record_path = self.folder / "record.json"
        try:
            data = json.loads(self.record_path.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            data = {}
        #: piece id -> {"key", "digest", "file"} of its last PDF
        self.pdfs: dict[str, dict[str, str]] = data.get("pdfs", {})
        #: layout key -> page count
        self.pages: dict[str, int] = data.get("pages", {})
        #: piece id -> its page count in the last build (a guess for an edited piece)
        self.last: dict[str, int] = data.get("last", {})

    def path(self, pid: str, key: str) -> Path:
        """Where the piece's PDF of this key is kept."""
        return self.folder / f"{pid}-{key[:24]}.pdf"

    def fresh(self, pid: str, key: str) -> Path | None:
        """The cached PDF of this piece and key if it is on disk unchanged, else None."""
        entry = self.pdfs.get(pid)
        if entry is None or entry.get("key") != key:
            return None
        path = self.folder / entry["file"]
        return path if file_digest(path) == entry.get("digest") else None

    def put(self, pid: str, key: str, data: bytes) -> Path:
        """Write a piece's PDF (atomically) and note it."""
        path = self.path(pid, key)
        atomic_write_bytes(path, data)
        self.pdfs[pid] = {"key": key, "digest": file_digest(path) or "", "file": path.name}
        return path

    def save(self, pids: list[str]) -> None:
        """Write the record atomically, keeping only ``pids``; delete unrecorded PDFs."""
        self.pdfs = {p: e for p, e in self.pdfs.items() if p in pids}
        data = {"pdfs": self.pdfs, "pages": self.pages, "last": self.last}
        atomic_write_bytes(self.record_path, json.dumps(data, indent=1, sort_keys=True).encode())
        keep = {e["file"] for e in self.pdfs.values()} | {self.record_path.name}
        for old in self.folder.glob("*.pdf"):
            if old.name not in keep:
                old.unlink(missing_ok=True)


def _numbers(pids: list[str], counts: dict[str, int]) -> tuple[dict[str, int], int]:
    first, page = {}, 1
    for pid in pids:
        first[pid] = page
        page += counts[pid]
    return first, page - 1


def render_report(
    html: str,
    out: Path,
    folder: Path,
    render: Callable[[str], Any],
    options: dict[str, Any] | None = None,
) -> Stats:
    """Write the report PDF ``out``, laying out only the pieces not cached in ``folder``.

    Parameters
    ----------
    html : str
        The report's print HTML (:func:`cwi.site.pdf.report_html`); without piece markers it is
        written as one document.
    out : Path
        The PDF to write.
    folder : Path
        The piece cache (``<build_dir>/cache/report-pdf``).
    render : callable
        ``render(html) -> weasyprint.Document`` (base URL and URL fetcher bound).
    options : dict, optional
        Passed to ``write_pdf``.

    Returns
    -------
    Stats
        What was laid out and what was reused.
    """
    options = dict(options or {})
    report = split_report(html)
    if report is None:
        atomic_write_bytes(out, render(html).write_pdf(**options))
        return Stats(mode="single", passes=1)
    cache = PieceCache(folder)
    pids = [p.pid for p in report.pieces]
    layout = {p.pid: _layout_key(report, p) for p in report.pieces}
    stats = Stats()
    started = time.process_time()
    for _ in range(3):
        counts = {}
        for pid in pids:
            known = cache.pages.get(layout[pid])
            counts[pid] = known if known is not None else cache.last.get(pid, 0)
        unknown = [pid for pid in pids if layout[pid] not in cache.pages]
        if any(counts[pid] <= 0 for pid in pids) or len(unknown) > len(pids) // 2:
            paths = _render_whole(report, cache, layout, render, options, stats)
            break
        first, total = _numbers(pids, counts)
        docs = {p.pid: piece_html(report, p, first[p.pid], total, first) for p in report.pieces}
        keys = {pid: html_key(docs[pid], "report-piece") for pid in pids}
        paths, changed = {}, False
        for pid in pids:
            hit = cache.fresh(pid, keys[pid])
            if hit is not None:
                paths[pid] = hit
                stats.reused.append(pid)
                continue
            doc = render(docs[pid])
            stats.laid_out.append(pid)
            cache.pages[layout[pid]] = len(doc.pages)
            if len(doc.pages) != counts[pid]:
                changed = True  # numbers of the later pieces (and the total) were wrong
                break
            paths[pid] = cache.put(pid, keys[pid], doc.write_pdf(**options))
        stats.passes += 1
        if not changed:
            break
    else:  # the counts kept changing: lay the whole document out once
        paths = _render_whole(report, cache, layout, render, options, stats)
    for pid in pids:
        cache.last[pid] = cache.pages[layout[pid]]
    live = set(layout.values())
    cache.pages = {k: n for k, n in cache.pages.items() if k in live}
    laid_out = time.process_time()
    join_pieces([paths[pid] for pid in pids], out)
    cache.save(pids)
    log.info(
        "report PDF: %s, %d pass(es); laid out %s; reused %d piece(s); CPU %.2f s, join %.2f s",
        stats.mode,
        stats.passes,
        ", ".join(stats.laid_out) or "nothing",
        len(stats.reused),
        laid_out - started,
        time.process_time() - laid_out,
    )
    return stats


def _render_whole(
    report: Report,
    cache: PieceCache,
    layout: dict[str, str],
    render: Callable[[str], Any],
    options: dict[str, Any],
    stats: Stats,
) -> dict[str, Path]:
    """Lay out the whole document once and write each piece's pages as that piece's PDF."""
    doc = render(report.whole())
    stats.mode, stats.passes = "whole", stats.passes + 1
    pids = [p.pid for p in report.pieces]
    starts = {}
    for i, page in enumerate(doc.pages):
        for pid in pids:
            if pid not in starts and pid in page.anchors:
                starts[pid] = i
    if sorted(starts.values()) != [starts.get(pid) for pid in pids] or starts.get(pids[0]) != 0:
        raise ValueError(f"report pieces not found in page order: {starts}")
    bounds = [starts[pid] for pid in pids] + [len(doc.pages)]
    counts = {pid: bounds[i + 1] - bounds[i] for i, pid in enumerate(pids)}
    first, total = _numbers(pids, counts)
    paths = {}
    for i, piece in enumerate(report.pieces):
        pid = piece.pid
        key = html_key(piece_html(report, piece, first[pid], total, first), "report-piece")
        part = doc.copy(doc.pages[bounds[i] : bounds[i + 1]])
        paths[pid] = cache.put(pid, key, part.write_pdf(**options))
        cache.pages[layout[pid]] = counts[pid]
        stats.laid_out.append(pid)
    return paths


def join_pieces(paths: list[Path], out: Path) -> None:
    """Join piece PDFs into ``out``: pages, outline, named destinations, links, metadata.

    Links to :data:`LINK_BASE` become internal links to the named destination; where two pieces
    name the same anchor, the first one counts (as weasyprint does within one document).
    """
    from io import BytesIO

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    dests: dict[str, ArrayObject] = {}
    for path in paths:
        reader = PdfReader(path)
        start = len(writer.pages)
        writer.append(reader, import_outline=True)
        catalog = reader.trailer["/Root"]
        names = catalog.get("/Names")
        tree = names.get_object().get("/Dests") if names is not None else None
        pairs = tree.get_object().get("/Names", []) if tree is not None else []
        index = {p.indirect_reference.idnum: i for i, p in enumerate(reader.pages)}
        for name, dest in zip(pairs[::2], pairs[1::2], strict=True):
            dest = dest.get_object()
            page_no = index[dest[0].idnum]
            if str(name) not in dests:
                target = writer.pages[start + page_no].indirect_reference
                dests[str(name)] = ArrayObject([target, *dest[1:]])
        if path == paths[0]:
            writer.add_metadata(dict(reader.metadata or {}))
            if "/Lang" in catalog:
                writer._root_object[NameObject("/Lang")] = catalog["/Lang"]
    for page in writer.pages:
        annots = page.get("/Annots")
        if annots is None:
            continue
        annots = annots.get_object()
        for ref in list(annots):
            annot = ref.get_object()
            action = annot.get("/A")
            uri = str(action.get_object().get("/URI", "")) if action is not None else ""
            if not uri.startswith(LINK_BASE):
                continue
            name = uri[len(LINK_BASE) :]
            if name in dests:
                del annot[NameObject("/A")]
                annot[NameObject("/Dest")] = TextStringObject(name)
            else:  # no such anchor in the report: no link (weasyprint drops those too)
                annots.remove(ref)
    tree = ArrayObject()
    for name in sorted(dests):
        tree += [TextStringObject(name), dests[name]]
    root = writer._root_object
    names_dict = DictionaryObject(
        {NameObject("/Dests"): DictionaryObject({NameObject("/Names"): tree})}
    )
    root[NameObject("/Names")] = writer._add_object(names_dict)
    buffer = BytesIO()
    writer.write(buffer)
    atomic_write_bytes(out, buffer.getvalue())
