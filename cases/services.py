"""Writes to cases: keyword-only, typed, atomic; events and emails go out after commit."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from board.dates import format_day
from board.models import Board, Membership, User
from cases import checklist, history, notify
from cases.access import CaseAccess
from cases.attachments import AttachmentRejected, sniff
from cases.audit import audit
from cases.models import (
    Attachment,
    Case,
    CaseInvite,
    ClinicalRevision,
    ExpertReview,
    Opinion,
    OpinionRevision,
    PatientIdentity,
    RequestReply,
    SubmitterRequest,
)
from realtime.events import CaseAccessRevoked, CaseStatusChanged, OpinionPosted, RequestChanged
from realtime.groups import case_group
from realtime.publish import publish_case_event, publish_on_commit

logger = logging.getLogger(__name__)

S = Case.Status

# The request, then the clinical record (cases/history.py follows the latter's edits).
CASE_FIELDS = (
    "sex",
    "age",
    "clinical_summary",
    "history",
    "question",
    "urgency",
    "referring_physician",
    "referring_institution",
    *history.CLINICAL_FIELDS,
)
IDENTITY_FIELDS = ("full_name", "date_of_birth", "hospital_number")


# --- the case record ---------------------------------------------------------------


@transaction.atomic
def case_create(
    *,
    by: User,
    board: Board,
    data: dict[str, Any],
    identity: dict[str, Any],
    rows: Sequence[BaseInlineFormSet] = (),
) -> Case:
    """A new draft. Patients submit about themselves; clinicians about a patient."""
    kind = Case.Kind.PATIENT if by.kind == User.Kind.PATIENT else Case.Kind.DOCTOR
    case = Case(board=board, submitted_by=by, kind=kind)
    _assign(case, data)
    case.full_clean(exclude=["pseudonym"])
    case.save()
    PatientIdentity.objects.create(case=case, **_identity_values(identity))
    _save_rows(case, rows)
    # No revision: the draft is the record's first version (cases/history.py).
    audit(actor=by, action="case.create", case=case, target=case)
    return case


@transaction.atomic
def case_update(
    *,
    by: User,
    case: Case,
    data: dict[str, Any],
    identity: dict[str, Any] | None,
    rows: Sequence[BaseInlineFormSet] = (),
) -> Case:
    before = history.snapshot(case)
    _assign(case, data)
    case.full_clean(exclude=["pseudonym"])
    case.save()
    if identity is not None:
        PatientIdentity.objects.update_or_create(case=case, defaults=_identity_values(identity))
    _save_rows(case, rows)
    revision = history.record_revision(case=case, by=by, before=before)
    # Field names only: the values may identify the patient.
    detail = {"fields": sorted(data), "clinical": history.changed_fields(revision)}
    audit(actor=by, action="case.update", case=case, target=case, detail=detail)
    return case


@transaction.atomic
def case_clinical_update(
    *, access: CaseAccess, data: dict[str, Any], rows: Sequence[BaseInlineFormSet] = ()
) -> ClinicalRevision | None:
    """The board's (or the submitter's) edit of the clinical record alone: no identity, no
    request text. Returns the revision written, None when nothing changed."""
    if not access.can_edit_clinical:
        raise PermissionDenied
    unknown = set(data) - set(history.CLINICAL_FIELDS)
    if unknown:
        raise ValueError(f"not clinical fields: {sorted(unknown)}")
    case = Case.objects.select_for_update().get(pk=access.case.pk)
    before = history.snapshot(case)
    _assign(case, data)
    case.full_clean(exclude=["pseudonym"])
    case.save()
    _save_rows(case, rows)
    revision = history.record_revision(case=case, by=access.user, before=before)
    access.case = case
    audit(
        actor=access.user,
        action="case.clinical_update",
        case=case,
        target=case,
        detail={"fields": history.changed_fields(revision)},
    )
    return revision


def _save_rows(case: Case, rows: Sequence[BaseInlineFormSet]) -> None:
    """Save the treatment and molecular row formsets (validated by the view) for `case`."""
    for formset in rows:
        formset.instance = case
        formset.save()


def _assign(case: Case, data: dict[str, Any]) -> None:
    unknown = set(data) - set(CASE_FIELDS)
    if unknown:
        raise ValueError(f"not case fields: {sorted(unknown)}")
    for name, value in data.items():
        setattr(case, name, "" if value is None and _is_text(name) else value)


def _is_text(name: str) -> bool:
    field = Case._meta.get_field(name)
    return field.get_internal_type() in ("CharField", "TextField")


def _identity_values(identity: dict[str, Any]) -> dict[str, Any]:
    values = {name: identity.get(name) for name in IDENTITY_FIELDS}
    values["full_name"] = values["full_name"] or ""
    values["hospital_number"] = values["hospital_number"] or ""
    return values


def case_checklist(case: Case) -> list[str]:
    """What the case still needs before it can go to the board (empty when complete): the
    required items of cases/checklist.py, which adapt to the question's type."""
    return checklist.missing_required(case)


