"""Decisions on a case: proposals, vote rounds, the signed consensus and its report.

Who may do what (the issue leaves some of it open; decided here):

- Propose: every panelist (board members and invited experts) while the case is in review or
  scheduled. Experts bring options; they do not vote.
- Vote: board members except coordinators (they organise; they do not give opinions), one
  ballot per round, never changed. The chair votes like any member.
- Open, close and re-open a vote, draft and sign the consensus: the chair or coordinator.
- Co-sign: any voting member other than the one who signed.
- Read the signed report: see "the report" below (``can_read_report``); generate it again
  after a failure: the chair or coordinator.

Writes follow the house pattern: keyword-only, atomic, audited, events after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from board.models import Board, Membership, Specialty, User
from cases import tally as tallying
from cases.access import CaseAccess
from cases.audit import audit
from cases.models import (
    AuditEvent,
    Case,
    Consensus,
    ConsensusCosignature,
    Proposal,
    Report,
    Vote,
    VoteChoice,
    VoteRound,
)
from realtime.events import (
    ConsensusSigned,
    Event,
    ProposalChanged,
    ReportChanged,
    VoteCast,
    VoteRoundChanged,
)
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
    publish_case_event(
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
    publish_case_event(
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
    publish_case_event(
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
#
# The PDF of a signed version is rendered once, after the signature commits, and never changed:
# a correction is a new version with a report of its own. It shows the case as it stood when
# the version was signed (opinions at their text of that moment, key images and attendance up
# to then), so a report made again after a failure says the same. Co-signatures come after
# the signature: the report lists those known when it was rendered (normally none) and says
# so; the case page lists them all.
#
# Who may download it (``can_read_report``): the board's members (coordinators too), invited
# experts while their invitation runs, the referring doctor, and a patient who submitted their
# own case if the board sends reports to patients (Board.send_report_to_patient). The
# submitter, if they may read it, gets an email when it is ready; members follow the case page.

REPORT_READY, REPORT_PENDING, REPORT_FAILED = "ready", "pending", "failed"
# A report not stored this long after the signature (or after "generate again") failed
# without saying so (the process died): the chair is offered to generate it again.
REPORT_PENDING_FOR = timedelta(minutes=5)
# Longest side of a key image in the PDF, in pixels: sharp at the printed width (8 cm).
REPORT_KEY_IMAGE_SIZE = 512


def can_read_report(access: CaseAccess) -> bool:
    if access.is_panelist:
        return True
    if not access.is_submitter:
        return False
    return access.user.kind == User.Kind.CLINICIAN or access.case.board.send_report_to_patient


def report_of(consensus: Consensus) -> Report | None:
    try:
        return consensus.report
    except Report.DoesNotExist:
        return None


def report_status(consensus: Consensus) -> str:
    """ready, pending (being rendered) or failed, for a signed version."""
    if report_of(consensus) is not None:
        return REPORT_READY
    last = (
        AuditEvent.objects.filter(
            case_id=consensus.case_id,
            object_id=str(consensus.uuid),
            action__in=("report.generate", "report.regenerate"),
        )
        .order_by("-at", "-pk")
        .first()
    )
    started = consensus.signed_at
    if last is not None:
        if last.action == "report.generate" and last.outcome == AuditEvent.Outcome.DENIED:
            return REPORT_FAILED
        started = max(started, last.at)
    return REPORT_PENDING if timezone.now() - started < REPORT_PENDING_FOR else REPORT_FAILED


def report_generate(*, consensus: Consensus, by: User | None = None) -> Report | None:
    """Render and store the PDF of a signed version, once. Runs after the signature commits;
    a failure is logged and audited, leaves the signature standing and tells the case page
    (the chair can then generate it again). An existing report is returned unchanged."""
    from cases.report import render_report_pdf, report_sha256

    consensus = Consensus.objects.select_related(
        "case__board", "signed_by", "supersedes", "round__meeting", "report"
    ).get(pk=consensus.pk)
    if not consensus.is_signed:
        raise ValueError("only a signed consensus has a report")
    existing = report_of(consensus)
    if existing is not None:
        return existing
    case = consensus.case
    by = by or consensus.signed_by
    try:
        pdf = render_report_pdf(report_data(consensus))
        report = Report(consensus=consensus, sha256=report_sha256(pdf), size=len(pdf))
        report.file.save("report.pdf", ContentFile(pdf), save=False)
    except Exception as exc:
        logger.exception("could not make the report of consensus %s", consensus.uuid)
        audit(
            actor=by,
            action="report.generate",
            case=case,
            target=consensus,
            allowed=False,
            detail={"version": consensus.version, "error": type(exc).__name__},
        )
        _publish_report(consensus, REPORT_FAILED)
        return None
    try:
        with transaction.atomic():
            report.save()
            audit(
                actor=by,
                action="report.generate",
                case=case,
                target=report,
                detail={"version": consensus.version, "sha256": report.sha256},
            )
            _publish_report(consensus, REPORT_READY)
            transaction.on_commit(lambda: report_deliver(report=report, by=by), robust=True)
    except IntegrityError:
        # Rendered twice at once (a regenerate beside a slow first attempt): the first stays.
        report.file.storage.delete(report.file.name)
        return Report.objects.get(consensus=consensus)
    except Exception:
        report.file.storage.delete(report.file.name)
        raise
    return report


def report_regenerate(*, access: CaseAccess, consensus: Consensus) -> Report | None:
    """The chair asks again for the report of a signed version that has none."""
    if not can_chair(access) or consensus.case_id != access.case.pk:
        raise PermissionDenied
    if not consensus.is_signed:
        raise Conflict(_("Only a signed version has a report."))
    if Report.objects.filter(consensus=consensus).exists():
        raise Conflict(_("This version has its report already; a report is never changed."))
    audit(
        actor=access.user,
        action="report.regenerate",
        case=access.case,
        target=consensus,
        detail={"version": consensus.version},
    )
    return report_generate(consensus=consensus, by=access.user)


def report_recipients(case: Case) -> list[User]:
    """Who is emailed when a report is ready: the submitter, if they may read it."""
    submitter = case.submitted_by
    if submitter.kind == User.Kind.PATIENT and not case.board.send_report_to_patient:
        return []
    return [submitter]


def report_deliver(*, report: Report, by: User | None = None) -> int:
    """Tell the submitter the report is ready (pseudonym and link only; the PDF stays behind
    the login). Runs after the report is stored; returns how many were emailed."""
    from cases import notify

    case = report.consensus.case
    sent = notify.report_ready(report, report_recipients(case))
    audit(
        actor=by,
        action="report.deliver",
        case=case,
        target=report,
        detail={"version": report.consensus.version, "emails": sent},
    )
    return sent


def verify_report(case: Case, digest: str) -> Report | None:
    """The report of this case whose SHA-256 is ``digest``, if any."""
    return (
        Report.objects.filter(consensus__case=case, sha256=digest.lower())
        .select_related("consensus__signed_by")
        .first()
    )


def _publish_report(consensus: Consensus, status: str) -> None:
    publish_case_event(
        consensus.case,
        ReportChanged(
            case=str(consensus.case.uuid),
            consensus=str(consensus.uuid),
            version=consensus.version,
            status=status,
        ),
    )


# --- what the report shows --------------------------------------------------------------------


def report_data(consensus: Consensus):
    """Everything the report of a signed version shows, as the case stood when it was signed
    (see the notes above). Key images are drawn here, with their window and annotations."""
    from cases.markdown import render_markdown
    from cases.report import ReportData, ReportSignature

    case = consensus.case
    at = consensus.signed_at or timezone.now()
    round_ = consensus.round
    meeting = round_.meeting if round_ is not None else None
    decision = _report_decision(round_) if round_ is not None else {}
    quorum = decision.pop("quorum", "")
    attendees = []
    if meeting is not None:
        attendees, present = _report_attendees(meeting, case, at)
        quorum = " ".join(part for part in (quorum, _attendance_quorum(case, present)) if part)
    signer_role = (
        Membership.objects.filter(board_id=case.board_id, user_id=consensus.signed_by_id)
        .values_list("role", flat=True)
        .first()
    )
    signatures = [
        ReportSignature(
            name=consensus.signed_by.display_name,
            role=str(Membership.Role(signer_role).label) if signer_role else _("Signed"),
            signed_at=consensus.signed_at,
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
        structured=_report_structured(case),
        question=case.question,
        studies=_report_studies(case, at),
        key_images=_report_key_images(case, at),
        opinions=_report_opinions(case, at),
        quorum=quorum,
        recommendation_html=render_markdown(consensus.text) + _coded_recommendation(consensus),
        attendees=attendees,
        signatures=signatures,
        **decision,
    )


def _report_structured(case: Case) -> list[tuple[str, str]]:
    """The sarcoma data as the case page's panel shows it (templates/cases/_structured.html)."""
    size = f"{case.size_cm} cm" if case.size_cm else ""
    if size and case.depth:
        size += f", {case.get_depth_display().lower()}"
    grade = ""
    if case.grade:
        grade = _("G%(grade)d (differentiation %(d)d + mitoses %(m)d + necrosis %(n)d)") % {
            "grade": case.grade,
            "d": case.differentiation_score,
            "m": case.mitotic_score,
            "n": case.necrosis,
        }
    stage = case.stage
    staged = _("Stage %(group)s") % {"group": stage.group} if stage.group else ""
    staged = " ".join(part for part in (staged, f"({stage.tnm})", stage.note) if part)
    age = _("%(age)d years") % {"age": case.age} if case.age is not None else ""
    return [
        (_("Sex"), case.get_sex_display() if case.sex else ""),
        (_("Age"), age),
        (_("Histotype"), case.diagnosis_label),
        (_("Primary site"), case.get_primary_site_display() if case.primary_site else ""),
        (_("Size"), size),
        (_("FNCLCC grade"), grade or _("incomplete")),
        (_("AJCC 8th stage"), staged),
        (_("Margins"), case.get_margins_display() if case.margins else ""),
        (_("ECOG"), "" if case.ecog is None else str(case.ecog)),
        (_("Molecular findings"), case.molecular_findings),
        (_("Expert pathology review"), case.get_pathology_review_display()),
    ]


