"""The journey "referrer with an expert service" (issue #16), in real Chromium: a referring
doctor sends a case to "Expert sarcoma pathology review", the service's coordinator assigns
it, the expert writes and signs a structured pathology opinion, and the referrer downloads
the PDF of it. Screenshots at each step (SCREENSHOT_DIR)."""

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from board.models import Board, Membership, Specialty
from cases.models import Case, ExpertReview
from decisions.models import ExpertOpinion
from tests.cast import add_member, make_user
from tests.e2e.browser import shot, sign_in

pytestmark = pytest.mark.browser

SCREEN = {"width": 1280, "height": 900}


def test_referrer_with_an_expert_service(cast, daphne_server, new_context):
    base = daphne_server.url
    service = Board.objects.create(
        name="Expert sarcoma pathology review",
        kind=Board.Kind.EXPERT_SERVICE,
        review_kind=Board.ReviewKind.PATHOLOGY,
    )
    coordinator = make_user("svc_coordinator", specialty=Specialty.OTHER)
    expert = make_user("svc_expert", specialty=Specialty.PATHOLOGY, last_name="Moreau")
    add_member(coordinator, service, Membership.Role.COORDINATOR)
    add_member(expert, service)

    # The referring doctor sends the case to the expert service.
    referrer = sign_in(new_context(viewport=SCREEN, accept_downloads=True), base, "referrer")
    referrer.get_by_role("link", name="Submit a case").first.click()
    referrer.locator("select[name=board]").select_option(label=service.name)
    referrer.get_by_label("Patient's full name").fill("Astrid Example")
    referrer.get_by_label("Sex").select_option("F")
    referrer.get_by_label("Question to the board").fill("Please review the diagnosis and grade.")
    referrer.get_by_label("Clinical summary").fill("71-year-old woman, 6 cm posterior thigh mass.")
    referrer.locator("select[name=entity]").select_option("undifferentiated_pleomorphic_sarcoma")
    referrer.get_by_role("button", name="Save draft").click()
    referrer.locator("#structured").wait_for()
    referrer.get_by_role("button", name="Submit to the board").click()
    referrer.get_by_role("dialog").get_by_role("button", name="Yes, submit").click()
    referrer.locator("#case-status", has_text="Submitted").wait_for()
    case = Case.objects.get()
    case_url = f"{base}/cases/{case.uuid}/"
    referrer.locator("#expert").wait_for()
    assert "Not assigned yet" in referrer.locator("#expert").inner_text()
    shot(referrer, "expert-1-referrer-submitted.png")

    # The coordinator sees it waiting on their home page and assigns the expert.
    chief = sign_in(new_context(viewport=SCREEN), base, "svc_coordinator")
    waiting = chief.locator("#expert-reviews-unassigned")
    assert case.pseudonym in waiting.inner_text()
    shot(chief, "expert-2-coordinator-home.png")
    chief.goto(case_url)
    assert chief.locator("#decisions form").count() == 0  # no proposal, vote or consensus
    chief.locator("#expert select[name=expert]").select_option(label=expert.display_name)
    chief.locator("#expert").get_by_role("button", name="Assign").click()
    chief.locator("#expert [data-holder]", has_text=expert.display_name).wait_for()
    shot(chief, "expert-3-assigned.png")
    assert ExpertReview.objects.get(case=case).expert == expert

    # The expert finds it in their work list, writes the structured opinion and signs it.
    pathologist = sign_in(new_context(viewport=SCREEN), base, "svc_expert")
    held = pathologist.locator("#expert-reviews-held")
    assert case.pseudonym in held.inner_text()
    held.get_by_role("link", name="Write the opinion").click()
    form = pathologist.locator("#expert-opinion-form")
    form.locator("select[name=reviewed_entity]").select_option("myxofibrosarcoma")
    form.locator("select[name=reviewed_grade]").select_option("G3")
    form.locator("select[name=concordance]").select_option("major")
    form.get_by_label("Comment").fill(
        "Curvilinear vessels in a myxoid stroma with pleomorphic cells.\nMDM2 not amplified."
    )
    form.get_by_label("Recommendation").fill("Re-excision with wide margins at a sarcoma centre.")
    shot(pathologist, "expert-4-opinion-form.png")
    form.get_by_role("button", name="Save draft").click()
    pathologist.locator("#expert [data-concordance]", has_text="Major discordance").wait_for()
    pathologist.locator("#expert-sign-form").get_by_label("Your password").fill("cast-password-7Q!")
    pathologist.get_by_role("button", name="Sign the opinion").click()
    pathologist.locator("#expert [data-signed]").wait_for()
    shot(pathologist, "expert-5-signed.png")
    opinion = ExpertOpinion.objects.get(review__case=case)
    assert opinion.is_signed and opinion.signed_by == expert

    # The referrer reads the signed opinion and downloads their copy of the report.
    referrer.goto(case_url)
    area = referrer.locator("#decisions")
    area.locator("#report-download").wait_for(timeout=30_000)
    assert "Myxofibrosarcoma" in referrer.locator("#expert").inner_text()
    shot(referrer, "expert-6-referrer-report.png")
    with referrer.expect_download() as info:
        area.get_by_role("link", name="Download the report (PDF, version 1, Referrer copy)").click()
    pdf = Path(info.value.path()).read_bytes()
    text = " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages
    )
    assert "Expert second opinion" in text
    assert "Myxofibrosarcoma" in text and "Undifferentiated pleomorphic sarcoma" in text
    assert "Major discordance changing management" in text
    assert expert.display_name in text
    case.refresh_from_db()
    assert case.status == Case.Status.CONCLUDED
