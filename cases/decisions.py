"""Decisions on a case: proposals, vote rounds, the signed consensus and its report.

Who may do what (the issue leaves some of it open; decided here):

- Propose: every panelist (board members and invited experts) while the case is in review or
  scheduled. Experts bring options; they do not vote.
- Vote: board members except coordinators (they organise; they do not give opinions), one
  ballot per round, never changed. The chair votes like any member.
- Open, close and re-open a vote, draft and sign the consensus: the chair or coordinator.
- Co-sign: any voting member other than the one who signed.

Writes follow the house pattern: keyword-only, atomic, audited, events after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from board.models import Board, Membership, Specialty, User
from cases import tally as tallying
from cases.access import CaseAccess
from cases.audit import audit
from cases.models import (
    Case,
    Consensus,
    ConsensusCosignature,
    Proposal,
    Report,
    Vote,
    VoteChoice,
    VoteRound,
)
from realtime.events import ConsensusSigned, Event, ProposalChanged, VoteCast, VoteRoundChanged
from realtime.groups import meeting_group
from realtime.publish import publish_case_event, publish_on_commit

logger = logging.getLogger(__name__)

S = Case.Status
PROPOSAL_STATUSES = {S.IN_REVIEW, S.SCHEDULED}
VOTE_STATUSES = {S.IN_REVIEW, S.SCHEDULED, S.DISCUSSED}
RECOMMENDATION_FIELDS = (
    "category",
    "text",
    "guideline",
    "guideline_reference",
    "evidence_level",
    "grade",
)


class Conflict(Exception):
    """The request clashes with the record as it stands now: HTTP 409, nothing written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class VoteClosed(Conflict):
    pass


class AlreadyVoted(Conflict):
    pass


class ConsensusLocked(Conflict):
    pass


class WrongPassword(Exception):
    """The password given to sign is not the signer's."""


# --- who may ----------------------------------------------------------------------------------


def can_propose(access: CaseAccess) -> bool:
    return access.is_panelist and access.case.status in PROPOSAL_STATUSES


def can_vote(access: CaseAccess) -> bool:
    return access.membership is not None and access.membership.role != Membership.Role.COORDINATOR


def can_chair(access: CaseAccess) -> bool:
    return access.is_manager


def voters_of(case: Case) -> int:
    """How many members may vote on the case."""
    return (
        Membership.objects.filter(board_id=case.board_id)
        .exclude(role=Membership.Role.COORDINATOR)
        .count()
    )


# --- proposals --------------------------------------------------------------------------------


def _specialty_of(access: CaseAccess) -> str:
    if access.membership is not None:
        return access.membership.specialty
    return access.user.specialty or Specialty.OTHER


def _recommendation(data: Mapping[str, Any]) -> dict[str, Any]:
    """The recommendation fields given (the model's defaults stand for those left out)."""
    values = {name: data[name] for name in RECOMMENDATION_FIELDS if name in data}
    if "guideline_reference" in values:
        values["guideline_reference"] = values["guideline_reference"] or ""
    return values


@transaction.atomic
def proposal_create(*, access: CaseAccess, data: Mapping[str, Any]) -> Proposal:
    if not can_propose(access):
        raise PermissionDenied
    # The case row lock numbers concurrent proposals one after the other.
    case = Case.objects.select_for_update().get(pk=access.case.pk)
    number = (case.proposals.aggregate(n=Max("number"))["n"] or 0) + 1
    proposal = Proposal(
        case=case,
        number=number,
        author=access.user,
        author_specialty=_specialty_of(access),
        **_recommendation(data),
    )
    proposal.full_clean()
    proposal.save()
    audit(actor=access.user, action="proposal.create", case=case, target=proposal)
    _publish(
        case, ProposalChanged(case=str(case.uuid), proposal=str(proposal.uuid), change="created")
    )
    return proposal


