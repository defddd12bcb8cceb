"""Fingerprints: what decides an output, as one hash, for every cache and up-to-date check.

One module serves every "is this still fresh?" question in the build (the render caches, the
ingest cache, the results-store and page caches): a cache entry is trusted only when the hash of
everything that produced it matches. What goes into a hash:

* :func:`file_digest` - the bytes of a file (SHA-256);
* :func:`code_version` - the source of this package, its templates and page extensions, and the
  versions of the libraries that shape an output, so any code change invalidates every cache;
* :func:`content_key` - the code version plus any list of parts, length-prefixed so that two
  different lists never give the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path

#: Bump to invalidate every cache written by an older layout.
FINGERPRINT_FORMAT = "2"

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
#: Folders whose files decide outputs besides the package itself (templates, Quarto extension).
CODE_FOLDERS = ("templates", "_extensions")
#: Distributions whose versions decide numbers, charts, pages or PDFs.
LIBRARIES = (
    "cwi",
    "pandas",
    "numpy",
    "statsmodels",
    "matplotlib",
    "plotnine",
    "great-tables",
    "jinja2",
    "weasyprint",
    "pydyf",
    "pypandoc-binary",
    "pypandoc",
    "openpyxl",
    "lxml",
)
_CODE_SUFFIXES = {".py", ".yml", ".yaml", ".j2", ".html", ".css", ".lua", ".md", ".json", ".txt"}


def file_digest(path: Path | str) -> str | None:
    """SHA-256 of a file's bytes (None if it does not exist or is a folder)."""
    h = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    return h.hexdigest()


def files_digest(paths: Iterable[Path | str], root: Path | str | None = None) -> str:
    """One SHA-256 over several files: each one's name (relative to ``root``) and bytes."""
    h = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        name = str(path.relative_to(root)) if root is not None else str(path)
        for part in (name, file_digest(path) or "missing"):
            data = part.encode("utf-8")
            h.update(len(data).to_bytes(8, "big"))
            h.update(data)
    return h.hexdigest()


def _code_files() -> list[Path]:
    files = [p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix in _CODE_SUFFIXES]
    for name in CODE_FOLDERS:
        folder = ROOT / name
        if folder.is_dir():
            files += [p for p in folder.rglob("*") if p.is_file()]
    return [p for p in files if "__pycache__" not in p.parts]


@cache
def code_version() -> str:
    """Hash of this package's source, templates, extensions and library versions.

    Computed once per process (a build does not change its own code while it runs).
    """
    parts = [f"format={FINGERPRINT_FORMAT}"]
    for dist in LIBRARIES:
        try:
            parts.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist}=-")
    parts.append(files_digest(_code_files(), root=ROOT))
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def content_key(*parts: str | bytes) -> str:
    """SHA-256 of :func:`code_version` and ``parts`` (each length-prefixed)."""
    h = hashlib.sha256(code_version().encode())
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()
