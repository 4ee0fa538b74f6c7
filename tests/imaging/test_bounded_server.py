"""Requests that once grew with what the client asked for, against a real Daphne: the
server's peak resident size (VmHWM) may rise by at most 100 MiB, and the answers are
bounded and say why.

Before: ``frames/1,1,1,...`` (5,000 times) answered 5,000 copies of the frame (2.5 GiB for a
512 x 512 CT slice); a zip of a few MB holding one 600 MiB entry raised the server's peak
by over 1 GB; an upload from the page held every file of the request in memory at once.
"""

from __future__ import annotations

import http.client
import io
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from imaging.ingest import ingest_many
from tests.cases.factories import make_case
from tests.e2e.browser import start_daphne
from tests.helpers import signed_in
from tests.imaging.dicom import ct_bytes

MiB = 2**20
BOUND = 100 * MiB


@pytest.fixture
def server(transactional_db, tmp_path):
    server = start_daphne(tmp_path)
    yield server
    server.stop()


def peak(server) -> int:
    """The server process's peak resident size so far, in bytes."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def session(user) -> str:
    client = signed_in(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def request(server, method, path, *, cookie, body=None, headers=None) -> tuple[int, int, bytes]:
    """(status, body length, the first 64 KiB of the body), the body read to its end."""
    parts = urlsplit(str(server))
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    connection.request(method, path, body=body, headers={"Cookie": cookie, **(headers or {})})
    response = connection.getresponse()
    head, length = b"", 0
    while chunk := response.read(MiB):
        head = head or chunk[: 64 * 1024]
        length += len(chunk)
    connection.close()
    return response.status, length, head


def test_a_frame_list_repeating_one_frame_gets_that_frame_once(cast, server):
    case = make_case(cast)
    (result,) = ingest_many(
        case=case, by=None, files=[("ct.dcm", io.BytesIO(ct_bytes(rows=512, columns=512)))]
    ).results
    instance = result.instance
    path = (
        f"/dicomweb/cases/{case.uuid}/studies/{instance.series.study.study_instance_uid}"
        f"/series/{instance.series.series_instance_uid}/instances/{instance.sop_instance_uid}"
    )
    cookie = session(cast.chair)
    status, one, _ = request(server, "GET", f"{path}/frames/1", cookie=cookie)
    assert status == 200 and one > 512 * 512 * 2
    before = peak(server)
    frames = ",".join(["1"] * 5000)
    status, length, _ = request(server, "GET", f"{path}/frames/{frames}", cookie=cookie)
    assert status == 200
    assert length == one  # one part, not 5,000
    assert peak(server) - before < BOUND


def upload(server, case, cookie, body: bytes, content_type: str):
    return request(
        server,
        "POST",
        f"/cases/{case.uuid}/imaging/",
        cookie=cookie,
        body=body,
        headers={"Content-Type": content_type, "Accept": "application/json", **csrf(cookie)},
    )


def csrf(cookie: str) -> dict[str, str]:
    token = "x" * 32
    return {"Cookie": f"{cookie}; csrftoken={token}", "X-CSRFToken": token}


def test_a_zip_with_a_600_mib_entry_is_refused_within_the_bound(cast, server, tmp_path):
    case = make_case(cast)
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zipped:
        zipped.writestr("ok.dcm", ct_bytes())
        with zipped.open("big.dcm", "w", force_zip64=True) as entry:
            for _ in range(600):
                entry.write(bytes(MiB))
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="upload.zip"\r\nContent-Type: application/zip\r\n\r\n'
        ).encode()
        + archive.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    cookie = session(cast.chair)
    assert request(server, "GET", "/", cookie=cookie)[0] == 200
    before = peak(server)
    status, _, answer = upload(
        server, case, cookie, body, f"multipart/form-data; boundary={boundary}"
    )
    assert status == 200, answer
    assert b'"stored": 1' in answer
    assert b"more than the 512 MB file limit" in answer
    assert peak(server) - before < BOUND


def many_parts(boundary: str, count: int = 24, size: int = 8 * MiB) -> bytes:
    """``count`` parts of ``size`` bytes that are no DICOM (192 MiB by default)."""
    part = b"\x01" * size
    return (
        b"".join(
            f"--{boundary}\r\nContent-Type: application/dicom\r\n"
            f"Content-Location: file{i}.dcm\r\n\r\n".encode()
            + part
            + b"\r\n"
            for i in range(count)
        )
        + f"--{boundary}--\r\n".encode()
    )


def test_a_stow_rs_request_holds_one_part_at_a_time(cast, server):
    case = make_case(cast)
    boundary = uuid.uuid4().hex
    body = many_parts(boundary)
    cookie = session(cast.chair)
    assert request(server, "GET", "/", cookie=cookie)[0] == 200
    before = peak(server)
    status, _, answer = request(
        server,
        "POST",
        f"/dicomweb/cases/{case.uuid}/studies",
        cookie=cookie,
        body=body,
        headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
            **csrf(cookie),
        },
    )
    assert status == 409, answer  # none stored (PS3.18 10.5.3), each part refused
    assert peak(server) - before < BOUND


def test_an_upload_from_the_page_holds_one_file_at_a_time(cast, server):
    # What static/js/dicom-upload.js sends: multipart/related, one part a file. 24 parts of
    # 8 MiB (192 MiB) that are no DICOM: each is refused, and none is kept in memory.
    case = make_case(cast)
    boundary = uuid.uuid4().hex
    body = many_parts(boundary)
    cookie = session(cast.chair)
    assert request(server, "GET", "/", cookie=cookie)[0] == 200
    before = peak(server)
    content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
    status, _, answer = upload(server, case, cookie, body, content_type)
    assert status == 400, answer  # nothing stored: every part refused, each with a reason
    assert answer.count(b'"status": "refused"') == 24
    assert peak(server) - before < BOUND