@transaction.atomic
def proposal_withdraw(*, access: CaseAccess, proposal: Proposal) -> Proposal:
    """The author or the chair takes a proposal off the table (it stays in the record)."""
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.case_id != access.case.pk:
        raise PermissionDenied
    if not (proposal.author_id == access.user.pk or access.is_manager) or access.case.is_closed:
        raise PermissionDenied
    if proposal.withdrawn_at is not None:
        raise Conflict(_("This proposal is already withdrawn."))
    if proposal.vote_rounds.filter(status=VoteRound.Status.OPEN).exists():
        raise Conflict(_("This proposal is on the ballot of an open vote."))
    proposal.withdrawn_at = timezone.now()
    proposal.save(update_fields=["withdrawn_at"])
    audit(actor=access.user, action="proposal.withdraw", case=access.case, target=proposal)
    _publish(
        access.case,
        ProposalChanged(
            case=str(access.case.uuid), proposal=str(proposal.uuid), change="withdrawn"
        ),
    )
    return proposal


# --- vote rounds ------------------------------------------------------------------------------


@transaction.atomic
def vote_round_open(
    *, access: CaseAccess, deadline: datetime | None = None, meeting=None
) -> VoteRound:
    """Open the next round on the standing proposals: live in ``meeting`` or by ``deadline``."""
    if not can_chair(access):
        raise PermissionDenied
    case = (
        Case.objects.select_for_update(of=("self",)).select_related("board").get(pk=access.case.pk)
    )
    if case.status not in VOTE_STATUSES:
        raise ValidationError(_("Votes are held on cases in review, scheduled or discussed."))
    if case.vote_rounds.filter(status=VoteRound.Status.OPEN).exists():
        raise Conflict(_("A vote is already open on this case."))
    proposals = list(case.proposals.filter(withdrawn_at__isnull=True))
    if not proposals:
        raise ValidationError(_("Add a proposal before opening a vote."))
    if meeting is None and deadline is None:
        raise ValidationError(_("A vote outside a meeting needs a deadline."))
    if deadline is not None and deadline <= timezone.now():
        raise ValidationError(_("The deadline must be in the future."))
    if meeting is not None and not (
        meeting.board_id == case.board_id
        and meeting.is_scheduled
        and meeting.agenda_items.filter(case=case).exists()
    ):
        raise ValidationError(_("The case is not on the agenda of that meeting."))
    board = case.board
    round_ = VoteRound.objects.create(
        case=case,
        number=(case.vote_rounds.aggregate(n=Max("number"))["n"] or 0) + 1,
        meeting=meeting,
        vote_mode=board.vote_mode,
        consensus_rule=board.consensus_rule,
        qualified_majority=board.qualified_majority,
        tally_visibility=board.tally_visibility,
        opened_by=access.user,
        deadline=deadline,
    )
    round_.proposals.set(proposals)
    audit(
        actor=access.user,
        action="vote.open",
        case=case,
        target=round_,
        detail={"number": round_.number, "proposals": len(proposals)},
    )
    _publish_round(round_)
    return round_


def vote_cast(
    *,
    access: CaseAccess,
    round: VoteRound,
    choice: str | UUID | None = None,
    positions: Mapping[str, str] | None = None,
    comment: str = "",
) -> Vote:
    """One member's ballot: ``positions`` (proposal UUID -> agree/disagree/abstain) in a
    per-proposal round, ``choice`` (a proposal UUID, None to abstain) in a single-choice one.

    Raises VoteClosed after the close or the deadline and AlreadyVoted for a second ballot
    (the unique constraint decides between concurrent attempts); nothing is written then.
    """
    if not can_vote(access):
        raise PermissionDenied
    with transaction.atomic():
        # Locked so that a close cannot tally while a ballot is being written.
        round_ = VoteRound.objects.select_for_update().get(pk=round.pk)
        if round_.case_id != access.case.pk:
            raise PermissionDenied
        round_.case = access.case
        if not round_.accepts_votes:
            raise VoteClosed(_("This vote is closed."))
        ballot = {str(p.uuid): p for p in round_.proposals.all()}
        chosen, answers = _check_ballot(round_, ballot, choice, positions)
        try:
            with transaction.atomic():
                vote = Vote.objects.create(
                    round=round_,
                    voter=access.user,
                    voter_specialty=access.membership.specialty,
                    choice=chosen,
                    comment=comment.strip(),
                )
        except IntegrityError:
            raise AlreadyVoted(_("You have already voted in this round.")) from None
        VoteChoice.objects.bulk_create(
            VoteChoice(vote=vote, proposal=ballot[key], position=position)
            for key, position in answers.items()
        )
        audit(
            actor=access.user,
            action="vote.cast",
            case=access.case,
            target=vote,
            detail={"round": round_.number},
        )
        _publish_round_event(
            round_,
            VoteCast(
                case=str(access.case.uuid), round=str(round_.uuid), votes=round_.votes.count()
            ),
        )
    return vote


