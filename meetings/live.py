"""The live session's state: validated viewer states from the presenter, hand-offs, the agenda.

The viewer state is the browser viewer's `getState()` (static/js/viewer/viewer.js); the
server checks its shape and bounds and stores a clean copy, so a follower only ever applies
what this module produced.

A client holds the ``LiveSnapshot`` and folds every sequenced event into it
(``apply_event`` here is the reference; static/js/live/sync.js does the same). Each change
bumps ``LiveSession.seq`` in its own transaction, the agenda's and the meeting's included
(``live_bump``), so a client that sees a gap in seq knows it missed one and asks for a new
snapshot.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from board.models import Membership, User
from meetings.access import MeetingAccess, managers_only
from meetings.models import AgendaItem, Attendance, LiveSession, Meeting
from realtime.events import (
    AgendaItemAdded,
    AgendaItemRemoved,
    AgendaPresenterSet,
    AgendaReordered,
    AgendaTimeBoxSet,
    Event,
    LiveItem,
    LivePresence,
    LivePresenter,
    LiveSnapshot,
    LiveState,
    MeetingStatusChanged,
)
from realtime.groups import meeting_group

LAYOUTS = ("1x1", "1x2", "2x2")
VIEWPORTS = 4
MAX_SLICE = 100_000


def _number(value: Any, low: float, high: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{what} is not a number")
    if not low <= value <= high:
        raise ValidationError(f"{what} is out of range")
    return float(value)


def _view(raw: Any, index: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValidationError(f"viewport {index} is not an object")
    series = raw.get("series")
    if series is not None:
        try:
            series = str(uuid.UUID(str(series)))
        except ValueError:
            raise ValidationError(f"viewport {index}: series is not a UUID") from None
    slice_ = raw.get("slice", 0)
    if isinstance(slice_, bool) or not isinstance(slice_, int) or not 0 <= slice_ <= MAX_SLICE:
        raise ValidationError(f"viewport {index}: slice is out of range")
    preset = raw.get("preset")
    if preset is not None and (not isinstance(preset, str) or len(preset) > 32):
        raise ValidationError(f"viewport {index}: preset is not a short string")
    pan = raw.get("pan", [0, 0])
    if not isinstance(pan, list) or len(pan) != 2:
        raise ValidationError(f"viewport {index}: pan is not two numbers")
    rotation = raw.get("rotation", 0)
    if rotation not in (0, 90, 180, 270):
        raise ValidationError(f"viewport {index}: rotation is not 0, 90, 180 or 270")
    for flag in ("invert", "flipH", "flipV"):
        if not isinstance(raw.get(flag, False), bool):
            raise ValidationError(f"viewport {index}: {flag} is not true or false")
    return {
        "series": series,
        "slice": slice_,
        "center": _number(raw.get("center", 40), -1e6, 1e6, "center"),
        "width": _number(raw.get("width", 400), 1, 1e6, "width"),
        "preset": preset,
        "invert": raw.get("invert", False),
        "zoom": _number(raw.get("zoom", 1), 0.05, 50, "zoom"),
        "pan": [_number(p, -1e5, 1e5, "pan") for p in pan],
        "rotation": rotation,
        "flipH": raw.get("flipH", False),
        "flipV": raw.get("flipV", False),
    }


def clean_viewer_state(raw: Any) -> dict[str, Any]:
    """The viewer state in its one accepted shape, or ValidationError naming the problem."""
    if not isinstance(raw, dict):
        raise ValidationError("the state is not an object")
    layout = raw.get("layout")
    if layout not in LAYOUTS:
        raise ValidationError("layout is not 1x1, 1x2 or 2x2")
    active = raw.get("active", 0)
    if isinstance(active, bool) or not isinstance(active, int) or not 0 <= active < VIEWPORTS:
        raise ValidationError("active is not a viewport index")
    viewports = raw.get("viewports")
    if not isinstance(viewports, list) or len(viewports) != VIEWPORTS:
        raise ValidationError(f"viewports is not a list of {VIEWPORTS}")
    return {
        "layout": layout,
        "active": active,
        "viewports": [_view(v, i) for i, v in enumerate(viewports)],
    }


def live_session(meeting: Meeting) -> LiveSession:
    """The meeting's live state (created on first use), with what the snapshot names."""
    session, _ = LiveSession.objects.select_related(
        "meeting", "presenter", "current_item"
    ).get_or_create(meeting=meeting)
    return session


