"""The executed book: it builds with warnings as errors, and its pages are self-contained."""

import re

import pytest

from conftest import ROOT, chapter_paths

pytestmark = pytest.mark.book


def html_pages(html):
    return [html / path.relative_to(ROOT).with_suffix(".html") for path in chapter_paths()]


def test_every_chapter_is_rendered(built_book):
    for page in html_pages(built_book):
        assert page.is_file(), f"missing page {page}"


def test_no_page_loads_anything_from_another_host(built_book):
    outside = re.compile(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)=["'](?:https?:)?//""")
    for page in html_pages(built_book):
        found = outside.findall(page.read_text(encoding="utf-8"))
        assert not found, f"{page.name} loads from another host: {found}"


def test_mathjax_is_served_locally(built_book):
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for page in html_pages(built_book):
        if 'class="math' in page.read_text(encoding="utf-8"):
            assert "_static/mathjax/tex-chtml.js" in page.read_text(encoding="utf-8")


def test_static_book_has_no_widgets_and_no_raw_widget_text(built_book):
    for page in html_pages(built_book):
        text = page.read_text(encoding="utf-8")
        assert "application/vnd.jupyter.widget" not in text, page.name
        assert not re.search(r"(VBox|HBox|IntSlider|Play)\(children=", text), page.name
        assert "FlowAnimation object" not in text, page.name


def test_chapters_print_no_stderr_and_no_tracebacks(built_book):
    for page in html_pages(built_book):
        text = page.read_text(encoding="utf-8")
        assert "Traceback (most recent call last)" not in text, page.name
        assert "output stderr" not in text, page.name