@transaction.atomic
def case_transition(
    *,
    access: CaseAccess,
    to: str,
    by_agenda: bool = False,
    by_followup: bool = False,
    note: str = "",
) -> Case:
    """Move the case along the workflow (cases.access.TRANSITIONS). ``by_agenda``: the move
    that putting the case on a meeting's agenda, or taking it off, makes (meetings.services);
    ``by_followup``: a follow-up sends a concluded case back to the board (decisions.followup);
    ``note`` is added to the submitter's email (which meeting, for those)."""
    case = Case.objects.select_for_update().get(pk=access.case.pk)
    access.case = case
    if not access.can_move_to(to, by_agenda=by_agenda, by_followup=by_followup):
        raise PermissionDenied
    if to == S.SCHEDULED and case.ready_at is None:
        raise ValidationError(_("Mark the case ready for the board before scheduling it."))
    return case_status_apply(case=case, to=to, by=access.user, note=note)


def case_status_apply(*, case: Case, to: str, by: User, note: str = "") -> Case:
    """Move a locked case to ``to`` with its audit event, socket event and emails. The caller
    has checked the right: case_transition for the workflow's buttons; the expert services
    for the moves one expert makes (taken in review when assigned, concluded when signed)."""
    previous = case.status
    case.status = to
    fields = ["status", "updated_at"]
    if to == S.SUBMITTED:
        case.submitted_at = timezone.now()
        fields.append("submitted_at")
    if to in (S.WITHDRAWN, S.SUBMITTED):
        case.ready_at = None
        fields.append("ready_at")
    case.save(update_fields=fields)
    audit(
        actor=by,
        action="case.status",
        case=case,
        target=case,
        detail={"from": previous, "to": to},
    )
    publish_case_event(case, CaseStatusChanged(case=str(case.uuid), status=to))
    if to == S.SUBMITTED:
        if case.board.is_expert_service:
            # The case's call on one expert, waiting to be assigned or taken.
            ExpertReview.objects.get_or_create(
                case=case,
                purpose=ExpertReview.Purpose.ANSWER,
                defaults={"service": case.board, "requested_by": case.submitted_by},
            )
        transaction.on_commit(lambda: notify.case_submitted(case), robust=True)
    if case.submitted_by_id != by.pk:
        transaction.on_commit(lambda: notify.status_changed(case, note=note), robust=True)
    return case


@transaction.atomic
def case_mark_ready(*, access: CaseAccess) -> Case:
    if not access.is_manager:
        raise PermissionDenied
    case = Case.objects.select_for_update().get(pk=access.case.pk)
    if case.status != S.IN_REVIEW:
        raise ValidationError(_("Only a case in review can be marked ready for the board."))
    missing = case_checklist(case)
    if missing:
        raise ValidationError(
            _("Not ready for the board. Missing: %(missing)s.") % {"missing": "; ".join(missing)}
        )
    case.ready_at = timezone.now()
    case.save(update_fields=["ready_at", "updated_at"])
    audit(actor=access.user, action="case.ready", case=case, target=case)
    return case


# --- attachments ----------------------------------------------------------------------


def attachments_check_batch(files: Iterable[UploadedFile]) -> None:
    files = list(files)
    if len(files) > settings.ATTACHMENTS_PER_REQUEST:
        raise AttachmentRejected(
            _("Upload at most %(n)d files at a time.") % {"n": settings.ATTACHMENTS_PER_REQUEST}
        )


