from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from meetings.models import AgendaItem, Attendance
from tests.meetings.factories import START, make_meeting, put_on_agenda, ready_case

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("minutes", [14, 601])
def test_duration_outside_15_to_600_is_refused_by_the_database(cast, minutes):
    with pytest.raises(IntegrityError, match="meetings_meeting_duration_15_600"):
        make_meeting(cast, duration_minutes=minutes)


@pytest.mark.parametrize("minutes", [15, 600])
def test_duration_bounds_are_allowed(cast, minutes):
    assert make_meeting(cast, duration_minutes=minutes).ends_at == START + datetime.timedelta(
        minutes=minutes
    )


# SQLite names the columns of a failed unique constraint, PostgreSQL the constraint.


def test_a_case_is_on_a_meeting_agenda_once(cast, meeting):
    case = ready_case(cast)
    put_on_agenda(meeting, case, 1)
    with pytest.raises(IntegrityError, match=r"meetings_agenda_case_once|agendaitem\.case_id"):
        AgendaItem.objects.create(meeting=meeting, case=case, position=2)


def test_two_items_cannot_share_a_position(cast, meeting):
    put_on_agenda(meeting, ready_case(cast), 1)
    with pytest.raises(
        IntegrityError, match=r"meetings_agenda_position_unique|agendaitem\.position"
    ):
        AgendaItem.objects.create(meeting=meeting, case=ready_case(cast), position=1)


def test_the_same_position_in_another_meeting_is_fine(cast, meeting):
    other = make_meeting(cast, title="April")
    put_on_agenda(meeting, ready_case(cast), 1)
    put_on_agenda(other, ready_case(cast), 1)
    assert AgendaItem.objects.filter(position=1).count() == 2


def test_attendance_cannot_end_before_it_starts(cast, meeting):
    with (
        pytest.raises(IntegrityError, match="meetings_attendance_leaves_after_join"),
        transaction.atomic(),
    ):
        Attendance.objects.create(
            meeting=meeting,
            user=cast.pathologist,
            joined_at=START,
            left_at=START - datetime.timedelta(seconds=1),
        )


@pytest.mark.parametrize(
    "url", ["http://video.example/room", "javascript:alert(1)", "ftp://video.example/x"]
)
def test_video_link_must_be_https(cast, url):
    meeting = make_meeting(cast)
    meeting.video_url = url
    with pytest.raises(ValidationError) as error:
        meeting.full_clean()
    assert "video_url" in error.value.message_dict


def test_unknown_time_zone_is_refused(cast):
    meeting = make_meeting(cast)
    meeting.time_zone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError) as error:
        meeting.full_clean()
    assert "Mars/Olympus_Mons is not a known time zone." in error.value.message_dict["time_zone"]
