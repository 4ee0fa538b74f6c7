"""DICOMweb per case: who may call it, QIDO-RS matching, WADO-RS payloads, STOW-RS answers."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from django.test import Client
from django.urls import reverse
from django.utils.http import parse_header_parameters
from pydicom.uid import generate_uid

from board.models import ApiToken
from board.tokens import token_create, token_revoke
from cases.models import AuditEvent, Case
from imaging.ingest import ingest_file
from imaging.models import Instance, Study
from tests.cases.factories import invite
from tests.helpers import signed_in
from tests.imaging.dicom import ct_dataset, to_bytes

pytestmark = pytest.mark.django_db

BOUNDARY = "consilium-test-boundary"
STOW_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"


# --- helpers ---------------------------------------------------------------------------------


def root(case) -> str:
    return f"/dicomweb/cases/{case.uuid}/"


def bearer(user) -> dict[str, str]:
    _, token = token_create(user=user, name="test", scope=ApiToken.Scope.IMAGING_UPLOAD)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def multipart(*parts: bytes, content_type: str = "application/dicom") -> bytes:
    body = b""
    for part in parts:
        body += f"--{BOUNDARY}\r\nContent-Type: {content_type}\r\n\r\n".encode() + part + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def parts_of(response) -> list[tuple[str, bytes]]:
    """Split a multipart/related answer into (content type, body) pairs."""
    media_type, params = parse_header_parameters(response["Content-Type"])
    assert media_type == "multipart/related"
    body = b"".join(response.streaming_content)
    delimiter = b"--" + params["boundary"].encode()
    chunks = body.split(b"\r\n" + delimiter)
    assert chunks[0].startswith(delimiter)
    chunks[0] = chunks[0][len(delimiter) :]
    assert chunks[-1] in (b"--\r\n", b"--")
    out = []
    for chunk in chunks[:-1]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        content_type = next(
            line.split(":", 1)[1].strip()
            for line in head.decode().split("\r\n")
            if line.lower().startswith("content-type:")
        )
        out.append((content_type, data))
    return out


def value(item: dict, tag: str):
    values = item.get(tag, {}).get("Value", [])
    return values[0] if values else None


def uids(response, tag: str = "0020000D") -> list[str]:
    return [value(item, tag) for item in response.json()]


def ingest(case, ds, by):
    result = ingest_file(case=case, by=by, data=to_bytes(ds), name="x.dcm")
    assert result.ok, result.reason
    return result.instance


class Imaging:
    """One stored study: a CT series of three slices and a three-frame instance."""

    def __init__(self, case, by):
        self.original_study = generate_uid()
        series = generate_uid()
        self.datasets = [
            ct_dataset(study_uid=self.original_study, series_uid=series, z=-2.5 * i, number=i + 1)
            for i in range(3)
        ]
        self.instances = [ingest(case, ds, by) for ds in self.datasets]
        multi = ct_dataset(study_uid=self.original_study, series_uid=generate_uid(), rows=4)
        self.frames = np.arange(3 * 4 * 16, dtype=np.uint16).reshape(3, 4, 16) * 7
        multi.NumberOfFrames = 3
        multi.PixelData = self.frames.astype("<u2").tobytes()
        self.multiframe = ingest(case, multi, by)
        first = self.instances[0]
        self.study = first.series.study.study_instance_uid
        self.series = first.series.series_instance_uid
        self.sop = first.sop_instance_uid
        self.instance_path = f"studies/{self.study}/series/{self.series}/instances/{self.sop}"


@pytest.fixture
def imaging(case, cast):
    return Imaging(case, cast.referrer)


# --- who may call it ----------------------------------------------------------------------


def read_paths(imaging: Imaging) -> list[str]:
    study = f"studies/{imaging.study}"
    series = f"{study}/series/{imaging.series}"
    instance = imaging.instance_path
    return [
        "studies",
        "series",
        "instances",
        study,
        f"{study}/metadata",
        f"{study}/series",
        f"{study}/instances",
        series,
        f"{series}/metadata",
        f"{series}/instances",
        instance,
        f"{instance}/metadata",
        f"{instance}/rendered",
        f"{instance}/frames/1",
        f"{instance}/frames/1/rendered",
    ]


def caller(cast, case, who: str) -> tuple[Client, dict[str, str]]:
    """A client and extra headers for one role."""
    if who == "anonymous":
        return Client(), {}
    if who == "outsider_token":
        return Client(), bearer(cast.outsider)
    if who == "revoked_token":
        api_token, token = token_create(user=cast.chair, name="old")
        token_revoke(token=api_token)
        return Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if who == "member_token":
        return Client(), bearer(cast.pathologist)
    if who == "expert":
        invite(cast, case)
    user = {"member": cast.pathologist, "submitter": cast.referrer}.get(who) or getattr(cast, who)
    return signed_in(user), {}


@pytest.fixture(autouse=True)
def many_refusals_allowed(settings):
    # The matrices send one refused token per URL; the lockout that would follow is
    # tests/board/test_sign_in_throttle.py's subject.
    settings.AXES_FAILURE_LIMIT = 100


READ_STATUS = {
    "chair": 200,
    "member": 200,
    "member_token": 200,
    "expert": 200,
    "submitter": 200,
    "outsider": 404,
    "other_member": 404,
    "anonymous": 401,
    "outsider_token": 404,
    "revoked_token": 401,
}
STORE_STATUS = {**READ_STATUS, "expert": 403}


@pytest.mark.parametrize("who", list(READ_STATUS))
def test_every_read_url_answers_by_role(cast, case, imaging, who):
    client, headers = caller(cast, case, who)
    got = {
        path: client.get(root(case) + path, **headers).status_code for path in read_paths(imaging)
    }
    assert got == dict.fromkeys(read_paths(imaging), READ_STATUS[who])


@pytest.mark.parametrize("who", list(STORE_STATUS))
def test_every_store_url_answers_by_role(cast, case, imaging, who):
    client, headers = caller(cast, case, who)
    paths = ["studies", f"studies/{imaging.original_study}"]
    got = {}
    for path in paths:
        body = multipart(to_bytes(ct_dataset(study_uid=imaging.original_study)))
        response = client.post(root(case) + path, body, content_type=STOW_TYPE, **headers)
        got[path] = response.status_code
    assert got == dict.fromkeys(paths, STORE_STATUS[who])


def test_unauthenticated_gets_a_bearer_challenge_not_a_login_redirect(case, imaging):
    response = Client().get(root(case) + "studies")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_token_is_401_even_with_a_session(cast, case, imaging):
    client = signed_in(cast.chair)
    response = client.get(root(case) + "studies", HTTP_AUTHORIZATION="Bearer csl_wrong")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_outsiders_are_refused_and_audited(cast, case, imaging):
    client, headers = caller(cast, case, "outsider_token")
    assert client.get(root(case) + "studies", **headers).status_code == 404
    event = AuditEvent.objects.get(action="dicomweb.read", actor=cast.outsider)
    assert event.outcome == AuditEvent.Outcome.DENIED


def test_reads_are_audited(cast, case, imaging):
    signed_in(cast.chair).get(root(case) + f"studies/{imaging.study}/metadata")
    event = AuditEvent.objects.get(action="dicomweb.retrieve", actor=cast.chair)
    assert event.outcome == AuditEvent.Outcome.ALLOWED
    assert event.detail == {"what": "metadata", "count": 4}


def test_unknown_case_is_404(cast, imaging):
    response = signed_in(cast.chair).get(
        "/dicomweb/cases/00000000-0000-4000-8000-000000000000/studies"
    )
    assert response.status_code == 404


def test_unknown_study_series_and_instance_are_404(cast, case, imaging):
    client = signed_in(cast.chair)
    for path in (
        "studies/1.2.3",
        f"studies/{imaging.study}/series/1.2.3/metadata",
        f"studies/{imaging.study}/series/{imaging.series}/instances/1.2.3",
        f"{imaging.instance_path}/frames/2",  # a single-frame instance
    ):
        assert client.get(root(case) + path).status_code == 404, path


def test_wrong_methods_are_405(cast, case, imaging):
    client = signed_in(cast.chair)
    assert client.delete(root(case) + "studies").status_code == 405
    assert client.post(root(case) + "series").status_code == 405
    assert client.put(root(case) + imaging.instance_path).status_code == 405


# --- QIDO-RS -----------------------------------------------------------------------------


def add_study(case, by, *, date, description, modality="CT", count=1, number=None):
    study = generate_uid()
    series = generate_uid()
    instances = []
    for i in range(count):
        ds = ct_dataset(study_uid=study, series_uid=series, z=float(i), number=i + 1)
        ds.StudyDate = date
        ds.StudyDescription = description
        ds.Modality = modality
        ds.AccessionNumber = f"ACC{date}"
        if number is not None:
            ds.SeriesNumber = number
        instances.append(ingest(case, ds, by))
    return instances[0].series.study


def no_deidentification(case) -> None:
    """Store values as sent, so that what matches is plain to read."""
    case.board.deidentify_imaging = False
    case.board.save()


@pytest.fixture
def three_studies(case, cast):
    no_deidentification(case)
    return {
        "thigh": add_study(case, cast.referrer, date="20260105", description="CT THIGH", count=2),
        "chest": add_study(case, cast.referrer, date="20250610", description="CT CHEST"),
        "pelvis": add_study(
            case, cast.referrer, date="20240101", description="MR PELVIS", modality="MR"
        ),
    }


def search(cast, case, path="studies", **params):
    response = signed_in(cast.chair).get(root(case) + path, params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/dicom+json"
    return response


def found(response, studies) -> set[str]:
    by_uid = {s.study_instance_uid: name for name, s in studies.items()}
    return {by_uid[uid] for uid in uids(response)}


def test_study_search_answers_the_standard_attributes(cast, case, three_studies):
    response = search(cast, case, StudyInstanceUID=three_studies["thigh"].study_instance_uid)
    (study,) = response.json()
    assert study["0020000D"] == {"vr": "UI", "Value": [three_studies["thigh"].study_instance_uid]}
    assert value(study, "00080020") == "20260105"  # StudyDate
    assert value(study, "00080030") == "101500"  # StudyTime
    assert value(study, "00080050") == "ACC20260105"  # AccessionNumber
    assert study["00080061"] == {"vr": "CS", "Value": ["CT"]}  # ModalitiesInStudy
    assert value(study, "00100010") == {"Alphabetic": "Quixote^Alonso"}  # PatientName
    assert value(study, "00081030") == "CT THIGH"
    assert value(study, "00201206") == 1  # NumberOfStudyRelatedSeries
    assert value(study, "00201208") == 2  # NumberOfStudyRelatedInstances
    url = value(study, "00081190")
    assert (
        url == f"http://testserver{root(case)}studies/{three_studies['thigh'].study_instance_uid}"
    )


def test_study_date_single_and_ranges(cast, case, three_studies):
    assert found(search(cast, case, StudyDate="20250610"), three_studies) == {"chest"}
    both = search(cast, case, StudyDate="20250101-20261231")
    assert found(both, three_studies) == {"thigh", "chest"}
    assert found(search(cast, case, StudyDate="-20250101"), three_studies) == {"pelvis"}
    assert found(search(cast, case, StudyDate="20250611-"), three_studies) == {"thigh"}
    by_tag = search(cast, case, **{"00080020": "20240101"})
    assert found(by_tag, three_studies) == {"pelvis"}


@pytest.mark.parametrize("bad", ["2025-06-10", "20251340", "-", "yesterday"])
def test_a_bad_date_is_400(cast, case, three_studies, bad):
    response = signed_in(cast.chair).get(root(case) + "studies", {"StudyDate": bad})
    assert response.status_code == 400


def test_wildcards_match_descriptions(cast, case, three_studies):
    assert found(search(cast, case, StudyDescription="CT*"), three_studies) == {"thigh", "chest"}
    assert found(search(cast, case, StudyDescription="*thigh"), three_studies) == {"thigh"}
    assert found(search(cast, case, StudyDescription="?R PELVIS"), three_studies) == {"pelvis"}
    assert found(search(cast, case, StudyDescription="CT"), three_studies) == set()
    assert found(search(cast, case, StudyDescription="ct chest"), three_studies) == {"chest"}
    # Regex characters in a value are literal.
    assert found(search(cast, case, StudyDescription="CT.*"), three_studies) == set()


def test_more_than_two_stars_are_refused_before_they_cost(cast, case, three_studies):
    # Each '*' more multiplies the backtracking a non-matching value costs.
    client = signed_in(cast.chair)
    refused = client.get(root(case) + "studies", {"StudyDescription": "*C*H*S*T"})
    assert refused.status_code == 400
    assert found(search(cast, case, StudyDescription="**C**EST"), three_studies) == {"chest"}


def test_modality_patient_and_accession_match(cast, case, three_studies):
    assert found(search(cast, case, ModalitiesInStudy="MR"), three_studies) == {"pelvis"}
    assert found(search(cast, case, Modality="CT"), three_studies) == {"thigh", "chest"}
    assert found(search(cast, case, AccessionNumber="ACC20250610"), three_studies) == {"chest"}
    assert len(search(cast, case, PatientName="Quix*").json()) == 3
    assert search(cast, case, PatientID="nobody").json() == []


def test_universal_matching_and_unknown_keys_do_not_filter(cast, case, three_studies):
    response = search(cast, case, StudyDescription="", includefield="all", fuzzymatching="false")
    assert len(response.json()) == 3


def test_limit_and_offset_page_through_in_a_stable_order(cast, case, three_studies):
    everything = uids(search(cast, case))
    assert len(everything) == 3
    first = uids(search(cast, case, limit=2))
    rest = uids(search(cast, case, limit=2, offset=2))
    assert first + rest == everything
    assert search(cast, case, offset=3).json() == []
    assert signed_in(cast.chair).get(root(case) + "studies", {"limit": "x"}).status_code == 400


def test_the_server_cap_is_announced_with_a_warning(cast, case, three_studies, monkeypatch):
    monkeypatch.setattr("imaging.dicomweb.MAX_RESULTS", 2)
    response = search(cast, case)
    assert len(response.json()) == 2
    assert "additional results" in response["Warning"]
    assert "Warning" not in search(cast, case, limit=2)


def test_series_search_in_a_study_and_across_the_case(cast, case, three_studies):
    thigh = three_studies["thigh"].study_instance_uid
    (series,) = search(cast, case, f"studies/{thigh}/series").json()
    assert value(series, "00080060") == "CT"
    assert value(series, "0020000D") == thigh
    assert value(series, "00201209") == 2  # NumberOfSeriesRelatedInstances
    assert value(series, "0008103E") == "Axial soft tissue"
    assert value(series, "00200011") == 2  # SeriesNumber
    series_uid = value(series, "0020000E")
    assert value(series, "00081190").endswith(f"studies/{thigh}/series/{series_uid}")
    assert len(search(cast, case, "series").json()) == 3
    assert uids(search(cast, case, "series", Modality="MR")) == [
        three_studies["pelvis"].study_instance_uid
    ]
    assert uids(search(cast, case, "series", StudyDate="20260105")) == [thigh]
    listed = ",".join(s.series.first().series_instance_uid for s in three_studies.values())
    assert len(search(cast, case, "series", SeriesInstanceUID=listed).json()) == 3


def test_instance_search(cast, case, three_studies):
    thigh = three_studies["thigh"]
    series_uid = thigh.series.get().series_instance_uid
    path = f"studies/{thigh.study_instance_uid}/series/{series_uid}/instances"
    answer = search(cast, case, path).json()
    assert [value(i, "00200013") for i in answer] == [1, 2]  # InstanceNumber, in space order
    first = answer[0]
    assert value(first, "00080016") == "1.2.840.10008.5.1.4.1.1.2"  # SOPClassUID
    assert (value(first, "00280010"), value(first, "00280011")) == (16, 16)
    assert value(first, "00280008") == 1  # NumberOfFrames
    sop = value(first, "00080018")
    assert value(first, "00081190").endswith(f"{path}/{sop}")
    assert len(search(cast, case, "instances").json()) == 4
    assert len(search(cast, case, "instances", SOPInstanceUID=sop).json()) == 1
    assert len(search(cast, case, path, InstanceNumber="2").json()) == 1
    response = signed_in(cast.chair).get(root(case) + path, {"InstanceNumber": "two"})
    assert response.status_code == 400


def test_an_empty_case_answers_an_empty_list(cast, case):
    assert search(cast, case).json() == []


def many_studies(case, by, studies: int, per_study: int) -> None:
    for i in range(studies):
        add_study(case, by, date=f"2025{i % 12 + 1:02d}01", description=f"S{i}", count=per_study)


@pytest.mark.parametrize("path", ["studies", "series", "instances"])
def test_search_query_count_does_not_grow(cast, case, path, django_assert_max_num_queries):
    client = signed_in(cast.chair)
    many_studies(case, cast.referrer, 2, 5)  # 10 instances
    with django_assert_max_num_queries(20) as few:
        assert len(client.get(root(case) + path).json()) in (2, 10)
    many_studies(case, cast.referrer, 8, 5)  # 50 instances
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(root(case) + path).json()) in (10, 50)


def test_metadata_query_count_does_not_grow(cast, case, django_assert_max_num_queries):
    no_deidentification(case)
    client = signed_in(cast.chair)
    study = add_study(case, cast.referrer, date="20250101", description="S", count=10)
    url = root(case) + f"studies/{study.study_instance_uid}/metadata"
    with django_assert_max_num_queries(20) as few:
        assert len(client.get(url).json()) == 10
    for i in range(40):
        ds = ct_dataset(study_uid=study.study_instance_uid, z=float(i), number=i)
        ingest(case, ds, cast.referrer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url).json()) == 50


def test_search_refuses_other_boards_studies(cast, case, imaging):
    from tests.cases.factories import make_case

    other = make_case(cast, board=cast.other_board)
    ingest(other, ct_dataset(), cast.referrer)
    assert uids(search(cast, case)) == [imaging.study]


# --- WADO-RS ---------------------------------------------------------------------------------


def test_instance_retrieval_is_a_multipart_of_part10_files(cast, case, imaging):
    response = signed_in(cast.chair).get(root(case) + imaging.instance_path)
    assert response.status_code == 200
    _, params = parse_header_parameters(response["Content-Type"])
    assert params["type"] == "application/dicom"
    ((content_type, data),) = parts_of(response)
    assert content_type.startswith("application/dicom; transfer-syntax=1.2.840.10008.1.2.1")
    assert data[128:132] == b"DICM"
    ds = pydicom.dcmread(io.BytesIO(data))
    assert ds.SOPInstanceUID == imaging.sop
    assert str(ds.PatientName) == case.pseudonym  # the stored, de-identified file
    np.testing.assert_array_equal(ds.pixel_array, imaging.datasets[0].pixel_array)


def test_study_and_series_retrieval_send_every_instance(cast, case, imaging):
    client = signed_in(cast.chair)
    study = parts_of(client.get(root(case) + f"studies/{imaging.study}"))
    assert len(study) == 4
    sops = {pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID for _, data in study}
    assert sops == {i.sop_instance_uid for i in [*imaging.instances, imaging.multiframe]}
    series = parts_of(client.get(root(case) + f"studies/{imaging.study}/series/{imaging.series}"))
    numbers = [int(pydicom.dcmread(io.BytesIO(data)).InstanceNumber) for _, data in series]
    assert numbers == [3, 2, 1]  # in space order (z = -5, -2.5, 0), not by number


def test_retrieval_refuses_what_it_cannot_send(cast, case, imaging):
    client = signed_in(cast.chair)
    path = root(case) + imaging.instance_path
    assert client.get(path, HTTP_ACCEPT="application/json").status_code == 406
    accepted = client.get(path, HTTP_ACCEPT='multipart/related; type="application/dicom"')
    assert accepted.status_code == 200
    frames = root(case) + imaging.instance_path + "/frames/1"
    assert client.get(frames, HTTP_ACCEPT='multipart/related; type="image/jp2"').status_code == 406


def test_frames_are_the_stored_values(cast, case, imaging):
    response = signed_in(cast.chair).get(root(case) + imaging.instance_path + "/frames/1")
    assert response.status_code == 200
    ((content_type, data),) = parts_of(response)
    assert content_type == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    assert data == imaging.datasets[0].pixel_array.astype("<u2").tobytes()


def test_frames_of_a_multiframe_instance_by_1_based_number(cast, case, imaging):
    multi = imaging.multiframe
    path = (
        f"studies/{imaging.study}/series/{multi.series.series_instance_uid}"
        f"/instances/{multi.sop_instance_uid}/frames/3,1"
    )
    parts = parts_of(signed_in(cast.chair).get(root(case) + path))
    assert [data for _, data in parts] == [
        imaging.frames[2].astype("<u2").tobytes(),
        imaging.frames[0].astype("<u2").tobytes(),
    ]
    assert signed_in(cast.chair).get(root(case) + path.replace("3,1", "0")).status_code == 404
    assert signed_in(cast.chair).get(root(case) + path.replace("3,1", "4")).status_code == 404


def test_metadata_holds_the_header_and_points_to_the_pixels(cast, case, imaging):
    client = signed_in(cast.chair)
    response = client.get(root(case) + f"studies/{imaging.study}/metadata")
    assert response["Content-Type"] == "application/dicom+json"
    answer = response.json()
    assert len(answer) == 4
    for item in answer:
        pixel_data = item["7FE00010"]
        assert set(pixel_data) == {"vr", "BulkDataURI"}  # no Value, no InlineBinary
        assert value(item, "0020000D") == imaging.study
        assert value(item, "00100010") == {"Alphabetic": case.pseudonym}
        assert value(item, "00083002") == "1.2.840.10008.1.2.1"  # AvailableTransferSyntaxUID
    assert "Quixote" not in response.content.decode()
    one = client.get(root(case) + imaging.instance_path + "/metadata").json()
    uri = one[0]["7FE00010"]["BulkDataURI"]
    assert uri.endswith(imaging.instance_path + "/frames/1")
    frames = parts_of(client.get(uri.removeprefix("http://testserver")))
    assert frames[0][1] == imaging.datasets[0].pixel_array.astype("<u2").tobytes()


def test_metadata_of_a_dataset_matches_the_file(cast, case, imaging):
    client = signed_in(cast.chair)
    path = f"studies/{imaging.study}/series/{imaging.series}/metadata"
    answer = client.get(root(case) + path).json()
    first = next(item for item in answer if value(item, "00080018") == imaging.sop)
    restored = pydicom.Dataset.from_json({k: v for k, v in first.items() if k != "7FE00010"})
    with imaging.instances[0].file.open("rb") as fh:
        stored = pydicom.dcmread(fh, stop_before_pixels=True)
    for keyword in ("SOPInstanceUID", "Rows", "PixelSpacing", "WindowCenter", "StudyDate"):
        assert restored[keyword].value == stored[keyword].value, keyword


def test_rendered_follows_the_accept_header(cast, case, imaging):
    client = signed_in(cast.chair)
    path = root(case) + imaging.instance_path + "/rendered"
    jpeg = client.get(path)
    assert jpeg["Content-Type"] == "image/jpeg"
    assert jpeg.content.startswith(JPEG)
    png = client.get(path, HTTP_ACCEPT="image/png")
    assert png.content.startswith(PNG)
    assert client.get(path, HTTP_ACCEPT="text/html").status_code == 406
    small = client.get(path, {"viewport": "16,16", "window": "40,400"}, HTTP_ACCEPT="image/png")
    assert small.status_code == 200
    assert client.get(path, {"window": "40"}).status_code == 400


def test_rendered_frames_take_one_frame(cast, case, imaging):
    multi = imaging.multiframe
    path = (
        f"studies/{imaging.study}/series/{multi.series.series_instance_uid}"
        f"/instances/{multi.sop_instance_uid}/frames"
    )
    client = signed_in(cast.chair)
    assert client.get(root(case) + path + "/2/rendered").content.startswith(JPEG)
    assert client.get(root(case) + path + "/1,2/rendered").status_code == 400


def test_responses_are_not_cached(cast, case, imaging):
    response = signed_in(cast.chair).get(root(case) + "studies")
    assert response["Cache-Control"] == "private, no-store"
    assert "Authorization" in response["Vary"]


# --- STOW-RS ---------------------------------------------------------------------------------


def stow(client, case, body, path="studies", **headers):
    return client.post(root(case) + path, body, content_type=STOW_TYPE, **headers)


def test_a_token_stores_instances_and_answers_their_stored_uids(cast, case):
    study_uid, series_uid = generate_uid(), generate_uid()
    datasets = [
        ct_dataset(study_uid=study_uid, series_uid=series_uid, z=float(i), number=i)
        for i in range(2)
    ]
    response = stow(Client(), case, multipart(*map(to_bytes, datasets)), **bearer(cast.radiologist))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/dicom+json"
    answer = response.json()
    assert "00081198" not in answer  # no FailedSOPSequence
    referenced = answer["00081199"]["Value"]
    stored = {i.sop_instance_uid: i for i in Instance.objects.all()}
    assert {value(item, "00081155") for item in referenced} == set(stored)
    # De-identified: the answer names the stored UIDs, not the ones sent.
    assert not {ds.SOPInstanceUID for ds in datasets} & set(stored)
    study = Study.objects.get()
    assert value(answer, "00081190").endswith(f"studies/{study.study_instance_uid}")
    for item in referenced:
        url = value(item, "00081190").removeprefix("http://testserver")
        assert signed_in(cast.chair).get(url).status_code == 200
    assert study.uploaded_by == cast.radiologist
    event = AuditEvent.objects.get(action="imaging.upload")
    assert event.detail == {"via": "stow-rs", "stored": 2, "duplicate": 0, "refused": 0}
    series = study.series.get()
    thumbnail = signed_in(cast.chair).get(
        reverse("series-thumbnail", kwargs={"case_id": case.uuid, "series_id": series.uuid})
    )
    assert thumbnail.content.startswith(b"\x89PNG")  # made when first asked for


def test_a_resent_instance_is_referenced_not_stored_twice(cast, case):
    body = multipart(to_bytes(ct_dataset()))
    client = signed_in(cast.chair)
    assert stow(client, case, body).status_code == 200
    again = stow(client, case, body)
    assert again.status_code == 200
    assert len(again.json()["00081199"]["Value"]) == 1
    assert Instance.objects.count() == 1


def test_a_non_dicom_part_is_a_failure_beside_the_stored_ones(cast, case):
    body = multipart(to_bytes(ct_dataset()), b"%PDF-1.4 not an image" * 10)
    response = stow(signed_in(cast.chair), case, body)
    assert response.status_code == 202
    answer = response.json()
    assert len(answer["00081199"]["Value"]) == 1
    (failure,) = answer["00081198"]["Value"]
    assert value(failure, "00081197") == 0xC000  # FailureReason: cannot understand
    assert "00081155" in failure  # ReferencedSOPInstanceUID present, empty
    assert "DICOM" in value(failure, "00000902")
    assert Instance.objects.count() == 1


def test_nothing_stored_is_409(cast, case):
    response = stow(signed_in(cast.chair), case, multipart(b"hello" * 100))
    assert response.status_code == 409
    assert "00081199" not in response.json()
    assert Instance.objects.count() == 0


def test_a_report_is_refused_as_an_unsupported_class(cast, case):
    ds = ct_dataset()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    del ds.PixelData
    response = stow(signed_in(cast.chair), case, multipart(to_bytes(ds)))
    assert response.status_code == 409
    (failure,) = response.json()["00081198"]["Value"]
    assert value(failure, "00081197") == 0x0122
    assert value(failure, "00081155") == ds.SOPInstanceUID  # as sent: it was not stored


def test_a_part_of_another_type_is_refused(cast, case):
    body = multipart(b'{"00100010": {}}', content_type="application/dicom+json")
    response = stow(signed_in(cast.chair), case, body)
    assert response.status_code == 409
    assert "application/dicom+json" in value(response.json()["00081198"]["Value"][0], "00000902")


def test_storing_into_a_study_checks_the_study(cast, case, imaging):
    client = signed_in(cast.chair)
    # The UID as sent and the UID as stored (after de-identification) both name the study.
    for study_uid in (imaging.original_study, imaging.study):
        body = multipart(to_bytes(ct_dataset(study_uid=imaging.original_study)))
        response = stow(client, case, body, f"studies/{study_uid}")
        assert response.status_code == 200, study_uid
    assert Study.objects.count() == 1
    elsewhere = stow(client, case, multipart(to_bytes(ct_dataset())), f"studies/{imaging.study}")
    assert elsewhere.status_code == 409
    assert Study.objects.count() == 1


@pytest.mark.parametrize(
    "content_type, body, status",
    [
        ("application/dicom", b"x", 415),
        ('multipart/related; type="application/dicom+json"; boundary=b', b"x", 415),
        ('multipart/related; type="application/dicom"', b"x", 400),  # no boundary
        (STOW_TYPE, b"no boundary in here", 400),
        (STOW_TYPE, f"--{BOUNDARY}--\r\n".encode(), 400),  # no parts
        (STOW_TYPE, f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\nabc".encode(), 400),
        (STOW_TYPE, f"--{BOUNDARY}\r\nContent-Type: application/dicom".encode(), 400),
    ],
    ids=[
        "not-multipart",
        "json-parts",
        "no-boundary",
        "wrong-boundary",
        "no-parts",
        "unclosed",
        "no-body",
    ],
)
def test_malformed_requests_are_4xx_never_500(cast, case, content_type, body, status):
    response = signed_in(cast.chair).post(root(case) + "studies", body, content_type=content_type)
    assert response.status_code == status
    assert Instance.objects.count() == 0


def test_a_body_cut_after_a_good_part_keeps_the_good_part(cast, case):
    body = multipart(to_bytes(ct_dataset())).removesuffix(f"--{BOUNDARY}--\r\n".encode())
    body += f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\ntruncated".encode()
    response = stow(signed_in(cast.chair), case, body)
    assert response.status_code == 202
    assert Instance.objects.count() == 1


def test_the_body_size_is_capped(cast, case, settings):
    settings.STOW_MAX_BYTES = 1000
    body = multipart(to_bytes(ct_dataset()))
    response = stow(signed_in(cast.chair), case, body)
    assert response.status_code == 413
    assert Instance.objects.count() == 0


def test_an_oversized_part_is_refused_out_of_resources(cast, case, settings):
    settings.DICOM_MAX_FILE_BYTES = 4000
    big = to_bytes(ct_dataset(rows=64, columns=64))
    response = stow(
        signed_in(cast.chair), case, multipart(big, to_bytes(ct_dataset(rows=4, columns=4)))
    )
    assert response.status_code == 202
    (failure,) = response.json()["00081198"]["Value"]
    assert value(failure, "00081197") == 0xA700


def test_the_part_count_is_capped(cast, case, settings):
    settings.ZIP_MAX_ENTRIES = 2
    body = multipart(*(to_bytes(ct_dataset()) for _ in range(3)))
    response = stow(signed_in(cast.chair), case, body)
    assert response.status_code == 202
    assert Instance.objects.count() == 2


def test_a_session_post_needs_the_csrf_token(cast, case):
    client = signed_in(cast.chair, enforce_csrf_checks=True)
    body = multipart(to_bytes(ct_dataset()))
    assert stow(client, case, body).status_code == 403
    assert Instance.objects.count() == 0
    client.get(reverse("account"))  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    assert stow(client, case, body, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_a_token_post_needs_no_csrf_token(cast, case):
    client = Client(enforce_csrf_checks=True)
    body = multipart(to_bytes(ct_dataset()))
    assert stow(client, case, body, **bearer(cast.chair)).status_code == 200


def test_a_closed_case_takes_no_images(cast, case):
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CONCLUDED)
    response = stow(Client(), case, multipart(to_bytes(ct_dataset())), **bearer(cast.chair))
    assert response.status_code == 403
    assert Instance.objects.count() == 0
