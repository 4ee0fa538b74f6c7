"""The patient's journey (issue #16), in real Chromium: a patient asks a board for a second
opinion, uploads a letter, sends the request, reads where it stands in plain words, and once
the board has signed its answer downloads the patient's copy of the report, which holds none
of the panel's internal discussion. Screenshots at each step (SCREENSHOT_DIR)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from board.models import User
from cases import services as case_services
from cases.access import case_access
from cases.models import Attachment, Case
from tests.decisions.factories import close, draft, open_round, propose, sign, vote
from tests.e2e.browser import off_the_browser_loop, shot, sign_in

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n% discharge letter\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
QUESTION = "Should I have radiotherapy before the operation?"
ANSWER = "Radiotherapy first, then surgery at the reference centre."
INTERNAL_OPINION = "Margins look doubtful on the outside MRI; ask for a fresh scan."
DISSENT = "I would operate first: the lesion is small."
# The reader's zone, named: "3 Dec 2026, 14:30 CET" (board/dates.py).
MOMENT_IN_PARIS = re.compile(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} CES?T\b")
DAY = re.compile(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b")


def the_board_answers(cast, case: Case) -> None:
    """What the board does between the request and the answer, through its services: the
    chair accepts the request, a pathologist writes an internal opinion, the panel votes
    (one dissent, with a comment), the chair drafts and signs."""
    case.refresh_from_db()  # as the patient left it: sent
    case = case_services.case_transition(
        access=case_access(cast.chair, case), to=Case.Status.IN_REVIEW
    )
    case_services.opinion_post(access=case_access(cast.pathologist, case), body=INTERNAL_OPINION)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.radiologist):
        vote(user, case, round_, agree=[p1])
    vote(cast.surgeon, case, round_, disagree=[p1], comment=DISSENT)
    close(cast, case, round_)
    sign(cast, case, draft(cast, case, text=ANSWER))


def pdf_text(path: Path) -> str:
    """The PDF as pdftotext (poppler) reads it, spaces collapsed."""
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return " ".join(out.split())


def test_a_patient_asks_for_a_second_opinion_and_downloads_the_answer(
    cast, daphne_server, new_context, tmp_path
):
    base = daphne_server.url
    User.objects.filter(pk=cast.patient.pk).update(time_zone="Europe/Paris")
    letter = tmp_path / "discharge-letter.pdf"
    letter.write_bytes(PDF)

    # 1. Signs in and asks for a second opinion, in their own words.
    patient = sign_in(new_context(accept_downloads=True), base, "patient")
    shot(patient, "journey-patient-01-home.png")
    patient.get_by_role("link", name="Ask for a second opinion").first.click()
    assert patient.locator("h1").inner_text() == "Ask a board for a second opinion"
    board = patient.locator("select[name=board]")
    if board.count():
        board.select_option(label=cast.board.name)
    patient.get_by_label("Sex").select_option("F")
    patient.get_by_label("Age").fill("44")
    patient.get_by_label("Your story").fill(
        "A lump in my thigh grew over three months; the biopsy was in May."
    )
    patient.get_by_label("Your question to the board").fill(QUESTION)
    shot(patient, "journey-patient-02-form.png")
    patient.get_by_role("button", name="Save draft").click()
    patient.locator("#patient-status").wait_for()
    case = Case.objects.get(submitted_by=cast.patient)
    assert case.kind == Case.Kind.PATIENT and case.status == Case.Status.DRAFT

    # 2. Uploads a letter, then sends the request.
    patient.get_by_label("Choose the files").set_input_files(str(letter))
    patient.get_by_role("button", name="Upload", exact=True).click()
    patient.locator("form[data-upload] [data-upload-results] li.ok").wait_for()
    patient.get_by_role("link", name="discharge-letter.pdf").wait_for()
    assert Attachment.objects.get(case=case).original_name == "discharge-letter.pdf"
    shot(patient, "journey-patient-03-draft-with-letter.png")
    patient.get_by_role("button", name="Send my request to the board").click()
    patient.get_by_role("dialog").get_by_role("button", name="Yes, send it").click()
    patient.locator("#case-status", has_text="Received by the board").wait_for()

    # 3. The plain view: where it stands, the day it was sent (a day, no clock).
    meta = patient.locator("p.meta").first.inner_text()
    sent = re.search(r"sent on (.+?) ·", meta)
    assert sent and DAY.fullmatch(sent.group(1)), meta
    assert "What happens next" in patient.locator("#patient-status").inner_text()
    shot(patient, "journey-patient-04-sent.png")

    # 4. The board studies, votes and signs (seeded through the services).
    off_the_browser_loop(the_board_answers, cast, case)

    # 5. The answer, signed at a moment in the patient's zone, named; then the PDF.
    patient.reload()
    answer = patient.locator("#patient-answer")
    answer.get_by_text(ANSWER).wait_for()
    assert MOMENT_IN_PARIS.search(answer.locator("p.meta").inner_text())
    assert INTERNAL_OPINION not in patient.locator("main").inner_text()
    assert DISSENT not in patient.locator("main").inner_text()
    shot(patient, "journey-patient-05-answer.png")
    with patient.expect_download() as download_info:
        answer.get_by_role("link", name="Download the report (PDF)").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-patient.pdf")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    text = pdf_text(saved)
    assert ANSWER in text and case.pseudonym in text
    # The patient's copy: the board's answer, none of its internal discussion.
    assert INTERNAL_OPINION not in text
    assert DISSENT not in text
    assert cast.surgeon.display_name not in text
    # Its dates in the report's format, the zone named.
    assert re.search(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} [A-Z]", text), text
