"""Benchmark of the whole build: each stage's wall time and peak memory, and the naive baselines.

``measure_build`` runs ``cwi build`` in a child process (as a user would), reads the stage times
it prints and samples the resident memory of its whole process tree (workers included) every
50 ms, so each stage gets its own peak. ``naive_per_la`` builds the same LA pages the way one
report per LA is usually made: one fresh Python process per LA that imports the package, loads
the results store and renders that LA's web page and PDF. ``quarto_per_la`` goes further, one
``quarto render profile.qmd -P la_code:X`` per LA through a Jupyter kernel, where Quarto and
Jupyter are available.
"""

from __future__ import annotations

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

STAGE_LINE = re.compile(r"^\s+(?P<stage>[a-z_]+)\s+(?P<seconds>\d+\.\d+) s\s*$")
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
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                stack.extend(int(c) for c in task.read_text().split())
            except OSError:
                continue
    return total_kb / 1024


def cwi_executable() -> list[str]:
    """The ``cwi`` console script of this environment (or ``python -m cwi.cli``)."""
    script = Path(sys.executable).with_name("cwi")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cwi.cli"]


def output_override(base: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write a settings override that sends every output under ``base``; return its path."""
    override: dict[str, Any] = {
        "output": {
            "build_dir": str(base / "build"),
            "results_dir": str(base / "build" / "results"),
            "site_dir": str(base / "_site"),
            "pdf_dir": str(base / "_site" / "pdf"),
        },
        "data": {"private_dir": str(base / "build" / "private")},
    }
    for section, values in (extra or {}).items():
        override.setdefault(section, {}).update(values)
    path = base / "bench-settings.yml"
    base.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(override), encoding="utf-8")
    return path


def measure_build(settings_file: Path, args: Sequence[str] = ("build",)) -> dict[str, Any]:
    """Run ``cwi <args>`` with ``CWI_SETTINGS=settings_file``; time and size each stage.

    Parameters
    ----------
    settings_file : Path
        Settings override for the run (outputs away from the project's own).
    args : sequence of str
        The ``cwi`` command line.

    Returns
    -------
    dict
        ``wall_s`` (whole command), ``returncode``, ``stages`` (name -> seconds, as the build
        reports them), ``peak_mb`` (name -> peak resident MB of the process tree during that
        stage), ``peak_total_mb`` and ``stderr_tail`` when the command failed.
    """
    env = dict(os.environ) | {"CWI_SETTINGS": str(settings_file)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*cwi_executable(), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    current = {"stage": "start"}
    peaks: dict[str, float] = {}
    stages: dict[str, float] = {}
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
        match = STAGE_LINE.match(line)
        if match:
            stage = match.group("stage")
            stages[stage] = float(match.group("seconds"))
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


def quarto_command() -> list[str] | None:
    """A runnable Quarto: ``quarto`` on PATH, else the offline one in ``../shared/tools``."""
    if shutil.which("quarto"):
        return ["quarto"]
    from cwi.config import ROOT

    offline = ROOT.parent / "shared" / "tools" / "quarto" / "bin" / "quarto"
    return [str(offline)] if offline.is_file() else None


def quarto_per_la(settings_file: Path, codes: Sequence[str], workdir: Path) -> dict[str, Any]:
    """One ``quarto render profile.qmd -P la_code:X`` per LA through a Jupyter kernel.

    Needs Quarto (see :func:`quarto_command`) and Jupyter (``pip install -e '.[bench]'``).

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
    except ImportError:
        return {"skipped": "no Jupyter: pip install -e '.[bench]'"}
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "naive_profile.qmd", workdir / "profile.qmd")
    env = dict(os.environ) | {"CWI_SETTINGS": str(settings_file), "QUARTO_PYTHON": sys.executable}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    node_bin = HERE.parent / "node_modules" / ".bin"
    if node_bin.is_dir():
        env["PATH"] = f"{node_bin}{os.pathsep}{env['PATH']}"
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
