"""An expert invited by address opens the emailed link, signs up and sees the case; the
link then opens nothing for anyone else. Real Chromium, real Daphne."""

import base64
import re
import time

import pytest
from django_otp.oath import TOTP

from cases.models import CaseInvite
from tests.cases.factories import make_case
from tests.e2e.browser import shot, sign_in

pytestmark = pytest.mark.browser


def invitation_link(log, base: str, timeout: float = 10) -> str:
    """The link in the invitation email (the server prints mail to its log in development)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"/invites/[A-Za-z0-9_-]+/", log.read_text())
        if found:
            return base + found.group(0)
        time.sleep(0.1)
    raise AssertionError("no invitation email in the server's log")


def test_an_expert_signs_up_through_the_link_and_the_link_is_then_spent(
    cast, daphne_server, new_context
):
    base = daphne_server.url
    case = make_case(cast)

    chair = sign_in(new_context(), base, "chair")
    chair.goto(f"{base}/cases/{case.uuid}/invites/")
    chair.get_by_label("Expert's email").fill("nakamura@kyoto.example")
    chair.get_by_label("Expert's name").fill("Prof. Nakamura")
    chair.get_by_label("Access for (days)").fill("14")
    chair.get_by_role("button", name="Invite").click()
    chair.get_by_text("An invitation link was sent to nakamura@kyoto.example.").wait_for()
    link = invitation_link(daphne_server.log, base)

    expert = new_context().new_page()
    expert.goto(link)
    expert.get_by_role("heading", name=f"Invitation to review case {case.pseudonym}").wait_for()
    expert.get_by_label("Username").fill("nakamura")
    expert.get_by_label("First name").fill("Aiko")
    expert.get_by_label("Last name").fill("Nakamura")
    expert.get_by_label("Specialty").select_option("pathology")
    expert.locator("input[name=password1]").fill("a-long-unusual-Pass-93")
    expert.get_by_label("Password confirmation").fill("a-long-unusual-Pass-93")
    shot(expert, "invite-signup.png")
    expert.get_by_role("button", name="Create my account and accept").click()
    # An invited expert must have a second factor: enrolment first, with an app that reads
    # the key on the page, then the recovery codes, then the case.
    expert.wait_for_url("**/accounts/second-factor/enrol/**")
    key = expert.locator("[data-totp-secret]").inner_text().replace(" ", "")
    expert.get_by_label("Code").fill(f"{TOTP(base64.b32decode(key)).token():06d}")
    expert.get_by_role("button", name="Confirm").click()
    expert.get_by_role("link", name="I have kept them — continue").click()
    expert.wait_for_url(f"{base}/cases/{case.uuid}/")
    assert case.pseudonym in expert.content()
    assert CaseInvite.objects.get().expert.username == "nakamura"

    other = sign_in(new_context(), base, "outsider")
    other.goto(link)
    other.get_by_text("This invitation was already accepted.").wait_for()
    assert other.get_by_role("button", name="Accept the invitation").count() == 0
    chair.goto(f"{base}/cases/{case.uuid}/invites/")
    assert "nakamura" in chair.content()