def _check_ballot(
    round_: VoteRound,
    ballot: dict[str, Proposal],
    choice: str | UUID | None,
    positions: Mapping[str, str] | None,
) -> tuple[Proposal | None, dict[str, str]]:
    if round_.vote_mode == tallying.SINGLE_CHOICE:
        if positions:
            raise ValidationError(_("This vote asks for one choice, not a position per proposal."))
        if choice is None:
            return None, {}
        if str(choice) not in ballot:
            raise ValidationError(_("That proposal is not on this ballot."))
        return ballot[str(choice)], {}
    if choice is not None:
        raise ValidationError(_("This vote asks for a position on every proposal."))
    answers = {str(key): value for key, value in (positions or {}).items()}
    if set(answers) != set(ballot):
        raise ValidationError(_("Give a position on every proposal on the ballot."))
    if not set(answers.values()) <= set(VoteChoice.Position.values):
        raise ValidationError(_("A position is agree, disagree or abstain."))
    return None, answers


def vote_round_close(*, access: CaseAccess, round: VoteRound) -> VoteRound:
    if not can_chair(access):
        raise PermissionDenied
    if round.case_id != access.case.pk:
        raise PermissionDenied
    return _close(round, by=access.user)


def vote_rounds_close_due() -> list[VoteRound]:
    """Close every open round whose deadline has passed (the close_due_votes command)."""
    due = VoteRound.objects.filter(status=VoteRound.Status.OPEN, deadline__lte=timezone.now())
    closed = []
    for round_ in due:
        try:
            closed.append(_close(round_, by=None))
        except VoteClosed:
            continue  # closed by the chair meanwhile
    return closed


@transaction.atomic
def _close(round_: VoteRound, *, by: User | None) -> VoteRound:
    # of=self: lock the round, not its case and board rows joined in.
    round_ = (
        VoteRound.objects.select_for_update(of=("self",))
        .select_related("case__board")
        .get(pk=round_.pk)
    )
    if not round_.is_open:
        raise VoteClosed(_("This vote is already closed."))
    outcome = round_outcome(round_)
    round_.status = VoteRound.Status.CLOSED
    round_.closed_at = timezone.now()
    round_.closed_by = by
    round_.result = outcome.result
    round_.winner = round_.proposals.filter(uuid=outcome.winner).first() if outcome.winner else None
    round_.tally = outcome.to_json()
    round_.save()
    audit(
        actor=by,
        action="vote.close",
        case=round_.case,
        target=round_,
        detail={
            "number": round_.number,
            "result": outcome.result,
            "by": "chair" if by is not None else "deadline",
        },
    )
    _publish_round(round_)
    return round_


def round_rule(round_: VoteRound) -> tallying.Rule:
    return tallying.Rule(
        mode=round_.vote_mode,
        consensus=round_.consensus_rule,
        fraction=tallying.parse_fraction(round_.qualified_majority),
    )


def round_outcome(round_: VoteRound) -> tallying.Outcome:
    """The outcome of the ballots cast so far (final once the round is closed)."""
    votes = round_.votes.prefetch_related("positions__proposal").select_related("choice")
    ballots = [
        tallying.Ballot(
            key=str(vote.uuid),
            specialty=vote.voter_specialty,
            choice=str(vote.choice.uuid) if vote.choice else None,
            positions={str(c.proposal.uuid): c.position for c in vote.positions.all()},
        )
        for vote in votes
    ]
    proposals = [str(p.uuid) for p in round_.proposals.all()]
    return tallying.tally(
        ballots, proposals, round_rule(round_), round_.case.board.quorum_shortfall
    )


