"""The one exception raised for missing, corrupted or unreadable reference files."""

from __future__ import annotations

from pathlib import Path


class ReferenceDataError(Exception):
    """A reference file is missing, corrupted or not in a layout the readers know.

    The message always names the file, says what is wrong and what to do, and never quotes a
    data value.

    Parameters
    ----------
    path : Path or str or None
        The file (or folder) concerned.
    problem : str
        What is wrong, e.g. ``"is missing"``.
    action : str, optional
        What the user should do about it.
    """

    def __init__(self, path: Path | str | None, problem: str, action: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        self.action = action or (
            "Run `cwi reference fetch` to download the official copy, or `cwi reference use "
            "FOLDER` to point the build at a folder holding a copy."
        )
        where = f"Reference file {self.path}" if self.path is not None else "Reference data"
        super().__init__(f"{where} {problem}. {self.action}")


def require_file(path: Path | str, what: str) -> Path:
    """Return ``path`` if it is an existing file, else raise :class:`ReferenceDataError`.

    Parameters
    ----------
    path : Path or str
        File expected to exist.
    what : str
        Human description, e.g. ``"IMD 2019 File 1"``.

    Returns
    -------
    Path
        The same path.
    """
    path = Path(path)
    if not path.is_file():
        raise ReferenceDataError(path, f"({what}) is missing")
    return path