def meeting_groups_of_case(case) -> list[str]:
    """The groups of the scheduled meetings that have ``case`` on their agenda: they hear the
    case's events (registered with realtime.publish by MeetingsConfig.ready)."""
    meetings = AgendaItem.objects.filter(
        case_id=case.pk, meeting__status=Meeting.Status.SCHEDULED
    ).values_list("meeting__uuid", flat=True)
    return [meeting_group(uuid) for uuid in meetings]


def live_bump(meeting: Meeting) -> int:
    """Count one more change of the meeting's live state; the new seq.

    Call it inside the transaction of the change itself: the row stays locked until the
    commit, so seqs follow the order in which changes commit."""
    session, _ = LiveSession.objects.get_or_create(meeting=meeting)
    LiveSession.objects.filter(pk=session.pk).update(seq=F("seq") + 1, updated_at=timezone.now())
    return LiveSession.objects.values_list("seq", flat=True).get(pk=session.pk)


def present_users(meeting_id: int) -> list[str]:
    """Users with at least one open socket in the meeting (several tabs count once)."""
    users = (
        Attendance.objects.present()
        .filter(meeting_id=meeting_id)
        # No ordering: Meta.ordering's joined_at would join the DISTINCT and count each
        # tab (4 present for 2 people).
        .order_by()
        .values_list("user__uuid", flat=True)
        .distinct()
    )
    return sorted(str(u) for u in users)


def agenda_entry(item: AgendaItem) -> dict[str, Any]:
    """One agenda item as the snapshot and the agenda events carry it."""
    presenter = item.presenter.uuid if item.presenter_id else None
    return _entry(item.uuid, item.case.uuid, item.case.pseudonym, item.time_box_minutes, presenter)


def _entry(item, case, pseudonym, minutes, presenter) -> dict[str, Any]:
    return {
        "uuid": str(item),
        "case": str(case),
        "pseudonym": pseudonym,
        "time_box": minutes,
        "presenter": str(presenter) if presenter else None,
    }


def agenda(meeting_id: int) -> list[dict[str, Any]]:
    rows = (
        AgendaItem.objects.filter(meeting_id=meeting_id)
        .order_by("position")
        .values_list("uuid", "case__uuid", "case__pseudonym", "time_box_minutes", "presenter__uuid")
    )
    return [_entry(*row) for row in rows]


def snapshot(session: LiveSession) -> LiveSnapshot:
    """Everything a client needs to catch up, after connecting or seeing a gap in seq."""
    return LiveSnapshot(
        seq=session.seq,
        epoch=session.epoch,
        presenter=str(session.presenter.uuid) if session.presenter_id else None,
        item=str(session.current_item.uuid) if session.current_item_id else None,
        state=session.viewer_state,
        present=present_users(session.meeting_id),
        status=session.meeting.status,
        agenda=agenda(session.meeting_id),
    )


class SeqGap(ValueError):
    """A sequenced event that does not follow the snapshot: the client needs a new one."""