# --- consensus --------------------------------------------------------------------------------


def latest_closed_round(case: Case) -> VoteRound | None:
    return (
        case.vote_rounds.filter(status=VoteRound.Status.CLOSED)
        .select_related("winner")
        .order_by("-number")
        .first()
    )


def consensus_initial(case: Case) -> dict[str, Any]:
    """What the draft form starts with: the draft itself, the signed version being corrected,
    or the proposal the latest closed round adopted."""
    latest = case.consensus_versions.order_by("-version").first()
    source = latest
    if source is None:
        round_ = latest_closed_round(case)
        source = round_.winner if round_ is not None else None
    if source is None:
        return {}
    return {name: getattr(source, name) for name in RECOMMENDATION_FIELDS}


@transaction.atomic
def consensus_draft(*, access: CaseAccess, data: Mapping[str, Any]) -> Consensus:
    """Save the case's draft; after a signature, the next draft is a correction (version+1)."""
    if not can_chair(access):
        raise PermissionDenied
    case = Case.objects.select_for_update().get(pk=access.case.pk)
    latest = Consensus.objects.select_for_update().filter(case=case).order_by("-version").first()
    if case.status == S.WITHDRAWN or (latest is None and case.status == S.CONCLUDED):
        raise ValidationError(_("This case is closed."))
    round_ = latest_closed_round(case)
    if latest is None or latest.is_signed:
        consensus = Consensus(
            case=case,
            version=latest.version + 1 if latest else 1,
            supersedes=latest,
            drafted_by=access.user,
        )
    else:
        consensus = latest
    for name, value in _recommendation(data).items():
        setattr(consensus, name, value)
    consensus.round = round_
    consensus.proposal = round_.winner if round_ is not None else None
    consensus.full_clean()
    consensus.save()
    audit(
        actor=access.user,
        action="consensus.draft",
        case=case,
        target=consensus,
        detail={"version": consensus.version},
    )
    return consensus


def consensus_sign(*, access: CaseAccess, consensus: Consensus, password: str) -> Consensus:
    """The chair signs the draft after giving their password again. A wrong password signs
    nothing and is audited. Once signed, the case moves on to concluded where the workflow
    allows it, and the report is rendered after the commit."""
    if not can_chair(access) or consensus.case_id != access.case.pk:
        raise PermissionDenied
    _check_password(access, consensus, password, action="consensus.sign")
    return _sign(access, consensus)


@transaction.atomic
def _sign(access: CaseAccess, consensus: Consensus) -> Consensus:
    # Fresh and locked: the status decides the workflow moves below.
    access.case = (
        Case.objects.select_for_update(of=("self",)).select_related("board").get(pk=access.case.pk)
    )
    consensus = Consensus.objects.select_for_update().get(pk=consensus.pk)
    if consensus.is_signed:
        raise ConsensusLocked(_("This version is already signed."))
    consensus.signed_by = access.user
    consensus.signed_at = timezone.now()
    consensus.save(update_fields=["signed_by", "signed_at", "updated_at"])
    audit(
        actor=access.user,
        action="consensus.sign",
        case=access.case,
        target=consensus,
        detail={"version": consensus.version},
    )
    _conclude(access)
    _publish(
        access.case,
        ConsensusSigned(
            case=str(access.case.uuid),
            consensus=str(consensus.uuid),
            version=consensus.version,
            signatures=1,
        ),
    )
    transaction.on_commit(lambda: report_generate(consensus=consensus), robust=True)
    return consensus


def _conclude(access: CaseAccess) -> None:
    """Walk the workflow to concluded: scheduled -> discussed -> concluded, or discussed ->
    concluded. A case still in review (a vote without a meeting) has no such path and stays."""
    from cases.services import case_transition  # cases.services does not import this module

    for step in (S.DISCUSSED, S.CONCLUDED):
        if access.can_move_to(step):
            case_transition(access=access, to=step)


