"""Under the Content-Security-Policy, the viewer, the live page and the admin still work,
and the browser reports no violation (the console's "Refused to ..." and the
securitypolicyviolation events both count)."""

from __future__ import annotations

import io
import time

import pytest

from board.models import User
from imaging import phantom
from imaging.ingest import ingest_many
from tests.cast import PASSWORD
from tests.e2e.browser import SCREEN, sign_in
from tests.meetings.factories import make_meeting, put_on_agenda, ready_case

pytestmark = pytest.mark.browser

WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


class Watched:
    """A browser context whose pages report every CSP violation."""

    def __init__(self, new_context, **kwargs):
        context = new_context(bypass_csp=False, **kwargs)
        self.context = context
        self.console: list[str] = []
        context.add_init_script(WATCH)
        context.on("page", self.watch)

    def watch(self, page):
        page.on("console", self.log)

    def log(self, message):
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.console.append(text)

    def violations(self, page) -> list[str]:
        return self.console + page.evaluate("window.__cspViolations || []")


def wait_until(page, expression: str, timeout: float = 15) -> None:
    """Playwright's wait_for_function evaluates its predicate with eval(), which the policy
    refuses (no 'unsafe-eval'); page.evaluate goes through the DevTools protocol instead."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false: {expression}"
        page.wait_for_timeout(100)


def phantom_case(cast):
    case = ready_case(cast)
    files = []
    for i, ds in enumerate(phantom.phantom_series(slices=6, size=64, seed=3)):
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        buf.seek(0)
        files.append((f"IM{i}", buf))
    assert ingest_many(case=case, by=cast.radiologist, files=files).stored == 6
    return case


@pytest.fixture
def meeting(cast, transactional_db):
    meeting = make_meeting(cast)
    put_on_agenda(meeting, phantom_case(cast), 1)
    return meeting


def test_the_viewer_works_under_the_policy(cast, meeting, daphne_server, new_context):
    case = meeting.agenda_items.get().case
    watched = Watched(new_context, viewport={"width": 1000, "height": 760})
    page = sign_in(watched.context, str(daphne_server), "radiologist")
    page.goto(f"{daphne_server}/cases/{case.uuid}/viewer/")
    wait_until(
        page,
        "!!window.viewer && [...window.viewer.loaders.values()].some(e => e.loader.loaded === e.loader.count && e.loader.count > 0)",
    )
    page.evaluate("window.viewer.rendered()")
    # The help's Close button, whose inline onclick the policy would refuse.
    page.keyboard.press("?")
    help_box = page.locator("[data-help]")
    assert help_box.is_visible()
    help_box.get_by_role("button", name="Close").click()
    assert help_box.is_hidden()
    # The case page with its sockets, thumbnails and key images.
    page.goto(f"{daphne_server}/cases/{case.uuid}/")
    page.wait_for_load_state("networkidle")
    assert page.locator("img[src*='thumbnail']").first.evaluate("img => img.naturalWidth") > 0
    assert watched.violations(page) == []


def test_the_live_page_connects_under_the_policy(cast, meeting, daphne_server, new_context):
    watched = Watched(new_context, viewport=SCREEN)
    page = sign_in(watched.context, str(daphne_server), "chair")
    page.goto(f"{daphne_server}/meetings/{meeting.uuid}/live/")
    # The socket opened (connect-src); the chair opens the case and takes control.
    wait_until(page, "document.body.dataset.connection === 'live'")
    case = meeting.agenda_items.get().case
    page.get_by_role("button", name=f"Go to case {case.pseudonym}").click()
    wait_until(
        page,
        "!!window.viewer && [...window.viewer.loaders.values()].some(e => e.loader.loaded === e.loader.count && e.loader.count > 0)",
    )
    page.get_by_role("button", name="Take control").click()
    wait_until(page, "document.body.dataset.follow === 'presenting'")
    assert watched.violations(page) == []


def test_the_admin_works_under_the_policy(cast, daphne_server, new_context, transactional_db):
    User.objects.create_superuser("root", "root@example.org", PASSWORD)
    watched = Watched(new_context)
    base = str(daphne_server)
    # The admin site wants the second factor too: the site's sign-in, password then code.
    page = sign_in(watched.context, base, "root")
    page.goto(f"{base}/admin/")
    assert page.get_by_role("heading", name="Site administration").is_visible()
    page.goto(f"{base}/admin/board/user/")
    # The changelist's action bar is drawn by the admin's scripts.
    page.locator("input#action-toggle").check()
    assert page.locator("tr.selected").count() >= 1
    page.goto(f"{base}/admin/board/user/{cast.chair.pk}/change/")
    page.wait_for_load_state("networkidle")
    # The permission pickers are built by SelectFilter2.js.
    assert page.locator(".selector-filter").count() >= 1
    assert watched.violations(page) == []
