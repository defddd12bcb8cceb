"""Project paths and release settings, resolved from one root.

Every path the project reads or writes is derived here from ``ROOT`` (the folder holding
``settings.yml``), so no module depends on the working directory and nothing calls ``chdir``.
Release settings live in the one tracked settings file ``settings.yml``; an alternative file can
be named with the ``CWI_SETTINGS`` environment variable (used by tests and real-data runs).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILE = ROOT / "settings.yml"
SHARED_PUBLIC = ROOT.parent / "shared" / "data" / "public"


class SettingsError(ValueError):
    """A settings file is missing, unreadable or holds an invalid value."""


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Settings:
    """Release settings plus every path of the build, all absolute.

    Parameters
    ----------
    raw : dict
        The parsed settings file.
    root : Path
        Project root that relative paths in ``raw`` are resolved against.
    source_file : Path
        The settings file the values came from (recorded in the manifest).
    """

    raw: dict[str, Any]
    root: Path = ROOT
    source_file: Path = SETTINGS_FILE
    overrides: dict[str, Any] = field(default_factory=dict)

    def _path(self, section: str, key: str) -> Path:
        value = self.raw[section][key]
        path = Path(value)
        return path if path.is_absolute() else self.root / path

    # ---- release -------------------------------------------------------------------------
    @property
    def title(self) -> str:
        """Report title."""
        return str(self.raw["release"]["title"])

    @property
    def main_year(self) -> int:
        """Collection year of the headline snapshot (31 March of that year)."""
        return int(self.raw["release"]["main_year"])

    @property
    def years(self) -> list[int]:
        """All collection years analysed (for trends)."""
        return [int(y) for y in self.raw["release"]["years"]]

    @property
    def imd_vintage(self) -> str:
        """IMD edition: ``demo``, ``2010``, ``2019`` or ``2025``."""
        return str(self.raw["release"]["imd_vintage"])

    @property
    def la_list(self) -> list[str] | None:
        """LA codes to build, or ``None`` for all LAs in the data."""
        value = self.raw["release"].get("la_list", "all")
        return None if value in (None, "all") else [str(v) for v in value]

    # ---- data ----------------------------------------------------------------------------
    @property
    def data_source(self) -> str:
        """``demo`` (generated synthetic region), ``real-geography`` or ``extracts``."""
        return str(self.raw["data"]["source"])

    @property
    def demo_dir(self) -> Path:
        """Folder the demo region is generated into (git-ignored)."""
        return self._path("data", "demo_dir")

    @property
    def extracts_dir(self) -> Path:
        """Folder of real LA extracts, one sub-folder per LA (see data/README.md)."""
        return self._path("data", "extracts_dir")

    @property
    def reference_dir(self) -> Path:
        """Folder of local copies of the public reference files."""
        return self._path("data", "reference_dir")

    @property
    def reference_cache(self) -> Path:
        """Download cache of ``cwi reference fetch`` (git-ignored)."""
        return self._path("data", "reference_cache")

    @property
    def private_dir(self) -> Path:
        """Child- and LSOA-level intermediates. Never published, never scanned into the site."""
        return self._path("data", "private_dir")

    # ---- analysis / disclosure -----------------------------------------------------------
    @property
    def confidence(self) -> float:
        """Confidence level of every interval (e.g. 0.95)."""
        return float(self.raw["analysis"]["confidence"])

    @property
    def rate_per(self) -> int:
        """Rate multiplier (10,000 children aged 0-17)."""
        return int(self.raw["analysis"]["rate_per"])

    @property
    def measures(self) -> list[str]:
        """Measures analysed, a subset of CIN, CPP, CLA."""
        return [str(m) for m in self.raw["analysis"]["measures"]]

    @property
    def disclosure(self) -> dict[str, int]:
        """Suppression thresholds and rounding (see ``cwi.disclosure``)."""
        return {k: int(v) for k, v in self.raw["disclosure"].items()}

    @property
    def demo(self) -> dict[str, Any]:
        """Demo generator settings (seed, number of LAs, years)."""
        return dict(self.raw["demo"])

    # ---- outputs -------------------------------------------------------------------------
    @property
    def build_dir(self) -> Path:
        """Working folder of a build."""
        return self._path("output", "build_dir")

    @property
    def results_dir(self) -> Path:
        """The results store: disclosure-controlled tables plus manifest."""
        return self._path("output", "results_dir")

    @property
    def templates_dir(self) -> Path:
        """Jinja2 templates and stylesheets (LA page, print page, site shell)."""
        if "templates_dir" not in self.raw["output"]:
            return self.root / "templates"
        return self._path("output", "templates_dir")

    @property
    def site_dir(self) -> Path:
        """Rendered website."""
        return self._path("output", "site_dir")

    @property
    def site_url(self) -> str | None:
        """Public address of the website, for links in the report PDF (``None`` if unknown)."""
        value = self.raw.get("output", {}).get("site_url")
        return str(value) if value else None

    @property
    def pdf_dir(self) -> Path:
        """One A4 PDF per LA."""
        return self._path("output", "pdf_dir")

    @cached_property
    def quarto_file(self) -> Path:
        """The Quarto project file whose navigation the pandoc renderer follows."""
        return self.root / "_quarto.yml"

    def with_overrides(self, **sections: dict[str, Any]) -> Settings:
        """Return a copy with some settings replaced, e.g. ``output={"site_dir": tmp}``."""
        return Settings(
            raw=_deep_merge(self.raw, sections),
            root=self.root,
            source_file=self.source_file,
            overrides=_deep_merge(self.overrides, sections),
        )


def load_settings(path: Path | str | None = None, root: Path | None = None) -> Settings:
    """Read the settings file.

    Parameters
    ----------
    path : Path or str, optional
        Settings file; defaults to ``$CWI_SETTINGS`` or ``<root>/settings.yml``.
    root : Path, optional
        Project root for relative paths; defaults to the folder of this package's project.

    Returns
    -------
    Settings
        Parsed settings with absolute paths.

    Raises
    ------
    SettingsError
        If the file is missing or not valid YAML, naming the file and what to do.
    """
    root = Path(root) if root else ROOT
    if path is None:
        env = os.environ.get("CWI_SETTINGS")
        path = Path(env) if env else root / "settings.yml"
    path = Path(path)
    if not path.is_file():
        raise SettingsError(
            f"Settings file not found: {path}. Restore settings.yml from git "
            "(git checkout settings.yml) or set CWI_SETTINGS to your own copy."
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SettingsError(f"Settings file {path} is not valid YAML: {exc}") from exc
    if path.resolve() != (root / "settings.yml").resolve() and (root / "settings.yml").is_file():
        # A partial override file is merged over the tracked defaults.
        base = yaml.safe_load((root / "settings.yml").read_text(encoding="utf-8"))
        raw = _deep_merge(base, raw or {})
    missing = [s for s in ("release", "data", "analysis", "disclosure", "output") if s not in raw]
    if missing:
        raise SettingsError(f"Settings file {path} lacks section(s): {', '.join(missing)}.")
    return Settings(raw=raw, root=root, source_file=path)