def _report_studies(case: Case, at: datetime) -> list:
    from cases.report import ReportStudy

    studies = []
    for study in case.studies.filter(created_at__lte=at).prefetch_related("series"):
        series = list(study.series.all())
        modalities = sorted({s.modality for s in series if s.modality})
        studies.append(
            ReportStudy(
                date=study.study_date,
                modality=", ".join(modalities),
                description=study.description,
                series=len(series),
                instances=sum(s.instance_count for s in series),
            )
        )
    return studies


def _report_key_images(case: Case, at: datetime) -> list:
    from cases.report import ReportImage
    from imaging.annotation_views import render_key_image

    images = []
    key_images = case.key_images.filter(created_at__lte=at).select_related(
        "author", "instance__series"
    )
    for key in key_images:
        series = key.instance.series
        where = " ".join(part for part in (series.modality, series.description) if part)
        caption = " · ".join(part for part in (key.caption, where, key.author.display_name) if part)
        # Never enlarged: a 256-pixel MR stays 256 pixels.
        native = max(key.instance.rows, key.instance.columns)
        png = render_key_image(key, min(REPORT_KEY_IMAGE_SIZE, native) or None)
        images.append(ReportImage(png=png, caption=caption))
    return images


def _report_opinions(case: Case, at: datetime) -> list:
    """The opinions standing when the version was signed, by specialty, each with the text it
    had then (an edit after the signature left its earlier text in a revision)."""
    from cases.markdown import render_markdown
    from cases.models import Opinion
    from cases.report import ReportOpinion, ReportSpecialty

    opinions = (
        Opinion.objects.filter(case=case, created_at__lte=at)
        .exclude(withdrawn_at__lte=at)
        .select_related("author")
        .prefetch_related("revisions")
    )
    by_specialty: dict[str, list] = {}
    for opinion in opinions:
        body = opinion.body
        later = [r for r in opinion.revisions.all() if r.edited_at > at]
        if later:
            body = min(later, key=lambda r: r.edited_at).body
        by_specialty.setdefault(opinion.author_specialty, []).append(
            ReportOpinion(
                author=opinion.author.display_name,
                written_at=opinion.created_at,
                html=render_markdown(body),
            )
        )
    order = list(Specialty.values)
    return [
        ReportSpecialty(label=str(Specialty(key).label), opinions=by_specialty[key])
        for key in sorted(by_specialty, key=lambda k: order.index(k) if k in order else len(order))
    ]


