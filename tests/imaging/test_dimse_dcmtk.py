"""The DICOM listener with dcmtk as the peer (Debian's `echoscu` and `storescu`): what a
hospital's PACS administrator would try first."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pydicom
import pytest
from pydicom.data import get_testdata_file

from cases.models import AuditEvent
from imaging.dimse import listen
from imaging.models import DicomCaller, InboxInstance, InboxStudy, Study
from tests.cases.factories import make_case
from tests.helpers import skip_or_fail
from tests.imaging.dicom import PATIENT_ID, ct_dataset, to_bytes

pytestmark = pytest.mark.django_db(transaction=True)

BOARD_AE = "SARCOMA_MDT"
PACS_AE = "HOSP_PACS"


@pytest.fixture
def dcmtk():
    if not (shutil.which("storescu") and shutil.which("echoscu")):
        skip_or_fail("REQUIRE_SERVICES", "dcmtk (storescu, echoscu) is not installed")


@pytest.fixture
def port(cast, dcmtk):
    cast.board.dicom_ae_title = BOARD_AE
    cast.board.save()
    DicomCaller.objects.create(board=cast.board, ae_title=PACS_AE, host="127.0.0.1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        number = sock.getsockname()[1]
    server = listen(host="127.0.0.1", port=number, block=False)
    yield number
    server.shutdown()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def wait_for_audit(action: str) -> AuditEvent:
    for _ in range(100):  # written as the association ends, just after the peer returns
        event = AuditEvent.objects.filter(action=action).first()
        if event is not None:
            return event
        time.sleep(0.05)
    raise AssertionError(f"no {action} audit event")


def test_echoscu_from_the_known_pacs_succeeds(port):
    done = run("echoscu", "-aet", PACS_AE, "-aec", BOARD_AE, "127.0.0.1", str(port))
    assert done.returncode == 0, done.stderr


def test_echoscu_from_an_unknown_ae_is_rejected_and_audited(port):
    done = run("echoscu", "-aet", "INTRUDER", "-aec", BOARD_AE, "127.0.0.1", str(port))
    assert done.returncode != 0
    assert "Calling AE Title Not Recognized" in done.stderr
    event = wait_for_audit("imaging.dicom_association")
    assert event.outcome == AuditEvent.Outcome.DENIED
    assert event.detail["calling_ae_title"] == "INTRUDER"


def test_storescu_sends_a_series_to_the_inbox(port, cast, tmp_path):
    study_uid = pydicom.uid.generate_uid()
    paths = []
    for i in range(4):
        path = tmp_path / f"ct{i}.dcm"
        path.write_bytes(to_bytes(ct_dataset(study_uid=study_uid, z=float(i), number=i)))
        paths.append(str(path))
    done = run("storescu", "-aet", PACS_AE, "-aec", BOARD_AE, "127.0.0.1", str(port), *paths)
    assert done.returncode == 0, done.stderr
    inbox = InboxStudy.objects.get(board=cast.board, study_instance_uid=study_uid)
    assert inbox.instance_count == 4 and inbox.patient_id == PATIENT_ID
    assert wait_for_audit("imaging.dicom_receive").detail["inbox"] == 4


def test_storescu_with_the_case_code_as_accession_fills_the_case(port, cast, tmp_path):
    case = make_case(cast)
    ds = ct_dataset()
    ds.AccessionNumber = case.pseudonym
    path = tmp_path / "ct.dcm"
    path.write_bytes(to_bytes(ds))
    done = run("storescu", "-aet", PACS_AE, "-aec", BOARD_AE, "127.0.0.1", str(port), str(path))
    assert done.returncode == 0, done.stderr
    study = Study.objects.get(case=case)
    assert study.deidentified and study.patient_id != PATIENT_ID


# storescu proposes a compressed syntax only when told (-xy, -xr, ...), beside the
# uncompressed ones in the same context: the listener must pick the compressed one, since
# storescu cannot decompress to send.
@pytest.mark.parametrize(
    ("name", "flag"),
    [("SC_rgb_jpeg_dcmtk.dcm", "-xy"), ("MR_small_RLE.dcm", "-xr"), ("JPEG2000.dcm", "-xw")],
)
def test_storescu_sends_compressed_files_as_they_are(port, name, flag):
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not in this pydicom wheel")
    done = run("storescu", flag, "-aet", PACS_AE, "-aec", BOARD_AE, "127.0.0.1", str(port), path)
    assert done.returncode == 0, done.stderr
    sop = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
    stored = InboxInstance.objects.get(sop_instance_uid=sop)
    sent = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    assert pydicom.dcmread(stored.file.path).file_meta.TransferSyntaxUID == sent
