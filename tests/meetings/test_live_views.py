"""The live session page and the fragment it loads when the meeting moves to another case."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from board.models import Membership, Specialty
from cases.access import case_access
from cases.models import AuditEvent
from cases.services import opinion_post
from imaging.models import Series, Study
from meetings.models import PRESENCE_TIMEOUT, Attendance, LiveSession, Meeting
from tests.cast import add_member, make_user
from tests.helpers import signed_in
from tests.meetings.factories import make_meeting, put_on_agenda, ready_case

pytestmark = pytest.mark.django_db


def live(meeting) -> str:
    return reverse("meeting-live", kwargs={"meeting_id": meeting.uuid})


def fragment(meeting, item) -> str:
    return reverse("meeting-live-item", kwargs={"meeting_id": meeting.uuid, "item_id": item.uuid})


def with_series(case) -> Series:
    study = Study.objects.create(case=case, study_instance_uid=f"1.2.{case.pk}")
    return Series.objects.create(
        study=study, series_instance_uid=f"1.2.{case.pk}.1", modality="CT", frame_count=12
    )


def arrive(meeting, *users) -> None:
    """Open joins with a fresh heartbeat, as a live socket keeps them."""
    now = timezone.now()
    for user in users:
        Attendance.objects.create(meeting=meeting, user=user, joined_at=now, seen_at=now)


def config_of(response) -> dict:
    text = re.search(
        r'<script id="live-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    ).group(1)
    return json.loads(text)


@pytest.fixture
def agenda(cast, meeting):
    """Two cases on the agenda, each with a CT series; the meeting is on the first."""
    first = put_on_agenda(meeting, ready_case(cast, question="Surgery first?"), 1)
    second = put_on_agenda(meeting, ready_case(cast, question="Radiotherapy?"), 2)
    with_series(first.case)
    with_series(second.case)
    LiveSession.objects.create(meeting=meeting, current_item=first, presenter=cast.radiologist)
    return first, second


# --- who may open it --------------------------------------------------------------------


def test_member_sees_the_meeting_and_its_current_case(cast, meeting, agenda):
    first, second = agenda
    opinion_post(access=case_access(cast.pathologist, first.case), body="Grade 3 on review.")
    response = signed_in(cast.pathologist).get(live(meeting))
    assert response.status_code == 200
    page = response.content.decode()
    # The agenda, the current item marked.
    assert first.case.pseudonym in page and second.case.pseudonym in page
    assert re.search(rf'data-item="{first.uuid}"\s+aria-current="step"', page)
    # The current case: its question, its structured data, its opinions.
    assert "Surgery first?" in page and "Radiotherapy?" not in page
    assert 'id="structured"' in page
    assert "Grade 3 on review." in page
    # Who is presenting, the viewer's frame and the vote panel's empty container.
    assert cast.radiologist.display_name in page
    assert "data-viewer" in page
    assert re.search(r'<section id="vote-panel"[^>]*data-vote-panel[^>]*></section>', page)
    config = config_of(response)
    assert config["socket"] == f"/ws/meetings/{meeting.uuid}/"
    assert config["item"] == str(first.uuid)
    assert config["presenter"] == str(cast.radiologist.uuid)
    assert config["viewer"]["caseUrl"] == f"/cases/{first.case.uuid}/"
    assert [s["uuid"] for s in config["viewer"]["series"]] == [
        str(Series.objects.get(study__case=first.case).uuid)
    ]
    assert not config["isManager"]


def test_member_has_no_chair_controls_and_the_chair_has(cast, meeting, agenda):
    member = signed_in(cast.pathologist).get(live(meeting)).content.decode()
    assert "data-goto" not in member and "data-give" not in member and "data-take" not in member
    assert "Ask for control" in member
    chair = signed_in(cast.chair).get(live(meeting)).content.decode()
    assert chair.count("data-goto=") == 2
    assert "Take control" in chair and "Ask for control" not in chair
    assert config_of(signed_in(cast.chair).get(live(meeting)))["isManager"]


@pytest.mark.parametrize("who", ["outsider", "other_member", "expert", "referrer", "patient"])
def test_those_outside_the_board_get_404(cast, meeting, agenda, who):
    client = signed_in(getattr(cast, who))
    assert client.get(live(meeting)).status_code == 404
    assert client.get(fragment(meeting, agenda[1])).status_code == 404


def test_anonymous_is_sent_to_login(cast, meeting, agenda):
    for url in (live(meeting), fragment(meeting, agenda[0])):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_post_is_405(cast, meeting, agenda):
    client = signed_in(cast.chair)
    assert client.post(live(meeting)).status_code == 405
    assert client.post(fragment(meeting, agenda[0])).status_code == 405


def test_a_cancelled_meeting_has_no_live_session(cast, meeting, agenda):
    Meeting.objects.filter(pk=meeting.pk).update(status=Meeting.Status.CANCELLED)
    client = signed_in(cast.pathologist)
    response = client.get(live(meeting), follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "meeting-detail", kwargs={"meeting_id": meeting.uuid}
    )
    assert "This meeting was cancelled; it has no live session." in response.content.decode()
    assert client.get(fragment(meeting, agenda[0])).status_code == 404


def test_before_the_chair_opens_a_case_the_page_waits(cast, meeting):
    put_on_agenda(meeting, ready_case(cast), 1)
    page = signed_in(cast.pathologist).get(live(meeting)).content.decode()
    assert "Waiting for the chair to open the first case." in page
    assert 'aria-current="step"' not in page
    chair = signed_in(cast.chair).get(live(meeting))
    assert "Choose a case on the agenda to begin." in chair.content.decode()
    assert config_of(chair)["item"] is None
    # Reading the page does not start the session: the socket does that.
    assert not LiveSession.objects.filter(meeting=meeting).exists()


# --- participants and quorum ---------------------------------------------------------------


def test_presence_and_quorum_follow_open_attendances(cast, meeting, agenda):
    arrive(meeting, cast.chair, cast.radiologist, cast.pathologist)
    Attendance.objects.create(  # the surgeon came and went
        meeting=meeting, user=cast.surgeon, joined_at=timezone.now(), left_at=timezone.now()
    )
    page = signed_in(cast.pathologist).get(live(meeting)).content.decode()
    present = re.findall(r'class="live-person is-present" data-person="([^"]+)"', page)
    assert sorted(present) == sorted(
        str(u.uuid) for u in (cast.chair, cast.radiologist, cast.pathologist)
    )
    assert "Missing: 1 surgical oncologist" in page
    # A join whose socket died without a goodbye (a killed process) stops counting once its
    # heartbeat is older than the timeout.
    ghost = timezone.now() - PRESENCE_TIMEOUT - datetime.timedelta(seconds=1)
    Attendance.objects.create(meeting=meeting, user=cast.surgeon, joined_at=ghost, seen_at=ghost)
    page = signed_in(cast.pathologist).get(live(meeting)).content.decode()
    assert "Missing: 1 surgical oncologist" in page
    arrive(meeting, cast.surgeon)
    page = signed_in(cast.pathologist).get(live(meeting)).content.decode()
    assert "Quorum met" in page


def test_quorum_counts_the_specialty_a_member_sits_as(cast, meeting, agenda):
    # The board requires one of each of four specialties; nobody here is a pathologist.
    arrive(meeting, cast.chair, cast.radiologist, cast.surgeon)
    page = signed_in(cast.chair).get(live(meeting)).content.decode()
    assert "Missing: 1 pathologist" in page
    Membership.objects.filter(user=cast.surgeon, board=cast.board).update(
        specialty=Specialty.PATHOLOGY
    )
    page = signed_in(cast.chair).get(live(meeting)).content.decode()
    assert "Missing: 1 surgical oncologist" in page


# --- the fragment --------------------------------------------------------------------------


def test_fragment_brings_the_next_case_and_its_viewer(cast, meeting, agenda):
    _first, second = agenda
    response = signed_in(cast.surgeon).get(fragment(meeting, second))
    assert response.status_code == 200
    data = response.json()
    assert data["item"] == str(second.uuid)
    assert data["case"] == str(second.case.uuid)
    assert data["pseudonym"] == second.case.pseudonym
    assert "Radiotherapy?" in data["html"]["case"]
    assert 'id="thread"' in data["html"]["thread"]
    assert data["viewer"]["caseUrl"] == f"/cases/{second.case.uuid}/"
    assert data["viewer"]["series"][0]["uuid"] == str(
        Series.objects.get(study__case=second.case).uuid
    )
    # Reading the case through the meeting is audited like any other read.
    event = AuditEvent.objects.filter(case=second.case, action="case.view").latest("at")
    assert (event.actor, event.detail) == (cast.surgeon, {"meeting": str(meeting.uuid)})


def test_fragment_of_another_meetings_item_is_404(cast, meeting, agenda):
    other = make_meeting(cast, title="April board")
    elsewhere = put_on_agenda(other, ready_case(cast), 1)
    client = signed_in(cast.chair)
    assert client.get(fragment(meeting, elsewhere)).status_code == 404


def test_blinded_board_hides_others_opinions_in_the_meeting_too(cast, meeting, agenda):
    first, _second = agenda
    cast.board.blinded_opinions = True
    cast.board.save(update_fields=["blinded_opinions"])
    opinion_post(access=case_access(cast.pathologist, first.case), body="Grade 3 on review.")
    thread = signed_in(cast.radiologist).get(fragment(meeting, first)).json()["html"]["thread"]
    assert "Grade 3 on review." not in thread
    assert 'id="blinded-notice"' in thread


# --- the way in, and what it costs -------------------------------------------------------


def test_meeting_page_and_home_link_to_the_live_session(cast):
    meeting = make_meeting(cast, starts_at=timezone.now())
    client = signed_in(cast.pathologist)
    assert (
        live(meeting)
        in client.get(
            reverse("meeting-detail", kwargs={"meeting_id": meeting.uuid})
        ).content.decode()
    )
    assert live(meeting) in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("who", ["chair", "pathologist"])
def test_queries_do_not_grow_with_the_agenda_or_the_board(
    cast, meeting, agenda, who, django_assert_max_num_queries
):
    first, _second = agenda
    opinion_post(access=case_access(cast.pathologist, first.case), body="Grade 3.")
    arrive(meeting, cast.chair, cast.pathologist)
    client = signed_in(getattr(cast, who))
    # The budget: the case panel reads the clinical record's treatment and molecular rows too.
    with django_assert_max_num_queries(28) as few:
        client.get(live(meeting))
    for n in range(3, 13):
        put_on_agenda(meeting, ready_case(cast), n, presenter=cast.surgeon)
    for n in range(10):
        user = make_user(f"member{n}", specialty=Specialty.RADIOLOGY)
        add_member(user, cast.board)
        arrive(meeting, user)
        opinion_post(access=case_access(user, first.case), body=f"Opinion {n}.")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(live(meeting))
    page = response.content.decode()
    assert page.count('class="live-agenda-item') == 12
    assert page.count("data-person=") == 16
    assert page.count("data-opinion=") == 11


def test_the_page_hands_its_script_the_agenda_texts_in_the_users_language(cast, meeting, agenda):
    """static/js/live/agenda.js draws a changed agenda from these, never from its own English."""
    text = config_of(signed_in(cast.pathologist).get(live(meeting)))["text"]
    assert text["minutes"] == ["%(n)d min", "%(n)d min"]
    assert text["goToCase"] == "Go to case %(pseudonym)s"
    assert text["emptyAgenda"] == "No case is on the agenda."
    assert "cancelled" in text["cancelled"]
    assert text["ended"] == "Ended"