def attachment_add(
    *,
    by: User,
    case: Case,
    uploaded: UploadedFile,
    document_type: str = Attachment.DocumentType.OTHER,
) -> Attachment:
    """Check one uploaded file by its content and store it; nothing is left of a refused one."""
    if document_type not in Attachment.DocumentType.values:
        raise AttachmentRejected(_("Choose the type of document from the list."))
    if uploaded.size > settings.ATTACHMENT_MAX_BYTES:
        raise AttachmentRejected(
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {
                "size": f"{uploaded.size / 1048576:.1f}",
                "limit": settings.ATTACHMENT_MAX_BYTES // 1048576,
            }
        )
    detected = sniff(uploaded)
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    # The same bytes twice on one case is a mistake, not a second document: refuse it and
    # say where the first copy is. A removed copy does not count, so a file removed by
    # mistake can be uploaded again.
    earlier = case.attachments.filter(sha256=digest.hexdigest()).first()
    if earlier is not None:
        raise AttachmentRejected(
            _("This file was already uploaded as %(name)s on %(date)s.")
            % {
                "name": earlier.original_name,
                "date": format_day(earlier.uploaded_at),
            }
        )
    attachment = Attachment(
        case=case,
        uploaded_by=by,
        original_name=(uploaded.name or "file")[-255:],
        kind=detected.kind,
        document_type=document_type,
        mime=detected.mime,
        extension=detected.extension,
        size=uploaded.size,
        sha256=digest.hexdigest(),
    )
    # Store the file first, then the row; if the row fails, delete the file.
    attachment.file.save("upload", uploaded, save=False)
    try:
        with transaction.atomic():
            attachment.save()
            audit(
                actor=by,
                action="attachment.upload",
                case=case,
                target=attachment,
                detail={"kind": detected.kind, "size": uploaded.size, "type": document_type},
            )
    except Exception:
        attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment


def attachment_remove(*, access: CaseAccess, attachment: Attachment, reason: str) -> Attachment:
    """Take a wrong file out of the case, keeping its row and bytes for the audit trail."""
    return upload_remove(
        access=access,
        item=attachment,
        reason=reason,
        action="attachment.remove",
        reason_missing=_("Say why the file is removed."),
        detail={"sha256": attachment.sha256},
    )


def upload_remove(*, access: CaseAccess, item, reason: str, action: str, reason_missing, detail):
    """Mark an upload (an attachment, or a study: imaging.services.study_remove) removed by
    whom and why, audited; default managers then keep it out of every view."""
    if not access.can_remove_uploads:
        raise PermissionDenied
    reason = reason.strip()
    if not reason:
        raise ValidationError(reason_missing)
    with transaction.atomic():
        item.removed_at = timezone.now()
        item.removed_by = access.user
        item.removal_reason = reason[:500]
        item.save(update_fields=["removed_at", "removed_by", "removal_reason"])
        audit(
            actor=access.user,
            action=action,
            case=access.case,
            target=item,
            detail={"reason": item.removal_reason, **detail},
        )
    return item


# --- opinions -------------------------------------------------------------------------


@transaction.atomic
def opinion_post(*, access: CaseAccess, body: str, parent: Opinion | None = None) -> Opinion:
    if not access.can_write_opinion:
        raise PermissionDenied
    if parent is not None and parent.case_id != access.case.pk:
        raise ValidationError(_("A reply must answer an opinion on the same case."))
    opinion = Opinion.objects.create(
        case=access.case,
        author=access.user,
        author_specialty=access.specialty,
        parent=parent,
        body=body,
    )
    audit(actor=access.user, action="opinion.create", case=access.case, target=opinion)
    _publish_opinion(opinion, "created")
    transaction.on_commit(lambda: notify.opinion_posted(opinion), robust=True)
    return opinion


