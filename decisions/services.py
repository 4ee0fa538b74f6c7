"""Writes to a case's decisions: proposals, vote rounds and votes, the consensus.

Each follows the house pattern (Zulip's actions): check the right through the case's access
object (``cases.access.CaseAccess``, where every rule of who may do what lives), do the
write inside one transaction, audit it, and publish the declared event after commit.

- Propose: every panelist (board members and invited experts) while the case is in review or
  scheduled. Experts bring options; they do not vote.
- Vote: board members except coordinators, one ballot per round, never changed.
- Open, close and re-open a vote, draft and sign the consensus: the board's managers.
- Co-sign: any voting member other than the one who signed.

The report of a signed version is decisions.reports' business; this module only asks for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from board.access import check_then_do
from board.models import Membership, Specialty, User
from board.security import password_confirm
from cases.access import VOTE_STATUSES, CaseAccess
from cases.audit import audit
from cases.models import Case
from cases.services import case_transition
from decisions import followup, reports
from decisions import tally as tallying
from decisions.models import Consensus, ConsensusCosignature, Proposal, Vote, VoteChoice, VoteRound
from decisions.report_data import meeting_quorum_shortfall
from meetings.models import Attendance, Meeting
from realtime.events import ConsensusSigned, Event, ProposalChanged, VoteCast, VoteRoundChanged
from realtime.groups import meeting_group
from realtime.publish import publish_case_event, publish_on_commit

S = Case.Status
RECOMMENDATION_FIELDS = (
    "category",
    "text",
    "guideline",
    "guideline_version",
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


class QuorumReasonRequired(Exception):
    """The meeting's quorum was not met and the chair gave no reason for signing anyway."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def voters_of(case: Case) -> int:
    """How many members may vote on the case."""
    return (
        Membership.objects.filter(board_id=case.board_id)
        .exclude(role=Membership.Role.COORDINATOR)
        .count()
    )


# --- proposals --------------------------------------------------------------------------------


def _recommendation(data: Mapping[str, Any]) -> dict[str, Any]:
    """The recommendation fields given (the model's defaults stand for those left out)."""
    values = {name: data[name] for name in RECOMMENDATION_FIELDS if name in data}
    for name in ("guideline_version", "guideline_reference"):
        if name in values:
            values[name] = values[name] or ""
    return values


@check_then_do("proposal.create", lambda access, **_: access.can_propose)
def proposal_create(*, access: CaseAccess, data: Mapping[str, Any]) -> Proposal:
    # The case row lock numbers concurrent proposals one after the other.
    case = Case.objects.select_for_update().get(pk=access.case.pk)
    number = (case.proposals.aggregate(n=Max("number"))["n"] or 0) + 1
    proposal = Proposal(
        case=case,
        number=number,
        author=access.user,
        author_specialty=access.specialty,
        **_recommendation(data),
    )
    proposal.full_clean()
    proposal.save()
    audit(actor=access.user, action="proposal.create", case=case, target=proposal)
    publish_case_event(
        case, ProposalChanged(case=str(case.uuid), proposal=str(proposal.uuid), change="created")
    )
    return proposal


@check_then_do(
    "proposal.withdraw", lambda access, proposal, **_: access.can_withdraw_proposal(proposal)
)
def proposal_withdraw(*, access: CaseAccess, proposal: Proposal) -> Proposal:
    """The author or the chair takes a proposal off the table (it stays in the record)."""
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk, case=access.case)
    if proposal.withdrawn_at is not None:
        raise Conflict(_("This proposal is already withdrawn."))
    if proposal.vote_rounds.filter(status=VoteRound.Status.OPEN).exists():
        raise Conflict(_("This proposal is on the ballot of an open vote."))
    proposal.withdrawn_at = timezone.now()
    proposal.save(update_fields=["withdrawn_at"])
    audit(actor=access.user, action="proposal.withdraw", case=access.case, target=proposal)
    publish_case_event(
        access.case,
        ProposalChanged(
            case=str(access.case.uuid), proposal=str(proposal.uuid), change="withdrawn"
        ),
    )
    return proposal


# --- vote rounds ------------------------------------------------------------------------------


@check_then_do("vote.open", lambda access, **_: access.is_manager)
def vote_round_open(
    *, access: CaseAccess, deadline: datetime | None = None, meeting: Meeting | None = None
) -> VoteRound:
    """Open the next round on the standing proposals: live in ``meeting`` or by ``deadline``."""
    case = (
        Case.objects.select_for_update(of=("self",)).select_related("board").get(pk=access.case.pk)
    )
    if case.board.is_expert_service:
        raise ValidationError(_("An expert service answers with one expert's signed opinion."))
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
        absentees_may_vote=board.absentees_vote_live,
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


def is_live_for_present_only(round_: VoteRound) -> bool:
    """A vote opened live in a meeting takes ballots from the members present in it, unless
    the board let absent members vote too when the round opened."""
    return round_.meeting_id is not None and not round_.absentees_may_vote


