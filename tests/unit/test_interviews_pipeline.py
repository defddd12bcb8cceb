import filecmp
import re
import zipfile

import numpy as np
import pandas as pd
import pytest

from cwi.config import load_settings
from cwi.interviews import build_tables, chapter_markdown, load_scheme, summary_cli, write_demo
from cwi.interviews.demo import LA_PSEUDONYMS, ROLES
from cwi.interviews.tables import la_groups


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("iv") / "demo"
    write_demo(out, seed=7)
    return out


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings().with_overrides(
        output={"build_dir": str(tmp_path_factory.mktemp("build"))}
    )


@pytest.fixture(scope="module")
def sr():
    codes = [f"E0600{i:04d}" for i in range(15)]
    ratio = np.array([1.4] * 5 + [1.0] * 6 + [0.7] * 4)
    return pd.DataFrame(
        {"la_code": codes, "sr": ratio, "lower": ratio - 0.2, "upper": ratio + 0.2}
    )


@pytest.fixture(scope="module")
def demo_tables(settings, sr):
    return build_tables(settings, sr=sr)


def test_demo_is_deterministic_and_labelled(demo_dir, tmp_path):
    again = tmp_path / "again"
    write_demo(again, seed=7)
    files = sorted(p.relative_to(demo_dir) for p in demo_dir.rglob("*") if p.is_file())
    assert len(files) == 45 + 6
    for rel in files:
        assert filecmp.cmp(demo_dir / rel, again / rel, shallow=False), rel
        if rel.suffix == ".qdpx":
            with zipfile.ZipFile(demo_dir / rel) as zf:
                assert "FICTIONAL" in zf.read("project.qde").decode()
                for m in zf.namelist():
                    assert "FICTIONAL" in zf.read(m).decode()
        else:
            assert "FICTIONAL" in (demo_dir / rel).read_text(encoding="utf-8-sig"), rel


def test_demo_content(demo_dir):
    meta = pd.read_csv(demo_dir / "interviews.csv", comment="#")
    assert sorted(meta["la"].unique()) == list(LA_PSEUDONYMS)
    assert set(meta["role"]) == set(ROLES)
    seg = pd.read_csv(demo_dir / "segments_cwi.csv", comment="#")
    coders = seg.groupby("interview_id")["coder"].nunique()
    assert (coders == 2).sum() == 10 and (coders == 3).sum() == 4


def test_build_tables_from_demo(demo_tables):
    tables = demo_tables
    meta = dict(zip(tables["meta"]["key"], tables["meta"]["value"], strict=True))
    assert meta["fictional"] == "yes" and meta["interviews"] == "45" and meta["las"] == "15"
    assert meta["la_groups_linked"] == "yes"
    assert meta["segments_flagged_by_redaction"] == "1"  # the planted "Mrs ..." in INT-20
    sizes = dict(zip(tables["la_groups"]["la_group"], tables["la_groups"]["las"], strict=True))
    assert sizes == {"above expected": 5, "as expected": 6, "below expected": 4, "not linked": 0}
    # each interview counted once in frequencies
    assert tables["freq_theme"]["segments"].sum() == int(meta["segments_counted"])
    assert tables["freq_code"]["segments"].sum() == int(meta["segments_counted"])
    # small counts by role shown as [c], never as 1..9
    for frame in (tables["freq_role"], tables["freq_la_group"]):
        for col in ("segments", "interviews"):
            vals = frame[col].tolist()
            assert not any(isinstance(v, int | np.integer) and 0 < v < 10 for v in vals)
    assert "[c]" in tables["freq_la_group"]["interviews"].tolist()
    # quotes: role + pseudonym only, none with identifiers
    assert tables["quotes"]["attribution"].str.fullmatch(r"[A-Z][a-z ]+, LA-[A-O]").all()
    assert not tables["quotes"]["quote"].str.contains("Mrs").any()
    agr = tables["agreement"].set_index("code")
    assert agr.loc["All codes", "units_3plus"] > 0 and 0 < agr.loc["All codes", "alpha"] <= 1
    # no table carries the private key or raw segment text
    for name, frame in tables.items():
        assert "la_code" not in frame.columns, name
        if name != "quotes":
            assert "text" not in frame.columns, name


def test_same_numbers_from_every_demo_format(settings, demo_dir):
    a = build_tables(settings, demo_dir / "interviews_FICTIONAL.qdpx")
    b = build_tables(settings, demo_dir / "segments_cwi.csv")
    c = build_tables(settings, demo_dir / "segments_taguette.csv")
    pd.testing.assert_frame_equal(a["freq_code"], b["freq_code"])
    pd.testing.assert_frame_equal(a["freq_code"], c["freq_code"])
    pd.testing.assert_frame_equal(a["agreement"], b["agreement"])
    q = build_tables(settings, demo_dir / "segments_qualcoder.csv")
    assert set(q["findings"]["rule"]) == {"unknown_code", "retired_code"}


def test_la_groups_rule():
    frame = pd.DataFrame(
        {
            "la_code": ["a", "b", "c", "d", "d"],
            "measure": ["CLA", "CLA", "CLA", "CLA", "CIN"],
            "sr": [1.3, 0.8, 1.1, 1.0, 2.0],
            "lower": [1.01, 0.7, 0.9, 1.0, 1.5],
            "upper": [1.5, 0.99, 1.3, 1.2, 2.5],
        }
    )
    got = dict(zip(la_groups(frame)["la_code"], la_groups(frame)["la_group"], strict=True))
    assert got == {
        "a": "above expected",
        "b": "below expected",
        "c": "as expected",
        "d": "as expected",
    }


def test_chapter_markdown(demo_tables):
    md = chapter_markdown(demo_tables, load_scheme())
    assert "FICTIONAL" in md
    assert not re.search(r"<\s*/?\s*[a-zA-Z][^>]*>", md), "no raw HTML"
    assert "```" not in md
    for heading in (
        "## Coding scheme",
        "## Agreement between coders",
        "## By staff role",
        "## By local-authority group",
    ):
        assert heading in md
    assert "| POL-01 | Practice model |" in md
    assert "[c]" in md
    assert "Mrs" not in md


def test_chapter_renders_with_pandoc(demo_tables):
    pypandoc = pytest.importorskip("pypandoc")
    md = chapter_markdown(demo_tables, load_scheme())
    html = pypandoc.convert_text(md, "html", format="markdown")
    assert html.count("<table") >= 10


def test_summary_cli_exit_codes(settings, demo_dir, tmp_path, capsys):
    assert summary_cli(demo_dir / "interviews_FICTIONAL.qdpx", settings) == 0
    out = capsys.readouterr().out
    assert "FICTIONAL" in out and "Inter-coder agreement" in out
    assert summary_cli(demo_dir / "segments_qualcoder.csv", settings) == 1
    assert "unknown_code" in capsys.readouterr().out
    assert summary_cli(tmp_path / "missing.qdpx", settings) == 2
    assert "not found" in capsys.readouterr().err
