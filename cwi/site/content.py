"""Write generated report content where both renderers find it: values and fragments.

Page sources (``*.qmd``) hold the narrative and bring in what the build computes through two
shortcodes that real Quarto and ``cwi build`` resolve the same way:

- ``{{< var dotted.key >}}``: a value from the project-root ``_variables.yml`` (Quarto re-reads it
  after the ``pre-render`` hook has written it);
- ``{{< fragment name >}}``: a block of generated markdown, the file ``<fragments>/<name>.md``,
  read at render time by the project shortcode ``_extensions/cwi/fragment.lua`` (Quarto) or by
  :func:`cwi.site.render.resolve_shortcodes` (``cwi build``).

Fragments live in the results store (``<results_dir>/fragments``), not in the project tree; the
folder is written into ``_variables.yml`` as ``cwi_fragments_dir`` so the Lua shortcode finds it
(the environment variable ``CWI_FRAGMENTS_DIR`` overrides it on both paths).
``{{< include >}}`` cannot be used for generated files: Quarto expands it before ``pre-render``
runs, so a first render on a fresh clone fails (quarto-dev/quarto-cli#12491).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from cwi.config import Settings
from cwi.io import atomic_path, write_bytes

#: Key of ``_variables.yml`` that names the fragment folder (read by ``fragment.lua``).
FRAGMENTS_KEY = "cwi_fragments_dir"
_NAME = re.compile(r"^[\w-]+(/[\w-]+)*$")
#: File that marks a folder as cwi's own fragment folder: only such a folder is ever emptied.
FRAGMENTS_MARKER = ".cwi-fragments"


class FragmentsFolderError(RuntimeError):
    """The fragment folder holds files cwi did not write; it is never deleted."""


def check_fragments_folder(folder: Path) -> None:
    """Refuse a fragment folder cwi did not make (no marker) unless it is empty or absent.

    ``CWI_FRAGMENTS_DIR`` can point anywhere: a mistyped value must never erase a user's files.

    Raises
    ------
    FragmentsFolderError
        If the folder exists, is not empty and carries no marker, or is not a folder.
    """
    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_symlink() or not folder.is_dir():
        raise FragmentsFolderError(
            f"{folder} is not a folder cwi made; point CWI_FRAGMENTS_DIR at a new, empty folder."
        )
    if any(folder.iterdir()) and not (folder / FRAGMENTS_MARKER).is_file():
        raise FragmentsFolderError(
            f"{folder} holds files cwi did not write, so it is left untouched; point "
            "CWI_FRAGMENTS_DIR at a new, empty folder (or unset it)."
        )


def clear_fragments(folder: Path) -> None:
    """Delete the fragment folder, but only when cwi made it (marker) or it is empty.

    Raises
    ------
    FragmentsFolderError
        See :func:`check_fragments_folder`.
    """
    check_fragments_folder(folder)
    if folder.exists():
        shutil.rmtree(folder)


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless the file already holds exactly these bytes.

    An unchanged output keeps its file (and time stamp), so nothing downstream sees a change.
    Returns True when the file was written.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except (FileNotFoundError, NotADirectoryError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, data)
    return True


def prune(folder: Path, keep: set[Path]) -> None:
    """Delete files under ``folder`` that are not in ``keep``, then its empty sub-folders."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), reverse=True):  # children before their folders
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif path not in keep:
            path.unlink()


def sync_folder(staged: Path, dest: Path, remove_stale: bool = True) -> list[Path]:
    """Copy the files of ``staged`` into ``dest``, leaving files whose bytes are unchanged.

    Files of ``dest`` that ``staged`` does not hold are deleted when ``remove_stale``. Returns
    the files of ``dest`` that came from ``staged``.
    """
    from cwi.fingerprint import file_digest

    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for src in sorted(p for p in staged.rglob("*") if p.is_file()):
        target = dest / src.relative_to(staged)
        if file_digest(target) != file_digest(src):
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:  # staging may be on another file system
                shutil.copyfile(src, tmp)
        out.append(target)
    if remove_stale:
        prune(dest, set(out))
    return out


def fragments_dir(settings: Settings) -> Path:
    """Folder of the generated fragments: ``$CWI_FRAGMENTS_DIR`` or ``<results_dir>/fragments``."""
    env = os.environ.get("CWI_FRAGMENTS_DIR")
    if env:
        path = Path(env)
        return path if path.is_absolute() else settings.root / path
    return settings.results_dir / "fragments"


def write_content(
    settings: Settings, variables: Mapping[str, Any], fragments: Mapping[str, str]
) -> Path:
    """Write ``_variables.yml`` and one ``<name>.md`` per fragment; return the fragment folder.

    Parameters
    ----------
    settings : Settings
        Where the project root and the results store are.
    variables : mapping
        Nested values for ``{{< var >}}`` (dotted keys reach into nested mappings).
    fragments : mapping of str to str
        Fragment name (``a-z``, digits, ``_``, ``-``, ``/`` for sub-folders) to final markdown.
        Fragments may not contain shortcodes: they are inserted after variables are resolved.

    Raises
    ------
    ValueError
        If a fragment name is not a plain relative name, a fragment holds a shortcode, or the
        variables use the reserved key.
    """
    if FRAGMENTS_KEY in variables:
        raise ValueError(f"{FRAGMENTS_KEY!r} is reserved for the fragment folder.")
    for name, text in fragments.items():
        if not _NAME.match(name):
            raise ValueError(f"Fragment name {name!r}: use letters, digits, _ - and / only.")
        if "{{<" in text:
            raise ValueError(f"Fragment {name!r} holds a shortcode; fragments are final markdown.")
    folder = fragments_dir(settings)
    check_fragments_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_if_changed(folder / FRAGMENTS_MARKER, b"Generated by cwi; emptied on every build.\n")
    wanted = {folder / FRAGMENTS_MARKER}
    for name, text in fragments.items():
        path = folder / f"{name}.md"
        write_if_changed(path, text.encode("utf-8"))
        wanted.add(path)
    prune(folder, wanted)
    try:
        shown = folder.resolve().relative_to(settings.root.resolve()).as_posix()
    except ValueError:
        shown = folder.resolve().as_posix()
    values = {**variables, FRAGMENTS_KEY: shown}
    text = (
        "# Generated by `cwi pre-render` from the results store. Do not edit.\n"
        + yaml.safe_dump(values, sort_keys=True, allow_unicode=True, width=10_000)
    )
    write_if_changed(settings.root / "_variables.yml", text.encode("utf-8"))
    return folder
