"""The board's PACS inbox: managers see whose studies arrived and attach or discard them;
members and outsiders see nothing; every read and refusal is audited."""

from __future__ import annotations

import pydicom
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from cases.models import AuditEvent
from imaging.inbox import dicom_store
from imaging.models import DicomCaller, InboxInstance, InboxStudy, Instance, Study
from tests.cases.factories import make_case
from tests.helpers import signed_in
from tests.imaging.dicom import PATIENT, PATIENT_ID, ct_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def received(cast) -> InboxStudy:
    """A two-file study received for the board, as the listener stores it."""
    study_uid = pydicom.uid.generate_uid()
    for i in range(2):
        data = ct_bytes(study_uid=study_uid, z=float(i), number=i)
        assert dicom_store(board=cast.board, calling_ae_title="PACS", data=data).status == 0
    return InboxStudy.objects.get(study_instance_uid=study_uid)


def inbox_url(board) -> str:
    return reverse("board-inbox", kwargs={"board_id": board.uuid})


def attach_url(study) -> str:
    return reverse(
        "board-inbox-attach", kwargs={"board_id": study.board.uuid, "study_id": study.uuid}
    )


def discard_url(study) -> str:
    return reverse(
        "board-inbox-discard", kwargs={"board_id": study.board.uuid, "study_id": study.uuid}
    )


@pytest.mark.parametrize("who", ["chair", "coordinator"])
def test_managers_see_whose_study_arrived(cast, received, who):
    response = signed_in(getattr(cast, who)).get(inbox_url(cast.board))
    assert response.status_code == 200
    page = response.content.decode()
    assert PATIENT in page and PATIENT_ID in page
    assert "5 Jan 2026" in page and "CT THIGH" in page
    event = AuditEvent.objects.get(action="imaging.inbox_read")
    assert event.outcome == AuditEvent.Outcome.ALLOWED and event.detail["studies"] == 1


def test_a_member_gets_403_and_no_patient_data(cast, received):
    response = signed_in(cast.pathologist).get(inbox_url(cast.board))
    assert response.status_code == 403
    assert PATIENT not in response.content.decode()
    event = AuditEvent.objects.get(action="imaging.inbox_read")
    assert event.outcome == AuditEvent.Outcome.DENIED


@pytest.mark.parametrize("who", ["outsider", "referrer", "patient", "other_member"])
def test_outsiders_get_404(cast, received, who):
    client = signed_in(getattr(cast, who))
    assert client.get(inbox_url(cast.board)).status_code == 404
    assert client.post(attach_url(received), {"case": "X"}).status_code == 404
    assert client.post(discard_url(received)).status_code == 404
    assert InboxStudy.objects.filter(pk=received.pk).exists()


def test_wrong_methods_get_405(cast, received):
    client = signed_in(cast.coordinator)
    assert client.post(inbox_url(cast.board)).status_code == 405
    assert client.get(attach_url(received)).status_code == 405
    assert client.get(discard_url(received)).status_code == 405


def test_a_member_cannot_attach_or_discard(cast, received):
    case = make_case(cast)
    client = signed_in(cast.radiologist)
    assert client.post(attach_url(received), {"case": case.pseudonym}).status_code == 403
    assert client.post(discard_url(received)).status_code == 403
    assert InboxStudy.objects.filter(pk=received.pk).exists()


def test_missing_csrf_is_refused(cast, received):
    client = signed_in(cast.coordinator, enforce_csrf_checks=True)
    assert client.post(discard_url(received)).status_code == 403
    assert InboxStudy.objects.filter(pk=received.pk).exists()


