"""Shared fixtures: the project's settings and one full demo build per test session.

The build runs through the same commands Quarto's hooks call (``cwi pre-render``, then the
pandoc site, then ``cwi post-render``), with outputs redirected to a temporary folder by a small
settings override file (``CWI_SETTINGS``). Page sources are generated in the project tree, as in
every build (they are git-ignored).
"""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def built(build_dirs: dict[str, Path]) -> dict[str, Path]:
    """Run a full demo build via the Quarto hook commands; return its folders."""
    override = {
        "output": {
            "build_dir": str(build_dirs["base"] / "build"),
            "results_dir": str(build_dirs["results"]),
            "site_dir": str(build_dirs["site"]),
            "pdf_dir": str(build_dirs["site"] / "pdf"),
        },
        "data": {"private_dir": str(build_dirs["private"])},
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
