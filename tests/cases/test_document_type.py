"""Each attachment says what it is, chosen at upload (issue #15: the checklist looks for a
pathology report where the question needs one)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.models import Attachment
from tests.cases.factories import make_case
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% a report\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(user, case, **data):
    return signed_in(user).post(
        reverse("attachment-upload", kwargs={"case_id": case.uuid}),
        {"files": [SimpleUploadedFile("report.pdf", PDF)], **data},
        headers={"Accept": "application/json"},
    )


def test_the_type_chosen_at_upload_is_stored_and_listed(cast):
    case = make_case(cast)
    assert upload(cast.referrer, case, document_type="pathology").status_code == 200
    assert Attachment.objects.get().document_type == "pathology"
    page = signed_in(cast.referrer).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    text = page.content.decode()
    assert '<select id="upload-document-type" name="document_type">' in text
    assert 'class="badge document-type">Pathology report</span>' in text


def test_without_a_type_the_document_is_other(cast):
    case = make_case(cast)
    assert upload(cast.referrer, case).status_code == 200
    assert Attachment.objects.get().document_type == "other"


def test_an_unknown_type_is_refused_and_nothing_is_stored(cast, media_root):
    case = make_case(cast)
    response = upload(cast.referrer, case, document_type="selfie")
    assert response.status_code == 400
    assert "type of document" in response.json()["results"][0]["reason"]
    assert not Attachment.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]
