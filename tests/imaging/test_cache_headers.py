"""Frames and images are cached only to be revalidated; pages about a case are never stored.

A revalidation goes through the access check first: a person who lost access gets 404,
not a 304 that would tell the browser its cached copy is still good.
"""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from cases.access import get_case_for_user
from cases.services import invite_revoke
from imaging.ingest import ingest_many
from imaging.models import KeyImage, Series
from tests.cases.factories import invite, make_case
from tests.helpers import signed_in
from tests.imaging.dicom import series_bytes

pytestmark = pytest.mark.django_db

IMAGES = ["frame-raw", "frame-rendered", "series-thumbnail", "key-image-png"]


@pytest.fixture
def world(cast):
    case = make_case(cast)
    granted = invite(cast, case)
    files = [(str(i), io.BytesIO(d)) for i, d in enumerate(series_bytes(5))]
    ingest_many(case=case, by=None, files=files[:3])
    series = Series.objects.get()
    instance = series.instances.first()
    key_image = KeyImage.objects.create(
        case=case,
        instance=instance,
        author=cast.radiologist,
        frame=0,
        state={"center": 40, "width": 400, "rotation": 0},
    )
    return case, granted, series, instance, key_image, files[3:]


def image_url(name, world) -> str:
    case, _invite, series, instance, key_image, _rest = world
    kwargs = {"case_id": case.uuid}
    if name.startswith("frame-"):
        kwargs.update(instance_id=instance.uuid, frame=0)
    elif name == "series-thumbnail":
        kwargs["series_id"] = series.uuid
    else:
        kwargs["key_image_id"] = key_image.uuid
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("name", IMAGES)
def test_images_are_private_and_revalidated_with_an_etag(cast, world, name):
    client = signed_in(cast.expert)
    response = client.get(image_url(name, world))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    assert response["ETag"].startswith('"')
    again = client.get(image_url(name, world), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    # The 304 repeats both, or the browser's stored copy would turn no-store.
    assert (again["ETag"], again["Cache-Control"]) == (response["ETag"], "private, no-cache")


@pytest.mark.parametrize("name", IMAGES)
def test_a_revoked_expert_revalidating_is_refused_not_told_not_modified(cast, world, name):
    case, granted, *_ = world
    client = signed_in(cast.expert)
    etag = client.get(image_url(name, world))["ETag"]
    invite_revoke(access=get_case_for_user(cast.chair, case.uuid), invite=granted)
    response = client.get(image_url(name, world), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 404
    assert not response.has_header("ETag")


def test_a_changed_thumbnail_gets_a_new_etag(cast, world):
    case, *_, rest = world
    client = signed_in(cast.chair)
    first = client.get(image_url("series-thumbnail", world))["ETag"]
    ingest_many(case=case, by=None, files=rest)
    assert client.get(image_url("series-thumbnail", world))["ETag"] != first


def test_case_pages_and_answers_are_never_stored(cast, world):
    case, _invite, series, *_ = world
    client = signed_in(cast.chair)
    page = client.get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert page.status_code == 200
    assert page["Cache-Control"] == "private, no-store"
    manifest = client.get(
        reverse("series-manifest", kwargs={"case_id": case.uuid, "series_id": series.uuid})
    )
    assert manifest.status_code == 200
    assert manifest["Cache-Control"] == "private, no-store"
    viewer = client.get(reverse("case-viewer", kwargs={"case_id": case.uuid}))
    assert viewer["Cache-Control"] == "private, no-store"


def test_the_sign_in_page_is_not_stored_either(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
