"""The browsable book (issue 32): built offline from the committed files with Sphinx warnings as
errors, opened page by page in a real headless browser (Debian's Chromium through its WebDriver):
every page loads, every image renders, every figure is captioned with its number, code is folded,
and nothing is fetched from outside the site."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO, chrome

from pnnsat import book
from pnnsat.catalog import FIGURES


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return book.build(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="module")
def browser():
    driver = chrome()
    yield driver
    driver.quit()


def pages(site: Path) -> list[Path]:
    return [site / "README.html",
            *(site / "figures/notebooks" / f"{name}.html" for name in FIGURES),
            *(site / "docs" / f"{page}.html" for page in book.DOC_PAGES)]


def visit(browser, page: Path) -> dict:
    """Open ``page``; what the browser saw: title, images (source, loaded, width), figure
    captions, code cells and whether their input is folded, resources fetched, console errors."""
    browser.get(page.as_uri())
    browser.execute_script("return document.readyState")  # blocks until the load completes
    seen = browser.execute_script("""
        const imgs = [...document.querySelectorAll('article img')];
        return {
          title: document.title,
          images: imgs.map(i => [i.currentSrc, i.complete, i.naturalWidth]),
          captions: [...document.querySelectorAll('figcaption')].map(c => c.innerText),
          cells: document.querySelectorAll('div.cell').length,
          folded: document.querySelectorAll('div.cell.tag_hide-input').length,
          resources: performance.getEntriesByType('resource').map(r => r.name),
        };""")
    seen["errors"] = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    return seen


def test_every_page_loads_with_its_images_and_nothing_from_outside(site, browser):
    for page in pages(site):
        assert page.is_file(), f"{page} was not built"
        seen = visit(browser, page)
        assert seen["title"] and "pnnsat" in seen["title"], page
        broken = [src for src, complete, width in seen["images"] if not complete or width == 0]
        assert not broken, f"{page.name}: images that do not render: {broken}"
        outside = [r for r in seen["resources"] if not r.startswith("file://")]
        assert not outside, f"{page.name} fetched from outside the site: {outside}"
        assert not seen["errors"], f"{page.name}: console errors {seen['errors']}"


@pytest.mark.parametrize("name", list(FIGURES))
def test_every_figure_page_shows_its_figure_numbered_with_its_caption_and_folded_code(
        site, browser, name):
    seen = visit(browser, site / "figures/notebooks" / f"{name}.html")
    figures = [src for src, _, width in seen["images"] if width > 0]
    assert len(figures) >= 1, f"{name}: no rendered image"
    label = book.figure_label(name)
    assert any(c.startswith(f"{label}.") and FIGURES[name].caption[:40] in c
               for c in seen["captions"]), (name, seen["captions"])
    assert seen["cells"] >= 3 and seen["folded"] == seen["cells"], "every code cell folded"


def test_the_readme_gallery_shows_every_figure(site, browser):
    seen = visit(browser, site / "README.html")
    shown = {Path(src).stem.split(".")[0] for src, _, width in seen["images"] if width > 0}
    assert set(FIGURES) <= shown, sorted(set(FIGURES) - shown)


def test_the_html_names_no_outside_asset(site):
    """Static check of every page: no script, stylesheet or image from a URL (a CDN would
    leave an offline reader with a broken page)."""
    asset = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"(https?:)?//", re.I)
    bad = [p.relative_to(site).as_posix() for p in site.rglob("*.html")
           if asset.search(p.read_text(encoding="utf-8"))]
    assert not bad, bad


def test_staging_refuses_a_docs_page_missing_from_the_book(tmp_path, monkeypatch):
    monkeypatch.setattr(book, "DOC_PAGES", tuple(p for p in book.DOC_PAGES if p != "cluster"))
    with pytest.raises(book.BookError, match="cluster"):
        book.stage(tmp_path / "src")


def test_figure_labels_are_the_papers():
    assert book.figure_label("fig4_thermal_drift") == "Figure 4"
    assert book.figure_label("figS1_rho") == "Figure S1"
    with pytest.raises(book.BookError, match="fig<N>"):
        book.figure_label("thermal")
    assert (REPO / "book/_config.yml").is_file()
