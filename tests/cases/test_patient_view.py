"""The patient's own case page (issue #16): plain words, none of the clinicians' jargon.

A patient who sent their own request reads their question and story, where it stands and what
happens next, the board's answer once signed, their uploads and what the board still needs;
never urgency, grading (FNCLCC), staging (AJCC, TNM categories), specialty, the audit trail or
the invitation of experts. The same case read by the board's clinicians is unchanged.
"""

from __future__ import annotations

import html as htmllib
import re

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from board.models import ApiToken
from board.tokens import token_create
from cases.models import Case
from imaging.ingest import ingest_file
from imaging.models import KeyImage
from tests.cases.factories import make_case
from tests.cast import PASSWORD
from tests.decisions.factories import close, draft, open_round, propose, sign, vote
from tests.helpers import signed_in
from tests.imaging.dicom import ct_bytes

pytestmark = pytest.mark.django_db

S = Case.Status

# Words of the clinicians' working record that a patient must not meet on their page. Whole
# words, case-sensitive where they are abbreviations (TX, NX, MX, GX are TNM's "cannot be
# assessed" categories; G1-G3 the FNCLCC grades; "8802/3" the ICD-O-3 code of the entity).
JARGON = [
    r"\bUrgency\b",
    r"\burgency\b",
    r"FNCLCC",
    r"AJCC",
    r"\bTNM\b",
    r"\bTX\b",
    r"\bNX\b",
    r"\bMX\b",
    r"\bGX\b",
    r"\bG[123]\b",
    r"\b[Ss]pecialty\b",
    r"ICD-O",
    r"8802/3",
    r"Audit trail",
    r"Invite expert",
    r"Edit the clinical record",
    r"Clinical record",
    r"\bECOG\b",
]


def visible_text(response) -> str:
    page = response.content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", htmllib.unescape(page))


def jargon_in(text: str) -> list[str]:
    return [word for word in JARGON if re.search(word, text)]


def page(user, case):
    return signed_in(user).get(reverse("case-detail", kwargs={"case_id": case.uuid}))


def patient_case(cast, **fields):
    # Staged and graded by the board: the clinicians' page shows FNCLCC, the AJCC stage and
    # a TNM with categories not assessed.
    fields.setdefault("status", S.IN_REVIEW)
    fields.setdefault("nodes", "")
    fields.setdefault("metastasis", "")
    fields.setdefault("urgency", Case.Urgency.URGENT)
    fields.setdefault("question", "Should I have radiotherapy before the operation?")
    fields.setdefault("clinical_summary", "A lump in my thigh grew over three months.")
    return make_case(cast, submitted_by=cast.patient, **fields)


def test_the_clinicians_page_of_the_same_case_has_the_jargon(cast):
    """The test below can fail: the same case, read by the chair, speaks the record's words."""
    case = patient_case(cast)
    found = jargon_in(visible_text(page(cast.chair, case)))
    for word in (r"FNCLCC", r"AJCC", r"8802/3", r"Audit trail", r"Invite expert"):
        assert word in found


@pytest.mark.parametrize("status", [S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.SCHEDULED, S.DISCUSSED])
def test_the_patients_page_has_no_clinical_jargon(cast, status):
    case = patient_case(cast, status=status, ready_at=None)
    response = page(cast.patient, case)
    assert response.status_code == 200
    assert response.templates[0].name == "cases/case_patient.html"
    assert jargon_in(visible_text(response)) == []


def test_the_patients_page_has_their_question_story_status_and_next_step(cast):
    cast.board.turnaround_days = 10
    cast.board.save()
    case = patient_case(cast, status=S.IN_REVIEW)
    text = visible_text(page(cast.patient, case))
    assert "Should I have radiotherapy before the operation?" in text
    assert "A lump in my thigh grew over three months." in text
    assert "Being studied by the board's doctors" in text  # not "In review"
    assert "In review" not in text
    assert "studying your case" in text  # cases.next_step, the patient's words
    assert "aims to answer within 10 working days" in text


def test_the_patients_page_names_the_who_diagnosis_without_codes_grade_or_stage(cast):
    case = patient_case(cast)
    text = visible_text(page(cast.patient, case))
    assert "Diagnosis recorded by your doctors: Undifferentiated pleomorphic sarcoma" in text
    assert "8802/3" not in text and "stage" not in text.lower().replace("stages", "")


def test_free_text_diagnosis_is_not_shown_to_the_patient(cast):
    case = patient_case(cast, entity="", diagnosis_other="UPS G3 FNCLCC 6, pT2b")
    text = visible_text(page(cast.patient, case))
    assert "Diagnosis recorded by your doctors" not in text
    assert "pT2b" not in text


def test_the_checklist_reads_in_plain_words(cast):
    # A surgical question without the size or a chest CT: the board still needs both.
    case = patient_case(cast, question_type="surgery", size_cm=None)
    response = page(cast.patient, case)
    text = visible_text(response)
    assert "What the board still needs" in text
    assert "The size of the tumour" in text
    assert "A CT scan of the chest" in text
    assert "staging CT" not in text  # the clinicians' label
    assert jargon_in(text) == []


def test_the_patient_can_upload_reports_and_images_and_withdraw(cast):
    case = patient_case(cast, status=S.SUBMITTED)
    html = page(cast.patient, case).content.decode()
    assert reverse("attachment-upload", kwargs={"case_id": case.uuid}) in html
    assert reverse("imaging-upload", kwargs={"case_id": case.uuid}) in html
    assert 'value="withdrawn"' in html
    assert reverse("case-audit", kwargs={"case_id": case.uuid}) not in html
    assert reverse("case-invites", kwargs={"case_id": case.uuid}) not in html
    assert reverse("case-clinical-edit", kwargs={"case_id": case.uuid}) not in html