def _report_decision(round_: VoteRound) -> dict[str, Any]:
    """The proposals with their tally, the outcome, the rule, the vote's quorum, the dissent."""
    from django.utils.html import strip_tags

    from cases.markdown import render_markdown
    from cases.report import ReportDissent, ReportProposal

    counts = round_.tally.get("counts", {})
    single = round_.vote_mode == tallying.SINGLE_CHOICE
    proposals = []
    for proposal in round_.proposals.all():
        c = counts.get(str(proposal.uuid), {})
        text = " ".join(strip_tags(render_markdown(proposal.text)).split())
        proposals.append(
            ReportProposal(
                title=text if len(text) <= 160 else text[:159].rstrip() + "…",
                category=proposal.get_category_display(),
                agree=c.get("agree", 0),
                disagree=0 if single else c.get("disagree", 0),
                abstain=0 if single else c.get("abstain", 0),
                chosen=c.get("agree", 0) if single else None,
                adopted=proposal.pk == round_.winner_id,
                number=proposal.number,
            )
        )
    dissent = [
        ReportDissent(name=vote.voter.display_name, reason=vote.comment)
        for vote in round_.votes.filter(uuid__in=round_.tally.get("dissent", [])).select_related(
            "voter"
        )
    ]
    outcome = str(round_.get_result_display())
    if round_.winner_id is not None:
        outcome = _("%(result)s: P%(n)d") % {"result": outcome, "n": round_.winner.number}
    return {
        "proposals": proposals,
        "dissent": dissent,
        "outcome": outcome,
        "rule": rule_label(round_),
        "quorum": _vote_quorum(round_),
    }


