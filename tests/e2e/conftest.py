"""Fixtures for browser tests: a live server on the test database and a real Chromium.

The `app` fixture (tests/conftest.py) empties the database of the current backend and keeps
an app context open so tests can create accounts with tests/factories.py. The live server
serves a second app built on the same database (tests/helpers.py's `serve`).

Chromium is Debian's /usr/bin/chromium, driven through Playwright; `playwright install`
is never needed. A missing browser fails the tests, it never skips them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import ARTIFACTS, DESKTOP, PHONE
from tests.helpers import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Playwright's default of 30 s hides a hung page for too long.
TIMEOUT_MS = 10_000


@pytest.fixture
def live_server(app, tmp_root: str) -> Iterator[str]:
    """Serve the app over real HTTP on 127.0.0.1; yields the base URL."""
    with serve(app, tmp_root) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium for the whole run; every test gets its own context."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
            "Install it with `apt-get install chromium` (not `playwright install`)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _page(browser, **context_options) -> Iterator:
    context = browser.new_context(**context_options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def browser_page(browser) -> Iterator:
    """A fresh desktop-sized page (1280x900) in its own browser context."""
    yield from _page(browser, viewport=DESKTOP)


@pytest.fixture
def phone_page(browser) -> Iterator:
    """A fresh phone-sized page (390x844, mobile viewport rules, touch)."""
    yield from _page(browser, viewport=PHONE, is_mobile=True, has_touch=True)


@pytest.fixture
def screenshot(backend: str) -> Callable:
    """`screenshot(page, name)` saves test-artifacts/<name>-<backend>.png (full page)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}-{backend}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
