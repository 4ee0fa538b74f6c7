"""Journey: a coordinator with a request to the submitter (issue #16), in real Chromium.

The coordinator asks the referring doctor for the MRI; the case shows "awaiting information";
the referrer finds the request on their home page and answers with a few words and the MRI
report as a PDF; the coordinator's open case page shows the answer as it arrives (the case
socket), and the coordinator closes the request.
"""

from __future__ import annotations

import pytest

from cases.models import Case, SubmitterRequest
from tests.cases.factories import PDF, make_case
from tests.e2e.browser import SCREEN, shot, sign_in

pytestmark = pytest.mark.browser

ASK = "Please send the MRI of March (thigh, with contrast) and its report."


def test_coordinator_with_a_request_to_the_submitter(cast, daphne_server, new_context, tmp_path):
    case = make_case(cast, status=Case.Status.IN_REVIEW)
    base = daphne_server.url

    # The coordinator asks.
    coordinator = sign_in(new_context(viewport=SCREEN), base, "coordinator")
    coordinator.goto(f"{base}/cases/{case.uuid}/")
    requests = coordinator.locator("#requests")
    requests.get_by_label("What is needed").select_option("imaging")
    requests.get_by_label("Your request").fill(ASK)
    shot(coordinator, "request-1-coordinator-asks.png")
    requests.get_by_role("button", name="Send the request").click()
    coordinator.locator("#case-awaiting").wait_for()
    asked = SubmitterRequest.objects.get()
    assert asked.status == SubmitterRequest.Status.OPEN
    assert ASK in coordinator.locator(f"#request-{asked.uuid}").inner_text()
    shot(coordinator, "request-2-case-awaiting-information.png")

    # The referrer finds it on their home page and answers with text and a PDF.
    referrer = sign_in(new_context(viewport=SCREEN), base, "referrer")
    waiting = referrer.locator("#open-requests")
    assert case.pseudonym in waiting.inner_text()
    shot(referrer, "request-3-referrer-home.png")
    waiting.get_by_role("link", name="Answer").click()
    referrer.wait_for_url(f"**/cases/{case.uuid}/#request-{asked.uuid}")
    item = referrer.locator(f"#request-{asked.uuid}")
    item.get_by_label("Your answer").fill("MRI of 12 March attached; no contrast was given.")
    report = tmp_path / "mri-march.pdf"
    report.write_bytes(PDF)
    item.locator("input[type=file]").set_input_files(report)
    shot(referrer, "request-4-referrer-answers.png")
    item.get_by_role("button", name="Send the answer").click()
    # The page reloads once the upload is through, showing the answer in place.
    referrer.locator(f"#request-{asked.uuid} .request-reply").wait_for()
    answered = referrer.locator(f"#request-{asked.uuid}")
    assert "mri-march.pdf" in answered.inner_text()
    assert "no contrast was given" in answered.inner_text()
    asked.refresh_from_db()
    assert asked.status == SubmitterRequest.Status.ANSWERED
    shot(referrer, "request-5-referrer-answered.png")

    # The coordinator's page, still open, shows the answer without a reload.
    reply = coordinator.locator(f"#request-{asked.uuid} .request-reply")
    reply.wait_for(timeout=15_000)
    assert "mri-march.pdf" in reply.inner_text()
    assert coordinator.locator("#case-awaiting").count() == 0  # nothing open any more
    shot(coordinator, "request-6-coordinator-reads-answer.png")
    coordinator.locator(f"#request-{asked.uuid}").get_by_role(
        "button", name="Close: settled"
    ).click()
    coordinator.locator(f"#request-{asked.uuid}[data-request-status=closed]").wait_for()
    asked.refresh_from_db()
    assert (asked.status, asked.closed_by) == (SubmitterRequest.Status.CLOSED, cast.coordinator)
    shot(coordinator, "request-7-closed.png")
