"""Shared fixtures: the project's settings and one full demo build per test session.

The build runs through the same commands Quarto's hooks call (``cwi pre-render``, then the
pandoc site, then ``cwi post-render``), with outputs redirected to a temporary folder by a small
settings override file (``CWI_SETTINGS``). Page sources are generated in the project tree, as in
every build (they are git-ignored).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cwi.config import ROOT, SHARED_PUBLIC, load_settings


def cwi_command() -> list[str]:
    """The `cwi` console script of this environment."""
    script = Path(sys.executable).with_name("cwi")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cwi.cli"]


def env_with_venv() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def shared_public() -> Path:
    if not SHARED_PUBLIC.is_dir():
        pytest.skip(f"Real reference data not found at {SHARED_PUBLIC}")
    return SHARED_PUBLIC


@pytest.fixture(scope="session")
def build_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("build")
    return {
        "base": base,
        "settings": base / "settings.yml",
        "site": base / "_site",
        "results": base / "build" / "results",
        "private": base / "build" / "private",
    }


SENTINEL_ID = "SNTL7Q4Z9X"


def plant_sentinels(demo: Path, year: int) -> list[str]:
    """Give one looked-after child a distinctive id; return the id, its DOB and home postcodes.

    The child's rows stay valid, so the child goes through the whole flow; none of the returned
    strings may appear in any output.
    """
    for header in sorted(demo.glob(f"la/*/{year}/ssda903_header.csv")):
        raw = header.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            continue
        try:
            raw.decode("ascii")
        except UnicodeDecodeError:
            continue
        episodes = header.with_name("ssda903_episodes.csv")
        h_rows = list(csv.reader(io.StringIO(raw.decode("ascii"))))
        e_rows = list(csv.reader(io.StringIO(episodes.read_text(encoding="utf-8-sig"))))
        hc, ec = h_rows[0], e_rows[0]
        child_i, dob_i = hc.index("CHILD"), hc.index("DOB")
        home_i, child_e = ec.index("HOME_POST"), ec.index("CHILD")
        for row in h_rows[1:]:
            posts = [e[home_i] for e in e_rows[1:] if e[child_e] == row[child_i]]
            if not posts or not all(len(p.replace(" ", "")) >= 6 for p in posts):
                continue
            old, dob = row[child_i], row[dob_i]
            for r in h_rows[1:]:
                if r[child_i] == old:
                    r[child_i] = SENTINEL_ID
            for e in e_rows[1:]:
                if e[child_e] == old:
                    e[child_e] = SENTINEL_ID
            for path, rows in ((header, h_rows), (episodes, e_rows)):
                buf = io.StringIO()
                csv.writer(buf, lineterminator="\r\n").writerows(rows)
                path.write_text(buf.getvalue(), encoding="utf-8")
            d, m, y = dob.split("/")
            found = {SENTINEL_ID, dob, f"{y}-{m}-{d}"}
            for p in posts:
                found |= {p.strip().upper(), p.replace(" ", "").upper()}
            return sorted(found)
    raise AssertionError("no plain-ASCII SSDA903 CSV in the demo region to plant sentinels in")


@pytest.fixture(scope="session")
def built(build_dirs: dict[str, Path]) -> dict[str, Path]:
    """Run a full demo build via the Quarto hook commands; return its folders.

    The demo region is copied and a sentinel child planted in it first, so the same build also
    serves the no-leak tests.
    """
    from cwi.inputs import ensure_demo_inputs

    project = load_settings()
    ensure_demo_inputs(project)
    demo = build_dirs["base"] / "demo"
    shutil.copytree(project.demo_dir, demo)
    sentinels = plant_sentinels(demo, project.main_year)
    build_dirs["private"].mkdir(parents=True, exist_ok=True)
    (build_dirs["private"] / "sentinels.txt").write_text("\n".join(sentinels), encoding="utf-8")
    build_dirs["sentinels"] = sentinels  # type: ignore[assignment]
    override = {
        "output": {
            "build_dir": str(build_dirs["base"] / "build"),
            "results_dir": str(build_dirs["results"]),
            "site_dir": str(build_dirs["site"]),
            "pdf_dir": str(build_dirs["site"] / "pdf"),
        },
        "data": {"private_dir": str(build_dirs["private"]), "demo_dir": str(demo)},
    }
    build_dirs["settings"].write_text(yaml.safe_dump(override), encoding="utf-8")
    env = env_with_venv() | {"CWI_SETTINGS": str(build_dirs["settings"])}
    for args in (["pre-render"], ["build", "--stages", "site"], ["post-render"]):
        proc = subprocess.run(
            cwi_command() + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0, f"cwi {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return build_dirs


@pytest.fixture(scope="session")
def built_settings(built: dict[str, Path]):
    return load_settings(built["settings"])


def have(command: str) -> bool:
    return shutil.which(command) is not None


@pytest.fixture
def pandoc_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the markdown texts really handed to pandoc (pandoc still runs)."""
    calls: list[str] = []
    from cwi.site import render as render_mod

    real = render_mod._pandoc

    def counting(markdown: str) -> str:
        calls.append(markdown)
        return real(markdown)

    monkeypatch.setattr(render_mod, "_pandoc", counting)
    return calls
