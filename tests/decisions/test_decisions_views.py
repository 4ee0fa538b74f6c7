"""The decisions panel and its forms over HTTP: happy paths and every refusal."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from board.models import Board
from cases.models import AuditEvent, Case
from decisions.models import Consensus, Proposal, Vote, VoteRound
from tests.cases.factories import invite, make_case
from tests.cast import PASSWORD
from tests.decisions.factories import (
    RADIOTHERAPY,
    SURGERY,
    decided_case,
    draft,
    open_round,
    propose,
    sign,
    vote,
)
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


def url(name, case, **kwargs):
    return reverse(name, kwargs={"case_id": case.uuid, **kwargs})


def page(user, case) -> str:
    response = signed_in(user).get(url("case-detail", case))
    assert response.status_code == 200
    return response.content.decode()


def proposal_post(data=SURGERY):
    return {f"proposal-{k}": v for k, v in data.items()}


def ballot_post(round_, **positions):
    """positions: proposal number -> agree/disagree/abstain, e.g. p1="agree"."""
    data = {}
    for proposal in round_.proposals.all():
        data[f"vote-p-{proposal.uuid}"] = positions.get(f"p{proposal.number}", "abstain")
    return data


# --- the panel on the case page ---------------------------------------------------------------


def test_members_see_proposals_and_the_vote_form(cast):
    case = make_case(cast)
    propose(cast, case)
    round_ = open_round(cast, case)
    html = page(cast.pathologist, case)
    assert 'id="decisions"' in html and "data-panel-url" in html
    assert "Wide <strong>en bloc</strong> resection." in html
    assert "section 4.2" in html
    assert f'action="{url("vote-cast", case, round_id=round_.uuid)}"' in html
    assert "The tally is hidden until the vote closes." in html
    assert 'id="tally"' not in html


def test_proposal_markup_is_sanitised(cast):
    case = make_case(cast)
    propose(cast, case, {**SURGERY, "text": "<script>alert(1)</script>[x](javascript:alert(1))"})
    html = page(cast.surgeon, case)
    start = html.index('id="proposals"')
    assert "<script>alert" not in html[start:] and "javascript:" not in html[start:]


def test_experts_see_the_panel_but_get_no_ballot(cast):
    case = make_case(cast)
    invite(cast, case)
    propose(cast, case)
    open_round(cast, case)
    html = page(cast.expert, case)
    assert "Add a proposal" in html
    assert 'id="vote-form"' not in html
    assert "Only board members vote." in html


def test_live_tally_shows_counts_but_not_who_voted_what(cast):
    cast.board.tally_visibility = Board.TallyVisibility.LIVE
    cast.board.save()
    case = make_case(cast)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    vote(cast.surgeon, case, round_, disagree=[p1], comment="Not resectable.")
    html = page(cast.pathologist, case)
    assert 'id="tally"' in html
    assert "1 of 5 members has voted" in html
    assert "Not resectable." not in html


def test_closed_round_shows_outcome_tally_and_dissent(cast):
    case, *_ = decided_case(cast)
    html = page(cast.pathologist, case)
    assert "Proposal adopted" in html
    assert 'id="tally"' in html and 'id="dissent"' in html
    assert "Margins unlikely without RT." in html
    assert "Open a new round" not in html  # the chair's button only
    assert "Open a new round" in page(cast.chair, case)


def test_referrer_sees_only_the_signed_recommendation(cast):
    case, *_ = decided_case(cast)
    consensus = draft(cast, case, text="Board recommends **resection**.")
    html = page(cast.referrer, case)
    assert "Board recommends" not in html and 'id="proposals"' not in html
    sign(cast, case, consensus)
    html = page(cast.referrer, case)
    assert "Board recommends <strong>resection</strong>." in html
    assert "Signed by" in html
    assert 'id="proposals"' not in html and "Margins unlikely" not in html


def test_panel_fragment_has_the_same_rules(cast):
    case = make_case(cast)
    propose(cast, case)
    response = signed_in(cast.pathologist).get(url("decision-panel", case), **FETCH)
    assert response.status_code == 200
    assert 'id="proposals"' in response.content.decode()
    assert "<html" not in response.content.decode()
    assert signed_in(cast.outsider).get(url("decision-panel", case), **FETCH).status_code == 404
    assert signed_in(cast.outsider).get(url("decision-panel", case)).status_code == 404
    assert signed_in(cast.other_member).get(url("decision-panel", case)).status_code == 404


def test_panel_url_opened_directly_is_a_whole_page(cast):
    # A fragment is no page (issue #19): no title, no language, no landmarks.
    case = make_case(cast)
    propose(cast, case)
    response = signed_in(cast.pathologist).get(url("decision-panel", case))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "<h1>" in html and '<main id="main"' in html
    assert 'id="proposals"' in html
    assert "X-Requested-With" in response["Vary"]


def test_failed_proposal_shows_an_error_summary_linked_to_the_field(cast):
    case = make_case(cast)
    response = signed_in(cast.surgeon).post(
        url("proposal-create", case), {"proposal-category": "surgery", "proposal-text": ""}, **FETCH
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "data-error-summary" in html
    assert 'href="#id_proposal-text"' in html
    # The field names its error, and says it is invalid.
    assert re.search(r'<textarea[^>]*aria-describedby="[^"]*id_proposal-text_error', html)
    assert 'id="id_proposal-text_error"' in html and 'aria-invalid="true"' in html


def test_panel_costs_the_same_queries_with_more_proposals_and_votes(cast):
    def queries(case):
        client = signed_in(cast.chair)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("decision-panel", case)).status_code == 200
        return len(captured)

    small, *_ = decided_case(cast)
    big = make_case(cast)
    proposals = [propose(cast, big, SURGERY), propose(cast, big, RADIOTHERAPY)]
    proposals += [propose(cast, big, RADIOTHERAPY) for _ in range(4)]
    round_ = open_round(cast, big)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon):
        vote(user, big, round_, agree=proposals[:1], disagree=proposals[1:])
    vote(cast.radiologist, big, round_, agree=proposals[1:], disagree=proposals[:1])
    VoteRound.objects.filter(pk=round_.pk).update(deadline=timezone.now())  # no ballot form
    from decisions import services as actions

    actions.vote_rounds_close_due()
    assert queries(big) == queries(small)


# --- proposals --------------------------------------------------------------------------------


def test_member_proposes_through_the_form(cast):
    case = make_case(cast)
    response = signed_in(cast.surgeon).post(url("proposal-create", case), proposal_post())
    assert response.status_code == 302 and response["Location"].endswith("#decisions")
    proposal = Proposal.objects.get()
    assert (proposal.number, proposal.author, proposal.category) == (1, cast.surgeon, "surgery")


def test_fetch_post_answers_with_the_panel(cast):
    case = make_case(cast)
    client = signed_in(cast.surgeon)
    response = client.post(url("proposal-create", case), proposal_post(), **FETCH)
    assert response.status_code == 200
    assert "Proposal P1 added." in response.content.decode()
    bad = client.post(url("proposal-create", case), {"proposal-text": "x"}, **FETCH)
    assert bad.status_code == 400
    assert 'class="field field-invalid"' in bad.content.decode()
    assert Proposal.objects.count() == 1


def test_withdraw_through_the_form(cast):
    case = make_case(cast)
    proposal = propose(cast, case)
    target = url("proposal-withdraw", case, proposal_id=proposal.uuid)
    assert signed_in(cast.radiologist).post(target).status_code == 403
    assert signed_in(cast.surgeon).post(target).status_code == 302
    proposal.refresh_from_db()
    assert proposal.withdrawn_at is not None
    assert signed_in(cast.surgeon).post(target).status_code == 409


# --- votes ------------------------------------------------------------------------------------


def test_chair_opens_a_vote_members_vote_chair_closes(cast):
    case = make_case(cast)
    p1 = propose(cast, case)
    deadline = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    chair = signed_in(cast.chair)
    assert chair.post(url("vote-round-open", case), {"round-deadline": deadline}).status_code == 302
    round_ = VoteRound.objects.get()
    for user in (cast.chair, *cast.members):
        response = signed_in(user).post(
            url("vote-cast", case, round_id=round_.uuid), ballot_post(round_, p1="agree")
        )
        assert response.status_code == 302
    html = page(cast.surgeon, case)
    assert "You voted on" in html and 'id="vote-form"' not in html
    assert chair.post(url("vote-round-close", case, round_id=round_.uuid)).status_code == 302
    round_.refresh_from_db()
    assert (round_.result, round_.winner) == ("adopted", p1)


def test_opening_without_deadline_or_meeting_is_refused(cast):
    case = make_case(cast)
    propose(cast, case)
    response = signed_in(cast.chair).post(url("vote-round-open", case), {}, **FETCH)
    assert response.status_code == 400
    assert "Choose the meeting or set a deadline." in response.content.decode()
    assert not VoteRound.objects.exists()


def test_single_choice_ballot_through_the_form(cast):
    cast.board.vote_mode = Board.VoteMode.SINGLE_CHOICE
    cast.board.save()
    case = make_case(cast)
    p1, _ = propose(cast, case), propose(cast, case, RADIOTHERAPY)
    round_ = open_round(cast, case)
    target = url("vote-cast", case, round_id=round_.uuid)
    assert signed_in(cast.surgeon).post(target, {"vote-choice": str(p1.uuid)}).status_code == 302
    assert signed_in(cast.oncologist).post(target, {"vote-choice": "abstain"}).status_code == 302
    assert [v.choice for v in Vote.objects.order_by("cast_at")] == [p1, None]


def test_a_vote_after_close_is_409_and_writes_nothing(cast):
    case = make_case(cast)
    propose(cast, case)
    round_ = open_round(cast, case)
    signed_in(cast.chair).post(url("vote-round-close", case, round_id=round_.uuid))
    target = url("vote-cast", case, round_id=round_.uuid)
    plain = signed_in(cast.surgeon).post(target, ballot_post(round_, p1="agree"))
    assert plain.status_code == 409
    assert "This vote is closed." in plain.content.decode()
    fetched = signed_in(cast.surgeon).post(target, ballot_post(round_, p1="agree"), **FETCH)
    assert fetched.status_code == 409 and "data-panel-error" in fetched.content.decode()
    assert not Vote.objects.exists()
    denials = AuditEvent.objects.filter(action="vote.cast", outcome="denied")
    assert denials.count() == 2 and denials.first().detail["status"] == 409


def test_a_vote_after_the_deadline_is_409(cast):
    case = make_case(cast)
    propose(cast, case)
    round_ = open_round(cast, case)
    VoteRound.objects.filter(pk=round_.pk).update(deadline=timezone.now())
    response = signed_in(cast.surgeon).post(
        url("vote-cast", case, round_id=round_.uuid), ballot_post(round_, p1="agree")
    )
    assert response.status_code == 409
    assert not Vote.objects.exists()


def test_a_second_ballot_is_409(cast):
    case = make_case(cast)
    propose(cast, case)
    round_ = open_round(cast, case)
    target = url("vote-cast", case, round_id=round_.uuid)
    client = signed_in(cast.surgeon)
    assert client.post(target, ballot_post(round_, p1="agree")).status_code == 302
    assert client.post(target, ballot_post(round_, p1="disagree")).status_code == 409
    assert Vote.objects.get().positions.get().position == "agree"


def test_reopening_through_the_form_starts_round_two(cast):
    case, *_ = decided_case(cast)
    deadline = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = signed_in(cast.chair).post(
        url("vote-round-open", case), {"round-deadline": deadline}
    )
    assert response.status_code == 302
    assert list(VoteRound.objects.values_list("number", "status")) == [
        (1, "closed"),
        (2, "open"),
    ]
    again = signed_in(cast.chair).post(url("vote-round-open", case), {"round-deadline": deadline})
    assert again.status_code == 409  # one open round at a time


def test_closing_a_closed_round_is_409(cast):
    case, _, round_ = decided_case(cast)
    response = signed_in(cast.chair).post(url("vote-round-close", case, round_id=round_.uuid))
    assert response.status_code == 409


# --- consensus --------------------------------------------------------------------------------


def consensus_post(**changes):
    data = {**SURGERY, "text": "Resection.", **changes}
    return {f"consensus-{k}": v for k, v in data.items()}


def test_draft_form_is_prefilled_from_the_adopted_proposal(cast):
    case, *_ = decided_case(cast)
    html = page(cast.chair, case)
    start = html.index('id="consensus-form"')
    assert "Wide **en bloc** resection." in html[start:]


def test_chair_drafts_then_signs_with_password(cast):
    case, *_ = decided_case(cast)
    chair = signed_in(cast.chair)
    assert chair.post(url("consensus-draft", case), consensus_post()).status_code == 302
    consensus = Consensus.objects.get()
    target = url("consensus-sign", case, consensus_id=consensus.uuid)
    wrong = chair.post(target, {"sign-password": "guess"}, **FETCH)
    assert wrong.status_code == 400
    assert "That is not your password. Nothing was signed." in wrong.content.decode()
    consensus.refresh_from_db()
    assert not consensus.is_signed
    assert AuditEvent.objects.filter(action="consensus.sign", outcome="denied").count() == 1
    assert chair.post(target, {"sign-password": PASSWORD}).status_code == 302
    consensus.refresh_from_db()
    assert consensus.signed_by == cast.chair
    assert Case.objects.get(pk=case.pk).status == "concluded"


def test_a_signed_consensus_is_immutable_through_every_view(cast, admin_client):
    case, *_ = decided_case(cast)
    consensus = sign(cast, case, draft(cast, case, text="Final."))
    chair = signed_in(cast.chair)
    resign = chair.post(
        url("consensus-sign", case, consensus_id=consensus.uuid), {"sign-password": PASSWORD}
    )
    assert resign.status_code == 409
    # Saving a draft now starts a correction: a new version, the signed one untouched.
    assert chair.post(url("consensus-draft", case), consensus_post(text="New.")).status_code == 302
    admin_url = reverse("admin:decisions_consensus_change", args=[consensus.pk])
    response = admin_client.post(admin_url, consensus_post(text="Admin edit."))
    assert response.status_code == 403
    assert 'name="text"' not in admin_client.get(admin_url).content.decode()  # read-only
    delete_url = reverse("admin:decisions_consensus_delete", args=[consensus.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    consensus.refresh_from_db()
    assert (consensus.text, consensus.version) == ("Final.", 1)
    correction = Consensus.objects.get(version=2)
    assert (correction.text, correction.supersedes, correction.is_signed) == (
        "New.",
        consensus,
        False,
    )


def test_the_admin_still_edits_a_draft(cast, admin_client):
    case, *_ = decided_case(cast)
    consensus = draft(cast, case)
    html = admin_client.get(reverse("admin:decisions_consensus_change", args=[consensus.pk]))
    assert 'name="text"' in html.content.decode()


def test_co_sign_through_the_form(cast):
    case, *_ = decided_case(cast)
    consensus = sign(cast, case, draft(cast, case))
    assert 'id="id_cosign-password"' in page(cast.surgeon, case)
    target = url("consensus-cosign", case, consensus_id=consensus.uuid)
    assert signed_in(cast.surgeon).post(target, {"cosign-password": PASSWORD}).status_code == 302
    assert consensus.cosignatures.get().signer == cast.surgeon
    html = page(cast.pathologist, case)
    assert "Co-signed by" in html and cast.surgeon.display_name in html
    assert signed_in(cast.surgeon).post(target, {"cosign-password": PASSWORD}).status_code == 409
    assert (
        signed_in(cast.coordinator).post(target, {"cosign-password": PASSWORD}).status_code == 403
    )


# --- refusals, for every URL ------------------------------------------------------------------


@pytest.fixture
def urls(cast):
    """Every decision URL with a valid body, on a case with a round and a draft."""
    case, p1, _ = decided_case(cast)
    propose(cast, case, RADIOTHERAPY)
    round_ = open_round(cast, case)
    consensus = draft(cast, case)
    deadline = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    return {
        "proposal-create": (url("proposal-create", case), proposal_post(), "surgeon"),
        "proposal-withdraw": (
            url("proposal-withdraw", case, proposal_id=p1.uuid),
            {},
            "chair",
        ),
        "vote-round-open": (url("vote-round-open", case), {"round-deadline": deadline}, "chair"),
        "vote-cast": (
            url("vote-cast", case, round_id=round_.uuid),
            ballot_post(round_, p1="agree"),
            "surgeon",
        ),
        "vote-round-close": (url("vote-round-close", case, round_id=round_.uuid), {}, "chair"),
        "consensus-draft": (url("consensus-draft", case), consensus_post(), "chair"),
        "consensus-sign": (
            url("consensus-sign", case, consensus_id=consensus.uuid),
            {"sign-password": PASSWORD},
            "chair",
        ),
        "consensus-cosign": (
            url("consensus-cosign", case, consensus_id=consensus.uuid),
            {"cosign-password": PASSWORD},
            "surgeon",
        ),
    }


def state():
    return (
        Proposal.objects.filter(withdrawn_at__isnull=True).count(),
        list(VoteRound.objects.values_list("status", flat=True)),
        Vote.objects.count(),
        list(Consensus.objects.values_list("text", "signed_at")),
    )


NAMES = [
    "proposal-create",
    "proposal-withdraw",
    "vote-round-open",
    "vote-cast",
    "vote-round-close",
    "consensus-draft",
    "consensus-sign",
    "consensus-cosign",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("who", ["outsider", "other_member"])
def test_outsiders_get_404_and_change_nothing(cast, urls, name, who):
    table = urls
    target, data, _ = table[name]
    before = state()
    assert signed_in(getattr(cast, who)).post(target, data).status_code == 404
    assert state() == before
    assert AuditEvent.objects.filter(actor=getattr(cast, who), outcome="denied").exists()


WRONG_ROLE = {
    "proposal-create": "referrer",
    "proposal-withdraw": "radiologist",
    "vote-round-open": "pathologist",
    "vote-cast": "coordinator",
    "vote-round-close": "surgeon",
    "consensus-draft": "oncologist",
    "consensus-sign": "pathologist",
    "consensus-cosign": "referrer",
}


@pytest.mark.parametrize("name", NAMES)
def test_wrong_role_gets_403_and_changes_nothing(cast, urls, name):
    table = urls
    target, data, _ = table[name]
    before = state()
    user = getattr(cast, WRONG_ROLE[name])
    assert signed_in(user).post(target, data).status_code == 403
    assert state() == before
    assert AuditEvent.objects.filter(actor=user, outcome="denied").exists()


@pytest.mark.parametrize("name", NAMES)
def test_get_is_405(cast, urls, name):
    table = urls
    target, _, who = table[name]
    assert signed_in(getattr(cast, who)).get(target).status_code == 405


@pytest.mark.parametrize("name", NAMES)
def test_missing_csrf_is_403_and_changes_nothing(cast, urls, name):
    table = urls
    target, data, who = table[name]
    before = state()
    client = signed_in(getattr(cast, who), enforce_csrf_checks=True)
    assert client.post(target, data).status_code == 403
    assert state() == before


def test_the_right_person_succeeds_on_every_url(cast, urls):
    # The same table, posted by the right people in an order that works: the refusals above
    # are refusals, not broken requests.
    table = urls
    order = [
        "proposal-create",
        "vote-cast",
        "vote-round-close",
        "proposal-withdraw",
        "vote-round-open",
        "consensus-draft",
        "consensus-sign",
        "consensus-cosign",
    ]
    for name in order:
        target, data, who = table[name]
        response = signed_in(getattr(cast, who)).post(target, data, **FETCH)
        assert response.status_code == 200, (name, response.content.decode()[:300])


def test_anonymous_is_sent_to_login(cast, urls):
    table = urls
    target, data, _ = table["vote-cast"]
    response = Client().post(target, data)
    assert response.status_code == 302 and "login" in response["Location"]
