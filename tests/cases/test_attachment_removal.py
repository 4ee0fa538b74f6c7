"""Removing a wrong attachment (issue #16): who may, what is kept, where it disappears, and
the warning on a second upload of the same bytes."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases import checklist
from cases.models import Attachment, AuditEvent, Case
from tests.cases.factories import make_case
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

S = Case.Status
PDF = b"%PDF-1.4\n% a report\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OTHER_PDF = b"%PDF-1.4\n% another report\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(user, case, name="report.pdf", data=PDF, document_type="pathology"):
    return signed_in(user).post(
        reverse("attachment-upload", kwargs={"case_id": case.uuid}),
        {"files": [SimpleUploadedFile(name, data)], "document_type": document_type},
        headers={"Accept": "application/json"},
    )


def uploaded(cast, case, name="report.pdf", data=PDF) -> Attachment:
    assert upload(cast.referrer, case, name, data).json()["results"][0]["ok"]
    return Attachment.objects.get(case=case, original_name=name)


def remove(user, case, attachment, reason="Wrong patient"):
    url = reverse(
        "attachment-remove", kwargs={"case_id": case.uuid, "attachment_id": attachment.uuid}
    )
    return signed_in(user).post(url, {"reason": reason})


# --- who may remove ---------------------------------------------------------------------------

# (status, who) -> the answer; the submitter until the case is in review, then the managers.
MATRIX = [
    (S.DRAFT, "referrer", 302),
    (S.SUBMITTED, "referrer", 302),
    (S.IN_REVIEW, "referrer", 403),
    (S.SCHEDULED, "referrer", 403),
    (S.SUBMITTED, "pathologist", 403),
    (S.IN_REVIEW, "pathologist", 403),
    (S.IN_REVIEW, "coordinator", 302),
    (S.SCHEDULED, "chair", 302),
    (S.SUBMITTED, "coordinator", 302),
    (S.IN_REVIEW, "outsider", 404),
]


@pytest.mark.parametrize(("status", "who", "expected"), MATRIX)
def test_who_may_remove(cast, media_root, status, who, expected):
    case = make_case(cast, status=S.DRAFT)
    attachment = uploaded(cast, case)
    Case.objects.filter(pk=case.pk).update(status=status)
    response = remove(getattr(cast, who), case, attachment)
    assert response.status_code == expected
    attachment.refresh_from_db()
    assert (attachment.removed_at is not None) == (expected == 302)
    denied = AuditEvent.objects.filter(
        action="attachment.remove", outcome=AuditEvent.Outcome.DENIED
    )
    assert denied.exists() == (expected != 302)


def test_removal_needs_a_reason(cast, media_root):
    case = make_case(cast, status=S.SUBMITTED)
    attachment = uploaded(cast, case)
    response = remove(cast.referrer, case, attachment, reason="   ")
    assert response.status_code == 302
    attachment.refresh_from_db()
    assert attachment.removed_at is None
    assert not AuditEvent.objects.filter(action="attachment.remove").exists()


def test_get_is_not_allowed(cast, media_root):
    case = make_case(cast, status=S.SUBMITTED)
    attachment = uploaded(cast, case)
    url = reverse(
        "attachment-remove", kwargs={"case_id": case.uuid, "attachment_id": attachment.uuid}
    )
    assert signed_in(cast.referrer).get(url).status_code == 405


def test_removal_is_audited_and_keeps_the_bytes(cast, media_root):
    case = make_case(cast, status=S.SUBMITTED)
    attachment = uploaded(cast, case)
    remove(cast.referrer, case, attachment, reason="Text file named .pdf")
    row = Attachment.all_objects.get(pk=attachment.pk)
    assert row.removed_by == cast.referrer
    assert row.removal_reason == "Text file named .pdf"
    assert row.file.storage.exists(row.file.name)  # kept for the audit trail
    event = AuditEvent.objects.get(action="attachment.remove")
    assert event.actor == cast.referrer
    assert event.object_id == str(attachment.uuid)
    assert event.detail["reason"] == "Text file named .pdf"
    assert event.detail["sha256"] == attachment.sha256


# --- where a removed attachment no longer appears ---------------------------------------------


def test_removed_attachment_is_gone_from_every_surface(cast, media_root):
    case = make_case(cast, status=S.SUBMITTED)
    attachment = uploaded(cast, case, name="wrong-patient.pdf")
    download = reverse(
        "attachment-download", kwargs={"case_id": case.uuid, "attachment_id": attachment.uuid}
    )
    page = reverse("case-detail", kwargs={"case_id": case.uuid})
    referrer = signed_in(cast.referrer)
    assert referrer.get(download).status_code == 200
    assert "wrong-patient.pdf" in referrer.get(page).content.decode()
    assert "pathology" in checklist.Facts.of(case).document_types

    remove(cast.referrer, case, attachment)

    assert referrer.get(download).status_code == 404
    assert AuditEvent.objects.filter(
        action="attachment.download", outcome=AuditEvent.Outcome.DENIED
    ).exists()
    assert download not in referrer.get(page).content.decode()
    assert "wrong-patient.pdf" not in referrer.get(page).content.decode()
    assert list(case.attachments.all()) == []
    assert checklist.Facts.of(case).document_types == set()
    # The panel (a member, once the case is in review) does not see it either.
    Case.objects.filter(pk=case.pk).update(status=S.IN_REVIEW)
    member_page = signed_in(cast.pathologist).get(page).content.decode()
    assert "wrong-patient.pdf" not in member_page
    assert signed_in(cast.pathologist).get(download).status_code == 404


def test_managers_see_who_removed_it_and_why_without_a_link(cast, media_root):
    case = make_case(cast, status=S.SUBMITTED)
    attachment = uploaded(cast, case, name="duplicate.pdf")
    remove(cast.referrer, case, attachment, reason="Sent twice")
    page = reverse("case-detail", kwargs={"case_id": case.uuid})
    html = signed_in(cast.coordinator).get(page).content.decode()
    assert "duplicate.pdf" in html
    assert "Sent twice" in html
    assert f"Removed by {cast.referrer.display_name} on" in html
    assert str(attachment.uuid) not in html  # no download link, no remove form
    # The submitter is not shown the removed list.
    assert "Sent twice" not in signed_in(cast.referrer).get(page).content.decode()


def test_remove_control_shown_to_who_may_remove(cast, media_root):
    case = make_case(cast, status=S.SUBMITTED)
    attachment = uploaded(cast, case)
    page = reverse("case-detail", kwargs={"case_id": case.uuid})
    action = reverse(
        "attachment-remove", kwargs={"case_id": case.uuid, "attachment_id": attachment.uuid}
    )
    assert action in signed_in(cast.referrer).get(page).content.decode()
    assert action in signed_in(cast.chair).get(page).content.decode()
    assert action not in signed_in(cast.pathologist).get(page).content.decode()
    Case.objects.filter(pk=case.pk).update(status=S.IN_REVIEW)
    assert action not in signed_in(cast.referrer).get(page).content.decode()


# --- a second upload of the same bytes --------------------------------------------------------


def test_same_bytes_twice_are_refused_with_the_first_name(cast, media_root):
    case = make_case(cast, status=S.SUBMITTED)
    first = uploaded(cast, case, name="histology.pdf")
    response = upload(cast.referrer, case, name="histology (1).pdf")
    assert response.status_code == 400
    reason = response.json()["results"][0]["reason"]
    assert "already uploaded as histology.pdf on" in reason
    assert first.uploaded_at.strftime("%Y") in reason
    assert Attachment.all_objects.filter(case=case).count() == 1
    assert len([p for p in media_root.rglob("*") if p.is_file()]) == 1


def test_other_bytes_and_other_cases_are_not_duplicates(cast, media_root):
    case = make_case(cast, status=S.SUBMITTED)
    uploaded(cast, case, name="a.pdf")
    assert upload(cast.referrer, case, name="b.pdf", data=OTHER_PDF).status_code == 200
    other = make_case(cast, status=S.SUBMITTED)
    assert upload(cast.referrer, other, name="a.pdf").status_code == 200


def test_a_removed_file_may_be_uploaded_again(cast, media_root):
    case = make_case(cast, status=S.SUBMITTED)
    attachment = uploaded(cast, case)
    remove(cast.referrer, case, attachment, reason="Wrong type chosen")
    assert upload(cast.referrer, case).status_code == 200
    assert case.attachments.count() == 1
    assert Attachment.all_objects.filter(case=case).count() == 2
