"""Email notifications, sent after commit.

They carry the pseudonym, never the patient's identity. Who receives a case's email is
decided when it is sent, from live access (``case_access``): an expert whose invitation
expired or was revoked, a former member and a deactivated account get nothing, whatever
list the recipients were first drawn from.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.translation import gettext as _

from board.dates import format_when
from board.models import Membership, User
from cases.access import CaseAccess, case_access
from cases.models import Case, CaseInvite, ExpertReview, Opinion

logger = logging.getLogger(__name__)


def case_url(case: Case) -> str:
    return settings.BASE_URL.rstrip("/") + reverse("case-detail", kwargs={"case_id": case.uuid})


def may_hear(access: CaseAccess) -> bool:
    """Whether a case's emails may still reach this person."""
    return access.can_view


def may_hear_opinions(access: CaseAccess) -> bool:
    return access.can_view and access.can_see_opinions


def send(
    subject: str,
    body: str,
    recipients: list[User],
    *,
    case: Case | None = None,
    allowed=may_hear,
) -> int:
    """Send to each recipient who, when ``case`` is given, may still open it now."""
    if case is not None:
        recipients = [u for u in recipients if allowed(case_access(u, case))]
    addresses = sorted({u.email for u in recipients if u.email and u.is_active})
    if not addresses:
        return 0
    try:
        # One message per recipient: addresses of other people are never disclosed.
        for address in addresses:
            send_mail(f"[Consilium] {subject}", body, settings.DEFAULT_FROM_EMAIL, [address])
    except Exception:
        logger.exception("could not send %r", subject)
        return 0
    return len(addresses)


def case_submitted(case: Case) -> int:
    managers = Membership.objects.filter(board=case.board).select_related("user")
    coordinators = [m.user for m in managers if m.role == Membership.Role.COORDINATOR]
    # A board without a coordinator is run by its chair.
    recipients = coordinators or [m.user for m in managers if m.role == Membership.Role.CHAIR]
    subject = _("New case %(pseudonym)s for %(board)s") % {
        "pseudonym": case.pseudonym,
        "board": case.board.name,
    }
    body = _(
        "A new case was submitted to %(board)s.\n\n"
        "Case: %(pseudonym)s (%(urgency)s)\nQuestion: %(question)s\n\n%(url)s\n"
    ) % {
        "board": case.board.name,
        "pseudonym": case.pseudonym,
        "urgency": case.get_urgency_display(),
        "question": case.question,
        "url": case_url(case),
    }
    return send(subject, body, recipients, case=case)


def opinion_posted(opinion: Opinion) -> int:
    case = opinion.case
    authors = User.objects.filter(
        pk__in=Opinion.objects.filter(case=case).values("author")
    ).exclude(pk=opinion.author_id)
    managers = User.objects.filter(
        memberships__board=case.board, memberships__role__in=Membership.MANAGING_ROLES
    ).exclude(pk=opinion.author_id)
    experts = User.objects.filter(
        case_invites__case=case, case_invites__revoked_at__isnull=True
    ).exclude(pk=opinion.author_id)
    recipients = list({u.pk: u for u in [*authors, *managers, *experts]}.values())
    subject = _("New opinion on case %(pseudonym)s") % {"pseudonym": case.pseudonym}
    body = _("%(author)s (%(specialty)s) posted an opinion on case %(pseudonym)s.\n\n%(url)s\n") % {
        "author": opinion.author.display_name,
        "specialty": opinion.get_author_specialty_display(),
        "pseudonym": case.pseudonym,
        "url": case_url(case),
    }
    return send(subject, body, recipients, case=case, allowed=may_hear_opinions)


def status_changed(case: Case, *, note: str = "") -> int:
    subject = _("Case %(pseudonym)s is now %(status)s") % {
        "pseudonym": case.pseudonym,
        "status": case.get_status_display().lower(),
    }
    body = _("The status of your case %(pseudonym)s changed to: %(status)s.\n\n%(url)s\n") % {
        "pseudonym": case.pseudonym,
        "status": case.get_status_display(),
        "url": case_url(case),
    }
    if note:
        body = f"{note}\n\n{body}"
    return send(subject, body, [case.submitted_by], case=case)


def invite_url(token: str) -> str:
    return settings.BASE_URL.rstrip("/") + reverse("invite-open", kwargs={"token": token})


