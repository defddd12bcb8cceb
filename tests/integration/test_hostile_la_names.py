"""Issue 12 item 1 on the real LA page path: hostile LA, region and label names stay text."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest

from cwi.site.render import Page, RenderError, _copy_images, page_html, split_front_matter
from cwi.store import ResultsStore

SCRIPT = '<script>alert("x")</script>'
PRIVATE_IMG = "![x](../build/private/children.parquet)"
ATTACH = '<a rel="attachment" href="../build/private/children.parquet">data</a>'


@pytest.mark.parametrize("name", [f'St. "Helens" {SCRIPT}', f"Oak {PRIVATE_IMG}", ATTACH])
def test_hostile_names_on_the_la_page(built_settings, tmp_path, name):
    from cwi.profiles import load_profile, render_web

    store = ResultsStore(built_settings)
    code = store.profile_codes()[0]
    profile = load_profile(store, code)
    measures = [profile.measures[0].model_copy(update={"label": SCRIPT}), *profile.measures[1:]]
    hostile = profile.model_copy(
        update={"la_name": name, "region_name": f"{SCRIPT} {PRIVATE_IMG}", "measures": measures}
    )
    src = {k: f"_generated/figures/{Path(f.path).name}" for k, f in profile.figures.items()}
    source = render_web(hostile, src, built_settings.templates_dir)
    meta, body = split_front_matter(source, Path("x.qmd"))  # quotes cannot break the YAML
    rel = PurePosixPath(f"la_profiles/{code}.qmd")
    page = Page(built_settings.root / rel, rel, meta, body)
    assert page.title == name  # shown once as text by the autoescaped site shell
    html = page_html(page)
    assert "<script" not in html and not re.search(r"<a\b[^>]*\brel=", html)
    try:
        _copy_images(html, page, built_settings.root, tmp_path / "site")
    except RenderError as exc:  # an image link that slipped through stops the page ...
        assert "figure folders" in str(exc)
    assert not list(tmp_path.rglob("*.parquet"))  # ... and never copies a private file