def _missing(shortfall: dict[str, int]) -> str:
    return ", ".join(f"{Specialty(s).label} ×{n}" for s, n in shortfall.items())


def _vote_quorum(round_: VoteRound) -> str:
    ballots = round_.tally.get("ballots", 0)
    shortfall = round_.tally.get("shortfall", {})
    cast = ngettext("%(n)d ballot cast", "%(n)d ballots cast", ballots) % {"n": ballots}
    if shortfall:
        return _("Vote: quorum not met (%(cast)s; missing %(missing)s).") % {
            "cast": cast,
            "missing": _missing(shortfall),
        }
    return _("Vote: quorum met (%(cast)s).") % {"cast": cast}


def _report_attendees(meeting, case: Case, at: datetime) -> tuple[list, list[str]]:
    """One row per person who joined the meeting before the signature: first join, last
    leave (none while any of their tabs was still open at the signature); and the specialty
    each sat in, for the quorum."""
    from cases.report import ReportAttendee
    from meetings.models import PRESENCE_TIMEOUT, Attendance

    specialties = dict(
        Membership.objects.filter(board_id=case.board_id).values_list("user_id", "specialty")
    )
    people: dict[int, dict[str, Any]] = {}
    for row in Attendance.objects.filter(meeting=meeting, joined_at__lte=at).select_related("user"):
        person = people.setdefault(
            row.user_id, {"user": row.user, "joined": row.joined_at, "left": [], "open": False}
        )
        person["joined"] = min(person["joined"], row.joined_at)
        left = row.left_at
        if left is None and row.seen_at is not None and row.seen_at < at - PRESENCE_TIMEOUT:
            left = row.seen_at  # its socket died unannounced: gone since its last heartbeat
        if left is None or left > at:
            person["open"] = True
        else:
            person["left"].append(left)
    attendees, present = [], []
    for user_id, person in sorted(people.items(), key=lambda item: item[1]["joined"]):
        specialty = specialties.get(user_id) or person["user"].specialty
        present.append(specialty)
        attendees.append(
            ReportAttendee(
                name=person["user"].display_name,
                specialty=str(Specialty(specialty).label) if specialty else "",
                joined_at=person["joined"],
                left_at=None if person["open"] else max(person["left"]),
            )
        )
    return attendees, present


def _attendance_quorum(case: Case, present: list[str]) -> str:
    shortfall = case.board.quorum_shortfall(present)
    people = ngettext("%(n)d attendee", "%(n)d attendees", len(present)) % {"n": len(present)}
    if shortfall:
        return _("Meeting: quorum not met (%(people)s; missing %(missing)s).") % {
            "people": people,
            "missing": _missing(shortfall),
        }
    return _("Meeting: quorum met (%(people)s).") % {"people": people}


def _coded_recommendation(consensus: Consensus) -> str:
    """The recommendation's coded fields under its text (escaped here; the report cleans all
    HTML it is given again)."""
    guideline = consensus.get_guideline_display()
    if consensus.guideline_reference:
        guideline = f"{guideline} — {consensus.guideline_reference}"
    return format_html(
        "<p><strong>{}</strong>: {}<br><strong>{}</strong>: {}<br>"
        "<strong>{}</strong>: {}<br><strong>{}</strong>: {}</p>",
        _("Category"),
        consensus.get_category_display(),
        _("Guideline"),
        guideline,
        _("Level of evidence"),
        consensus.get_evidence_level_display(),
        _("Grade of recommendation"),
        consensus.get_grade_display(),
    )


def rule_label(round_: VoteRound) -> str:
    label = Board.ConsensusRule(round_.consensus_rule).label
    if round_.consensus_rule == Board.ConsensusRule.QUALIFIED_MAJORITY:
        return f"{label} ({round_.qualified_majority})"
    return str(label)


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
        case.consensus_versions.select_related("signed_by", "drafted_by", "report")
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
