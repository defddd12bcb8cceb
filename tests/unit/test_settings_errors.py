"""Hostile settings (issue 12 item 9, issue 11 typed settings): one clear line, exit 2.

Each bad value is written into a partial override file, as a user would, and run through both
``load_settings`` and the ``cwi`` command line: the message names the key and the fix, the exit
status is 2 and no traceback is printed.
"""

from __future__ import annotations

import subprocess

import pytest

from cwi.config import THRESHOLD_MINIMUMS, SettingsError, load_settings
from tests.conftest import cwi_command, env_with_venv

BAD = [
    ("release:\n  la_list: [X99999999]\n", "release.la_list", "LA code"),
    ("release:\n  years: [2030]\n  main_year: 2030\n", "release.years", "not yet collected"),
    ("disclosure:\n  crosstab_min: six\n", "disclosure.crosstab_min", "integer"),
    ("disclosure: null\n", "disclosure", "empty (null)"),
    ("release:\n  years: 2023\n", "release.years", "list of collection years"),
    ("analysis:\n  measures: [FOO]\n", "analysis.measures", "CIN, CPP, CLA"),
    ("release:\n  main_year: 2020\n", "release.main_year", "not in release.years"),
    ("release:\n  imd_vintage: 2015\n", "release.imd_vintage", "2010, 2019, 2025"),
    ("relase:\n  title: x\n", "relase", "not a known setting"),
    ("data:\n  sourse: demo\n", "data.sourse", "not a known setting"),
    ("disclosure:\n  la_total_min: 3\n", "disclosure.la_total_min", "minimum 6"),
    ("disclosure:\n  crosstab_min: 0\n", "disclosure.crosstab_min", ">= 1"),
    ("disclosure:\n  crosstab_min: -1\n", "disclosure.crosstab_min", ">= 1"),
    ("disclosure:\n  crosstab_min: 7.5\n", "disclosure.crosstab_min", "integer"),
    ("release: [\n", "not valid YAML", "fix the line"),
]


@pytest.mark.parametrize(("text", "key", "fix"), BAD, ids=[b[1] + ":" + b[0][:25] for b in BAD])
def test_bad_setting_names_key_and_fix(tmp_path, text, key, fix):
    path = tmp_path / "settings.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    message = str(info.value)
    assert key in message and fix in message, message
    assert message.count("Settings error") == 1, message


@pytest.mark.parametrize("text", [b[0] for b in BAD[:6]])
def test_bad_setting_exits_2_without_traceback(tmp_path, text):
    path = tmp_path / "settings.yml"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        cwi_command() + ["build", "--stages", "reference", "--settings", str(path)],
        env=env_with_venv(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Settings error" in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "Settings error" in line]) == 1


def test_low_threshold_needs_the_unsafe_flag(tmp_path):
    s = load_settings().with_overrides(
        disclosure={"crosstab_min": 3, "unsafe_allow_low_thresholds": True}
    )
    assert s.disclosure["crosstab_min"] == 3 and s.unsafe_low_thresholds
    assert not load_settings().unsafe_low_thresholds
    assert set(load_settings().disclosure) == set(THRESHOLD_MINIMUMS)
    with pytest.raises(SettingsError, match="unsafe_allow_low_thresholds"):
        load_settings().with_overrides(disclosure={"round_regional_to": 5})
    with pytest.raises(SettingsError, match=">= 1"):  # never 0 or negative, even when unsafe
        load_settings().with_overrides(
            disclosure={"crosstab_min": 0, "unsafe_allow_low_thresholds": True}
        )


def test_every_key_of_settings_yml_is_declared_and_typed():
    s = load_settings()
    dumped = s.as_dict()
    assert dumped["release"]["years"] == [2021, 2022, 2023]
    assert dumped["disclosure"]["unsafe_allow_low_thresholds"] is False
    assert s.la_list is None and s.postcode_directories == []
    assert s.with_overrides(release={"la_list": ["E06000019"]}).la_list == ["E06000019"]
