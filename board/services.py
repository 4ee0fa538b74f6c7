"""Writes to boards and accounts: keyword-only, typed, atomic."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from board.access import BoardAccess, check_then_do
from board.models import Board, QuorumRequirement, User, validate_time_zone

logger = logging.getLogger(__name__)


@check_then_do("board.settings", lambda access, **_: access.is_manager)
def board_update_settings(
    *,
    access: BoardAccess,
    description: str,
    required_specialties: Iterable[str],
    accepts_referrals: bool = True,
    blinded_opinions: bool = False,
    share_opinions_with_referrers: bool = False,
    send_report_to_patient: bool = True,
    deidentify_imaging: bool = True,
    keep_clean_descriptors: bool = True,
    vote_mode: str | None = None,
    tally_visibility: str | None = None,
    consensus_rule: str | None = None,
    qualified_majority: str | None = None,
    turnaround_days: int | None = None,
    absentees_vote_live: bool | None = None,
    time_zone: str | None = None,
    followup_months: str | None = None,
    kind: str | None = None,
    review_kind: str | None = None,
) -> Board:
    """Save the board's settings (its managers only). The decision rules (None: unchanged)
    apply to vote rounds opened from now on; a round under way keeps the rules it opened
    with. ``turnaround_days`` None: the board states no turnaround. ``time_zone`` None:
    unchanged (the zone its reports print times in)."""
    board = access.board
    board.description = description
    board.accepts_referrals = accepts_referrals
    board.blinded_opinions = blinded_opinions
    board.share_opinions_with_referrers = share_opinions_with_referrers
    board.send_report_to_patient = send_report_to_patient
    board.deidentify_imaging = deidentify_imaging
    board.keep_clean_descriptors = keep_clean_descriptors
    board.turnaround_days = turnaround_days
    if time_zone is not None:
        validate_time_zone(time_zone)
        board.time_zone = time_zone
    rules = {
        "vote_mode": vote_mode,
        "tally_visibility": tally_visibility,
        "consensus_rule": consensus_rule,
        "qualified_majority": qualified_majority,
        "absentees_vote_live": absentees_vote_live,
        # Follow-up points (None: unchanged) apply to recommendations signed from now on.
        "followup_months": followup_months,
        # Issue #16: a board or an expert service (one expert answers), and what it reviews.
        "kind": kind,
        "review_kind": review_kind,
    }
    for name, value in rules.items():
        if value is not None:
            setattr(board, name, value)
    board.save(
        update_fields=[
            "description",
            "accepts_referrals",
            "blinded_opinions",
            "share_opinions_with_referrers",
            "send_report_to_patient",
            "deidentify_imaging",
            "keep_clean_descriptors",
            "turnaround_days",
            "time_zone",
            *rules,
        ]
    )
    wanted = set(required_specialties)
    board.quorum_requirements.exclude(specialty__in=wanted).delete()
    existing = set(board.quorum_requirements.values_list("specialty", flat=True))
    QuorumRequirement.objects.bulk_create(
        QuorumRequirement(board=board, specialty=specialty) for specialty in wanted - existing
    )
    return board


# --- a new email address, confirmed by a link ------------------------------------------------
# Invitations and notices go to an account's address, so an address is never taken on the
# user's word: the new one is kept as pending and becomes the account's only when the link
# sent to it is opened by the same signed-in user. The link is signed (no table of codes),
# expires after EMAIL_CHANGE_LINK_HOURS, and is good for the pending address only: asking
# for another address, or confirming, makes every earlier link useless.

EMAIL_CHANGE_SALT = "board.email_change"


def _email_link(user: User, new_email: str) -> str:
    code = signing.dumps({"u": str(user.uuid), "e": new_email}, salt=EMAIL_CHANGE_SALT)
    path = reverse("email-change-confirm", kwargs={"code": code})
    return settings.BASE_URL.rstrip("/") + path


def _mail(subject: str, body: str, address: str) -> None:
    try:
        send_mail(f"[Consilium] {subject}", body, settings.DEFAULT_FROM_EMAIL, [address])
    except Exception:
        logger.exception("could not send %r", subject)


@transaction.atomic
def email_change_request(*, user: User, new_email: str) -> None:
    """Keep ``new_email`` as pending and send it its confirmation link (and the current
    address a notice, so that a stolen session cannot move the account away unseen)."""
    new_email = User.objects.normalize_email(new_email.strip())
    User.objects.filter(pk=user.pk).update(pending_email=new_email)
    user.pending_email = new_email
    link = _email_link(user, new_email)
    hours = settings.EMAIL_CHANGE_LINK_HOURS
    confirm = _(
        "Someone signed in as %(username)s asked to use this address for their Consilium "
        "account. To confirm, open this link while signed in (it expires in %(hours)s hours):"
        "\n\n%(link)s\n\nIf this was not you, ignore this message.\n"
    ) % {"username": user.get_username(), "hours": hours, "link": link}
    notice = _(
        "A change of the email address of your Consilium account %(username)s to %(new)s was "
        "asked for. Your address stays this one until the new one is confirmed. If this was "
        "not you, change your password and tell your administrator.\n"
    ) % {"username": user.get_username(), "new": new_email}
    old_email = user.email
    transaction.on_commit(
        lambda: _mail(_("Confirm your new email address"), confirm, new_email), robust=True
    )
    if old_email and old_email.lower() != new_email.lower():
        transaction.on_commit(
            lambda: _mail(_("Your email address is being changed"), notice, old_email),
            robust=True,
        )


@transaction.atomic
def email_change_confirm(*, user: User, code: str) -> str:
    """Make the pending address the account's; the new address. ValidationError when the
    link is forged, expired, someone else's, or no longer for the pending address."""
    try:
        payload = signing.loads(
            code, salt=EMAIL_CHANGE_SALT, max_age=settings.EMAIL_CHANGE_LINK_HOURS * 3600
        )
    except signing.SignatureExpired as exc:
        raise ValidationError(_("This link has expired; ask for a new one.")) from exc
    except signing.BadSignature as exc:
        raise ValidationError(_("This link is not valid.")) from exc
    locked = User.objects.select_for_update().get(pk=user.pk)
    if payload.get("u") != str(locked.uuid):
        raise ValidationError(_("This link was sent for another account."))
    if not locked.pending_email or payload.get("e") != locked.pending_email:
        raise ValidationError(_("This link was already used or replaced by a newer one."))
    locked.email, locked.pending_email = locked.pending_email, ""
    locked.save(update_fields=["email", "pending_email"])
    user.email, user.pending_email = locked.email, ""
    return locked.email
