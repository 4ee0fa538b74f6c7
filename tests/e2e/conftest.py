"""Real-browser tests: a real Daphne serving the test database, driven by Chromium.

The server runs as a subprocess on 127.0.0.1 against the test database (a
file for SQLite, the test database for PostgreSQL), so what the browser sees
is what a person would see. One browser context per simulated user.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, start_daphne
from tests.helpers import skip_or_fail


@pytest.fixture
def daphne_server(transactional_db, tmp_path):
    server = start_daphne(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def browser(monkeypatch):
    if not Path(CHROMIUM).exists():
        skip_or_fail("REQUIRE_BROWSER", f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("REQUIRE_BROWSER", "playwright is not installed")
    # Sync Playwright runs an event loop in this thread; Django's ORM must be
    # allowed to run beside it, in this test process only and only meanwhile.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser):
    """One browser context (cookies, storage) per simulated user."""
    contexts = []

    def make(**kwargs):
        kwargs.setdefault("viewport", {"width": 1280, "height": 800})
        # Playwright's wait_for_function evaluates its predicate with eval(), which the
        # Content-Security-Policy refuses; tests/e2e/test_csp.py keeps the policy in force.
        kwargs.setdefault("bypass_csp", True)
        context = browser.new_context(**kwargs)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
