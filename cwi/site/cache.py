"""Incremental rendering: skip pandoc and weasyprint when what they would be handed is unchanged.

Two small caches, both kept under ``<build_dir>/cache/`` (never in the published site):

* :class:`FragmentCache` is content-addressed: a page's pandoc HTML is stored under the hash of
  the exact markdown handed to pandoc plus the code version (:mod:`cwi.fingerprint`). An edited
  chapter has a new hash and goes through pandoc again; every other page is read back from its
  file.
* :class:`OutputCache` records, for each output file (an LA's PDF, the report PDF), the hash of
  what produced it (the exact HTML handed to weasyprint, the local files it references, the code
  version) and the hash of the file written. An output is fresh only when both still match: a
  changed template, figure or text, a deleted or altered output, or a new code version all render
  it again.

Every file is written atomically (temporary file in the same folder, then a rename), so an
interrupted build never leaves a half-written output or record that a later build would trust.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import unquote, urlparse

from cwi.fingerprint import code_version, content_key, file_digest
from cwi.io import write_bytes

__all__ = [
    "FragmentCache",
    "OutputCache",
    "atomic_write_bytes",
    "cache_dir",
    "code_version",
    "content_key",
    "file_digest",
    "html_key",
    "local_files",
]

_LOCAL_REF = re.compile(r'(?:src|href)="(file://[^"]+)"')

#: Every cache file is written atomically (temporary file beside it, then a rename).
atomic_write_bytes = write_bytes


def local_files(html: str) -> list[Path]:
    """Local files an HTML document references by ``file://`` URI (figures, stylesheets)."""
    out = []
    for uri in _LOCAL_REF.findall(html):
        out.append(Path(unquote(urlparse(uri).path)))
    return sorted(set(out))


def html_key(html: str, *extra: str) -> str:
    """Key of an HTML document handed to a renderer: its text, ``extra`` and referenced files."""
    refs: list[str] = []
    for path in local_files(html):
        refs += [str(path), file_digest(path) or "missing"]
    return content_key(html, *extra, *refs)


class FragmentCache:
    """Content-addressed store of rendered fragments (e.g. pandoc HTML of one page's markdown).

    Parameters
    ----------
    folder : Path
        Where fragments are kept (created on first write).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.html"

    def get(self, source: str) -> str | None:
        """The cached rendering of ``source`` (counted as a hit), or None (counted as a miss)."""
        try:
            text = self._path(content_key(source)).read_text(encoding="utf-8")
        except FileNotFoundError:
            self.misses += 1
            return None
        self.hits += 1
        return text

    def put(self, source: str, text: str) -> None:
        """Keep ``text`` as the rendering of ``source``."""
        atomic_write_bytes(self._path(content_key(source)), text.encode("utf-8"))

    def get_or_render(self, source: str, render: Callable[[str], str]) -> str:
        """Return the cached rendering of ``source``, or ``render(source)`` stored for next time."""
        text = self.get(source)
        if text is None:
            text = render(source)
            self.put(source, text)
        return text


class OutputCache:
    """Record of which inputs produced each output file, to skip re-rendering unchanged ones.

    Parameters
    ----------
    record : Path
        JSON file holding ``{output path: {"key": ..., "digest": ...}}``.
    """

    def __init__(self, record: Path) -> None:
        self.record = Path(record)
        try:
            self.entries: dict[str, dict[str, str]] = json.loads(self.record.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            self.entries = {}

    def fresh(self, out: Path, key: str) -> bool:
        """True if ``out`` exists unchanged and was produced from inputs with this ``key``."""
        entry = self.entries.get(str(Path(out).resolve()))
        if entry is None or entry.get("key") != key:
            return False
        return file_digest(Path(out)) == entry.get("digest")

    def note(self, out: Path, key: str) -> None:
        """Record that ``out`` (now written) was produced from inputs with this ``key``."""
        digest = file_digest(Path(out))
        if digest is not None:
            self.entries[str(Path(out).resolve())] = {"key": key, "digest": digest}

    def forget(self, outs: Iterable[Path]) -> None:
        """Drop the records of ``outs`` (e.g. before re-rendering them)."""
        for out in outs:
            self.entries.pop(str(Path(out).resolve()), None)

    def forget_under(self, folder: Path) -> None:
        """Drop the records of every output inside ``folder`` (e.g. before it is replaced)."""
        root = Path(folder).resolve()
        for name in [n for n in self.entries if Path(n).is_relative_to(root)]:
            del self.entries[name]

    def save(self) -> None:
        """Write the record atomically."""
        data = json.dumps(self.entries, indent=1, sort_keys=True).encode("utf-8")
        atomic_write_bytes(self.record, data)


def cache_dir(build_dir: Path) -> Path:
    """The folder of the render caches inside the build folder."""
    return Path(build_dir) / "cache"
