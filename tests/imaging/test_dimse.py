"""The DICOM listener with pynetdicom as the peer: C-ECHO, C-STORE into the inbox or a case,
the compressed transfer syntaxes, refusals with their reason, and unknown callers rejected."""

from __future__ import annotations

import io
import socket
import time

import pydicom
import pytest
from django.core.files.storage import default_storage
from pydicom.data import get_testdata_file
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from cases.models import AuditEvent
from imaging.dimse import listen, storage_contexts
from imaging.models import DicomCaller, InboxInstance, InboxStudy, Instance, Study
from tests.cases.factories import make_case
from tests.imaging.dicom import PATIENT, PATIENT_ID, ct_dataset, to_bytes

pytestmark = pytest.mark.django_db(transaction=True)

BOARD_AE = "SARCOMA_MDT"
PACS_AE = "HOSP_PACS"

# pydicom's shipped test files, one per transfer syntax family the listener must take
# (files present in the wheel: none is downloaded).
COMPRESSED = [
    "SC_rgb_jpeg_dcmtk.dcm",  # JPEG Baseline
    "JPEG2000.dcm",  # JPEG 2000
    "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS lossless
    "MR_small_RLE.dcm",  # RLE
    "image_dfl.dcm",  # Deflated Explicit VR Little Endian
]


def audited(action: str, **filters) -> AuditEvent:
    """The audit event the listener writes when the association ends: the peer's release
    returns as soon as the A-RELEASE-RP is sent, a moment before the event is committed."""
    for _ in range(100):
        event = AuditEvent.objects.filter(action=action, **filters).first()
        if event is not None:
            return event
        time.sleep(0.05)
    raise AssertionError(f"no {action} audit event")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def board(cast):
    cast.board.dicom_ae_title = BOARD_AE
    cast.board.save()
    DicomCaller.objects.create(board=cast.board, ae_title=PACS_AE)
    return cast.board


@pytest.fixture
def port(board):
    number = free_port()
    server = listen(host="127.0.0.1", port=number, block=False)
    yield number
    server.shutdown()


def associate(port: int, *, calling: str = PACS_AE, called: str = BOARD_AE):
    ae = AE(ae_title=calling)
    ae.add_requested_context(Verification)
    return ae.associate("127.0.0.1", port, ae_title=called)


def send(port: int, datasets, *, calling: str = PACS_AE, called: str = BOARD_AE) -> list:
    """C-STORE each dataset on one association; the response statuses."""
    ae = AE(ae_title=calling)
    syntaxes = {str(ds.file_meta.TransferSyntaxUID) for ds in datasets}
    for ds in datasets:
        ae.add_requested_context(ds.SOPClassUID, sorted(syntaxes))
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    assert assoc.is_established
    try:
        return [assoc.send_c_store(ds) for ds in datasets]
    finally:
        assoc.release()


def test_echo_from_a_known_caller_succeeds(port):
    assoc = associate(port)
    assert assoc.is_established
    status = assoc.send_c_echo()
    assoc.release()
    assert status.Status == 0x0000


def test_every_context_offers_the_compressed_syntaxes():
    contexts = storage_contexts()
    ct = next(cx for cx in contexts if cx.abstract_syntax == pydicom.uid.CTImageStorage)
    for syntax in (
        pydicom.uid.JPEGBaseline8Bit,
        pydicom.uid.JPEGExtended12Bit,
        pydicom.uid.JPEGLossless,
        pydicom.uid.JPEGLosslessSV1,
        pydicom.uid.JPEG2000Lossless,
        pydicom.uid.JPEGLSLossless,
        pydicom.uid.JPEGLSNearLossless,
        pydicom.uid.HTJ2KLossless,
        pydicom.uid.RLELossless,
        pydicom.uid.DeflatedExplicitVRLittleEndian,
    ):
        assert syntax in ct.transfer_syntax
    # Reports and presentation states are skipped by the ingest: not offered.
    offered = {cx.abstract_syntax for cx in contexts}
    assert pydicom.uid.BasicTextSRStorage not in offered
    assert pydicom.uid.GrayscaleSoftcopyPresentationStateStorage not in offered


def test_a_study_without_a_case_code_lands_in_the_inbox_identified(port, board):
    study_uid = pydicom.uid.generate_uid()
    datasets = [ct_dataset(study_uid=study_uid, z=float(i), number=i) for i in range(3)]
    statuses = send(port, datasets)
    assert [s.Status for s in statuses] == [0, 0, 0]
    inbox = InboxStudy.objects.get(board=board, study_instance_uid=study_uid)
    assert inbox.patient_name == PATIENT
    assert inbox.patient_id == PATIENT_ID
    assert str(inbox.study_date) == "2026-01-05"
    assert inbox.modalities == "CT"
    assert inbox.description == "CT THIGH"
    assert inbox.calling_ae_title == PACS_AE
    assert inbox.instance_count == 3
    assert not Study.all_objects.filter(study_instance_uid=study_uid).exists()
    stored = InboxInstance.objects.filter(study=inbox).first()
    with default_storage.open(stored.file.name, "rb") as fh:
        data = fh.read()
    assert data[:128] == b"\0" * 128 and data[128:132] == b"DICM"
    assert pydicom.dcmread(stored.file.path).PatientName == PATIENT
    event = audited("imaging.dicom_receive")
    assert event.detail["inbox"] == 3
    assert event.detail["calling_ae_title"] == PACS_AE
    assert PATIENT not in str(event.detail) and PATIENT_ID not in str(event.detail)


