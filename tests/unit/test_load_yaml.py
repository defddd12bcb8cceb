"""The one YAML reader (:func:`cwi.io.load_yaml`) reads every project file as ``safe_load`` does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cwi.io import load_yaml
from cwi.site.render import split_front_matter

ROOT = Path(__file__).resolve().parents[2]


def project_yaml_texts() -> list[tuple[str, str]]:
    """Every tracked YAML file and every page's front matter, as (name, text)."""
    texts = []
    for path in sorted(ROOT.glob("*.yml")) + sorted((ROOT / "cwi").rglob("*.yml")):
        texts.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    for path in sorted(ROOT.glob("*.qmd")) + sorted((ROOT / "report").glob("*.qmd")):
        text = path.read_text(encoding="utf-8")
        if text.startswith("---"):
            texts.append((str(path.relative_to(ROOT)), text[3 : text.find("\n---", 3)]))
    return texts


def test_project_files_parse_as_safe_load_does() -> None:
    texts = project_yaml_texts()
    assert len(texts) >= 10, [name for name, _ in texts]
    for name, text in texts:
        assert load_yaml(text) == yaml.safe_load(text), name


def test_tricky_scalars_parse_as_safe_load_does() -> None:
    text = (
        "a: 2019-03-31\nb: 1e3\nc: '007'\nd: no\ne: ~\nf: 0o17\ng: .inf\n"
        "h: [1, 2.50, -3]\ni:\n  x: 'é — ü'\n  y: |\n    two\n    lines\n"
    )
    parsed = load_yaml(text)
    assert parsed == yaml.safe_load(text)
    assert parsed["c"] == "007" and parsed["i"]["y"] == "two\nlines\n"


@pytest.mark.parametrize("bad", ["a: [1, 2", "a: !!python/object:os.system {}", "a: b: c"])
def test_bad_or_unsafe_yaml_is_refused(bad: str) -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml(bad)
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(bad)


def test_front_matter_uses_the_same_reader() -> None:
    meta, body = split_front_matter(
        "---\ntitle: 'Q1: clustering'\ndate: 2024-03-31\n---\nText\n", ROOT
    )
    assert meta == {"title": "Q1: clustering", "date": yaml.safe_load("2024-03-31")}
    assert body == "Text\n"