def consensus_cosign(*, access: CaseAccess, consensus: Consensus, password: str) -> Consensus:
    if not can_vote(access) or consensus.case_id != access.case.pk:
        raise PermissionDenied
    _check_password(access, consensus, password, action="consensus.cosign")
    with transaction.atomic():
        consensus = Consensus.objects.select_for_update().get(pk=consensus.pk)
        if not consensus.is_signed:
            raise Conflict(_("Only a signed consensus can be co-signed."))
        if Consensus.objects.filter(supersedes=consensus).exists():
            raise Conflict(_("This version has been superseded by a correction."))
        if consensus.signed_by_id == access.user.pk:
            raise Conflict(_("You signed this version."))
        try:
            with transaction.atomic():
                ConsensusCosignature.objects.create(consensus=consensus, signer=access.user)
        except IntegrityError:
            raise Conflict(_("You have already co-signed this version.")) from None
        audit(
            actor=access.user,
            action="consensus.cosign",
            case=access.case,
            target=consensus,
            detail={"version": consensus.version},
        )
        _publish(
            access.case,
            ConsensusSigned(
                case=str(access.case.uuid),
                consensus=str(consensus.uuid),
                version=consensus.version,
                signatures=1 + consensus.cosignatures.count(),
            ),
        )
    return consensus


def _check_password(
    access: CaseAccess, consensus: Consensus, password: str, *, action: str
) -> None:
    # Outside any transaction: the refusal's audit event must survive the refusal.
    if not access.user.check_password(password):
        audit(
            actor=access.user,
            action=action,
            case=access.case,
            target=consensus,
            allowed=False,
            detail={"reason": "password"},
        )
        raise WrongPassword


# --- the report -------------------------------------------------------------------------------


def report_generate(*, consensus: Consensus) -> Report | None:
    """Render and store the PDF of a signed version. Runs after the signature commits; a
    failure is logged and leaves the signature standing (the report can be made again)."""
    try:
        from cases.report import render_report_pdf, report_sha256
    except ImportError:
        logger.warning("no report renderer; consensus %s has no PDF yet", consensus.uuid)
        return None
    try:
        pdf = render_report_pdf(report_data(consensus))
    except Exception:
        logger.exception("could not render the report of consensus %s", consensus.uuid)
        return None
    report = Report(consensus=consensus, sha256=report_sha256(pdf), size=len(pdf))
    report.file.save("report.pdf", ContentFile(pdf), save=False)
    try:
        report.save()
    except Exception:
        report.file.storage.delete(report.file.name)
        raise
    return report


def report_data(consensus: Consensus):
    """The decision part of the report's data. TODO(lead): studies, key images, opinions and
    attendees (cases.report.ReportData documents them)."""
    from cases.markdown import render_markdown
    from cases.report import ReportData, ReportDissent, ReportProposal, ReportSignature

    case = consensus.case
    round_ = consensus.round
    proposals, dissent, outcome, rule, quorum, meeting = [], [], "", "", "", None
    if round_ is not None:
        counts = round_.tally.get("counts", {})
        single = round_.vote_mode == tallying.SINGLE_CHOICE
        for proposal in round_.proposals.all():
            c = counts.get(str(proposal.uuid), {})
            proposals.append(
                ReportProposal(
                    title=f"P{proposal.number}",
                    category=proposal.get_category_display(),
                    agree=c.get("agree", 0),
                    disagree=0 if single else c.get("disagree", 0),
                    abstain=0 if single else c.get("abstain", 0),
                    chosen=c.get("agree", 0) if single else None,
                    adopted=proposal.pk == round_.winner_id,
                )
            )
        for vote in round_.votes.filter(uuid__in=round_.tally.get("dissent", [])).select_related(
            "voter"
        ):
            dissent.append(ReportDissent(name=vote.voter.display_name, reason=vote.comment))
        outcome = round_.get_result_display()
        rule = rule_label(round_)
        shortfall = round_.tally.get("shortfall", {})
        quorum = (
            _("Quorum met.")
            if not shortfall
            else _("Quorum not met: %(missing)s.")
            % {"missing": ", ".join(f"{Specialty(s).label} ×{n}" for s, n in shortfall.items())}
        )
        meeting = round_.meeting
    signatures = [
        ReportSignature(
            name=consensus.signed_by.display_name, role=_("Chair"), signed_at=consensus.signed_at
        )
    ] + [
        ReportSignature(name=c.signer.display_name, role=_("Co-signer"), signed_at=c.signed_at)
        for c in consensus.cosignatures.select_related("signer")
    ]
    return ReportData(
        board=case.board.name,
        case_pseudonym=case.pseudonym,
        version=consensus.version,
        generated_at=timezone.now(),
        meeting_title=meeting.title if meeting else None,
        meeting_date=meeting.starts_at if meeting else None,
        supersedes=consensus.supersedes.version if consensus.supersedes else None,
        question=case.question,
        proposals=proposals,
        outcome=outcome,
        rule=rule,
        quorum=quorum,
        dissent=dissent,
        recommendation_html=render_markdown(consensus.text),
        signatures=signatures,
    )