@transaction.atomic
def opinion_edit(*, access: CaseAccess, opinion: Opinion, body: str) -> Opinion:
    opinion = Opinion.objects.select_for_update().get(pk=opinion.pk)
    if opinion.author_id != access.user.pk or opinion.withdrawn_at or access.case.is_closed:
        raise PermissionDenied
    if body == opinion.body:
        return opinion
    OpinionRevision.objects.create(opinion=opinion, body=opinion.body, edited_by=access.user)
    opinion.body = body
    opinion.edited_at = timezone.now()
    opinion.save(update_fields=["body", "edited_at"])
    audit(actor=access.user, action="opinion.edit", case=access.case, target=opinion)
    _publish_opinion(opinion, "edited")
    return opinion


@transaction.atomic
def opinion_withdraw(*, access: CaseAccess, opinion: Opinion) -> Opinion:
    """Withdrawn opinions stay in the record (with their history); only the text is hidden."""
    opinion = Opinion.objects.select_for_update().get(pk=opinion.pk)
    if opinion.author_id != access.user.pk or opinion.withdrawn_at or access.case.is_closed:
        raise PermissionDenied
    opinion.withdrawn_at = timezone.now()
    opinion.save(update_fields=["withdrawn_at"])
    audit(actor=access.user, action="opinion.withdraw", case=access.case, target=opinion)
    _publish_opinion(opinion, "withdrawn")
    return opinion


def _publish_opinion(opinion: Opinion, change: str) -> None:
    publish_case_event(
        opinion.case,
        OpinionPosted(
            case=str(opinion.case.uuid),
            opinion=str(opinion.uuid),
            parent=str(opinion.parent.uuid) if opinion.parent else None,
            change=change,
        ),
    )


# --- requests to the submitter (issue #16) -------------------------------------------------
# A board member asks; the submitter answers with text and files (stored as the case's
# attachments, through attachment_add, like any upload); the asker or a manager closes the
# request once settled, or withdraws it. Emails carry the pseudonym and a link only.

RQ = SubmitterRequest.Status


@transaction.atomic
def request_open(*, access: CaseAccess, text: str, kind: str) -> SubmitterRequest:
    if not access.can_ask_submitter:
        raise PermissionDenied
    text = text.strip()
    if not text:
        raise ValidationError(_("Say what the board needs."))
    if kind not in SubmitterRequest.Kind.values:
        raise ValidationError(_("Choose what is asked for from the list."))
    request = SubmitterRequest.objects.create(
        case=access.case, asked_by=access.user, kind=kind, text=text
    )
    audit(
        actor=access.user,
        action="request.open",
        case=access.case,
        target=request,
        detail={"kind": kind},
    )
    _publish_request(request, "opened")
    transaction.on_commit(lambda: notify.request_opened(request), robust=True)
    return request


def request_answer(
    *,
    access: CaseAccess,
    request: SubmitterRequest,
    text: str,
    files: Sequence[UploadedFile] = (),
    document_type: str = Attachment.DocumentType.OTHER,
) -> tuple[RequestReply, list[tuple[str, str]]]:
    """The submitter's answer: text, files, or both. Each file goes through attachment_add
    (checked by content, stored with its own audit event) before the answer is written; a
    refused file is reported back, ``(name, reason)``, and the answer carries the others.
    An answer with neither text nor any accepted file is refused whole."""
    if not access.can_answer_requests or request.case_id != access.case.pk:
        raise PermissionDenied
    if request.status not in (RQ.OPEN, RQ.ANSWERED):
        raise ValidationError(_("This request is closed: it takes no more answers."))
    text = text.strip()
    files = list(files)
    if not text and not files:
        raise ValidationError(_("Write an answer or choose a file."))
    attachments_check_batch(files)
    stored: list[Attachment] = []
    refused: list[tuple[str, str]] = []
    for uploaded in files:
        try:
            stored.append(
                attachment_add(
                    by=access.user, case=access.case, uploaded=uploaded, document_type=document_type
                )
            )
        except AttachmentRejected as exc:
            audit(
                actor=access.user,
                action="attachment.upload",
                case=access.case,
                allowed=False,
                detail={"reason": exc.reason},
            )
            refused.append((uploaded.name or "", exc.reason))
    if not text and not stored:
        raise ValidationError([f"{name}: {reason}" for name, reason in refused])
    with transaction.atomic():
        request = SubmitterRequest.objects.select_for_update().get(pk=request.pk)
        if request.status not in (RQ.OPEN, RQ.ANSWERED):
            raise ValidationError(_("This request is closed: it takes no more answers."))
        reply = RequestReply.objects.create(request=request, author=access.user, text=text)
        reply.attachments.set(stored)
        first_answer = request.status == RQ.OPEN
        if first_answer:
            request.status = RQ.ANSWERED
            request.answered_at = reply.created_at
            request.save(update_fields=["status", "answered_at"])
        audit(
            actor=access.user,
            action="request.answer",
            case=access.case,
            target=request,
            detail={"attachments": [str(a.uuid) for a in stored], "text": bool(text)},
        )
        _publish_request(request, "answered")
        transaction.on_commit(lambda: notify.request_answered(request), robust=True)
    return reply, refused


