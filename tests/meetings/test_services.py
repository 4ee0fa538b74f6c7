from __future__ import annotations

import datetime
import email
import zoneinfo

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from icalendar import Calendar

from cases.models import AuditEvent, Case
from meetings import services
from meetings.models import AgendaItem, Attendance, Meeting
from tests.cases.factories import PATIENT_NAME, make_case
from tests.meetings.factories import (
    START,
    acting,
    acting_on_board,
    make_meeting,
    put_on_agenda,
    ready_case,
)

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def schedule(cast, **fields) -> Meeting:
    by = fields.pop("by", cast.chair)
    values = {
        "access": acting_on_board(by, cast.board),
        "title": "Sarcoma board, March",
        "starts_at": START,
        "time_zone": "Europe/Paris",
        "duration_minutes": 90,
        "video_url": "https://video.example/room/sarcoma",
    }
    values.update(fields)
    return services.meeting_schedule(**values)


def invites(outbox) -> list[tuple[str, Calendar, str]]:
    """(recipient, parsed calendar, Content-Type) of the .ics in each invite message."""
    found = []
    for message in outbox:
        parsed = email.message_from_bytes(message.message().as_bytes())
        parts = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
        if not parts:
            continue  # a case status notice to the referrer, not an invite
        assert len(parts) == 1
        ics = parts[0].get_payload(decode=True)
        found.append((message.to[0], Calendar.from_ical(ics), parts[0]["Content-Type"]))
    return found


def the_event(cal: Calendar):
    (event,) = cal.walk("VEVENT")
    return event


# --- scheduling and invites -----------------------------------------------------------


def test_schedule_emails_each_member_an_ics_request(emails, django_capture_on_commit_callbacks):
    cast = emails
    with django_capture_on_commit_callbacks(execute=True):
        meeting = schedule(cast)
    sent = invites(mail.outbox)
    # Every board member, one message each; the referrer and the other board are not invited.
    assert sorted(to for to, _, _ in sent) == sorted(
        f"{n}@board.example"
        for n in ("chair", "coordinator", "pathologist", "radiologist", "oncologist", "surgeon")
    )
    _to, cal, content_type = sent[0]
    assert "method=REQUEST" in content_type.replace('"', "")
    assert cal["METHOD"] == "REQUEST"
    event = the_event(cal)
    assert str(event["UID"]) == f"{meeting.uuid}@consilium"
    assert int(event["SEQUENCE"]) == 0
    assert event["DTSTART"].dt == START.astimezone(PARIS)
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event["DTSTART"].dt.hour == 8  # 07:30 UTC is 08:30 in Paris in March
    assert event["DTEND"].dt == START + datetime.timedelta(minutes=90)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert str(event["LOCATION"]) == "https://video.example/room/sarcoma"
    assert str(event["STATUS"]) == "CONFIRMED"
    attendees = {str(a): a.params for a in event["ATTENDEE"]}
    assert attendees["mailto:chair@board.example"]["ROLE"] == "CHAIR"
    assert attendees["mailto:surgeon@board.example"]["PARTSTAT"] == "NEEDS-ACTION"
    assert attendees["mailto:surgeon@board.example"]["RSVP"] == "TRUE"
    assert "mailto:referrer@board.example" not in attendees
    assert str(event["ORGANIZER"]).startswith("mailto:")


def test_schedule_is_audited(cast):
    meeting = schedule(cast)
    assert AuditEvent.objects.filter(
        action="meeting.schedule", object_id=str(meeting.uuid), actor=cast.chair
    ).exists()


def test_invite_names_cases_by_pseudonym_never_the_patient(
    emails, meeting, django_capture_on_commit_callbacks
):
    cast = emails
    case = ready_case(cast)
    services.agenda_add(access=acting(cast.chair, meeting), case=case)
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_update(
            access=acting(cast.chair, meeting),
            title="Moved",
            starts_at=START,
            time_zone="Europe/Paris",
            duration_minutes=90,
            video_url=meeting.video_url,
        )
    raw = mail.outbox[-1].message().as_string()
    event = the_event(invites(mail.outbox[-1:])[0][1])
    assert case.pseudonym in str(event["DESCRIPTION"])
    assert PATIENT_NAME not in raw
    assert "Zebediah" not in str(event["DESCRIPTION"])


def test_update_bumps_sequence_and_resends(emails, meeting, django_capture_on_commit_callbacks):
    cast = emails
    later = START + datetime.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_update(
            access=acting(cast.coordinator, meeting),
            title=meeting.title,
            starts_at=later,
            time_zone="Europe/Paris",
            duration_minutes=60,
            video_url="",
        )
    meeting.refresh_from_db()
    assert meeting.ical_sequence == 1
    _, cal, _ = invites(mail.outbox)[0]
    event = the_event(cal)
    assert cal["METHOD"] == "REQUEST"
    assert int(event["SEQUENCE"]) == 1
    assert event["DTSTART"].dt == later
    assert "LOCATION" not in event