def test_a_draft_offers_to_send_it(cast):
    case = patient_case(cast, status=S.DRAFT)
    text = visible_text(page(cast.patient, case))
    assert "Send my request to the board" in text
    assert "Change your request" in text


def concluded(cast, case):
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon, cast.radiologist):
        vote(user, case, round_, agree=[p1])
    close(cast, case, round_)
    return sign(cast, case, draft(cast, case, text="Surgery first, at the reference centre."))


def test_the_signed_answer_and_the_patients_copy(cast, django_capture_on_commit_callbacks):
    case = patient_case(cast, status=S.SCHEDULED, ready_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        consensus = concluded(cast, case)
    case.refresh_from_db()
    response = page(cast.patient, case)
    text = visible_text(response)
    assert "The board's answer" in text
    assert "Surgery first, at the reference centre." in text
    assert "Answer ready" in text
    patient_copy = consensus.reports.get(audience="patient")
    link = reverse("report-download", kwargs={"case_id": case.uuid, "report_id": patient_copy.uuid})
    assert link in response.content.decode()
    assert jargon_in(text) == []
    # The panel's working is not there: no evidence level, no guideline, no votes.
    assert "Evidence" not in text and "Guideline" not in text and "Proposals" not in text


def test_no_answer_shown_when_the_board_does_not_send_it_to_patients(
    cast, django_capture_on_commit_callbacks
):
    cast.board.send_report_to_patient = False
    cast.board.save()
    case = patient_case(cast, status=S.SCHEDULED, ready_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        concluded(cast, case)
    text = visible_text(page(cast.patient, case))
    assert "Surgery first" not in text
    assert "a doctor goes through it with you" in text


def test_key_images_released_with_the_answer_are_on_the_patients_page(cast):
    case = patient_case(cast)
    data = ct_bytes(rows=8, columns=8, values=np.full((8, 8), 1064, dtype=np.uint16))
    instance = ingest_file(case=case, by=None, data=data, name="x.dcm").instance
    state = {"center": 40, "width": 400, "rotation": 0}
    for caption, released in (("Shown to you", True), ("The panel's only", False)):
        KeyImage.objects.create(
            case=case,
            instance=instance,
            author=cast.radiologist,
            state=state,
            caption=caption,
            released_with_report=released,
        )
    text = visible_text(page(cast.patient, case))
    assert "Shown to you" in text
    assert "The panel's only" not in text


@pytest.mark.parametrize("who", ["referrer", "chair", "surgeon"])
def test_clinicians_keep_the_clinical_case_page(cast, who):
    case = make_case(cast, status=S.IN_REVIEW)
    response = page(getattr(cast, who), case)
    assert response.templates[0].name == "cases/case_detail.html"
    assert "FNCLCC" in visible_text(response)


def test_clinicians_reading_a_patients_request_keep_the_clinical_page(cast):
    case = patient_case(cast)
    response = page(cast.coordinator, case)
    assert response.templates[0].name == "cases/case_detail.html"


def test_a_patients_list_of_requests_reads_the_status_in_plain_words(cast):
    patient_case(cast, status=S.IN_REVIEW)
    make_case(cast, status=S.IN_REVIEW)  # the referrer's
    patient_list = visible_text(signed_in(cast.patient).get(reverse("my-cases")))
    assert "Being studied by the board's doctors" in patient_list
    assert "In review" not in patient_list
    assert "In review" in visible_text(signed_in(cast.referrer).get(reverse("my-cases")))


# --- the account page -----------------------------------------------------------------------------


def test_a_patients_account_has_no_specialty_and_no_api_tokens(cast):
    html = signed_in(cast.patient).get(reverse("account")).content.decode()
    assert 'name="specialty"' not in html
    assert 'name="institution"' not in html
    assert 'id="api-tokens"' not in html
    assert reverse("api-token-create") not in html
    assert 'name="time_zone"' in html  # the rest of the profile is there


def test_a_clinicians_account_keeps_specialty_and_api_tokens(cast):
    html = signed_in(cast.radiologist).get(reverse("account")).content.decode()
    assert 'name="specialty"' in html
    assert 'id="api-tokens"' in html


def test_saving_a_patients_profile_leaves_the_specialty_alone(cast):
    before = cast.patient.specialty
    response = signed_in(cast.patient).post(
        reverse("account"),
        {
            "first_name": "Pat",
            "last_name": "Ient",
            "time_zone": "Europe/Paris",
            "specialty": "pathology",
        },
    )
    assert response.status_code == 302
    cast.patient.refresh_from_db()
    assert cast.patient.first_name == "Pat"
    assert cast.patient.specialty == before


def test_the_token_endpoints_refuse_patients(cast):
    client = signed_in(cast.patient)
    response = client.post(
        reverse("api-token-create"),
        {"token-name": "Mine", "token-scope": "imaging_read", "token-password": PASSWORD},
    )
    assert response.status_code == 403
    assert not ApiToken.objects.filter(user=cast.patient).exists()
    # A token made before this change: the revoke endpoint refuses a patient as well.
    token, _ = token_create(user=cast.patient, name="Old")
    response = client.post(reverse("api-token-revoke", kwargs={"token_id": token.uuid}))
    assert response.status_code == 403
