"""Email notifications, sent after commit.

They carry the pseudonym, never the patient's identity.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.translation import gettext as _

from board.models import Membership, User
from cases.models import Case, CaseInvite, Opinion

logger = logging.getLogger(__name__)


def case_url(case: Case) -> str:
    return settings.BASE_URL.rstrip("/") + reverse("case-detail", kwargs={"case_id": case.uuid})


def send(subject: str, body: str, recipients: list[User]) -> int:
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
    return send(subject, body, recipients)


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
    return send(subject, body, recipients)


def status_changed(case: Case) -> int:
    subject = _("Case %(pseudonym)s is now %(status)s") % {
        "pseudonym": case.pseudonym,
        "status": case.get_status_display().lower(),
    }
    body = _("The status of your case %(pseudonym)s changed to: %(status)s.\n\n%(url)s\n") % {
        "pseudonym": case.pseudonym,
        "status": case.get_status_display(),
        "url": case_url(case),
    }
    return send(subject, body, [case.submitted_by])


def expert_invited(invite: CaseInvite) -> int:
    case = invite.case
    subject = _("You are invited to review case %(pseudonym)s") % {"pseudonym": case.pseudonym}
    body = _(
        "%(inviter)s invited you to give an expert opinion on case %(pseudonym)s for %(board)s.\n"
        "The invitation expires on %(expires)s (UTC).\n\n%(url)s\n"
    ) % {
        "inviter": invite.invited_by.display_name,
        "pseudonym": case.pseudonym,
        "board": case.board.name,
        "expires": f"{invite.expires_at:%Y-%m-%d %H:%M}",
        "url": case_url(case),
    }
    return send(subject, body, [invite.expert])