def test_attaching_runs_the_ingest_into_the_case_de_identified(
    cast, received, django_capture_on_commit_callbacks
):
    case = make_case(cast)
    names = list(InboxInstance.objects.values_list("file", flat=True))
    client = signed_in(cast.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(attach_url(received), {"case": case.pseudonym})
    assert response.status_code == 302
    study = Study.objects.get(case=case)
    # De-identified: the Study Instance UID too is replaced (PS3.15 Table E.1-1, "U").
    assert study.study_instance_uid != received.study_instance_uid
    assert study.deidentified and study.uploaded_by == cast.coordinator
    assert PATIENT not in study.patient_name and study.patient_id != PATIENT_ID
    assert Instance.objects.filter(series__study=study).count() == 2
    assert not InboxStudy.objects.exists() and not InboxInstance.objects.exists()
    assert not any(default_storage.exists(name) for name in names)
    event = AuditEvent.objects.get(action="imaging.inbox_attach")
    assert event.case == case and event.detail["stored"] == 2


def test_attaching_keeps_identifiers_where_the_board_does_not_de_identify(cast, received):
    cast.board.deidentify_imaging = False
    cast.board.save()
    case = make_case(cast)
    signed_in(cast.chair).post(attach_url(received), {"case": case.pseudonym})
    study = Study.objects.get(case=case)
    assert not study.deidentified and study.patient_id == PATIENT_ID


def test_a_case_of_another_board_cannot_receive_the_study(cast, received):
    other = make_case(cast, board=cast.other_board)
    client = signed_in(cast.coordinator)
    response = client.post(attach_url(received), {"case": other.pseudonym}, follow=True)
    assert "No case of this board has the code" in response.content.decode()
    assert not Study.objects.filter(case=other).exists()
    assert InboxStudy.objects.filter(pk=received.pk).exists()


def test_discarding_deletes_rows_and_files(cast, received, django_capture_on_commit_callbacks):
    names = list(InboxInstance.objects.values_list("file", flat=True))
    assert all(default_storage.exists(name) for name in names)
    client = signed_in(cast.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(discard_url(received))
    assert response.status_code == 302
    assert not InboxStudy.objects.exists()
    assert not any(default_storage.exists(name) for name in names)
    event = AuditEvent.objects.get(action="imaging.inbox_discard")
    assert event.detail["files"] == 2


def test_a_study_of_another_boards_inbox_is_404(cast):
    data = ct_bytes()
    dicom_store(board=cast.other_board, calling_ae_title="PACS", data=data)
    foreign = InboxStudy.objects.get(board=cast.other_board)
    url = reverse(
        "board-inbox-discard", kwargs={"board_id": cast.board.uuid, "study_id": foreign.uuid}
    )
    assert signed_in(cast.coordinator).post(url).status_code == 404
    assert InboxStudy.objects.filter(pk=foreign.pk).exists()


def test_the_coordinator_sets_the_ae_title_and_callers(cast):
    url = reverse("board-inbox-settings", kwargs={"board_id": cast.board.uuid})
    client = signed_in(cast.coordinator)
    response = client.post(
        url,
        {
            "ae_title": "SARCOMA_MDT",
            "callers": "HOSP_PACS\nMODALITY 10.0.0.7",
            "case_tag": "StudyID",
        },
    )
    assert response.status_code == 302
    cast.board.refresh_from_db()
    assert cast.board.dicom_ae_title == "SARCOMA_MDT" and cast.board.dicom_case_tag == "StudyID"
    callers = {(c.ae_title, c.host) for c in DicomCaller.objects.filter(board=cast.board)}
    assert callers == {("HOSP_PACS", None), ("MODALITY", "10.0.0.7")}
    assert signed_in(cast.pathologist).post(url, {"ae_title": "X"}).status_code == 403


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ae_title": "MUCH_TOO_LONG_AE_TITLE"}, "an AE title is up to 16"),
        ({"ae_title": "BAD\\TITLE"}, "an AE title is up to 16"),
        ({"ae_title": "OK", "callers": "PACS not-an-address"}, "is not an IP address"),
        ({"ae_title": "OK", "case_tag": "NoSuchKeyword"}, "is not a DICOM keyword"),
    ],
)
def test_bad_dicom_settings_are_refused_with_a_reason(cast, fields, message):
    url = reverse("board-inbox-settings", kwargs={"board_id": cast.board.uuid})
    response = signed_in(cast.chair).post(url, fields, follow=True)
    assert message in response.content.decode()
    cast.board.refresh_from_db()
    assert cast.board.dicom_ae_title == ""


def test_two_boards_cannot_share_an_ae_title(cast):
    cast.other_board.dicom_ae_title = "TAKEN"
    cast.other_board.save()
    url = reverse("board-inbox-settings", kwargs={"board_id": cast.board.uuid})
    response = signed_in(cast.chair).post(url, {"ae_title": "TAKEN"}, follow=True)
    assert "Another board already receives as TAKEN" in response.content.decode()