def present_in_meeting(round_: VoteRound, user: User) -> bool:
    """Whether ``user`` has a live socket in the round's meeting now (meetings' attendance:
    an open join whose heartbeat is recent, models.PRESENCE_TIMEOUT)."""
    return (
        Attendance.objects.present().filter(meeting_id=round_.meeting_id, user_id=user.pk).exists()
    )


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
    access.require(access.can_vote, "vote.cast")
    with transaction.atomic():
        # Locked so that a close cannot tally while a ballot is being written.
        round_ = VoteRound.objects.select_for_update().get(pk=round.pk, case_id=access.case.pk)
        round_.case = access.case
        if not round_.accepts_votes:
            raise VoteClosed(_("This vote is closed."))
        if is_live_for_present_only(round_) and not present_in_meeting(round_, access.user):
            raise ValidationError(
                _(
                    "This vote is live in the meeting “%(title)s”: only the members present "
                    "in it vote. Join the meeting to vote."
                )
                % {"title": round_.meeting.title}
            )
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
    access.require(access.is_manager, "vote.close")
    if round.case_id != access.case.pk:
        raise ValueError("the round is not this case's")
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


@check_then_do("consensus.draft", lambda access, **_: access.is_manager)
def consensus_draft(*, access: CaseAccess, data: Mapping[str, Any]) -> Consensus:
    """Save the case's draft; after a signature, the next draft is a correction (version+1)."""
    case = Case.objects.select_for_update().select_related("board").get(pk=access.case.pk)
    if case.board.is_expert_service:
        raise ValidationError(_("An expert service answers with one expert's signed opinion."))
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


def consensus_sign(
    *, access: CaseAccess, consensus: Consensus, password: str, quorum_reason: str = ""
) -> Consensus:
    """The chair signs the draft after giving their password again. A wrong password signs
    nothing and is audited. Where the vote was a meeting's and the meeting's attendance did not
    make its quorum, the chair must say why they sign anyway (``quorum_reason``, kept with the
    signature and printed in the report); without it nothing is signed and the refusal is
    audited. Once signed, the case moves on to concluded where the workflow allows it, and the
    report is rendered after the commit."""
    access.require(access.is_manager, "consensus.sign")
    reason = quorum_reason.strip()
    # Checked before the password, outside any transaction so that the refusal's audit event
    # stays. Attendance only grows (everyone who joined before the signature counts), so a
    # quorum met now is met at the signature; _sign counts again at its own instant.
    shortfall = meeting_quorum_shortfall(consensus, timezone.now())
    if shortfall and not reason:
        audit(
            actor=access.user,
            action="consensus.sign",
            case=access.case,
            target=consensus,
            allowed=False,
            detail={"reason": "meeting quorum not met"},
        )
        raise QuorumReasonRequired(_quorum_message(shortfall))
    _check_password(access, consensus, password, action="consensus.sign")
    return _sign(access, consensus, quorum_reason=reason)


def _quorum_message(shortfall: dict[str, int]) -> str:
    missing = ", ".join(f"{Specialty(s).label} ×{n}" for s, n in shortfall.items())
    return _(
        "The meeting's quorum was not met (missing %(missing)s): say why you sign anyway. "
        "Your reason is printed in the report."
    ) % {"missing": missing}


@transaction.atomic
def _sign(access: CaseAccess, consensus: Consensus, *, quorum_reason: str = "") -> Consensus:
    # Fresh and locked: the status decides the workflow moves below.
    access.case = (
        Case.objects.select_for_update(of=("self",)).select_related("board").get(pk=access.case.pk)
    )
    consensus = Consensus.objects.select_for_update().get(pk=consensus.pk, case_id=access.case.pk)
    if consensus.is_signed:
        raise ConsensusLocked(_("This version is already signed."))
    consensus.signed_by = access.user
    consensus.signed_at = timezone.now()
    shortfall = meeting_quorum_shortfall(consensus, consensus.signed_at)
    if shortfall and not quorum_reason:
        raise QuorumReasonRequired(_quorum_message(shortfall))
    consensus.quorum_reason = quorum_reason if shortfall else ""
    consensus.save(update_fields=["signed_by", "signed_at", "quorum_reason", "updated_at"])
    audit(
        actor=access.user,
        action="consensus.sign",
        case=access.case,
        target=consensus,
        detail={"version": consensus.version},
    )
    _conclude(access)
    publish_case_event(
        access.case,
        ConsensusSigned(
            case=str(access.case.uuid),
            consensus=str(consensus.uuid),
            version=consensus.version,
            signatures=1,
        ),
    )
    reports.report_request(consensus=consensus)
    followup.followup_schedule(consensus=consensus)
    return consensus


def _conclude(access: CaseAccess) -> None:
    """Walk the workflow to concluded: scheduled -> discussed -> concluded, or discussed ->
    concluded. A case still in review (a vote without a meeting) has no such path and stays."""
    for step in (S.DISCUSSED, S.CONCLUDED):
        if access.can_move_to(step):
            case_transition(access=access, to=step)


def consensus_cosign(*, access: CaseAccess, consensus: Consensus, password: str) -> Consensus:
    access.require(access.can_vote, "consensus.cosign")
    _check_password(access, consensus, password, action="consensus.cosign")
    with transaction.atomic():
        consensus = Consensus.objects.select_for_update().get(
            pk=consensus.pk, case_id=access.case.pk
        )
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
        publish_case_event(
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
    # Through authenticate(): a wrong password counts towards the sign-in lockout.
    if not password_confirm(user=access.user, password=password):
        audit(
            actor=access.user,
            action=action,
            case=access.case,
            target=consensus,
            allowed=False,
            detail={"reason": "password"},
        )
        raise WrongPassword


# --- events -----------------------------------------------------------------------------------


def _publish_round_event(round_: VoteRound, event: Event) -> None:
    publish_case_event(round_.case, event)
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