def rule_label(round_: VoteRound) -> str:
    label = Board.ConsensusRule(round_.consensus_rule).label
    if round_.consensus_rule == Board.ConsensusRule.QUALIFIED_MAJORITY:
        return f"{label} ({round_.qualified_majority})"
    return str(label)


# --- events -----------------------------------------------------------------------------------


def _publish(case: Case, event: Event) -> None:
    # The case's followers and every scheduled meeting with the case on its agenda.
    publish_case_event(case, event)


def _publish_round_event(round_: VoteRound, event: Event) -> None:
    _publish(round_.case, event)
    meeting = round_.meeting
    if meeting is not None and not meeting.is_scheduled:
        # publish_case_event reaches scheduled meetings only; the round's own meeting hears
        # about its vote even once it is marked held.
        publish_on_commit(meeting_group(meeting.uuid), event)


def _publish_round(round_: VoteRound) -> None:
    _publish_round_event(
        round_,
        VoteRoundChanged(
            case=str(round_.case.uuid),
            round=str(round_.uuid),
            number=round_.number,
            status=round_.status,
        ),
    )


# --- what the panel shows ---------------------------------------------------------------------


@dataclass
class DecisionState:
    proposals: list[Proposal]
    round: VoteRound | None  # the open round, else the latest closed one
    ballot: list[Proposal]  # the proposals of `round`
    my_vote: Vote | None
    votes: int  # ballots cast in `round`
    voters: int  # members who may vote
    tally: list[tuple[Proposal, tallying.Count]] | None  # None while hidden
    shortfall: list[tuple[str, int]]  # specialty label, how many more voters it needed
    dissent: list[Vote]
    consensus: Consensus | None  # the latest version
    earlier: list[Consensus]


def decision_state(access: CaseAccess) -> DecisionState:
    """What the decisions panel shows a panelist."""
    case = access.case
    proposals = list(case.proposals.select_related("author"))
    round_ = case.vote_rounds.select_related("meeting", "winner").order_by("-number").first()
    ballot, my_vote, votes, rows, shortfall, dissent = [], None, 0, None, [], []
    if round_ is not None:
        round_.case = case
        ballot_ids = set(round_.proposals.values_list("pk", flat=True))
        ballot = [p for p in proposals if p.pk in ballot_ids]
        votes = round_.votes.count()
        my_vote = round_.votes.filter(voter_id=access.user.pk).first()
        if round_.tally_visible:
            data = round_.tally if not round_.is_open else round_outcome(round_).to_json()
            counts = data.get("counts", {})
            rows = [(p, tallying.Count(**counts[str(p.uuid)])) for p in ballot]
            if not round_.is_open:
                shortfall = [(Specialty(s).label, n) for s, n in data["shortfall"].items()]
                dissent = list(
                    round_.votes.filter(uuid__in=data["dissent"]).select_related("voter", "choice")
                )
    versions = list(
        case.consensus_versions.select_related("signed_by", "drafted_by")
        .prefetch_related("cosignatures__signer")
        .order_by("-version")
    )
    return DecisionState(
        proposals=proposals,
        round=round_,
        ballot=ballot,
        my_vote=my_vote,
        votes=votes,
        voters=voters_of(case),
        tally=rows,
        shortfall=shortfall,
        dissent=dissent,
        consensus=versions[0] if versions else None,
        earlier=versions[1:],
    )
