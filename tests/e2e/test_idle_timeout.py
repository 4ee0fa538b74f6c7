"""The idle warning in a real browser: it shows before the idle timeout, "Stay signed in"
keeps the session, working on the page keeps it too, and without an answer the page is
signed out."""

import pytest

from tests.e2e.browser import refusals, shot, sign_in, start_daphne

pytestmark = pytest.mark.browser

IDLE_SECONDS = 20  # the warning shows 10 s before (half the timeout, at most a minute)


@pytest.fixture
def short_idle_server(transactional_db, tmp_path):
    server = start_daphne(tmp_path, env={"SESSION_IDLE_TIMEOUT": str(IDLE_SECONDS)})
    yield server
    server.stop()


def remaining(page) -> int:
    return page.evaluate("async () => (await (await fetch('/account/session/')).json()).remaining")


def test_idle_warning_stay_signed_in_and_sign_out(cast, short_idle_server, new_context):
    base = short_idle_server.url
    context = new_context(bypass_csp=False)  # the policy in force, as for a person
    refused = refusals(context)
    page = sign_in(context, base, "chair")
    page.goto(f"{base}/account/")
    warning = page.get_by_role("alertdialog", name="Are you still there?")
    assert warning.is_hidden()

    warning.wait_for(state="visible", timeout=20_000)
    stay = warning.get_by_role("button", name="Stay signed in")
    # The dialog takes the focus, so a keyboard user answers it at once.
    assert page.evaluate("document.activeElement.textContent.trim()") == "Stay signed in"
    assert 0 < remaining(page) <= 10
    shot(page, "idle-warning.png")

    stay.click()
    warning.wait_for(state="hidden")
    assert remaining(page) > 15
    assert "/account/" in page.url

    # Someone working on the page (here: moving the pointer) is active: no warning.
    for step in range(8):
        page.mouse.move(100 + step * 20, 200)
        page.wait_for_timeout(2_000)
    assert warning.is_hidden()
    assert remaining(page) > 12

    # Nobody answers this time: the page leaves for the login page, and the session is over.
    warning.wait_for(state="visible", timeout=20_000)
    page.wait_for_url("**/accounts/login/**", timeout=20_000)
    page.goto(f"{base}/account/")
    assert "/accounts/login/" in page.url
    assert refused == []
