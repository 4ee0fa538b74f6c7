"""Real-browser tests: a real Daphne serving the test database, driven by Chromium.

The server runs as a subprocess on 127.0.0.1 against the test database (a
file for SQLite, the test database for PostgreSQL), so what the browser sees
is what a person would see. One browser context per simulated user.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.helpers import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return "sqlite:///" + str(Path(db["NAME"]).resolve())
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    raise RuntimeError(f"no browser tests on {connection.vendor}")


test_database_url.__test__ = False  # not a test, despite the name


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen, log: Path):
        self.url = url
        self.process = process
        self.log = log

    def __str__(self) -> str:
        return self.url

    def stop(self) -> None:
        """Terminate; kill if it lingers (Daphne waits for open sockets to close)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_daphne(log_dir: Path, env: dict[str, str] | None = None) -> LiveServer:
    """A Daphne on the test database; `env` adds to (or overrides) its environment."""
    port = free_port()
    from django.conf import settings

    env = dict(
        os.environ,
        DATABASE_URL=test_database_url(),
        DJANGO_SETTINGS_MODULE="board.settings",
        # Files the test stores (uploads, DICOM) must be the files the server reads.
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        **(env or {}),
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = log_dir / f"daphne-{port}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "board.serve",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "board.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return LiveServer(url, process, log)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"daphne did not start: {log.read_text()}")


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
        context = browser.new_context(**kwargs)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
