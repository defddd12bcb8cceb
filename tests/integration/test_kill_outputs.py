"""Issue 12 item 6: a build killed in the store stage leaves the previous outputs as they were.

(The PDF stage now writes each PDF atomically with an output cache, cwi/site/cache.py; a kill
there leaves every PDF whole, old or new, and no worker running; see tests/unit.)

A copy of the session build is rebuilt stage by stage in a subprocess, which is killed with
SIGKILL (the parent only, as the OOM killer would) at random points while it writes; every file of
the results store and the site (with its PDFs) must then be byte-identical to before, no staging
folder may sit inside the site, and no worker process may outlive the parent.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cwi.config import ROOT
from tests.conftest import cwi_command, env_with_venv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def copy_of_build(built, tmp_path_factory):
    """The session build's store, site and private data copied to a new folder (demo shared)."""
    old = built["base"]
    new = tmp_path_factory.mktemp("killed")
    shutil.copytree(old / "build", new / "build", ignore=shutil.ignore_patterns(".cwi-build.lock"))
    shutil.copytree(old / "_site", new / "_site")
    (new / "demo").symlink_to(old / "demo")
    text = built["settings"].read_text(encoding="utf-8").replace(str(old), str(new))
    (new / "settings.yml").write_text(text, encoding="utf-8")
    return new


def _hashes(*folders: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _group(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(entry.name))
    return alive


def _kill_while_writing(base: Path, stage: str, staging: str, pattern: str, after: int) -> None:
    """Run ``cwi build --stages <stage>``; SIGKILL it once ``after`` files are in its staging."""
    env = env_with_venv() | {"CWI_SETTINGS": str(base / "settings.yml")}
    proc = subprocess.Popen(
        [*cwi_command(), "build", "--stages", stage],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            folders = list((base / "build").glob(f".cwi-staging-{staging}-*"))
            if folders and sum(1 for _ in folders[0].rglob(pattern)) >= after:
                break
            time.sleep(0.005)
        assert proc.poll() is None, f"{stage} ended before the kill: {proc.stderr.read()[-2000:]}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        end = time.monotonic() + 5
        while _group(proc.pid) and time.monotonic() < end:
            time.sleep(0.05)
        assert _group(proc.pid) == [], f"workers outlived the killed {stage} build"
    finally:
        for pid in _group(proc.pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("stage", "staging", "pattern", "most"),
    [("store", "results", "*.csv", 25)],
)
def test_kill_leaves_previous_outputs_byte_identical(copy_of_build, stage, staging, pattern, most):
    base = copy_of_build
    before = _hashes(base / "build" / "results", base / "_site")
    rng = random.Random(f"{stage}-{os.getpid()}")
    for after in sorted(rng.sample(range(most), 2)):
        _kill_while_writing(base, stage, staging, pattern, after)
        assert _hashes(base / "build" / "results", base / "_site") == before, (stage, after)
        assert not [p for p in (base / "_site").rglob(".cwi-*")], "staging inside the site"
