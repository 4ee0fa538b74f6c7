"""Writes to meetings: keyword-only, typed, atomic; invites go out by email after commit.

Only the board's managers (chair, coordinators) schedule meetings and build agendas: each
service is handed the access object of who acts (board.access.BoardAccess or
meetings.access.MeetingAccess) and asks it first (``meetings.access.managers_only``). Putting a case
on an agenda moves it to "scheduled" (and back to "in review" when it comes off) through
``cases.services.case_transition``, so the case's own rules, audit and events apply.

Every change to an agenda, and a cancellation, is part of the meeting's live state: it bumps
the live seq in its own transaction and is published to the meeting's group after commit
(``_publish``), so an open live page shows it without a reload.
"""

from __future__ import annotations

import datetime
import email.message
import logging
from collections.abc import Sequence
from uuid import UUID

import django
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from board.access import BoardAccess
from board.dates import format_when
from board.models import Membership, User
from cases.access import case_access
from cases.audit import audit
from cases.models import Case
from cases.services import case_transition
from meetings import ical
from meetings.access import MeetingAccess, managers_only
from meetings.live import agenda_entry, live_bump
from meetings.models import AgendaItem, Attendance, Meeting
from realtime.events import (
    AgendaItemAdded,
    AgendaItemRemoved,
    AgendaPresenterSet,
    AgendaReordered,
    AgendaTimeBoxSet,
    MeetingStatusChanged,
)
from realtime.groups import meeting_group
from realtime.publish import publish_on_commit

logger = logging.getLogger(__name__)

S = Case.Status


def _require_scheduled(meeting: Meeting) -> None:
    if not meeting.is_scheduled:
        raise ValidationError(
            _("The meeting is %(status)s; its agenda can no longer change.")
            % {"status": meeting.get_status_display().lower()}
        )


def _publish(meeting: Meeting, make_event) -> None:
    """Bump the meeting's live seq now, publish ``make_event(seq)`` after commit."""
    publish_on_commit(meeting_group(meeting.uuid), make_event(live_bump(meeting)))


def _locked(meeting: Meeting) -> Meeting:
    # Agenda writes serialise on the meeting row: two chairs adding at once must not both
    # take the same next position.
    return Meeting.objects.select_for_update().select_related("board").get(pk=meeting.pk)


# --- invites --------------------------------------------------------------------------


