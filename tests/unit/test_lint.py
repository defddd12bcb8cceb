"""The code style is part of the build: ruff (pycodestyle, pyflakes, isort, pydocstyle numpy...)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cwi.config import ROOT


def test_ruff_check_passes():
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run(
        [str(ruff), "check", "cwi", "tests"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
