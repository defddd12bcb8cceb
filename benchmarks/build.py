"""Benchmark of the whole build: each stage's wall time and peak memory, and the naive baselines.

``measure_build`` runs ``cwi build`` in a child process (as a user would), reads the stage times
it prints and samples the resident memory of its whole process tree (workers included) every
50 ms, so each stage gets its own peak. ``naive_per_la`` builds the same LA pages the way one
report per LA is usually made: one fresh Python process per LA that imports the package, loads
the results store and renders that LA's web page and PDF. ``quarto_per_la`` goes further, one
``quarto render profile.qmd -P la_code:X`` per LA through a Jupyter kernel, where Quarto and
Jupyter are available. ``project_copy`` makes the copy of the project every benchmark build runs
in (the project's own files and outputs are never touched); ``keep_only_ingest_cache`` empties a
built copy down to its ingest cache for the "inputs cached" build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

#: A stage time as ``cwi build`` prints it (``  ingest        12.34 s``), a note may follow.
STAGE_LINE = re.compile(r"^\s+(?P<stage>[a-z_]+)\s+(?P<seconds>\d+\.\d+) s(?:\s.*)?$")


#: A stage the build skipped as up to date (``  cube         skipped (up to date)``).
SKIPPED_LINE = re.compile(r"^\s+(?P<stage>[a-z_]+)\s+skipped\b")


def parse_stage_line(line: str) -> tuple[str, float] | None:
    """``(stage, seconds)`` from one line of ``cwi build``'s output, or None.

    A skipped stage gives ``(stage, 0.0)`` only through :func:`parse_skipped_line`.
    """
    match = STAGE_LINE.match(line.rstrip("\n"))
    return (match.group("stage"), float(match.group("seconds"))) if match else None


def parse_skipped_line(line: str) -> str | None:
    """The stage a line of ``cwi build``'s output says was skipped as up to date, or None."""
    match = SKIPPED_LINE.match(line)
    return match.group("stage") if match else None


