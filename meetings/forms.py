from __future__ import annotations

import datetime
import zoneinfo

from django import forms
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from board.dates import format_when
from board.models import Board
from board.zones import zone_choices, zone_label
from meetings.models import MAX_DURATION, MIN_DURATION, Meeting, validate_https


def time_zone_choices() -> list[tuple[str, str]]:
    """Every zone a person may pick, without the tz database's compatibility aliases."""
    return zone_choices()


def usual_zones(board: Board) -> list[str]:
    """The zones this board meets in, most used first (its own meetings, cancelled ones too:
    they were planned in a zone the board uses)."""
    rows = (
        Meeting.objects.filter(board=board)
        .values("time_zone")
        .annotate(n=Count("pk"), last=Max("starts_at"))
        .order_by("-n", "-last")
    )
    return [row["time_zone"] for row in rows[:5]]


def default_zone(board: Board, user) -> str:
    """The zone of whoever schedules (the chair, as the issue asks) when they have set one;
    else the board's own zone (board settings); when both are still the default (UTC), the
    zone the board usually meets in, so that a board meeting in Paris is not offered at UTC."""
    if user.time_zone and user.time_zone != "UTC":
        return user.time_zone
    if board.time_zone and board.time_zone != "UTC":
        return board.time_zone
    usual = usual_zones(board)
    return usual[0] if usual else "UTC"


class MeetingForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    date = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    time = forms.TimeField(
        label=_("Start time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        help_text=_("The zone the date and time are in; each member sees them in their own."),
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=MIN_DURATION, max_value=MAX_DURATION, initial=60
    )
    video_url = forms.URLField(
        label=_("Video-conference link"),
        required=False,
        max_length=500,
        assume_scheme="https",
        validators=[validate_https],
        help_text=_("An https:// link to the video call."),
    )

    def __init__(self, *args, board: Board, user, meeting: Meeting | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.meeting = meeting
        usual = usual_zones(board)
        mine = default_zone(board, user)
        self.fields["time_zone"].choices = zone_choices(
            first=[mine, *[z for z in (board.time_zone,) if z and z != "UTC"], *usual],
            current=meeting.time_zone if meeting else "",
            first_label=_("Usual for this board"),
            rest_label=_("All zones"),
        )
        if meeting is None and not self.is_bound:
            self.initial.setdefault("time_zone", mine)

    def clean(self):
        data = super().clean()
        if not all(data.get(name) for name in ("date", "time", "time_zone")):
            return data
        zone = zoneinfo.ZoneInfo(data["time_zone"])
        naive = datetime.datetime.combine(data["date"], data["time"])
        local = naive.replace(tzinfo=zone)
        # A wall-clock time skipped by a daylight-saving change does not exist: zoneinfo
        # would silently shift it, so say so instead.
        if local.astimezone(datetime.UTC).astimezone(zone).replace(tzinfo=None) != naive:
            self.add_error("time", _("This time does not exist in that zone (clock change)."))
            return data
        data["starts_at"] = local.astimezone(datetime.UTC)
        # A meeting is planned ahead: a start already past is a typo (a wrong month, AM for
        # PM). Editing a meeting that has begun may keep its start as it is.
        unchanged = self.meeting is not None and data["starts_at"] == self.meeting.starts_at
        if data["starts_at"] <= timezone.now() and not unchanged:
            self.add_error(
                "date",
                _(
                    "This start (%(when)s, %(zone)s) is already past; "
                    "choose a date and time still to come."
                )
                % {
                    "when": format_when(data["starts_at"], data["time_zone"]),
                    "zone": zone_label(data["time_zone"]),
                },
            )
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "starts_at": data["starts_at"],
            "time_zone": data["time_zone"],
            "duration_minutes": data["duration_minutes"],
            "video_url": data["video_url"],
        }

    @classmethod
    def initial_for(cls, meeting) -> dict:
        local = meeting.starts_at.astimezone(zoneinfo.ZoneInfo(meeting.time_zone))
        return {
            "title": meeting.title,
            "date": local.date(),
            "time": local.time().replace(second=0, microsecond=0),
            "time_zone": meeting.time_zone,
            "duration_minutes": meeting.duration_minutes,
            "video_url": meeting.video_url,
        }


def _case_label(case) -> str:
    label = f"{case.pseudonym} — {case.diagnosis_label or case.get_status_display()}"
    # A request to the submitter is open (issue #16): shown, and the chair may still pick it.
    if getattr(case, "awaiting_information", False):
        label += f" — {_('awaiting information')}"
    return label


class AgendaAddForm(forms.Form):
    case = forms.ModelChoiceField(
        label=_("Case"), queryset=None, to_field_name="uuid", empty_label=None
    )
    time_box_minutes = forms.IntegerField(
        label=_("Time box (minutes)"), min_value=1, max_value=240, initial=10
    )
    presenter = forms.ModelChoiceField(
        label=_("Presenter"),
        queryset=None,
        to_field_name="uuid",
        required=False,
        empty_label=_("— nobody yet —"),
    )

    def __init__(self, *args, cases, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = cases
        self.fields["case"].label_from_instance = _case_label
        self.fields["presenter"].queryset = members
        self.fields["presenter"].label_from_instance = lambda user: user.display_name


class PresenterForm(forms.Form):
    presenter = forms.ModelChoiceField(queryset=None, to_field_name="uuid", required=False)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["presenter"].queryset = members


class TimeBoxForm(forms.Form):
    time_box_minutes = forms.IntegerField(label=_("Time box (minutes)"), min_value=1, max_value=240)


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])
