"""Settings-driven inputs of the build: the neighbours file, stage names, settings errors."""

from __future__ import annotations

import pytest

from cwi.config import SettingsError, load_settings
from cwi.pipeline import BuildError, read_neighbours, run


def test_neighbours_file_is_read_into_a_mapping(tmp_path):
    csv = tmp_path / "neighbours.csv"
    csv.write_text("la_code,neighbour_code\nX06000001,X06000002\nX06000001,X06000003\n")
    settings = load_settings().with_overrides(analysis={"neighbours_file": str(csv)})
    assert read_neighbours(settings) == {"X06000001": ["X06000002", "X06000003"]}
    assert read_neighbours(load_settings()) is None


def test_neighbours_file_with_wrong_columns_names_the_file(tmp_path):
    csv = tmp_path / "n.csv"
    csv.write_text("code,other\nA,B\n")
    settings = load_settings().with_overrides(analysis={"neighbours_file": str(csv)})
    with pytest.raises(BuildError, match="neighbour_code"):
        read_neighbours(settings)


def test_unknown_stage_is_refused_with_the_list():
    with pytest.raises(BuildError, match="Unknown stage"):
        run(load_settings(), stages=["ingest", "nonsense"])


def test_missing_settings_file_says_what_to_do(tmp_path):
    with pytest.raises(SettingsError, match="CWI_SETTINGS"):
        load_settings(tmp_path / "absent.yml")


def test_partial_override_is_merged_over_the_tracked_settings(tmp_path):
    override = tmp_path / "mine.yml"
    override.write_text("release:\n  main_year: 2022\n")
    s = load_settings(override)
    assert s.main_year == 2022
    assert s.disclosure["crosstab_min"] == 10  # from settings.yml
