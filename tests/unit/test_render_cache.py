"""Incremental rendering: pandoc and weasyprint run again only for what changed."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from cwi import fingerprint
from cwi.config import ROOT as PROJECT_ROOT
from cwi.site import pdf as pdf_mod
from cwi.site.cache import FragmentCache, OutputCache, atomic_write_bytes, html_key
from cwi.site.render import Page, page_html, split_front_matter

CHAPTERS = sorted((PROJECT_ROOT / "report").glob("*.qmd"))


def real_pages() -> list[Page]:
    """The report's real chapter sources as pages."""
    pages = []
    for source in CHAPTERS:
        meta, body = split_front_matter(source.read_text(encoding="utf-8"), source)
        pages.append(Page(source, PurePosixPath("report", source.name), meta, body))
    return pages


def test_one_chapter_edit_runs_pandoc_for_that_chapter_only(tmp_path, pandoc_calls):
    pages = real_pages()
    assert len(pages) >= 5
    fragments = FragmentCache(tmp_path / "pandoc")
    first = [page_html(p, fragments) for p in pages]
    assert len(pandoc_calls) == len(pages)
    assert all("<" in html for html in first)

    again = [page_html(p, fragments) for p in pages]
    assert again == first
    assert len(pandoc_calls) == len(pages)  # nothing new went through pandoc

    edited = list(pages)
    p = pages[2]
    edited[2] = Page(p.source, p.rel, p.meta, p.body + "\n\nA sentence added by an analyst.\n")
    third = [page_html(x, fragments) for x in edited]
    assert len(pandoc_calls) == len(pages) + 1
    assert "A sentence added by an analyst." in pandoc_calls[-1]
    assert "A sentence added by an analyst." in third[2]
    assert third[:2] == first[:2] and third[3:] == first[3:]


def test_a_new_code_version_runs_pandoc_again(tmp_path, pandoc_calls, monkeypatch):
    page = real_pages()[0]
    fragments = FragmentCache(tmp_path / "pandoc")
    page_html(page, fragments)
    page_html(page, fragments)
    assert len(pandoc_calls) == 1
    monkeypatch.setattr(fingerprint, "code_version", lambda: "another version")
    page_html(page, fragments)
    assert len(pandoc_calls) == 2


