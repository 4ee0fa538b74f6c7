"""One date format everywhere (board/dates.py): the formatter, the rule that templates go
through it, and pages that show each reader their own zone, named."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation

from board.dates import format_clock, format_day, format_iso, format_span, format_when
from meetings import ical
from meetings.services import _meeting_words, send_invites
from tests.cases.factories import PATIENT_DOB, make_case
from tests.helpers import signed_in
from tests.meetings.factories import make_meeting

UTC = datetime.UTC


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


# --- the formatter -----------------------------------------------------------------------
# The tz database's rules (IANA tzdata, "europe" file): Paris is CET (UTC+1) in winter and
# CEST (UTC+2) from the last Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC.


@pytest.mark.parametrize(
    ("moment", "zone", "text"),
    [
        (at(2026, 12, 3, 13, 30), "Europe/Paris", "3 Dec 2026, 14:30 CET"),
        (at(2026, 7, 1, 12, 0), "Europe/Paris", "1 Jul 2026, 14:00 CEST"),
        # The spring change, 29 March 2026 at 01:00 UTC: a minute before is 01:59 CET, the
        # change itself is 03:00 CEST (02:xx does not exist that night).
        (at(2026, 3, 29, 0, 59), "Europe/Paris", "29 Mar 2026, 01:59 CET"),
        (at(2026, 3, 29, 1, 0), "Europe/Paris", "29 Mar 2026, 03:00 CEST"),
        # The autumn change, 25 October 2026 at 01:00 UTC: 02:30 happens twice, told apart by
        # the zone named.
        (at(2026, 10, 25, 0, 30), "Europe/Paris", "25 Oct 2026, 02:30 CEST"),
        (at(2026, 10, 25, 1, 30), "Europe/Paris", "25 Oct 2026, 02:30 CET"),
        # The day follows the zone: 22:15 UTC on 1 July is already 2 July in Paris.
        (at(2026, 7, 1, 22, 15), "Europe/Paris", "2 Jul 2026, 00:15 CEST"),
        (at(2026, 12, 3, 13, 30), "UTC", "3 Dec 2026, 13:30 UTC"),
        (at(2026, 12, 3, 13, 30), "America/New_York", "3 Dec 2026, 08:30 EST"),
        # Zones whose tz abbreviation is only numbers read as an offset from UTC.
        (at(2026, 12, 3, 13, 30), "Asia/Dubai", "3 Dec 2026, 17:30 UTC+4"),
        (at(2026, 12, 3, 13, 30), "America/Sao_Paulo", "3 Dec 2026, 10:30 UTC-3"),
        (at(2026, 12, 3, 13, 30), "Asia/Kathmandu", "3 Dec 2026, 19:15 UTC+5:45"),
        (at(2026, 12, 3, 13, 30), "Asia/Kolkata", "3 Dec 2026, 19:00 IST"),
        # An unknown zone is not guessed at: UTC, and it says so.
        (at(2026, 12, 3, 13, 30), "Mars/Olympus_Mons", "3 Dec 2026, 13:30 UTC"),
    ],
)
def test_a_moment_reads_day_time_and_zone(moment, zone, text):
    assert format_when(moment, zone) == text


def test_a_date_alone_has_no_zone():
    assert format_when(datetime.date(2026, 12, 3), "Europe/Paris") == "3 Dec 2026"
    assert format_day(datetime.date(1961, 2, 28)) == "28 Feb 1961"


def test_a_moments_day_is_its_day_in_the_zone():
    assert format_day(at(2026, 7, 1, 22, 15), "Europe/Paris") == "2 Jul 2026"
    assert format_day(at(2026, 7, 1, 22, 15), "UTC") == "1 Jul 2026"


def test_without_a_zone_the_readers_zone_is_used():
    with timezone.override("Asia/Tokyo"):
        assert format_when(at(2026, 12, 3, 13, 30)) == "3 Dec 2026, 22:30 JST"
        assert format_clock(at(2026, 12, 3, 13, 30)) == "22:30 JST"


def test_empty_values_read_empty():
    for formatter in (format_day, format_when, format_clock):
        assert formatter(None) == ""
    assert format_iso(None) == ""


def test_machines_get_iso_in_utc():
    assert format_iso(at(2026, 12, 3, 13, 30)) == "2026-12-03T13:30:00+00:00"
    assert format_iso(datetime.date(2026, 12, 3)) == "2026-12-03"


def test_a_span_names_its_zone_once_or_both_ends_across_a_change():
    assert (
        format_span(at(2031, 3, 14, 7, 30), at(2031, 3, 14, 9, 0), "Europe/Paris")
        == "14 Mar 2031, 08:30–10:00 CET"
    )
    # Across the autumn change the wall clock goes back: both ends named.
    assert (
        format_span(at(2026, 10, 25, 0, 0), at(2026, 10, 25, 1, 30), "Europe/Paris")
        == "25 Oct 2026, 02:00 CEST – 25 Oct 2026, 02:30 CET"
    )


def test_the_month_is_translated():
    with translation.override("fr"):  # Django's own French abbreviation of the month
        assert format_day(datetime.date(2026, 12, 3)) == "3 Déc 2026"


def test_filters_render_the_same_format():
    template = Template(
        "{% load dates %}{{ d|day }}|{{ m|when }}|{{ m|when:'Europe/Paris' }}|{{ m|clock }}"
        "|{{ m|iso }}|{% span m e 'Europe/Paris' %}"
    )
    with timezone.override("America/New_York"):
        text = template.render(
            Context(
                {
                    "d": datetime.date(2026, 12, 3),
                    "m": at(2026, 12, 3, 13, 30),
                    "e": at(2026, 12, 3, 15, 0),
                }
            )
        )
    assert text == (
        "3 Dec 2026|3 Dec 2026, 08:30 EST|3 Dec 2026, 14:30 CET|08:30 EST"
        "|2026-12-03T13:30:00+00:00|3 Dec 2026, 14:30–16:00 CET"
    )


# --- the templates go through it ---------------------------------------------------------

# Django's own date and time filters and tags, which format with the server's settings and
# no zone named. `|date:` stays allowed nowhere; the filters of board/templatetags/dates.py
# replace it (and `|iso` gives machines their ISO 8601).
RAW = re.compile(
    r"\|\s*(date|time|naturaltime|naturalday|timesince|timeuntil)\b"
    r"|{%\s*now\b|{%\s*localize\b|\|\s*localize\b"
)


def template_files() -> list[Path]:
    roots = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    files = [path for root in roots for path in root.rglob("*") if path.suffix in {".html", ".txt"}]
    assert len(files) > 50  # the walk found the project's templates
    return files


def test_no_template_formats_dates_on_its_own():
    offenders = [
        f"{path.name}: {match.group(0)}"
        for path in template_files()
        for match in RAW.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_walk_would_catch_a_raw_date_filter():
    assert RAW.search('{{ case.submitted_at|date:"j M Y" }}')
    assert RAW.search("{{ opinion.created_at|naturaltime }}")
    assert RAW.search("{% now 'Y' %}")
    assert not RAW.search("{{ case.submitted_at|when }} {{ s.updated|day }} {{ a.created|iso }}")


JS_FORMATTING = re.compile(r"toLocale(Date|Time)?String|Intl\.DateTimeFormat|toUTCString")


def test_no_browser_code_formats_dates_itself():
    # The pages' dates come from the server, in the reader's zone; a browser formatting its
    # own would show the machine's zone and locale instead.
    static = Path(settings.BASE_DIR) / "static"
    offenders = [
        str(path.relative_to(static))
        for path in static.rglob("*.js")
        if JS_FORMATTING.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# --- pages show the reader's zone, named -------------------------------------------------


def test_two_readers_in_two_zones_see_the_same_meeting_in_their_own(cast):
    # 07:30 UTC on 14 March 2031: 08:30 in Paris (CET), 16:30 in Tokyo (JST), 03:30 in New York
    # (EDT since 9 March).
    meeting = make_meeting(cast)
    cast.pathologist.time_zone = "Asia/Tokyo"
    cast.pathologist.save()
    cast.surgeon.time_zone = "America/New_York"
    cast.surgeon.save()
    url = reverse("meeting-detail", kwargs={"meeting_id": meeting.uuid})

    def your_time(user) -> str:
        html = signed_in(user).get(url).content.decode()
        return re.search(r'<dd id="your-time">(.*?)</dd>', html, re.S).group(1)

    tokyo, new_york = your_time(cast.pathologist), your_time(cast.surgeon)
    assert "14 Mar 2031, 16:30–18:00 JST" in tokyo
    assert "14 Mar 2031, 03:30–05:00 EDT" in new_york
    assert 'datetime="2031-03-14T07:30:00+00:00"' in tokyo
    assert 'datetime="2031-03-14T07:30:00+00:00"' in new_york


def test_the_home_page_lists_a_meeting_in_each_readers_zone(cast):
    soon = timezone.now().replace(microsecond=0, second=0) + datetime.timedelta(days=2)
    meeting = make_meeting(cast, starts_at=soon)
    cast.pathologist.time_zone = "Asia/Dubai"
    cast.pathologist.save()
    cast.surgeon.time_zone = "Europe/Paris"
    cast.surgeon.save()
    for user, zone in ((cast.pathologist, "Asia/Dubai"), (cast.surgeon, "Europe/Paris")):
        html = signed_in(user).get(reverse("home")).content.decode()
        section = re.search(r'id="upcoming-meetings">(.*?)</ul>', html, re.S).group(1)
        assert format_when(meeting.starts_at, zone) in section
    assert "UTC+4" in format_when(meeting.starts_at, "Asia/Dubai")


# --- emails speak their recipient's zone ---------------------------------------------------


def test_a_meeting_invite_gives_each_recipient_their_own_zone(cast):
    meeting = make_meeting(cast)  # 07:30 UTC on 14 March 2031, planned in Paris
    cast.pathologist.email, cast.pathologist.time_zone = "path@board.example", "Asia/Tokyo"
    cast.pathologist.save()
    cast.surgeon.email, cast.surgeon.time_zone = "surgeon@board.example", "Europe/Paris"
    cast.surgeon.save()
    assert send_invites(meeting, ical.REQUEST) == 2
    bodies = {message.to[0]: message.body for message in mail.outbox}
    # Tokyo reads its own time, and the meeting's beside it; Paris, its own only once.
    assert "14 Mar 2031, 16:30 JST (14 Mar 2031, 08:30 CET)" in bodies["path@board.example"]
    assert "14 Mar 2031, 08:30 CET, 90 minutes" in bodies["surgeon@board.example"]
    assert "(14 Mar 2031" not in bodies["surgeon@board.example"]


def test_a_status_note_names_the_meeting_in_the_submitters_zone(cast):
    meeting = make_meeting(cast)
    cast.referrer.time_zone = "America/New_York"
    assert _meeting_words(meeting, cast.referrer)["when"] == "14 Mar 2031, 03:30 EDT"
    assert _meeting_words(meeting, None)["when"] == "14 Mar 2031, 08:30 CET"


def test_the_case_page_gives_the_date_of_birth_as_a_day(cast):
    # A bare {{ date }} would print Django's "March 14, 1961"; the page goes through |day.
    case = make_case(cast)
    html = signed_in(cast.chair).get(reverse("case-detail", kwargs={"case_id": case.uuid}))
    assert format_day(PATIENT_DOB) in html.content.decode()
    assert PATIENT_DOB.strftime("%B %-d, %Y") not in html.content.decode()
