"""A manager releases key images with the report; the submitter sees only those, and without
the panel's working annotations (their labels and authors)."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from cases.models import AuditEvent
from imaging import services
from imaging.keyimages import render_key_image
from imaging.models import Annotation, KeyImage
from realtime import publish
from tests.cases.factories import invite
from tests.decisions.factories import access
from tests.helpers import signed_in
from tests.imaging.test_key_images import SOFT_TISSUE, hu_image, store

pytestmark = pytest.mark.django_db

LABEL = "CANARYLABEL working note"
CAPTION = "Released caption"


@pytest.fixture
def flat(case):
    return store(case, hu_image(np.full((64, 64), 40)))


@pytest.fixture
def key_image(case, cast, flat) -> KeyImage:
    return KeyImage.objects.create(
        case=case,
        instance=flat,
        author=cast.radiologist,
        caption=CAPTION,
        state=dict(SOFT_TISSUE),
        annotations=[
            {
                "kind": "arrow",
                "points": [[5, 5], [40, 40]],
                "text": LABEL,
                "author": cast.radiologist.display_name,
            }
        ],
    )


def release_url(case, key_image):
    return reverse(
        "key-image-release", kwargs={"case_id": case.uuid, "key_image_id": key_image.uuid}
    )


def png_url(case, key_image):
    return reverse("key-image-png", kwargs={"case_id": case.uuid, "key_image_id": key_image.uuid})


def list_url(case):
    return reverse("key-image-list", kwargs={"case_id": case.uuid})


def case_page(user, case) -> str:
    return (
        signed_in(user).get(reverse("case-detail", kwargs={"case_id": case.uuid})).content.decode()
    )


def test_the_chair_releases_a_key_image_and_it_is_audited(
    case, cast, key_image, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(publish, "publish_now", lambda group, event: sent.append(event))
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(cast.chair).post(release_url(case, key_image), {"released": "1"})
    assert response.status_code == 302
    assert KeyImage.objects.get(pk=key_image.pk).released_with_report
    event = AuditEvent.objects.get(action="key_image.release")
    assert (event.actor, event.outcome, event.object_id) == (
        cast.chair,
        "allowed",
        str(key_image.uuid),
    )
    assert [e.change for e in sent if e.type == "key_image.changed"] == ["released"]
    signed_in(cast.chair).post(release_url(case, key_image), {"released": "0"})
    assert not KeyImage.objects.get(pk=key_image.pk).released_with_report
    assert AuditEvent.objects.filter(action="key_image.withhold").count() == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [("pathologist", 403), ("expert", 403), ("referrer", 404), ("outsider", 404)],
)
def test_only_a_manager_releases(case, cast, key_image, who, status):
    invite(cast, case)
    user = getattr(cast, who)
    assert signed_in(user).post(release_url(case, key_image), {"released": "1"}).status_code == (
        status
    )
    assert not KeyImage.objects.get(pk=key_image.pk).released_with_report
    assert AuditEvent.objects.filter(actor=user, outcome="denied").exists()


def test_release_refusals(case, cast, key_image):
    assert signed_in(cast.chair).get(release_url(case, key_image)).status_code == 405
    csrf = signed_in(cast.chair, enforce_csrf_checks=True)
    assert csrf.post(release_url(case, key_image), {"released": "1"}).status_code == 403
    assert not KeyImage.objects.get(pk=key_image.pk).released_with_report


def test_the_submitter_sees_only_released_key_images(case, cast, key_image):
    client = signed_in(cast.referrer)
    assert client.get(png_url(case, key_image)).status_code == 404
    assert client.get(list_url(case)).json()["key_images"] == []
    assert CAPTION not in case_page(cast.referrer, case)
    services.key_image_release(access=access(cast.chair, case), key_image=key_image, released=True)
    assert client.get(png_url(case, key_image)).status_code == 200
    [shown] = client.get(list_url(case)).json()["key_images"]
    assert shown["caption"] == CAPTION
    assert shown["author"] is None
    assert shown["annotations"] == [{"kind": "arrow", "points": [[5, 5], [40, 40]]}]
    page = case_page(cast.referrer, case)
    assert CAPTION in page and cast.radiologist.display_name not in page


def test_panelists_see_every_key_image_with_labels_and_authors(case, cast, key_image):
    [shown] = signed_in(cast.pathologist).get(list_url(case)).json()["key_images"]
    assert shown["annotations"][0]["text"] == LABEL
    assert shown["author"]["name"] == cast.radiologist.display_name
    assert "Release with the report" in case_page(cast.chair, case)
    assert "Release with the report" not in case_page(cast.pathologist, case)


def test_the_submitters_picture_has_no_annotation_labels(case, cast, key_image):
    services.key_image_release(access=access(cast.chair, case), key_image=key_image, released=True)
    submitter = signed_in(cast.referrer).get(png_url(case, key_image))
    panel = signed_in(cast.pathologist).get(png_url(case, key_image))
    assert submitter["ETag"] != panel["ETag"]
    assert panel.content == render_key_image(key_image, None)
    assert submitter.content == render_key_image(key_image, None, labels=False)
    # The same arrow, without the label drawn beside it.
    assert submitter.content != panel.content


def test_the_submitter_sees_only_their_own_working_annotations(case, cast, flat):
    services.annotation_create(
        access=access(cast.radiologist, case),
        instance=flat,
        frame=0,
        kind="arrow",
        points=[[1, 1], [9, 9]],
        text=LABEL,
    )
    mine = services.annotation_create(
        access=access(cast.referrer, case),
        instance=flat,
        frame=0,
        kind="arrow",
        points=[[2, 2], [8, 8]],
        text="my own",
    )
    url = reverse("annotation-list", kwargs={"case_id": case.uuid})
    shown = signed_in(cast.referrer).get(url).json()["annotations"]
    assert [a["id"] for a in shown] == [str(mine.uuid)]
    assert Annotation.objects.count() == 2
    assert len(signed_in(cast.pathologist).get(url).json()["annotations"]) == 2
