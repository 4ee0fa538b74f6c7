"""Meetings as tests need them: a meeting, a case ready for it, an item on its agenda."""

from __future__ import annotations

import datetime

from django.utils import timezone

from board.access import BoardAccess, get_board_for_user
from cases.models import Case
from meetings.access import MeetingAccess, get_meeting_for_user
from meetings.models import AgendaItem, Meeting
from tests.cases.factories import make_case

START = datetime.datetime(2031, 3, 14, 7, 30, tzinfo=datetime.UTC)  # 08:30 in Paris


def make_meeting(cast, **fields) -> Meeting:
    defaults = {
        "board": cast.board,
        "title": "Sarcoma board, March",
        "starts_at": START,
        "time_zone": "Europe/Paris",
        "duration_minutes": 90,
        "video_url": "https://video.example/room/sarcoma",
        "created_by": cast.chair,
    }
    defaults.update(fields)
    return Meeting.objects.create(**defaults)


def ready_case(cast, **fields) -> Case:
    fields.setdefault("ready_at", timezone.now())
    return make_case(cast, status=Case.Status.IN_REVIEW, **fields)


def put_on_agenda(meeting: Meeting, case: Case, position: int, **fields) -> AgendaItem:
    """An agenda item written directly (no service): for pages and counts."""
    Case.objects.filter(pk=case.pk).update(status=Case.Status.SCHEDULED)
    return AgendaItem.objects.create(meeting=meeting, case=case, position=position, **fields)


def acting(user, meeting: Meeting) -> MeetingAccess:
    """``user``'s access to ``meeting`` as a view hands it to a service (404 for outsiders)."""
    return get_meeting_for_user(user, meeting.uuid)


def acting_on_board(user, board) -> BoardAccess:
    return get_board_for_user(user, board.uuid)
