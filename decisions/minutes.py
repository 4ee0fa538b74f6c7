"""The minutes of a meeting: drafted from its record, edited and signed by a manager.

After a meeting (marked held, or past its end), a manager of the board drafts its minutes:
the date, the attendees with their specialty and the times they joined and left
(meetings.Attendance), whether the attendance made the board's quorum, and per agenda item
the case pseudonym and its outcome, taken from the decisions (a consensus signed since the
meeting started: "consensus signed"; otherwise "deferred") and corrected by the chair where
the board asked for more information. The chair adds notes and the actions left open, each
with an owner, then signs with their password: the minutes are rendered as PDF/A with
decisions.render (same fetcher, same stylesheet as the reports), their SHA-256 recorded, and
never changed after. Every member of the board reads signed minutes; drafts are the
managers'.

Here and not in meetings/: the outcome of an item is a decision, and meetings sits below
decisions (DESIGN.md, layers). The rights are meetings.access's MeetingAccess.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from board.models import Membership, Specialty, User
from board.security import password_confirm
from cases.audit import audit
from decisions.models import Consensus, MeetingMinutes, MinutesItem
from decisions.render import STATIC_PREFIX, STYLESHEET, page_css, render_html_pdf, report_sha256
from meetings.access import MeetingAccess, managers_only
from meetings.models import Attendance, Meeting

Outcome = MinutesItem.Outcome


class MinutesConflict(Exception):
    """The minutes are signed (or the meeting is not over): HTTP 409, nothing written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WrongPassword(Exception):
    """The password given to sign is not the signer's."""


@dataclass(frozen=True)
class Attendee:
    name: str
    specialty: str
    joined_at: datetime.datetime
    left_at: datetime.datetime | None

    @property
    def specialty_label(self) -> str:
        return str(Specialty(self.specialty).label)


def is_over(meeting: Meeting, now: datetime.datetime | None = None) -> bool:
    """Minutes are for a meeting held, or past its end; never for a cancelled one."""
    if meeting.status == Meeting.Status.CANCELLED:
        return False
    return meeting.status == Meeting.Status.HELD or meeting.ends_at <= (now or timezone.now())


def attendees(meeting: Meeting) -> list[Attendee]:
    """One line per person who joined: their first join, their last leave (None: never left
    cleanly; their socket's last heartbeat stands in), in order of arrival."""
    specialties = dict(
        Membership.objects.filter(board_id=meeting.board_id).values_list("user_id", "specialty")
    )
    people: dict[int, dict[str, Any]] = {}
    for row in Attendance.objects.filter(meeting=meeting).select_related("user"):
        left = row.left_at or row.seen_at
        person = people.setdefault(
            row.user_id, {"user": row.user, "joined": row.joined_at, "left": left}
        )
        person["joined"] = min(person["joined"], row.joined_at)
        if left is not None and (person["left"] is None or left > person["left"]):
            person["left"] = left
    return sorted(
        (
            Attendee(
                name=p["user"].display_name,
                specialty=specialties.get(uid, p["user"].specialty or Specialty.OTHER),
                joined_at=p["joined"],
                left_at=p["left"],
            )
            for uid, p in people.items()
        ),
        key=lambda a: (a.joined_at, a.name),
    )


def quorum_shortfall(meeting: Meeting, present: Sequence[Attendee]) -> dict[str, int]:
    return meeting.board.quorum_shortfall([a.specialty for a in present])


def _outcome(meeting: Meeting, case_id: int) -> str:
    signed = Consensus.objects.filter(
        case_id=case_id, signed_at__isnull=False, signed_at__gte=meeting.starts_at
    ).exists()
    return Outcome.CONSENSUS_SIGNED if signed else Outcome.DEFERRED


@managers_only("minutes.draft")
def minutes_draft(*, access: MeetingAccess) -> MeetingMinutes:
    """The meeting's draft minutes, made from its agenda and decisions if there are none."""
    meeting = Meeting.objects.select_for_update().get(pk=access.meeting.pk)
    existing = MeetingMinutes.objects.filter(meeting=meeting).first()
    if existing is not None:
        return existing
    if not is_over(meeting):
        raise MinutesConflict(_("Minutes are drafted once the meeting is over."))
    minutes = MeetingMinutes.objects.create(meeting=meeting, drafted_by=access.user)
    MinutesItem.objects.bulk_create(
        MinutesItem(
            minutes=minutes,
            case_id=item.case_id,
            position=item.position,
            outcome=_outcome(meeting, item.case_id),
        )
        for item in meeting.agenda_items.all()
    )
    audit(actor=access.user, action="minutes.draft", target=minutes)
    return minutes


