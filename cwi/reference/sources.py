"""The registry of public reference files (``sources.yml``) and where each one is on this machine.

A file named in ``sources.yml`` by its relative ``file`` path is looked for, in order:

1. the path recorded for it by ``cwi reference use FOLDER`` (in
   ``<data.reference_cache>/local_paths.yml``, a git-ignored file),
2. ``<data.reference_dir>/<file>`` (set ``data.reference_dir`` to e.g. ``../shared/data/public``),
3. ``<data.reference_cache>/<file>`` (where ``cwi reference fetch`` downloads).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from cwi.io import load_yaml
from cwi.reference.errors import ReferenceDataError

if TYPE_CHECKING:
    from cwi.config import Settings

SOURCES_FILE = Path(__file__).with_name("sources.yml")
LOCAL_PATHS_NAME = "local_paths.yml"


@dataclass(frozen=True)
class Source:
    """One public reference file (an entry of ``sources.yml``)."""

    name: str
    file: str
    role: str
    url: str | None
    page: str
    publisher: str
    licence: str
    official_form: bool
    required: bool
    size: int | None
    sha256: str | None
    note: str = ""

    @property
    def basename(self) -> str:
        """File name without its folder."""
        return Path(self.file).name


def load_sources(path: Path | str | None = None) -> list[Source]:
    """Read ``sources.yml``.

    Parameters
    ----------
    path : Path or str, optional
        Registry file (default: the one shipped beside this module).

    Returns
    -------
    list of Source
        One entry per reference file.
    """
    path = Path(path) if path else SOURCES_FILE
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReferenceDataError(path, f"(the reference registry) is unreadable: {exc}") from exc
    fields = Source.__dataclass_fields__
    return [Source(**{k: v for k, v in entry.items() if k in fields}) for entry in raw["sources"]]


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, source: Source) -> str | None:
    """Check a file's size and sha256 against the registry.

    Returns
    -------
    str or None
        ``None`` when it matches (or nothing is pinned), else a sentence saying what differs.
    """
    size = path.stat().st_size
    if source.size is not None and size != source.size:
        return f"has {size:,} bytes where {source.size:,} were expected"
    if source.sha256:
        got = sha256_of(path)
        if got != source.sha256:
            return f"has sha256 {got[:12]}... where {source.sha256[:12]}... was expected"
    return None


def local_paths_file(settings: Settings) -> Path:
    """The git-ignored file where ``cwi reference use`` records local copies."""
    return Path(settings.reference_cache) / LOCAL_PATHS_NAME


def read_local_paths(settings: Settings) -> dict[str, Path]:
    """Return ``{source name: path}`` recorded by ``cwi reference use`` (empty if none)."""
    path = local_paths_file(settings)
    if not path.is_file():
        return {}
    raw = load_yaml(path.read_text(encoding="utf-8")) or {}
    return {str(k): Path(v) for k, v in (raw.get("files") or {}).items()}


def locate(
    source: Source, settings: Settings, local: dict[str, Path] | None = None
) -> Path | None:
    """Return where ``source`` is on this machine, or ``None`` if it is nowhere.

    Parameters
    ----------
    source : Source
        Registry entry.
    settings : Settings
        Gives ``reference_dir`` and ``reference_cache``.
    local : dict, optional
        Paths recorded by ``cwi reference use`` (read if omitted).

    Returns
    -------
    Path or None
        First existing candidate (see the module docstring).
    """
    local = read_local_paths(settings) if local is None else local
    candidates = [
        local.get(source.name),
        Path(settings.reference_dir) / source.file,
        Path(settings.reference_cache) / source.file,
    ]
    for cand in candidates:
        if cand is not None and cand.is_file():
            return cand
    return None


def locate_role(
    role: str, settings: Settings, sources: list[Source] | None = None
) -> list[tuple[Source, Path]]:
    """Return every present file of a role (e.g. ``population``), in registry order."""
    sources = sources if sources is not None else load_sources()
    local = read_local_paths(settings)
    found = []
    for src in sources:
        if src.role == role:
            path = locate(src, settings, local)
            if path is not None:
                found.append((src, path))
    return found
