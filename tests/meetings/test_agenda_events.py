"""Each agenda change and a cancellation publish exactly one declared event, after commit.

The event carries the meeting's next live seq (bumped in the same transaction), goes to the
meeting's group, and is never published when the transaction rolls back.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from meetings import services
from meetings.live import agenda_entry, live_session
from meetings.models import AgendaItem, LiveSession
from realtime import publish
from realtime.events import (
    AgendaItemAdded,
    AgendaItemRemoved,
    AgendaPresenterSet,
    AgendaReordered,
    AgendaTimeBoxSet,
    CaseStatusChanged,
    Event,
    MeetingStatusChanged,
)
from realtime.groups import meeting_group
from tests.meetings.factories import acting, put_on_agenda, ready_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, Event]]:
    sent: list[tuple[str, Event]] = []
    monkeypatch.setattr(publish, "publish_now", lambda group, event: sent.append((group, event)))
    return sent


@pytest.fixture
def agenda(cast, meeting) -> list[AgendaItem]:
    return [put_on_agenda(meeting, ready_case(cast), n) for n in (1, 2, 3)]


def only_event(published, meeting) -> Event:
    # Putting a case on the agenda, or taking it off, also changes the case's status: that
    # is the case's own event (cases.services), not the meeting's.
    (sent,) = [(g, e) for g, e in published if not isinstance(e, CaseStatusChanged)]
    group, event = sent
    assert group == meeting_group(meeting.uuid)
    assert Event.from_json(event.to_json()) == event
    return event


def changes(cast, meeting, agenda):
    """(name, the service call, the event it must publish) for every change."""
    first, second, third = agenda
    waiting = ready_case(cast)
    order = [third.uuid, first.uuid, second.uuid]
    return {
        "add": (
            lambda: services.agenda_add(
                access=acting(cast.chair, meeting), case=waiting, time_box_minutes=15
            ),
            lambda seq: AgendaItemAdded(
                seq=seq, item=agenda_entry(AgendaItem.objects.get(case=waiting)), position=4
            ),
        ),
        "remove": (
            lambda: services.agenda_remove(access=acting(cast.chair, meeting), item=second),
            lambda seq: AgendaItemRemoved(seq=seq, item=str(second.uuid)),
        ),
        "reorder": (
            lambda: services.agenda_reorder(access=acting(cast.chair, meeting), order=order),
            lambda seq: AgendaReordered(seq=seq, order=[str(u) for u in order]),
        ),
        "move": (
            lambda: services.agenda_move(access=acting(cast.chair, meeting), item=first, offset=1),
            lambda seq: AgendaReordered(
                seq=seq, order=[str(second.uuid), str(first.uuid), str(third.uuid)]
            ),
        ),
        "presenter": (
            lambda: services.agenda_set_presenter(
                access=acting(cast.chair, meeting), item=third, presenter=cast.radiologist
            ),
            lambda seq: AgendaPresenterSet(
                seq=seq, item=str(third.uuid), presenter=str(cast.radiologist.uuid)
            ),
        ),
        "time_box": (
            lambda: services.agenda_set_time_box(
                access=acting(cast.chair, meeting), item=first, minutes=25
            ),
            lambda seq: AgendaTimeBoxSet(seq=seq, item=str(first.uuid), minutes=25),
        ),
        "cancel": (
            lambda: services.meeting_cancel(access=acting(cast.chair, meeting)),
            lambda seq: MeetingStatusChanged(seq=seq, status="cancelled"),
        ),
    }


CHANGES = ["add", "remove", "reorder", "move", "presenter", "time_box", "cancel"]


@pytest.mark.parametrize("name", CHANGES)
def test_each_change_publishes_one_event_after_commit(
    cast, meeting, agenda, published, name, django_capture_on_commit_callbacks
):
    live = live_session(meeting)
    LiveSession.objects.filter(pk=live.pk).update(seq=41)
    call, expected = changes(cast, meeting, agenda)[name]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call()
    assert published == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert only_event(published, meeting) == expected(42)
    assert LiveSession.objects.get(meeting=meeting).seq == 42


@pytest.mark.parametrize("name", CHANGES)
def test_a_rolled_back_change_publishes_nothing(
    cast, meeting, agenda, published, name, django_capture_on_commit_callbacks
):
    call, _ = changes(cast, meeting, agenda)[name]

    class Boom(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        call()
        raise Boom
    assert published == []
    assert not LiveSession.objects.filter(meeting=meeting, seq__gt=0).exists()


def test_the_first_change_creates_the_live_state(cast, meeting, agenda, published):
    assert not LiveSession.objects.filter(meeting=meeting).exists()
    services.agenda_set_time_box(access=acting(cast.chair, meeting), item=agenda[0], minutes=20)
    assert LiveSession.objects.get(meeting=meeting).seq == 1


def test_refused_changes_publish_nothing_and_keep_the_seq(
    cast, meeting, agenda, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ValidationError, match="between 1 and 240"):
            services.agenda_set_time_box(
                access=acting(cast.chair, meeting), item=agenda[0], minutes=0
            )
        with pytest.raises(ValidationError):
            services.agenda_reorder(access=acting(cast.chair, meeting), order=[agenda[0].uuid])
        # Nothing to change: the same order, the same time box, the last item moved down.
        services.agenda_reorder(access=acting(cast.chair, meeting), order=[i.uuid for i in agenda])
        services.agenda_set_time_box(access=acting(cast.chair, meeting), item=agenda[0], minutes=10)
        services.agenda_move(access=acting(cast.chair, meeting), item=agenda[2], offset=1)
    assert published == []
    assert not LiveSession.objects.filter(meeting=meeting, seq__gt=0).exists()


def test_time_box_is_set_and_audited(cast, meeting, agenda, published):
    from cases.models import AuditEvent

    item = services.agenda_set_time_box(
        access=acting(cast.coordinator, meeting), item=agenda[1], minutes=35
    )
    assert item.time_box_minutes == 35
    assert AgendaItem.objects.get(pk=agenda[1].pk).time_box_minutes == 35
    assert AuditEvent.objects.filter(action="meeting.agenda_time_box", actor=cast.coordinator)


def test_only_managers_set_time_boxes(cast, meeting, agenda, published):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.agenda_set_time_box(
            access=acting(cast.pathologist, meeting), item=agenda[0], minutes=20
        )
    assert AgendaItem.objects.get(pk=agenda[0].pk).time_box_minutes == 10
