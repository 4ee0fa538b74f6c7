"""A VTIMEZONE (RFC 5545 §3.6.5) for a meeting's zone, with RRULE-based observances.

Calendar programs read a VTIMEZONE's rules rather than their own zone database, so the rules
must be right where they are read. Two ways they went wrong before: one RDATE listing many
onsets comma-separated (vobject reads only the first, putting a Paris meeting an hour late
after it), and DAYLIGHT onsets written at the local time after the change (03:00 in Paris)
where RFC 5545 §3.8.2.4 wants the local time before it, in TZOFFSETFROM (02:00).

The rules are read from the system's zone database (zoneinfo) around the meeting: if the
changes of the year before, the meeting's year and the year after fall on the same
"n-th (or last) weekday of a month at a time", each observance is one DTSTART and one
yearly RRULE, as in RFC 5545's own examples; otherwise each change in those years is its
own observance with a single DTSTART.
"""

from __future__ import annotations

import calendar
import datetime
import zoneinfo
from dataclasses import dataclass

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

UTC = datetime.UTC
# The onset of a zone with no change in the years looked at: any date before them will do.
EPOCH = datetime.datetime(1970, 1, 1)
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Change:
    """One change of offset: when (UTC), from what, to what, and whether to daylight time."""

    at: datetime.datetime
    offset_from: datetime.timedelta
    offset_to: datetime.timedelta
    name: str
    daylight: bool

    @property
    def onset(self) -> datetime.datetime:
        """The local wall-clock time of the change, in the offset before it (RFC 5545)."""
        return (self.at + self.offset_from).replace(tzinfo=None)

    def rule(self, last: bool) -> tuple:
        """What recurs yearly: month, weekday, which one in the month, time, offsets."""
        onset = self.onset
        which = -1 if last else (onset.day - 1) // 7 + 1
        return (onset.month, onset.weekday(), which, onset.time(), self.offset_from,
                self.offset_to, self.daylight)  # fmt: skip

    def is_last_weekday(self) -> bool:
        onset = self.onset
        return onset.day + 7 > calendar.monthrange(onset.year, onset.month)[1]


def _offset(zone: zoneinfo.ZoneInfo, at: datetime.datetime) -> datetime.timedelta:
    return at.astimezone(zone).utcoffset() or datetime.timedelta(0)


def changes(zone: zoneinfo.ZoneInfo, first_year: int, last_year: int) -> list[Change]:
    """Every change of UTC offset in the zone from ``first_year`` to ``last_year``, in order."""
    found = []
    day = datetime.datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime.datetime(last_year + 1, 1, 1, tzinfo=UTC)
    before = _offset(zone, day)
    while day < end:
        following = day + datetime.timedelta(days=1)
        after = _offset(zone, following)
        if after != before:
            low, high = day, following  # the offset is `before` at low, `after` at high
            while high - low > datetime.timedelta(minutes=1):
                middle = low + (high - low) / 2
                middle = middle.replace(second=0, microsecond=0)
                if middle <= low:
                    break
                if _offset(zone, middle) == before:
                    low = middle
                else:
                    high = middle
            local = high.astimezone(zone)
            # The observance with the larger offset is DAYLIGHT, as calendar programs expect,
            # also where the zone database calls it standard time (Europe/Dublin's IST, whose
            # winter is "negative daylight saving time").
            found.append(Change(high, before, after, local.tzname() or "", after > before))
            before = after
        day = following
    return found


def _observance(change: Change, *, rrule: dict | None = None, onset=None):
    observance = TimezoneDaylight() if change.daylight else TimezoneStandard()
    observance.add("dtstart", onset or change.onset)
    observance.add("tzoffsetfrom", change.offset_from)
    observance.add("tzoffsetto", change.offset_to)
    observance.add("tzname", change.name)
    if rrule:
        observance.add("rrule", rrule)
    return observance


def _yearly(changes_in_years: list[list[Change]]) -> list[tuple[Change, dict]] | None:
    """One (first change, RRULE) per observance if every year changes by the same rules."""
    counts = {len(year) for year in changes_in_years}
    if len(counts) != 1 or counts == {0}:
        return None
    out = []
    for position in range(len(changes_in_years[0])):
        same = [year[position] for year in changes_in_years]
        last = all(c.is_last_weekday() for c in same)
        rules = {c.rule(last) for c in same}
        if len(rules) != 1:
            # "Last" is right for some years only: try the n-th weekday for all.
            last = False
            rules = {c.rule(False) for c in same}
            if len(rules) != 1:
                return None
        month, weekday, which, _, _, _, _ = rules.pop()
        byday = f"{which}{RRULE_DAYS[weekday]}"
        out.append((same[0], {"freq": "YEARLY", "bymonth": month, "byday": byday}))
    return out


def vtimezone(zone_name: str, year: int) -> Timezone:
    """The VTIMEZONE of ``zone_name`` good for events in ``year`` (and the years beside it)."""
    zone = zoneinfo.ZoneInfo(zone_name)
    component = Timezone()
    component.add("tzid", zone_name)
    years = [changes(zone, y, y) for y in (year - 1, year, year + 1)]
    if not any(years):
        at = datetime.datetime(year, 1, 1, tzinfo=UTC).astimezone(zone)
        offset = at.utcoffset() or datetime.timedelta(0)
        fixed = Change(at, offset, offset, at.tzname() or "", False)
        component.add_component(_observance(fixed, onset=EPOCH))
        return component
    yearly = _yearly(years)
    if yearly is not None:
        for first, rrule in yearly:
            component.add_component(_observance(first, rrule=rrule))
    else:
        for change in (c for y in years for c in y):
            component.add_component(_observance(change))
    return component
