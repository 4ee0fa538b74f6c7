"""The home page's work lists (board/worklist.py): who finds what in each list, and what must
not be there (another board's cases, closed cases, opinions given, votes cast)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from board import worklist
from cases import services
from cases.access import case_access
from cases.models import Case
from decisions.models import Report, VoteRound
from decisions.reports import REPORT_PENDING_FOR
from meetings.models import Meeting
from tests.cases.factories import invite, make_case, opinion
from tests.cast import add_member, make_board, make_user
from tests.decisions.factories import decided_case, draft, open_round, propose, sign, vote
from tests.helpers import signed_in
from tests.meetings.factories import make_meeting, put_on_agenda

pytestmark = pytest.mark.django_db

S = Case.Status
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def pseudonyms(cases) -> set[str]:
    return {case.pseudonym for case in cases}


# --- awaiting the user's opinion --------------------------------------------------------------


def test_members_are_asked_for_an_opinion_on_their_boards_cases_under_review(cast):
    in_review = make_case(cast, status=S.IN_REVIEW)
    scheduled = make_case(cast, status=S.SCHEDULED)
    for user in (cast.pathologist, cast.chair):
        assert pseudonyms(worklist.awaiting_opinion(user)) == pseudonyms([in_review, scheduled])


def test_no_opinion_is_asked_on_other_boards_or_outside_review(cast):
    make_case(cast, status=S.IN_REVIEW, board=cast.other_board)
    for status in (S.DRAFT, S.SUBMITTED, S.DISCUSSED, S.CONCLUDED, S.WITHDRAWN):
        make_case(cast, status=status)
    assert list(worklist.awaiting_opinion(cast.pathologist)) == []
    assert list(worklist.awaiting_opinion(cast.outsider)) == []
    assert list(worklist.awaiting_opinion(cast.referrer)) == []


def test_coordinators_give_no_opinions(cast):
    make_case(cast, status=S.IN_REVIEW)
    assert list(worklist.awaiting_opinion(cast.coordinator)) == []


def test_a_case_leaves_the_list_once_the_member_has_given_an_opinion(cast):
    case = make_case(cast)
    own = opinion(case, cast.pathologist)
    assert list(worklist.awaiting_opinion(cast.pathologist)) == []
    assert pseudonyms(worklist.awaiting_opinion(cast.radiologist)) == {case.pseudonym}
    # Withdrawn, it no longer stands: the case asks again.
    own.withdrawn_at = timezone.now()
    own.save()
    assert pseudonyms(worklist.awaiting_opinion(cast.pathologist)) == {case.pseudonym}


def test_a_reply_in_someone_elses_thread_is_not_an_opinion(cast):
    case = make_case(cast)
    root = opinion(case, cast.surgeon)
    opinion(case, cast.pathologist, body="Agreed.", parent=root)
    assert pseudonyms(worklist.awaiting_opinion(cast.pathologist)) == {case.pseudonym}


def test_invited_experts_are_asked_on_their_invited_cases_only(cast):
    invited = make_case(cast)
    make_case(cast)  # same board, not invited
    expired = make_case(cast)
    invite(cast, invited)
    invite(cast, expired, days=-1)
    assert pseudonyms(worklist.awaiting_opinion(cast.expert)) == {invited.pseudonym}
    opinion(invited, cast.expert)
    assert list(worklist.awaiting_opinion(cast.expert)) == []


def test_urgent_cases_come_first_then_the_soonest_agenda(cast):
    now = timezone.now()
    routine_later = make_case(cast, status=S.SCHEDULED)
    routine_soon = make_case(cast, status=S.SCHEDULED)
    urgent = make_case(cast, urgency=Case.Urgency.URGENT)
    unbooked = make_case(cast)
    put_on_agenda(make_meeting(cast, starts_at=now + 5 * DAY), routine_later, 1)
    put_on_agenda(make_meeting(cast, starts_at=now + DAY), routine_soon, 1)
    listed = [c.pseudonym for c in worklist.awaiting_opinion(cast.pathologist, now=now)]
    expected = [urgent, routine_soon, routine_later, unbooked]  # on no agenda: last
    assert listed == [case.pseudonym for case in expected]


# --- open votes -------------------------------------------------------------------------------


@pytest.fixture
def voting(cast):
    case = make_case(cast, status=S.SCHEDULED)
    proposal = propose(cast, case)
    return case, proposal, open_round(cast, case)


def test_members_see_open_votes_until_they_vote(cast, voting):
    case, proposal, round_ = voting
    assert [r.pk for r in worklist.votes_to_cast(cast.pathologist)] == [round_.pk]
    assert [r.pk for r in worklist.votes_to_cast(cast.chair)] == [round_.pk]
    vote(cast.pathologist, case, round_, agree=[proposal])
    assert list(worklist.votes_to_cast(cast.pathologist)) == []
    assert [r.pk for r in worklist.votes_to_cast(cast.radiologist)] == [round_.pk]


def test_live_votes_come_before_votes_by_deadline(cast, voting):
    _case, _proposal, by_deadline = voting
    live_case = make_case(cast, status=S.SCHEDULED)
    meeting = make_meeting(cast, starts_at=timezone.now())
    put_on_agenda(meeting, live_case, 1)
    propose(cast, live_case)
    live = open_round(cast, live_case, deadline=None, meeting=meeting)
    assert [r.pk for r in worklist.votes_to_cast(cast.surgeon)] == [live.pk, by_deadline.pk]


def test_who_does_not_vote_is_not_asked(cast, voting):
    case, _proposal, _round = voting
    invite(cast, case)
    for user in (cast.coordinator, cast.expert, cast.other_member, cast.referrer, cast.outsider):
        assert list(worklist.votes_to_cast(user)) == [], user


def test_closed_rounds_and_passed_deadlines_ask_no_ballot(cast, voting):
    _case, _proposal, round_ = voting
    VoteRound.objects.filter(pk=round_.pk).update(deadline=timezone.now() - HOUR)
    assert list(worklist.votes_to_cast(cast.pathologist)) == []
    closed, _p, _r = decided_case(cast)  # everyone voted, round closed
    assert list(worklist.votes_to_cast(cast.pathologist)) == []
    assert closed.vote_rounds.get().status == VoteRound.Status.CLOSED


# --- meetings this week -----------------------------------------------------------------------


def test_meetings_this_week_are_the_scheduled_ones_under_way_or_in_seven_days(cast):
    now = timezone.now()
    under_way = make_meeting(cast, title="Under way", starts_at=now - HOUR, duration_minutes=90)
    tomorrow = make_meeting(cast, title="Tomorrow", starts_at=now + DAY)
    make_meeting(cast, title="Ended", starts_at=now - 2 * HOUR, duration_minutes=60)
    make_meeting(cast, title="Next week", starts_at=now + 8 * DAY)
    make_meeting(cast, title="Cancelled", starts_at=now + DAY, status=Meeting.Status.CANCELLED)
    make_meeting(cast, title="Other board", starts_at=now + DAY, board=cast.other_board)
    listed = worklist.meetings_this_week(cast.pathologist, now=now)
    assert [m.title for m in listed] == [under_way.title, tomorrow.title]
    assert worklist.meetings_this_week(cast.referrer, now=now) == []


# --- the managers' lists ----------------------------------------------------------------------


def test_managers_triage_their_boards_submitted_cases(cast):
    submitted = make_case(cast, status=S.SUBMITTED)
    make_case(cast, status=S.SUBMITTED, board=cast.other_board)
    make_case(cast, status=S.DRAFT)
    make_case(cast, status=S.IN_REVIEW)
    make_case(cast, status=S.WITHDRAWN)
    for manager in (cast.chair, cast.coordinator):
        assert pseudonyms(worklist.to_triage(manager)) == {submitted.pseudonym}
    assert list(worklist.to_triage(cast.pathologist)) == []
    assert list(worklist.to_triage(cast.other_member)) == []


def test_ready_cases_on_no_coming_agenda_wait_for_a_meeting(cast):
    now = timezone.now()
    waiting = make_case(cast, ready_at=now)
    booked = make_case(cast, status=S.SCHEDULED, ready_at=now)
    put_on_agenda(make_meeting(cast, starts_at=now + DAY), booked, 1)
    cancelled = make_case(cast, ready_at=now)
    gone = make_meeting(cast, starts_at=now + DAY, status=Meeting.Status.CANCELLED)
    put_on_agenda(gone, cancelled, 1)
    missed = make_case(cast, status=S.SCHEDULED, ready_at=now)
    put_on_agenda(make_meeting(cast, starts_at=now - 3 * HOUR, duration_minutes=60), missed, 1)
    under_way = make_case(cast, status=S.SCHEDULED, ready_at=now)
    put_on_agenda(make_meeting(cast, starts_at=now - HOUR, duration_minutes=120), under_way, 1)
    make_case(cast)  # not ready
    make_case(cast, ready_at=now, board=cast.other_board)
    make_case(cast, status=S.DISCUSSED, ready_at=now)
    listed = worklist.ready_without_meeting(cast.coordinator, now=now)
    assert pseudonyms(listed) == pseudonyms([waiting, cancelled, missed])
    assert worklist.ready_without_meeting(cast.pathologist, now=now) == []


def test_managers_see_drafts_to_sign_and_not_signed_ones(cast):
    case, _p, _r = decided_case(cast)
    consensus = draft(cast, case)
    other, _p, _r = decided_case(cast)
    sign(cast, other, draft(cast, other))
    for manager in (cast.chair, cast.coordinator):
        assert [c.pk for c in worklist.consensus_to_sign(manager)] == [consensus.pk]
    assert list(worklist.consensus_to_sign(cast.pathologist)) == []
    assert list(worklist.consensus_to_sign(cast.other_member)) == []


def test_failed_and_abandoned_reports_are_listed_for_the_current_version(cast):
    now = timezone.now()
    case, _p, _r = decided_case(cast)
    signed = sign(cast, case, draft(cast, case))  # its copies stay pending: no on_commit here
    copies = Report.objects.filter(consensus=signed)
    assert copies.count() == 2  # panel and referrer
    assert list(worklist.failed_reports(cast.chair, now=now)) == []  # being generated
    panel = copies.get(audience="panel")
    Report.objects.filter(pk=panel.pk).update(status=Report.Status.FAILED, error="OSError")
    assert [r.pk for r in worklist.failed_reports(cast.chair, now=now)] == [panel.pk]
    later = now + REPORT_PENDING_FOR + HOUR  # the referrer copy's process died
    assert {r.audience for r in worklist.failed_reports(cast.coordinator, now=later)} == {
        "panel",
        "referrer",
    }
    assert list(worklist.failed_reports(cast.pathologist, now=later)) == []
    # A correction supersedes the version: its old copies are history.
    sign(cast, case, draft(cast, case, text="Corrected."))
    # (the new version's copies are pending too, and at ``later`` abandoned: they are listed)
    listed = worklist.failed_reports(cast.chair, now=later)
    assert {r.consensus.version for r in listed} == {2}


# --- the submitter's cases --------------------------------------------------------------------


def test_submitters_see_their_open_cases_drafts_first(cast):
    now = timezone.now()
    in_review = make_case(cast)
    a_draft = make_case(cast, status=S.DRAFT)
    recent = make_case(cast, status=S.CONCLUDED)
    old = make_case(cast, status=S.CONCLUDED)
    Case.objects.filter(pk=old.pk).update(updated_at=now - 40 * DAY)
    make_case(cast, status=S.WITHDRAWN)
    make_case(cast, submitted_by=cast.other_member)
    listed = [c.pseudonym for c in worklist.submitted_cases(cast.referrer, now=now)]
    assert listed[0] == a_draft.pseudonym
    assert set(listed) == pseudonyms([a_draft, in_review, recent])


def _ask(cast, case, by=None):
    return services.request_open(
        access=case_access(by or cast.coordinator, case), text="The MRI of March?", kind="imaging"
    )


def test_open_requests_are_the_submitters_unanswered_ones(cast):
    case = make_case(cast)
    first = _ask(cast, case)
    second = _ask(cast, case, by=cast.radiologist)
    answered = _ask(cast, case)
    services.request_answer(
        access=case_access(cast.referrer, case), request=answered, text="Sent by post."
    )
    withdrawn = _ask(cast, case)
    services.request_withdraw(access=case_access(cast.chair, case), request=withdrawn)
    _ask(cast, make_case(cast, status=S.IN_REVIEW, submitted_by=cast.other_member))
    closed_case = make_case(cast)
    _ask(cast, closed_case)
    Case.objects.filter(pk=closed_case.pk).update(status=S.WITHDRAWN)
    assert list(worklist.open_requests(cast.referrer)) == [first, second]
    assert list(worklist.open_requests(cast.chair)) == []


def test_managers_see_cases_awaiting_information_answers_first(cast):
    waiting = make_case(cast)
    answered = make_case(cast)
    make_case(cast)  # nothing asked
    _ask(cast, waiting)
    services.request_answer(
        access=case_access(cast.referrer, answered), request=_ask(cast, answered), text="Here."
    )
    other_board = make_case(cast, board=cast.other_board)
    add_member(cast.surgeon, cast.other_board)
    _ask(cast, other_board, by=cast.surgeon)
    listed = list(worklist.awaiting_information_cases(cast.coordinator))
    assert [c.pseudonym for c in listed] == [answered.pseudonym, waiting.pseudonym]
    assert [c.has_answer for c in listed] == [True, False]
    assert list(worklist.awaiting_information_cases(cast.pathologist)) == []


# --- the page ---------------------------------------------------------------------------------


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def count_in(html: str, section_id: str) -> int:
    part = section(html, section_id)
    start = part.index('<span class="count">') + len('<span class="count">')
    return int(part[start : part.index("</span>", start)])


def test_chair_home_lists_each_managers_list_with_counts_and_links(cast):
    now = timezone.now()
    submitted = make_case(cast, status=S.SUBMITTED, urgency=Case.Urgency.URGENT)
    ready = make_case(cast, ready_at=now)
    meeting = make_meeting(cast, title="Thursday board", starts_at=now + DAY)
    decided, _p, _r = decided_case(cast)
    draft(cast, decided)
    html = signed_in(cast.chair).get(reverse("home")).content.decode()
    assert count_in(html, "triage") == 1
    assert submitted.pseudonym in section(html, "triage")
    assert "Urgent" in section(html, "triage")
    assert count_in(html, "ready-no-meeting") == 1
    add_link = reverse("meeting-detail", kwargs={"meeting_id": meeting.uuid})
    assert ready.pseudonym in section(html, "ready-no-meeting")
    assert add_link in section(html, "ready-no-meeting")
    assert count_in(html, "consensus-to-sign") == 1
    assert f"/cases/{decided.uuid}/#consensus" in section(html, "consensus-to-sign")
    assert count_in(html, "failed-reports") == 0
    assert "could not be made appears here" in section(html, "failed-reports")
    # The chair is a member too: opinions and votes.
    assert ready.pseudonym in section(html, "awaiting-opinion")
    assert "Thursday board" in section(html, "meetings-week")
    # Nothing clinical on the home page (it is not an audited read): no question, no summary.
    assert submitted.question not in html
    assert submitted.clinical_summary not in html


def test_member_home_has_no_managers_lists(cast):
    make_case(cast, status=S.SUBMITTED)
    case = make_case(cast)
    html = signed_in(cast.pathologist).get(reverse("home")).content.decode()
    for managers_only in ("triage", "ready-no-meeting", "consensus-to-sign", "failed-reports"):
        assert f'id="{managers_only}"' not in html
    assert count_in(html, "awaiting-opinion") == 1
    assert case.pseudonym in section(html, "awaiting-opinion")
    assert count_in(html, "open-votes") == 0


def test_coordinator_home_has_no_opinions_or_votes(cast):
    make_case(cast)
    html = signed_in(cast.coordinator).get(reverse("home")).content.decode()
    assert 'id="awaiting-opinion"' not in html
    assert 'id="open-votes"' not in html
    assert 'id="triage"' in html


def test_referrer_home_shows_their_cases_with_next_step_and_turnaround(cast):
    cast.board.turnaround_days = 10
    cast.board.save()
    submitted = make_case(cast, status=S.SUBMITTED)
    make_case(cast, status=S.SUBMITTED, submitted_by=cast.other_member)
    html = signed_in(cast.referrer).get(reverse("home")).content.decode()
    mine = section(html, "your-cases")
    assert count_in(html, "your-cases") == 1
    assert submitted.pseudonym in mine
    assert "coordinator checks the case" in mine
    assert "10 working days" in mine
    assert count_in(html, "open-requests") == 0
    asked = _ask(cast, submitted)
    html = signed_in(cast.referrer).get(reverse("home")).content.decode()
    assert count_in(html, "open-requests") == 1
    row = section(html, "open-requests")
    assert f"/cases/{submitted.uuid}/#request-{asked.uuid}" in row
    assert submitted.pseudonym in row
    assert asked.text not in html  # clinical text stays behind the audited case page
    for not_theirs in ("triage", "awaiting-opinion", "open-votes", "meetings-week"):
        assert f'id="{not_theirs}"' not in html


def test_patient_home_shows_their_request_in_plain_words(cast):
    make_case(cast, status=S.IN_REVIEW, submitted_by=cast.patient)
    html = signed_in(cast.patient).get(reverse("home")).content.decode()
    mine = section(html, "your-cases")
    assert "Your requests" in mine
    assert "Your request to Sarcoma Board" in mine
    assert "Doctors of several specialties" in mine
    assert 'data-reader="patient"' in mine


def populate(cast, n: int) -> None:
    """n rows in every list of the chair's home page."""
    now = timezone.now()
    for i in range(n):
        make_case(cast, status=S.SUBMITTED)
        make_case(cast, ready_at=now)
        make_case(cast, status=S.SUBMITTED, submitted_by=cast.chair)
        case, _proposal, _round = decided_case(cast)
        draft(cast, case)
        voting = make_case(cast, status=S.SCHEDULED)
        propose(cast, voting)
        open_round(cast, voting)
        make_meeting(cast, title=f"Meeting {i}", starts_at=now + DAY + i * HOUR)