def test_update_without_change_keeps_sequence_and_sends_nothing(
    emails, meeting, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_update(
            access=acting(emails.chair, meeting),
            title=meeting.title,
            starts_at=meeting.starts_at,
            time_zone=meeting.time_zone,
            duration_minutes=meeting.duration_minutes,
            video_url=meeting.video_url,
        )
    meeting.refresh_from_db()
    assert meeting.ical_sequence == 0
    assert mail.outbox == []


def test_cancel_sends_cancel_and_returns_cases_to_review(
    emails, meeting, django_capture_on_commit_callbacks
):
    cast = emails
    first, second = ready_case(cast), ready_case(cast)
    services.agenda_add(access=acting(cast.chair, meeting), case=first)
    services.agenda_add(access=acting(cast.chair, meeting), case=second)
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_cancel(access=acting(cast.chair, meeting))
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CANCELLED
    assert meeting.ical_sequence == 1
    sent = invites(mail.outbox)
    cancels = [cal for _, cal, _ in sent if cal["METHOD"] == "CANCEL"]
    assert len(cancels) == len(sent) == 6
    assert "referrer@board.example" not in [to for to, _, _ in sent]
    event = the_event(cancels[0])
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    assert str(event["UID"]) == f"{meeting.uuid}@consilium"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Case.Status.IN_REVIEW, Case.Status.IN_REVIEW)


def test_cancelled_meeting_cannot_be_cancelled_again(cast, meeting):
    services.meeting_cancel(access=acting(cast.chair, meeting))
    with pytest.raises(ValidationError, match="cancelled"):
        services.meeting_cancel(access=acting(cast.chair, meeting))


@pytest.mark.parametrize(
    ("who", "refusal"),
    [("pathologist", PermissionDenied), ("referrer", Http404), ("outsider", Http404)],
)
def test_only_chair_or_coordinator_schedules(cast, who, refusal):
    # Members are refused by the service (403); others never get an access to hand it (404).
    with pytest.raises(refusal):
        schedule(cast, by=getattr(cast, who))
    assert not Meeting.objects.exists()


def test_only_managers_cancel_or_build_the_agenda(cast, meeting):
    access = acting(cast.pathologist, meeting)
    with pytest.raises(PermissionDenied):
        services.meeting_cancel(access=access)
    with pytest.raises(PermissionDenied):
        services.agenda_add(access=access, case=ready_case(cast))
    with pytest.raises(Http404):
        acting(cast.outsider, meeting)
    assert AuditEvent.objects.filter(actor=cast.pathologist, outcome="denied").count() == 2
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.SCHEDULED
    assert not meeting.agenda_items.exists()


def test_http_video_link_is_refused(cast):
    with pytest.raises(ValidationError) as error:
        schedule(cast, video_url="http://video.example/room")
    assert "video_url" in error.value.message_dict
    assert not Meeting.objects.exists()


# --- the agenda ---------------------------------------------------------------------


def test_agenda_add_schedules_the_case(cast, meeting):
    case = ready_case(cast)
    item = services.agenda_add(
        access=acting(cast.coordinator, meeting),
        case=case,
        time_box_minutes=15,
        presenter=cast.radiologist,
    )
    case.refresh_from_db()
    assert case.status == Case.Status.SCHEDULED
    assert (item.position, item.time_box_minutes, item.presenter) == (1, 15, cast.radiologist)
    assert AuditEvent.objects.filter(case=case, action="case.status").exists()
    assert (
        services.agenda_add(access=acting(cast.chair, meeting), case=ready_case(cast)).position == 2
    )


def test_case_not_marked_ready_is_refused_with_the_reason(cast, meeting):
    case = ready_case(cast, ready_at=None)
    with pytest.raises(ValidationError) as error:
        services.agenda_add(access=acting(cast.chair, meeting), case=case)
    assert "not marked ready for the board" in error.value.messages[0]
    assert case.pseudonym in error.value.messages[0]
    case.refresh_from_db()
    assert case.status == Case.Status.IN_REVIEW
    assert not AgendaItem.objects.exists()


def test_case_not_in_review_is_refused_with_the_reason(cast, meeting):
    case = make_case(cast, status=Case.Status.SUBMITTED)
    with pytest.raises(ValidationError) as error:
        services.agenda_add(access=acting(cast.chair, meeting), case=case)
    assert "the case is submitted, not in review" in error.value.messages[0]
    assert "not marked ready" in error.value.messages[0]


def test_case_of_another_board_is_refused(cast, meeting):
    case = ready_case(cast, board=cast.other_board)
    with pytest.raises(ValidationError, match="another board"):
        services.agenda_add(access=acting(cast.chair, meeting), case=case)


