from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from cases import services
from cases.access import case_access
from cases.models import Case
from meetings.models import AgendaItem, Meeting
from tests.helpers import complete_sign_in, signed_in
from tests.meetings.factories import START, make_meeting, put_on_agenda, ready_case

pytestmark = pytest.mark.django_db

ROLES = ("chair", "coordinator", "pathologist", "referrer", "expert", "outsider", "other_member")


@pytest.fixture
def setup(cast, meeting):
    """A meeting with one item on its agenda and a ready case waiting to be added."""
    item = put_on_agenda(meeting, ready_case(cast), 1)
    waiting = ready_case(cast)
    return meeting, item, waiting


def urls(cast, meeting, item, waiting):
    """(name, method, url, data, status for chair/coordinator, member, non-members)."""
    m = {"meeting_id": meeting.uuid}
    i = {"meeting_id": meeting.uuid, "item_id": item.uuid}
    b = {"board_id": cast.board.uuid}
    return [
        ("board-meetings", "get", reverse("board-meetings", kwargs=b), None, 200, 200),
        ("meeting-new", "get", reverse("meeting-new", kwargs=b), None, 200, 403),
        ("meeting-detail", "get", reverse("meeting-detail", kwargs=m), None, 200, 200),
        ("meeting-edit", "get", reverse("meeting-edit", kwargs=m), None, 200, 403),
        ("meeting-invite", "get", reverse("meeting-invite", kwargs=m), None, 200, 200),
        (
            "agenda-add",
            "post",
            reverse("agenda-add", kwargs=m),
            {"case": waiting.uuid, "time_box_minutes": 10},
            302,
            403,
        ),
        ("agenda-move", "post", reverse("agenda-move", kwargs=i), {"direction": "down"}, 302, 403),
        (
            "agenda-presenter",
            "post",
            reverse("agenda-presenter", kwargs=i),
            {"presenter": cast.pathologist.uuid},
            302,
            403,
        ),
        (
            "agenda-time-box",
            "post",
            reverse("agenda-time-box", kwargs=i),
            {"time_box_minutes": 25},
            302,
            403,
        ),
        ("agenda-remove", "post", reverse("agenda-remove", kwargs=i), {}, 302, 403),
        ("meeting-cancel", "post", reverse("meeting-cancel", kwargs=m), {}, 302, 403),
    ]


def expected(role, manager_status, member_status):
    if role in ("chair", "coordinator"):
        return manager_status
    if role == "pathologist":
        return member_status
    return 404


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("index", range(11))
def test_permission_matrix(cast, setup, role, index):
    name, method, url, data, manager_status, member_status = urls(cast, *setup)[index]
    client = signed_in(getattr(cast, role))
    response = getattr(client, method)(url, data) if data is not None else client.get(url)
    assert response.status_code == expected(role, manager_status, member_status), name


@pytest.mark.parametrize("index", range(11))
def test_wrong_method_is_405(cast, setup, index):
    name, method, url, *_ = urls(cast, *setup)[index]
    client = signed_in(cast.chair)
    response = client.put(url) if method == "get" else client.get(url)
    assert response.status_code == 405, name


@pytest.mark.parametrize("index", range(5, 11))
def test_posts_without_csrf_token_are_403(cast, setup, index):
    name, _method, url, data, *_ = urls(cast, *setup)[index]
    client = Client(enforce_csrf_checks=True)
    complete_sign_in(client, cast.chair)
    assert client.post(url, data).status_code == 403, name
    meeting = Meeting.objects.get()
    assert meeting.status == Meeting.Status.SCHEDULED
    assert meeting.agenda_items.count() == 1


def test_anonymous_is_sent_to_login(cast, meeting):
    url = reverse("meeting-detail", kwargs={"meeting_id": meeting.uuid})
    response = Client().get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- scheduling -------------------------------------------------------------------------


def schedule_form(**overrides):
    data = {
        "title": "Sarcoma board, May",
        "date": "2031-05-02",
        "time": "17:00",
        "time_zone": "America/New_York",
        "duration_minutes": "60",
        "video_url": "https://video.example/may",
    }
    data.update(overrides)
    return data


