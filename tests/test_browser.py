"""The rendered book in a real browser, offline: Debian's chromium driven by Playwright.

Pages are served from the built HTML on 127.0.0.1; every request to another
host is blocked and counted. On each page: math is typeset with no MathJax
error, every animation advances when played, every solution opens when
clicked, and the console shows no error.
"""

import functools
import http.server
import shutil
import threading
from urllib.parse import urlparse

import pytest

from conftest import ROOT, chapter_paths

pytestmark = [pytest.mark.book, pytest.mark.browser]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(built_book):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_book))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is needed for the browser test: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def pages():
    return [path.relative_to(ROOT).with_suffix(".html").as_posix() for path in chapter_paths()]


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.outside_requests, page.console_errors = [], []

    def route(request_route):
        host = urlparse(request_route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or request_route.request.url.startswith("data:"):
            request_route.continue_()
        else:
            page.outside_requests.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()


@pytest.mark.parametrize("name", pages())
def test_page_works_offline(server, page, name):
    page.goto(f"{server}/{name}", wait_until="load")
    math_sources = page.locator("span.math, div.math").count()
    if math_sources:
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise",
                               timeout=20000)
        page.evaluate("MathJax.startup.promise")
        assert page.locator("mjx-container").count() >= math_sources, "math left untypeset"
        assert page.locator("mjx-merror").count() == 0, "MathJax reports an error"

    players = page.locator("div.animation")
    for k in range(players.count()):
        player = players.nth(k)
        slider = player.locator("input[type=range]")
        image = player.locator("img")
        before = (slider.input_value(), image.get_attribute("src"))
        player.locator("button[title='Play']").click()
        page.wait_for_timeout(700)
        player.locator("button[title='Pause']").click()
        after = (slider.input_value(), image.get_attribute("src"))
        assert after[0] != before[0] and after[1] != before[1], f"animation {k} did not advance"

    solutions = page.locator("div.solution.dropdown")
    for k in range(solutions.count()):
        solution = solutions.nth(k)
        body = solution.locator("section, div.section, p").last
        assert not body.is_visible(), f"solution {k} is not collapsed"
        solution.locator("button.toggle-button").click()
        body.wait_for(state="visible", timeout=3000)

    assert page.outside_requests == [], f"requests to other hosts: {page.outside_requests}"
    assert page.console_errors == [], f"console errors: {page.console_errors}"