def test_home_queries_do_not_grow_with_the_work(cast, django_assert_max_num_queries):
    populate(cast, 1)
    client = signed_in(cast.chair)
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("home"))
    populate(cast, 6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(reverse("home")).content.decode()
    assert count_in(html, "triage") == 14  # the chair's own submissions are triaged too
    assert count_in(html, "open-votes") == 7
    assert count_in(html, "consensus-to-sign") == 7
    assert count_in(html, "your-cases") == 7


# --- navigation -------------------------------------------------------------------------------


def nav(html: str) -> str:
    start = html.index('class="site-nav"')
    return html[start : html.index("</nav>", start)]


def test_navigation_reaches_queue_meetings_and_boards_for_board_members(cast):
    html = nav(signed_in(cast.coordinator).get(reverse("home")).content.decode())
    for name in ("queue", "meeting-list", "board-list", "my-cases"):
        assert f'href="{reverse(name)}"' in html


@pytest.mark.parametrize("who", ["referrer", "patient", "expert"])
def test_navigation_of_those_without_a_seat_has_their_cases_only(cast, who):
    html = nav(signed_in(getattr(cast, who)).get(reverse("home")).content.decode())
    assert f'href="{reverse("my-cases")}"' in html
    for name in ("queue", "meeting-list", "board-list"):
        assert f'href="{reverse(name)}"' not in html


def test_the_current_section_is_marked_in_the_navigation(cast):
    client = signed_in(cast.chair)
    queue = reverse("board-queue", kwargs={"board_id": cast.board.uuid})
    html = nav(client.get(queue).content.decode())
    assert f'href="{reverse("queue")}" aria-current="page"' in html
    assert html.count('aria-current="page"') == 1
    html = nav(client.get(reverse("meeting-list")).content.decode())
    assert f'href="{reverse("meeting-list")}" aria-current="page"' in html


def test_queue_goes_straight_to_the_only_boards_queue(cast):
    response = signed_in(cast.pathologist).get(reverse("queue"))
    assert response.status_code == 302
    assert response["Location"] == reverse("board-queue", kwargs={"board_id": cast.board.uuid})


def test_queue_with_several_boards_lets_the_user_pick_with_counts(cast):
    add_member(cast.pathologist, cast.other_board)
    make_case(cast, status=S.SUBMITTED)
    make_case(cast, status=S.IN_REVIEW)
    make_case(cast, status=S.IN_REVIEW)
    make_case(cast, status=S.DRAFT)  # the submitter's alone
    make_case(cast, status=S.IN_REVIEW, board=cast.other_board)
    make_case(cast, status=S.IN_REVIEW, board=make_board("Not mine"))
    response = signed_in(cast.pathologist).get(reverse("queue"))
    assert response.status_code == 200
    html = response.content.decode()
    rows = {
        row.split("</a>")[0].rsplit(">", 1)[1]: row for row in html.split('<th scope="row">')[1:]
    }
    assert set(rows) == {cast.board.name, cast.other_board.name}
    cells = lambda row: [c.split("</td>")[0] for c in row.split("<td>")[1:]]  # noqa: E731
    assert cells(rows[cast.board.name]) == ["1", "2", "0", "0"]
    assert cells(rows[cast.other_board.name]) == ["0", "1", "0", "0"]


def test_queue_without_a_seat_says_so(cast):
    response = signed_in(cast.referrer).get(reverse("queue"))
    assert response.status_code == 200
    assert "no seat on a board" in response.content.decode()


def test_meetings_page_lists_the_coming_meetings_of_all_the_users_boards(cast):
    now = timezone.now()
    add_member(cast.pathologist, cast.other_board)
    make_meeting(cast, title="Sarcoma soon", starts_at=now + DAY)
    make_meeting(
        cast, title="Head and neck later", starts_at=now + 40 * DAY, board=cast.other_board
    )
    make_meeting(cast, title="Held long ago", starts_at=now - 30 * DAY)
    make_meeting(cast, title="Called off", starts_at=now + DAY, status=Meeting.Status.CANCELLED)
    make_meeting(cast, title="Not my board", starts_at=now + DAY, board=make_board("Elsewhere"))
    html = signed_in(cast.pathologist).get(reverse("meeting-list")).content.decode()
    listing = html[
        html.index('id="meeting-list"') : html.index("</ul>", html.index('id="meeting-list"'))
    ]
    assert listing.index("Sarcoma soon") < listing.index("Head and neck later")
    for absent in ("Held long ago", "Called off", "Not my board"):
        assert absent not in listing


def test_boards_page_without_a_seat_says_so(cast):
    html = signed_in(cast.referrer).get(reverse("board-list")).content.decode()
    assert "no seat on a board" in html
    assert cast.board.name not in html


@pytest.mark.parametrize("name", ["queue", "meeting-list", "board-list"])
def test_navigation_pages_refuse_post_and_need_sign_in(cast, client, name):
    assert signed_in(cast.chair).post(reverse(name)).status_code == 405
    response = client.get(reverse(name))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_an_invited_expert_without_a_seat_still_gets_their_list(cast):
    outsider_board_expert = make_user("visiting", specialty="pathology")
    case = make_case(cast)
    invite(cast, case, expert=outsider_board_expert)
    html = signed_in(outsider_board_expert).get(reverse("home")).content.decode()
    assert case.pseudonym in section(html, "awaiting-opinion")
