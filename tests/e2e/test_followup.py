"""A referring doctor records the follow-up of the board's recommendation from the link in
the follow-up email, then finds it in the case's history. Real Chromium, real Daphne."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone

from decisions import followup as followups
from decisions.models import FollowUp, FollowUpAddendum
from tests.decisions.factories import decided_case, draft, sign
from tests.e2e.browser import shot, sign_in

pytestmark = pytest.mark.browser


def test_the_referrer_records_a_follow_up_from_the_emailed_link(
    cast, daphne_server, new_context, settings
):
    base = daphne_server.url
    settings.BASE_URL = base
    cast.referrer.email = "referrer@hospital.example"
    cast.referrer.save()
    case, *_ = decided_case(cast)
    sign(cast, case, draft(cast, case))
    # The 3-month point falls due today; the daily command asks the referrer.
    FollowUp.objects.filter(case=case, months=3).update(due_on=timezone.localdate())
    mail.outbox.clear()
    assert followups.followups_remind()["asked"] == 1
    (message,) = mail.outbox
    link = re.search(r"https?://\S+/followups/[0-9a-f-]+/", message.body).group(0)

    page = sign_in(new_context(), base, "referrer")
    page.goto(link)
    page.get_by_role(
        "heading", name=f"Follow-up of the board's recommendation on case {case.pseudonym}"
    ).wait_for()
    page.get_by_label("Not implemented").check()
    page.get_by_label("If not, or only partly: why?").select_option("progression")
    page.get_by_label("What was done instead").fill("Lung metastases at restaging; chemotherapy.")
    page.get_by_label("Metastasis (date)").fill("2026-02-10")
    page.get_by_label("Ask the board to discuss the case again (e.g. progression)").check()
    shot(page, "followup-form.png")
    page.get_by_role("button", name="Record the follow-up").click()
    page.locator("#followup-recorded").wait_for()
    row = page.locator('#followup-history tr[data-status="not_implemented"]')
    assert "Disease progression" in row.inner_text()
    assert page.locator("[data-addendum]").count() == 1
    shot(page, "followup-recorded.png")

    point = FollowUp.objects.get(case=case, months=3)
    assert (point.status, point.reason, point.metastasis_on) == (
        "not_implemented",
        "progression",
        datetime.date(2026, 2, 10),
    )
    assert FollowUpAddendum.objects.filter(followup=point).count() == 1
    case.refresh_from_db()
    assert case.status == "in_review"  # back to the board

    chair = sign_in(new_context(), base, "chair")
    chair.goto(f"{base}/cases/{case.uuid}/")
    chair.locator("#followups").scroll_into_view_if_needed()
    assert "Disease progression" in chair.locator("#followups").inner_text()
    shot(chair, "followup-case-page.png")