def expert_invited(invite: CaseInvite, token: str) -> int:
    """The invitation link, to the address the manager typed (no account behind it yet):
    whoever opens it signs in or signs up, and the case opens to that account."""
    case = invite.case
    subject = _("You are invited to review case %(pseudonym)s") % {"pseudonym": case.pseudonym}
    body = _(
        "%(inviter)s invited you to give an expert opinion on case %(pseudonym)s for %(board)s.\n"
        "Open this link to accept; it works once, and until %(expires)s:\n\n%(url)s\n\n"
        "You will be asked to sign in, or to create an account. If you did not expect this "
        "invitation, ignore this message.\n"
    ) % {
        "inviter": invite.invited_by.display_name,
        "pseudonym": case.pseudonym,
        "board": case.board.name,
        # No account behind the address yet, so no zone of its own: UTC, named as such.
        "expires": format_when(invite.expires_at, "UTC"),
        "url": invite_url(token),
    }
    try:
        send_mail(f"[Consilium] {subject}", body, settings.DEFAULT_FROM_EMAIL, [invite.email])
    except Exception:
        logger.exception("could not send %r", subject)
        return 0
    return 1


def invite_accepted(invite: CaseInvite) -> int:
    """Tell the inviter who accepted: a link forwarded to someone else shows up at once."""
    case = invite.case
    subject = _("Invitation to case %(pseudonym)s accepted") % {"pseudonym": case.pseudonym}
    body = _(
        "The invitation you sent to %(email)s for case %(pseudonym)s was accepted by "
        "%(expert)s (account %(username)s). If this is not who you meant, revoke it on the "
        "case's invitations page.\n\n%(url)s\n"
    ) % {
        "email": invite.email,
        "pseudonym": case.pseudonym,
        "expert": invite.expert.display_name,
        "username": invite.expert.get_username(),
        "url": settings.BASE_URL.rstrip("/")
        + reverse("case-invites", kwargs={"case_id": case.uuid}),
    }
    return send(subject, body, [invite.invited_by], case=case)


# --- requests to the submitter (issue #16) ---------------------------------------------------
# The case's pseudonym and a link, never the patient's name nor the request's text: the text
# is clinical and may name the patient; the link opens it behind sign-in.


def request_opened(request) -> int:
    case = request.case
    subject = _("The board asks you for information on case %(pseudonym)s") % {
        "pseudonym": case.pseudonym
    }
    body = _(
        "%(board)s needs something from you to discuss case %(pseudonym)s (%(kind)s).\n"
        "Sign in to read the request and answer it, with text or files:\n\n%(url)s\n"
    ) % {
        "board": case.board.name,
        "pseudonym": case.pseudonym,
        "kind": request.get_kind_display().lower(),
        "url": requests_url(case),
    }
    return send(subject, body, [case.submitted_by], case=case)


def request_answered(request) -> int:
    case = request.case
    subject = _("Your request on case %(pseudonym)s was answered") % {"pseudonym": case.pseudonym}
    body = _(
        "The submitter answered your request on case %(pseudonym)s. Read the answer and close "
        "the request if it is settled:\n\n%(url)s\n"
    ) % {"pseudonym": case.pseudonym, "url": requests_url(case)}
    return send(subject, body, [request.asked_by], case=case)


def requests_url(case: Case) -> str:
    return case_url(case) + "#requests"


def expert_review_assigned(review: ExpertReview) -> int:
    """The expert now holding a review is told (pseudonym and link only)."""
    case = review.case
    subject = _("Case %(pseudonym)s is yours to review") % {"pseudonym": case.pseudonym}
    body = _(
        "%(service)s has assigned case %(pseudonym)s to you for your expert opinion.\n\n"
        "Sign in to review it:\n%(url)s\n"
    ) % {"service": review.service.name, "pseudonym": case.pseudonym, "url": case_url(case)}
    return send(subject, body, [review.expert], case=case)


def expert_review_requested(review: ExpertReview) -> int:
    """The expert service's managers are told a review waits to be assigned."""
    case = review.case
    managers = [
        m.user
        for m in Membership.objects.filter(
            board_id=review.service_id, role__in=list(Membership.MANAGING_ROLES)
        ).select_related("user")
    ]
    subject = _("A review of case %(pseudonym)s is asked for") % {"pseudonym": case.pseudonym}
    body = _(
        "%(board)s asks %(service)s for an expert review of case %(pseudonym)s.\n\n"
        "Sign in to assign it:\n%(url)s\n"
    ) % {
        "board": case.board.name,
        "service": review.service.name,
        "pseudonym": case.pseudonym,
        "url": case_url(case),
    }
    return send(subject, body, managers, case=case)
