"""One pandoc process renders many pages exactly as one pandoc run per page does."""

from __future__ import annotations

from pathlib import PurePosixPath

from cwi.profiles import render_web
from cwi.site import render as render_mod
from cwi.site.cache import FragmentCache
from cwi.site.render import Page, _pandoc, pages_html, pandoc_many, to_pandoc_markdown
from tests.unit.test_profile_render import _profile
from tests.unit.test_render_cache import real_pages

EDGE_CASES = [
    "",
    "No final newline *here*",
    "Unicode: Ynys Môn – “quoted” — 10,000 children ≥ 5\n",
    "| a | b |\n|---|---|\n| " + "long cell " * 12 + "| x |\n",  # wider than 72 columns
    "Raw <b>html</b> is text here, & so is this.\n",
    "Tab\tinside goes through the command line.\n",
]


def _la_pages() -> list[Page]:
    pages = []
    for name in ("Brackenford", 'Bath & <b>"North"</b> East', "St. Helen's [c] *x*"):
        body = render_web(_profile(name), {})
        body = body[body.index("\n---", 3) + 4 :]  # the page body, without its front matter
        rel = PurePosixPath("la_profiles", f"{len(pages)}.qmd")
        pages.append(Page(PurePosixPath(rel), rel, {}, body))  # type: ignore[arg-type]
    return pages


def test_one_process_gives_the_same_html_as_one_run_per_page(pandoc_calls):
    pages = real_pages() + _la_pages()
    markdowns = [render_mod._page_markdown(p) for p in pages]
    assert sum(m.startswith(render_mod._TEMPLATE_MARK) for m in markdowns) == 3
    texts = markdowns + [to_pandoc_markdown(t) for t in EDGE_CASES]
    expected = [_pandoc(t) for t in texts]
    pandoc_calls.clear()
    assert pandoc_many(texts) == expected
    # only the text with a tab went through the command line; the rest in one process
    assert pandoc_calls == [t for t in texts if "\t" in t]
    la_html = expected[len(real_pages()) + 1]
    assert "Bath &amp; &lt;b&gt;" in la_html and "<b>" not in la_html.split("Bath", 1)[1][:40]


def test_pages_html_converts_only_what_the_cache_lacks(tmp_path, pandoc_calls, monkeypatch):
    pages = real_pages()[:3] + _la_pages()
    cache = FragmentCache(tmp_path / "pandoc")
    batches: list[int] = []
    real_many = render_mod.pandoc_many
    monkeypatch.setattr(
        render_mod, "pandoc_many", lambda t: batches.append(len(t)) or real_many(t)
    )
    first = pages_html(pages, cache)
    assert first == [render_mod.page_html(p) for p in pages]
    assert batches == [len(pages)]
    assert pages_html(pages, cache) == first and batches[-1] == 0  # all from the cache
    edited = list(pages)
    edited[1] = Page(pages[1].source, pages[1].rel, pages[1].meta, pages[1].body + "\nAdded.\n")
    third = pages_html(edited, cache)
    assert batches[-1] == 1 and "Added." in third[1]
    assert third[:1] + third[2:] == first[:1] + first[2:]


def test_a_failing_batch_falls_back_to_one_run_per_page(tmp_path, pandoc_calls, monkeypatch):
    monkeypatch.setattr(render_mod, "BATCH_SCRIPT", tmp_path / "missing.lua")
    texts = [render_mod._page_markdown(p) for p in _la_pages()]
    html = pandoc_many(texts)
    assert pandoc_calls == texts
    monkeypatch.undo()
    assert html == pandoc_many(texts)


def test_many_pages_are_split_over_two_processes_in_order(pandoc_calls, monkeypatch):
    texts = [render_mod._page_markdown(p) for p in _la_pages() + real_pages()]
    assert len(texts) >= render_mod.BATCH_SPLIT_MIN
    expected = [_pandoc(t) for t in texts]
    pandoc_calls.clear()
    batches: list[int] = []
    real_batch = render_mod._run_batch
    monkeypatch.setattr(
        render_mod,
        "_run_batch",
        lambda jobs, rts: batches.append(len(jobs)) or real_batch(jobs, rts),
    )
    monkeypatch.setattr(render_mod.os, "cpu_count", lambda: 2)
    assert pandoc_many(texts) == expected  # each page's own HTML, in the pages' order
    assert len(batches) == 2 and sum(batches) == len(texts) and pandoc_calls == []
    monkeypatch.setattr(render_mod.os, "cpu_count", lambda: 1)
    batches.clear()
    assert pandoc_many(texts) == expected and batches == [len(texts)]


def test_a_failing_half_falls_back_alone(pandoc_calls, monkeypatch):
    texts = [render_mod._page_markdown(p) for p in _la_pages() + real_pages()]
    poison = texts[0]
    real_batch = render_mod._run_batch

    def failing(jobs, rts):  # the batch holding the first page fails, the other succeeds
        held = any(j["text"] == render_mod._reader(poison)[1] for j in jobs)
        return None if held else real_batch(jobs, rts)

    monkeypatch.setattr(render_mod, "_run_batch", failing)
    monkeypatch.setattr(render_mod.os, "cpu_count", lambda: 2)
    html = pandoc_many(texts)
    assert poison in pandoc_calls and 0 < len(pandoc_calls) < len(texts)
    monkeypatch.undo()
    assert html == [_pandoc(t) for t in texts]


def test_split_balances_sizes_and_keeps_every_page_once():
    sizes = [50, 10, 10, 10, 10, 5, 5]
    groups = render_mod._split(sizes, 2)
    assert sorted(i for g in groups for i in g) == list(range(len(sizes)))
    totals = [sum(sizes[i] for i in g) for g in groups]
    assert max(totals) - min(totals) <= 10 and all(g == sorted(g) for g in groups)
    assert render_mod._split([3], 2) == [[0]]
