"""FHIR R4 export of a concluded case: a Bundle fhir.resources validates, with the referrer
copy's content, for the referrer copy's readers only (session or API token)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle

from board.models import ApiToken
from board.tokens import token_create, token_revoke
from cases.models import AuditEvent, Case
from decisions import reports
from decisions.models import Report
from tests.cases.factories import HOSPITAL_NUMBER, PATIENT_DOB, PATIENT_NAME, make_case
from tests.decisions.factories import close, draft, open_round, propose, sign, vote
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_pdf(monkeypatch):
    """A stand-in renderer where the PDF's content is not the point (as test_report_delivery)."""
    monkeypatch.setattr(
        reports, "render_report_pdf", lambda data: f"%PDF-1.7 {data.case_pseudonym}".encode()
    )


def concluded(cast, capture, *, submitted_by=None, **fields) -> tuple[Case, Report | None]:
    fields.setdefault("topography", "C49.2")
    case = make_case(cast, status=Case.Status.SCHEDULED, submitted_by=submitted_by, **fields)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon, cast.radiologist):
        vote(user, case, round_, agree=[p1])
    close(cast, case, round_)
    with capture(execute=True):
        consensus = sign(cast, case, draft(cast, case))
    report = Report.objects.filter(consensus=consensus, audience="referrer").first()
    return case, report


def export_url(case) -> str:
    return reverse("case-fhir-export", kwargs={"case_id": case.uuid})


def resources(response) -> dict[str, list[dict]]:
    bundle = json.loads(response.content)
    by_type: dict[str, list[dict]] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return by_type


def test_the_bundle_validates_and_carries_the_signed_referrer_copy(
    cast, django_capture_on_commit_callbacks
):
    case, report = concluded(cast, django_capture_on_commit_callbacks)
    assert report is not None and report.is_ready
    response = signed_in(cast.referrer).get(export_url(case))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    assert "attachment" in response["Content-Disposition"]
    bundle = Bundle.model_validate_json(response.content)  # raises if not valid FHIR
    assert bundle.type == "collection"
    found = resources(response)
    assert sorted(found) == ["CarePlan", "Condition", "DocumentReference", "Observation", "Patient"]

    (patient,) = found["Patient"]
    assert patient["name"][0]["text"] == PATIENT_NAME
    assert patient["birthDate"] == PATIENT_DOB.isoformat()
    assert patient["identifier"][0]["value"] == HOSPITAL_NUMBER
    assert patient["gender"] == "male"

    (condition,) = found["Condition"]
    (morphology,) = condition["code"]["coding"]
    # WHO 2020: undifferentiated pleomorphic sarcoma is ICD-O-3 8802/3.
    assert (morphology["system"], morphology["code"]) == (
        "http://terminology.hl7.org/CodeSystem/icd-o-3",
        "8802/3",
    )
    assert "Undifferentiated pleomorphic sarcoma" in morphology["display"]
    (site,) = condition["bodySite"][0]["coding"]
    assert site["code"] == "C49.2"

    # AJCC 8 ch. 41 (trunk/extremity): 11.5 cm is T3; N0 M0 G3 is stage IIIB.
    observations = {o["code"]["coding"][0]["code"]: o for o in found["Observation"]}
    assert set(observations) == {"21908-9", "21905-5", "21906-3", "21907-1"}
    group = observations["21908-9"]
    assert group["valueCodeableConcept"]["text"] == "IIIB"
    assert observations["21905-5"]["valueCodeableConcept"]["text"] == "T3"
    assert observations["21906-3"]["valueCodeableConcept"]["text"] == "N0"
    assert observations["21907-1"]["valueCodeableConcept"]["text"] == "M0"
    assert "ch. 41" in group["method"]["text"]
    assert group["method"]["coding"][0]["code"] == "897275008"
    assert len(group["hasMember"]) == 3
    assert condition["stage"][0]["summary"]["text"] == "IIIB"

    (care_plan,) = found["CarePlan"]
    assert care_plan["intent"] == "plan" and care_plan["status"] == "active"
    (activity,) = care_plan["activity"]  # one recommendation in the signed version
    assert activity["detail"]["code"]["text"] == "Surgery"
    assert "en bloc" in activity["detail"]["description"]
    assert "ESMO level of evidence III" in activity["progress"][0]["text"]
    entries = {e.resource.id: e.fullUrl for e in bundle.entry}
    assert care_plan["addresses"][0]["reference"] == entries[condition["id"]]

    (document,) = found["DocumentReference"]
    attachment = document["content"][0]["attachment"]
    pdf = base64.b64decode(attachment["data"])
    assert hashlib.sha256(pdf).hexdigest() == report.sha256
    assert pdf.startswith(b"%PDF")
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(pdf).digest()).decode()  # noqa: S324
    assert AuditEvent.objects.filter(action="report.fhir", case=case, outcome="allowed").exists()


def test_an_api_token_retrieves_the_bundle(cast, fake_pdf, django_capture_on_commit_callbacks):
    case, _ = concluded(cast, django_capture_on_commit_callbacks)
    api_token, secret = token_create(
        user=cast.referrer, name="ehr", scope=ApiToken.Scope.IMAGING_READ
    )
    client = signed_in(cast.outsider)  # the token speaks, not the session beside it
    response = client.get(export_url(case), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    Bundle.model_validate_json(response.content)
    token_revoke(token=api_token)
    again = client.get(export_url(case), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert again.status_code == 401
    assert again["WWW-Authenticate"].startswith("Bearer")


def test_another_users_token_is_404(cast, fake_pdf, django_capture_on_commit_callbacks):
    case, _ = concluded(cast, django_capture_on_commit_callbacks)
    _, secret = token_create(user=cast.outsider, name="x")
    from django.test import Client

    response = Client().get(export_url(case), HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 404


def test_refusals(cast, fake_pdf, django_capture_on_commit_callbacks, client):
    case, _ = concluded(cast, django_capture_on_commit_callbacks)
    assert signed_in(cast.outsider).get(export_url(case)).status_code == 404
    assert signed_in(cast.other_member).get(export_url(case)).status_code == 404
    # Panelists read the panel copy (pseudonymous), not the referrer's: 403.
    assert signed_in(cast.chair).get(export_url(case)).status_code == 403
    assert signed_in(cast.radiologist).get(export_url(case)).status_code == 403
    assert signed_in(cast.referrer).post(export_url(case)).status_code == 405
    assert client.get(export_url(case)).status_code == 401
    denied = AuditEvent.objects.filter(action="report.fhir", outcome="denied")
    assert denied.count() == 4


def test_a_patient_gets_no_fhir_export_of_their_own_case(
    cast, fake_pdf, django_capture_on_commit_callbacks
):
    cast.board.send_report_to_patient = True
    cast.board.save(update_fields=["send_report_to_patient"])
    case, report = concluded(cast, django_capture_on_commit_callbacks, submitted_by=cast.patient)
    assert report is None  # a patient's case has no referrer copy
    assert signed_in(cast.patient).get(export_url(case)).status_code == 403


def test_before_the_signature_there_is_nothing_to_export(cast):
    case = make_case(cast)
    assert signed_in(cast.referrer).get(export_url(case)).status_code == 404


def test_the_case_page_offers_the_export_to_the_referrer_only(
    cast, fake_pdf, django_capture_on_commit_callbacks
):
    case, _ = concluded(cast, django_capture_on_commit_callbacks)
    page = reverse("case-detail", kwargs={"case_id": case.uuid})
    assert export_url(case) in signed_in(cast.referrer).get(page).content.decode()
    assert export_url(case) not in signed_in(cast.chair).get(page).content.decode()
