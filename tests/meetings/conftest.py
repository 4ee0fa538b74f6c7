from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from cases.models import Case
from meetings.models import AgendaItem, Meeting
from tests.cases.factories import make_case

START = datetime.datetime(2031, 3, 14, 7, 30, tzinfo=datetime.UTC)  # 08:30 in Paris


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


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


@pytest.fixture
def emails(cast):
    """Give every member of the cast an address, so invites have somewhere to go."""
    for name in (
        "chair",
        "coordinator",
        "pathologist",
        "radiologist",
        "oncologist",
        "surgeon",
        "referrer",
        "other_member",
    ):
        user = getattr(cast, name)
        user.email = f"{name}@board.example"
        user.save(update_fields=["email"])
    return cast


@pytest.fixture
def meeting(cast) -> Meeting:
    return make_meeting(cast)
