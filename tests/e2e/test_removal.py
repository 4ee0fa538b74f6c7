"""Removing a wrong document in real Chromium (issue #16): the submitter gives a reason and
confirms; the coordinator then sees who removed it, when and why, with no link to it."""

from __future__ import annotations

import pytest

from cases.models import Attachment, Case
from tests.cases.factories import add_pdf, make_case
from tests.e2e.browser import shot, sign_in

pytestmark = pytest.mark.browser


def test_submitter_removes_a_wrong_document_with_a_reason(cast, daphne_server, new_context):
    case = make_case(cast, status=Case.Status.SUBMITTED)
    attachment = add_pdf(case, cast.referrer)
    page = sign_in(new_context(), daphne_server.url, "referrer")
    page.goto(f"{daphne_server.url}/cases/{case.uuid}/")
    row = page.locator("li.attachment", has_text="pathology.pdf")
    row.get_by_text("Remove", exact=True).first.click()  # opens the reason field
    row.get_by_label("Why is it removed?").fill("Another patient's report")
    shot(page, "removal-reason.png")
    row.get_by_role("button", name="Remove").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert "Remove pathology.pdf from the case?" in dialog.inner_text()
    dialog.get_by_role("button", name="Cancel").click()
    page.wait_for_timeout(300)  # give a wrongly sent form the time to arrive
    attachment.refresh_from_db()
    assert attachment.removed_at is None

    row.get_by_role("button", name="Remove").click()
    dialog.get_by_role("button", name="Remove").click()
    page.locator("#attachment-list-empty").wait_for()
    row = Attachment.all_objects.get(pk=attachment.pk)
    assert row.removal_reason == "Another patient's report"

    manager = sign_in(new_context(), daphne_server.url, "coordinator")
    manager.goto(f"{daphne_server.url}/cases/{case.uuid}/")
    removed = manager.locator("#removed-attachments")
    removed.locator("summary").click()
    assert "Another patient's report" in removed.inner_text()
    assert "Removed by" in removed.inner_text()
    assert removed.locator("a").count() == 0
    shot(manager, "removal-manager-list.png")