@pytest.fixture
def fake_weasyprint(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the PDF writer by one that writes the HTML's bytes, recording each output."""
    rendered: list[str] = []

    def write(job: tuple[str, str, str, str]) -> str:
        html, _base, out, _kind = job
        atomic_write_bytes(Path(out), html.encode("utf-8"))
        rendered.append(Path(out).name)
        return out

    monkeypatch.setattr(pdf_mod, "_write_one", write)
    return rendered


def make_jobs(tmp_path: Path, template: str, texts: dict[str, str]) -> list[tuple]:
    figures = tmp_path / "figures"
    out = tmp_path / "pdf"
    out.mkdir(exist_ok=True)
    jobs = []
    for code, text in texts.items():
        fig = figures / f"{code}.png"
        html = f'<html><style>{template}</style><p>{text}</p><img src="{fig.as_uri()}"></html>'
        jobs.append((html, str(tmp_path), str(out / f"{code}.pdf"), "profile"))
    return jobs


TEXTS = {"E06000001": "first LA", "E06000002": "second LA", "E06000003": "third LA"}


def test_pdfs_rerender_only_what_changed(tmp_path, fake_weasyprint):
    (tmp_path / "figures").mkdir()
    for code in TEXTS:
        (tmp_path / "figures" / f"{code}.png").write_bytes(code.encode())
    record = tmp_path / "cache" / "pdf.json"

    def run(template: str, texts: dict[str, str]) -> list[str]:
        fake_weasyprint.clear()
        all_out, rendered = pdf_mod.render_jobs(
            make_jobs(tmp_path, template, texts), OutputCache(record), workers=1
        )
        assert [p.name for p in all_out] == [f"{c}.pdf" for c in texts]
        assert sorted(p.name for p in rendered) == sorted(fake_weasyprint)
        return sorted(fake_weasyprint)

    everything = sorted(f"{c}.pdf" for c in TEXTS)
    assert run("body{}", TEXTS) == everything
    assert run("body{}", TEXTS) == []  # unchanged: nothing rendered (record read from disk)

    # one LA's text changed -> that PDF only
    assert run("body{}", {**TEXTS, "E06000002": "second LA, new words"}) == ["E06000002.pdf"]

    # the template changed -> every PDF
    assert run("body{color:red}", {**TEXTS, "E06000002": "second LA, new words"}) == everything

    # an output deleted, another altered by hand -> those two
    texts = {**TEXTS, "E06000002": "second LA, new words"}
    (tmp_path / "pdf" / "E06000001.pdf").unlink()
    (tmp_path / "pdf" / "E06000003.pdf").write_bytes(b"edited")
    assert run("body{color:red}", texts) == ["E06000001.pdf", "E06000003.pdf"]
    assert (tmp_path / "pdf" / "E06000003.pdf").read_bytes() != b"edited"

    # a figure file changed (same path, same HTML) -> that LA's PDF
    (tmp_path / "figures" / "E06000003.png").write_bytes(b"redrawn chart")
    assert run("body{color:red}", texts) == ["E06000003.pdf"]
    assert run("body{color:red}", texts) == []


def test_html_key_follows_referenced_files(tmp_path):
    fig = tmp_path / "a b.png"
    fig.write_bytes(b"one")
    html = f'<img src="{fig.as_uri()}">'
    key = html_key(html)
    assert key == html_key(html)
    fig.write_bytes(b"two")
    assert html_key(html) != key
    fig.unlink()
    assert html_key(html) != key


def test_real_pdf_written_atomically_and_skipped_when_fresh(tmp_path):
    out = tmp_path / "pdf" / "one.pdf"
    out.parent.mkdir()
    jobs = [("<html><body><p>Hello</p></body></html>", str(tmp_path), str(out), "report")]
    cache = OutputCache(tmp_path / "pdf.json")
    _, rendered = pdf_mod.render_jobs(jobs, cache, workers=1)
    assert rendered == [out]
    assert out.read_bytes().startswith(b"%PDF")
    assert [p.name for p in out.parent.iterdir()] == ["one.pdf"]  # no temporary file left
    stamp = out.stat().st_mtime_ns
    _, rendered = pdf_mod.render_jobs(jobs, OutputCache(tmp_path / "pdf.json"), workers=1)
    assert rendered == []
    assert out.stat().st_mtime_ns == stamp


def test_pdf_folder_replaced_whole_or_not_at_all(tmp_path, monkeypatch, fake_weasyprint):
    """A render that fails half-way leaves the previous PDF folder exactly as it was."""
    (tmp_path / "figures").mkdir()
    for code in TEXTS:
        (tmp_path / "figures" / f"{code}.png").write_bytes(code.encode())
    record = tmp_path / "cache" / "pdf.json"
    pdf_mod.render_jobs(make_jobs(tmp_path, "body{}", TEXTS), OutputCache(record), workers=1)
    folder = tmp_path / "pdf"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    inode = (folder / "E06000001.pdf").stat().st_ino
    (folder / "E09999999.pdf").write_bytes(b"an LA no longer in the store")

    real = pdf_mod._write_one
    calls: list[str] = []

    def dies_on_second(job: tuple[str, str, str, str]) -> str:
        calls.append(job[2])
        assert Path(job[2]).parent != folder  # rendered aside, never into the live folder
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real(job)

    monkeypatch.setattr(pdf_mod, "_write_one", dies_on_second)
    changed = {**TEXTS, "E06000002": "new words", "E06000003": "more new words"}
    with pytest.raises(KeyboardInterrupt):
        pdf_mod.render_jobs(
            make_jobs(tmp_path, "body{}", changed),
            OutputCache(record),
            workers=1,
            staging_parent=tmp_path / "build",
        )
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after == {**before, "E09999999.pdf": b"an LA no longer in the store"}
    assert not list((tmp_path / "build").glob(".cwi-*"))

    monkeypatch.setattr(pdf_mod, "_write_one", real)
    fake_weasyprint.clear()
    cache = OutputCache(record)
    outs, rendered = pdf_mod.render_jobs(
        make_jobs(tmp_path, "body{}", changed), cache, workers=1, staging_parent=tmp_path / "build"
    )
    assert sorted(fake_weasyprint) == ["E06000002.pdf", "E06000003.pdf"]
    # the folder now holds exactly this build's PDFs; the fresh one was carried, not rewritten
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{c}.pdf" for c in TEXTS)
    assert (folder / "E06000001.pdf").stat().st_ino == inode
    assert b"new words" in (folder / "E06000002.pdf").read_bytes()
    # the record describes what is on disk after the swap
    saved = OutputCache(record)
    assert sorted(saved.entries) == sorted(str(o.resolve()) for o in outs)
    for out in outs:
        assert saved.entries[str(out.resolve())]["digest"] == fingerprint.file_digest(out)
    assert not list((tmp_path / "build").glob(".cwi-*"))


def test_report_tables_share_one_stylesheet_and_look_the_same(tmp_path):
    """The report's great_tables tables each carry ~60 id-scoped rules; the print document
    keeps one shared copy (weasyprint matched every element against every copy): same text,
    same positions, same pixels."""
    import shutil
    import subprocess

    import pandas as pd
    from great_tables import GT

    weasyprint = pytest.importorskip("weasyprint")
    frame = pd.DataFrame({"IMD decile": [1, 2, 3], "CIN children": [1204, 980, 15]})
    tables = [
        GT(frame, id=f"t{k}").tab_header(title=f"Table {k}").as_raw_html(make_page=False)
        for k in range(3)
    ]
    css = pdf_mod.print_css(PROJECT_ROOT / "templates")
    body = "".join(f"<h2>Part {k}</h2>{t}" for k, t in enumerate(tables))
    shared_body, shared_css = pdf_mod.shared_table_styles(body)
    assert body.count("<style") == 3 and shared_body.count("<style") == 0
    assert shared_body.count('class="gt-print"') == 3 and "#t1" not in shared_css
    before = f"<html><head><style>{css}</style></head><body>{body}</body></html>"
    after = (
        f"<html><head><style>{css}</style><style>{shared_css}</style></head>"
        f"<body>{shared_body}</body></html>"
    )
    weasyprint.HTML(string=before).write_pdf(tmp_path / "before.pdf")
    weasyprint.HTML(string=after).write_pdf(tmp_path / "after.pdf")
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils not installed")
    for name in ("before", "after"):
        subprocess.run(
            ["pdftoppm", "-r", "50", "-png", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
            check=True,
        )
    pages = sorted(tmp_path.glob("before*.png"))
    assert pages
    for page in pages:
        twin = tmp_path / page.name.replace("before", "after")
        assert page.read_bytes() == twin.read_bytes(), page.name


def test_jobs_stream_to_workers_and_a_failing_producer_leaves_the_folder(tmp_path):
    """write_pdfs hands render_jobs a generator (HTML built while earlier PDFs render): every
    job is rendered by the worker processes; if producing a job fails half-way, the workers
    are stopped before the staging folder is removed, and the previous PDFs stay."""
    folder = tmp_path / "pdf"

    def jobs(words: str, fail_at: int | None = None):
        for k in range(3):
            if k == fail_at:
                raise RuntimeError("a profile could not be built")
            html = f"<html><body><p>PDF {k}: {words}</p></body></html>"
            yield (html, str(tmp_path), str(folder / f"{k}.pdf"), "report")

    record = tmp_path / "pdf.json"
    outs, rendered = pdf_mod.render_jobs(
        jobs("first"), OutputCache(record), workers=2, staging_parent=tmp_path / "build"
    )
    assert [p.name for p in outs] == ["0.pdf", "1.pdf", "2.pdf"]
    assert sorted(p.name for p in rendered) == ["0.pdf", "1.pdf", "2.pdf"]
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert all(data.startswith(b"%PDF") for data in before.values())
    with pytest.raises(RuntimeError):
        pdf_mod.render_jobs(
            jobs("second", fail_at=2),
            OutputCache(record),
            workers=2,
            staging_parent=tmp_path / "build",
        )
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert not list((tmp_path / "build").glob(".cwi-*"))
