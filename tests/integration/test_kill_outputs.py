"""Issue 12 item 6: a build killed in the store or PDF stage leaves the previous outputs as they were.

A copy of the session build is rebuilt stage by stage in a subprocess, which is killed with
SIGKILL (the parent only, as the OOM killer would) at random points while it writes; every file of
the results store and the site (with its PDFs) must then be byte-identical to before, no staging
folder may sit inside the site, and no worker process may outlive the parent. The PDF stage is
killed during a rebuild that changes every PDF (a changed print template), so a folder mixing old
and new PDFs would show; the build run after the kills must then complete with the new PDFs and
a render-cache record that matches them.
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
from tests.processes import group_members

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


def _kill_while_writing(
    base: Path, stage: str, staging: str, pattern: str, after: int, settings: str = "settings.yml"
) -> None:
    """Run ``cwi build --stages <stage>``; SIGKILL it once ``after`` files are in its staging."""
    env = env_with_venv() | {"CWI_SETTINGS": str(base / settings)}
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
            try:
                if folders and sum(1 for _ in folders[0].rglob(pattern)) >= after:
                    break
            except FileNotFoundError:  # the staging folder was just swapped in
                pass
            time.sleep(0.005)
        assert proc.poll() is None, f"{stage} ended before the kill: {proc.stderr.read()[-2000:]}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        end = time.monotonic() + 5
        while group_members(proc.pid) and time.monotonic() < end:
            time.sleep(0.05)
        assert group_members(proc.pid) == [], f"workers outlived the killed {stage} build"
    finally:
        for pid in group_members(proc.pid):
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


def test_kill_in_pdf_stage_leaves_previous_pdfs_byte_identical(copy_of_build):
    import json

    import yaml
    from pypdf import PdfReader

    from cwi.fingerprint import file_digest

    base = copy_of_build
    # a changed print template: every PDF (15 profiles and the report) must be rendered again
    templates = base / "templates"
    shutil.copytree(ROOT / "templates", templates, dirs_exist_ok=True)
    for name in ("print.css", "report_print.css"):
        css = (templates / name).read_text(encoding="utf-8")
        new = css.replace("Child welfare inequalities: ", "Kill test: ")
        assert new != css
        (templates / name).write_text(new, encoding="utf-8")
    settings = yaml.safe_load((base / "settings.yml").read_text(encoding="utf-8"))
    settings["output"]["templates_dir"] = str(templates)
    (base / "settings-pdf.yml").write_text(yaml.safe_dump(settings), encoding="utf-8")

    pdf_dir = base / "_site" / "pdf"
    before = _hashes(base / "_site")
    old_pdfs = {p.name: p.read_bytes() for p in pdf_dir.glob("*.pdf")}
    assert len(old_pdfs) >= 16
    rng = random.Random(f"pdf-{os.getpid()}")
    # kill points while PDFs are rendered (the last few finish too close to the swap to aim at)
    for after in sorted(rng.sample(range(len(old_pdfs) - 3), 2)):
        _kill_while_writing(base, "pdf", "pdf", "*.pdf", after, "settings-pdf.yml")
        assert _hashes(base / "_site") == before, ("pdf", after)
        assert not [p for p in (base / "_site").rglob(".cwi-*")], "staging inside the site"

    env = env_with_venv() | {"CWI_SETTINGS": str(base / "settings-pdf.yml")}
    proc = subprocess.run(
        [*cwi_command(), "build", "--stages", "pdf"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    new_pdfs = {p.name: p.read_bytes() for p in pdf_dir.glob("*.pdf")}
    assert sorted(new_pdfs) == sorted(old_pdfs)
    # (a staging folder of the results store killed above stays until the next store build)
    build = base / "build"
    left = [*build.glob(".cwi-staging-pdf-*"), *build.glob(".cwi-retired-pdf-*")]
    assert left == [], "PDF staging left after a completed build"
    record = json.loads((base / "build" / "cache" / "pdf.json").read_text(encoding="utf-8"))
    for name in new_pdfs:
        assert new_pdfs[name] != old_pdfs[name], f"{name} not rendered again"
        first_page = PdfReader(pdf_dir / name).pages[0].extract_text()
        assert "Kill test:" in first_page or name == "report.pdf", name
        entry = record[str((pdf_dir / name).resolve())]
        assert entry["digest"] == file_digest(pdf_dir / name), name
    report = PdfReader(pdf_dir / "report.pdf")
    assert any("Kill test:" in page.extract_text() for page in report.pages[1:4])
