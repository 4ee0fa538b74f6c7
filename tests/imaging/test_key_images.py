"""Key images: a frame as someone saw it, frozen with its annotations, and drawn as PNG."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from cases.models import AuditEvent, Case
from imaging import pixels
from imaging.ingest import ingest_file
from imaging.models import Annotation, KeyImage
from realtime import publish
from realtime.events import KeyImageChanged
from tests.cases.factories import invite, make_case
from tests.helpers import signed_in
from tests.imaging.dicom import ct_bytes

pytestmark = pytest.mark.django_db

SOFT_TISSUE = {"center": 40, "width": 400}


def store(case, data):
    result = ingest_file(case=case, by=None, data=data, name="x.dcm")
    assert result.status == "stored", result.reason
    return result.instance


def hu_image(hu: np.ndarray) -> bytes:
    # The test files store HU + 1024 (intercept -1024, slope 1).
    return ct_bytes(rows=hu.shape[0], columns=hu.shape[1], values=(hu + 1024).astype(np.uint16))


@pytest.fixture
def marked(case):
    """An 8 columns by 6 rows CT at 40 HU with three marked corners."""
    hu = np.full((6, 8), 40)
    hu[0, 0] = -1000  # top left
    hu[0, 7] = 1000  # top right
    hu[5, 0] = 240  # bottom left
    return store(case, hu_image(hu))


@pytest.fixture
def flat(case):
    """A 64 by 64 CT at 40 HU everywhere."""
    return store(case, hu_image(np.full((64, 64), 40)))


def list_url(case):
    return reverse("key-image-list", kwargs={"case_id": case.uuid})


def detail_url(case, key_image):
    return reverse(
        "key-image-detail", kwargs={"case_id": case.uuid, "key_image_id": key_image.uuid}
    )


def png_url(case, key_image, size=None):
    url = reverse("key-image-png", kwargs={"case_id": case.uuid, "key_image_id": key_image.uuid})
    return f"{url}?size={size}" if size is not None else url


def post_json(client, url, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json")


def create(client, case, target, **fields):
    body = {"instance": str(target.uuid), "frame": 0, "state": dict(SOFT_TISSUE), "caption": ""}
    body.update(fields)
    return post_json(client, list_url(case), body)


def make_key_image(case, instance, author, **fields) -> KeyImage:
    fields.setdefault("state", {**SOFT_TISSUE, "rotation": 0})
    return KeyImage.objects.create(case=case, instance=instance, author=author, **fields)


def picture(response) -> np.ndarray:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.mode == "RGB"
    return np.asarray(image)


def annotate(case, instance, author, kind, points, **fields) -> Annotation:
    return Annotation.objects.create(
        case=case, instance=instance, author=author, kind=kind, points=points, **fields
    )


# --- creating ---------------------------------------------------------------------------


def test_create_keeps_the_cleaned_view_state(case, cast, marked):
    state = {
        "center": 40,
        "width": 400,
        "invert": True,
        "zoom": 2,
        "pan": [1, -2.5],
        "rotation": 90,
        "flip_h": True,
        "flip_v": False,
        "layout": "2x2",  # not part of a key image
    }
    client = signed_in(cast.radiologist)
    response = create(client, case, marked, state=state, caption=" Deep margin ")
    assert response.status_code == 201, response.content
    data = response.json()
    key_image = KeyImage.objects.get()
    assert data["id"] == str(key_image.uuid)
    assert data["caption"] == "Deep margin"
    assert data["state"] == {
        "center": 40.0,
        "width": 400.0,
        "invert": True,
        "zoom": 2.0,
        "pan": [1.0, -2.5],
        "rotation": 90,
        "flip_h": True,
        "flip_v": False,
    }
    assert data["instance"] == str(marked.uuid) and data["series"] == str(marked.series.uuid)
    assert data["image_url"] == png_url(case, key_image)
    assert data["mine"] is True and data["can_delete"] is True
    assert data["author"]["name"] == "Dr Radiologist Test"
    assert AuditEvent.objects.filter(action="key_image.create", actor=cast.radiologist).exists()


def test_create_snapshots_the_live_annotations_of_that_frame_only(case, cast, marked, flat):
    shown = annotate(case, marked, cast.surgeon, "arrow", [[1, 1], [4, 4]], text="here")
    annotate(case, marked, cast.surgeon, "probe", [[2, 2]], deleted_at="2026-01-01T00:00:00Z")
    annotate(case, marked, cast.surgeon, "probe", [[2, 2]], frame=1)
    annotate(case, flat, cast.surgeon, "probe", [[2, 2]])
    response = create(signed_in(cast.radiologist), case, marked)
    assert response.json()["annotations"] == [
        {
            "id": str(shown.uuid),
            "kind": "arrow",
            "points": [[1, 1], [4, 4]],
            "text": "here",
            "author": "Dr Surgeon Test",
        }
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"state": {"center": 40, "width": 400, "rotation": 45}}, "rotation must be 0, 90"),
        ({"state": {"center": 40, "width": 0}}, "state.width must be a positive number"),
        ({"state": {"center": 40}}, "go together"),
        ({"state": {"pan": [1]}}, "state.pan must be [x, y]"),
        ({"state": {"invert": "yes"}}, "state.invert must be true or false"),
        ({"state": {"zoom": -1}}, "state.zoom must be a positive number"),
        ({"state": "bright"}, "state must be an object"),
        ({"caption": "c" * 301}, "caption is longer than 300 characters"),
        ({"frame": 1}, "frame must be a whole number from 0 to 0"),
        ({"instance": "6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11"}, "not an image of this case"),
    ],
)
def test_bad_input_is_400_and_nothing_is_stored(case, cast, marked, change, message):
    response = create(signed_in(cast.radiologist), case, marked, **change)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not KeyImage.objects.exists()


def test_missing_state_keys_take_the_viewer_defaults(case, cast, marked):
    response = create(signed_in(cast.radiologist), case, marked, state={})
    assert response.json()["state"] == {
        "center": None,
        "width": None,
        "invert": False,
        "zoom": 1.0,
        "pan": [0.0, 0.0],
        "rotation": 0,
        "flip_h": False,
        "flip_v": False,
    }


# --- the picture ------------------------------------------------------------------------


def test_picture_uses_the_stored_window(case, cast, marked):
    key_image = make_key_image(case, marked, cast.radiologist)
    got = picture(signed_in(cast.surgeon).get(png_url(case, key_image)))
    assert got.shape == (6, 8, 3)
    grey = got[:, :, 0]
    assert (got[:, :, 1] == grey).all() and (got[:, :, 2] == grey).all()
    assert grey[0, 0] == 0  # -1000 HU, below the window
    assert grey[0, 7] == 255  # 1000 HU, above it
    assert grey[5, 0] == 255  # 240 HU: the top of a 40/400 window
    assert grey[3, 3] == 128  # 40 HU: the centre
    # Exactly what the rendered-frame API gives for that window.
    reference = np.asarray(Image.open(io.BytesIO(pixels.render(marked, 0, center=40, width=400))))
    assert np.array_equal(grey, reference)


def test_another_window_gives_another_picture(case, cast, marked):
    key_image = make_key_image(case, marked, cast.radiologist, state={"center": 240, "width": 40})
    grey = picture(signed_in(cast.surgeon).get(png_url(case, key_image)))[:, :, 0]
    assert grey[3, 3] == 0 and grey[0, 7] == 255
    assert 0 < grey[5, 0] < 255  # 240 HU is now mid-grey


def test_picture_is_inverted_turned_and_flipped_like_the_view(case, cast, marked):
    client = signed_in(cast.surgeon)
    inverted = make_key_image(case, marked, cast.radiologist, state={**SOFT_TISSUE, "invert": True})
    grey = picture(client.get(png_url(case, inverted)))[:, :, 0]
    assert grey[0, 0] == 255 and grey[0, 7] == 0

    # A quarter turn clockwise: the top left corner goes to the top right.
    turned = make_key_image(case, marked, cast.radiologist, state={**SOFT_TISSUE, "rotation": 90})
    grey = picture(client.get(png_url(case, turned)))[:, :, 0]
    assert grey.shape == (8, 6)
    assert grey[0, 5] == 0  # was top left (-1000)
    assert grey[7, 5] == 255  # was top right (1000)
    assert grey[0, 0] == 255  # was bottom left (240)

    flipped = make_key_image(case, marked, cast.radiologist, state={**SOFT_TISSUE, "flip_h": True})
    grey = picture(client.get(png_url(case, flipped)))[:, :, 0]
    assert grey[0, 7] == 0 and grey[0, 0] == 255 and grey[5, 7] == 255

    # Flip first, then turn: flipped vertically and turned half-way is a horizontal flip.
    both = make_key_image(
        case, marked, cast.radiologist, state={**SOFT_TISSUE, "flip_v": True, "rotation": 180}
    )
    assert np.array_equal(
        picture(client.get(png_url(case, both))), picture(client.get(png_url(case, flipped)))
    )


def test_annotations_are_drawn_on_the_picture(case, cast, flat):
    client = signed_in(cast.surgeon)
    bare = picture(client.get(png_url(case, make_key_image(case, flat, cast.radiologist))))
    assert (bare == 128).all()
    annotate(case, flat, cast.radiologist, "length", [[4, 32], [59, 32]])
    response = create(signed_in(cast.radiologist), case, flat)
    key_image = KeyImage.objects.get(uuid=response.json()["id"])
    drawn = picture(client.get(png_url(case, key_image)))
    along = drawn[32, 10:50]
    assert (along != 128).any(axis=1).all()  # every pixel along the line is coloured
    assert (along[:, 0] > along[:, 2]).all()  # yellow: more red than blue
    assert (drawn[5, 5] == 128).all()  # far from the line nothing changed


@pytest.mark.parametrize(
    ("kind", "points"),
    [
        ("length", [[10, 10], [50, 10]]),
        ("angle", [[50, 20], [20, 20], [20, 50]]),
        ("ellipse", [[20, 20], [44, 40]]),
        ("probe", [[32, 32]]),
        ("arrow", [[10, 50], [40, 20]]),
    ],
)
def test_every_kind_is_drawn(case, cast, flat, kind, points):
    annotate(case, flat, cast.radiologist, kind, points, text="label")
    create(signed_in(cast.radiologist), case, flat, state={**SOFT_TISSUE, "rotation": 270})
    key_image = KeyImage.objects.get()
    drawn = picture(signed_in(cast.surgeon).get(png_url(case, key_image)))
    # The first point, turned a quarter counter-clockwise: (x, y) -> (y, columns - 1 - x).
    x, y = points[0]
    near = drawn[max(63 - x - 3, 0) : 63 - x + 4, max(y - 3, 0) : y + 4]
    assert (near != 128).any()


def test_later_edits_do_not_change_a_key_image(case, cast, flat):
    author = signed_in(cast.radiologist)
    post = author.post(
        reverse("annotation-list", kwargs={"case_id": case.uuid}),
        data=json.dumps(
            {"instance": str(flat.uuid), "frame": 0, "kind": "length", "points": [[4, 8], [59, 8]]}
        ),
        content_type="application/json",
    )
    annotation_id = post.json()["id"]
    key_image = KeyImage.objects.get(uuid=create(author, case, flat).json()["id"])
    viewer = signed_in(cast.surgeon)
    before = viewer.get(png_url(case, key_image)).content

    moved = author.put(
        reverse("annotation-detail", kwargs={"case_id": case.uuid, "annotation_id": annotation_id}),
        data=json.dumps({"points": [[4, 50], [59, 50]], "version": 1}),
        content_type="application/json",
    )
    assert moved.status_code == 200
    assert viewer.get(png_url(case, key_image)).content == before
    key_image.refresh_from_db()
    assert key_image.annotations[0]["points"] == [[4.0, 8.0], [59.0, 8.0]]
    # A key image made now shows the moved line instead.
    newer = KeyImage.objects.get(uuid=create(author, case, flat).json()["id"])
    assert viewer.get(png_url(case, newer)).content != before


@pytest.mark.parametrize(("size", "shape"), [(None, (64, 64)), (32, (32, 32)), (160, (160, 160))])
def test_size_is_the_longest_side(case, cast, flat, size, shape):
    key_image = make_key_image(case, flat, cast.radiologist)
    assert picture(signed_in(cast.surgeon).get(png_url(case, key_image, size))).shape[:2] == shape


def test_size_keeps_the_aspect(case, cast, marked):
    key_image = make_key_image(case, marked, cast.radiologist)
    assert picture(signed_in(cast.surgeon).get(png_url(case, key_image, 160))).shape[:2] == (
        120,
        160,
    )


@pytest.mark.parametrize("size", ["abc", "15", "2049", "-5"])
def test_a_bad_size_is_400(case, cast, flat, size):
    key_image = make_key_image(case, flat, cast.radiologist)
    response = signed_in(cast.surgeon).get(png_url(case, key_image, size))
    assert response.status_code == 400
    assert "size" in response.json()["error"]


def test_picture_is_cached_for_revalidation_and_answers_304(case, cast, flat):
    key_image = make_key_image(case, flat, cast.radiologist)
    client = signed_in(cast.surgeon)
    first = client.get(png_url(case, key_image, 160))
    assert first["Cache-Control"] == "private, no-cache"
    assert first["ETag"]
    again = client.get(png_url(case, key_image, 160), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    other_size = client.get(png_url(case, key_image, 80), HTTP_IF_NONE_MATCH=first["ETag"])
    assert other_size.status_code == 200


# --- listing and deleting ---------------------------------------------------------------


def test_list_shows_the_case_key_images(case, cast, flat):
    mine = make_key_image(case, flat, cast.radiologist, caption="mine")
    make_key_image(case, flat, cast.surgeon, caption="theirs")
    make_key_image(make_case(cast), flat, cast.surgeon, caption="another case")
    data = signed_in(cast.radiologist).get(list_url(case)).json()["key_images"]
    assert [k["caption"] for k in data] == ["mine", "theirs"]
    assert [k["mine"] for k in data] == [True, False]
    assert data[0]["image_url"] == png_url(case, mine)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("radiologist", True),
        ("chair", True),
        ("coordinator", True),
        ("surgeon", False),
        ("expert", False),
    ],
)
def test_the_author_or_a_manager_deletes(case, cast, flat, who, allowed):
    invite(cast, case)
    key_image = make_key_image(case, flat, cast.radiologist)
    response = signed_in(getattr(cast, who)).delete(detail_url(case, key_image))
    assert response.status_code == (204 if allowed else 403)
    assert KeyImage.objects.exists() is not allowed


def test_the_case_page_form_deletes_and_comes_back(case, cast, flat):
    key_image = make_key_image(case, flat, cast.radiologist)
    response = signed_in(cast.radiologist).post(detail_url(case, key_image))
    assert response.status_code == 302
    assert response["Location"].endswith(f"/cases/{case.uuid}/#key-images")
    assert not KeyImage.objects.exists()


@pytest.mark.parametrize("status", [Case.Status.CONCLUDED, Case.Status.WITHDRAWN])
def test_nothing_changes_once_the_case_is_closed(cast, status):
    case = make_case(cast)
    flat = store(case, hu_image(np.full((8, 8), 40)))
    key_image = make_key_image(case, flat, cast.radiologist)
    case.status = status
    case.save()
    client = signed_in(cast.radiologist)
    assert create(client, case, flat).status_code == 403
    assert client.delete(detail_url(case, key_image)).status_code == 403
    assert signed_in(cast.chair).delete(detail_url(case, key_image)).status_code == 403
    assert client.get(png_url(case, key_image)).status_code == 200  # still readable
    assert KeyImage.objects.count() == 1


def test_writes_publish_after_commit_only(
    case, cast, flat, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(publish, "publish_now", lambda group, event: sent.append((group, event)))
    client = signed_in(cast.radiologist)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert create(client, case, flat).status_code == 201
    assert sent == []
    for callback in callbacks:
        callback()
    key_image = KeyImage.objects.get()
    expected = KeyImageChanged(case=str(case.uuid), key_image=str(key_image.uuid), change="created")
    assert sent == [(f"case.{case.uuid.hex}", expected)]
    with django_capture_on_commit_callbacks(execute=True):
        client.delete(detail_url(case, key_image))
    assert sent[-1][1].change == "deleted" and len(sent) == 2


# --- the permission matrix and the refusals every view gets ---------------------------------

OK, FORBIDDEN, HIDDEN = "ok", 403, 404
WHO = ["chair", "pathologist", "expert", "referrer", "patient", "outsider", "other_member"]
# chair, member, invited expert, submitter, unrelated patient, outsider, other board.
# The key image being deleted is the radiologist's: only a manager may delete it too. It is
# not released with the report, so the submitter does not see it at all.
MATRIX = {
    "list": [OK, OK, OK, OK, HIDDEN, HIDDEN, HIDDEN],
    "create": [OK, OK, OK, OK, HIDDEN, HIDDEN, HIDDEN],
    "png": [OK, OK, OK, HIDDEN, HIDDEN, HIDDEN, HIDDEN],
    "delete": [OK, FORBIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN],
}
CASES = [(action, who, MATRIX[action][i]) for action in MATRIX for i, who in enumerate(WHO)]


@pytest.mark.parametrize(
    ("action", "who", "expected"), CASES, ids=[f"{a}-{w}" for a, w, _ in CASES]
)
def test_key_image_permission_matrix(case, cast, flat, action, who, expected):
    invite(cast, case)
    key_image = make_key_image(case, flat, cast.radiologist)
    user = getattr(cast, who)
    client = signed_in(user)
    if action == "list":
        response = client.get(list_url(case))
    elif action == "create":
        response = create(client, case, flat)
    elif action == "png":
        response = client.get(png_url(case, key_image, 32))
    else:
        response = client.delete(detail_url(case, key_image))
    got = response.status_code if response.status_code in (403, 404) else OK
    assert got == expected, response.status_code
    if expected != OK:
        assert AuditEvent.objects.filter(actor=user, outcome="denied").exists()
        assert KeyImage.objects.count() == 1


def test_a_key_image_of_another_case_is_404_even_to_its_author(case, cast, flat):
    key_image = make_key_image(case, flat, cast.radiologist)
    other = make_case(cast)
    client = signed_in(cast.radiologist)
    url = reverse("key-image-png", kwargs={"case_id": other.uuid, "key_image_id": key_image.uuid})
    assert client.get(url).status_code == 404
    assert client.delete(detail_url(other, key_image)).status_code == 404


def test_wrong_methods_are_405(case, cast, flat):
    key_image = make_key_image(case, flat, cast.radiologist)
    client = signed_in(cast.radiologist)
    assert client.put(list_url(case)).status_code == 405
    assert client.get(detail_url(case, key_image)).status_code == 405
    assert client.post(png_url(case, key_image)).status_code == 405


def test_writes_need_the_csrf_token(case, cast, flat):
    key_image = make_key_image(case, flat, cast.radiologist)
    client = signed_in(cast.radiologist, enforce_csrf_checks=True)
    assert create(client, case, flat).status_code == 403
    assert client.delete(detail_url(case, key_image)).status_code == 403
    assert KeyImage.objects.count() == 1


def test_anonymous_is_sent_to_login(case, cast, flat):
    key_image = make_key_image(case, flat, cast.radiologist)
    for url in (list_url(case), detail_url(case, key_image), png_url(case, key_image)):
        assert Client().get(url).status_code == 302


# --- the case page ----------------------------------------------------------------------


def case_page(client, case):
    response = client.get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert response.status_code == 200
    return response.content.decode()


def test_case_page_shows_key_images_with_a_delete_button_for_the_author(case, cast, flat):
    key_image = make_key_image(case, flat, cast.radiologist, caption="Deep margin <b>")
    thumbnail = png_url(case, key_image, 160)
    page = case_page(signed_in(cast.radiologist), case)
    assert 'id="key-images"' in page
    assert thumbnail in page
    assert "Deep margin &lt;b&gt;" in page
    assert "Dr Radiologist Test" in page
    assert f'action="{detail_url(case, key_image)}"' in page
    other = case_page(signed_in(cast.surgeon), case)
    assert thumbnail in other
    assert f'action="{detail_url(case, key_image)}"' not in other


def test_case_page_says_so_when_there_are_no_key_images(cast):
    case = make_case(cast)
    assert 'id="key-images"' not in case_page(signed_in(cast.radiologist), case)
    store(case, hu_image(np.full((8, 8), 40)))
    assert 'id="key-images-empty"' in case_page(signed_in(cast.radiologist), case)


def test_case_page_query_count_does_not_grow_with_key_images(
    case, cast, flat, django_assert_max_num_queries
):
    authors = [cast.radiologist, cast.surgeon]
    make_key_image(case, flat, cast.radiologist)
    client = signed_in(cast.radiologist)
    case_page(client, case)
    with CaptureQueriesContext(connection) as one:
        case_page(client, case)
    for i in range(9):
        make_key_image(case, flat, authors[i % 2])
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert case_page(client, case).count('class="series-card key-image-card"') == 10
