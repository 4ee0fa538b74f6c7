"""What the browser tests share: starting a real Daphne on the test database, signing in and
joining a live meeting as a person does, and screenshots for a person to look at."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.db import connection

from board.models import User
from tests.cast import PASSWORD
from tests.helpers import totp_device, unused_totp_code

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


def type_password(page, username):
    """The first step of signing in, for a ``username`` of the cast (tests.cast)."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def type_second_factor(page, username):
    """On the second-factor page, type the code the user's authenticator app shows now
    (the cast's phones hold tests.cast.SECOND_FACTOR_SECRET)."""
    page.wait_for_url("**/accounts/second-factor/**")
    user = User.objects.get(username=username)
    page.get_by_label("Code").fill(unused_totp_code(user))
    page.get_by_role("button", name="Verify").click()


def sign_in(context, base_url, username):
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    totp_device(User.objects.get(username=username))  # the user's phone is set up
    type_password(page, username)
    type_second_factor(page, username)
    page.wait_for_url(f"{base_url}/")
    return page


def shot(page, name):
    if os.environ.get("SCREENSHOT_DIR"):  # for a person to look at
        page.screenshot(path=Path(os.environ["SCREENSHOT_DIR"]) / name, full_page=True)


SCREEN = {"width": 1440, "height": 900}


def join(new_context, base: str, username: str, meeting):
    """A member's live page of ``meeting``, connected."""
    page = sign_in(new_context(viewport=SCREEN), base, username)
    page.goto(f"{base}/meetings/{meeting.uuid}/live/")
    page.wait_for_function("document.body.dataset.connection === 'live'")
    return page


def refusals(context) -> list[str]:
    """The Content-Security-Policy refusals the pages of ``context`` report in the console,
    as they come (the context must be made with bypass_csp=False for the policy to apply)."""
    seen: list[str] = []

    def listen(message) -> None:
        if "Content Security Policy" in message.text or message.text.startswith("Refused to"):
            seen.append(message.text)

    context.on("console", listen)
    return seen


def off_the_browser_loop(work, *args, **kwargs):
    """Run ``work`` (a service call that seeds state mid-journey) in a thread of its own and
    return its result: sync Playwright runs an event loop in the test's thread, and a service
    that publishes an event after commit (async_to_sync) refuses to run inside one."""
    from concurrent.futures import ThreadPoolExecutor

    def run():
        try:
            return work(*args, **kwargs)
        finally:
            connection.close()  # this thread's own connection, not the test's

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
