"""The versioned interview coding scheme: load it, check it, resolve code names to code ids.

The scheme lives in the tracked file ``data/interviews/coding_scheme.yml`` (themes -> codes, a
version and a change log). Coding tools export code *names*; :func:`Scheme.resolve` maps a name
to a scheme code id by, in order: the id itself (``POL-01``), an id followed by the label
(``POL-01 Practice model``, ``POL-01: Practice model``), or the label alone (case-insensitive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

#: Fields every code entry must carry.
CODE_FIELDS = ("id", "label", "definition", "when_to_use", "when_not_to_use", "example")

#: Columns of :attr:`Scheme.codes`.
SCHEME_COLUMNS = (
    "theme_id",
    "theme",
    "code",
    "label",
    "definition",
    "when_to_use",
    "when_not_to_use",
    "example",
    "status",
    "replaced_by",
)

DEFAULT_SCHEME_RELPATH = Path("data") / "interviews" / "coding_scheme.yml"

_ID_PREFIX = re.compile(r"^\s*([A-Za-z]{2,4}-\d{2})\b[\s:\-–]*(.*)$")


class SchemeError(ValueError):
    """The coding scheme file is missing or malformed."""


@dataclass(frozen=True)
class Scheme:
    """A parsed coding scheme.

    Parameters
    ----------
    name : str
        Title of the scheme.
    version : str
        Semantic version of the scheme file.
    codes : pandas.DataFrame
        One row per code (active and retired), columns :data:`SCHEME_COLUMNS`.
    themes : pandas.DataFrame
        One row per theme: ``theme_id``, ``theme``, ``description``.
    change_log : list of dict
        ``version``, ``date`` and ``changes`` (list of str), newest first.
    roles : list of str
        Staff roles that may appear in the interview metadata.
    path : Path or None
        The file the scheme was read from.
    """

    name: str
    version: str
    codes: pd.DataFrame
    themes: pd.DataFrame
    change_log: list[dict[str, Any]] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def active_codes(self) -> pd.DataFrame:
        """Codes whose status is ``active``."""
        return self.codes[self.codes["status"] == "active"]

    def theme_of(self, code: str) -> str | None:
        """Return the theme label of a code id, or ``None`` if the id is unknown."""
        hit = self.codes.loc[self.codes["code"] == code, "theme"]
        return None if hit.empty else str(hit.iloc[0])

    def resolve(self, name: object) -> str | None:
        """Map a code name as exported by a coding tool to a scheme code id.

        Parameters
        ----------
        name : object
            The exported code name (``POL-01``, ``POL-01 Practice model`` or ``Practice model``).

        Returns
        -------
        str or None
            The code id (active or retired), or ``None`` when nothing matches.
        """
        if name is None or (isinstance(name, float) and pd.isna(name)):
            return None
        text = str(name).strip()
        if not text:
            return None
        # Tools with hierarchical code trees may export "Theme/Code" or "Theme > Code" paths.
        leaf = re.split(r"\s*(?:/|>|::)\s*", text)[-1]
        by_id = {c.upper(): c for c in self.codes["code"]}
        for candidate in (text, leaf):
            match = _ID_PREFIX.match(candidate)
            if match and match.group(1).upper() in by_id:
                return by_id[match.group(1).upper()]
        by_label = {
            str(lbl).casefold(): c
            for c, lbl in zip(self.codes["code"], self.codes["label"], strict=True)
        }
        for candidate in (text, leaf):
            if candidate.casefold() in by_label:
                return by_label[candidate.casefold()]
        return None


def default_scheme_path(root: Path | None = None) -> Path:
    """Return the tracked scheme file of the project rooted at ``root``."""
    if root is None:
        from cwi.config import ROOT

        root = ROOT
    return Path(root) / DEFAULT_SCHEME_RELPATH


def parse_scheme(raw: dict[str, Any], path: Path | None = None) -> Scheme:
    """Check and convert a parsed scheme mapping into a :class:`Scheme`.

    Parameters
    ----------
    raw : dict
        The YAML document.
    path : Path, optional
        Where it came from (used in error messages).

    Returns
    -------
    Scheme
        The checked scheme.

    Raises
    ------
    SchemeError
        If a required key is missing, a code id is duplicated, or a retired code names no
        existing replacement.
    """
    where = f"Coding scheme {path}" if path else "Coding scheme"
    if not isinstance(raw, dict):
        raise SchemeError(f"{where} is not a YAML mapping; restore it from git.")
    for key in ("version", "themes"):
        if key not in raw:
            raise SchemeError(f"{where} lacks '{key}'; add it (see data/interviews/README.md).")
    rows: list[dict[str, Any]] = []
    themes: list[dict[str, str]] = []
    for theme in raw["themes"]:
        for key in ("id", "label", "codes"):
            if key not in theme:
                raise SchemeError(
                    f"{where}: a theme lacks '{key}'; every theme needs id, label, codes."
                )
        themes.append(
            {
                "theme_id": str(theme["id"]),
                "theme": str(theme["label"]),
                "description": str(theme.get("description", "")),
            }
        )
        for code in theme["codes"]:
            missing = [k for k in CODE_FIELDS if not str(code.get(k, "") or "").strip()]
            if missing:
                raise SchemeError(
                    f"{where}: code {code.get('id', '?')} lacks {', '.join(missing)}; "
                    "fill every field before coding with it."
                )
            status = str(code.get("status", "active"))
            if status not in ("active", "retired"):
                raise SchemeError(
                    f"{where}: code {code['id']} has status '{status}'; use active or retired."
                )
            rows.append(
                {
                    "theme_id": str(theme["id"]),
                    "theme": str(theme["label"]),
                    **{k: str(code[k]).strip() for k in CODE_FIELDS if k != "id"},
                    "code": str(code["id"]),
                    "status": status,
                    "replaced_by": str(code.get("replaced_by") or ""),
                }
            )
    codes = pd.DataFrame(rows, columns=list(SCHEME_COLUMNS))
    dup = codes["code"][codes["code"].duplicated()].tolist()
    if dup:
        raise SchemeError(f"{where}: duplicated code id(s) {', '.join(dup)}; ids must be unique.")
    retired = codes[codes["status"] == "retired"]
    bad = retired[~retired["replaced_by"].isin(codes.loc[codes["status"] == "active", "code"])]
    if not bad.empty:
        raise SchemeError(
            f"{where}: retired code(s) {', '.join(bad['code'])} must name an active replaced_by code."
        )
    return Scheme(
        name=str(raw.get("scheme", "Interview coding scheme")),
        version=str(raw["version"]),
        codes=codes,
        themes=pd.DataFrame(themes, columns=["theme_id", "theme", "description"]),
        change_log=list(raw.get("change_log") or []),
        roles=[str(r) for r in raw.get("roles") or []],
        path=path,
    )


def load_scheme(path: Path | str | None = None) -> Scheme:
    """Read the coding scheme YAML file.

    Parameters
    ----------
    path : Path or str, optional
        Scheme file; defaults to ``data/interviews/coding_scheme.yml`` in the project.

    Returns
    -------
    Scheme
        The checked scheme.

    Raises
    ------
    SchemeError
        If the file is missing, not YAML, or malformed.
    """
    path = Path(path) if path is not None else default_scheme_path()
    if not path.is_file():
        raise SchemeError(
            f"Coding scheme not found: {path}. Restore data/interviews/coding_scheme.yml from git "
            "or pass the path of your scheme."
        )
    try:
        raw = yaml.load(
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
    except yaml.YAMLError as exc:
        raise SchemeError(f"Coding scheme {path} is not valid YAML: {exc}") from exc
    return parse_scheme(raw, path)
