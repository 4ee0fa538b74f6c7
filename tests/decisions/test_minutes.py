"""Meeting minutes: drafted from the meeting's record, edited and signed by a manager, stored
as PDF/A with their SHA-256, read by the members."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from cases.models import AuditEvent
from decisions import minutes as service
from decisions.models import MeetingMinutes, MinutesItem
from meetings.access import meeting_access
from meetings.models import AgendaItem, Attendance, Meeting
from tests.cases.factories import make_case
from tests.cast import PASSWORD
from tests.decisions.factories import decided_case, draft, make_meeting, pdf_text, sign
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

Outcome = MinutesItem.Outcome


def held_meeting(cast):
    """A meeting held an hour ago: case 1 decided and signed in it, case 2 deferred; the
    pathologist and the radiologist joined (the pathologist twice), the others not."""
    decided, *_ = decided_case(cast)
    meeting = make_meeting(cast, decided)
    start = timezone.now() - datetime.timedelta(hours=1)
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=start, status=Meeting.Status.HELD)
    meeting.refresh_from_db()
    deferred = make_case(cast)
    AgendaItem.objects.create(meeting=meeting, case=deferred, position=2)
    sign(cast, decided, draft(cast, decided))
    minute = datetime.timedelta(minutes=1)
    for user, joined, left in [
        (cast.pathologist, start, start + 10 * minute),
        (cast.pathologist, start + 12 * minute, start + 50 * minute),
        (cast.radiologist, start + 5 * minute, None),
    ]:
        Attendance.objects.create(
            meeting=meeting, user=user, joined_at=joined, left_at=left, seen_at=joined + minute
        )
    return meeting, decided, deferred


def chair(cast, meeting):
    return meeting_access(cast.chair, meeting)


def test_draft_takes_the_agenda_outcomes_and_attendance(cast):
    meeting, decided, deferred = held_meeting(cast)
    minutes = service.minutes_draft(access=chair(cast, meeting))
    assert [(i.case, i.position, i.outcome) for i in minutes.items.all()] == [
        (decided, 1, Outcome.CONSENSUS_SIGNED),
        (deferred, 2, Outcome.DEFERRED),
    ]
    people = service.attendees(meeting)
    assert [(p.name, p.specialty) for p in people] == [
        (cast.pathologist.display_name, "pathology"),
        (cast.radiologist.display_name, "radiology"),
    ]
    # The pathologist's two joins are one line: first in, last out.
    assert people[0].left_at - people[0].joined_at == datetime.timedelta(minutes=50)
    # The radiologist never left cleanly: their last heartbeat stands in.
    assert people[1].left_at == people[1].joined_at + datetime.timedelta(minutes=1)
    assert service.quorum_shortfall(meeting, people) == {
        "medical_oncology": 1,
        "surgical_oncology": 1,
    }
    # Drafting again returns the same draft.
    assert service.minutes_draft(access=chair(cast, meeting)) == minutes


def test_no_minutes_before_the_meeting_is_over_nor_for_a_cancelled_one(cast):
    case = make_case(cast)
    meeting = make_meeting(cast, case)
    with pytest.raises(service.MinutesConflict):
        service.minutes_draft(access=chair(cast, meeting))
    meeting.status = Meeting.Status.CANCELLED
    meeting.save()
    assert not service.is_over(meeting)
    assert not MeetingMinutes.objects.exists()


def test_only_managers_draft(cast):
    meeting, *_ = held_meeting(cast)
    with pytest.raises(PermissionDenied):
        service.minutes_draft(access=meeting_access(cast.pathologist, meeting))
    assert AuditEvent.objects.filter(action="minutes.draft", outcome="denied").count() == 1


def test_the_chair_edits_outcomes_and_actions_with_owners(cast):
    meeting, _decided, deferred = held_meeting(cast)
    minutes = service.minutes_draft(access=chair(cast, meeting))
    item = minutes.items.get(case=deferred)
    edit = {
        "outcome": Outcome.MORE_INFORMATION,
        "note": "Needs MRI of the chest.",
        "action": "Ask the referrer for a chest CT",
        "action_owner": cast.coordinator,
    }
    service.minutes_update(
        access=chair(cast, meeting), minutes=minutes, notes=" Short. ", items={item.pk: edit}
    )
    item.refresh_from_db()
    minutes.refresh_from_db()
    assert (item.outcome, item.action_owner, minutes.notes) == (
        Outcome.MORE_INFORMATION,
        cast.coordinator,
        "Short.",
    )
    with pytest.raises(ValidationError):
        service.minutes_update(
            access=chair(cast, meeting),
            minutes=minutes,
            notes="",
            items={item.pk: {**edit, "action_owner": None}},
        )
    with pytest.raises(ValidationError):
        service.minutes_update(
            access=chair(cast, meeting),
            minutes=minutes,
            notes="",
            items={item.pk: {**edit, "action_owner": cast.outsider}},
        )


def test_signing_stores_a_pdf_with_its_hash_and_freezes_the_minutes(cast):
    meeting, decided, deferred = held_meeting(cast)
    minutes = service.minutes_draft(access=chair(cast, meeting))
    with pytest.raises(service.WrongPassword):
        service.minutes_sign(access=chair(cast, meeting), minutes=minutes, password="nope")
    minutes.refresh_from_db()
    assert not minutes.is_signed
    assert AuditEvent.objects.filter(action="minutes.sign", outcome="denied").count() == 1
    signed = service.minutes_sign(access=chair(cast, meeting), minutes=minutes, password=PASSWORD)
    with signed.file.open("rb") as handle:
        pdf = handle.read()
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == signed.sha256
    text = pdf_text(pdf)
    for expected in (
        "Meeting minutes",
        decided.pseudonym,
        deferred.pseudonym,
        "Consensus signed",
        "Deferred",
        cast.pathologist.display_name,
        "Quorum not met",
        cast.chair.display_name,
    ):
        assert expected in text
    with pytest.raises(service.MinutesConflict):
        service.minutes_sign(access=chair(cast, meeting), minutes=minutes, password=PASSWORD)
    with pytest.raises(service.MinutesConflict):
        service.minutes_update(access=chair(cast, meeting), minutes=minutes, notes="x", items={})


# --- views ---------------------------------------------------------------------------------------


def url(name, meeting):
    return reverse(name, kwargs={"meeting_id": meeting.uuid})


def test_minutes_views_for_the_chair_members_and_outsiders(cast):
    meeting, decided, deferred = held_meeting(cast)
    page = url("meeting-minutes", meeting)
    chair_client = signed_in(cast.chair)
    member = signed_in(cast.pathologist)
    # Outsiders: 404 everywhere.
    outsider = signed_in(cast.outsider)
    for name in ("meeting-minutes", "meeting-minutes-pdf"):
        assert outsider.get(url(name, meeting)).status_code == 404
    assert outsider.post(page).status_code == 404
    # A member may not draft: 403.
    assert member.post(page).status_code == 403
    assert chair_client.post(page).status_code == 302
    minutes = MeetingMinutes.objects.get(meeting=meeting)
    # The draft is the managers': members see no minutes yet.
    assert 'id="minutes-none"' in member.get(page).content.decode()
    assert 'id="minutes-edit"' in chair_client.get(page).content.decode()
    item = minutes.items.get(case=deferred)
    other = minutes.items.get(case=decided)
    form = {
        "notes": "Next meeting in two weeks.",
        f"item-{item.pk}-outcome": "more_information",
        f"item-{item.pk}-action": "Chest CT",
        f"item-{item.pk}-action_owner": "",
        f"item-{other.pk}-outcome": "consensus_signed",
    }
    edit = url("meeting-minutes-edit", meeting)
    assert member.post(edit, form).status_code == 403
    assert chair_client.get(edit).status_code == 405
    assert chair_client.post(edit, form).status_code == 400  # an action without its owner
    form[f"item-{item.pk}-action_owner"] = str(cast.coordinator.pk)
    assert chair_client.post(edit, form).status_code == 302
    item.refresh_from_db()
    assert (item.outcome, item.action_owner) == ("more_information", cast.coordinator)
    sign_url = url("meeting-minutes-sign", meeting)
    assert member.post(sign_url, {"sign-password": PASSWORD}).status_code == 403
    assert chair_client.post(sign_url, {"sign-password": "wrong"}).status_code == 400
    assert chair_client.post(sign_url, {"sign-password": PASSWORD}).status_code == 302
    # Signed: every member reads them and downloads the PDF.
    assert 'id="minutes-signed"' in member.get(page).content.decode()
    download = member.get(url("meeting-minutes-pdf", meeting))
    assert download.status_code == 200
    text = pdf_text(b"".join(download.streaming_content))
    assert "Chest CT" in text and "Next meeting in two weeks." in text
    assert chair_client.post(edit, form).status_code == 409


def test_the_chairs_work_list_holds_meetings_until_their_minutes_are_signed(cast):
    from board.worklist import worklist_for

    meeting, *_ = held_meeting(cast)
    upcoming = make_meeting(cast, make_case(cast))
    Meeting.objects.filter(pk=upcoming.pk).update(
        starts_at=timezone.now() + datetime.timedelta(days=1)
    )
    assert worklist_for(cast.chair).minutes_to_sign == [meeting]
    assert worklist_for(cast.pathologist).minutes_to_sign == []
    home = signed_in(cast.chair).get(reverse("home")).content.decode()
    assert f'data-meeting="{meeting.uuid}"' in home
    minutes = service.minutes_draft(access=chair(cast, meeting))
    assert worklist_for(cast.chair).minutes_to_sign == [meeting]  # a draft is not signed
    service.minutes_sign(access=chair(cast, meeting), minutes=minutes, password=PASSWORD)
    assert worklist_for(cast.chair).minutes_to_sign == []


def test_a_signed_row_refuses_a_save(cast):
    meeting, *_ = held_meeting(cast)
    minutes = service.minutes_draft(access=chair(cast, meeting))
    service.minutes_sign(access=chair(cast, meeting), minutes=minutes, password=PASSWORD)
    stale = MeetingMinutes.objects.get(pk=minutes.pk)
    stale.notes = "Rewritten afterwards."
    with pytest.raises(TypeError):
        stale.save()
