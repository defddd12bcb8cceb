"""Stage-level incremental builds: what decides the ingest, the public edition and the store.

A build skips a stage only when everything that stage's outputs are a function of is unchanged
and the outputs on disk still have the digests recorded when they were written. The hashes all
come from :mod:`cwi.fingerprint`; this module decides *what* goes into each key:

* :func:`reference_fingerprint` - the reference files the build would read (listed from the
  registry or the demo folder, hashed without being parsed) and the settings that choose them;
* :func:`ingest_key` - the extract files the inventory marks as read, the inventory itself, the
  reference fingerprint, the settings that shape the ingest, a keyed hash of the pseudonym key
  (never the key) and the code version;
* :func:`store_key` - the ingest key, the reference fingerprint, the public data files, the full
  settings, the statistical-neighbours file and the code version.

Hashing large extracts on every build costs time, so :class:`DigestMemo` remembers each file's
digest with its ``(inode, size, mtime_ns, ctime_ns)``. A remembered digest is used only when all
four still match *and* the file's last change (``ctime``, which no user call can set back) was
more than :data:`RACY_NS` before the digest was taken; otherwise the file is hashed again (the
"racy" rule git uses for its index). Any write to a file, or any reset of its modification time,
moves its ``ctime`` past the recorded moment, so a changed file is never taken for an old one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cwi.fingerprint import content_key, file_digest
from cwi.io import write_text

#: A remembered digest is trusted only for files last changed this long before it was taken.
RACY_NS = 2_000_000_000
MEMO_NAME = "digests.json"
#: ``data`` settings that change neither the reference data nor what the ingest produces:
#: ``accept_errors`` only decides whether a build may go on (the checks that read it run again on
#: a cached ingest), the coverage settings act in the cube stage, the mirror only in fetching.
_NOT_INGEST = {
    "accept_errors",
    "postcode_coverage_min",
    "postcode_coverage_action",
    "reference_mirror",
}


def _signature(st: os.stat_result) -> list[int]:
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class DigestMemo:
    """Digests of files remembered by their ``stat`` signature (see the module docstring).

    Parameters
    ----------
    path : Path
        JSON file of remembered digests (``<build_dir>/cache/digests.json``); created on save.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.entries: dict[str, list[Any]] = json.loads(self.path.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            self.entries = {}
        self.hashed = 0
        self.remembered = 0
        self._dirty = False

    def digest(self, path: Path | str) -> str | None:
        """SHA-256 of a file (:func:`cwi.fingerprint.file_digest`), None if it is missing."""
        file = Path(path).absolute()
        name = str(file)
        try:
            before = _signature(file.stat())
        except (FileNotFoundError, NotADirectoryError):
            return None
        entry = self.entries.get(name)
        if entry is not None and entry[:4] == before and before[3] < entry[4] - RACY_NS:
            self.remembered += 1
            return entry[5]
        taken = time.time_ns()
        digest = file_digest(name)
        self.hashed += 1
        try:
            after = _signature(file.stat())
        except FileNotFoundError:
            return None
        if digest is not None and after == before:  # not changed while being read
            self.entries[name] = [*before, taken, digest]
            self._dirty = True
        return digest

    def files(self, named: Iterable[tuple[str, Path | None]]) -> str:
        """One key part over ``(name, path)`` pairs: each name with its file's digest."""
        parts = [f"{name}={self.digest(path) if path else None}" for name, path in named]
        return "\n".join(sorted(parts))

    def save(self) -> None:
        """Write the memo atomically (only when something new was hashed), minus gone files."""
        if self._dirty:
            self.entries = {k: v for k, v in self.entries.items() if Path(k).exists()}
            write_text(self.path, json.dumps(self.entries, sort_keys=True))
            self._dirty = False


def memo_for(settings: Any) -> DigestMemo:
    """The build's digest memo, kept in ``<build_dir>/cache/``."""
    return DigestMemo(Path(settings.build_dir) / "cache" / MEMO_NAME)


def _settings_part(settings: Any, sections: Iterable[str], drop: set[str] = frozenset()) -> str:
    full = settings.as_dict()
    part = {s: full.get(s) for s in sections}
    if isinstance(part.get("data"), dict):
        part["data"] = {k: v for k, v in part["data"].items() if k not in drop}
    return json.dumps(part, sort_keys=True, default=str)


def reference_files(settings: Any) -> list[tuple[str, Path | None]]:
    """Every reference file the build could read, listed without parsing any of them.

    The demo reads its own ``<demo_dir>/reference`` folder; real geography and real extracts
    read the registry's files (wherever :func:`cwi.reference.sources.locate` finds them), the
    postcode directories named in settings and, for real geography, the generated postcodes.
    A file the registry names but that is absent is listed as missing, so adding it later
    changes the fingerprint.
    """
    source = settings.data_source
    if source == "demo":
        folder = Path(settings.demo_dir) / "reference"
        if not folder.is_dir():
            return [("demo reference", None)]
        return [(p.relative_to(folder).as_posix(), p)
                for p in sorted(folder.rglob("*")) if p.is_file()]  # fmt: skip
    if source not in ("real-geography", "extracts"):
        return []
    from cwi.reference.sources import load_sources, locate, read_local_paths

    local = read_local_paths(settings)
    out: list[tuple[str, Path | None]] = [
        (src.name, locate(src, settings, local)) for src in load_sources()
    ]
    out += [(f"postcode_directory {p}", Path(p)) for p in settings.postcode_directories]
    if source == "real-geography":
        out.append(("nspl_synthetic", Path(settings.demo_dir) / "reference" / "nspl.csv"))
    return out


def reference_fingerprint(settings: Any, memo: DigestMemo) -> str:
    """Key of the reference data: the files it is read from and the settings that choose them."""
    return content_key(
        "reference",
        _settings_part(settings, ("release", "data", "demo"), _NOT_INGEST),
        memo.files(reference_files(settings)),
    )


def key_tag(key: bytes) -> str:
    """A keyed hash standing for the pseudonym key in cache keys (the key is never stored)."""
    return hmac.new(key, b"cwi ingest cache: pseudonym key in use", hashlib.sha256).hexdigest()


def ingest_key(
    settings: Any,
    root: Path,
    inventory_entries: Any,
    reference_fp: str,
    pseudo_key: bytes,
    memo: DigestMemo,
) -> str:
    """Key of everything the ingest's private outputs are a function of.

    Parameters
    ----------
    settings : Settings
        The build's settings (release, data and demo sections are part of the key).
    root : Path
        The extracts root.
    inventory_entries : pandas.DataFrame
        :attr:`cwi.ingest.inventory.Inventory.entries` (files marked ``read`` are hashed).
    reference_fp : str
        :func:`reference_fingerprint` (postcodes, LA lookups and the settings choosing them).
    pseudo_key : bytes
        The pseudonym key; only :func:`key_tag` of it enters the key.
    memo : DigestMemo
        Remembered digests.

    Returns
    -------
    str
        Hex SHA-256 (includes the code version).
    """
    read = inventory_entries.loc[inventory_entries["status"] == "read", "path"].astype(str)
    files = memo.files((rel, Path(root) / rel) for rel in read)
    return content_key(
        "ingest",
        _settings_part(settings, ("release", "data", "demo"), _NOT_INGEST),
        reference_fp,
        inventory_entries.to_csv(index=False),
        files,
        key_tag(pseudo_key),
    )


def public_files(folder: Path) -> list[tuple[str, Path]]:
    """Every file of the public folder the public edition may read, by its registry name."""
    from cwi.public.data import PUBLIC_FILES  # light: not the edition's analysis modules

    return [(key, Path(folder) / rel) for key, rel in PUBLIC_FILES.items()]


def store_key(
    settings: Any, ingest: str | None, reference_fp: str | None, memo: DigestMemo
) -> str:
    """Key of the results store: ingest, reference, public files, full settings, code version."""
    neighbours = settings.neighbours_file
    return content_key(
        "store",
        json.dumps(settings.as_dict(), sort_keys=True, default=str),
        ingest or "-",
        reference_fp or "-",
        memo.files(public_files(settings.public_data_dir)),
        memo.files([("neighbours_file", Path(neighbours))] if neighbours else []),
    )


def file_digests(paths: Mapping[str, Path], memo: DigestMemo) -> dict[str, str | None]:
    """Digest of each named file (None if missing): what a cache record vouches for."""
    return {name: memo.digest(path) for name, path in paths.items()}


def files_intact(
    recorded: Mapping[str, str | None] | None, paths: Mapping[str, Path], memo: DigestMemo
) -> bool:
    """True when ``recorded`` names exactly ``paths`` and each still has its recorded digest."""
    if not recorded or set(recorded) != set(paths) or None in recorded.values():
        return False
    return all(memo.digest(path) == recorded[name] for name, path in paths.items())


def tree_digests(
    root: Path, memo: DigestMemo | None = None, skip: Iterable[str] = ()
) -> dict[str, str]:
    """``{relative path: digest}`` of every file under ``root`` except those in ``skip``.

    ``skip`` names files or folders (relative to ``root``). Without a memo every file is hashed
    (use that for staging folders, whose paths vanish).
    """
    root = Path(root)
    skipped = tuple(skip)
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(rel == s or rel.startswith(f"{s}/") for s in skipped):
            continue
        if path.is_file():
            digest = memo.digest(path) if memo is not None else file_digest(path)
            out[rel] = digest or "missing"
    return out


__all__ = [
    "DigestMemo",
    "ingest_key",
    "key_tag",
    "memo_for",
    "public_files",
    "reference_files",
    "reference_fingerprint",
    "store_key",
    "file_digests",
    "files_intact",
    "tree_digests",
]
