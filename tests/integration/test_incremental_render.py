"""A second render of an unchanged demo build runs neither pandoc nor weasyprint."""

from __future__ import annotations

from pathlib import Path

from cwi.site import pdf as pdf_mod
from cwi.site import render as render_mod


def test_unchanged_build_renders_nothing_again(built, built_settings, monkeypatch):
    pdfs = sorted((built["site"] / "pdf").glob("*.pdf"))
    assert len(pdfs) >= 15
    before = {p.name: p.stat().st_mtime_ns for p in pdfs}
    # the site is rendered into staging and swapped in whole (atomic), so pages are new files:
    # unchanged means byte-identical, with no pandoc run
    pages_before = {p: p.read_bytes() for p in built["site"].rglob("*.html")}
    pandoc_calls: list[str] = []
    written: list[str] = []
    real_pandoc, real_write = render_mod._pandoc, pdf_mod._write_one

    def pandoc(markdown: str) -> str:
        pandoc_calls.append(markdown)
        return real_pandoc(markdown)

    def write(job: tuple[str, str, str, str]) -> str:
        written.append(Path(job[2]).name)
        return real_write(job)

    real_batch = render_mod._run_batch

    def batch(jobs: list[dict[str, str]], rts: bool) -> list[str] | None:
        pandoc_calls.extend(job["text"] for job in jobs)  # one process for many pages
        return real_batch(jobs, rts)

    monkeypatch.setattr(render_mod, "_pandoc", pandoc)
    monkeypatch.setattr(render_mod, "_run_batch", batch)
    monkeypatch.setattr(pdf_mod, "_write_one", write)
    render_mod.render_site(built_settings)
    out = pdf_mod.write_pdfs(built_settings, workers=1)
    assert pandoc_calls == []
    assert written == []
    assert sorted(p.name for p in out) == sorted(before)
    assert {p.name: p.stat().st_mtime_ns for p in pdfs} == before  # files untouched
    assert {p: p.read_bytes() for p in pages_before} == pages_before