def apply_event(snapshot: LiveSnapshot, event: Event) -> LiveSnapshot:
    """The snapshot after ``event``: what every client does with what it hears.

    Pure (no database). A sequenced event must carry the snapshot's seq + 1, else SeqGap;
    events that do not touch the live state (opinions, votes, the pointer) change nothing."""
    seq = getattr(event, "seq", None)
    if seq is not None and seq != snapshot.seq + 1:
        raise SeqGap(f"{event.type} has seq {seq}, expected {snapshot.seq + 1}")
    change = dataclasses.replace
    items = snapshot.agenda
    match event:
        case LivePresence():
            return change(snapshot, present=list(event.present))
        case LiveState():
            return change(snapshot, seq=seq, epoch=event.epoch, state=event.state)
        case LivePresenter():
            return change(snapshot, seq=seq, epoch=event.epoch, presenter=event.presenter)
        case LiveItem():
            return change(
                snapshot,
                seq=seq,
                epoch=event.epoch,
                item=event.item,
                presenter=event.presenter,
                state=None,
            )
        case AgendaItemAdded():
            at = event.position - 1
            return change(snapshot, seq=seq, agenda=[*items[:at], event.item, *items[at:]])
        case AgendaItemRemoved():
            # The live state forgets a removed current item (on_delete=SET_NULL); the
            # presenter and the view stay until the chair moves on.
            return change(
                snapshot,
                seq=seq,
                agenda=[i for i in items if i["uuid"] != event.item],
                item=None if snapshot.item == event.item else snapshot.item,
            )
        case AgendaReordered():
            by_uuid = {i["uuid"]: i for i in items}
            return change(snapshot, seq=seq, agenda=[by_uuid[u] for u in event.order])
        case AgendaPresenterSet():
            return change(
                snapshot, seq=seq, agenda=_changed(items, event.item, presenter=event.presenter)
            )
        case AgendaTimeBoxSet():
            return change(
                snapshot, seq=seq, agenda=_changed(items, event.item, time_box=event.minutes)
            )
        case MeetingStatusChanged():
            return change(snapshot, seq=seq, status=event.status)
    if seq is not None:
        raise TypeError(f"apply_event does not know {event.type}")
    return snapshot


def _changed(items: list[dict], item: str, **fields) -> list[dict]:
    return [{**i, **fields} if i["uuid"] == item else i for i in items]


