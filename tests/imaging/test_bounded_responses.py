"""What a request may make the server send or do is bounded, and a refusal says why."""

from __future__ import annotations

import pytest

from tests.helpers import signed_in
from tests.imaging.test_dicomweb import Imaging, parts_of, root

pytestmark = pytest.mark.django_db


@pytest.fixture
def imaging(case, cast):
    return Imaging(case, cast.referrer)


def frames_path(imaging, frame_list: str) -> str:
    multi = imaging.multiframe
    return (
        f"studies/{imaging.study}/series/{multi.series.series_instance_uid}"
        f"/instances/{multi.sop_instance_uid}/frames/{frame_list}"
    )


def test_a_repeated_frame_is_sent_once_in_the_order_first_asked(cast, case, imaging):
    response = signed_in(cast.chair).get(root(case) + frames_path(imaging, "3,1,3,3,1,2"))
    assert response.status_code == 200
    assert [data for _, data in parts_of(response)] == [
        imaging.frames[2].astype("<u2").tobytes(),
        imaging.frames[0].astype("<u2").tobytes(),
        imaging.frames[1].astype("<u2").tobytes(),
    ]


def test_thousands_of_repeats_of_one_frame_are_one_frame(cast, case, imaging):
    response = signed_in(cast.chair).get(root(case) + frames_path(imaging, ",".join(["2"] * 5000)))
    assert response.status_code == 200
    assert len(parts_of(response)) == 1


def test_more_frames_than_the_limit_is_refused_with_the_limit_named(cast, case, imaging, settings):
    settings.WADO_MAX_FRAMES = 2
    client = signed_in(cast.chair)
    response = client.get(root(case) + frames_path(imaging, "1,2,3"))
    assert response.status_code == 400
    assert response.json() == {"error": "At most 2 frames a request; ask for the rest in another."}
    # Repeats do not count against it.
    assert client.get(root(case) + frames_path(imaging, "1,2,1,2")).status_code == 200


def test_a_rendered_frame_list_of_one_repeated_frame_is_one_frame(cast, case, imaging):
    response = signed_in(cast.chair).get(root(case) + frames_path(imaging, "2,2") + "/rendered")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
