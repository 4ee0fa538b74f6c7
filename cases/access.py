"""Who may do what with a case. Every case view starts here.

Outsiders get 404 (a case's existence is itself patient data); people who
may see a case but not do the thing they asked get 403. Both leave an audit
event.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from board.models import Membership, Specialty, User
from cases.audit import audit
from cases.models import Case, CaseInvite, ExpertReview, Opinion, ReportAudience

S = Case.Status
EDITABLE_BY_SUBMITTER = {S.DRAFT, S.SUBMITTED}
OPINIONS_UNBLINDED = {S.DISCUSSED, S.CONCLUDED}
# The decisions app's moments: proposals while the board reviews the case, votes until the
# consensus concludes it.
PROPOSAL_STATUSES = {S.IN_REVIEW, S.SCHEDULED}
VOTE_STATUSES = {S.IN_REVIEW, S.SCHEDULED, S.DISCUSSED}

# (from, to) -> who may make the move: "submitter" or "manager" (chair/coordinator), or
# "agenda": no button makes it; a case is scheduled by being put on a meeting's agenda and
# goes back to review when it comes off (meetings.services, by a manager, ``by_agenda``).
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (S.DRAFT, S.SUBMITTED): frozenset({"submitter"}),
    (S.SUBMITTED, S.IN_REVIEW): frozenset({"manager"}),
    (S.IN_REVIEW, S.SCHEDULED): frozenset({"agenda"}),
    (S.SCHEDULED, S.IN_REVIEW): frozenset({"agenda"}),
    (S.SCHEDULED, S.DISCUSSED): frozenset({"manager"}),
    (S.DISCUSSED, S.CONCLUDED): frozenset({"manager"}),
    (S.DRAFT, S.WITHDRAWN): frozenset({"submitter"}),
    (S.SUBMITTED, S.WITHDRAWN): frozenset({"submitter", "manager"}),
    (S.IN_REVIEW, S.WITHDRAWN): frozenset({"submitter", "manager"}),
    (S.SCHEDULED, S.WITHDRAWN): frozenset({"submitter", "manager"}),
    # Re-presentation: a follow-up of the signed recommendation (decisions.followup) sends
    # the case back to the board; no button makes it. The follow-up checked who may.
    (S.CONCLUDED, S.IN_REVIEW): frozenset({"followup"}),
}


def active_invites(user: User) -> QuerySet[CaseInvite]:
    return CaseInvite.objects.filter(
        expert=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


@dataclass
class CaseAccess:
    """What one user may do with one case, computed once per request."""

    case: Case
    user: User
    membership: Membership | None
    invite: CaseInvite | None
    # A member of an expert service asked to review a case of another board (issue #16):
    # reads the case as the panel does, without a panelist's other rights.
    review: ExpertReview | None = None

    @property
    def is_submitter(self) -> bool:
        return self.case.submitted_by_id == self.user.pk

    @property
    def is_member(self) -> bool:
        return self.membership is not None

    @property
    def is_manager(self) -> bool:
        return self.membership is not None and self.membership.is_manager

    @property
    def is_expert(self) -> bool:
        return self.invite is not None

    @property
    def is_panelist(self) -> bool:
        return self.is_member or self.is_expert

    @property
    def specialty(self) -> str:
        """The capacity the user acts in on this case: their seat on the board, else their
        own specialty (an invited expert)."""
        if self.membership is not None:
            return self.membership.specialty
        return self.user.specialty or Specialty.OTHER

    @property
    def is_reviewer(self) -> bool:
        return self.review is not None

    @property
    def can_view(self) -> bool:
        if self.is_submitter:
            return True
        return (self.is_panelist or self.is_reviewer) and self.case.status != S.DRAFT

    @property
    def can_see_identity(self) -> bool:
        return self.is_submitter or self.is_manager

    @property
    def can_see_opinions(self) -> bool:
        if self.is_panelist or self.is_reviewer:
            return True
        return (
            self.is_submitter
            and self.user.kind == User.Kind.CLINICIAN
            and self.case.board.share_opinions_with_referrers
        )

    @property
    def can_write_opinion(self) -> bool:
        return self.is_panelist and not self.case.is_closed

    @cached_property
    def opinions_blinded(self) -> bool:
        """A blinded panelist sees only their own opinions until they post one."""
        if not self.case.board.blinded_opinions or not self.is_panelist:
            return False
        if self.case.status in OPINIONS_UNBLINDED:
            return False
        if self.membership is not None and self.membership.role == Membership.Role.COORDINATOR:
            return False  # coordinators organise; they do not give opinions
        return not Opinion.objects.filter(
            case=self.case, author=self.user, parent__isnull=True, withdrawn_at__isnull=True
        ).exists()

    @property
    def can_edit(self) -> bool:
        if self.is_manager:
            return not self.case.is_closed
        return self.is_submitter and self.case.status in EDITABLE_BY_SUBMITTER

    @property
    def can_edit_clinical(self) -> bool:
        """The clinical record (diagnosis, stage, grade, treatments, molecular results) is
        kept by the board's members (chair, coordinators, members; not invited experts)
        until the case is closed, and by a referring doctor who submitted it while it is
        theirs to edit. A patient's own request is coded by the board."""
        if not self.can_view:
            return False
        if self.is_member:
            return not self.case.is_closed
        return (
            self.is_submitter
            and self.user.kind == User.Kind.CLINICIAN
            and self.case.status in EDITABLE_BY_SUBMITTER
        )

    @property
    def can_annotate(self) -> bool:
        """Anyone who may view the case (panelists and the submitter) marks its images, until
        the case is closed."""
        may_view = self.can_view and (self.is_panelist or self.is_submitter)
        return may_view and not self.case.is_closed

    def can_delete_key_image(self, key_image) -> bool:
        mine = key_image.author_id == self.user.pk
        return (mine or self.is_manager) and self.can_annotate

    @property
    def can_upload(self) -> bool:
        return (self.is_submitter or self.is_member) and not self.case.is_closed

    @property
    def can_remove_uploads(self) -> bool:
        """Remove a wrong attachment or study (issue #16): the submitter until the board
        takes the case in review, then the managers (chair, coordinators) only. A board
        member who is neither never removes: what the board has seen stays."""
        if self.is_manager:
            return True
        return self.is_submitter and self.case.status in EDITABLE_BY_SUBMITTER

    # --- requests to the submitter (issue #16) ----------------------------------------------
    # The board's own people (chair, coordinators, members) ask the submitter; an invited
    # expert reads the requests but goes through the board to ask. Only the submitter
    # answers: nobody answers for them. The asker or a manager closes or withdraws.

    @property
    def can_see_requests(self) -> bool:
        return self.is_panelist or self.is_submitter

    @property
    def can_ask_submitter(self) -> bool:
        return self.is_member and not self.is_submitter and not self.case.is_closed

    @property
    def can_answer_requests(self) -> bool:
        return self.is_submitter and not self.case.is_closed

    def can_settle_request(self, request) -> bool:
        """Close (answered, settled) or withdraw (no longer needed) a request."""
        mine = request.asked_by_id == self.user.pk and self.is_member
        return (mine or self.is_manager) and request.is_pending

    # --- decisions (the rules live here, once; decisions/ asks) ---------------------------
    # Experts bring options but do not vote; coordinators organise and neither vote nor
    # give opinions; the chair votes like any member. Running votes and signing is the
    # managers' (chair and coordinators).

    @property
    def can_propose(self) -> bool:
        if self.case.board.is_expert_service:
            return False  # one expert answers: no proposals, votes or meetings
        return self.is_panelist and self.case.status in PROPOSAL_STATUSES

    @property
    def can_vote(self) -> bool:
        if self.case.board.is_expert_service:
            return False
        return self.membership is not None and self.membership.role != Membership.Role.COORDINATOR

    # --- expert reviews (issue #16) ---------------------------------------------------------
    # The expert service's managers assign and re-assign; any of its members takes an
    # unassigned review; only the expert holding it writes and signs the opinion. A board's
    # managers ask for a review as a step and may go ahead without it, giving a reason.

    @cached_property
    def _service_seats(self) -> dict[int, Membership]:
        return {
            m.board_id: m
            for m in Membership.objects.filter(
                user_id=self.user.pk, board__expert_reviews__case=self.case
            ).distinct()
        }

    def service_seat(self, review: ExpertReview) -> Membership | None:
        if self.membership is not None and self.membership.board_id == review.service_id:
            return self.membership
        return self._service_seats.get(review.service_id)

    def can_assign_review(self, review: ExpertReview) -> bool:
        seat = self.service_seat(review)
        return seat is not None and seat.is_manager and review.is_open and self._case_open

    def can_take_review(self, review: ExpertReview) -> bool:
        return (
            self.service_seat(review) is not None
            and review.expert_id is None
            and review.is_open
            and self._case_open
        )

    def holds_review(self, review: ExpertReview) -> bool:
        """The expert holding an open review: writes and signs its opinion."""
        return (
            review.expert_id == self.user.pk
            and review.is_open
            and self.service_seat(review) is not None
            and self._case_open
        )

    def can_read_expert_draft(self, review: ExpertReview) -> bool:
        """A draft is the expert's working: the service and the case's panel read it; the
        referrer and the patient read only the signed opinion."""
        return self.service_seat(review) is not None or self.is_panelist

    @property
    def can_request_review(self) -> bool:
        return (
            self.is_manager
            and not self.case.board.is_expert_service
            and self.case.status in {S.SUBMITTED, S.IN_REVIEW}
        )

    def can_waive_review(self, review: ExpertReview) -> bool:
        return self.is_manager and review.blocks_agenda and self._case_open

    @property
    def _case_open(self) -> bool:
        return self.case.status not in {S.DRAFT, S.CONCLUDED, S.WITHDRAWN}

    def can_withdraw_proposal(self, proposal) -> bool:
        return (proposal.author_id == self.user.pk or self.is_manager) and not self.case.is_closed

    @property
    def report_audience(self) -> str | None:
        """Which copy of the report this reader gets, decided here once: panelists (members,
        managers, invited experts) the panel copy, which is pseudonymous; the referring doctor
        who submitted the case the referrer copy; a patient who submitted their own case the
        patient copy if the board sends reports to patients (Board.send_report_to_patient).
        None: no copy."""
        if self.is_panelist or self.is_reviewer:
            return ReportAudience.PANEL
        if not self.is_submitter:
            return None
        if self.user.kind == User.Kind.CLINICIAN:
            return ReportAudience.REFERRER
        if self.case.board.send_report_to_patient:
            return ReportAudience.PATIENT
        return None

    @property
    def can_read_report(self) -> bool:
        return self.report_audience is not None

    def can_see_key_image(self, key_image) -> bool:
        """Panelists see every key image; the submitter those the board released with the
        report and their own."""
        if self.is_panelist:
            return True
        return key_image.released_with_report or key_image.author_id == self.user.pk

    @property
    def sees_panel_annotations(self) -> bool:
        """The panel's working annotations (their labels and authors) are the panel's; the
        submitter sees only their own."""
        return self.is_panelist

    @property
    def can_release_key_images(self) -> bool:
        # Also after the case is closed: a correction (a new signed version) picks it up.
        return self.is_manager

    def can_move_to(
        self, status: str, *, by_agenda: bool = False, by_followup: bool = False
    ) -> bool:
        who = TRANSITIONS.get((self.case.status, status), frozenset())
        if by_followup:
            return "followup" in who
        if by_agenda:
            return "agenda" in who and self.is_manager
        return ("submitter" in who and self.is_submitter) or ("manager" in who and self.is_manager)

    @property
    def next_statuses(self) -> list[str]:
        return [to for (frm, to) in TRANSITIONS if frm == self.case.status and self.can_move_to(to)]

    def require(self, allowed: bool, action: str) -> None:
        """403 (audited) unless ``allowed``."""
        if not allowed:
            audit(actor=self.user, action=action, case=self.case, target=self.case, allowed=False)
            raise PermissionDenied


