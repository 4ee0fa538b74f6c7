"""The decisions panel in real Chromium: ballots over fetch, live counts, a kept half-filled
ballot, the outcome and the signature reaching a page that never reloads."""

import datetime

import pytest
from django.utils import timezone

from cases.access import case_access
from cases.models import Case
from decisions import services as actions
from tests.cases.factories import make_case
from tests.cast import PASSWORD
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def voting_case(cast, transactional_db):
    """Made before the browser starts: its events publish outside Playwright's event loop."""
    case = make_case(cast, status=Case.Status.SCHEDULED)
    actions.proposal_create(
        access=case_access(cast.surgeon, case),
        data={"category": "surgery", "text": "Wide resection.", "guideline": "none"},
    )
    actions.vote_round_open(
        access=case_access(cast.chair, case), deadline=timezone.now() + datetime.timedelta(days=1)
    )
    return case


def test_vote_close_and_sign_live(cast, voting_case, daphne_server, new_context):
    base = daphne_server.url
    case = voting_case
    case_url = f"{base}/cases/{case.uuid}/"

    radiologist = sign_in(new_context(), base, "radiologist")
    radiologist.goto(case_url)
    radiologist.locator("#opinions[data-live='open']").wait_for()
    radiologist.evaluate("window.__notReloaded = true")
    panel = radiologist.locator("#decisions")
    panel.locator("#vote-form input[value=disagree]").check()  # half-filled, not sent yet

    surgeon = sign_in(new_context(), base, "surgeon")
    surgeon.goto(case_url)
    surgeon.locator("#vote-form input[value=agree]").check()
    surgeon.get_by_role("button", name="Cast my vote").click()
    surgeon.locator("#my-vote").wait_for()
    assert surgeon.evaluate("location.pathname") == f"/cases/{case.uuid}/"  # no navigation

    panel.locator("[data-vote-count]", has_text="1 of 5").wait_for()
    assert panel.locator("#vote-form input[value=disagree]").is_checked()  # kept
    panel.get_by_label("Comment").fill("Margins unlikely without RT.")
    panel.get_by_role("button", name="Cast my vote").click()
    panel.locator("#my-vote").wait_for()

    chair = sign_in(new_context(), base, "chair")
    chair.goto(case_url)
    chair.get_by_role("button", name="Close the vote and count").click()
    chair.locator("#vote-outcome").wait_for()
    panel.locator("#vote-outcome", has_text="No quorum").wait_for()

    chair.get_by_text("Draft the recommendation").click()
    chair.locator("#consensus-form select[name=consensus-category]").select_option("surgery")
    chair.locator("#consensus-form textarea[name=consensus-text]").fill("Resect **widely**.")
    chair.get_by_role("button", name="Save draft").click()
    chair.locator("#consensus .badge", has_text="draft").wait_for()
    chair.locator("input[name=sign-password]").fill("wrong")
    chair.get_by_role("button", name="Sign version 1").click()
    # Said beside the field, and in the error summary that now has the focus (issue #19).
    chair.get_by_text("That is not your password. Nothing was signed.", exact=True).wait_for()
    assert chair.evaluate("document.activeElement.id") == "panel-errors"
    assert (
        chair.evaluate("document.activeElement.textContent").count("That is not your password") == 1
    )
    chair.locator("input[name=sign-password]").fill(PASSWORD)
    chair.get_by_role("button", name="Sign version 1").click()
    panel.get_by_text("Signed by").wait_for()
    assert panel.locator("#consensus .prose strong").inner_text() == "widely"
    assert radiologist.evaluate("window.__notReloaded") is True
    assert Case.objects.get(pk=case.pk).status == Case.Status.CONCLUDED
