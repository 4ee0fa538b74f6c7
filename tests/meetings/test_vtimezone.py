"""The invite's VTIMEZONE, read by two independent iCalendar readers (vobject, icalendar).

Both must place a Paris meeting at the right UTC instant in winter, in summer and on
either side of the changes (EU rule since 1996: last Sunday of March 01:00 UTC, i.e. 02:00
local, to summer time; last Sunday of October 01:00 UTC, 03:00 local, back), reading the
rules from the VTIMEZONE itself rather than from their own zone database.
"""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import vobject
from icalendar import Calendar

from meetings.ical import REQUEST, meeting_ics
from meetings.vtimezone import vtimezone
from tests.meetings.factories import make_meeting

UTC = datetime.UTC
PARIS = zoneinfo.ZoneInfo("Europe/Paris")

# (local wall-clock time in Paris, the UTC instant it is); 2031: the changes are on
# Sunday 30 March and Sunday 26 October.
PARIS_MEETINGS = [
    (datetime.datetime(2031, 1, 15, 8, 30), datetime.datetime(2031, 1, 15, 7, 30)),  # winter
    (datetime.datetime(2031, 7, 15, 8, 30), datetime.datetime(2031, 7, 15, 6, 30)),  # summer
    (datetime.datetime(2031, 3, 30, 1, 30), datetime.datetime(2031, 3, 30, 0, 30)),  # before
    (datetime.datetime(2031, 3, 30, 3, 30), datetime.datetime(2031, 3, 30, 1, 30)),  # after
    (datetime.datetime(2031, 3, 31, 8, 30), datetime.datetime(2031, 3, 31, 6, 30)),
    (datetime.datetime(2031, 10, 25, 8, 30), datetime.datetime(2031, 10, 25, 6, 30)),
    (datetime.datetime(2031, 10, 27, 8, 30), datetime.datetime(2031, 10, 27, 7, 30)),
    (datetime.datetime(2032, 12, 20, 17, 0), datetime.datetime(2032, 12, 20, 16, 0)),
]
IDS = ["winter", "summer", "before-spring", "after-spring", "day-after-spring",
       "before-autumn", "after-autumn", "next-december"]  # fmt: skip


def paris_invite(cast, local: datetime.datetime) -> bytes:
    # Given in Paris time, as the scheduling form gives it (the end is 90 minutes later in
    # real time, also across a change).
    meeting = make_meeting(cast, starts_at=local.replace(tzinfo=PARIS), time_zone="Europe/Paris")
    return meeting_ics(meeting, REQUEST)


@pytest.mark.django_db
@pytest.mark.parametrize("local, utc", PARIS_MEETINGS, ids=IDS)
def test_vobject_reads_a_paris_meeting_at_the_right_instant(cast, local, utc):
    parsed = vobject.readOne(paris_invite(cast, local).decode())
    start = parsed.vevent.dtstart.value
    # vobject builds the zone from the VTIMEZONE it read (not from a zone database).
    assert type(start.tzinfo).__module__.startswith(("dateutil", "vobject"))
    assert start.astimezone(UTC) == utc.replace(tzinfo=UTC)
    end = parsed.vevent.dtend.value.astimezone(UTC)
    assert end - start.astimezone(UTC) == datetime.timedelta(minutes=90)


@pytest.mark.django_db
@pytest.mark.parametrize("local, utc", PARIS_MEETINGS, ids=IDS)
def test_icalendar_reads_a_paris_meeting_at_the_right_instant(cast, local, utc):
    calendar = Calendar.from_ical(paris_invite(cast, local))
    (timezone,) = calendar.walk("VTIMEZONE")
    (event,) = calendar.walk("VEVENT")
    # The zone as the VTIMEZONE states it, not icalendar's zone database.
    zone = timezone.to_tz(lookup_tzid=False)
    start = event["DTSTART"].dt.replace(tzinfo=None)
    assert start == local
    assert start.replace(tzinfo=zone).astimezone(UTC) == utc.replace(tzinfo=UTC)