def test_the_same_instance_sent_twice_is_kept_once(port, board):
    ds = ct_dataset()
    statuses = send(port, [ds, ds])
    assert [s.Status for s in statuses] == [0, 0]
    assert InboxInstance.objects.count() == 1
    assert InboxStudy.objects.get().instance_count == 1


def test_the_case_code_in_the_accession_number_sends_the_study_to_the_case(port, cast, board):
    case = make_case(cast, board=board)
    study_uid = pydicom.uid.generate_uid()
    datasets = [ct_dataset(study_uid=study_uid, z=float(i), number=i) for i in range(2)]
    for ds in datasets:
        ds.AccessionNumber = case.pseudonym.lower()
    statuses = send(port, datasets)
    assert [s.Status for s in statuses] == [0, 0]
    study = Study.objects.get(case=case)
    assert Instance.objects.filter(series__study=study).count() == 2
    # De-identified like an upload: the board de-identifies.
    assert study.deidentified
    assert PATIENT not in study.patient_name and study.patient_id != PATIENT_ID
    assert not InboxStudy.objects.exists()
    event = audited("imaging.dicom_receive", case=case)
    assert event.detail["stored"] == 2


def test_the_boards_configured_tag_also_names_the_case(port, cast, board):
    board.dicom_case_tag = "StudyID"
    board.save()
    case = make_case(cast, board=board)
    ds = ct_dataset()
    ds.StudyID = case.pseudonym
    assert send(port, [ds])[0].Status == 0
    assert Study.objects.filter(case=case).exists()


def test_a_case_code_of_another_board_goes_to_the_inbox(port, cast, board):
    other = make_case(cast, board=cast.other_board)
    ds = ct_dataset()
    ds.AccessionNumber = other.pseudonym
    assert send(port, [ds])[0].Status == 0
    assert not Study.objects.filter(case=other).exists()
    assert InboxStudy.objects.filter(board=board).exists()


def test_a_file_the_ingest_refuses_is_refused_with_its_reason(port, board):
    ds = ct_dataset()
    ds.PixelData = ds.PixelData[:100]  # shorter than rows x columns x 2 bytes
    (status,) = send(port, [ds])
    assert status.Status == 0xC000
    assert status.ErrorComment
    assert not InboxInstance.objects.exists()
    event = audited("imaging.dicom_receive")
    assert event.detail["refused"] == 1


@pytest.mark.parametrize("name", COMPRESSED)
def test_compressed_transfer_syntaxes_are_received(port, board, name):
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not in this pydicom wheel")
    ds = pydicom.dcmread(path)
    (status,) = send(port, [ds])
    assert status.Status == 0x0000
    stored = InboxInstance.objects.get(sop_instance_uid=ds.SOPInstanceUID)
    back = pydicom.dcmread(stored.file.path)
    assert back.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID or (
        ds.file_meta.TransferSyntaxUID == pydicom.uid.DeflatedExplicitVRLittleEndian
    )


def test_jpeg_ls_near_lossless_is_received(port, board):
    ds = ct_dataset()
    ds.compress(pydicom.uid.JPEGLSNearLossless, jls_error=2)
    ds = pydicom.dcmread(io.BytesIO(to_bytes(ds)))  # as a PACS holds it: a file
    (status,) = send(port, [ds])
    assert status.Status == 0x0000
    stored = InboxInstance.objects.get(sop_instance_uid=ds.SOPInstanceUID)
    assert pydicom.dcmread(stored.file.path).file_meta.TransferSyntaxUID == (
        pydicom.uid.JPEGLSNearLossless
    )


def test_an_unknown_calling_ae_title_is_rejected_and_audited(port, board):
    assoc = associate(port, calling="STRANGER")
    assert assoc.is_rejected
    event = audited("imaging.dicom_association")
    assert event.outcome == AuditEvent.Outcome.DENIED
    assert event.detail["calling_ae_title"] == "STRANGER"
    assert event.detail["reason"] == "calling AE title not recognised"
    assert event.object_id == str(board.uuid)


def test_an_unknown_called_ae_title_is_rejected_and_audited(port, board):
    assoc = associate(port, called="NO_SUCH_BOARD")
    assert assoc.is_rejected
    event = audited("imaging.dicom_association")
    assert event.outcome == AuditEvent.Outcome.DENIED
    assert event.detail["reason"] == "called AE title not recognised"


def test_a_caller_bound_to_another_address_is_rejected(port, board):
    DicomCaller.objects.filter(board=board).update(host="10.1.2.3")
    assert associate(port).is_rejected
    DicomCaller.objects.filter(board=board).update(host="127.0.0.1")
    assoc = associate(port)
    assert assoc.is_established
    assoc.release()


def test_a_known_caller_of_one_board_cannot_send_to_another(port, cast, board):
    cast.other_board.dicom_ae_title = "HEAD_NECK"
    cast.other_board.save()
    assert associate(port, called="HEAD_NECK").is_rejected