def test_chair_schedules_in_a_zone_and_invites_go_out(cast, django_capture_on_commit_callbacks):
    cast.surgeon.email = "surgeon@board.example"
    cast.surgeon.save()
    url = reverse("meeting-new", kwargs={"board_id": cast.board.uuid})
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(cast.chair).post(url, schedule_form())
    meeting = Meeting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("meeting-detail", kwargs={"meeting_id": meeting.uuid})
    # 17:00 in New York in May (EDT, UTC-4) is 21:00 UTC.
    assert meeting.starts_at == datetime.datetime(2031, 5, 2, 21, 0, tzinfo=datetime.UTC)
    assert meeting.time_zone == "America/New_York"
    assert [m.to for m in mail.outbox] == [["surgeon@board.example"]]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("video_url", "http://video.example/may", "must start with https://"),
        ("duration_minutes", "5", "greater than or equal to 15"),
        ("time_zone", "Mars/Olympus_Mons", "Select a valid choice"),
        # 02:30 on 30 March 2031 does not exist in Paris: the clocks jump from 02:00 to 03:00.
        ("time", "02:30", "does not exist in that zone"),
    ],
)
def test_bad_schedule_is_refused_with_a_message(cast, field, value, message):
    data = schedule_form(**{field: value})
    if field == "time":
        data.update(date="2031-03-30", time_zone="Europe/Paris")
    url = reverse("meeting-new", kwargs={"board_id": cast.board.uuid})
    response = signed_in(cast.coordinator).post(url, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Meeting.objects.exists()


def test_new_meeting_form_defaults_to_the_users_zone(cast):
    cast.chair.time_zone = "Asia/Tokyo"
    cast.chair.save()
    html = signed_in(cast.chair).get(reverse("meeting-new", kwargs={"board_id": cast.board.uuid}))
    assert re.search(r'<option value="Asia/Tokyo" selected>', html.content.decode())


def test_edit_changes_the_time_and_bumps_sequence(cast, meeting):
    url = reverse("meeting-edit", kwargs={"meeting_id": meeting.uuid})
    form = signed_in(cast.chair).get(url).content.decode()
    assert 'value="08:30"' in form  # shown in the meeting's zone (Paris), not UTC
    response = signed_in(cast.chair).post(
        url, schedule_form(date="2031-03-14", time="09:00", time_zone="Europe/Paris")
    )
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.starts_at == START + datetime.timedelta(minutes=30)
    assert meeting.ical_sequence == 1


# --- the meeting page -----------------------------------------------------------------


def detail(meeting):
    return reverse("meeting-detail", kwargs={"meeting_id": meeting.uuid})


def test_times_are_shown_in_the_viewers_zone_and_the_meetings(cast, meeting):
    cast.pathologist.time_zone = "America/New_York"
    cast.pathologist.save()
    html = signed_in(cast.pathologist).get(detail(meeting)).content.decode()
    your_time = re.search(r'<dd id="your-time">(.*?)</dd>', html, re.S).group(1)
    meeting_time = re.search(r'<dd id="meeting-time">(.*?)</dd>', html, re.S).group(1)
    # 07:30 UTC on 14 March 2031: 03:30 in New York (EDT), 08:30 in Paris (CET).
    assert "03:30–05:00" in your_time and "America/New_York" in your_time
    assert "08:30–10:00" in meeting_time and "Europe/Paris" in meeting_time


def test_home_shows_upcoming_meetings_in_the_users_zone(cast):
    soon = make_meeting(
        cast,
        starts_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        + datetime.timedelta(days=1),
    )
    make_meeting(cast, title="Cancelled one", status=Meeting.Status.CANCELLED)
    make_meeting(cast, title="Long past", starts_at=START - datetime.timedelta(days=3650))
    make_meeting(cast, board=cast.other_board, title="Not my board")
    cast.pathologist.time_zone = "Asia/Tokyo"
    cast.pathologist.save()
    html = signed_in(cast.pathologist).get(reverse("home")).content.decode()
    section = re.search(r'id="upcoming-meetings">(.*?)</ul>', html, re.S).group(1)
    assert section.count("<li") == 1
    assert soon.title in section
    tokyo = soon.starts_at + datetime.timedelta(hours=9)
    assert tokyo.strftime("%H:%M") in section
    for hidden in ("Cancelled one", "Long past", "Not my board"):
        assert hidden not in section


def test_member_sees_the_agenda_but_no_controls(cast, setup):
    meeting, item, waiting = setup
    html = signed_in(cast.pathologist).get(detail(meeting)).content.decode()
    assert item.case.pseudonym in html
    assert reverse("case-detail", kwargs={"case_id": item.case.uuid}) in html
    assert "https://video.example/room/sarcoma" in html
    assert "Cancel meeting" not in html
    assert "Add to agenda" not in html
    assert waiting.pseudonym not in html


def test_manager_can_add_only_ready_cases_in_review(cast, setup):
    meeting, _item, waiting = setup
    not_ready = ready_case(cast, ready_at=None)
    other_board = ready_case(cast, board=cast.other_board)
    html = signed_in(cast.chair).get(detail(meeting)).content.decode()
    select = re.search(r'<select name="case".*?</select>', html, re.S).group(0)
    assert waiting.pseudonym in select
    assert not_ready.pseudonym not in select
    assert other_board.pseudonym not in select


def test_the_picker_shows_a_case_awaiting_information_and_the_chair_may_add_it(cast, setup):
    meeting, _item, waiting = setup
    plain = ready_case(cast)
    services.request_open(
        access=case_access(cast.coordinator, waiting), text="The MRI of March?", kind="imaging"
    )
    client = signed_in(cast.chair)
    html = client.get(detail(meeting)).content.decode()
    select = re.search(r'<select name="case".*?</select>', html, re.S).group(0)
    option = re.search(rf"<option[^>]*>{waiting.pseudonym}[^<]*</option>", select).group(0)
    assert "awaiting information" in option
    option = re.search(rf"<option[^>]*>{plain.pseudonym}[^<]*</option>", select).group(0)
    assert "awaiting information" not in option
    client.post(
        reverse("agenda-add", kwargs={"meeting_id": meeting.uuid}),
        {"case": waiting.uuid, "time_box_minutes": 10},
    )
    assert AgendaItem.objects.filter(meeting=meeting, case=waiting).exists()


def test_adding_a_case_that_is_not_ready_says_why(cast, setup):
    meeting, *_ = setup
    not_ready = ready_case(cast, ready_at=None)
    client = signed_in(cast.chair)
    response = client.post(
        reverse("agenda-add", kwargs={"meeting_id": meeting.uuid}),
        {"case": not_ready.uuid, "time_box_minutes": 10},
        follow=True,
    )
    assert "not marked ready for the board" in response.content.decode()
    not_ready.refresh_from_db()
    assert not_ready.status == Case.Status.IN_REVIEW


def test_add_move_and_remove_through_the_page(cast, setup):
    meeting, first, waiting = setup
    client = signed_in(cast.coordinator)
    client.post(
        reverse("agenda-add", kwargs={"meeting_id": meeting.uuid}),
        {"case": waiting.uuid, "time_box_minutes": 20, "presenter": cast.surgeon.uuid},
    )
    added = AgendaItem.objects.get(case=waiting)
    assert (added.position, added.presenter, added.time_box_minutes) == (2, cast.surgeon, 20)
    waiting.refresh_from_db()
    assert waiting.status == Case.Status.SCHEDULED
    client.post(
        reverse("agenda-move", kwargs={"meeting_id": meeting.uuid, "item_id": added.uuid}),
        {"direction": "up"},
    )
    html = client.get(detail(meeting)).content.decode()
    assert html.index(waiting.pseudonym) < html.index(first.case.pseudonym)
    client.post(
        reverse("agenda-remove", kwargs={"meeting_id": meeting.uuid, "item_id": added.uuid})
    )
    waiting.refresh_from_db()
    assert waiting.status == Case.Status.IN_REVIEW
    assert list(meeting.agenda_items.values_list("position", flat=True)) == [1]


def test_presenter_from_another_board_is_refused(cast, setup):
    meeting, item, _ = setup
    response = signed_in(cast.chair).post(
        reverse("agenda-presenter", kwargs={"meeting_id": meeting.uuid, "item_id": item.uuid}),
        {"presenter": cast.other_member.uuid},
        follow=True,
    )
    assert "must be a member of the board" in response.content.decode()
    item.refresh_from_db()
    assert item.presenter is None


def test_chair_sets_a_time_box_on_the_meeting_page(cast, setup):
    meeting, item, _ = setup
    client = signed_in(cast.chair)
    page = client.get(detail(meeting)).content.decode()
    url = reverse("agenda-time-box", kwargs={"meeting_id": meeting.uuid, "item_id": item.uuid})
    assert f'action="{url}"' in page
    response = client.post(url, {"time_box_minutes": 25}, follow=True)
    assert "The time box was set." in response.content.decode()
    item.refresh_from_db()
    assert item.time_box_minutes == 25
    assert 'value="25"' in client.get(detail(meeting)).content.decode()


@pytest.mark.parametrize("value", ["0", "241", "ten", ""])
def test_a_bad_time_box_is_refused_with_a_message(cast, setup, value):
    meeting, item, _ = setup
    response = signed_in(cast.chair).post(
        reverse("agenda-time-box", kwargs={"meeting_id": meeting.uuid, "item_id": item.uuid}),
        {"time_box_minutes": value},
        follow=True,
    )
    assert "between 1 and 240 minutes" in response.content.decode()
    item.refresh_from_db()
    assert item.time_box_minutes == 10


def test_members_see_the_time_box_but_no_form(cast, setup):
    meeting, _item, _ = setup
    page = signed_in(cast.pathologist).get(detail(meeting)).content.decode()
    assert "agenda-time-box" not in page and "/time-box/" not in page
    assert "10 min" in page


def test_item_of_another_meeting_is_404(cast, setup):
    _meeting, item, _ = setup
    other = make_meeting(cast, title="April")
    url = reverse("agenda-remove", kwargs={"meeting_id": other.uuid, "item_id": item.uuid})
    assert signed_in(cast.chair).post(url).status_code == 404
    assert AgendaItem.objects.filter(pk=item.pk).exists()


def test_cancel_through_the_page(cast, setup):
    meeting, item, _ = setup
    response = signed_in(cast.chair).post(
        reverse("meeting-cancel", kwargs={"meeting_id": meeting.uuid}), follow=True
    )
    html = response.content.decode()
    assert 'id="meeting-status">Cancelled' in html
    assert "Cancel meeting" not in html
    item.case.refresh_from_db()
    assert item.case.status == Case.Status.IN_REVIEW


def test_invite_download_is_an_ics_request_then_cancel(cast, meeting):
    url = reverse("meeting-invite", kwargs={"meeting_id": meeting.uuid})
    response = signed_in(cast.radiologist).get(url)
    assert response["Content-Type"].startswith("text/calendar")
    assert "invite.ics" in response["Content-Disposition"]
    cal = Calendar.from_ical(response.content)
    assert cal["METHOD"] == "REQUEST"
    meeting.status = Meeting.Status.CANCELLED
    meeting.save()
    cal = Calendar.from_ical(signed_in(cast.radiologist).get(url).content)
    assert cal["METHOD"] == "CANCEL"
    assert str(cal.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"


# --- constant query counts ------------------------------------------------------------


@pytest.mark.parametrize("who", ["chair", "pathologist"])
def test_meeting_page_queries_do_not_grow_with_the_agenda(
    cast, meeting, who, django_assert_max_num_queries
):
    for n in range(1, 4):
        put_on_agenda(meeting, ready_case(cast), n, presenter=cast.surgeon)
    ready_case(cast)
    client = signed_in(getattr(cast, who))
    with django_assert_max_num_queries(15) as few:
        client.get(detail(meeting))
    for n in range(4, 21):
        put_on_agenda(meeting, ready_case(cast), n, presenter=cast.radiologist)
        ready_case(cast)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(detail(meeting))
    assert response.content.decode().count('<tr id="item-') == 20


def test_home_queries_do_not_grow_with_meetings(cast, django_assert_max_num_queries):
    tomorrow = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    make_meeting(cast, starts_at=tomorrow)
    client = signed_in(cast.pathologist)
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("home"))
    for n in range(15):
        make_meeting(cast, title=f"Meeting {n}", starts_at=tomorrow + datetime.timedelta(hours=n))
    make_meeting(cast, title="Next month", starts_at=tomorrow + datetime.timedelta(days=30))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("home"))
    # The home page lists this week's meetings; all of them are on the Meetings page.
    section = re.search(r'id="upcoming-meetings">(.*?)</ul>', response.content.decode(), re.S)
    assert section.group(1).count("<li") == 16
    assert "Next month" not in section.group(1)
