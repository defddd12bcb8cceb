"""Shared fixtures: the project's settings and one full demo build per test session.

The build runs through the same commands Quarto's hooks call (``cwi pre-render``, then the
pandoc site, then ``cwi post-render``), with outputs redirected to a temporary folder by a small
settings override file (``CWI_SETTINGS``). Page sources are generated in the project tree, as in
every build (they are git-ignored).

The suite runs on two pytest-xdist workers (``-n 2 --dist loadgroup`` in pyproject.toml). Every
module that uses the session build (or writes the project tree's page sources) runs on one
worker, in the order written, so the build is made once and nothing else writes the project
tree meanwhile; every other module runs whole on either worker, so its module fixtures are made
once. Builds of other regions run in a copy of the project (:func:`project_copy`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from cwi.config import ROOT, SHARED_PUBLIC, load_settings

#: Fixtures that make or read the session build (and the page sources it writes in the project).
DEMO_FIXTURES = frozenset({"built", "built_settings", "build_dirs"})


#: File (named by the controller) where the workers write each test's scheduling group.
GROUPS_ENV = "CWI_TEST_GROUPS"


def _group_of(items: list[pytest.Item]) -> dict[str, str]:
    """Each test's group: ``demo-build`` for every module of the session build, else its module."""
    demo_modules = {
        item.nodeid.split("::")[0]
        for item in items
        if DEMO_FIXTURES & set(getattr(item, "fixturenames", ()))
        or item.get_closest_marker("project_tree")
    }
    groups = {}
    for item in items:
        own = item.get_closest_marker("xdist_group")
        module = item.nodeid.split("::")[0]
        if own is not None:
            groups[item.nodeid] = str(own.args[0] if own.args else own.kwargs["name"])
        else:
            groups[item.nodeid] = "demo-build" if module in demo_modules else module
    return groups


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") is None and config.getoption("dist", "no") != "no":
        fd, path = tempfile.mkstemp(prefix="cwi-test-groups-", suffix=".json")
        os.close(fd)
        os.environ[GROUPS_ENV] = path  # inherited by the workers, started after this


def pytest_unconfigure(config: pytest.Config) -> None:
    path = os.environ.get(GROUPS_ENV)
    if os.environ.get("PYTEST_XDIST_WORKER") is None and path:
        Path(path).unlink(missing_ok=True)
        del os.environ[GROUPS_ENV]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Workers write each test's group for the controller's scheduler (:func:`_Groups`)."""
    path = os.environ.get(GROUPS_ENV)
    if path and os.environ.get("PYTEST_XDIST_WORKER"):
        tmp = Path(f"{path}.{os.environ['PYTEST_XDIST_WORKER']}")
        tmp.write_text(json.dumps(_group_of(items)), encoding="utf-8")
        tmp.replace(path)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN201
    """``--dist loadgroup`` by :func:`_group_of`: each group runs whole on one worker.

    (xdist's own loadgroup marks a group in the test id, which pytest 9.2 no longer allows.)
    """
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class _Groups(LoadScopeScheduling):
        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:
                path = Path(os.environ[GROUPS_ENV])
                self._groups = json.loads(path.read_text(encoding="utf-8") or "{}")
            return self._groups.get(nodeid, nodeid)

    return _Groups(config, log)


def project_copy(base: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the project at ``base/repo`` (``base/shared`` linked) and an environment whose
    ``cwi`` runs the copy's code: a build there writes its page sources into the copy, never
    into this project's tree, which the session build's tests read meanwhile."""
    from benchmarks.build import copy_env
    from benchmarks.build import project_copy as copy_project

    root = base / "repo"
    if not root.is_dir():  # made once; later builds in the same place reuse the copy
        shared = ROOT.parent / "shared"
        base.mkdir(parents=True, exist_ok=True)
        if shared.exists():
            (base / "shared").symlink_to(shared.resolve(), target_is_directory=True)
        copy_project(root)
    return root, copy_env(env_with_venv(), root)


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
def scanned_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files the leak scanner really reads (it still reads them)."""
    from cwi import leaks

    names: list[str] = []
    real = leaks.scan_file

    def counting(path: Path, *args: object, **kwargs: object) -> object:
        names.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(leaks, "scan_file", counting)
    return names


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
