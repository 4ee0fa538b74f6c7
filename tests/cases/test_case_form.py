import datetime

import pytest
from django.urls import reverse

from cases.models import AuditEvent, Case, PatientIdentity
from tests.cases.factories import case_form_data as form_data
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


def test_referrer_creates_a_draft_with_computed_grade_and_stage(cast):
    response = signed_in(cast.referrer).post(reverse("case-new"), form_data(cast))
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.status, case.kind, case.submitted_by) == ("draft", "doctor", cast.referrer)
    # FNCLCC 2 + 2 (12 mitoses) + 1 = 5: G2 (AJCC 8 ch. 41, histologic grade).
    assert case.clinical.grade.grade == "G2"
    # Trunk/extremity, 6.5 cm: T2 (> 5 to <= 10 cm); T2 N0 M0 G2 is IIIA (AJCC 8 ch. 41).
    assert case.clinical.stage.group == "IIIA"
    assert case.age == (datetime.date.today().year - 1968) - (
        (datetime.date.today().month, datetime.date.today().day) < (5, 2)
    )
    assert PatientIdentity.objects.get(case=case).full_name == "Ada Q. Patient"
    html = signed_in(cast.referrer).get(response["Location"]).content.decode()
    assert 'id="grade">G2 (FNCLCC: differentiation 2 + mitoses 2 + necrosis 1 = 5)<' in html
    assert "Stage IIIA" in html


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"question": ""}, "This field is required."),
        ({"full_name": ""}, "This field is required."),
        ({"entity": "liposarcoma"}, "Select a valid choice"),
        ({"size_cm": "-3"}, "greater than or equal to 0.1"),
        ({"differentiation_score": "4"}, "Select a valid choice"),
        ({"date_of_birth": "2999-01-01"}, "The date of birth is in the future."),
        ({"board": "00000000-0000-0000-0000-000000000000"}, "Select a valid choice"),
    ],
)
def test_submission_form_explains_what_is_wrong(cast, overrides, message):
    response = signed_in(cast.referrer).post(reverse("case-new"), form_data(cast, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Case.objects.exists()


def test_board_closed_to_referrals_is_not_offered_to_outsiders(cast):
    cast.board.accepts_referrals = False
    cast.board.save()
    response = signed_in(cast.referrer).post(reverse("case-new"), form_data(cast))
    assert response.status_code == 200
    assert not Case.objects.exists()
    # its members can still file cases to it
    assert signed_in(cast.chair).post(reverse("case-new"), form_data(cast)).status_code == 302


def test_patient_form_is_short_and_prefilled(cast):
    html = signed_in(cast.patient).get(reverse("case-new")).content.decode()
    assert "Your question to the board" in html
    assert "FNCLCC" not in html
    assert 'value="Patient Test"' in html
    response = signed_in(cast.patient).post(
        reverse("case-new"),
        {
            "board": str(cast.board.uuid),
            "full_name": "Patient Test",
            "sex": "F",
            "age": "44",
            "clinical_summary": "A lump was found in my thigh.",
            "question": "Is surgery the right first step?",
            "urgency": "routine",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.kind == "patient"
    assert case.entity == ""


def test_patient_identifiers_never_reach_logs_or_audit(cast, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    client = signed_in(cast.referrer)
    client.post(reverse("case-new"), form_data(cast, full_name="Bartholomew Zyzzyva"))
    case = Case.objects.get()
    client.post(
        reverse("case-edit", kwargs={"case_id": case.uuid}),
        form_data(cast, full_name="Bartholomew Zyzzyva", hospital_number="HN-99887766"),
    )
    client.get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("Bartholomew", "Zyzzyva", "HN-99887766", "1968-05-02"):
        assert secret not in logged
        for event in AuditEvent.objects.all():
            assert secret not in str(event.detail)


def test_submitter_edits_a_draft_but_not_a_case_in_review(cast):
    client = signed_in(cast.referrer)
    client.post(reverse("case-new"), form_data(cast))
    case = Case.objects.get()
    edit = reverse("case-edit", kwargs={"case_id": case.uuid})
    assert client.post(edit, form_data(cast, question="Changed?")).status_code == 302
    case.refresh_from_db()
    assert case.question == "Changed?"
    Case.objects.filter(pk=case.pk).update(status="in_review")
    assert client.post(edit, form_data(cast, question="Again?")).status_code == 403
    case.refresh_from_db()
    assert case.question == "Changed?"