def case_access(user: User, case: Case) -> CaseAccess:
    membership = None
    invite = None
    if user.is_authenticated and user.is_active:
        membership = Membership.objects.filter(user=user, board_id=case.board_id).first()
        if membership is None:
            invite = active_invites(user).filter(case=case).first()
            if invite is not None and not user.has_perm("cases.view_case", case):
                invite = None  # the guardian grant is gone: the invite no longer opens the case
        if membership is None and invite is None and case.submitted_by_id != user.pk:
            review = ExpertReview.objects.filter(case=case, service__memberships__user=user).first()
            return CaseAccess(case=case, user=user, membership=None, invite=None, review=review)
    return CaseAccess(case=case, user=user, membership=membership, invite=invite)


def get_case_for_user(user: User, case_id: UUID, *, action: str = "case.view") -> CaseAccess:
    """The case and the user's rights on it, or 404 (audited) for those who may not see it."""
    case = Case.objects.select_related("board", "submitted_by").filter(uuid=case_id).first()
    access = case_access(user, case) if case is not None else None
    if access is None or not access.can_view:
        audit(
            actor=user,
            action=action,
            case=case,
            allowed=False,
            detail={} if case is not None else {"requested": str(case_id)},
        )
        raise Http404
    return access


def cases_visible_to(user: User) -> QuerySet[Case]:
    """Every case the user may open, in one query (lists and counts use only this)."""
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    member_of_board = Membership.objects.filter(user=user, board=OuterRef("board"))
    invited = active_invites(user).filter(case=OuterRef("pk"))
    reviewing = ExpertReview.objects.filter(case=OuterRef("pk"), service__memberships__user=user)
    return Case.objects.filter(
        Q(submitted_by=user)
        | (Exists(member_of_board) & ~Q(status=S.DRAFT))
        | (Exists(invited) & ~Q(status=S.DRAFT))
        | (Exists(reviewing) & ~Q(status=S.DRAFT))
    )
