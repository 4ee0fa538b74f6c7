"""Uploading and serving reports through the case page."""

import hashlib
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from cases.models import Attachment, AuditEvent
from tests.cases.factories import make_case
from tests.helpers import complete_sign_in

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% a report\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def docm() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types><Override PartName="/word/document.xml" '
            'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>',
        )
        z.writestr("word/document.xml", "<w:document/>")
        z.writestr("word/vbaProject.bin", b"\x00" * 64)
    return buf.getvalue()


def upload(user, case, *files, json=True):
    client = Client()
    complete_sign_in(client, user)
    headers = {"Accept": "application/json"} if json else {}
    return client.post(
        reverse("attachment-upload", kwargs={"case_id": case.uuid}),
        {"files": list(files)},
        headers=headers,
    )


def stored_files(media_root):
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


def test_pdf_is_stored_with_its_hash_and_served_inline(cast, media_root):
    case = make_case(cast)
    response = upload(cast.referrer, case, SimpleUploadedFile("Report (final).pdf", PDF))
    assert response.status_code == 200
    assert response.json()["results"][0]["ok"] is True
    attachment = Attachment.objects.get()
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert attachment.kind == "pdf"
    # the stored name does not carry the uploader's file name
    assert "Report" not in attachment.file.name
    assert len(stored_files(media_root)) == 1

    client = Client()
    complete_sign_in(client, cast.pathologist)
    url = reverse(
        "attachment-download", kwargs={"case_id": case.uuid, "attachment_id": attachment.uuid}
    )
    served = client.get(url)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == PDF
    assert served["Content-Type"] == "application/pdf"
    assert served["Content-Disposition"].startswith("inline")
    assert served["X-Content-Type-Options"] == "nosniff"


def test_text_file_downloads_as_attachment(cast):
    case = make_case(cast)
    upload(cast.referrer, case, SimpleUploadedFile("notes.txt", b"MRI 12/03: no change.\n"))
    attachment = Attachment.objects.get()
    client = Client()
    complete_sign_in(client, cast.chair)
    served = client.get(
        reverse(
            "attachment-download", kwargs={"case_id": case.uuid, "attachment_id": attachment.uuid}
        )
    )
    assert served["Content-Disposition"].startswith("attachment")
    assert served["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("report.pdf", b"<html><script>alert(1)</script></html>", "HTML"),
        ("report.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200, "executable"),
        ("letter.docm", docm(), "macro"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_refused_files_get_a_reason_and_leave_nothing(cast, media_root, name, content, reason):
    case = make_case(cast)
    response = upload(cast.referrer, case, SimpleUploadedFile(name, content))
    assert response.status_code == 400
    result = response.json()["results"][0]
    assert result["ok"] is False
    assert reason.lower() in result["reason"].lower()
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []
    assert AuditEvent.objects.filter(action="attachment.upload", outcome="denied").count() == 1


def test_oversize_file_is_refused_and_nothing_is_stored(cast, media_root, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    case = make_case(cast)
    response = upload(cast.referrer, case, SimpleUploadedFile("big.pdf", PDF + b"0" * 2048))
    assert response.status_code == 400
    assert "limit" in response.json()["results"][0]["reason"]
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_too_many_files_at_once_are_all_refused(cast, media_root, settings):
    settings.ATTACHMENTS_PER_REQUEST = 2
    case = make_case(cast)
    files = [SimpleUploadedFile(f"r{i}.pdf", PDF) for i in range(3)]
    response = upload(cast.referrer, case, *files)
    assert response.status_code == 400
    assert all("at most 2 files" in r["reason"] for r in response.json()["results"])
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_mixed_batch_keeps_the_good_file_and_names_the_bad_one(cast):
    case = make_case(cast)
    response = upload(
        cast.referrer,
        case,
        SimpleUploadedFile("ok.pdf", PDF),
        SimpleUploadedFile("bad.pdf", b"<svg onload=alert(1)>"),
    )
    assert response.status_code == 200
    results = {r["name"]: r["ok"] for r in response.json()["results"]}
    assert results == {"ok.pdf": True, "bad.pdf": False}
    assert Attachment.objects.count() == 1


def test_without_javascript_the_form_redirects_with_messages(cast):
    case = make_case(cast)
    response = upload(cast.referrer, case, SimpleUploadedFile("ok.pdf", PDF), json=False)
    assert response.status_code == 302


def test_no_uploads_once_concluded(cast):
    case = make_case(cast, status="concluded")
    response = upload(cast.referrer, case, SimpleUploadedFile("ok.pdf", PDF))
    assert response.status_code == 403
    assert not Attachment.objects.exists()


def test_attachment_of_another_case_is_404(cast):
    case = make_case(cast)
    other = make_case(cast)
    upload(cast.referrer, other, SimpleUploadedFile("ok.pdf", PDF))
    attachment = Attachment.objects.get()
    client = Client()
    complete_sign_in(client, cast.referrer)
    url = reverse(
        "attachment-download", kwargs={"case_id": case.uuid, "attachment_id": attachment.uuid}
    )
    assert client.get(url).status_code == 404
