"""Client-side search for the pandoc-built site: no server needed.

At build time the text of every page goes into ``search.json`` (one entry per page, the shape
Quarto's own ``search.json`` has: ``objectID``, ``href``, ``title``, ``section``, ``text``), and
``node`` builds a lunr index of it (``site_libs/search-index.json``, lunr from the npm registry,
pinned in ``package.json``). The search page loads both and queries in the browser.

The index holds only words of the published pages, which the leak scanner reads anyway; it reads
``search.json`` and the index as JSON like every other file of the site.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import lxml.html

log = logging.getLogger("cwi")

SEARCH_BODY = """<form id="search-form" class="search-form" role="search" action="search.html">
<label for="search-input">Search the site for a local authority, a measure or a word</label>
<input id="search-input" name="q" type="search" autocomplete="off">
<button type="submit">Search</button>
</form>
<p id="search-status" role="status" aria-live="polite"></p>
<ol id="search-results" class="search-results"></ol>
<noscript><p>Search runs in your browser and needs JavaScript.</p></noscript>
"""


def page_text(body_html: str) -> str:
    """Visible text of a page body, whitespace collapsed."""
    if not body_html.strip():
        return ""
    text = lxml.html.fromstring(f"<div>{body_html}</div>").text_content()
    return re.sub(r"\s+", " ", text).strip()


def search_documents(pages: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """One search entry per page from ``(href, title, body_html)``."""
    return [
        {"objectID": href, "href": href, "title": title, "section": "", "text": page_text(body)}
        for href, title, body in pages
    ]


def lunr_dir(root: Path) -> Path | None:
    """The npm-installed lunr package (``npm ci``), if present."""
    folder = root / "node_modules" / "lunr"
    return folder if (folder / "lunr.min.js").is_file() else None


def write_search(site: Path, root: Path, docs: list[dict[str, Any]]) -> bool:
    """Write ``search.json``, the lunr index and lunr itself; return whether search works.

    Without ``node`` or ``node_modules/lunr`` (run ``npm ci``) the search page says search is
    unavailable; the rest of the site is unaffected.
    """
    libs = site / "site_libs"
    libs.mkdir(parents=True, exist_ok=True)
    docs_path = site / "search.json"
    docs_path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
    lunr = lunr_dir(root)
    node = shutil.which("node")
    if lunr is None or node is None:
        log.warning("Site search not built: %s", "run `npm ci`" if node else "node not found")
        for stale in (libs / "search-index.json", libs / "lunr.min.js"):
            stale.unlink(missing_ok=True)
        return False
    shutil.copy2(lunr / "lunr.min.js", libs / "lunr.min.js")
    subprocess.run(
        [node, str(Path(__file__).with_name("search_index.js")), str(lunr), str(docs_path),
         str(libs / "search-index.json")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return True
