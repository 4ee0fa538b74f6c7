"""The expert's written opinion on an expert review (issue #16): draft, then signed.

Only the expert holding the review (cases.access.CaseAccess.holds_review) writes and signs
it; signing asks for their password again, as a consensus does. A signed opinion is final
(the model, its queryset and a database trigger refuse a change: decisions 0008).

Signing the answer of a case sent to an expert service also signs the case's consensus, in
the same transaction: the expert's recommendation becomes the case's signed recommendation,
so its reports per audience (panel, referrer, patient), their delivery emails and the case
page's report links are exactly those of a signed consensus (decisions.reports), and the case
is concluded. A step review asked for by a board only closes the review: the board's own
consensus report prints it (decisions.report_data).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from board.security import password_confirm
from cases.access import CaseAccess
from cases.audit import audit
from cases.models import Case, ExpertReview
from cases.services import case_status_apply
from decisions import reports
from decisions.models import Consensus, ExpertOpinion, TreatmentCategory
from realtime.events import ConsensusSigned
from realtime.publish import publish_case_event

S = Case.Status
OPINION_FIELDS = (
    "reviewed_entity",
    "reviewed_diagnosis_other",
    "reviewed_grade",
    "concordance",
    "comment",
    "recommendation",
)


class OpinionLocked(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WrongPassword(Exception):
    """The password given to sign is not the signer's."""


def opinion_digest(opinion: ExpertOpinion) -> str:
    """SHA-256 of what the expert signed: the case, the fields, the signer and the time."""
    signed = {
        "case": str(opinion.review.case.uuid),
        "review": str(opinion.review.uuid),
        **{name: getattr(opinion, name) for name in OPINION_FIELDS},
        "referring_entity": opinion.referring_entity,
        "referring_diagnosis_other": opinion.referring_diagnosis_other,
        "referring_grade": opinion.referring_grade,
        "signed_by": str(opinion.signed_by.uuid),
        "signed_at": opinion.signed_at.isoformat(),
    }
    return hashlib.sha256(json.dumps(signed, sort_keys=True).encode()).hexdigest()


@transaction.atomic
def expert_opinion_save(
    *, access: CaseAccess, review: ExpertReview, data: Mapping[str, Any]
) -> ExpertOpinion:
    """The holding expert saves the draft (created on the first save)."""
    access.require(access.holds_review(review), "expert_opinion.save")
    review = ExpertReview.objects.select_for_update().get(pk=review.pk)
    opinion = ExpertOpinion.objects.filter(review=review).first()
    if opinion is not None and opinion.is_signed:
        raise OpinionLocked(_("This opinion is signed and can no longer change."))
    if opinion is None:
        opinion = ExpertOpinion(review=review, author=access.user)
    opinion.author = access.user  # a re-assigned review's draft is the new expert's
    for name in OPINION_FIELDS:
        if name in data:
            setattr(opinion, name, (data[name] or "").strip())
    opinion.full_clean(exclude=["review", "consensus"])
    opinion.save()
    audit(actor=access.user, action="expert_opinion.save", case=access.case, target=opinion)
    return opinion


def expert_opinion_sign(
    *, access: CaseAccess, review: ExpertReview, password: str
) -> ExpertOpinion:
    """The holding expert signs their draft after giving their password again. A wrong
    password signs nothing and is audited (outside the transaction, so the refusal stays)."""
    access.require(access.holds_review(review), "expert_opinion.sign")
    opinion = ExpertOpinion.objects.filter(review=review).first()
    if not password_confirm(user=access.user, password=password):
        audit(
            actor=access.user,
            action="expert_opinion.sign",
            case=access.case,
            target=opinion or review,
            allowed=False,
            detail={"reason": "password"},
        )
        raise WrongPassword
    return _sign(access, review)


