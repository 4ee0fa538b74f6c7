"""Proposals, vote rounds and the signed consensus, through the services."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from board.models import Board
from cases.models import AuditEvent, Case
from decisions import reports
from decisions import services as actions
from decisions.models import Consensus, ConsensusCosignature, Proposal, Vote, VoteChoice, VoteRound
from decisions.report_data import report_data
from meetings.models import Meeting
from realtime import publish
from tests.cases.factories import invite, make_case
from tests.cast import PASSWORD
from tests.decisions.factories import (
    RADIOTHERAPY,
    SURGERY,
    access,
    close,
    decided_case,
    draft,
    make_meeting,
    open_round,
    propose,
    sign,
    vote,
)

pytestmark = pytest.mark.django_db


# --- proposals --------------------------------------------------------------------------------


def test_proposals_are_numbered_per_case_with_the_authors_specialty(cast):
    case = make_case(cast)
    first = propose(cast, case)
    second = propose(cast, case, RADIOTHERAPY, by=cast.oncologist)
    other = propose(cast, make_case(cast))
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert (first.author_specialty, second.author_specialty) == (
        "surgical_oncology",
        "medical_oncology",
    )
    assert first.guideline_reference == "section 4.2"
    assert AuditEvent.objects.filter(action="proposal.create", outcome="allowed").count() == 3


def test_invited_expert_may_propose(cast):
    case = make_case(cast)
    invite(cast, case)
    assert propose(cast, case, by=cast.expert).author_specialty == "pathology"


@pytest.mark.parametrize("who", ["referrer", "outsider", "other_member"])
def test_non_panelists_may_not_propose(cast, who):
    case = make_case(cast)
    with pytest.raises(PermissionDenied):
        propose(cast, case, by=getattr(cast, who))
    assert not Proposal.objects.exists()


@pytest.mark.parametrize("status", ["submitted", "discussed", "concluded", "withdrawn"])
def test_proposals_only_while_in_review_or_scheduled(cast, status):
    case = make_case(cast, status=status)
    with pytest.raises(PermissionDenied):
        propose(cast, case)


def test_bad_category_is_refused(cast):
    case = make_case(cast)
    with pytest.raises(ValidationError):
        propose(cast, case, {**SURGERY, "category": "homeopathy"})
    assert not Proposal.objects.exists()


def test_a_proposal_on_an_open_ballot_cannot_be_withdrawn(cast):
    case = make_case(cast)
    p1 = propose(cast, case)
    open_round(cast, case)
    with pytest.raises(actions.Conflict):
        actions.proposal_withdraw(access=access(cast.surgeon, case), proposal=p1)
    p1.refresh_from_db()
    assert p1.withdrawn_at is None


def test_withdrawn_proposals_stay_off_the_next_ballot(cast):
    case = make_case(cast)
    p1, p2 = propose(cast, case), propose(cast, case, RADIOTHERAPY)
    with pytest.raises(PermissionDenied):  # neither the author nor the chair
        actions.proposal_withdraw(access=access(cast.radiologist, case), proposal=p1)
    actions.proposal_withdraw(access=access(cast.chair, case), proposal=p1)
    round_ = open_round(cast, case)
    assert list(round_.proposals.all()) == [p2]


# --- opening a vote ---------------------------------------------------------------------------


def test_opening_copies_the_boards_rules(cast):
    board = cast.board
    board.vote_mode = Board.VoteMode.SINGLE_CHOICE
    board.consensus_rule = Board.ConsensusRule.QUALIFIED_MAJORITY
    board.qualified_majority = Board.QualifiedMajority.THREE_QUARTERS
    board.tally_visibility = Board.TallyVisibility.LIVE
    board.save()
    case = make_case(cast)
    propose(cast, case)
    round_ = open_round(cast, case)
    assert (round_.number, round_.status, round_.vote_mode) == (1, "open", "single_choice")
    assert (round_.consensus_rule, round_.qualified_majority) == ("qualified_majority", "3/4")
    board.vote_mode = Board.VoteMode.PER_PROPOSAL
    board.save()
    round_.refresh_from_db()
    assert round_.vote_mode == "single_choice"  # a vote under way keeps its rules


@pytest.mark.parametrize("who", ["pathologist", "expert", "referrer"])
def test_only_the_chair_or_coordinator_opens_a_vote(cast, who):
    case = make_case(cast)
    invite(cast, case)
    propose(cast, case)
    with pytest.raises(PermissionDenied):
        actions.vote_round_open(
            access=access(getattr(cast, who), case),
            deadline=timezone.now() + datetime.timedelta(days=1),
        )
    actions.vote_round_open(
        access=access(cast.coordinator, case),
        deadline=timezone.now() + datetime.timedelta(days=1),
    )
    assert VoteRound.objects.count() == 1


def test_a_vote_needs_a_proposal_and_a_deadline_or_a_meeting(cast):
    case = make_case(cast)
    with pytest.raises(ValidationError, match="proposal"):
        open_round(cast, case)
    propose(cast, case)
    with pytest.raises(ValidationError, match="deadline"):
        open_round(cast, case, deadline=None)
    with pytest.raises(ValidationError, match="future"):
        open_round(cast, case, deadline=timezone.now() - datetime.timedelta(minutes=1))
    assert not VoteRound.objects.exists()


def test_a_live_vote_belongs_to_a_meeting_with_the_case_on_its_agenda(cast):
    case = make_case(cast, status=Case.Status.SCHEDULED)
    propose(cast, case)
    elsewhere = make_meeting(cast, make_case(cast))
    with pytest.raises(ValidationError, match="agenda"):
        open_round(cast, case, deadline=None, meeting=elsewhere)
    meeting = make_meeting(cast, case)
    round_ = open_round(cast, case, deadline=None, meeting=meeting)
    assert round_.meeting == meeting and round_.deadline is None


def test_one_open_round_per_case(cast):
    case = make_case(cast)
    propose(cast, case)
    open_round(cast, case)
    with pytest.raises(actions.Conflict):
        open_round(cast, case)
    assert VoteRound.objects.count() == 1


# --- voting -----------------------------------------------------------------------------------


def test_a_member_votes_once_per_round(cast):
    case = make_case(cast)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    first = vote(cast.pathologist, case, round_, agree=[p1], comment="Fine.")
    assert first.voter_specialty == "pathology"
    assert VoteChoice.objects.get(vote=first).position == "agree"
    with pytest.raises(actions.AlreadyVoted):
        vote(cast.pathologist, case, round_, disagree=[p1])
    assert Vote.objects.count() == 1
    assert VoteChoice.objects.get().position == "agree"


@pytest.mark.parametrize("who", ["coordinator", "expert", "referrer"])
def test_coordinators_experts_and_referrers_do_not_vote(cast, who):
    case = make_case(cast)
    invite(cast, case)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    with pytest.raises(PermissionDenied):
        vote(getattr(cast, who), case, round_, agree=[p1])
    assert not Vote.objects.exists()


def test_a_ballot_answers_every_proposal(cast):
    case = make_case(cast)
    p1, p2 = propose(cast, case), propose(cast, case, RADIOTHERAPY)
    round_ = open_round(cast, case)
    with pytest.raises(ValidationError, match="every proposal"):
        actions.vote_cast(
            access=access(cast.surgeon, case),
            round=round_,
            positions={str(p1.uuid): "agree"},
        )
    with pytest.raises(ValidationError, match="agree, disagree or abstain"):
        actions.vote_cast(
            access=access(cast.surgeon, case),
            round=round_,
            positions={str(p1.uuid): "agree", str(p2.uuid): "maybe"},
        )
    with pytest.raises(ValidationError, match="every proposal"):
        actions.vote_cast(access=access(cast.surgeon, case), round=round_, choice=p1.uuid)
    assert not Vote.objects.exists()


def test_single_choice_ballot(cast):
    cast.board.vote_mode = Board.VoteMode.SINGLE_CHOICE
    cast.board.save()
    case = make_case(cast)
    p1 = propose(cast, case)
    foreign = propose(cast, make_case(cast))
    round_ = open_round(cast, case)
    with pytest.raises(ValidationError, match="not on this ballot"):
        vote(cast.surgeon, case, round_, choice=foreign)
    assert vote(cast.surgeon, case, round_, choice=p1).choice == p1
    assert vote(cast.radiologist, case, round_).choice is None  # an abstention


def test_a_vote_after_close_is_refused_and_writes_nothing(cast):
    case = make_case(cast)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    close(cast, case, round_)
    with pytest.raises(actions.VoteClosed):
        vote(cast.surgeon, case, round_, agree=[p1])
    assert not Vote.objects.exists() and not VoteChoice.objects.exists()


def test_a_vote_after_the_deadline_is_refused(cast):
    case = make_case(cast)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    VoteRound.objects.filter(pk=round_.pk).update(deadline=timezone.now())
    with pytest.raises(actions.VoteClosed):
        vote(cast.surgeon, case, round_, agree=[p1])
    assert not Vote.objects.exists()
    assert VoteRound.objects.get().status == "open"  # closing is the chair's or the command's


# --- closing ----------------------------------------------------------------------------------


def test_closing_counts_under_the_rule_and_records_dissent(cast):
    _, p1, round_ = decided_case(cast)
    assert (round_.status, round_.result, round_.winner) == ("closed", "adopted", p1)
    assert round_.closed_by == cast.chair and round_.closed_at is not None
    assert round_.tally["counts"][str(p1.uuid)] == {"agree": 4, "disagree": 1, "abstain": 0}
    dissent = Vote.objects.get(uuid=round_.tally["dissent"][0])
    assert (dissent.voter, dissent.comment) == (cast.radiologist, "Margins unlikely without RT.")
    assert AuditEvent.objects.filter(action="vote.close", detail__result="adopted").exists()


def test_closing_without_every_required_specialty_is_no_quorum(cast):
    case = make_case(cast)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.radiologist):  # no surgeon
        vote(user, case, round_, agree=[p1])
    round_ = close(cast, case, round_)
    assert (round_.result, round_.winner) == ("no_quorum", None)
    assert round_.tally["shortfall"] == {"surgical_oncology": 1}


def test_the_chair_votes_in_the_capacity_of_their_membership(cast):
    case = make_case(cast)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    for user in (cast.chair, cast.pathologist, cast.radiologist, cast.surgeon):
        vote(user, case, round_, agree=[p1])  # the chair is the medical oncologist here
    assert close(cast, case, round_).result == "adopted"


def test_closing_twice_is_a_conflict(cast):
    case, _, round_ = decided_case(cast)
    with pytest.raises(actions.VoteClosed):
        close(cast, case, round_)


def test_reopening_starts_a_new_round_and_the_old_one_stays_closed(cast):
    case, p1, first = decided_case(cast)
    p2 = propose(cast, case, RADIOTHERAPY)
    second = open_round(cast, case)
    assert second.number == 2 and set(second.proposals.all()) == {p1, p2}
    first.refresh_from_db()
    assert (first.status, first.result) == ("closed", "adopted")
    vote(cast.radiologist, case, second, agree=[p2])  # a new ballot in the new round
    assert second.votes.count() == 1 and first.votes.count() == 5


def test_close_due_votes_closes_only_rounds_past_their_deadline(cast):
    due_case, later_case = make_case(cast), make_case(cast)
    propose(cast, due_case), propose(cast, later_case)
    due, later = open_round(cast, due_case), open_round(cast, later_case)
    VoteRound.objects.filter(pk=due.pk).update(deadline=timezone.now())
    call_command("close_due_votes", verbosity=0)
    due.refresh_from_db(), later.refresh_from_db()
    assert (due.status, due.closed_by, due.result) == ("closed", None, "no_quorum")
    assert later.status == "open"
    assert AuditEvent.objects.filter(action="vote.close", detail__by="deadline").count() == 1


# --- consensus --------------------------------------------------------------------------------


def test_the_draft_starts_from_the_adopted_proposal(cast):
    case, p1, round_ = decided_case(cast)
    initial = actions.consensus_initial(case)
    assert initial["category"] == "surgery" and initial["text"] == p1.text
    consensus = draft(cast, case, text="Wide resection; RT only if R1.")
    assert (consensus.version, consensus.round, consensus.proposal) == (1, round_, p1)
    assert not consensus.is_signed
    again = draft(cast, case, text="Second wording.")
    assert again.pk == consensus.pk and Consensus.objects.count() == 1  # one draft per case


def test_only_the_chair_drafts_and_signs(cast):
    case, *_ = decided_case(cast)
    with pytest.raises(PermissionDenied):
        actions.consensus_draft(access=access(cast.surgeon, case), data=SURGERY)
    consensus = draft(cast, case)
    with pytest.raises(PermissionDenied):
        actions.consensus_sign(
            access=access(cast.surgeon, case), consensus=consensus, password=PASSWORD
        )
    consensus.refresh_from_db()
    assert not consensus.is_signed


def test_a_wrong_password_signs_nothing_and_is_audited(cast):
    case, *_ = decided_case(cast)
    consensus = draft(cast, case)
    with pytest.raises(actions.WrongPassword):
        sign(cast, case, consensus, password="not-it")
    consensus.refresh_from_db()
    assert consensus.signed_at is None and consensus.signed_by is None
    denial = AuditEvent.objects.get(action="consensus.sign")
    assert (denial.outcome, denial.detail) == ("denied", {"reason": "password"})
    assert Case.objects.get(pk=case.pk).status == "scheduled"


def test_signing_concludes_a_scheduled_case(cast, monkeypatch):
    rendered = []
    monkeypatch.setattr(
        reports,
        "report_generate",
        lambda consensus, audience: rendered.append((consensus, audience)),
    )
    case, *_ = decided_case(cast)
    consensus = sign(cast, case, draft(cast, case))
    assert consensus.signed_by == cast.chair and consensus.signed_at is not None
    assert Case.objects.get(pk=case.pk).status == "concluded"
    moves = AuditEvent.objects.filter(action="case.status").order_by("id")
    assert [e.detail["to"] for e in moves] == ["discussed", "concluded"]
    assert rendered == []  # the report waits for the commit


def test_signing_a_case_in_review_leaves_its_status(cast):
    # The workflow has no path from in review to concluded without a meeting.
    case, *_ = decided_case(cast, status=Case.Status.IN_REVIEW)
    sign(cast, case, draft(cast, case))
    assert Case.objects.get(pk=case.pk).status == "in_review"


def test_a_signed_consensus_cannot_change_through_any_path(cast):
    case, *_ = decided_case(cast)
    consensus = sign(cast, case, draft(cast, case, text="Final text."))
    with pytest.raises(actions.ConsensusLocked):
        sign(cast, case, consensus)
    consensus.text = "Tampered."
    with pytest.raises(TypeError, match="signed"):
        consensus.save()
    with pytest.raises(TypeError, match="signed"):
        Consensus.objects.filter(pk=consensus.pk).update(text="Tampered.")
    with pytest.raises(TypeError, match="signed"):
        Consensus.objects.filter(pk=consensus.pk).delete()
    with pytest.raises(TypeError, match="signed"):
        Consensus.objects.get(pk=consensus.pk).delete()
    stored = Consensus.objects.get(pk=consensus.pk)
    assert (stored.text, stored.version, stored.signed_by) == ("Final text.", 1, cast.chair)


def test_a_correction_is_a_new_version_signed_again(cast):
    case, *_ = decided_case(cast)
    first = sign(cast, case, draft(cast, case, text="Version one."))
    assert actions.consensus_initial(case)["text"] == "Version one."  # the correction starts
    correction = draft(cast, case, text="Version two: add RT.")
    assert (correction.version, correction.supersedes, correction.is_signed) == (2, first, False)
    first.refresh_from_db()
    assert first.text == "Version one." and first.is_signed
    signed = sign(cast, case, correction)
    assert signed.is_signed and first.superseded_by == signed
    assert Consensus.objects.filter(case=case).count() == 2
    assert Case.objects.get(pk=case.pk).status == "concluded"


def test_co_signers_sign_with_their_password_once(cast):
    case, *_ = decided_case(cast)
    consensus = draft(cast, case)
    with pytest.raises(actions.Conflict, match="signed consensus"):
        actions.consensus_cosign(
            access=access(cast.surgeon, case), consensus=consensus, password=PASSWORD
        )
    consensus = sign(cast, case, consensus)
    with pytest.raises(actions.WrongPassword):
        actions.consensus_cosign(
            access=access(cast.surgeon, case), consensus=consensus, password="nope"
        )
    actions.consensus_cosign(
        access=access(cast.surgeon, case), consensus=consensus, password=PASSWORD
    )
    with pytest.raises(actions.Conflict, match="already co-signed"):
        actions.consensus_cosign(
            access=access(cast.surgeon, case), consensus=consensus, password=PASSWORD
        )
    with pytest.raises(actions.Conflict, match="You signed"):
        actions.consensus_cosign(
            access=access(cast.chair, case), consensus=consensus, password=PASSWORD
        )
    with pytest.raises(PermissionDenied):
        actions.consensus_cosign(
            access=access(cast.coordinator, case), consensus=consensus, password=PASSWORD
        )
    cosignature = ConsensusCosignature.objects.get()
    assert cosignature.signer == cast.surgeon and cosignature.signed_at is not None
    consensus.refresh_from_db()
    assert consensus.signed_by == cast.chair  # co-signing never touches the consensus row


def test_a_superseded_version_is_not_co_signed(cast):
    case, *_ = decided_case(cast)
    first = sign(cast, case, draft(cast, case))
    draft(cast, case, text="Corrected.")
    with pytest.raises(actions.Conflict, match="superseded"):
        actions.consensus_cosign(
            access=access(cast.surgeon, case), consensus=first, password=PASSWORD
        )


# --- events -----------------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch):
    events = []
    monkeypatch.setattr(publish, "publish_now", lambda group, event: events.append((group, event)))
    return events


def test_events_go_out_after_commit_and_never_say_who_voted_what(
    cast, sent, django_capture_on_commit_callbacks
):
    case = make_case(cast)
    case_group = f"case.{case.uuid.hex}"
    with django_capture_on_commit_callbacks(execute=True):
        p1 = propose(cast, case)
        assert sent == []
    assert [(g, e.type, e.change) for g, e in sent] == [(case_group, "proposal.changed", "created")]
    with django_capture_on_commit_callbacks(execute=True):
        round_ = open_round(cast, case)
    with django_capture_on_commit_callbacks(execute=True):
        vote(cast.surgeon, case, round_, agree=[p1], comment="secret reasons")
        assert [e.type for _, e in sent] == ["proposal.changed", "vote.round"]
    group, cast_event = sent[-1]
    assert (group, cast_event.type, cast_event.votes) == (case_group, "vote.cast", 1)
    assert cast_event.to_dict().keys() == {"type", "case", "round", "votes"}
    assert "secret" not in cast_event.to_json() and "surgeon" not in cast_event.to_json()
    with django_capture_on_commit_callbacks(execute=True):
        close(cast, case, round_)
    assert (sent[-1][1].type, sent[-1][1].status, sent[-1][1].number) == ("vote.round", "closed", 1)


def test_a_refused_vote_publishes_nothing(cast, sent, django_capture_on_commit_callbacks):
    case = make_case(cast)
    p1 = propose(cast, case)
    round_ = open_round(cast, case)
    close(cast, case, round_)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(actions.VoteClosed),
    ):
        vote(cast.surgeon, case, round_, agree=[p1])
    assert callbacks == []


def test_round_events_reach_the_meeting(cast, sent, django_capture_on_commit_callbacks):
    case = make_case(cast, status=Case.Status.SCHEDULED)
    propose(cast, case)
    meeting = make_meeting(cast, case)
    with django_capture_on_commit_callbacks(execute=True):
        round_ = open_round(cast, case, deadline=None, meeting=meeting)
    groups = [g for g, e in sent if e.type == "vote.round"]
    assert groups == [f"case.{case.uuid.hex}", f"meeting.{meeting.uuid.hex}"]
    Meeting.objects.filter(pk=meeting.pk).update(status=Meeting.Status.HELD)
    round_.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        close(cast, case, round_)
    closed = [g for g, e in sent if e.type == "vote.round" and e.status == "closed"]
    assert closed == [f"case.{case.uuid.hex}", f"meeting.{meeting.uuid.hex}"]


def test_signing_publishes_and_renders_the_report_after_commit(
    cast, sent, monkeypatch, django_capture_on_commit_callbacks
):
    rendered = []
    monkeypatch.setattr(
        reports,
        "report_generate",
        lambda consensus, audience: rendered.append((consensus, audience)),
    )
    case, *_ = decided_case(cast)
    consensus = draft(cast, case)
    with django_capture_on_commit_callbacks(execute=True):
        sign(cast, case, consensus)
        assert rendered == [] and sent == []
    signed = [e for _, e in sent if e.type == "consensus.signed"]
    assert [(e.consensus, e.version, e.signatures) for e in signed] == [(str(consensus.uuid), 1, 1)]
    assert [e.status for _, e in sent if e.type == "case.status"] == ["discussed", "concluded"]
    # One copy for the panel, one for the referring doctor who submitted the case.
    assert [(c.pk, audience) for c, audience in rendered] == [
        (consensus.pk, "panel"),
        (consensus.pk, "referrer"),
    ]


def test_report_generate_stores_the_pdf_with_its_hash(cast, monkeypatch):
    import hashlib

    monkeypatch.setattr(reports, "render_report_pdf", lambda data: b"%PDF-1.7 fake")
    case, *_ = decided_case(cast)
    consensus = sign(cast, case, draft(cast, case))
    stored = reports.report_generate(consensus=consensus, audience="panel")
    assert stored.consensus == consensus and stored.size == len(b"%PDF-1.7 fake")
    assert stored.sha256 == hashlib.sha256(b"%PDF-1.7 fake").hexdigest()
    assert stored.file.read() == b"%PDF-1.7 fake"


def test_report_data_carries_the_vote_and_the_signatures(cast):
    case, *_ = decided_case(cast)
    consensus = sign(cast, case, draft(cast, case))
    actions.consensus_cosign(
        access=access(cast.surgeon, case), consensus=consensus, password=PASSWORD
    )
    data = report_data(Consensus.objects.get(pk=consensus.pk))
    assert (data.case_pseudonym, data.version, data.supersedes) == (case.pseudonym, 1, None)
    assert [(p.number, p.title, p.agree, p.disagree, p.adopted) for p in data.proposals] == [
        (1, "Wide en bloc resection.", 4, 1, True)
    ]
    assert [(d.name, d.reason) for d in data.dissent] == [
        (cast.radiologist.display_name, "Margins unlikely without RT.")
    ]
    assert [s.name for s in data.signatures] == [
        cast.chair.display_name,
        cast.surgeon.display_name,
    ]
    assert "<strong>en bloc</strong>" in data.recommendation_html


def test_the_real_renderer_makes_a_pdf_of_a_signed_version(cast):
    case, *_ = decided_case(cast)
    consensus = sign(cast, case, draft(cast, case))
    stored = reports.report_generate(consensus=consensus, audience="referrer")
    assert stored.file.read(5) == b"%PDF-"
    assert stored.file.name.endswith(f"{consensus.uuid.hex}-v1-referrer.pdf")