def _ics_part(ics: bytes, method: str):
    """The .ics as a ``text/calendar; method=...`` part (RFC 6047 §2.4)."""
    if django.VERSION >= (6, 0):
        part = email.message.MIMEPart()
        part.set_content(
            ics.decode(),
            subtype="calendar",
            params={"method": method},
            disposition="attachment",
            filename="invite.ics",
        )
        return part
    from email.mime.text import MIMEText  # Django 5.2 takes only legacy MIME objects

    part = MIMEText(ics.decode(), "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header("Content-Disposition", "attachment", filename="invite.ics")
    return part


def send_invites(meeting: Meeting, method: str) -> int:
    """Email the invite to every active board member with an address; never raises."""
    members = User.objects.filter(memberships__board_id=meeting.board_id, is_active=True)
    # One address, one zone: the recipient's own (an address shared by two accounts, which
    # the account rules forbid, would get the first account's).
    zones: dict[str, str] = {}
    for member in sorted(members, key=lambda u: u.pk):
        if member.email:
            zones.setdefault(member.email, member.time_zone)
    addresses = sorted(zones)
    if not addresses:
        return 0
    meeting = Meeting.objects.select_related("board").get(pk=meeting.pk)
    if method == ical.CANCEL:
        subject = _("Cancelled: %(title)s") % {"title": meeting.title}
        intro = _("This meeting of %(board)s is cancelled.") % {"board": meeting.board.name}
    else:
        subject = _("Invitation: %(title)s") % {"title": meeting.title}
        intro = _("You are invited to a meeting of %(board)s.") % {"board": meeting.board.name}

    def body(zone: str) -> str:
        # The start in the recipient's zone, and in the meeting's when that differs: the
        # calendar file carries the meeting's zone, the text says what it means to this reader.
        when = format_when(meeting.starts_at, zone)
        at_meeting = format_when(meeting.starts_at, meeting.time_zone)
        if at_meeting != when:
            when = f"{when} ({at_meeting})"
        return _("%(intro)s\n\n%(title)s\n%(when)s, %(minutes)s minutes\n%(video)s\n%(url)s\n") % {
            "intro": intro,
            "title": meeting.title,
            "when": when,
            "minutes": meeting.duration_minutes,
            "video": meeting.video_url,
            "url": ical.meeting_url(meeting),
        }

    ics = ical.meeting_ics(meeting, method)
    try:
        # One message per recipient: nobody sees the others' addresses in the headers, and
        # each reads the time in their own zone.
        for address in addresses:
            message = EmailMessage(
                f"[Consilium] {subject}",
                body(zones[address]),
                settings.DEFAULT_FROM_EMAIL,
                [address],
            )
            message.attach(_ics_part(ics, method))
            message.send()
    except Exception:
        logger.exception("could not send the invite for meeting %s", meeting.uuid)
        return 0
    return len(addresses)


def _invite_on_commit(meeting: Meeting, method: str) -> None:
    transaction.on_commit(lambda: send_invites(meeting, method), robust=True)


# --- meetings -------------------------------------------------------------------------


@managers_only("meeting.schedule")
def meeting_schedule(
    *,
    access: BoardAccess,
    title: str,
    starts_at: datetime.datetime,
    time_zone: str,
    duration_minutes: int,
    video_url: str = "",
) -> Meeting:
    if access.board.is_expert_service:
        raise ValidationError(_("An expert service does not meet: one expert answers each case."))
    meeting = Meeting(
        board=access.board,
        title=title,
        starts_at=starts_at,
        time_zone=time_zone,
        duration_minutes=duration_minutes,
        video_url=video_url,
        created_by=access.user,
    )
    meeting.full_clean()
    meeting.save()
    audit(actor=access.user, action="meeting.schedule", target=meeting)
    _invite_on_commit(meeting, ical.REQUEST)
    return meeting


@managers_only("meeting.update")
def meeting_update(
    *,
    access: MeetingAccess,
    title: str,
    starts_at: datetime.datetime,
    time_zone: str,
    duration_minutes: int,
    video_url: str = "",
) -> Meeting:
    """Change what invitees see; a real change bumps SEQUENCE and re-sends the REQUEST."""
    meeting = _locked(access.meeting)
    _require_scheduled(meeting)
    new = {
        "title": title,
        "starts_at": starts_at,
        "time_zone": time_zone,
        "duration_minutes": duration_minutes,
        "video_url": video_url,
    }
    changed = [name for name, value in new.items() if getattr(meeting, name) != value]
    if not changed:
        return meeting
    for name, value in new.items():
        setattr(meeting, name, value)
    meeting.ical_sequence += 1
    meeting.full_clean()
    meeting.save()
    audit(actor=access.user, action="meeting.update", target=meeting, detail={"changed": changed})
    _invite_on_commit(meeting, ical.REQUEST)
    return meeting


@managers_only("meeting.cancel")
def meeting_cancel(*, access: MeetingAccess) -> Meeting:
    meeting = _locked(access.meeting)
    _require_scheduled(meeting)
    meeting.status = Meeting.Status.CANCELLED
    meeting.ical_sequence += 1
    meeting.save(update_fields=["status", "ical_sequence"])
    for item in meeting.agenda_items.select_related("case__submitted_by"):
        if item.case.status == S.SCHEDULED:
            case_transition(
                access=case_access(access.user, item.case),
                to=S.IN_REVIEW,
                by_agenda=True,
                note=_("The meeting “%(title)s” of %(when)s is cancelled.")
                % _meeting_words(meeting, item.case.submitted_by),
            )
    audit(actor=access.user, action="meeting.cancel", target=meeting)
    _publish(meeting, lambda seq: MeetingStatusChanged(seq=seq, status=meeting.status))
    _invite_on_commit(meeting, ical.CANCEL)
    return meeting


# --- the agenda -----------------------------------------------------------------------


def _meeting_words(meeting: Meeting, reader: User | None) -> dict[str, str]:
    """The meeting as the submitter's email names it: its title and start in the reader's
    zone (the meeting's if there is no reader), zone named."""
    zone = reader.time_zone if reader is not None else meeting.time_zone
    return {"title": meeting.title, "when": format_when(meeting.starts_at, zone)}


def _require_presenter(meeting: Meeting, presenter: User | None) -> None:
    if presenter is None:
        return
    if not Membership.objects.filter(board_id=meeting.board_id, user=presenter).exists():
        raise ValidationError(_("The presenter must be a member of the board."))


def _why_not_schedulable(meeting: Meeting, case: Case) -> list[str]:
    if case.board_id != meeting.board_id:
        return [_("the case belongs to another board")]
    reasons = []
    if case.board.is_expert_service:
        return [_("an expert service's cases are answered by one expert, not in a meeting")]
    if any(review.blocks_agenda for review in case.expert_reviews.all()):
        reasons.append(_("the case awaits an expert review"))
    if case.status != S.IN_REVIEW:
        reasons.append(
            _("the case is %(status)s, not in review")
            % {"status": case.get_status_display().lower()}
        )
    if case.ready_at is None:
        reasons.append(_("the case is not marked ready for the board"))
    if meeting.agenda_items.filter(case=case).exists():
        reasons.append(_("the case is already on this agenda"))
    return reasons


@managers_only("meeting.agenda_add")
def agenda_add(
    *,
    access: MeetingAccess,
    case: Case,
    time_box_minutes: int = 10,
    presenter: User | None = None,
) -> AgendaItem:
    meeting = _locked(access.meeting)
    _require_scheduled(meeting)
    case = Case.objects.select_for_update().get(pk=case.pk)
    reasons = _why_not_schedulable(meeting, case)
    if reasons:
        raise ValidationError(
            _("Case %(pseudonym)s cannot be scheduled: %(reasons)s.")
            % {"pseudonym": case.pseudonym, "reasons": "; ".join(reasons)}
        )
    _require_presenter(meeting, presenter)
    last = meeting.agenda_items.aggregate(last=Max("position"))["last"] or 0
    item = AgendaItem(
        meeting=meeting,
        case=case,
        position=last + 1,
        time_box_minutes=time_box_minutes,
        presenter=presenter,
    )
    item.full_clean(exclude=["meeting", "case"])
    item.save()
    case_transition(
        access=case_access(access.user, case),
        to=S.SCHEDULED,
        by_agenda=True,
        note=_("It is on the agenda of the meeting “%(title)s” of %(when)s.")
        % _meeting_words(meeting, case.submitted_by),
    )
    audit(
        actor=access.user,
        action="meeting.agenda_add",
        case=case,
        target=meeting,
        detail={"position": item.position},
    )
    _publish(
        meeting,
        lambda seq: AgendaItemAdded(seq=seq, item=agenda_entry(item), position=item.position),
    )
    return item


@managers_only("meeting.agenda_remove")
def agenda_remove(*, access: MeetingAccess, item: AgendaItem) -> None:
    meeting = _locked(access.meeting)
    _require_scheduled(meeting)
    item = AgendaItem.objects.select_related("case").get(pk=item.pk, meeting=meeting)
    case = item.case
    item.delete()
    if case.status == S.SCHEDULED:
        case_transition(
            access=case_access(access.user, case),
            to=S.IN_REVIEW,
            by_agenda=True,
            note=_("It was taken off the agenda of the meeting “%(title)s” of %(when)s.")
            % _meeting_words(meeting, case.submitted_by),
        )
    _renumber(meeting, list(meeting.agenda_items.values_list("pk", flat=True)))
    audit(actor=access.user, action="meeting.agenda_remove", case=case, target=meeting)
    _publish(meeting, lambda seq: AgendaItemRemoved(seq=seq, item=str(item.uuid)))


def _renumber(meeting: Meeting, pks: Sequence[int]) -> None:
    # Two passes: first out of the way (negative), then into place. A swap in one pass would
    # collide on meetings_agenda_position_unique, which SQLite cannot defer.
    for index, pk in enumerate(pks, start=1):
        AgendaItem.objects.filter(pk=pk, meeting=meeting).update(position=-index)
    for index, pk in enumerate(pks, start=1):
        AgendaItem.objects.filter(pk=pk, meeting=meeting).update(position=index)


@managers_only("meeting.agenda_reorder")
def agenda_reorder(*, access: MeetingAccess, order: Sequence[UUID | int]) -> None:
    """Put the items in ``order`` (their UUIDs or primary keys, every item exactly once)."""
    meeting = _locked(access.meeting)
    _require_scheduled(meeting)
    items = list(meeting.agenda_items.all())
    key = {}
    for item in items:
        key[item.pk] = item.pk
        key[item.uuid] = item.pk
        key[str(item.uuid)] = item.pk
    pks = [key.get(ref) for ref in order]
    if None in pks or len(set(pks)) != len(items) or len(pks) != len(items):
        raise ValidationError(_("The new order must list every agenda item exactly once."))
    if pks == [item.pk for item in sorted(items, key=lambda i: i.position)]:
        return  # the same order: nothing changed, nothing to tell
    _renumber(meeting, pks)
    audit(actor=access.user, action="meeting.agenda_reorder", target=meeting)
    uuids = {item.pk: str(item.uuid) for item in items}
    _publish(meeting, lambda seq: AgendaReordered(seq=seq, order=[uuids[pk] for pk in pks]))


@managers_only("meeting.agenda_reorder")
def agenda_move(*, access: MeetingAccess, item: AgendaItem, offset: int) -> None:
    """Move one item up (offset -1) or down (+1); at either end it stays put."""
    meeting = access.meeting
    uuids = list(meeting.agenda_items.order_by("position").values_list("uuid", flat=True))
    index = uuids.index(item.uuid)
    target = index + offset
    if not 0 <= target < len(uuids):
        return
    uuids[index], uuids[target] = uuids[target], uuids[index]
    # Checked already: the reorder itself, inside this transaction.
    agenda_reorder.__wrapped__(access=access, order=uuids)


@managers_only("meeting.agenda_presenter")
def agenda_set_presenter(
    *, access: MeetingAccess, item: AgendaItem, presenter: User | None
) -> AgendaItem:
    meeting = _locked(access.meeting)
    _require_scheduled(meeting)
    item = AgendaItem.objects.select_related("case").get(pk=item.pk, meeting=meeting)
    _require_presenter(meeting, presenter)
    item.presenter = presenter
    item.save(update_fields=["presenter"])
    audit(
        actor=access.user,
        action="meeting.agenda_presenter",
        case=item.case,
        target=meeting,
        detail={"presenter": str(presenter.uuid) if presenter else None},
    )
    _publish(
        meeting,
        lambda seq: AgendaPresenterSet(
            seq=seq, item=str(item.uuid), presenter=str(presenter.uuid) if presenter else None
        ),
    )
    return item


@managers_only("meeting.agenda_time_box")
def agenda_set_time_box(*, access: MeetingAccess, item: AgendaItem, minutes: int) -> AgendaItem:
    """Set the minutes an item is given (1 to 240)."""
    meeting = _locked(access.meeting)
    _require_scheduled(meeting)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 240:
        raise ValidationError(_("The time box must be between 1 and 240 minutes."))
    item = AgendaItem.objects.select_related("case").get(pk=item.pk, meeting=meeting)
    if item.time_box_minutes == minutes:
        return item
    item.time_box_minutes = minutes
    item.save(update_fields=["time_box_minutes"])
    audit(
        actor=access.user,
        action="meeting.agenda_time_box",
        case=item.case,
        target=meeting,
        detail={"minutes": minutes},
    )
    _publish(meeting, lambda seq: AgendaTimeBoxSet(seq=seq, item=str(item.uuid), minutes=minutes))
    return item


# --- attendance -----------------------------------------------------------------------


def attendance_join(*, access: MeetingAccess) -> Attendance:
    """One row per join: a second tab is a second row, closed by its own leave."""
    now = timezone.now()
    return Attendance.objects.create(
        meeting=access.meeting, user=access.user, joined_at=now, seen_at=now
    )


def attendance_seen(*, attendance: Attendance) -> bool:
    """The socket's heartbeat; False once the join is closed (nothing to keep alive)."""
    return bool(
        Attendance.objects.filter(pk=attendance.pk, left_at__isnull=True).update(
            seen_at=timezone.now()
        )
    )


@transaction.atomic
def attendance_leave(*, attendance: Attendance) -> Attendance:
    """Close one join; leaving twice (a socket closing after a timeout) changes nothing."""
    updated = Attendance.objects.filter(pk=attendance.pk, left_at__isnull=True).update(
        left_at=timezone.now()
    )
    if updated:
        attendance.refresh_from_db(fields=["left_at"])
    return attendance