@transaction.atomic
def _sign(access: CaseAccess, review: ExpertReview) -> ExpertOpinion:
    case = (
        Case.objects.select_for_update(of=("self",)).select_related("board").get(pk=access.case.pk)
    )
    access.case = case
    review = ExpertReview.objects.select_for_update().select_related("service").get(pk=review.pk)
    opinion = ExpertOpinion.objects.select_for_update().filter(review=review).first()
    if opinion is None:
        raise ValidationError(_("Write the opinion before signing it."))
    if opinion.is_signed:
        raise OpinionLocked(_("This opinion is already signed."))
    _require_complete(opinion, pathology=review.service.review_kind == "pathology")
    now = timezone.now()
    # The referring diagnosis as it stands now is what the expert compared with.
    opinion.referring_entity = case.entity
    opinion.referring_diagnosis_other = case.diagnosis_other
    opinion.referring_grade = case.reported_grade
    opinion.signed_by = access.user
    opinion.signed_at = now
    opinion.sha256 = opinion_digest(opinion)
    if review.purpose == ExpertReview.Purpose.ANSWER:
        opinion.consensus = _sign_answer(case, review, opinion)
    opinion.save()
    review.completed_at = now
    review.save(update_fields=["completed_at"])
    if review.service.review_kind == "pathology" and opinion.concordance:
        # The clinical record's "expert pathology review" field takes the signed concordance
        # (the same three levels); the signature's audit event records who set it.
        Case.objects.filter(pk=case.pk).update(pathology_review=opinion.concordance)
        case.pathology_review = opinion.concordance
    audit(
        actor=access.user,
        action="expert_opinion.sign",
        case=case,
        target=opinion,
        detail={"purpose": review.purpose, "sha256": opinion.sha256},
    )
    if opinion.consensus is not None:
        publish_case_event(
            case,
            ConsensusSigned(
                case=str(case.uuid),
                consensus=str(opinion.consensus.uuid),
                version=opinion.consensus.version,
                signatures=1,
            ),
        )
        reports.report_request(consensus=opinion.consensus)
    return opinion


def _require_complete(opinion: ExpertOpinion, *, pathology: bool) -> None:
    missing = []
    if pathology:
        if not (opinion.reviewed_entity or opinion.reviewed_diagnosis_other):
            missing.append(_("the reviewed diagnosis"))
        if not opinion.concordance:
            missing.append(_("the concordance with the referring diagnosis"))
    if not (opinion.comment.strip() or opinion.recommendation.strip()):
        missing.append(_("a comment or a recommendation"))
    if missing:
        raise ValidationError(
            _("Before signing, give %(missing)s.") % {"missing": ", ".join(missing)}
        )


def _sign_answer(case: Case, review: ExpertReview, opinion: ExpertOpinion) -> Consensus:
    """The case's consensus, signed by the expert: what reports and delivery are made from."""
    if case.consensus_versions.filter(signed_at__isnull=True).exists():
        raise ValidationError(_("This case has a draft recommendation of its board."))
    last = case.consensus_versions.aggregate(v=Max("version"))["v"]
    pathology = review.service.review_kind == "pathology"
    consensus = Consensus.objects.create(
        case=case,
        version=(last or 0) + 1,
        supersedes=case.consensus_versions.filter(version=last).first() if last else None,
        category=TreatmentCategory.PATHOLOGY_REVIEW if pathology else TreatmentCategory.OTHER,
        text=opinion.recommendation.strip() or opinion.comment.strip(),
        drafted_by=opinion.signed_by,
    )
    consensus.signed_by = opinion.signed_by
    consensus.signed_at = opinion.signed_at
    consensus.save(update_fields=["signed_by", "signed_at", "updated_at"])
    if case.status == S.SUBMITTED:
        case_status_apply(case=case, to=S.IN_REVIEW, by=opinion.signed_by)
    if case.status == S.IN_REVIEW:
        case_status_apply(case=case, to=S.CONCLUDED, by=opinion.signed_by)
    return consensus


def referring_of(case: Case, opinion: ExpertOpinion | None) -> dict[str, str]:
    """The referring diagnosis the expert compares with: as signed, else as it stands."""
    if opinion is not None and opinion.is_signed:
        return {
            "entity": opinion.referring_entity,
            "other": opinion.referring_diagnosis_other,
            "grade": opinion.referring_grade,
        }
    return {"entity": case.entity, "other": case.diagnosis_other, "grade": case.reported_grade}