@transaction.atomic
def request_close(*, access: CaseAccess, request: SubmitterRequest) -> SubmitterRequest:
    """Settled: the answer gave the board what it needed (or it arrived another way)."""
    return _request_settle(access=access, request=request, to=RQ.CLOSED)


@transaction.atomic
def request_withdraw(*, access: CaseAccess, request: SubmitterRequest) -> SubmitterRequest:
    """No longer needed: the request stays in the case's history, marked withdrawn."""
    return _request_settle(access=access, request=request, to=RQ.WITHDRAWN)


def _request_settle(*, access: CaseAccess, request: SubmitterRequest, to: str) -> SubmitterRequest:
    request = SubmitterRequest.objects.select_for_update().get(pk=request.pk)
    if request.case_id != access.case.pk or not access.can_settle_request(request):
        raise PermissionDenied
    previous = request.status
    request.status = to
    request.closed_at = timezone.now()
    request.closed_by = access.user
    request.save(update_fields=["status", "closed_at", "closed_by"])
    action = "request.close" if to == RQ.CLOSED else "request.withdraw"
    audit(
        actor=access.user,
        action=action,
        case=access.case,
        target=request,
        detail={"from": previous},
    )
    _publish_request(request, "closed" if to == RQ.CLOSED else "withdrawn")
    return request


def _publish_request(request: SubmitterRequest, change: str) -> None:
    publish_case_event(
        request.case,
        RequestChanged(
            case=str(request.case.uuid),
            request=str(request.uuid),
            change=change,
            status=request.status,
        ),
    )


# --- invited experts ----------------------------------------------------------------------
# An invitation goes to an email address as a single-use link and binds to whoever accepts
# it, signed in: the address is never used to find an account (anyone may type anyone's
# address into their profile). Only the link's SHA-256 is stored.


class InviteUnavailable(ValidationError):
    """The link cannot be accepted (unknown, used, expired, revoked, or not for this
    account); ``reason`` says which, for the page and the audit trail."""

    def __init__(self, message: str, reason: str, invite: CaseInvite | None = None):
        super().__init__(message)
        self.reason = reason
        self.invite = invite


def invite_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_for_token(token: str) -> CaseInvite | None:
    if not token or len(token) > 100:
        return None
    return (
        CaseInvite.objects.select_related("case", "case__board", "invited_by", "expert")
        .filter(token_hash=invite_token_hash(token))
        .first()
    )