def clean_pointer(raw: Any) -> dict[str, Any] | None:
    """The laser pointer: a viewport and a point in its image pixels, or None (hidden)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValidationError("the pointer is not an object")
    viewport = raw.get("viewport")
    if isinstance(viewport, bool) or not isinstance(viewport, int) or not 0 <= viewport < 4:
        raise ValidationError("pointer: viewport is not an index")
    return {
        "viewport": viewport,
        "x": _number(raw.get("x"), -1e5, 1e5, "pointer x"),
        "y": _number(raw.get("y"), -1e5, 1e5, "pointer y"),
    }


def is_presenter(*, meeting: Meeting, user: User, epoch: int) -> bool:
    return LiveSession.objects.filter(meeting=meeting, presenter=user, epoch=epoch).exists()


@transaction.atomic
def live_apply_state(*, access: MeetingAccess, epoch: int, state: Any) -> LiveSession | None:
    """Store the presenter's state; None (ignored) from anyone else or for a stale epoch.

    This runs up to 30 times a second, so it is one UPDATE that checks presenter and epoch
    in its WHERE clause (atomic against a hand-off) and one read of the new seq.
    """
    cleaned = clean_viewer_state(state)
    if connection.vendor == "postgresql":
        # A viewer state lost in a crash costs nothing (the next one replaces it): do not
        # wait for the WAL flush on every one.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    meeting = access.meeting
    updated = LiveSession.objects.filter(
        meeting=meeting, presenter_id=access.membership.user_id, epoch=epoch
    ).update(viewer_state=cleaned, seq=F("seq") + 1, updated_at=timezone.now())
    if not updated:
        return None
    session = LiveSession.objects.only("seq", "epoch").get(meeting=meeting)
    session.viewer_state = cleaned
    return session


@managers_only("live.presenter")
def live_assign_presenter(*, access: MeetingAccess, presenter: User | None) -> LiveSession:
    """The chair hands the viewer to someone (or takes it back): a new epoch begins."""
    meeting = access.meeting
    if (
        presenter is not None
        and not Membership.objects.filter(user=presenter, board_id=meeting.board_id).exists()
    ):
        raise ValidationError("the presenter must be a member of the board")
    session = LiveSession.objects.select_for_update().get(pk=live_session(meeting).pk)
    session.presenter = presenter
    session.presenter_since = timezone.now()
    session.epoch += 1
    session.seq += 1
    session.save(update_fields=["presenter", "presenter_since", "epoch", "seq", "updated_at"])
    return session


# --- the presenter who left -------------------------------------------------------------
# A presenter whose last socket has been gone for MEETING_PRESENTER_GRACE_SECONDS hands the
# viewer back to the chair, and everyone hears it as any hand-off (LivePresenter). Gone is
# read from the attendance every process writes (closed joins, and joins whose heartbeat
# stopped: a process that died), never from one process's memory. Any process may ask:
# the socket that closes the presenter's last join asks once the grace has run, and every
# open socket of the meeting asks at each heartbeat and on connect, so that a presenter
# whose process died, or who left while their process went down, is caught by whichever
# process still serves the meeting. The session row lock makes the hand-back happen once.


def _board_chair_id(meeting: Meeting) -> int | None:
    return (
        Membership.objects.filter(board_id=meeting.board_id, role=Membership.Role.CHAIR)
        .order_by("pk")
        .values_list("user_id", flat=True)
        .first()
    )


def _presenter_due(session: LiveSession, chair_id: int | None, now) -> bool:
    """Whether the session's presenter, not the chair, has been away for the grace period."""
    if session.presenter_id is None or session.presenter_id == chair_id:
        return False
    rows = Attendance.objects.filter(meeting_id=session.meeting_id, user_id=session.presenter_id)
    if rows.present().exists():
        return False
    # Gone since their last join closed or last heartbeat; one who never came, since they
    # were given the viewer.
    moments = [session.presenter_since]
    for left_at, seen_at, joined_at in rows.values_list("left_at", "seen_at", "joined_at"):
        moments.append(left_at or seen_at or joined_at)
    moments = [m for m in moments if m is not None] or [session.updated_at]
    grace = datetime.timedelta(seconds=settings.MEETING_PRESENTER_GRACE_SECONDS)
    return now - max(moments) >= grace


def live_return_control(*, meeting: Meeting, now=None) -> LiveSession | None:
    """Give the viewer back to the board's chair (nobody, on a board without one) when the
    presenter's last socket has been gone for the grace period; the session changed, or None.

    Cheap when nothing is due (it runs at every heartbeat): the row is locked only for a
    hand-back, and everything is checked again under the lock."""
    now = now or timezone.now()
    session = LiveSession.objects.filter(meeting=meeting).first()
    chair_id = _board_chair_id(meeting)
    if session is None or not _presenter_due(session, chair_id, now):
        return None
    with transaction.atomic():
        session = LiveSession.objects.select_for_update().get(pk=session.pk)
        if not _presenter_due(session, chair_id, now):
            return None  # handed back or handed on meanwhile, or the presenter is back
        session.presenter_id = chair_id
        session.presenter_since = now
        session.epoch += 1
        session.seq += 1
        session.save(update_fields=["presenter", "presenter_since", "epoch", "seq", "updated_at"])
    return session


@managers_only("live.goto")
def live_goto(*, access: MeetingAccess, item: AgendaItem) -> LiveSession:
    """The chair moves the meeting to an agenda item; the viewer state starts afresh."""
    meeting = access.meeting
    if item.meeting_id != meeting.pk:
        raise ValidationError("the item is not on this meeting's agenda")
    session = LiveSession.objects.select_for_update().get(pk=live_session(meeting).pk)
    session.current_item = item
    session.presenter = item.presenter
    session.presenter_since = timezone.now()
    session.viewer_state = None
    session.epoch += 1
    session.seq += 1
    session.save(
        update_fields=[
            "current_item",
            "presenter",
            "presenter_since",
            "viewer_state",
            "epoch",
            "seq",
            "updated_at",
        ]
    )
    return session
