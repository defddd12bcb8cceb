"""The results store: one folder, written once per build, read by every renderer.

Layout (``settings.results_dir``)::

    manifest.json          inputs (paths, sha256), reference vintages, settings, thresholds,
                           code version, stage timings
    tables/<name>.csv      disclosure-controlled tables (safe to publish)
    profiles/<code>.json   one context per LA: the single source of its web page and its PDF

Nothing in the store is LSOA-level or child-level: those stay in ``settings.private_dir``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from cwi import __version__
from cwi.config import ROOT, Settings


class StoreError(RuntimeError):
    """The results store is missing or incomplete: run ``cwi build`` first."""


def code_version() -> dict[str, str]:
    """Package version plus the git commit and whether the work tree had changes."""
    info = {"package": __version__, "commit": "unknown", "dirty": "unknown"}
    try:
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        info["dirty"] = "yes" if status.strip() else "no"
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


class ResultsStore:
    """Read and write the results store of one build.

    Parameters
    ----------
    settings : Settings
        Gives ``results_dir``.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.results_dir
        self.tables_dir = self.root / "tables"
        self.profiles_dir = self.root / "profiles"

    # ---- writing -------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty the store before a new build writes it (nothing stale survives)."""
        for folder in (self.tables_dir, self.profiles_dir):
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.iterdir():
                if old.is_file():
                    old.unlink()

    def write_tables(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Write disclosure-controlled tables as CSV (UTF-8, no index)."""
        from cwi.ingest.report import safe_csv_write

        self.tables_dir.mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            safe_csv_write(frame, self.tables_dir / f"{name}.csv")

    def write_profile(self, la_code: str, context: Mapping[str, Any]) -> None:
        """Write one LA's profile context as JSON."""
        self.profiles_dir.mkdir(parents=True, exist_ok=True)
        path = self.profiles_dir / f"{la_code}.json"
        path.write_text(json.dumps(context, indent=1, default=_json_default), encoding="utf-8")

    def write_manifest(self, manifest: Mapping[str, Any]) -> Path:
        """Write ``manifest.json`` with the build time and code version added."""
        full = {
            "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "code_version": code_version(),
            "settings_file": str(self.settings.source_file),
            "settings": self.settings.as_dict(),
            **manifest,
            "tables": sorted(p.stem for p in self.tables_dir.glob("*.csv")),
        }
        path = self.root / "manifest.json"
        path.write_text(json.dumps(full, indent=1, default=_json_default), encoding="utf-8")
        return path

    # ---- reading -------------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        """Read one published table."""
        path = self.tables_dir / f"{name}.csv"
        if not path.is_file():
            raise StoreError(
                f"Results table {name!r} not found in {self.tables_dir}. Run `cwi build`."
            )
        return pd.read_csv(path, keep_default_na=True)

    def has_table(self, name: str) -> bool:
        """Whether the store holds a table of this name."""
        return (self.tables_dir / f"{name}.csv").is_file()

    def profile(self, la_code: str) -> dict[str, Any]:
        """Read one LA's profile context."""
        path = self.profiles_dir / f"{la_code}.json"
        if not path.is_file():
            raise StoreError(f"No profile for {la_code} in {self.profiles_dir}. Run `cwi build`.")
        return json.loads(path.read_text(encoding="utf-8"))

    def profile_codes(self) -> list[str]:
        """LA codes with a profile, sorted."""
        return sorted(p.stem for p in self.profiles_dir.glob("*.json"))

    def manifest(self) -> dict[str, Any]:
        """Read the manifest."""
        path = self.root / "manifest.json"
        if not path.is_file():
            raise StoreError(f"No manifest in {self.root}. Run `cwi build`.")
        return json.loads(path.read_text(encoding="utf-8"))


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"Not JSON serialisable: {type(value).__name__}")
