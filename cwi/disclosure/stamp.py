"""Stamp every output of an unsafe build "NOT FOR PUBLICATION".

A build whose thresholds are below the documented minimum (allowed only with
``disclosure.unsafe_allow_low_thresholds: true``) may show small counts. Every file a reader
could pass on carries the stamp: a banner at the top of each HTML page, a first line in each
CSV, a first row in each XLSX sheet (and the workbook title), and a red line across the top of
every PDF page (and the PDF title). Stamping is idempotent: a stamped file is left as it is.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from cwi.disclosure.symbols import NOT_FOR_PUBLICATION
from cwi.io import write_bytes

__all__ = ["is_stamped", "stamp_outputs"]

_BANNER_CLASS = "cwi-not-for-publication"


def _stamp_html(path: Path, stamp: str) -> None:
    from html import escape

    text = path.read_text(encoding="utf-8")
    if _BANNER_CLASS in text:
        return
    banner = (
        f'<div class="{_BANNER_CLASS}" role="alert" style="background:#d4351c;color:#fff;'
        'font-weight:bold;padding:0.5em 1em;text-align:center;">'
        f"{escape(stamp)}</div>"
    )
    match = re.search(r"<body[^>]*>", text, re.IGNORECASE)
    text = text[: match.end()] + banner + text[match.end() :] if match else banner + text
    write_bytes(path, text.encode("utf-8"))


def _stamp_csv(path: Path, stamp: str) -> None:
    data = path.read_bytes()
    if data.lstrip(b"\xef\xbb\xbf").startswith(f"# {NOT_FOR_PUBLICATION}".encode()):
        return
    line = f"# {stamp}\n".encode()
    write_bytes(path, line + data)


def _stamp_xlsx(path: Path, stamp: str) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    if (wb.properties.title or "").startswith(NOT_FOR_PUBLICATION):
        return
    wb.properties.title = stamp
    for ws in wb.worksheets:
        ws.insert_rows(1)
        ws.cell(row=1, column=1, value=stamp)
    buf = io.BytesIO()
    wb.save(buf)
    write_bytes(path, buf.getvalue())


def _stamp_pdf(path: Path, stamp: str) -> None:
    from pypdf import PdfReader, PdfWriter
    from weasyprint import HTML

    reader = PdfReader(path)
    if str((reader.metadata or {}).get("/Title", "")).startswith(NOT_FOR_PUBLICATION):
        return
    writer = PdfWriter(clone_from=reader)
    overlays: dict[tuple[float, float], object] = {}
    for page in writer.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        key = (round(w, 1), round(h, 1))
        if key not in overlays:
            html = (
                f"<style>@page{{size:{w}pt {h}pt;margin:0}}body{{margin:0}}"
                "div{background:#d4351c;color:#fff;font:bold 10pt sans-serif;padding:4pt;"
                "text-align:center}</style>"
                f"<div>{stamp}</div>"
            )
            overlays[key] = PdfReader(io.BytesIO(HTML(string=html).write_pdf())).pages[0]
        page.merge_page(overlays[key])
    meta = {k: v for k, v in (reader.metadata or {}).items() if isinstance(v, str)}
    meta["/Title"] = stamp
    writer.add_metadata(meta)
    buf = io.BytesIO()
    writer.write(buf)
    write_bytes(path, buf.getvalue())


def is_stamped(path: Path) -> bool:
    """True when an output file carries the "NOT FOR PUBLICATION" stamp."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return _BANNER_CLASS in path.read_text(encoding="utf-8")
    if suffix == ".csv":
        return (
            path.read_bytes()
            .lstrip(b"\xef\xbb\xbf")
            .startswith(b"# " + NOT_FOR_PUBLICATION.encode())
        )
    if suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            return (wb.properties.title or "").startswith(NOT_FOR_PUBLICATION)
        finally:
            wb.close()
    if suffix == ".pdf":
        from pypdf import PdfReader

        reader = PdfReader(path)
        title = str((reader.metadata or {}).get("/Title", ""))
        return title.startswith(NOT_FOR_PUBLICATION) and NOT_FOR_PUBLICATION in (
            reader.pages[0].extract_text() or ""
        )
    return True  # other files (images, scripts) carry no reader-facing text of their own


def stamp_outputs(folder: Path, stamp: str) -> int:
    """Stamp every HTML page, CSV, XLSX and PDF under ``folder``.

    Parameters
    ----------
    folder : Path
        The site folder (PDFs and downloads included).
    stamp : str
        The text, from :func:`cwi.disclosure.symbols.publication_stamp`.

    Returns
    -------
    int
        Number of files stamped or already stamped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    writers = {
        ".html": _stamp_html,
        ".htm": _stamp_html,
        ".csv": _stamp_csv,
        ".xlsx": _stamp_xlsx,
        ".pdf": _stamp_pdf,
    }
    n = 0
    for path in sorted(folder.rglob("*")):
        fn = writers.get(path.suffix.lower())
        if fn is None or not path.is_file() or "site_libs" in path.parts:
            continue
        fn(path, stamp)
        n += 1
    return n