def test_agenda_of_a_cancelled_meeting_is_frozen(cast, meeting):
    services.meeting_cancel(access=acting(cast.chair, meeting))
    with pytest.raises(ValidationError, match="no longer change"):
        services.agenda_add(access=acting(cast.chair, meeting), case=ready_case(cast))


def test_presenter_must_be_a_board_member(cast, meeting):
    with pytest.raises(ValidationError, match="member of the board"):
        services.agenda_add(
            access=acting(cast.chair, meeting), case=ready_case(cast), presenter=cast.other_member
        )
    item = services.agenda_add(access=acting(cast.chair, meeting), case=ready_case(cast))
    with pytest.raises(ValidationError, match="member of the board"):
        services.agenda_set_presenter(
            access=acting(cast.chair, meeting), item=item, presenter=cast.referrer
        )
    services.agenda_set_presenter(
        access=acting(cast.chair, meeting), item=item, presenter=cast.pathologist
    )
    item.refresh_from_db()
    assert item.presenter == cast.pathologist


def test_remove_puts_the_case_back_in_review_and_closes_the_gap(cast, meeting):
    items = [
        services.agenda_add(access=acting(cast.chair, meeting), case=ready_case(cast))
        for _ in "abc"
    ]
    services.agenda_remove(access=acting(cast.chair, meeting), item=items[0])
    case = Case.objects.get(pk=items[0].case_id)
    assert case.status == Case.Status.IN_REVIEW
    positions = list(meeting.agenda_items.values_list("uuid", "position"))
    assert positions == [(items[1].uuid, 1), (items[2].uuid, 2)]


def positions(meeting) -> list:
    return list(meeting.agenda_items.order_by("position").values_list("uuid", flat=True))


def test_reorder_swaps_positions_on_this_database(cast, meeting):
    a, b, c = (put_on_agenda(meeting, ready_case(cast), n) for n in (1, 2, 3))
    services.agenda_reorder(access=acting(cast.chair, meeting), order=[b.uuid, a.uuid, c.uuid])
    assert positions(meeting) == [b.uuid, a.uuid, c.uuid]
    services.agenda_reorder(access=acting(cast.chair, meeting), order=[c.pk, a.pk, b.pk])
    assert positions(meeting) == [c.uuid, a.uuid, b.uuid]
    assert sorted(meeting.agenda_items.values_list("position", flat=True)) == [1, 2, 3]


def test_reorder_must_list_every_item_once(cast, meeting):
    a, b = (put_on_agenda(meeting, ready_case(cast), n) for n in (1, 2))
    for order in ([a.uuid], [a.uuid, a.uuid], [a.uuid, b.uuid, a.uuid]):
        with pytest.raises(ValidationError, match="exactly once"):
            services.agenda_reorder(access=acting(cast.chair, meeting), order=order)
    assert positions(meeting) == [a.uuid, b.uuid]


def test_move_up_and_down_stops_at_the_ends(cast, meeting):
    a, b = (put_on_agenda(meeting, ready_case(cast), n) for n in (1, 2))
    services.agenda_move(access=acting(cast.chair, b.meeting), item=b, offset=-1)
    assert positions(meeting) == [b.uuid, a.uuid]
    services.agenda_move(access=acting(cast.chair, b.meeting), item=b, offset=-1)
    assert positions(meeting) == [b.uuid, a.uuid]


# --- attendance ---------------------------------------------------------------------


def test_each_join_is_a_row_and_leave_closes_only_its_own(cast, meeting):
    first_tab = services.attendance_join(access=acting(cast.pathologist, meeting))
    second_tab = services.attendance_join(access=acting(cast.pathologist, meeting))
    services.attendance_leave(attendance=first_tab)
    first_tab.refresh_from_db()
    second_tab.refresh_from_db()
    assert first_tab.left_at is not None and first_tab.left_at >= first_tab.joined_at
    assert second_tab.left_at is None
    left_at = first_tab.left_at
    services.attendance_leave(attendance=first_tab)
    first_tab.refresh_from_db()
    assert first_tab.left_at == left_at
    assert Attendance.objects.filter(meeting=meeting, user=cast.pathologist).count() == 2


@pytest.mark.parametrize("who", ["outsider", "referrer", "other_member"])
def test_non_members_cannot_join(cast, meeting, who):
    # Joining needs a member's access to the meeting, which others never get.
    with pytest.raises(Http404):
        services.attendance_join(access=acting(getattr(cast, who), meeting))
    assert not Attendance.objects.exists()


def test_other_meeting_is_untouched(cast, meeting):
    other = make_meeting(cast, title="April")
    case = ready_case(cast)
    services.agenda_add(access=acting(cast.chair, meeting), case=case)
    services.meeting_cancel(access=acting(cast.chair, other))
    case.refresh_from_db()
    assert case.status == Case.Status.SCHEDULED
