"""Run inside a private network namespace by test_dimse_orthanc.py: Orthanc, as a PACS,
pushes studies (C-STORE SCU) to Consilium's DICOM listener; prints one JSON line.

Not a test module: a script with its own database (a fresh SQLite file under argv[1]),
since the test's database is not reachable from another process.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(port: int, method: str, path: str, body: bytes | None = None) -> dict | list:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
        return json.loads(response.read() or b"null")


def main(tmp: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "board.settings"
    os.environ["CONSILIUM_VAR_DIR"] = str(tmp / "var")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import pydicom

    from board.models import Board, User
    from cases.models import Case
    from imaging.dimse import listen
    from imaging.models import DicomCaller, InboxStudy, Instance, Study
    from tests.imaging.dicom import ct_dataset, to_bytes

    board = Board.objects.create(name="Sarcoma Board", dicom_ae_title="SARCOMA_MDT")
    DicomCaller.objects.create(board=board, ae_title="ORTHANC", host="127.0.0.1")
    referrer = User.objects.create(username="referrer")
    case = Case.objects.create(
        board=board, submitted_by=referrer, clinical_summary="x", question="y"
    )
    dicom_port = free_port()
    server = listen(host="127.0.0.1", port=dicom_port, block=False)
    http_port = free_port()
    config = {
        "Name": "pacs",
        "StorageDirectory": str(tmp / "orthanc-storage"),
        "IndexDirectory": str(tmp / "orthanc-index"),
        "HttpPort": http_port,
        "DicomServerEnabled": True,
        "DicomAet": "ORTHANC",
        "DicomPort": free_port(),
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomModalities": {"consilium": ["SARCOMA_MDT", "127.0.0.1", dicom_port]},
    }
    (tmp / "orthanc.json").write_text(json.dumps(config))
    log = (tmp / "orthanc.log").open("w")
    orthanc = subprocess.Popen(
        ["/usr/sbin/Orthanc", str(tmp / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        for _ in range(200):
            try:
                http(http_port, "GET", "/system")
                break
            except OSError:
                time.sleep(0.1)
        to_inbox = pydicom.uid.generate_uid()
        to_case = pydicom.uid.generate_uid()
        for i in range(3):
            ds = ct_dataset(study_uid=to_inbox, z=float(i), number=i)
            http(http_port, "POST", "/instances", to_bytes(ds))
        ds = ct_dataset(study_uid=to_case)
        ds.AccessionNumber = case.pseudonym
        http(http_port, "POST", "/instances", to_bytes(ds))
        answers = {}
        for study in http(http_port, "GET", "/studies"):
            body = json.dumps({"Resources": [study], "Synchronous": True}).encode()
            answers[study] = http(http_port, "POST", "/modalities/consilium/store", body)
        inbox = InboxStudy.objects.filter(board=board, study_instance_uid=to_inbox).first()
        print(
            json.dumps(
                {
                    "answers": len(answers),
                    "inbox_instances": inbox.instance_count if inbox else 0,
                    "inbox_patient": inbox.patient_name if inbox else "",
                    "inbox_caller": inbox.calling_ae_title if inbox else "",
                    "case_instances": Instance.objects.filter(series__study__case=case).count(),
                    "case_deidentified": all(
                        s.deidentified for s in Study.objects.filter(case=case)
                    ),
                }
            )
        )
    finally:
        orthanc.terminate()
        orthanc.wait(timeout=30)
        server.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
