"""`quarto render` on a fresh clone renders the whole project, the same pages as `cwi build`.

The repository is cloned into a new folder (beside a link to ``../shared``, as on a real
machine) and rendered with nothing but ``quarto render``: the ``pre-render`` hook builds the
results store, the LA pages, ``_variables.yml`` and the fragments; Quarto renders every page;
the ``post-render`` hook writes the PDFs and runs the leak scan. The pages are then compared with
the ``cwi build`` site of the session (fixture ``built``): same numbers, figures and navigation.

Quarto: a ``quarto`` on PATH if there is one, else the offline Quarto 1.7.34 in
``../shared/tools/quarto`` (Deno from the ``deno`` wheel, pandoc from ``pypandoc-binary``,
esbuild and Sass from ``node_modules``: ``make test`` installs them). Without either, skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import pytest
import yaml
from lxml import html as lxml_html

from cwi.config import ROOT
from cwi.leaks import scan_paths
from tests.conftest import env_with_venv

pytestmark = pytest.mark.slow

SHARED = ROOT.parent / "shared"
OFFLINE_QUARTO = SHARED / "tools" / "quarto" / "bin" / "quarto"
NODE_BIN = ROOT / "node_modules" / ".bin"
NATIVE_SASS = ROOT / "node_modules" / "sass-embedded-linux-x64" / "dart-sass" / "sass"
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?")
COMMIT = re.compile(r"\b[0-9a-f]{7,40}\b")


def quarto_command() -> tuple[list[str], dict[str, str]]:
    """The Quarto to run and the environment it needs; skip the test if there is none."""
    installed = shutil.which("quarto")
    if installed and not os.environ.get("CWI_OFFLINE_QUARTO"):
        return [installed], {}
    if not OFFLINE_QUARTO.is_file():
        pytest.skip("no `quarto` on PATH and no offline Quarto in ../shared/tools/quarto")
    deno = Path(sys.executable).with_name("deno")
    if not deno.is_file() or not (NODE_BIN / "esbuild").exists():
        pytest.skip("offline Quarto needs the deno wheel and node_modules: run `make test`")
    sass = NATIVE_SASS if NATIVE_SASS.is_file() else NODE_BIN / "sass"
    env = {
        "QUARTO_DENO": str(deno),
        "QUARTO_ESBUILD": str(NODE_BIN / "esbuild"),
        "QUARTO_DART_SASS": str(sass),
    }
    return [str(OFFLINE_QUARTO)], env


@pytest.fixture(scope="module")
def quarto_site(built, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Clone HEAD into a fresh folder and run `quarto render` there; return what it made."""
    command, quarto_env = quarto_command()
    base = tmp_path_factory.mktemp("quarto")
    (base / "shared").symlink_to(SHARED.resolve(), target_is_directory=True)
    clone = base / "repo"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
        check=True,
        capture_output=True,
    )
    generated = [
        p
        for p in ("_variables.yml", "_site", "build", "downloads", "report/_generated")
        if (clone / p).exists()
    ]
    assert not generated, f"the clone already holds generated files: {generated}"
    assert [p.name for p in (clone / "la_profiles").glob("*.qmd")] == ["index.qmd"]
    # The same demo inputs (with the planted sentinel child) as the `cwi build` site; the
    # results store outside the project, as a user may configure it.
    override = {
        "output": {"build_dir": str(base / "build"), "results_dir": str(base / "results")},
        "data": {
            "demo_dir": str(built["base"] / "demo"),
            "private_dir": str(built["private"]),
        },
    }
    settings_file = base / "settings.yml"
    settings_file.write_text(yaml.safe_dump(override), encoding="utf-8")
    env = env_with_venv() | quarto_env
    env |= {
        "CWI_SETTINGS": str(settings_file),
        "PYTHONPATH": str(clone),  # the hooks run the clone's code, not this checkout's
        "XDG_CACHE_HOME": str(base / "cache"),
    }
    env.pop("CWI_FRAGMENTS_DIR", None)
    start = time.perf_counter()
    proc = subprocess.run(
        [*command, "render"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    seconds = time.perf_counter() - start
    output = proc.stdout + proc.stderr
    (base / "quarto-render.log").write_text(output, encoding="utf-8")
    print(f"quarto render on a fresh clone: {seconds:.0f} s")
    return {
        "clone": clone,
        "site": clone / "_site",
        "returncode": proc.returncode,
        "output": output,
        "seconds": seconds,
    }


#: The `cwi build` site's search page; Quarto has its own search box instead.
PANDOC_ONLY = frozenset({"search.html"})


def _pages(site: Path) -> set[PurePosixPath]:
    return {
        PurePosixPath(p.relative_to(site).as_posix())
        for p in site.rglob("*.html")
        if "site_libs" not in p.parts and p.name not in PANDOC_ONLY
    }


def _main(path: Path) -> lxml_html.HtmlElement:
    doc = lxml_html.parse(str(path)).getroot()
    main = doc.xpath("//main")
    assert main, f"{path} has no <main>"
    for node in main[0].xpath(".//script | .//style"):
        node.drop_tree()
    return main[0]


def _numbers(path: Path) -> list[str]:
    """Every number in the page's main text, but the build time and commit (methods page)."""
    text = TIMESTAMP.sub("<time>", " ".join(_main(path).itertext()))
    return NUMBER.findall(COMMIT.sub("<commit>", text))


def _figures(path: Path) -> list[str]:
    return [PurePosixPath(src).name for src in _main(path).xpath(".//img/@src")]


def _navigation(path: Path, site: Path) -> set[str]:
    """Site pages the navbar links to, relative to the site root."""
    doc = lxml_html.parse(str(path)).getroot()
    targets = set()
    for href in doc.xpath("//header[not(ancestor::main)]//a/@href"):
        href = href.split("#")[0]
        if (
            not href.endswith(".html")
            or re.match(r"^[a-z]+:", href)
            or PurePosixPath(href).name in PANDOC_ONLY
        ):
            continue
        target = (path.parent / href).resolve()
        targets.add(target.relative_to(site.resolve()).as_posix())
    return targets


def test_render_exits_cleanly_with_no_error_line(quarto_site):
    output = quarto_site["output"]
    assert quarto_site["returncode"] == 0, output[-4000:]
    errors = [line for line in output.splitlines() if "ERROR" in line]
    assert not errors, "\n".join(errors[:20])
    assert "Output created" in output


def test_every_page_la_page_and_pdf_is_written(quarto_site, built):
    site = quarto_site["site"]
    assert quarto_site["returncode"] == 0, quarto_site["output"][-4000:]
    expected = _pages(built["site"])
    assert PurePosixPath("index.html") in expected
    assert _pages(site) == expected
    codes = sorted(p.stem for p in (built["results"] / "profiles").glob("*.json"))
    assert len(codes) == 15
    for code in codes:
        assert (site / "la_profiles" / f"{code}.html").is_file(), code
        pdf = site / "pdf" / f"{code}.pdf"
        assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-", code
    assert (site / "pdf" / "report.pdf").is_file()
    # templates and generated page sources are not published
    assert not (site / "templates" / "la_profile.qmd.j2").exists()
    assert not list(site.rglob("*.qmd")) and not list(site.rglob("*.j2"))
    # the results store (with the fragments) was written where the settings said, not the clone
    assert (
        quarto_site["clone"].parent / "results" / "fragments" / "home" / "key_findings.md"
    ).is_file()
    assert not (quarto_site["clone"] / "build").exists()


def test_leak_scan_passes_on_the_quarto_site(quarto_site, built):
    site = quarto_site["site"]
    assert quarto_site["returncode"] == 0, quarto_site["output"][-4000:]
    assert (site / "search.json").is_file()  # Quarto's search index is scanned too
    findings = scan_paths(site, sentinels=built["sentinels"])
    assert not findings, findings[:10]


def test_pages_match_the_cwi_build_site(quarto_site, built):
    """Same numbers, same figures and same navigation on every page as the pandoc path."""
    site = quarto_site["site"]
    assert quarto_site["returncode"] == 0, quarto_site["output"][-4000:]
    pages = sorted(_pages(built["site"]))
    assert len(pages) >= 25
    for rel in pages:
        quarto_page, pandoc_page = site / rel, built["site"] / rel
        numbers = _numbers(pandoc_page)
        assert _numbers(quarto_page) == numbers, rel
        assert _figures(quarto_page) == _figures(pandoc_page), rel
        assert _navigation(quarto_page, site) == _navigation(pandoc_page, built["site"]), rel
    # the home page shows the region's rates from _variables.yml and the key-findings fragment
    home = " ".join(_main(site / "index.html").itertext())
    assert "Key findings" in home and "per 10,000 children" in home


@pytest.mark.browser
def test_quarto_navigation_menu_opens_on_click_and_is_readable(quarto_site):
    """The site stylesheet styles the pandoc shell's navbar only, not Quarto's Bootstrap one.

    (Unscoped ``.navbar`` rules once showed Quarto's Findings menu open on every page, white on
    white.)
    """
    if not Path("/usr/bin/chromium").is_file():
        pytest.skip("Debian chromium is not installed (make sysdeps)")
    from playwright.sync_api import sync_playwright

    assert quarto_site["returncode"] == 0, quarto_site["output"][-4000:]
    url = (quarto_site["site"] / "index.html").as_uri()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        menu = page.locator("#quarto-header .dropdown-menu").first
        assert not menu.is_visible(), "the Findings menu is open before anyone clicks it"
        page.locator("#quarto-header .dropdown-toggle").first.click()
        assert menu.is_visible()
        item = menu.locator(".dropdown-item").first
        target = (quarto_site["site"] / "index.html").parent / item.get_attribute("href")
        colours = item.evaluate(
            "e => [getComputedStyle(e).color, getComputedStyle(e.closest('.dropdown-menu'))"
            ".backgroundColor]"
        )
        assert colours[0] != colours[1], colours
        item.click()
        assert target.is_file() and page.url == target.resolve().as_uri()
        browser.close()
