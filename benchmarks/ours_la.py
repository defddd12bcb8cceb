"""Our way to make the LA outputs, like for like with the naive baseline (:mod:`naive_la`).

The naive baseline makes one LA's profile, charts, web page and PDF in a fresh process per LA.
This makes the same outputs for many LAs in one process, with the functions the build uses:
the profiles and their charts (:func:`cwi.profiles.build_profiles`, drawn in worker
processes), the LA page sources (:func:`cwi.site.pages.write_la_pages`), their HTML
(:func:`cwi.site.render.render_site` restricted to the LA pages) and their PDFs
(:func:`cwi.site.pdf.render_jobs`, the build's PDF workers). The report, the England page and
the downloads are not made: the naive baseline does not make them either.

Every cache is cold: the build folder (chart, pandoc and PDF caches), the results store
(a copy, so the build's own store is not touched), the site and the PDF folder all lie in
``out``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path


def render_las(codes: Sequence[str], out: Path) -> dict[str, float]:
    """Make ``codes``' profiles, charts, web pages and PDFs under ``out``; return the timings.

    Parameters
    ----------
    codes : sequence of str
        LA codes (every one must have a profile in the build's store).
    out : Path
        An empty folder for the copy of the store, the caches, the site and the PDFs.

    Returns
    -------
    dict
        Seconds of each step (``profiles``, ``pages``, ``site``, ``pdf``) and ``total``
        (including the imports and the settings, everything after the process started).
    """
    start = time.perf_counter()
    from cwi.config import load_settings
    from cwi.profiles import build_profiles
    from cwi.site.cache import OutputCache
    from cwi.site.pages import write_la_pages
    from cwi.site.pdf import ASSETS_ENV, profile_html, render_jobs
    from cwi.site.render import render_site
    from cwi.store import ResultsStore

    project = load_settings()
    store_copy = out / "results"
    shutil.copytree(project.results_dir, store_copy)
    settings = project.with_overrides(
        release={"la_list": list(codes)},
        output={
            "build_dir": str(out / "build"),
            "results_dir": str(store_copy),
            "site_dir": str(out / "_site"),
            "pdf_dir": str(out / "_site" / "pdf"),
        },
    )
    settings.build_dir.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    step = time.perf_counter()
    seconds["setup"] = step - start

    def lap(name: str) -> None:
        nonlocal step
        now = time.perf_counter()
        seconds[name] = round(now - step, 3)
        step = now

    built = build_profiles(settings)
    lap("profiles")
    store = ResultsStore(settings)
    write_la_pages(store, settings)
    lap("pages")
    render_site(settings, only=[f"la_profiles/{code}.qmd" for code in built])
    lap("site")
    import os

    os.environ[ASSETS_ENV] = str(store.profiles_dir)
    jobs = (
        (profile_html(code, settings), str(settings.root), str(settings.pdf_dir / f"{code}.pdf"),
         "profile")
        for code in built
    )  # fmt: skip
    render_jobs(jobs, OutputCache(settings.build_dir / "pdf.json"), 2, settings.build_dir)
    lap("pdf")
    seconds["total"] = round(time.perf_counter() - start, 3)
    seconds["setup"] = round(seconds["setup"], 3)
    missing = [c for c in codes if not (settings.pdf_dir / f"{c}.pdf").is_file()]
    if missing or sorted(built) != sorted(codes):
        raise RuntimeError(f"LA outputs not made for {missing or sorted(set(codes) - set(built))}")
    return seconds
