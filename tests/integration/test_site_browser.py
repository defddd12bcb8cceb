"""The built site as a reader sees it: headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

import shutil

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip(
            "chromium not installed: run `make test` as root or `apt-get install -y chromium`"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_reader_goes_from_home_to_an_la_profile_and_its_pdf(built, browser):
    site = built["site"]
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((site / "index.html").as_uri())
    assert "Child welfare inequalities" in page.title()
    page.get_by_role("link", name="LA profiles").first.click()
    assert page.url.endswith("la_profiles/index.html")
    links = page.locator("main table a[href$='.html']")
    assert links.count() == 15
    first_name = links.first.inner_text()
    links.first.click()
    assert page.locator("h1.title").inner_text() == first_name
    # Every image has loaded and carries alternative text.
    images = page.locator("main img")
    assert images.count() >= 1
    for i in range(images.count()):
        img = images.nth(i)
        assert img.evaluate("el => el.complete && el.naturalWidth > 0")
        assert len(img.get_attribute("alt") or "") > 20
    # The PDF link points at a file that exists.
    href = page.locator("a.pdf-link").get_attribute("href")
    pdf = (site / "la_profiles" / href).resolve()
    assert pdf.is_file() and pdf.suffix == ".pdf"
    assert errors == []


def test_every_internal_link_resolves(built, browser):
    site = built["site"]
    page = browser.new_page()
    broken = []
    for html in sorted(site.rglob("*.html")):
        page.goto(html.as_uri())
        for href in page.eval_on_selector_all(
            "a[href]", "els => els.map(e => e.getAttribute('href'))"
        ):
            if href.startswith(("http:", "https:", "mailto:", "#")):
                continue
            target = (html.parent / href.split("#")[0]).resolve()
            if not target.exists():
                broken.append(f"{html.relative_to(site)} -> {href}")
    assert broken == []
