"""Meetings of a board: when and where, the agenda of cases, and who attended."""

from __future__ import annotations

import datetime
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from board.models import Board, validate_time_zone
from cases.models import Case

MIN_DURATION = 15
MAX_DURATION = 600


def validate_https(value: str) -> None:
    # Video links are opened by every member's browser: plain http or javascript: never.
    if value and urlsplit(value).scheme.lower() != "https":
        raise ValidationError(_("The video link must start with https://."))


class Meeting(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")
        HELD = "held", _("Held")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="meetings")
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("starts at"))
    # The zone the meeting is planned in; invites carry it so calendars keep the local time
    # across daylight-saving changes.
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=60)
    video_url = models.URLField(
        _("video-conference link"), max_length=500, blank=True, validators=[validate_https]
    )
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.SCHEDULED)
    # RFC 5545 §3.8.7.4: bumped on every change invitees must see (time, place, cancel).
    ical_sequence = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=MIN_DURATION)
                & Q(duration_minutes__lte=MAX_DURATION),
                name="meetings_meeting_duration_15_600",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "cancelled", "held"]),
                name="meetings_meeting_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(ical_sequence__gte=0), name="meetings_meeting_sequence_nonnegative"
            ),
        ]
        indexes = [
            # The home page and the board's list: a board's scheduled meetings by start.
            models.Index(fields=["board", "status", "starts_at"], name="meetings_upcoming_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def ends_at(self) -> datetime.datetime:
        # In UTC: an aware local time plus a timedelta is wall-clock arithmetic, an hour off
        # across a daylight-saving change (a meeting not yet read back from the database).
        return self.starts_at.astimezone(datetime.UTC) + datetime.timedelta(
            minutes=self.duration_minutes
        )

    @property
    def is_scheduled(self) -> bool:
        return self.status == self.Status.SCHEDULED


class AgendaItem(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda_items")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="agenda_items")
    # 1, 2, 3, ... Reordering passes through negative values (see services._renumber): SQLite
    # cannot defer a unique constraint, so a swap is done in two statements.
    position = models.SmallIntegerField(_("position"))
    time_box_minutes = models.PositiveSmallIntegerField(_("time box (minutes)"), default=10)
    presenter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("presenter"),
    )

    class Meta:
        ordering = ["meeting", "position"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "case"], name="meetings_agenda_case_once"),
            models.UniqueConstraint(
                fields=["meeting", "position"], name="meetings_agenda_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(time_box_minutes__gte=1) & Q(time_box_minutes__lte=240),
                name="meetings_agenda_time_box_1_240",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.case.pseudonym}"


# An open socket refreshes its attendance this often; a row not refreshed for PRESENCE_TIMEOUT
# belongs to a process that died without closing it, and no longer counts as present.
HEARTBEAT = datetime.timedelta(seconds=30)
PRESENCE_TIMEOUT = datetime.timedelta(seconds=90)


class AttendanceQuerySet(models.QuerySet):
    def present(self) -> AttendanceQuerySet:
        """Open joins whose socket is still alive (it refreshed ``seen_at`` lately)."""
        return self.filter(left_at__isnull=True, seen_at__gte=timezone.now() - PRESENCE_TIMEOUT)


class Attendance(models.Model):
    """One join of one user (a second browser tab is a second row)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendances")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attendances"
    )
    joined_at = models.DateTimeField(_("joined at"))
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    # The socket's last heartbeat (see HEARTBEAT).
    seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True)

    objects = AttendanceQuerySet.as_manager()

    class Meta:
        ordering = ["joined_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(left_at__isnull=True) | Q(left_at__gte=F("joined_at")),
                name="meetings_attendance_leaves_after_join",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.meeting}"


class LiveSession(models.Model):
    """A meeting's one live state, where every Daphne process can read it.

    The server is the authority: only the current presenter's viewer states for the
    current epoch are applied; a hand-off bumps the epoch; every change bumps ``seq``.
    """

    meeting = models.OneToOneField(Meeting, on_delete=models.CASCADE, related_name="live")
    current_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    presenter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    epoch = models.PositiveIntegerField(default=0)
    # When the current presenter was given the viewer: a presenter who never joined is given
    # the grace period from then before control returns to the chair (meetings.live).
    presenter_since = models.DateTimeField(null=True, blank=True)
    seq = models.PositiveBigIntegerField(default=0)
    viewer_state = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Live state of {self.meeting}"
