"""Chart cache: a chart whose data, words and drawing code are unchanged is copied, not redrawn.

Kept under ``<build_dir>/cache/charts/`` (never in the published site or the results store).
Each entry is a PNG named by the chart's key (:func:`chart_key`: a
:func:`cwi.fingerprint.content_key` of everything the chart draws, so the code version is part
of it); one record, ``index.json``, holds the digest each PNG had when it was drawn and is
written atomically once per build. An entry is used only when the record names its key and the
copy placed in the output still has that digest: an altered, truncated or missing file is drawn
again. That check is why the PNGs themselves need no flush to disk (a rename makes each whole).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cwi.fingerprint import content_key, file_digest
from cwi.io import write_bytes

#: Bump to redraw every chart (a change of drawing code already changes every key).
CHART_CACHE_FORMAT = "1"


def _column(col: pd.Series) -> bytes:
    """A column's exact values: numbers as their bytes, geometry as WKB, the rest as JSON."""
    values = col.to_numpy()
    if col.dtype.name == "geometry":
        import shapely

        data = b"".join(shapely.to_wkb(np.asarray(col.values, dtype=object)).tolist())
    elif values.dtype.kind in "biuf":
        data = np.ascontiguousarray(values).tobytes()
    else:
        data = json.dumps([_plain(v) for v in values.tolist()]).encode("utf-8")
    return f"{col.name}|{col.dtype}|{len(values)}|".encode() + data


def _frame_digest(frame: pd.DataFrame) -> str:
    return f"__frame__:{content_key('frame', *(_column(frame[c]) for c in frame.columns))}"


def _plain(obj: Any, memo: dict[int, str] | None = None) -> Any:
    """A JSON-ready form of a chart's inputs that keeps every value exactly.

    A data frame stands as the hash of its columns' exact values (``memo`` keeps that hash by
    object for frames shared by many charts, e.g. the region's funnel points).
    """
    if isinstance(obj, pd.DataFrame):
        if memo is None:
            return _frame_digest(obj)
        if id(obj) not in memo:
            memo[id(obj)] = _frame_digest(obj)
        return memo[id(obj)]
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f"__{type(obj).__name__}__": _plain(asdict(obj), memo)}
    if isinstance(obj, Mapping):
        return {str(k): _plain(v, memo) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v, memo) for v in obj]
    if isinstance(obj, np.generic):
        return _plain(obj.item())
    if isinstance(obj, float) and math.isnan(obj):
        return "__nan__"
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return "__na__"
    return f"__{type(obj).__name__}__:{obj}"


def chart_key(kind: str, inputs: Mapping[str, Any], memo: dict[int, str] | None = None) -> str:
    """Key of a chart: its kind and every input it draws (data frames, rows, labels, words).

    Parameters
    ----------
    kind : str
        Which chart (its drawing code is covered by the code version in every key).
    inputs : mapping
        The drawing function's arguments, output path excluded.
    memo : dict, optional
        Frame hashes by object, shared across the charts of one build; the frames must stay
        alive and unchanged while it is used.
    """
    text = json.dumps(_plain(inputs, memo), sort_keys=True, separators=(",", ":"))
    return content_key("chart", CHART_CACHE_FORMAT, kind, text)


class ChartCache:
    """PNG files by chart key, each trusted only while it keeps the digest it was drawn with.

    Parameters
    ----------
    folder : Path
        ``<build_dir>/cache/charts`` (created on first write).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.record = self.folder / "index.json"
        try:
            entries = json.loads(self.record.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError, ValueError):
            entries = {}
        self.entries: dict[str, str] = entries if isinstance(entries, dict) else {}
        self.hits = 0
        self.misses = 0
        self.used: set[str] = set()

    def _png(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.png"

    def fetch(self, key: str, dest: Path) -> bool:
        """Copy the chart drawn for ``key`` to ``dest``; False (nothing left at ``dest``) if none.

        The copy must have the digest recorded when the chart was drawn, else it is removed and
        the chart counts as missing (to be drawn again).
        """
        digest = self.entries.get(key)
        try:
            data = self._png(key).read_bytes() if digest else None
        except (FileNotFoundError, NotADirectoryError):
            data = None
        if data is not None:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)  # into a staging folder that is swapped in whole
            if file_digest(dest) == digest:
                self.hits += 1
                self.used.add(key)
                return True
            dest.unlink(missing_ok=True)
        self.entries.pop(key, None)
        self.misses += 1
        return False

    def store(self, key: str, drawn: Path) -> None:
        """Keep a copy of the chart just drawn at ``drawn``, with its digest."""
        digest = file_digest(drawn)
        if digest is None:
            return
        path = self._png(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(drawn.read_bytes())
        tmp.replace(path)  # whole or absent; a damaged file fails its digest and is redrawn
        self.entries[key] = digest
        self.used.add(key)

    def save(self, prune: bool = False) -> int:
        """Write the record atomically; with ``prune``, first drop entries not used this time.

        Returns
        -------
        int
            Entries removed.
        """
        removed = 0
        if prune:
            for key in [k for k in self.entries if k not in self.used]:
                self._png(key).unlink(missing_ok=True)
                del self.entries[key]
                removed += 1
            if self.folder.is_dir():
                for path in self.folder.glob("*/*.png"):
                    if path.stem not in self.entries:
                        path.unlink(missing_ok=True)
                        removed += 1
        data = json.dumps(self.entries, indent=0, sort_keys=True).encode("utf-8")
        write_bytes(self.record, data)
        return removed
