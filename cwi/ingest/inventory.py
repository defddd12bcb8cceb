"""Inputs accounted for: every entry under the extracts root is read, or listed with a reason.

:func:`take_inventory` walks ``<root>/<LA code>/<year>/<files>`` before anything is read and
returns the LA-years to ingest plus one row per file or folder seen, each with a status
(``read``, ``ignored`` or ``refused``) and a plain reason. Folder names must be LA codes of the
reference data (the region's LAs), and nothing may lead out of the root through a symlink:
both are errors that stop the build with a message naming the folder and the fix. Year folders
outside ``release.years`` are listed as ignored (never skipped in silence), and
``release.la_list: all`` means every LA that has an extract folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

INVENTORY_COLUMNS = ("path", "la_code", "year", "status", "reason")
_YEAR = re.compile(r"(19|20)\d\d")
_DOC_SUFFIXES = {".md", ".txt", ".pdf", ".docx"}


class InputsError(ValueError):
    """The extracts root holds something the build must not guess about (message says what)."""


@dataclass
class Inventory:
    """What the extracts root holds.

    Attributes
    ----------
    jobs : list of (Path, str, int)
        ``(year folder, LA code, year)`` to ingest.
    entries : pandas.DataFrame
        :data:`INVENTORY_COLUMNS`, one row per file or folder seen.
    errors : list of str
        Problems that stop the build (unknown LA folders, symlinks out of the root).
    """

    jobs: list[tuple[Path, str, int]] = field(default_factory=list)
    entries: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(INVENTORY_COLUMNS))
    )
    errors: list[str] = field(default_factory=list)

    @property
    def la_codes(self) -> list[str]:
        """LAs with at least one year folder to ingest."""
        return sorted({la for _d, la, _y in self.jobs})

    @property
    def ignored_years(self) -> pd.DataFrame:
        """LA-year folders present but outside ``release.years``."""
        e = self.entries
        return e[(e["status"] == "ignored") & e["reason"].str.startswith("year ")]

    def raise_errors(self) -> None:
        """Raise :class:`InputsError` listing every problem, if any."""
        if self.errors:
            raise InputsError("\n".join(self.errors))


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def take_inventory(
    root: Path,
    known_las: set[str] | list[str],
    years: list[int],
    la_list: list[str] | None = None,
) -> Inventory:
    """List every entry of the extracts root and decide what is read.

    Parameters
    ----------
    root : Path
        The extracts root (one folder per LA code, one folder per collection year inside).
    known_las : set of str
        LA codes of the reference data (the region's children's-services LAs).
    years : list of int
        ``release.years``: other year folders are listed as ignored.
    la_list : list of str, optional
        ``release.la_list`` (``None`` = every LA with an extract folder).

    Returns
    -------
    Inventory
        Jobs, entries and errors (call :meth:`Inventory.raise_errors`).
    """
    root = Path(root)
    known = set(known_las)
    inv = Inventory()
    rows: list[dict[str, object]] = []

    def note(path: Path, la: str, year: object, status: str, reason: str) -> None:
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            rel = str(path)
        rows.append({"path": rel, "la_code": la, "year": year, "status": status,
                     "reason": reason})  # fmt: skip

    def refuse_link(path: Path, la: str, year: object) -> bool:
        if path.is_symlink() and not _inside(path, root):
            note(path, la, year, "refused", "symlink pointing outside the extracts root")
            inv.errors.append(
                f"{path} is a symlink to {path.resolve()}, outside the extracts root {root}: "
                "copy the file into the root instead (links out of the root are never followed)."
            )
            return True
        return False

    for entry in sorted(root.iterdir()):
        if refuse_link(entry, "", ""):
            continue
        if entry.name.startswith("."):
            note(entry, "", "", "ignored", "hidden (name starts with a dot)")
            continue
        if entry.is_file():
            note(
                entry, "", "", "ignored", "file at the top level: extracts go in <LA code>/<year>/"
            )
            continue
        if not entry.is_dir():
            note(entry, "", "", "ignored", "not a regular file or folder")
            continue
        la = entry.name
        if la not in known:
            note(entry, la, "", "refused", "folder name is not an LA code of the reference data")
            inv.errors.append(
                f"Extract folder {entry} is not named after an LA of the reference data "
                f"({len(known)} LAs, e.g. {', '.join(sorted(known)[:3])}): rename it to the LA's "
                "9-character code, move it out of the extracts root, or set data.region_code to "
                "the LA's region."
            )
            continue
        if la_list is not None and la not in la_list:
            note(entry, la, "", "ignored", "LA not in release.la_list")
            continue
        for year_dir in sorted(entry.iterdir()):
            if refuse_link(year_dir, la, ""):
                continue
            if year_dir.name.startswith("."):
                note(year_dir, la, "", "ignored", "hidden (name starts with a dot)")
                continue
            if not year_dir.is_dir() or not _YEAR.fullmatch(year_dir.name):
                note(year_dir, la, "", "ignored", "not a collection-year folder (e.g. 2023/)")
                continue
            year = int(year_dir.name)
            if year not in years:
                note(year_dir, la, year, "ignored",
                     f"year {year} is not in release.years {years}")  # fmt: skip
                continue
            readable = 0
            for path in sorted(year_dir.iterdir()):
                if refuse_link(path, la, year):
                    continue
                if path.name.startswith("."):
                    note(path, la, year, "ignored", "hidden (name starts with a dot)")
                elif path.is_dir():
                    note(
                        path, la, year, "ignored", "sub-folder (files must sit in the year folder)"
                    )
                elif path.suffix.lower() in _DOC_SUFFIXES:
                    note(path, la, year, "ignored", "documentation, not an extract")
                else:
                    note(path, la, year, "read", "")
                    readable += 1
            if readable:
                inv.jobs.append((year_dir, la, year))
            else:
                note(year_dir, la, year, "ignored", "year folder holds no extract file")
    inv.entries = pd.DataFrame(rows, columns=list(INVENTORY_COLUMNS))
    return inv


def files_to_read(folder: Path) -> list[Path]:
    """The files of one year folder that the ingest reads (same rule as the inventory)."""
    return sorted(
        p
        for p in Path(folder).iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix.lower() not in _DOC_SUFFIXES
        and (not p.is_symlink() or _inside(p, Path(folder).parent.parent))
    )


__all__ = ["INVENTORY_COLUMNS", "InputsError", "Inventory", "files_to_read", "take_inventory"]
