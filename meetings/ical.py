"""iCalendar invites (RFC 5545 objects, RFC 5546 iTIP methods) for meetings.

One VEVENT per meeting with a stable UID, so a REQUEST with a higher SEQUENCE updates the
event in the invitee's calendar and a CANCEL removes it. Times are written in the meeting's
own zone with its VTIMEZONE, so the event keeps its local time across daylight-saving changes.
The description names cases by pseudonym only: invites leave the system by email.
"""

from __future__ import annotations

import zoneinfo
from email.utils import parseaddr

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from board.models import Membership
from meetings.models import Meeting
from meetings.vtimezone import vtimezone

REQUEST = "REQUEST"
CANCEL = "CANCEL"
PRODID = "-//Consilium//Tumor board meetings//EN"


def meeting_uid(meeting: Meeting) -> str:
    return f"{meeting.uuid}@consilium"


def meeting_url(meeting: Meeting) -> str:
    path = reverse("meeting-detail", kwargs={"meeting_id": meeting.uuid})
    return settings.BASE_URL.rstrip("/") + path


def _address(email: str, name: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name)
    for key, value in params.items():
        address.params[key] = vText(value)
    return address


def _description(meeting: Meeting) -> str:
    lines = [meeting.board.name, ""]
    items = meeting.agenda_items.select_related("case").order_by("position")
    lines += [
        f"{item.position}. {item.case.pseudonym} ({item.time_box_minutes} min)" for item in items
    ]
    lines += ["", meeting_url(meeting)]
    return "\n".join(lines).strip()


def meeting_ics(meeting: Meeting, method: str) -> bytes:
    if method not in (REQUEST, CANCEL):
        raise ValueError(f"unsupported iTIP method {method!r}")
    zone = zoneinfo.ZoneInfo(meeting.time_zone)

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    # Our own VTIMEZONE, RRULE-based (meetings/vtimezone.py), before the event that uses it.
    cal.add_component(vtimezone(meeting.time_zone, meeting.starts_at.astimezone(zone).year))

    event = Event()
    event.add("uid", meeting_uid(meeting))
    event.add("sequence", meeting.ical_sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", meeting.starts_at.astimezone(zone))
    event.add("dtend", meeting.ends_at.astimezone(zone))
    event.add("summary", meeting.title)
    event.add("description", _description(meeting))
    event.add("url", meeting.video_url or meeting_url(meeting))
    if meeting.video_url:
        event.add("location", meeting.video_url)
    organizer_name, organizer_email = parseaddr(settings.DEFAULT_FROM_EMAIL)
    event.add("organizer", _address(organizer_email, organizer_name or meeting.board.name))
    # RFC 5546 §3.2.2: a REQUEST lists every attendee; the calendar asks each to reply.
    members = (
        Membership.objects.filter(board_id=meeting.board_id, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("user__email")
    )
    for membership in members:
        role = "CHAIR" if membership.role == Membership.Role.CHAIR else "REQ-PARTICIPANT"
        event.add(
            "attendee",
            _address(
                membership.user.email,
                membership.user.display_name,
                CUTYPE="INDIVIDUAL",
                ROLE=role,
                PARTSTAT="NEEDS-ACTION",
                RSVP="TRUE" if method == REQUEST else "FALSE",
            ),
        )
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()
