"""A demo member signs in with a real browser, sees their work list and reaches their board."""

import os
from pathlib import Path

import pytest

from board.models import User
from tests.e2e.browser import type_password, type_second_factor
from tests.helpers import totp_device

pytestmark = pytest.mark.browser


def sign_in(page, base_url, username):
    totp_device(User.objects.get(username=username))
    page.goto(f"{base_url}/")
    assert "/accounts/login/" in page.url
    type_password(page, username)
    type_second_factor(page, username)
    page.wait_for_url(f"{base_url}/")


def test_member_signs_in_and_sees_the_board(cast, daphne_server, new_context):
    page = new_context().new_page()
    sign_in(page, daphne_server.url, "radiologist")
    # Home is the member's work list; the navigation leads to their boards.
    assert page.get_by_role("heading", name="Awaiting your opinion").is_visible()
    if os.environ.get("SCREENSHOT_DIR"):  # for a person to look at
        page.screenshot(path=Path(os.environ["SCREENSHOT_DIR"]) / "home.png", full_page=True)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Boards").click()
    page.get_by_role("heading", name="Your boards").wait_for()
    card = page.locator(".board-card").get_by_role("link", name=cast.board.name)
    assert card.is_visible()
    assert not page.get_by_role("link", name=cast.other_board.name).count()
    page.locator(".user-name", has_text="Dr Radiologist Test").wait_for()

    card.click()
    page.get_by_role("heading", name="Members").wait_for()
    assert page.get_by_text("The members cover every required specialty.").is_visible()


def test_logout_elsewhere_sends_the_open_page_to_login(cast, daphne_server, new_context):
    context = new_context()
    first = context.new_page()
    sign_in(first, daphne_server.url, "chair")
    # The page's account socket is up before the session ends.
    first.locator("body[data-socket-state='open']").wait_for()
    second = context.new_page()
    second.goto(f"{daphne_server.url}/account/")
    second.get_by_role("button", name="Sign out").click()
    second.wait_for_url("**/accounts/login/**")
    # The first tab learns over its WebSocket and leaves for the login page by itself.
    first.wait_for_url("**/accounts/login/?next=%2F", timeout=10_000)
