"""The admin reads right ("Patient identities", not "Patient identitys"), and the fields the
workflow owns (status, submission and readiness times, presence, de-identification, an
opinion's text) are shown read-only there: they move only through the app's services."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.urls import reverse

from cases.models import Case, Opinion, PatientIdentity
from imaging.models import Study
from meetings.models import Attendance, Meeting
from tests.cases.factories import make_case
from tests.cases.factories import opinion as make_opinion
from tests.meetings.factories import make_meeting

OUR_APPS = ("board", "cases", "meetings", "imaging", "decisions", "realtime")
MODELS = [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_plural_names_read_as_english(model):
    plural = str(model._meta.verbose_name_plural)
    # Django's default just adds "s": identity -> identitys, status -> statuss, box -> boxs.
    assert not re.search(r"([^aeiou]ys|ss|xs|chs|shs)$", plural), plural


def test_the_names_the_issue_quoted():
    assert PatientIdentity._meta.verbose_name_plural == "patient identities"
    assert apps.get_model("board", "ApiToken")._meta.verbose_name_plural == "API tokens"


def editable_inputs(html: str) -> set[str]:
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', html))


def change_page(client, obj) -> str:
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_case_workflow_fields_are_read_only(admin_client, cast):
    case = make_case(cast, status=Case.Status.IN_REVIEW)
    inputs = editable_inputs(change_page(admin_client, case))
    assert "question" in inputs  # the page does have a form
    assert not {"status", "submitted_at", "ready_at"} & inputs


@pytest.mark.django_db
def test_opinion_text_and_times_are_read_only(admin_client, cast):
    opinion = make_opinion(make_case(cast), cast.pathologist)
    inputs = editable_inputs(change_page(admin_client, Opinion.objects.get(pk=opinion.pk)))
    assert not {"body", "withdrawn_at", "edited_at", "author_specialty"} & inputs


@pytest.mark.django_db
def test_meeting_status_and_presence_are_read_only(admin_client, cast):
    meeting = make_meeting(cast)
    assert "status" not in editable_inputs(change_page(admin_client, meeting))
    assert "title" in editable_inputs(change_page(admin_client, meeting))
    attendance = Attendance.objects.create(
        meeting=meeting, user=cast.pathologist, joined_at=meeting.starts_at
    )
    inputs = editable_inputs(change_page(admin_client, attendance))
    assert not {"joined_at_0", "left_at_0", "seen_at_0", "joined_at"} & inputs


@pytest.mark.django_db
def test_study_deidentified_flag_is_read_only(admin_client, cast):
    case = make_case(cast)
    study = Study.objects.create(
        case=case, study_instance_uid="1.2.3", uploaded_by=cast.radiologist
    )
    assert "deidentified" not in editable_inputs(change_page(admin_client, study))


@pytest.mark.django_db
def test_a_meeting_status_posted_to_the_admin_is_ignored(admin_client, cast):
    meeting = make_meeting(cast)
    url = reverse("admin:meetings_meeting_change", args=[meeting.pk])
    data = {
        "title": meeting.title,
        "board": meeting.board_id,
        "starts_at_0": meeting.starts_at.date().isoformat(),
        "starts_at_1": meeting.starts_at.strftime("%H:%M:%S"),
        "time_zone": meeting.time_zone,
        "duration_minutes": meeting.duration_minutes,
        "video_url": meeting.video_url,
        "created_by": meeting.created_by_id,
        "status": Meeting.Status.CANCELLED,
        "agenda_items-TOTAL_FORMS": "0",
        "agenda_items-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, data | {"title": "Renamed"})
    errors = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    assert response.status_code == 302, errors
    meeting.refresh_from_db()
    assert meeting.title == "Renamed"  # the save went through ...
    assert meeting.status == Meeting.Status.SCHEDULED  # ... without the status
