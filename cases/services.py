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
    Opinion,
    OpinionRevision,
    PatientIdentity,
)
from realtime.events import CaseAccessRevoked, CaseStatusChanged, OpinionPosted
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
    *, access: CaseAccess, to: str, by_agenda: bool = False, note: str = ""
) -> Case:
    """Move the case along the workflow (cases.access.TRANSITIONS). ``by_agenda``: the move
    that putting the case on a meeting's agenda, or taking it off, makes (meetings.services);
    ``note`` is added to the submitter's email (which meeting, for those)."""
    case = Case.objects.select_for_update().get(pk=access.case.pk)
    access.case = case
    if not access.can_move_to(to, by_agenda=by_agenda):
        raise PermissionDenied
    if to == S.SCHEDULED and case.ready_at is None:
        raise ValidationError(_("Mark the case ready for the board before scheduling it."))
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
        actor=access.user,
        action="case.status",
        case=case,
        target=case,
        detail={"from": previous, "to": to},
    )
    publish_case_event(case, CaseStatusChanged(case=str(case.uuid), status=to))
    if to == S.SUBMITTED:
        transaction.on_commit(lambda: notify.case_submitted(case), robust=True)
    if case.submitted_by_id != access.user.pk:
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
