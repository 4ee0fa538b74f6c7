"""A vote opened live in a meeting takes ballots from the members present in it (issue #16):
present is the meeting's attendance (an open join with a recent heartbeat), unless the board
lets absent members vote, a rule the round copies when it opens and the ballot states. Votes
by deadline are unchanged."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from cases.models import Case
from decisions.models import Vote
from meetings.models import PRESENCE_TIMEOUT, Attendance
from tests.cases.factories import make_case
from tests.decisions.factories import make_meeting, open_round, propose, vote
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(cast):
    """A scheduled case with one proposal, on a meeting's agenda, and a live vote open."""
    case = make_case(cast, status=Case.Status.SCHEDULED)
    p1 = propose(cast, case)
    meeting = make_meeting(cast, case)
    round_ = open_round(cast, case, deadline=None, meeting=meeting)
    return case, p1, meeting, round_


def join(meeting, user, **fields) -> Attendance:
    now = timezone.now()
    fields.setdefault("seen_at", now)
    return Attendance.objects.create(meeting=meeting, user=user, joined_at=now, **fields)


def test_a_member_present_in_the_meeting_votes(cast, live):
    case, p1, meeting, round_ = live
    join(meeting, cast.pathologist)
    vote(cast.pathologist, case, round_, agree=[p1])
    assert Vote.objects.filter(round=round_, voter=cast.pathologist).exists()


@pytest.mark.parametrize(
    "attendance",
    [
        None,  # never joined
        {"left_at": "now"},  # joined and left
        {"seen_at": "stale"},  # a socket whose process died: no heartbeat for too long
    ],
)
def test_a_member_not_present_cannot_vote_live(cast, live, attendance):
    case, p1, meeting, round_ = live
    if attendance is not None:
        now = timezone.now()
        earlier = now - PRESENCE_TIMEOUT - datetime.timedelta(seconds=5)
        row = join(meeting, cast.pathologist)
        Attendance.objects.filter(pk=row.pk).update(
            joined_at=earlier,
            left_at=now if attendance.get("left_at") else None,
            seen_at=earlier if attendance.get("seen_at") else now,
        )
    join(meeting, cast.surgeon)  # someone else being there does not count for the pathologist
    with pytest.raises(ValidationError, match="only the members present in it vote"):
        vote(cast.pathologist, case, round_, agree=[p1])
    assert not Vote.objects.filter(round=round_, voter=cast.pathologist).exists()


def test_the_vote_view_refuses_an_absent_member_with_the_reason(cast, live):
    case, p1, _meeting, round_ = live
    response = signed_in(cast.oncologist).post(
        reverse("vote-cast", kwargs={"case_id": case.uuid, "round_id": round_.uuid}),
        {f"vote-p-{p1.uuid}": "agree"},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 400
    assert "only the members present in it vote" in response.content.decode()
    assert not round_.votes.exists()


def test_the_board_may_let_absent_members_vote_and_the_round_keeps_its_rule(cast):
    cast.board.absentees_vote_live = True
    cast.board.save(update_fields=["absentees_vote_live"])
    case = make_case(cast, status=Case.Status.SCHEDULED)
    p1 = propose(cast, case)
    round_ = open_round(cast, case, deadline=None, meeting=make_meeting(cast, case))
    # Changing the board's setting does not change a vote under way.
    cast.board.absentees_vote_live = False
    cast.board.save(update_fields=["absentees_vote_live"])
    round_.refresh_from_db()
    vote(cast.pathologist, case, round_, agree=[p1])
    assert round_.votes.count() == 1


def test_a_vote_by_deadline_takes_ballots_from_anyone_on_the_board(cast):
    case = make_case(cast, status=Case.Status.SCHEDULED)
    p1 = propose(cast, case)
    make_meeting(cast, case)  # on an agenda, but the vote is not the meeting's
    round_ = open_round(cast, case)
    vote(cast.pathologist, case, round_, agree=[p1])
    assert round_.votes.count() == 1


def panel(user, case, **params) -> str:
    url = reverse("decision-panel", kwargs={"case_id": case.uuid})
    return signed_in(user).get(url, params).content.decode()


def test_the_ballot_says_which_rule_applies(cast, live):
    case, _p1, meeting, _round = live
    html = panel(cast.pathologist, case)
    assert 'data-vote-rule="present"' in html
    assert "only the members present in the meeting vote" in html
    # Absent, on the case page: told, with the way in.
    assert 'id="vote-absent"' in html
    assert reverse("meeting-live", kwargs={"meeting_id": meeting.uuid}) in html
    # The live page's own panel (?meeting=) is read by someone joining: no warning there.
    assert 'id="vote-absent"' not in panel(cast.pathologist, case, meeting=str(meeting.uuid))
    join(meeting, cast.pathologist)
    assert 'id="vote-absent"' not in panel(cast.pathologist, case)


def test_the_ballot_says_when_absent_members_may_vote(cast):
    cast.board.absentees_vote_live = True
    cast.board.save(update_fields=["absentees_vote_live"])
    case = make_case(cast, status=Case.Status.SCHEDULED)
    propose(cast, case)
    open_round(cast, case, deadline=None, meeting=make_meeting(cast, case))
    html = panel(cast.pathologist, case)
    assert 'data-vote-rule="anyone"' in html
    assert 'id="vote-absent"' not in html


def test_a_ballot_by_deadline_states_no_live_rule(cast):
    case = make_case(cast, status=Case.Status.SCHEDULED)
    propose(cast, case)
    open_round(cast, case)
    html = panel(cast.pathologist, case)
    assert 'id="vote-form"' in html
    assert "data-vote-rule" not in html


def test_the_board_settings_page_sets_the_rule(cast):
    client = signed_in(cast.chair)
    url = reverse("board-settings", kwargs={"board_id": cast.board.uuid})
    form = client.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v not in (None, False)}
    data["absentees_vote_live"] = "on"
    assert client.post(url, data).status_code == 302
    cast.board.refresh_from_db()
    assert cast.board.absentees_vote_live is True
