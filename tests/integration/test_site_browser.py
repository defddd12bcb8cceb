"""The built site as a reader sees it: headless Chromium (Debian's) driven by Playwright."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from cwi.config import ROOT

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


# ---- The site as served over HTTP: every page, keyboard, layout, search, axe-core ------------

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002, ANN001, ANN201
        pass


@pytest.fixture(scope="module")
def served(built):  # noqa: ANN001, ANN201
    """The built site on http://127.0.0.1:<port>/ (a thread http.server, stopped after)."""
    handler = functools.partial(_QuietHandler, directory=str(built["site"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


def _chapters(site: Path) -> list[str]:
    return sorted(f"report/{p.name}" for p in (site / "report").glob("*.html"))


def test_every_page_loads_with_no_console_error_broken_link_or_image(built, browser, served):
    site = built["site"]
    page = browser.new_page()
    problems: list[str] = []
    current = {"path": ""}
    page.on(
        "console", lambda m: m.type == "error" and problems.append(f"{current['path']}: {m.text}")
    )
    page.on("pageerror", lambda e: problems.append(f"{current['path']}: {e}"))
    page.on(
        "response",
        lambda r: r.status >= 400 and problems.append(f"{current['path']}: {r.status} {r.url}"),
    )
    pages = _pages(site)
    assert {"index.html", "search.html", "downloads.html", "la_profiles/index.html"} <= set(pages)
    for path in pages:
        current["path"] = path
        page.goto(served + path, wait_until="networkidle")
        for img in page.eval_on_selector_all(
            "img", "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth > 0])"
        ):
            if not img[1]:
                problems.append(f"{path}: image {img[0]} did not load")
        refs = page.eval_on_selector_all(
            "a[href], link[href], script[src]",
            "els => els.map(e => e.getAttribute('href') || e.getAttribute('src'))",
        )
        for href in refs:
            if href.startswith(("http:", "https:", "mailto:", "#", "data:")):
                continue
            target = (site / path).parent / href.split("#")[0].split("?")[0]
            if not target.resolve().exists():
                problems.append(f"{path}: broken link {href}")
        icon = page.locator("link[rel='icon']")
        assert icon.count() == 1, path
    assert problems == []


def test_every_chapter_is_reachable_by_keyboard_alone_from_the_home_page(built, browser, served):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    reached = set()
    chapters = _chapters(built["site"])
    assert len(chapters) >= 6

    def tab_to(predicate: str, limit: int = 60) -> bool:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(
                f"(() => {{ const el = document.activeElement; return {predicate}; }})()"
            ):
                return True
        return False

    for target in chapters:
        page.goto(served + "index.html")
        href = target.split("/")[-1]
        direct = f"el.matches('a') && el.getAttribute('href').endsWith('{href}')"
        in_menu = page.locator(f"nav .submenu a[href$='{href}']").count() > 0
        if in_menu:
            assert tab_to("el.matches('.menu-button')"), (
                "the Findings menu button is not focusable"
            )
            key = "Enter" if len(reached) % 2 == 0 else "Space"  # both open the menu
            page.keyboard.press(key)
            assert page.locator(".menu-button").get_attribute("aria-expanded") == "true"
            assert page.locator(".submenu").first.is_visible()
        assert tab_to(direct), f"{target} cannot be reached with Tab from the home page"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith(target), (target, page.url)
        reached.add(target)
    assert reached == set(chapters)
    # Escape closes the open menu and returns focus to its button.
    page.goto(served + "index.html")
    tab_to("el.matches('.menu-button')")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    assert page.locator(".menu-button").get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.matches('.menu-button')")


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(built, browser, served, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    wide = []
    for path in _pages(built["site"]):
        page.goto(served + path)
        sizes = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        if sizes[0] > sizes[1]:
            wide.append(f"{path}: {sizes[0]} px wide in a {sizes[1]} px window")
    page.goto(served + "index.html")
    page.locator(".menu-button").click()
    sizes = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert sizes[0] <= sizes[1], f"the open menu is {sizes[0]} px wide at {width} px"
    assert wide == []


def test_wide_tables_scroll_inside_a_labelled_focusable_region(built, browser, served):
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(served + "la_profiles/index.html")
    region = page.locator("main .table-wrap").first
    assert region.get_attribute("role") == "region" and region.get_attribute("tabindex") == "0"
    assert region.get_attribute("aria-label")
    assert region.evaluate("el => el.scrollWidth > el.clientWidth")  # it scrolls, not the page
    for path in _pages(built["site"]):
        page.goto(served + path)
        bare = page.evaluate(
            "document.querySelectorAll('main table:not(.table-wrap > table, .table-scroll > table)')"
            ".length"
        )
        assert bare == 0, f"{path}: a table outside a scrollable region"


def test_link_names_are_unique_on_every_page(built, browser, served):
    page = browser.new_page()
    clashes = []
    for path in _pages(built["site"]):
        page.goto(served + path)
        links = page.eval_on_selector_all(
            "a[href]",
            "els => els.map(e => [(e.getAttribute('aria-label') || e.innerText).trim(),"
            " new URL(e.getAttribute('href'), location.href).pathname])",
        )
        targets: dict[str, set[str]] = {}
        for name, href in links:
            targets.setdefault(name.lower(), set()).add(href)
        clashes += [f"{path}: {n!r} -> {sorted(h)}" for n, h in targets.items() if len(h) > 1]
    assert clashes == []


def test_every_la_page_links_its_own_pdf_and_the_report_pdf_is_linked(built, browser, served):
    site = built["site"]
    page = browser.new_page()
    la_pages = sorted((site / "la_profiles").glob("[A-Z]*.html"))
    assert len(la_pages) == 15
    for html in la_pages:
        page.goto(served + f"la_profiles/{html.name}")
        href = page.locator("a.pdf-link").get_attribute("href")
        assert href == f"../pdf/{html.stem}.pdf"
        response = page.request.get(served + f"pdf/{html.stem}.pdf")
        assert response.ok and response.body().startswith(b"%PDF")
    assert (site / "pdf" / "report.pdf").is_file()
    for path in ["index.html", *_chapters(site)]:
        page.goto(served + path)
        assert page.locator("a[href$='pdf/report.pdf']").count() >= 1, path
    page.goto(served + "index.html")
    assert "These figures are synthetic" in page.locator("main").inner_text()


def test_search_finds_an_la_by_name(built, browser, served):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(served + "la_profiles/index.html")
    link = page.locator("main table a[href$='.html']").nth(3)
    name, href = link.inner_text(), link.get_attribute("href")
    page.goto(served + "index.html")
    page.get_by_role("link", name="Search").click()
    box = page.get_by_label("Search the site")
    box.fill(name)
    box.press("Enter")
    results = page.locator("#search-results a")
    results.first.wait_for()
    assert results.first.inner_text() == name  # the LA's own page ranks first
    assert results.first.get_attribute("href").endswith(href)
    assert "match" in page.locator("#search-status").inner_text()
    # A partial name works too, and the result opens the LA's page.
    box.fill(name[:4].lower())
    box.press("Enter")
    page.locator(f"#search-results a:text-is('{name}')").click()
    assert page.locator("h1.title").inner_text() == name
    assert errors == []


def _axe(page) -> list[dict]:  # noqa: ANN001
    """Violations of every axe-core rule (WCAG 2.x A/AA and best practices), any impact."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )


def test_axe_core_finds_no_violation_of_any_impact_on_every_page_type(built, browser, served):
    if not AXE.is_file():
        pytest.skip("axe-core not installed: run `npm ci` (make setup does)")
    site = built["site"]
    la_pages = sorted((site / "la_profiles").glob("[A-Z]*.html"))
    types = ["index.html", *_chapters(site), "la_profiles/index.html", "downloads.html"]
    types += ["search.html", f"la_profiles/{la_pages[0].name}"]  # every page type
    found = []
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        for path in types:
            page.goto(served + path, wait_until="networkidle")
            found += [f"{width}px {path}: {v}" for v in _axe(page)]
        page.goto(served + "search.html?q=rate")  # with results and the menu open
        page.locator("#search-results a").first.wait_for()
        page.locator(".menu-button").click()
        found += [f"{width}px search.html (results, menu open): {v}" for v in _axe(page)]
    assert found == []


def test_axe_check_is_live(browser):
    """The axe-core check above reports a real violation (so its silence means something)."""
    if not AXE.is_file():
        pytest.skip("axe-core not installed: run `npm ci` (make setup does)")
    page = browser.new_page()
    page.set_content(
        '<html lang="en"><body><main><img src="x.png"><a href="#"></a></main></body></html>'
    )
    assert {"image-alt", "link-name"} <= {v["id"] for v in _axe(page)}