HERE = Path(__file__).resolve().parent


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (Linux /proc)."""
    total_kb = 0
    stack = [pid]
    seen: set[int] = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, flags=re.M)
        if match:
            total_kb += int(match.group(1))
        try:  # the process may end between two reads: count what is still there
            tasks = list(Path(f"/proc/{p}/task").glob("*/children"))
        except OSError:
            continue
        for task in tasks:
            try:
                stack.extend(int(c) for c in task.read_text().split())
            except OSError:
                continue
    return total_kb / 1024


def cwi_executable() -> list[str]:
    """The ``cwi`` console script of this environment (or ``python -m cwi.cli``)."""
    script = Path(sys.executable).with_name("cwi")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cwi.cli"]


def measure_build(
    settings_file: Path, args: Sequence[str] = ("build",), root: Path | None = None
) -> dict[str, Any]:
    """Run ``cwi <args>`` with ``CWI_SETTINGS=settings_file``; time and size each stage.

    Parameters
    ----------
    settings_file : Path
        Settings override for the run (outputs away from the project's own).
    args : sequence of str
        The ``cwi`` command line.
    root : Path, optional
        A copy of the project (:func:`project_copy`) to run in: its own package is imported
        (``python -m cwi.cli`` with the copy first on ``PYTHONPATH``), so its page sources and
        generated files are the copy's, never the project's.

    Returns
    -------
    dict
        ``wall_s`` (whole command), ``returncode``, ``stages`` (name -> seconds, as the build
        reports them), ``skipped`` (stages it skipped as up to date), ``peak_mb`` (name -> peak resident MB of the process tree during that
        stage), ``peak_total_mb`` and ``stderr_tail`` when the command failed.
    """
    env = dict(os.environ) | {"CWI_SETTINGS": str(settings_file)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [*cwi_executable(), *args]
    if root is not None:
        env = copy_env(env, root)
        command = [sys.executable, "-m", "cwi.cli", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    current = {"stage": "start"}
    peaks: dict[str, float] = {}
    stages: dict[str, float] = {}
    skipped: list[str] = []
    lines: list[str] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss = _tree_rss_mb(proc.pid)
            peaks[current["stage"]] = max(peaks.get(current["stage"], 0.0), rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line.rstrip())
        skipped_stage = parse_skipped_line(line)
        if skipped_stage:
            skipped.append(skipped_stage)
        parsed = parse_stage_line(line)
        if parsed:
            stage, seconds = parsed
            stages[stage] = seconds
            # samples taken so far belong to the stage that just reported
            peaks[stage] = max(peaks.pop(current["stage"], 0.0), peaks.get(stage, 0.0))
            current["stage"] = f"after:{stage}"
    proc.wait()
    done.set()
    sampler.join()
    result: dict[str, Any] = {
        "wall_s": round(time.perf_counter() - start, 2),
        "returncode": proc.returncode,
        "stages": stages,
        "skipped": skipped,
        "peak_mb": {k: round(v) for k, v in peaks.items() if not k.startswith("after:")},
        "peak_total_mb": round(max(peaks.values(), default=0.0)),
    }
    if proc.returncode != 0:
        result["stderr_tail"] = "\n".join(lines[-15:])
    return result


NAIVE_WORKER = """
import sys, time
t0 = time.perf_counter()
from benchmarks.naive_la import render_one
render_one(sys.argv[1])
print(f"{time.perf_counter() - t0:.3f}")
"""


def naive_per_la(settings_file: Path, codes: Sequence[str], root: Path) -> dict[str, Any]:
    """One fresh Python process per LA: import, load the store, render web page and PDF.

    Parameters
    ----------
    settings_file : Path
        The settings of a finished build (its results store is read).
    codes : sequence of str
        LA codes to render.
    root : Path
        Project root (put on ``PYTHONPATH`` so ``benchmarks`` imports).

    Returns
    -------
    dict
        ``n``, ``total_s`` and ``per_la_s``; ``error`` when a worker failed.
    """
    env = dict(os.environ) | {"CWI_SETTINGS": str(settings_file)}
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    start = time.perf_counter()
    for code in codes:
        proc = subprocess.run(
            [sys.executable, "-c", NAIVE_WORKER, code],
            env=env,
            capture_output=True,
            text=True,
            cwd=root,
        )
        if proc.returncode != 0:
            return {"n": len(codes), "error": proc.stderr.strip().splitlines()[-1:]}
    total = time.perf_counter() - start
    return {"n": len(codes), "total_s": round(total, 2), "per_la_s": round(total / len(codes), 2)}


OURS_WORKER = """
import json, sys
from pathlib import Path
from benchmarks.ours_la import render_las
print(json.dumps(render_las(sys.argv[2:], Path(sys.argv[1]))))
"""


def ours_for_codes(
    settings_file: Path, codes: Sequence[str], root: Path, out: Path
) -> dict[str, Any]:
    """Our way for the same LAs as the naive baseline: one fresh process makes them all.

    Runs :func:`benchmarks.ours_la.render_las` in a fresh Python process (imports included, as
    for the naive one), every cache cold, outputs under ``out``.

    Returns
    -------
    dict
        ``n``, ``total_s`` (wall time of the process), ``per_la_s`` and the steps' seconds
        (``steps``); ``error`` when it failed.
    """
    env = dict(os.environ) | {"CWI_SETTINGS": str(settings_file)}
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", OURS_WORKER, str(out), *codes],
        env=env,
        capture_output=True,
        text=True,
        cwd=root,
    )
    total = time.perf_counter() - start
    if proc.returncode != 0:
        return {"n": len(codes), "error": proc.stderr.strip().splitlines()[-1:]}
    steps = json.loads(proc.stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    return {
        "n": len(codes),
        "total_s": round(total, 2),
        "per_la_s": round(total / len(codes), 3),
        "steps": steps,
    }


def quarto_command() -> list[str] | None:
    """A runnable Quarto: ``quarto`` on PATH, else the offline one in ``../shared/tools``."""
    if shutil.which("quarto"):
        return ["quarto"]
    from cwi.config import ROOT

    offline = ROOT.parent / "shared" / "tools" / "quarto" / "bin" / "quarto"
    return [str(offline)] if offline.is_file() else None


def quarto_per_la(
    settings_file: Path, codes: Sequence[str], workdir: Path, root: Path | None = None
) -> dict[str, Any]:
    """One ``quarto render profile.qmd -P la_code:X`` per LA through a Jupyter kernel.

    Needs Quarto (see :func:`quarto_command`) and Jupyter with papermill, which Quarto uses
    for ``-P`` (``pip install -e '.[bench]'``). ``root``: a copy of the project whose package
    the kernel imports.

    Returns
    -------
    dict
        ``n``, ``total_s``, ``per_la_s``, or ``skipped`` with the reason.
    """
    quarto = quarto_command()
    if quarto is None:
        return {"skipped": "no Quarto (neither `quarto` on PATH nor ../shared/tools/quarto)"}
    try:
        import jupyter_client  # noqa: F401
        import nbclient  # noqa: F401
        import papermill  # noqa: F401
    except ImportError:
        return {"skipped": "no Jupyter or papermill: pip install -e '.[bench]'"}
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "naive_profile.qmd", workdir / "profile.qmd")
    env = dict(os.environ) | {"CWI_SETTINGS": str(settings_file), "QUARTO_PYTHON": sys.executable}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if root is not None:
        env = copy_env(env, root)
    node_modules = HERE.parent / "node_modules"
    if (node_modules / ".bin").is_dir():
        env["PATH"] = f"{node_modules / '.bin'}{os.pathsep}{env['PATH']}"
    native_sass = node_modules / "sass-embedded-linux-x64" / "dart-sass" / "sass"
    if native_sass.is_file() and "QUARTO_DART_SASS" not in env:
        env["QUARTO_DART_SASS"] = str(native_sass)  # the faster Sass the Quarto README names
    start = time.perf_counter()
    for code in codes:
        proc = subprocess.run(
            [
                *quarto,
                "render",
                "profile.qmd",
                "-P",
                f"la_code:{code}",
                "--output",
                f"{code}.html",
            ],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            return {"n": len(codes), "error": (proc.stderr or proc.stdout).strip()[-300:]}
    total = time.perf_counter() - start
    return {"n": len(codes), "total_s": round(total, 2), "per_la_s": round(total / len(codes), 2)}


# ---- a copy of the project to build in ---------------------------------------------------------


def project_files(src: Path) -> list[str]:
    """The project's own files: git-tracked plus untracked-but-not-ignored (edits included).

    Without git (an unpacked release) every file outside the generated and tool folders.
    """
    proc = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=src,
        capture_output=True,
        text=True,
    )
    if proc.returncode == 0:
        names = [n for n in proc.stdout.split("\0") if n]
    else:
        skip = {".git", ".venv", "node_modules", "build", "_site", "data", ".quarto"}
        names = [
            str(p.relative_to(src))
            for p in src.rglob("*")
            if p.is_file() and not (set(p.relative_to(src).parts) & skip)
        ]
    return sorted(n for n in names if (src / n).is_file())


def project_copy(dest: Path, src: Path | None = None) -> tuple[Path, list[str]]:
    """Copy the project's own files (:func:`project_files`) to ``dest``; return it and the list.

    ``node_modules`` (the search index's lunr) is linked, not copied. Builds run in the copy
    write their page sources, figures and outputs there: the project's files are never touched.
    """
    from cwi.config import ROOT

    src = Path(src or ROOT)
    names = project_files(src)
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / name, target)
    if (src / "node_modules").is_dir() and not (dest / "node_modules").exists():
        (dest / "node_modules").symlink_to(src / "node_modules", target_is_directory=True)
    return dest, names


def copy_env(env: dict[str, str], root: Path) -> dict[str, str]:
    """``env`` for a process that must import the copy's package (first on ``PYTHONPATH``)."""
    out = dict(env)
    out["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return out


def copy_settings(
    copy: Path, settings: Any, file: Path, extra: dict[str, Any] | None = None
) -> Path:
    """Settings for builds in ``copy``: its own outputs, the project's demo and reference data.

    Every path is absolute (so a process importing either package reads the same folders); the
    data source is the demo, whose generated files (``settings.demo_dir``) are read, not copied.
    """
    override: dict[str, Any] = {
        "output": {
            "build_dir": str(copy / "build"),
            "results_dir": str(copy / "build" / "results"),
            "site_dir": str(copy / "_site"),
            "pdf_dir": str(copy / "_site" / "pdf"),
        },
        "data": {
            "source": "demo",
            "demo_dir": str(settings.demo_dir),
            "reference_dir": str(settings.reference_dir),
            "reference_cache": str(settings.reference_cache),
            "private_dir": str(copy / "build" / "private"),
        },
        "public": {"data_dir": str(settings.public_data_dir)},
    }
    for section, values in (extra or {}).items():
        override.setdefault(section, {}).update(values)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(yaml.safe_dump(override), encoding="utf-8")
    return file


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def keep_only_ingest_cache(copy: Path, settings: Any, own_files: Sequence[str]) -> list[str]:
    """Remove every output and cache of the build in ``copy`` except the ingest cache.

    Removed: ``<build_dir>/cache/*`` and ``<private_dir>/cache/*`` other than ``ingest*``, the
    results store, the site (PDFs included) and the generated page sources (files of the copy
    that are not among ``own_files`` and lie outside the build folder). Returns what was
    removed, relative to ``copy`` where possible.
    """
    removed: list[str] = []

    def drop(path: Path) -> None:
        if path.exists() or path.is_symlink():
            _remove(path)
            try:
                removed.append(str(path.relative_to(copy)))
            except ValueError:
                removed.append(str(path))

    for folder in (settings.build_dir / "cache", settings.private_dir / "cache"):
        if folder.is_dir():
            for child in sorted(folder.iterdir()):
                if not child.name.startswith("ingest"):
                    drop(child)
    drop(settings.results_dir)
    drop(settings.site_dir)
    own = set(own_files)
    build = settings.build_dir.resolve()
    for path in sorted(copy.rglob("*")):
        rel = path.relative_to(copy)
        if rel.parts[0] in ("node_modules", ".quarto") or path.is_dir():
            continue
        if path.resolve().is_relative_to(build) or str(rel) in own:
            continue
        drop(path)
    return removed


def edit_chapter(copy: Path, chapter: str, edit: Any) -> Path:
    """Apply ``edit`` (text -> text) to one chapter of the COPY of the project; return its path."""
    path = copy / chapter
    if not path.resolve().is_relative_to(copy.resolve()):
        raise ValueError(f"{chapter} is not inside the copy {copy}")
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path


# ---- the national demo, cached by seed --------------------------------------------------------

NATIONAL_STAMP = ".cwi-bench-national.json"


def ensure_national_demo(folder: Path, seed: int, n_las: int, years: list[int]) -> dict[str, Any]:
    """Generate the national demo region into ``folder`` unless the same one is there.

    Returns
    -------
    dict
        ``seconds`` (generation time, this run or the run that made it), ``cached`` (True when
        reused) and ``size_mb`` of the files.
    """
    import json

    from cwi.demo import generate

    params = {"seed": seed, "n_las": n_las, "years": list(years), "national": True}
    stamp = folder / NATIONAL_STAMP
    if stamp.is_file():
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        if recorded.get("params") == params:
            return {"seconds": recorded["seconds"], "cached": True, "size_mb": recorded["size_mb"]}
    start = time.perf_counter()
    generate(folder, seed=seed, n_las=n_las, years=list(years), national=True)
    seconds = round(time.perf_counter() - start, 2)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    record = {"params": params, "seconds": seconds, "size_mb": round(size)}
    stamp.write_text(json.dumps(record), encoding="utf-8")
    return {"seconds": seconds, "cached": False, "size_mb": round(size)}


def mark_demo_current(folder: Path, settings: Any) -> None:
    """Write the build's own demo stamp so ``cwi build`` reads ``folder`` without regenerating.

    The national region is made by :func:`ensure_national_demo` (``national=True``), which the
    build's input stage cannot do; its stamp says the folder holds these settings' demo.
    """
    import json

    from cwi.inputs import STAMP, demo_parameters

    (folder / STAMP).write_text(json.dumps(demo_parameters(settings)), encoding="utf-8")
