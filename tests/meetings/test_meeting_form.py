"""The meeting form: no start in the past, the board's own zone by default (else the chair's,
else the one it usually meets in), the board's usual zones first, and one name per place (no
tz compatibility aliases)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from board.zones import selectable_zones
from meetings.models import Meeting
from tests.helpers import signed_in
from tests.meetings.factories import make_meeting

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    data = {
        "title": "Sarcoma board",
        "date": "2031-05-02",
        "time": "17:00",
        "time_zone": "Europe/Paris",
        "duration_minutes": "60",
        "video_url": "",
    }
    data.update(overrides)
    return data


def new_url(cast):
    return reverse("meeting-new", kwargs={"board_id": cast.board.uuid})


def options(html: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)"', html)


def selected(html: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)" selected>', html)


def test_a_start_in_the_past_is_refused_in_words(cast):
    yesterday = timezone.now() - datetime.timedelta(days=1)
    data = form_data(date=yesterday.date().isoformat(), time="10:00", time_zone="UTC")
    response = signed_in(cast.chair).post(new_url(cast), data)
    assert response.status_code == 400
    assert "is already past" in response.content.decode()
    assert not Meeting.objects.exists()


def test_a_start_still_to_come_is_accepted(cast):
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    data = form_data(date=tomorrow.date().isoformat(), time="10:00", time_zone="UTC")
    assert signed_in(cast.chair).post(new_url(cast), data).status_code == 302


def test_editing_a_past_meeting_may_keep_its_start_but_not_move_it_into_the_past(cast):
    past = timezone.now().replace(microsecond=0, second=0) - datetime.timedelta(days=3)
    meeting = make_meeting(cast, starts_at=past, time_zone="UTC")
    url = reverse("meeting-edit", kwargs={"meeting_id": meeting.uuid})
    same = form_data(date=past.date().isoformat(), time=past.strftime("%H:%M"), time_zone="UTC")
    same["title"] = "Renamed"
    assert signed_in(cast.chair).post(url, same).status_code == 302
    meeting.refresh_from_db()
    assert meeting.title == "Renamed"
    earlier = past - datetime.timedelta(days=1)
    moved = same | {"date": earlier.date().isoformat()}
    response = signed_in(cast.chair).post(url, moved)
    assert response.status_code == 400
    assert "is already past" in response.content.decode()


def test_zone_list_has_one_name_per_place_and_no_aliases(cast):
    html = signed_in(cast.chair).get(new_url(cast)).content.decode()
    offered = set(options(html))
    for alias in ("US/Eastern", "GB", "Singapore", "Etc/GMT+5", "Asia/Calcutta", "Zulu"):
        assert alias not in offered, alias
    for zone in ("UTC", "Europe/Amsterdam", "Asia/Kolkata", "America/New_York", "Asia/Singapore"):
        assert zone in offered, zone
    assert len(offered) < 450  # the database holds about 600 names


def test_an_alias_is_refused_on_post(cast):
    future = (timezone.now() + datetime.timedelta(days=30)).date().isoformat()
    response = signed_in(cast.chair).post(new_url(cast), form_data(date=future, time_zone="GB"))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_zone_defaults_to_the_boards_usual_zone_when_the_chair_has_none(cast):
    assert cast.chair.time_zone == "UTC"  # the account default: nothing chosen
    make_meeting(cast, time_zone="Europe/Paris")
    make_meeting(cast, time_zone="Europe/Paris")
    make_meeting(cast, time_zone="Europe/Berlin")
    html = signed_in(cast.chair).get(new_url(cast)).content.decode()
    assert selected(html) == ["Europe/Paris"]
    usual = re.search(r'<optgroup label="Usual for this board">(.*?)</optgroup>', html, re.S)
    assert usual, html
    assert options(usual.group(1)) == ["Europe/Paris", "Europe/Berlin"]
    # ... and they come before the whole list.
    assert options(html)[:2] == ["Europe/Paris", "Europe/Berlin"]


def test_the_chairs_own_zone_wins_and_comes_first(cast):
    cast.chair.time_zone = "America/Chicago"
    cast.chair.save()
    make_meeting(cast, time_zone="Europe/Paris")
    html = signed_in(cast.chair).get(new_url(cast)).content.decode()
    assert selected(html) == ["America/Chicago"]
    assert options(html)[:2] == ["America/Chicago", "Europe/Paris"]


def test_a_meeting_stored_under_an_alias_keeps_it_when_edited(cast):
    future = timezone.now() + datetime.timedelta(days=10)
    meeting = make_meeting(cast, starts_at=future, time_zone="US/Eastern")
    url = reverse("meeting-edit", kwargs={"meeting_id": meeting.uuid})
    html = signed_in(cast.chair).get(url).content.decode()
    assert selected(html) == ["US/Eastern"]


def test_selectable_zones_are_canonical_area_location_names():
    zones = selectable_zones()
    assert zones[0] == "UTC"
    assert all(zone.count("/") >= 1 for zone in zones[1:])
    assert not [zone for zone in zones if zone.startswith(("Etc/", "US/", "SystemV/"))]


def test_the_boards_zone_follows_the_chairs_and_is_the_default_when_the_chair_has_none(cast):
    cast.board.time_zone = "Europe/Paris"
    cast.board.save()
    cast.chair.time_zone = "America/Chicago"
    cast.chair.save()
    make_meeting(cast, time_zone="Europe/Berlin")
    html = signed_in(cast.chair).get(new_url(cast)).content.decode()
    # The issue: "default to the chair's zone, put the board's usual zones first".
    assert selected(html) == ["America/Chicago"]
    assert options(html)[:3] == ["America/Chicago", "Europe/Paris", "Europe/Berlin"]
    cast.chair.time_zone = "UTC"  # the account default: nothing chosen
    cast.chair.save()
    html = signed_in(cast.chair).get(new_url(cast)).content.decode()
    assert selected(html) == ["Europe/Paris"]
