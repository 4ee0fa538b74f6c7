from __future__ import annotations

import datetime
import zoneinfo
from functools import cache

from django import forms
from django.utils.translation import gettext_lazy as _

from meetings.models import MAX_DURATION, MIN_DURATION, validate_https


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


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
        self.fields["case"].label_from_instance = lambda case: (
            f"{case.pseudonym} — {case.diagnosis_label or case.get_status_display()}"
        )
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
