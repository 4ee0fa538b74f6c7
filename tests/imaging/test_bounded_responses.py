"""What a request may make the server send is bounded, and a refusal says why."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils.http import parse_header_parameters

from imaging.ingest import ingest_file
from tests.helpers import signed_in
from tests.imaging.dicom import ct_dataset, to_bytes

pytestmark = pytest.mark.django_db

FRAMES = np.arange(3 * 4 * 16, dtype=np.uint16).reshape(3, 4, 16) * 7


@pytest.fixture
def multiframe(case):
    """A stored three-frame CT; the URL of its frames."""
    ds = ct_dataset(rows=4)
    ds.NumberOfFrames = 3
    ds.PixelData = FRAMES.astype("<u2").tobytes()
    instance = ingest_file(case=case, by=None, data=to_bytes(ds), name="multi.dcm").instance
    series = instance.series
    return (
        f"/dicomweb/cases/{case.uuid}/studies/{series.study.study_instance_uid}"
        f"/series/{series.series_instance_uid}/instances/{instance.sop_instance_uid}/frames/"
    )


def frame_bodies(response) -> list[bytes]:
    """The bodies of a multipart/related answer, in order."""
    _media_type, params = parse_header_parameters(response["Content-Type"])
    body = b"".join(response.streaming_content)
    delimiter = b"\r\n--" + params["boundary"].encode()
    chunks = (b"\r\n" + body).split(delimiter)[1:-1]
    return [chunk.split(b"\r\n\r\n", 1)[1] for chunk in chunks]


def frame(n: int) -> bytes:
    return FRAMES[n - 1].astype("<u2").tobytes()


def test_a_repeated_frame_is_sent_once_in_the_order_first_asked(cast, multiframe):
    response = signed_in(cast.chair).get(multiframe + "3,1,3,3,1,2")
    assert response.status_code == 200
    assert frame_bodies(response) == [frame(3), frame(1), frame(2)]


def test_thousands_of_repeats_of_one_frame_are_one_frame(cast, multiframe):
    response = signed_in(cast.chair).get(multiframe + ",".join(["2"] * 5000))
    assert response.status_code == 200
    assert frame_bodies(response) == [frame(2)]


def test_more_frames_than_the_limit_is_refused_with_the_limit_named(cast, multiframe, settings):
    settings.WADO_MAX_FRAMES = 2
    client = signed_in(cast.chair)
    response = client.get(multiframe + "1,2,3")
    assert response.status_code == 400
    assert response.json() == {"error": "At most 2 frames a request; ask for the rest in another."}
    # Repeats do not count against it.
    assert client.get(multiframe + "1,2,1,2").status_code == 200


def test_a_rendered_frame_list_of_one_repeated_frame_is_one_frame(cast, multiframe):
    response = signed_in(cast.chair).get(multiframe + "2,2/rendered")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
