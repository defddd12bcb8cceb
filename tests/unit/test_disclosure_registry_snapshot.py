"""The registry of published tables against its reviewed snapshot, field by field.

How every published table is protected (count columns, dimensions, additive lines, threshold
level, the columns hidden with each count, aliases, constants, uniform columns) and the margins
shared between tables are written out in ``registry_snapshot.yml``. A refactor of
:mod:`cwi.disclosure.registry` must leave it unchanged; a deliberate change to a table's
protection shows up here and in the snapshot's diff, where a reviewer can read it. After such a
change, rewrite the snapshot with ``CWI_UPDATE_REGISTRY_SNAPSHOT=1`` and review the diff.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from cwi.disclosure.registry import MARGINS, REGISTRY

SNAPSHOT = Path(__file__).with_name("registry_snapshot.yml")


def _plain(value):
    """JSON-ready form of a spec field: dataclasses by field, callables by name."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if callable(value):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def registry_snapshot() -> dict:
    """Every published table (in registry order) and every margin, as plain data."""
    return {
        "tables": [_plain(t) for t in REGISTRY.values()],
        "margins": [_plain(m) for m in MARGINS],
    }


def dump(snapshot: dict) -> str:
    """The snapshot as YAML, one field a line, short lists inline (readable diffs)."""
    return yaml.safe_dump(snapshot, sort_keys=False, default_flow_style=None, width=99)


def test_registry_matches_reviewed_snapshot():
    now = registry_snapshot()
    if os.environ.get("CWI_UPDATE_REGISTRY_SNAPSHOT"):
        SNAPSHOT.write_text(dump(now), encoding="utf-8")
    saved = yaml.safe_load(SNAPSHOT.read_text(encoding="utf-8"))
    assert [t["name"] for t in now["tables"]] == [t["name"] for t in saved["tables"]]
    for got, want in zip(now["tables"], saved["tables"], strict=True):
        assert got == want, f"{got['name']}: protection differs from the reviewed snapshot"
    assert now["margins"] == saved["margins"]
