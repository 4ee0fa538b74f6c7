"""Dates and times as people read them: one format everywhere, pages, emails and the report.

A day is "3 Dec 2026" (the month in words: never 03/12 against 12/03, which readers in
different countries take for different days); a moment is "3 Dec 2026, 14:30 CET", always with
its zone named, since a board meets across borders. Pages give the reader's zone (the one
`board.middleware` activates for the signed-in user); an email gives its recipient's; the
report gives the board's (`decisions.render`). A zone the tz database names with numbers only
("+04", "-0330") reads as its offset from UTC: "UTC+4", "UTC-3:30".

Templates use the filters in `board/templatetags/dates.py` (``|day``, ``|when``, ``|clock``),
never Django's raw ``|date:`` (tests/board/test_dates.py walks the templates to hold this).
Machines keep ISO 8601 in ``<time datetime="...">`` through ``|iso``.
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.utils import dateformat, timezone

Zone = str | datetime.tzinfo | None
EN_DASH = "\u2013"


def zone_of(zone: Zone) -> datetime.tzinfo:
    """The zone named (a tz name or a tzinfo); None is the reader's, the one active now.
    An unknown name falls back to UTC, which the text then names: never a silent guess."""
    if zone is None:
        return timezone.get_current_timezone()
    if isinstance(zone, datetime.tzinfo):
        return zone
    try:
        return zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def _offset_words(offset: datetime.timedelta | None) -> str:
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def zone_abbreviation(value: datetime.datetime) -> str:
    """ "CET", "CEST", "UTC"; where the tz database has no letters ("+04"), "UTC+4"."""
    name = value.tzname() or ""
    if not name or name[:1] in "+-" or name[:1].isdigit():
        return _offset_words(value.utcoffset())
    return name


def local(value: datetime.datetime, zone: Zone = None) -> datetime.datetime:
    if timezone.is_naive(value):
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(zone_of(zone))


def format_day(value: datetime.date | datetime.datetime | None, zone: Zone = None) -> str:
    """ "3 Dec 2026"; a moment is first put in ``zone`` (its day there), a date stays as is."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        value = local(value, zone)
    return dateformat.format(value, "j M Y")


def format_clock(value: datetime.datetime | None, zone: Zone = None) -> str:
    """ "14:30 CET": the time in ``zone``, the zone named."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime.datetime):
        return ""
    moment = local(value, zone)
    return f"{dateformat.format(moment, 'H:i')} {zone_abbreviation(moment)}"


def format_when(value: datetime.datetime | datetime.date | None, zone: Zone = None) -> str:
    """ "3 Dec 2026, 14:30 CET"; a date alone is "3 Dec 2026", with no zone (it has none)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime.datetime):
        return format_day(value)
    return f"{format_day(value, zone)}, {format_clock(value, zone)}"


def format_month(value: datetime.date | datetime.datetime | None, zone: Zone = None) -> str:
    """ "Dec 2026", for a date known to the month (a treatment's start in a summary line)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        value = local(value, zone)
    return dateformat.format(value, "M Y")


def format_iso(value: datetime.datetime | datetime.date | None) -> str:
    """ISO 8601 for machines (``<time datetime>``): a moment in UTC, a date as itself."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        return local(value, datetime.UTC).isoformat()
    return value.isoformat()


def format_span(
    start: datetime.datetime | None, end: datetime.datetime | None, zone: Zone = None
) -> str:
    """A meeting's time: "14 Mar 2031, 08:30-10:00 CET" (with an en dash) when it ends the same
    day in the same zone abbreviation; otherwise both ends in full, each named ("25 Oct 2026,
    02:00 CEST - 25 Oct 2026, 02:30 CET" across a clock change, where a bare "02:00-02:30"
    would hide that it lasts 90 minutes)."""
    if start is None:
        return ""
    if end is None:
        return format_when(start, zone)
    first, last = local(start, zone), local(end, zone)
    if first.date() == last.date() and zone_abbreviation(first) == zone_abbreviation(last):
        return (
            f"{format_day(first)}, {dateformat.format(first, 'H:i')}{EN_DASH}"
            f"{dateformat.format(last, 'H:i')} {zone_abbreviation(last)}"
        )
    return f"{format_when(start, zone)} {EN_DASH} {format_when(end, zone)}"