@managers_only("minutes.edit")
def minutes_update(
    *,
    access: MeetingAccess,
    minutes: MeetingMinutes,
    notes: str,
    items: Mapping[int, Mapping[str, Any]],
) -> MeetingMinutes:
    """Save the chair's edits of a draft: the notes, and per item (by its id) the outcome, a
    note, and an open action with its owner (a member of the board)."""
    minutes = MeetingMinutes.objects.select_for_update().get(
        pk=minutes.pk, meeting_id=access.meeting.pk
    )
    if minutes.is_signed:
        raise MinutesConflict(_("Signed minutes never change."))
    members = set(
        Membership.objects.filter(board_id=access.meeting.board_id).values_list(
            "user_id", flat=True
        )
    )
    minutes.notes = notes.strip()
    minutes.save(update_fields=["notes", "updated_at"])
    for item in minutes.items.all():
        values = items.get(item.pk)
        if values is None:
            continue
        outcome = values.get("outcome")
        if outcome not in Outcome.values:
            raise ValidationError(_("Choose an outcome for every case."))
        owner = values.get("action_owner")
        action = (values.get("action") or "").strip()
        if action and owner is None:
            raise ValidationError(_("An open action needs an owner."))
        if owner is not None and owner.pk not in members:
            raise ValidationError(_("An action's owner is a member of the board."))
        item.outcome = outcome
        item.note = (values.get("note") or "").strip()
        item.action = action
        item.action_owner = owner if action else None
        item.save()
    audit(actor=access.user, action="minutes.edit", target=minutes)
    return minutes


def minutes_html(minutes: MeetingMinutes, *, at: datetime.datetime, signer: User | None) -> str:
    meeting = minutes.meeting
    board = meeting.board
    present = attendees(meeting)
    shortfall = quorum_shortfall(meeting, present)
    running = _("Minutes of %(title)s") % {"title": meeting.title}
    return render_to_string(
        "decisions/minutes/minutes.html",
        {
            "board": board,
            "meeting": meeting,
            "minutes": minutes,
            "items": list(minutes.items.select_related("case", "action_owner")),
            "attendees": present,
            "shortfall": [(Specialty(s).label, n) for s, n in shortfall.items()],
            "quorum_required": board.quorum_requirements.exists(),
            "signer": signer,
            "signed_at": at,
            "zone": board.time_zone,
            "language": translation.get_language() or "en",
            "stylesheet_url": STATIC_PREFIX + STYLESHEET,
            "page_css": page_css(
                board=board.name, running=running, generated_at=at, zone=board.time_zone
            ),
        },
    )


def minutes_sign(
    *, access: MeetingAccess, minutes: MeetingMinutes, password: str
) -> MeetingMinutes:
    """The manager signs the draft after giving their password again (a wrong one signs
    nothing and is audited): the PDF/A is rendered, stored with its SHA-256, and final."""
    access.require(access.is_manager, "minutes.sign")
    if not password_confirm(user=access.user, password=password):
        audit(
            actor=access.user,
            action="minutes.sign",
            target=minutes,
            allowed=False,
            detail={"reason": "password"},
        )
        raise WrongPassword
    with transaction.atomic():
        minutes = (
            MeetingMinutes.objects.select_for_update()
            .select_related("meeting__board")
            .get(pk=minutes.pk, meeting_id=access.meeting.pk)
        )
        if minutes.is_signed:
            raise MinutesConflict(_("These minutes are signed already."))
        at = timezone.now()
        pdf = render_html_pdf(minutes_html(minutes, at=at, signer=access.user), at=at)
        minutes.file.save(f"{minutes.meeting.uuid.hex}-minutes.pdf", ContentFile(pdf), save=False)
        minutes.sha256 = report_sha256(pdf)
        minutes.size = len(pdf)
        minutes.signed_by = access.user
        minutes.signed_at = at
        minutes.save()
        audit(
            actor=access.user,
            action="minutes.sign",
            target=minutes,
            detail={"sha256": minutes.sha256},
        )
    return minutes
