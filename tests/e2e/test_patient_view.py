"""A patient follows their own request in real Chromium (issue #16): plain words, no jargon,
their uploads, at a desktop width and on a phone."""

import re

import pytest
from django.utils import timezone

from cases.models import Attachment, Case
from tests.cases.factories import make_case
from tests.decisions.factories import close, draft, open_round, propose, sign, vote
from tests.e2e.browser import shot, sign_in

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n% discharge letter\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# As tests/cases/test_patient_view.py: the record's working words.
JARGON = re.compile(r"Urgency|FNCLCC|AJCC|\bTNM\b|\b[TNMG]X\b|\bG[123]\b|[Ss]pecialty\b|ICD-O")
PHONE = {"width": 390, "height": 844}


def test_a_patient_reads_their_request_and_uploads_a_letter(
    cast, daphne_server, new_context, tmp_path
):
    base = daphne_server.url
    cast.board.turnaround_days = 10
    cast.board.save()
    case = make_case(
        cast,
        submitted_by=cast.patient,
        status=Case.Status.IN_REVIEW,
        question_type="surgery",
        size_cm=None,
        nodes="",
        metastasis="",
        urgency=Case.Urgency.URGENT,
        question="Should I have radiotherapy before the operation?",
        clinical_summary="A lump in my thigh grew over three months; the biopsy was in May.",
    )
    letter = tmp_path / "discharge-letter.pdf"
    letter.write_bytes(PDF)

    patient = sign_in(new_context(), base, "patient")
    patient.goto(f"{base}/cases/{case.uuid}/")
    assert patient.locator("h1").inner_text().startswith("Your request to the board")
    assert "Being studied by the board's doctors" in patient.locator("#case-status").inner_text()
    status = patient.locator("#patient-status").inner_text()
    assert "studying your case" in status and "10 working days" in status
    assert "The size of the tumour" in patient.locator("#checklist").inner_text()
    assert not JARGON.search(patient.locator("main").inner_text())

    patient.get_by_label("Choose the files").set_input_files(str(letter))
    patient.get_by_role("button", name="Upload", exact=True).click()
    patient.locator("form[data-upload] [data-upload-results] li.ok").wait_for()
    patient.get_by_role("link", name="discharge-letter.pdf").wait_for()
    assert Attachment.objects.get(case=case).original_name == "discharge-letter.pdf"
    shot(patient, "patient-case-1280.png")

    phone = sign_in(new_context(viewport=PHONE), base, "patient")
    phone.goto(f"{base}/cases/{case.uuid}/")
    # Nothing wider than the phone's screen: no sideways scrolling to read the request.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "patient-case-390.png")

    patient.goto(f"{base}/account/")
    assert patient.locator("#api-tokens").count() == 0
    assert patient.locator("[name=specialty]").count() == 0
    shot(patient, "patient-account.png")


def test_a_patient_reads_the_boards_answer(cast, daphne_server, new_context):
    base = daphne_server.url
    case = make_case(
        cast,
        submitted_by=cast.patient,
        status=Case.Status.SCHEDULED,
        ready_at=timezone.now(),
        question="Should I have radiotherapy before the operation?",
    )
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon, cast.radiologist):
        vote(user, case, round_, agree=[p1])
    close(cast, case, round_)
    sign(cast, case, draft(cast, case, text="Radiotherapy first, then surgery at the centre."))

    patient = sign_in(new_context(), base, "patient")
    patient.goto(f"{base}/cases/{case.uuid}/")
    answer = patient.locator("#patient-answer")
    assert "Radiotherapy first, then surgery at the centre." in answer.inner_text()
    assert "Answer ready" in patient.locator("#case-status").inner_text()
    assert not JARGON.search(patient.locator("main").inner_text())
    shot(patient, "patient-answer-1280.png")
