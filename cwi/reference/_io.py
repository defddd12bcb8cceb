"""Low-level reading helpers shared by the readers: every failure becomes one clear error."""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from cwi.reference.errors import ReferenceDataError, require_file

_CORRUPT = (
    "could not be read ({kind}); it is probably truncated or corrupted. Delete it and run "
    "`cwi reference fetch` again, or replace it with a good copy"
)


def read_csv(path: Path | str, what: str, **kwargs: Any) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) as strings, turning every failure into one clear error.

    Parameters
    ----------
    path : Path or str
        CSV or ``.csv.gz`` file.
    what : str
        Description of the file for messages.
    **kwargs
        Passed to :func:`pandas.read_csv` (``dtype=str`` and ``keep_default_na=False`` by
        default, so suppression symbols survive).

    Returns
    -------
    pandas.DataFrame
        Raw frame, header names stripped of a byte-order mark and spaces.
    """
    path = require_file(path, what)
    kwargs.setdefault("dtype", str)
    kwargs.setdefault("keep_default_na", False)
    kwargs.setdefault("encoding", "utf-8-sig")
    try:
        frame = pd.read_csv(path, **kwargs)
    except UnicodeDecodeError:
        kwargs["encoding"] = "cp1252"
        try:
            frame = pd.read_csv(path, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported as one clear error
            raise ReferenceDataError(path, _CORRUPT.format(kind=type(exc).__name__)) from exc
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile, pd.errors.ParserError) as exc:
        raise ReferenceDataError(path, _CORRUPT.format(kind=type(exc).__name__)) from exc
    except pd.errors.EmptyDataError as exc:
        raise ReferenceDataError(path, "is empty") from exc
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    return frame


def find_column(
    columns: Iterable[str],
    patterns: Iterable[str],
    path: Path | str,
    what: str,
    required: bool = True,
) -> str | None:
    """Return the first column matching one of ``patterns`` (regex, case-insensitive).

    Parameters
    ----------
    columns : iterable of str
        Column names of the frame.
    patterns : iterable of str
        Regular expressions tried in order.
    path : Path or str
        File, for the error message.
    what : str
        Description of the column wanted, for the error message.
    required : bool
        Raise if nothing matches (default) or return ``None``.

    Returns
    -------
    str or None
        The matching column name.
    """
    cols = list(columns)
    for pattern in patterns:
        rx = re.compile(pattern, re.IGNORECASE)
        for col in cols:
            if rx.search(col):
                return col
    if required:
        raise ReferenceDataError(
            path,
            f"has no column for {what} (looked for {list(patterns)})",
            "Check that the file is the official release named in cwi/reference/sources.yml; "
            "if the publisher changed the layout, report it so the reader can be updated.",
        )
    return None


def require_columns(
    frame: pd.DataFrame,
    needed: Iterable[str],
    path: Path | str,
    hint: str,
    what: str = "column(s)",
    shown: int | None = None,
) -> None:
    """Raise :class:`ReferenceDataError` naming the ``needed`` columns ``frame`` lacks.

    Parameters
    ----------
    frame : pandas.DataFrame
        The file as read.
    needed : iterable of str
        Column names the reader uses.
    path : Path or str
        File, for the error message.
    hint : str
        What to do about it.
    what : str
        How the message names the missing columns.
    shown : int, optional
        List at most this many of them (then ``...``).
    """
    missing = [c for c in needed if c not in frame.columns]
    if not missing:
        return
    listed = (
        f"{missing[:shown]}..." if shown is not None and len(missing) > shown else f"{missing}"
    )
    raise ReferenceDataError(path, f"lacks {what} {listed}", hint)


def to_number(values: pd.Series) -> pd.Series:
    """Convert strings such as ``"1,296"`` or ``"28814.0"`` to floats (blank -> NaN).

    A column of nothing but plain whole numbers (``"0"`` to 18 digits, no blank, sign, comma
    or space: the ONS population counts) needs no cleaning, and those strings parse to the
    same int64 values directly, in about a third of the time.
    """
    if values.dtype == object and len(values) and values.notna().all():
        try:
            joined = "\n".join(values.tolist())
        except TypeError:  # not all strings
            joined = None
        if joined is not None and _WHOLE_NUMBERS.fullmatch(joined):
            return pd.Series(
                values.to_numpy().astype("int64"), index=values.index, name=values.name
            )
    cleaned = values.astype(str).str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(cleaned.replace({"": None}), errors="coerce")


_WHOLE_NUMBERS = re.compile(r"[0-9]{1,18}(?:\n[0-9]{1,18})*")
