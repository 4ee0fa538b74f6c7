"""Traps a first-time user fell into, in real Chromium: a step that cannot be taken back asks
first, and an upload keeps its list of refused files until it is dismissed."""

from __future__ import annotations

import re

import pytest

from cases.models import Attachment, Case
from tests.cases.factories import PDF, make_case
from tests.e2e.browser import shot, sign_in

pytestmark = pytest.mark.browser


def test_submitting_a_case_asks_first(cast, daphne_server, new_context):
    case = make_case(cast, status=Case.Status.DRAFT)
    page = sign_in(new_context(), daphne_server.url, "referrer")
    page.goto(f"{daphne_server.url}/cases/{case.uuid}/")
    page.get_by_role("button", name="Submit to the board").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert "Submit this case to the board?" in dialog.inner_text()
    # The safe answer has the focus, and Cancel leaves the case as it was.
    assert page.evaluate("document.activeElement.value") == "no"
    shot(page, "confirm-submit.png")
    dialog.get_by_role("button", name="Cancel").click()
    page.wait_for_timeout(300)  # give a wrongly sent form the time to arrive
    case.refresh_from_db()
    assert case.status == Case.Status.DRAFT
    # Escape is a no too.
    page.get_by_role("button", name="Submit to the board").click()
    dialog.wait_for()
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    case.refresh_from_db()
    assert case.status == Case.Status.DRAFT
    # Yes submits.
    page.get_by_role("button", name="Submit to the board").click()
    dialog.get_by_role("button", name="Yes, submit").click()
    page.locator("#case-status", has_text="Submitted").wait_for()
    case.refresh_from_db()
    assert case.status == Case.Status.SUBMITTED


def test_withdrawing_an_opinion_asks_first(cast, daphne_server, new_context):
    from tests.cases.factories import opinion

    case = make_case(cast)
    mine = opinion(case, cast.pathologist, body="Grade 3, see the report.")
    page = sign_in(new_context(), daphne_server.url, "pathologist")
    page.goto(f"{daphne_server.url}/cases/{case.uuid}/")
    page.locator(f"#opinion-{mine.uuid}").get_by_role("button", name="Withdraw").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Cancel").click()
    page.wait_for_timeout(300)
    mine.refresh_from_db()
    assert mine.withdrawn_at is None
    page.locator(f"#opinion-{mine.uuid}").get_by_role("button", name="Withdraw").click()
    dialog.get_by_role("button", name="Withdraw the opinion").click()
    page.locator(f"#opinion-{mine.uuid}.opinion-withdrawn").wait_for()
    mine.refresh_from_db()
    assert mine.withdrawn_at is not None


WATCH_BUTTON = """form => {
  const button = form.querySelector('button[type=submit]');
  window.__states = [];
  new MutationObserver(() => window.__states.push([button.disabled, button.textContent]))
    .observe(button, { attributes: true, childList: true, characterData: true, subtree: true });
}"""


def test_a_mixed_upload_keeps_its_refusals_until_dismissed(
    cast, daphne_server, new_context, tmp_path
):
    case = make_case(cast, status=Case.Status.SUBMITTED)
    good = tmp_path / "pathology.pdf"
    good.write_bytes(PDF)
    fake = tmp_path / "notes.pdf"  # a Windows program under a document's name
    fake.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00" + bytes(256))
    page = sign_in(new_context(), daphne_server.url, "referrer")
    page.goto(f"{daphne_server.url}/cases/{case.uuid}/")
    form = page.locator("form[data-upload]")
    results = form.locator("[data-upload-results]")

    # No file chosen: it says so, and nothing is sent.
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    page.get_by_role("button", name="Upload reports").click()
    assert "No file was chosen" in results.inner_text()
    assert posts == []

    form.evaluate(WATCH_BUTTON)
    page.evaluate("window.__notReloaded = true")
    page.get_by_label("Add reports").set_input_files([str(good), str(fake)])
    page.get_by_role("button", name="Upload reports").click()
    form.locator("[data-upload-dismiss]").wait_for()
    # While it was sending, the button was disabled and said how many files and how far.
    states = page.evaluate("window.__states")
    busy = [text for disabled, text in states if disabled]
    assert busy and all(re.fullmatch(r"Uploading 2 file\(s\)… \d{1,3}%", t) for t in busy), states
    assert not form.get_by_role("button", name="Upload reports").is_disabled()

    # The stored one shows in the list at once; the refusal stays, with its reason.
    page.get_by_role("link", name="pathology.pdf").wait_for()
    page.wait_for_timeout(1500)  # longer than the old 0.8 s reload
    assert page.evaluate("window.__notReloaded") is True
    refused = results.locator("li.error")
    assert refused.count() == 1
    assert refused.inner_text().startswith("notes.pdf: ")
    assert results.locator("li.ok").inner_text() == "pathology.pdf: attached"
    assert Attachment.objects.filter(case=case).count() == 1
    shot(page, "upload-mixed.png")

    form.get_by_role("button", name="Dismiss this list").click()
    assert results.locator("li").count() == 0
    assert form.locator("[data-upload-dismiss]").count() == 0


def test_dicom_upload_with_nothing_chosen_says_so(cast, daphne_server, new_context):
    case = make_case(cast, status=Case.Status.SUBMITTED)
    page = sign_in(new_context(), daphne_server.url, "referrer")
    page.goto(f"{daphne_server.url}/cases/{case.uuid}/")
    page.get_by_role("button", name="Upload images").click()
    form = page.locator("form[data-dicom-upload]")
    assert "No file was chosen" in form.locator("[data-upload-results]").inner_text()