@pytest.mark.django_db
def test_paris_observances_are_yearly_rules_with_onsets_in_the_time_before(cast):
    calendar = Calendar.from_ical(paris_invite(cast, PARIS_MEETINGS[0][0]))
    (timezone,) = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/Paris"
    (daylight,) = timezone.walk("DAYLIGHT")
    (standard,) = timezone.walk("STANDARD")
    for observance in (daylight, standard):
        assert "RDATE" not in observance
        assert observance["RRULE"]["FREQ"] == ["YEARLY"]
        assert observance["RRULE"]["BYDAY"] == ["-1SU"]
    assert daylight["RRULE"]["BYMONTH"] == [3]
    assert standard["RRULE"]["BYMONTH"] == [10]
    # RFC 5545 3.8.2.4: the onset is local time in TZOFFSETFROM: 02:00 CET, 03:00 CEST.
    assert daylight["DTSTART"].dt.time() == datetime.time(2, 0)
    assert standard["DTSTART"].dt.time() == datetime.time(3, 0)
    assert daylight["TZOFFSETFROM"].td == datetime.timedelta(hours=1)
    assert daylight["TZOFFSETTO"].td == datetime.timedelta(hours=2)
    assert str(daylight["TZNAME"]) == "CEST" and str(standard["TZNAME"]) == "CET"


@pytest.mark.parametrize(
    "zone, year, month_and_byday",
    [
        # US since 2007: second Sunday of March, first Sunday of November, 02:00 local.
        ("America/New_York", 2031, {"DAYLIGHT": (3, "2SU", 2), "STANDARD": (11, "1SU", 2)}),
        # New South Wales since 2008: first Sunday of October 02:00, first Sunday of April 03:00.
        ("Australia/Sydney", 2031, {"DAYLIGHT": (10, "1SU", 2), "STANDARD": (4, "1SU", 3)}),
    ],
)
def test_other_zones_get_their_own_rules(zone, year, month_and_byday):
    component = vtimezone(zone, year)
    component = Calendar.from_ical(component.to_ical())  # as a reader sees it
    for kind, (month, byday, hour) in month_and_byday.items():
        (observance,) = component.walk(kind)
        assert observance["RRULE"]["BYMONTH"] == [month]
        assert observance["RRULE"]["BYDAY"] == [byday]
        assert observance["DTSTART"].dt.time() == datetime.time(hour, 0)


def test_a_zone_without_changes_has_one_fixed_observance():
    component = vtimezone("Asia/Tokyo", 2031)
    (standard,) = component.walk("STANDARD")
    assert component.walk("DAYLIGHT") == []
    assert "RRULE" not in standard
    assert standard["TZOFFSETFROM"].td == standard["TZOFFSETTO"].td == datetime.timedelta(hours=9)


@pytest.mark.parametrize(
    "zone, year",
    [
        ("America/New_York", 2031),
        ("Australia/Sydney", 2031),
        ("Europe/Paris", 2031),
        ("Europe/Dublin", 2031),  # "standard" time in summer in the zone database
        ("America/Sao_Paulo", 2019),  # daylight time abolished in 2019: no yearly rule
        ("Asia/Tokyo", 2031),
    ],
)
def test_vobject_agrees_with_the_zone_database_every_hour_of_a_year(zone, year):
    """The rules written reproduce zoneinfo's offsets at every hour of the meeting's year."""
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        + vtimezone(zone, year).to_ical().decode()
        + "END:VCALENDAR\r\n"
    )
    tz = vobject.readOne(text).vtimezone.gettzinfo()
    database = zoneinfo.ZoneInfo(zone)
    instant = datetime.datetime(year, 1, 1, tzinfo=UTC)
    while instant.year == year:
        assert instant.astimezone(tz).utcoffset() == instant.astimezone(database).utcoffset(), (
            instant
        )
        instant += datetime.timedelta(hours=1)


def test_a_zone_that_dropped_its_rule_lists_each_change():
    component = Calendar.from_ical(vtimezone("America/Sao_Paulo", 2019).to_ical())
    observances = component.walk("STANDARD") + component.walk("DAYLIGHT")
    # 2018: two changes; 2019: the last one (February); 2020: none.
    assert len(observances) == 3
    assert all("RRULE" not in o and "RDATE" not in o for o in observances)
