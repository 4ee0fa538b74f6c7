"""Every imaging URL, the whole cast: the case's rules apply, outsiders get 404."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse

from cases.models import AuditEvent
from imaging.ingest import ingest_many
from imaging.models import Series
from tests.cases.factories import invite, make_case
from tests.helpers import complete_sign_in
from tests.imaging.dicom import series_bytes

pytestmark = pytest.mark.django_db

OK, FORBIDDEN, HIDDEN = "ok", 403, 404
WHO = ["chair", "pathologist", "expert", "referrer", "patient", "outsider", "other_member"]
# chair, member, invited expert, submitter, unrelated patient, outsider, other board
MATRIX = {
    "series-manifest": [OK, OK, OK, OK, HIDDEN, HIDDEN, HIDDEN],
    "series-stream": [OK, OK, OK, OK, HIDDEN, HIDDEN, HIDDEN],
    "series-thumbnail": [OK, OK, OK, OK, HIDDEN, HIDDEN, HIDDEN],
    "frame-raw": [OK, OK, OK, OK, HIDDEN, HIDDEN, HIDDEN],
    "frame-rendered": [OK, OK, OK, OK, HIDDEN, HIDDEN, HIDDEN],
    "imaging-upload": [OK, OK, FORBIDDEN, OK, HIDDEN, HIDDEN, HIDDEN],
    "case-viewer": [OK, OK, OK, OK, HIDDEN, HIDDEN, HIDDEN],
}


@pytest.fixture
def world(cast):
    case = make_case(cast)
    invite(cast, case)
    ingest_many(
        case=case, by=None, files=[(str(i), io.BytesIO(d)) for i, d in enumerate(series_bytes(3))]
    )
    series = Series.objects.get()
    return case, series, series.instances.first()


def url_for(name, case, series, instance):
    kwargs = {"case_id": case.uuid}
    if name.startswith("series-"):
        kwargs["series_id"] = series.uuid
    if name.startswith("frame-"):
        kwargs.update(instance_id=instance.uuid, frame=0)
    return reverse(name, kwargs=kwargs)


CASES = [(name, who, MATRIX[name][i]) for name in MATRIX for i, who in enumerate(WHO)]


@pytest.mark.parametrize(("name", "who", "expected"), CASES, ids=[f"{n}-{w}" for n, w, _ in CASES])
def test_imaging_permission_matrix(cast, world, name, who, expected):
    case, series, instance = world
    client = Client()
    complete_sign_in(client, getattr(cast, who))
    url = url_for(name, case, series, instance)
    response = client.post(url) if name == "imaging-upload" else client.get(url)
    got = response.status_code if response.status_code in (403, 404) else OK
    assert got == expected, response.status_code
    if expected != OK:
        assert AuditEvent.objects.filter(actor=getattr(cast, who), outcome="denied").exists()


def test_anonymous_is_sent_to_login(world):
    case, series, instance = world
    for name in MATRIX:
        response = Client().get(url_for(name, case, series, instance))
        assert response.status_code == 302


# Writes by author and version need their own matrices: see test_annotations.py and
# test_key_images.py.
TESTED_ELSEWHERE = {
    "annotation-list",
    "annotation-detail",
    "key-image-list",
    "key-image-detail",
    "key-image-png",
    "key-image-release",  # test_key_image_release.py
    "study-remove",  # by case status and role: test_study_removal.py
    "viewer-launch",  # by study UID or accession number, no case in the URL: test_viewer_launch.py
    # A board's, not a case's: managers only, members 403, outsiders 404 (test_inbox_views.py).
    "board-inbox",
    "board-inbox-settings",
    "board-inbox-attach",
    "board-inbox-discard",
}


def test_every_imaging_url_is_in_the_matrix():
    from imaging.urls import urlpatterns

    assert {p.name for p in urlpatterns} == set(MATRIX) | TESTED_ELSEWHERE


def test_an_instance_of_another_case_is_404_even_to_a_member(cast, world):
    instance = world[2]
    other = make_case(cast)
    client = Client()
    complete_sign_in(client, cast.chair)
    url = reverse(
        "frame-raw", kwargs={"case_id": other.uuid, "instance_id": instance.uuid, "frame": 0}
    )
    assert client.get(url).status_code == 404
