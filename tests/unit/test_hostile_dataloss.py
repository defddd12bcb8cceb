"""Issue 12 item 6: outputs are replaced whole or not at all; nothing outside the build is deleted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from cwi import io
from cwi.demo import MARKER, DemoFolderError, claim_folder
from tests.processes import group_members


def test_a_writer_failing_mid_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "table.csv"
    io.write_text(path, "a,b\n1,2\n3,4\n")
    before = path.read_bytes()

    class DiskFull(OSError):
        pass

    with pytest.raises(DiskFull), io.atomic_open(path) as handle:
        handle.write(b"a,b\n1,")
        raise DiskFull(28, "No space left on device")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]  # no temp file left


def test_a_frame_writer_failing_mid_write_leaves_no_truncated_csv(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    frame = pd.DataFrame({"n": range(1000)})

    def half_then_fail(self, target, **kwargs):
        with open(target, "w") as handle:  # noqa: PTH123 - a writer like pandas'
            handle.write("n\n0\n1\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        io.write_csv(frame, path)
    assert not path.exists() and not list(tmp_path.iterdir())


def test_swap_in_replaces_a_folder_whole(tmp_path):
    target = tmp_path / "results"
    (target / "tables").mkdir(parents=True)
    (target / "tables" / "old.csv").write_text("old")
    staged = io.staging_dir(target)
    (staged / "tables").mkdir()
    (staged / "tables" / "new.csv").write_text("new")
    io.swap_in(staged, target)
    assert [p.name for p in (target / "tables").iterdir()] == ["new.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


def test_recover_restores_a_folder_retired_by_a_killed_swap(tmp_path):
    target = tmp_path / "site"
    retired = tmp_path / f"{io.RETIRED_PREFIX}site-123"
    retired.mkdir()
    (retired / "index.html").write_text("old site")
    (tmp_path / f"{io.STAGING_PREFIX}site-abc").mkdir()
    io.recover(target)
    assert (target / "index.html").read_text() == "old site"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_remove_tree_refuses_anything_outside_the_owned_folders(tmp_path):
    extracts = tmp_path / "extracts"
    (extracts / "E08000025").mkdir(parents=True)
    build = tmp_path / "build"
    (build / "old").mkdir(parents=True)
    for victim in (extracts, tmp_path, build):
        with pytest.raises(io.OutputError, match="Refusing to delete"):
            io.remove_tree(victim, owned=[build])
    io.remove_tree(build / "old", owned=[build])
    assert (extracts / "E08000025").is_dir() and not (build / "old").exists()


def test_demo_dir_pointed_at_extracts_is_never_cleared(tmp_path):
    extracts = tmp_path / "extracts"
    (extracts / "E08000025" / "2023").mkdir(parents=True)
    (extracts / "E08000025" / "2023" / "ssda903.csv").write_text("CHILD\n1\n")
    with pytest.raises(DemoFolderError, match="Nothing was deleted"):
        claim_folder(extracts)
    assert (extracts / "E08000025" / "2023" / "ssda903.csv").read_text() == "CHILD\n1\n"
    demo = tmp_path / "demo"
    claim_folder(demo)
    (demo / "la").mkdir()
    (demo / "pseudo.key").write_text("k")
    claim_folder(demo)  # its own folder: cleared, the demo key kept
    assert sorted(p.name for p in demo.iterdir()) == [MARKER, "pseudo.key"]


def test_a_second_build_is_refused_and_a_dead_holder_does_not_block(tmp_path):
    with (
        io.BuildLock(tmp_path),
        pytest.raises(io.BuildLockError, match=r"Another cwi build is running.*pid"),
    ):
        io.BuildLock(tmp_path).acquire()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from cwi.io import BuildLock; "
            f"BuildLock({str(tmp_path)!r}).acquire(); print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(io.BuildLockError):
        io.BuildLock(tmp_path).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    io.BuildLock(tmp_path).acquire().release()  # the stale lock file is taken over


def test_pool_workers_end_with_their_parent():
    code = (
        "import time\n"
        "from cwi.io import worker_pool\n"
        "pool = worker_pool(2)\n"
        "list(pool.map(abs, [1, 2, 3, 4]))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert parent.stdout.readline().strip() == "ready"
        assert len(group_members(parent.pid)) >= 2  # the parent and its workers
        parent.send_signal(signal.SIGKILL)  # the parent only, as the OOM killer would
        parent.wait()
        deadline = time.monotonic() + 5
        while group_members(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert group_members(parent.pid) == []
    finally:
        for pid in group_members(parent.pid):
            os.kill(pid, signal.SIGKILL)
