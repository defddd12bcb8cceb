"""Generated values and fragments: written once, resolved the same way Quarto's shortcodes do."""

from __future__ import annotations

import re

import pytest
import yaml

from cwi.config import ROOT, load_settings
from cwi.site.content import FRAGMENTS_KEY, fragments_dir, write_content
from cwi.site.render import RenderError, render_list, resolve_shortcodes


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Settings of a project in a temporary folder (results store inside it)."""
    monkeypatch.delenv("CWI_FRAGMENTS_DIR", raising=False)
    root = tmp_path / "project"
    root.mkdir()
    (root / "settings.yml").write_bytes((ROOT / "settings.yml").read_bytes())
    return load_settings(root=root)


@pytest.fixture
def settings(project, tmp_path):
    """The same project with its results store outside the project folder."""
    return project.with_overrides(output={"results_dir": str(tmp_path / "results")})


def test_values_and_fragments_round_trip(settings):
    folder = write_content(
        settings,
        {"region": "Demo region", "q1": {"ratio": "4.4"}},
        {"q1_clustering": "| a |\n|---|\n| 1 |\n", "q1/decile_table": "Rates: 12.3\n"},
    )
    assert folder == settings.results_dir / "fragments"
    assert (folder / "q1" / "decile_table.md").read_text(encoding="utf-8") == "Rates: 12.3\n"
    variables = yaml.safe_load((settings.root / "_variables.yml").read_text(encoding="utf-8"))
    # outside the project the folder is named absolutely, as fragment.lua expects
    assert variables[FRAGMENTS_KEY] == folder.resolve().as_posix()
    text = "In {{< var region >}} ({{< var q1.ratio >}}):\n\n{{< fragment q1/decile_table >}}"
    assert resolve_shortcodes(text, variables, folder) == "In Demo region (4.4):\n\nRates: 12.3\n"


def test_fragment_folder_inside_the_project_is_named_relative(project):
    inside = project
    write_content(inside, {}, {"x": "y\n"})
    variables = yaml.safe_load((inside.root / "_variables.yml").read_text(encoding="utf-8"))
    assert variables[FRAGMENTS_KEY] == "build/results/fragments"
    # fragment.lua reads this line with a plain pattern: it must be one unquoted line
    lines = (inside.root / "_variables.yml").read_text(encoding="utf-8").splitlines()
    assert f"{FRAGMENTS_KEY}: build/results/fragments" in lines


def test_env_variable_overrides_the_fragment_folder(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("CWI_FRAGMENTS_DIR", str(tmp_path / "elsewhere"))
    assert fragments_dir(settings) == tmp_path / "elsewhere"


def test_rewriting_removes_fragments_of_an_earlier_build(settings):
    write_content(settings, {}, {"old": "x\n"})
    folder = write_content(settings, {}, {"new": "y\n"})
    assert sorted(p.name for p in folder.iterdir()) == [".cwi-fragments", "new.md"]


@pytest.mark.parametrize(
    ("variables", "fragments", "message"),
    [
        ({}, {"../escape": "x"}, "Fragment name"),
        ({}, {"/abs": "x"}, "Fragment name"),
        ({}, {"a": "see {{< var region >}}"}, "holds a shortcode"),
        ({FRAGMENTS_KEY: "x"}, {}, "reserved"),
    ],
)
def test_bad_content_is_refused(settings, variables, fragments, message):
    with pytest.raises(ValueError, match=message):
        write_content(settings, variables, fragments)


def test_missing_values_fragments_and_includes_are_errors(tmp_path):
    with pytest.raises(RenderError, match="not in _variables.yml"):
        resolve_shortcodes("{{< var nope.x >}}", {"nope": {}}, tmp_path)
    with pytest.raises(RenderError, match="Run `cwi pre-render`"):
        resolve_shortcodes("{{< fragment q9 >}}", {}, tmp_path)
    with pytest.raises(RenderError, match="12491"):
        resolve_shortcodes("{{< include _generated/x.md >}}", {}, tmp_path)


def test_page_sources_use_only_var_and_fragment_shortcodes():
    project = yaml.safe_load((ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    sources = [p for p in render_list(project, ROOT) if "_generated" not in p.parts]
    assert ROOT / "index.qmd" in sources
    used = set()
    for source in sources:
        used |= set(re.findall(r"\{\{<\s*(\w+)", source.read_text(encoding="utf-8")))
    assert used == {"var", "fragment"}
    lua = (ROOT / "_extensions" / "cwi" / "fragment.lua").read_text(encoding="utf-8")
    assert FRAGMENTS_KEY in lua and "CWI_FRAGMENTS_DIR" in lua


def test_a_mistyped_fragment_folder_with_user_files_is_never_deleted(
    settings, tmp_path, monkeypatch
):
    precious = tmp_path / "extracts"
    precious.mkdir()
    (precious / "children.csv").write_text("id\n1\n", encoding="utf-8")
    monkeypatch.setenv("CWI_FRAGMENTS_DIR", str(precious))
    from cwi.site.content import FragmentsFolderError

    with pytest.raises(FragmentsFolderError, match="left untouched"):
        write_content(settings, {}, {"a": "text\n"})
    assert (precious / "children.csv").read_text(encoding="utf-8") == "id\n1\n"