@transaction.atomic
def invite_create(
    *, access: CaseAccess, email: str, expires_at: datetime, name: str = ""
) -> tuple[CaseInvite, str]:
    """Invite whoever holds ``email``: the invitation and its link's secret (sent, never
    stored). A new link to the same address replaces one not yet accepted."""
    if not access.is_manager:
        raise PermissionDenied
    case = access.case
    if expires_at <= timezone.now():
        raise ValidationError(_("The expiry must be in the future."))
    email = User.objects.normalize_email(email.strip())
    CaseInvite.objects.filter(
        case=case, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    token = secrets.token_urlsafe(32)
    invite = CaseInvite.objects.create(
        case=case,
        email=email,
        name=name.strip()[:200],
        token_hash=invite_token_hash(token),
        invited_by=access.user,
        expires_at=expires_at,
    )
    audit(
        actor=access.user,
        action="invite.create",
        case=case,
        target=invite,
        detail={"email": email, "expires_at": expires_at.isoformat()},
    )
    transaction.on_commit(lambda: notify.expert_invited(invite, token), robust=True)
    return invite, token


def _refuse_invite(invite: CaseInvite | None, user: User, message: str, reason: str):
    audit(
        actor=user,
        action="invite.accept",
        case=invite.case if invite is not None else None,
        target=invite,
        allowed=False,
        detail={"reason": reason},
    )
    return InviteUnavailable(message, reason)


def invite_unavailable_reason(invite: CaseInvite | None) -> InviteUnavailable | None:
    """Why this link cannot be accepted by anyone now, or None (not audited)."""
    if invite is None:
        return InviteUnavailable(_("This invitation link is not valid."), "unknown")
    if invite.accepted_at is not None:
        return InviteUnavailable(_("This invitation was already accepted."), "used")
    if invite.revoked_at is not None:
        return InviteUnavailable(_("This invitation was withdrawn."), "revoked")
    if invite.expires_at <= timezone.now():
        return InviteUnavailable(_("This invitation has expired."), "expired")
    return None


def invite_accept(*, token: str, user: User) -> CaseInvite:
    """Bind the invitation behind ``token`` to ``user`` and open the case to them, once.

    The row is locked and the binding is a conditional update, so two people (or two tabs)
    accepting the same link at once cannot both get the case. Refusals raise
    ``InviteUnavailable``; they are audited (after the transaction, which they roll back).
    """
    try:
        with transaction.atomic():
            return _invite_accept(token=token, user=user)
    except InviteUnavailable as refused:
        _refuse_invite(refused.invite, user, refused.messages[0], refused.reason)
        raise


def _invite_accept(*, token: str, user: User) -> CaseInvite:
    found = invite_for_token(token)
    invite = (
        CaseInvite.objects.select_for_update()
        .select_related("case", "case__board")
        .get(pk=found.pk)
        if found is not None
        else None
    )
    problem = invite_unavailable_reason(invite)
    if problem is None and (user.kind != User.Kind.CLINICIAN or not user.is_active):
        problem = InviteUnavailable(
            _("Only active clinician accounts can accept an invitation."), "not_clinician"
        )
    if problem is None and Membership.objects.filter(user=user, board=invite.case.board).exists():
        problem = InviteUnavailable(
            _("You are already on this board: you do not need an invitation."), "member"
        )
    if problem is not None:
        problem.invite = invite
        raise problem
    case, now = invite.case, timezone.now()
    # An invitation already open for this person on this case is replaced (an extension).
    CaseInvite.objects.filter(case=case, expert=user, revoked_at__isnull=True).update(
        revoked_at=now
    )
    bound = CaseInvite.objects.filter(
        pk=invite.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(expert=user, accepted_at=now)
    if bound != 1:  # pragma: no cover (the row lock makes this unreachable; kept as a guard)
        problem = InviteUnavailable(_("This invitation was already accepted."), "used")
        problem.invite = invite
        raise problem
    invite.refresh_from_db()
    assign_perm("cases.view_case", user, case)
    audit(
        actor=user,
        action="invite.accept",
        case=case,
        target=invite,
        detail={"email": invite.email},
    )
    transaction.on_commit(lambda: notify.invite_accepted(invite), robust=True)
    return invite


@transaction.atomic
def invite_revoke(*, access: CaseAccess, invite: CaseInvite) -> CaseInvite:
    if not access.is_manager or invite.case_id != access.case.pk:
        raise PermissionDenied
    if invite.revoked_at is None:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
    expert = invite.expert
    if expert is not None:
        remove_perm("cases.view_case", expert, invite.case)
    audit(
        actor=access.user,
        action="invite.revoke",
        case=invite.case,
        target=invite,
        detail={"email": invite.email, "expert": expert.get_username() if expert else None},
    )
    if expert is not None:
        publish_on_commit(
            case_group(invite.case.uuid),
            CaseAccessRevoked(case=str(invite.case.uuid), user=str(expert.uuid)),
        )
    return invite


# --- expert reviews (issue #16) -----------------------------------------------------------------


def _expert_seat(review: ExpertReview, expert: User) -> Membership:
    seat = Membership.objects.filter(board_id=review.service_id, user=expert).first()
    if seat is None or expert.kind != User.Kind.CLINICIAN or not expert.is_active:
        raise ValidationError(_("The expert must be a member of the expert service."))
    return seat


def _hold(review: ExpertReview, *, expert: User, by: User, action: str) -> ExpertReview:
    review = (
        ExpertReview.objects.select_for_update().select_related("case__board").get(pk=review.pk)
    )
    if not review.is_open:
        raise ValidationError(_("This review is closed."))
    _expert_seat(review, expert)
    previous = review.expert_id
    review.expert = expert
    review.assigned_at = timezone.now()
    review.assigned_by = by
    review.save(update_fields=["expert", "assigned_at", "assigned_by"])
    case = Case.objects.select_for_update().select_related("board").get(pk=review.case_id)
    audit(
        actor=by,
        action=action,
        case=case,
        target=review,
        detail={"purpose": review.purpose, "reassigned": previous is not None},
    )
    if review.purpose == ExpertReview.Purpose.ANSWER and case.status == S.SUBMITTED:
        # The expert service's answer begins: the case is in review with its expert.
        case_status_apply(case=case, to=S.IN_REVIEW, by=by)
    if expert.pk != by.pk:
        transaction.on_commit(lambda: notify.expert_review_assigned(review), robust=True)
    return review


@transaction.atomic
def expert_review_assign(*, access: CaseAccess, review: ExpertReview, expert: User) -> ExpertReview:
    """The expert service's manager gives the review to one of its experts (or to another)."""
    access.require(access.can_assign_review(review), "expert_review.assign")
    return _hold(review, expert=expert, by=access.user, action="expert_review.assign")


@transaction.atomic
def expert_review_take(*, access: CaseAccess, review: ExpertReview) -> ExpertReview:
    """A member of the expert service takes an unassigned review."""
    access.require(access.can_take_review(review), "expert_review.take")
    locked = ExpertReview.objects.select_for_update().get(pk=review.pk)
    if locked.expert_id is not None:
        raise ValidationError(_("Another expert has taken this review."))
    return _hold(review, expert=access.user, by=access.user, action="expert_review.take")


@transaction.atomic
def expert_review_request(
    *, access: CaseAccess, service: Board, question: str = "", expert: User | None = None
) -> ExpertReview:
    """A board's manager asks an expert service (or one of its experts, by name) for a review
    before the board discusses the case; the case waits for it (meetings.services)."""
    access.require(access.can_request_review, "expert_review.request")
    if not service.is_expert_service:
        raise ValidationError(_("Choose an expert service."))
    case = Case.objects.select_for_update().get(pk=access.case.pk)
    if case.expert_reviews.filter(
        purpose=ExpertReview.Purpose.STEP, completed_at__isnull=True, waived_at__isnull=True
    ).exists():
        raise ValidationError(_("This case already waits for an expert review."))
    review = ExpertReview.objects.create(
        case=case,
        service=service,
        purpose=ExpertReview.Purpose.STEP,
        question=question.strip(),
        requested_by=access.user,
    )
    audit(
        actor=access.user,
        action="expert_review.request",
        case=case,
        target=review,
        detail={"service": str(service.uuid)},
    )
    if expert is not None:
        review = _hold(review, expert=expert, by=access.user, action="expert_review.assign")
    else:
        transaction.on_commit(lambda: notify.expert_review_requested(review), robust=True)
    return review


@transaction.atomic
def expert_review_waive(*, access: CaseAccess, review: ExpertReview, reason: str) -> ExpertReview:
    """The board goes ahead without the review it asked for; the reason is kept and shown."""
    access.require(access.can_waive_review(review), "expert_review.waive")
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the board goes ahead without the expert review."))
    review = ExpertReview.objects.select_for_update().get(pk=review.pk)
    if not review.blocks_agenda:
        raise ValidationError(_("This review is closed."))
    review.waived_at = timezone.now()
    review.waived_by = access.user
    review.waived_reason = reason
    review.save(update_fields=["waived_at", "waived_by", "waived_reason"])
    audit(actor=access.user, action="expert_review.waive", case=access.case, target=review)
    return review
