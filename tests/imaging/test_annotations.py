"""Annotations: create, list, update with a version, delete; who may; what is refused."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import AuditEvent, Case
from imaging.ingest import ingest_file
from imaging.models import Annotation
from realtime import publish
from realtime.events import AnnotationChanged
from tests.cases.factories import invite, make_case
from tests.helpers import signed_in
from tests.imaging.dicom import ct_bytes

pytestmark = pytest.mark.django_db


def store(case, data):
    result = ingest_file(case=case, by=None, data=data, name="x.dcm")
    assert result.status == "stored", result.reason
    return result.instance


@pytest.fixture
def instance(case):
    return store(case, ct_bytes(rows=16, columns=20))


def list_url(case):
    return reverse("annotation-list", kwargs={"case_id": case.uuid})


def detail_url(case, annotation):
    return reverse(
        "annotation-detail", kwargs={"case_id": case.uuid, "annotation_id": annotation.uuid}
    )


def send(client, method, url, body):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json")


def body_for(target, **fields):
    body = {
        "instance": str(target.uuid),
        "frame": 0,
        "kind": "length",
        "points": [[1, 2], [11, 2]],
        "text": "",
    }
    body.update(fields)
    return body


def make_annotation(case, instance, author, **fields) -> Annotation:
    fields.setdefault("kind", "length")
    fields.setdefault("points", [[1.0, 2.0], [11.0, 2.0]])
    return Annotation.objects.create(case=case, instance=instance, author=author, **fields)


# --- create and list ------------------------------------------------------------------


def test_create_answers_201_with_server_assigned_fields(case, cast, instance):
    response = send(
        signed_in(cast.radiologist),
        "post",
        list_url(case),
        body_for(instance, kind="arrow", points=[[1, 1], [5.5, 6]], text="  the nodule "),
    )
    assert response.status_code == 201, response.content
    data = response.json()
    stored = Annotation.objects.get()
    assert data["id"] == str(stored.uuid)
    assert data["version"] == 1
    assert data["points"] == [[1.0, 1.0], [5.5, 6.0]]
    assert data["text"] == "the nodule"
    assert data["author"] == {"name": "Dr Radiologist Test", "specialty": "Radiology"}
    assert data["mine"] is True
    assert data["instance"] == str(instance.uuid)
    assert stored.author == cast.radiologist and stored.case == case
    assert AuditEvent.objects.filter(action="annotation.create", actor=cast.radiologist).exists()


def test_list_by_instance_and_by_series_shows_live_annotations_only(case, cast, instance):
    other = store(case, ct_bytes(rows=16, columns=20))  # another series of the same case
    kept = make_annotation(case, instance, cast.radiologist)
    make_annotation(case, instance, cast.surgeon, deleted_at="2026-01-01T00:00:00Z")
    elsewhere = make_annotation(case, other, cast.radiologist, kind="probe", points=[[3, 3]])
    client = signed_in(cast.surgeon)

    by_instance = client.get(list_url(case), {"instance": instance.uuid}).json()["annotations"]
    assert [a["id"] for a in by_instance] == [str(kept.uuid)]
    assert by_instance[0]["mine"] is False

    by_series = client.get(list_url(case), {"series": other.series.uuid}).json()["annotations"]
    assert [a["id"] for a in by_series] == [str(elsewhere.uuid)]

    everything = client.get(list_url(case)).json()["annotations"]
    assert {a["id"] for a in everything} == {str(kept.uuid), str(elsewhere.uuid)}


def test_list_refuses_a_malformed_filter(case, cast, instance):
    response = signed_in(cast.surgeon).get(list_url(case), {"instance": "not-a-uuid"})
    assert response.status_code == 400
    assert "instance" in response.json()["error"]


def test_annotations_of_another_case_are_not_listed(case, cast, instance):
    other_case = make_case(cast)
    other_instance = store(other_case, ct_bytes())
    make_annotation(other_case, other_instance, cast.radiologist)
    response = signed_in(cast.radiologist).get(list_url(case), {"instance": other_instance.uuid})
    assert response.json() == {"annotations": []}


def test_list_costs_the_same_queries_for_5_or_50(
    case, cast, instance, django_assert_max_num_queries
):
    authors = [cast.radiologist, cast.surgeon, cast.pathologist, cast.chair, cast.oncologist]
    for i in range(5):
        make_annotation(case, instance, authors[i])
    client = signed_in(cast.surgeon)
    url = f"{list_url(case)}?instance={instance.uuid}"
    client.get(url)
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(url).json()["annotations"]) == 5
    for i in range(45):
        make_annotation(case, instance, authors[i % 5], frame=0)
    with django_assert_max_num_queries(len(five.captured_queries)):
        assert len(client.get(url).json()["annotations"]) == 50


# --- bad input --------------------------------------------------------------------------

BAD_POINTS = [
    ("length", [[1, 1]], "A length takes 2 points, not 1."),
    ("length", [[1, 1], [2, 2], [3, 3]], "A length takes 2 points, not 3."),
    ("angle", [[1, 1], [2, 2]], "An angle takes 3 points, not 2."),
    ("angle", [[1, 1], [2, 2], [3, 3], [4, 4]], "An angle takes 3 points, not 4."),
    ("ellipse", [[1, 1]], "An ellipse takes 2 points, not 1."),
    ("probe", [[1, 1], [2, 2]], "A probe takes 1 point, not 2."),
    ("arrow", [[1, 1]], "An arrow takes 2 points, not 1."),
    ("probe", [], "A probe takes 1 point, not 0."),
    ("length", "1,1,2,2", "list of [x, y] pairs"),
    ("length", [[1, 1], [2]], "list of [x, y] pairs"),
    ("length", [[1, 1], {"x": 2, "y": 2}], "list of [x, y] pairs"),
    ("length", [[1, 1], ["2", 2]], "Point 2 must hold two finite numbers"),
    ("length", [[1, 1], [True, 2]], "Point 2 must hold two finite numbers"),
    ("probe", [[float("nan"), 1]], "Point 1 must hold two finite numbers"),
    ("probe", [[float("inf"), 1]], "Point 1 must hold two finite numbers"),
    ("probe", [[41, 1]], "far outside the 20×16 image"),  # x bound is 2 * columns
    ("probe", [[1, -17]], "far outside"),  # y bound is -rows
]


@pytest.mark.parametrize(("kind", "points", "message"), BAD_POINTS)
def test_bad_points_are_400_and_nothing_is_stored(case, cast, instance, kind, points, message):
    body = json.dumps(body_for(instance, kind=kind, points=points))  # NaN as JSON allows it
    response = send(signed_in(cast.radiologist), "post", list_url(case), body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Annotation.objects.exists()


def test_points_a_little_past_the_border_are_accepted(case, cast, instance):
    body = body_for(instance, kind="length", points=[[-20, -16], [40, 32]])
    response = send(signed_in(cast.radiologist), "post", list_url(case), body)
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "circle"}, "kind must be one of: length, angle, ellipse, probe, arrow"),
        ({"kind": None}, "kind must be one of"),
        ({"frame": 1}, "frame must be a whole number from 0 to 0"),
        ({"frame": -1}, "frame must be"),
        ({"frame": "0"}, "frame must be"),
        ({"text": "x" * 201}, "text is longer than 200 characters"),
        ({"text": 5}, "text must be a string"),
        ({"instance": "nope"}, "instance must be an id"),
        ({"instance": "6f1c1f5e-8d6b-4a43-9a62-1f0a8c7f0b11"}, "not an image of this case"),
        ({"instance": None}, "instance is missing"),
    ],
)
def test_bad_fields_are_400(case, cast, instance, change, message):
    response = send(
        signed_in(cast.radiologist), "post", list_url(case), body_for(instance, **change)
    )
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Annotation.objects.exists()


@pytest.mark.parametrize(("body", "message"), [("{not json", "must be JSON"), ("[1, 2]", "object")])
def test_a_body_that_is_not_a_json_object_is_400(case, cast, instance, body, message):
    response = send(signed_in(cast.radiologist), "post", list_url(case), body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_an_instance_of_another_case_cannot_be_annotated(case, cast, instance):
    other_instance = store(make_case(cast), ct_bytes())
    body = body_for(other_instance)
    response = send(signed_in(cast.radiologist), "post", list_url(case), body)
    assert response.status_code == 400
    assert not Annotation.objects.exists()


# --- update and delete ------------------------------------------------------------------


def test_author_updates_with_the_current_version(case, cast, instance):
    annotation = make_annotation(case, instance, cast.radiologist, text="old")
    body = {"points": [[2, 2], [12, 9]], "text": "new", "version": 1}
    response = send(signed_in(cast.radiologist), "put", detail_url(case, annotation), body)
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    annotation.refresh_from_db()
    assert annotation.points == [[2.0, 2.0], [12.0, 9.0]]
    assert annotation.text == "new" and annotation.version == 2


def test_update_without_text_keeps_the_text(case, cast, instance):
    annotation = make_annotation(case, instance, cast.radiologist, kind="arrow", text="mass")
    body = {"points": [[0, 0], [4, 4]], "version": 1}
    response = send(signed_in(cast.radiologist), "put", detail_url(case, annotation), body)
    assert response.json()["text"] == "mass"


def test_stale_version_is_409_with_the_current_annotation_and_changes_nothing(
    case, cast, instance, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(publish, "publish_now", lambda group, event: sent.append(event))
    annotation = make_annotation(case, instance, cast.radiologist, version=3)
    body = {"points": [[5, 5], [6, 6]], "text": "mine", "version": 2}
    with django_capture_on_commit_callbacks(execute=True):
        response = send(signed_in(cast.radiologist), "put", detail_url(case, annotation), body)
    assert response.status_code == 409
    assert response.json()["annotation"]["version"] == 3
    assert response.json()["annotation"]["points"] == [[1.0, 2.0], [11.0, 2.0]]
    annotation.refresh_from_db()
    assert annotation.version == 3 and annotation.points == [[1.0, 2.0], [11.0, 2.0]]
    assert sent == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"points": [[1, 1], [2, 2]]}, "version"),
        ({"points": [[1, 1], [2, 2]], "version": "1"}, "version"),
        ({"points": [[1, 1], [2, 2]], "version": 0}, "version"),
        ({"version": 1}, "points is missing"),
        ({"points": [[1, 1]], "version": 1}, "takes 2 points"),
    ],
)
def test_bad_updates_are_400_and_change_nothing(case, cast, instance, body, message):
    annotation = make_annotation(case, instance, cast.radiologist)
    response = send(signed_in(cast.radiologist), "put", detail_url(case, annotation), body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    annotation.refresh_from_db()
    assert annotation.version == 1


@pytest.mark.parametrize("who", ["chair", "surgeon", "referrer", "expert"])
def test_only_the_author_may_change_or_delete(case, cast, instance, who):
    invite(cast, case)
    annotation = make_annotation(case, instance, cast.radiologist)
    client = signed_in(getattr(cast, who))
    body = {"points": [[0, 0], [3, 3]], "version": 1}
    assert send(client, "put", detail_url(case, annotation), body).status_code == 403
    assert client.delete(detail_url(case, annotation)).status_code == 403
    annotation.refresh_from_db()
    assert annotation.version == 1 and annotation.deleted_at is None
    assert AuditEvent.objects.filter(
        actor=getattr(cast, who), action="annotation.delete", outcome="denied"
    ).exists()


def test_author_deletes_softly(case, cast, instance):
    annotation = make_annotation(case, instance, cast.radiologist)
    client = signed_in(cast.radiologist)
    response = client.delete(detail_url(case, annotation))
    assert response.status_code == 204
    annotation.refresh_from_db()
    assert annotation.deleted_at is not None and annotation.version == 2
    assert client.get(list_url(case)).json()["annotations"] == []
    # Gone for good: a second delete or an update finds nothing.
    assert client.delete(detail_url(case, annotation)).status_code == 404
    body = {"points": [[0, 0], [3, 3]], "version": 2}
    assert send(client, "put", detail_url(case, annotation), body).status_code == 404


@pytest.mark.parametrize("status", [Case.Status.CONCLUDED, Case.Status.WITHDRAWN])
def test_nothing_changes_once_the_case_is_closed(cast, status):
    case = make_case(cast)
    instance = store(case, ct_bytes(rows=16, columns=20))
    annotation = make_annotation(case, instance, cast.radiologist)
    case.status = status
    case.save()
    client = signed_in(cast.radiologist)
    assert send(client, "post", list_url(case), body_for(instance)).status_code == 403
    body = {"points": [[0, 0], [3, 3]], "version": 1}
    assert send(client, "put", detail_url(case, annotation), body).status_code == 403
    assert client.delete(detail_url(case, annotation)).status_code == 403
    assert client.get(list_url(case)).status_code == 200  # still readable
    annotation.refresh_from_db()
    assert annotation.version == 1 and annotation.deleted_at is None
    assert Annotation.objects.count() == 1


# --- events -----------------------------------------------------------------------------


def test_each_write_publishes_after_commit_only(
    case, cast, instance, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(publish, "publish_now", lambda group, event: sent.append((group, event)))
    client = signed_in(cast.radiologist)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = send(client, "post", list_url(case), body_for(instance))
    assert response.status_code == 201
    assert sent == []  # nothing goes out before the commit
    for callback in callbacks:
        callback()
    annotation = Annotation.objects.get()
    assert sent == [
        (
            f"case.{case.uuid.hex}",
            AnnotationChanged(
                case=str(case.uuid),
                annotation=str(annotation.uuid),
                instance=str(instance.uuid),
                frame=0,
                change="created",
                version=1,
            ),
        )
    ]
    with django_capture_on_commit_callbacks(execute=True):
        body = {"points": [[0, 0], [3, 3]], "version": 1}
        send(client, "put", detail_url(case, annotation), body)
        client.delete(detail_url(case, annotation))
    assert [(e.change, e.version) for _, e in sent] == [
        ("created", 1),
        ("updated", 2),
        ("deleted", 3),
    ]


def test_a_refused_write_publishes_nothing(
    case, cast, instance, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(publish, "publish_now", lambda group, event: sent.append(event))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send(signed_in(cast.radiologist), "post", list_url(case), body_for(instance, kind="x"))
    assert callbacks == [] and sent == []


# --- the permission matrix and the refusals every view gets ---------------------------------

OK, FORBIDDEN, HIDDEN = "ok", 403, 404
WHO = ["chair", "pathologist", "expert", "referrer", "patient", "outsider", "other_member"]
# chair, member, invited expert, submitter, unrelated patient, outsider, other board.
# The annotation being changed is the radiologist's, so nobody else may change it.
MATRIX = {
    "list": [OK, OK, OK, OK, HIDDEN, HIDDEN, HIDDEN],
    "create": [OK, OK, OK, OK, HIDDEN, HIDDEN, HIDDEN],
    "update": [FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN],
    "delete": [FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, HIDDEN, HIDDEN, HIDDEN],
}
CASES = [(action, who, MATRIX[action][i]) for action in MATRIX for i, who in enumerate(WHO)]


@pytest.mark.parametrize(
    ("action", "who", "expected"), CASES, ids=[f"{a}-{w}" for a, w, _ in CASES]
)
def test_annotation_permission_matrix(case, cast, instance, action, who, expected):
    invite(cast, case)
    annotation = make_annotation(case, instance, cast.radiologist)
    user = getattr(cast, who)
    client = signed_in(user)
    if action == "list":
        response = client.get(list_url(case))
    elif action == "create":
        response = send(client, "post", list_url(case), body_for(instance))
    elif action == "update":
        body = {"points": [[0, 0], [3, 3]], "version": 1}
        response = send(client, "put", detail_url(case, annotation), body)
    else:
        response = client.delete(detail_url(case, annotation))
    got = response.status_code if response.status_code in (403, 404) else OK
    assert got == expected, response.status_code
    if expected != OK:
        assert AuditEvent.objects.filter(actor=user, outcome="denied").exists()
        annotation.refresh_from_db()
        assert annotation.version == 1 and Annotation.objects.count() == 1


def test_the_submitting_patient_annotates_their_own_case(cast, instance):
    case = make_case(cast, submitted_by=cast.patient)
    mine = store(case, ct_bytes(rows=16, columns=20))
    response = send(signed_in(cast.patient), "post", list_url(case), body_for(mine))
    assert response.status_code == 201


def test_wrong_methods_are_405(case, cast, instance):
    annotation = make_annotation(case, instance, cast.radiologist)
    client = signed_in(cast.radiologist)
    assert client.delete(list_url(case)).status_code == 405
    assert client.put(list_url(case)).status_code == 405
    assert client.get(detail_url(case, annotation)).status_code == 405
    assert client.patch(detail_url(case, annotation)).status_code == 405


def test_writes_need_the_csrf_token(case, cast, instance):
    client = signed_in(cast.radiologist, enforce_csrf_checks=True)
    assert send(client, "post", list_url(case), body_for(instance)).status_code == 403
    assert not Annotation.objects.exists()
    # The viewer sends the token from the page in X-CSRFToken.
    client.get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    token = client.cookies["csrftoken"].value
    response = client.post(
        list_url(case),
        data=json.dumps(body_for(instance)),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201


def test_anonymous_is_sent_to_login(case, instance):
    annotation = Annotation(case=case, instance=instance)
    for url in (list_url(case), detail_url(case, annotation)):
        assert Client().get(url).status_code == 302
