"""An unmodified DICOMweb client (dicomweb-client) against a real Daphne serving Consilium.

No browser: the client speaks HTTP itself, with a personal token as its only credential.
"""

from __future__ import annotations

import numpy as np
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom.uid import generate_uid

from board.models import ApiToken
from board.tokens import token_create
from cases.models import Case
from imaging.models import Instance
from tests.cases.factories import PATIENT_NAME, make_case
from tests.imaging.dicom import PATIENT, ct_dataset


@pytest.fixture
def served_media(settings, monkeypatch):
    """The server process stores files where this test process can read them."""
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))
    return settings.MEDIA_ROOT


def test_store_search_and_retrieve_with_dicomweb_client(cast, served_media, daphne_server):
    case = make_case(cast, status=Case.Status.IN_REVIEW)
    _, token = token_create(
        user=cast.referrer, name="dicomweb-client", scope=ApiToken.Scope.IMAGING_UPLOAD
    )
    client = DICOMwebClient(
        url=f"{daphne_server.url}/dicomweb/cases/{case.uuid}",
        headers={"Authorization": f"Bearer {token}"},
    )
    study_uid, series_uid = generate_uid(), generate_uid()
    # 256 x 256 x 16 bits x 12 slices is over the client's 1 MB chunk size, so the
    # upload also goes through its chunked transfer encoding.
    sent = [
        ct_dataset(
            rows=256,
            columns=256,
            study_uid=study_uid,
            series_uid=series_uid,
            z=-2.5 * i,
            number=i + 1,
        )
        for i in range(12)
    ]

    answer = client.store_instances(sent)
    assert len(answer.ReferencedSOPSequence) == 12
    assert "FailedSOPSequence" not in answer
    assert Instance.objects.filter(series__study__case=case).count() == 12

    # The stored UIDs are the de-identified ones.
    (study,) = client.search_for_studies()
    stored_study = study["0020000D"]["Value"][0]
    assert stored_study != study_uid
    assert study["00201208"]["Value"] == [12]  # NumberOfStudyRelatedInstances
    stored_date = study["00080020"]["Value"][0]  # shifted by de-identification
    assert client.search_for_studies(search_filters={"StudyDate": stored_date}) == [study]
    assert client.search_for_studies(search_filters={"StudyDate": "19000101-19001231"}) == []
    assert client.search_for_studies(search_filters={"ModalitiesInStudy": "CT"}) == [study]
    assert client.search_for_studies(search_filters={"ModalitiesInStudy": "MR"}) == []

    (series,) = client.search_for_series(stored_study)
    stored_series = series["0020000E"]["Value"][0]
    instances = client.search_for_instances(stored_study, stored_series)
    assert len(instances) == 12
    paged = client.search_for_instances(stored_study, stored_series, limit=5, get_remaining=True)
    assert [i["00080018"] for i in paged] == [i["00080018"] for i in instances]

    metadata = client.retrieve_study_metadata(stored_study)
    assert len(metadata) == 12
    assert all("BulkDataURI" in item["7FE00010"] for item in metadata)
    assert all(item["00100010"]["Value"] == [{"Alphabetic": case.pseudonym}] for item in metadata)

    by_number = {int(i["00200013"]["Value"][0]): i["00080018"]["Value"][0] for i in instances}
    sop = by_number[5]
    original = sent[4]
    (frame,) = client.retrieve_instance_frames(stored_study, stored_series, sop, frame_numbers=[1])
    assert frame == original.pixel_array.astype("<u2").tobytes()

    ds = client.retrieve_instance(stored_study, stored_series, sop)
    assert ds.SOPInstanceUID == sop
    assert str(ds.PatientName) == case.pseudonym
    assert PATIENT not in str(ds.PatientName)
    np.testing.assert_array_equal(ds.pixel_array, original.pixel_array)

    png = client.retrieve_instance_rendered(
        stored_study, stored_series, sop, media_types=("image/png",)
    )
    assert png.startswith(b"\x89PNG")

    whole = client.retrieve_series(stored_study, stored_series)
    assert sorted(d.SOPInstanceUID for d in whole) == sorted(by_number.values())
    assert PATIENT_NAME not in str([d.PatientName for d in whole])

    # A failed part comes back as such, not as a server error.
    report = ct_dataset()
    del report.PixelData
    with pytest.raises(requests.HTTPError) as refused:
        client.store_instances([report])
    assert refused.value.response.status_code == 409

    stranger = DICOMwebClient(
        url=f"{daphne_server.url}/dicomweb/cases/{case.uuid}",
        headers={"Authorization": "Bearer csl_not-a-real-token"},
    )
    with pytest.raises(requests.HTTPError) as unauthorized:
        stranger.search_for_studies()
    assert unauthorized.value.response.status_code == 401
