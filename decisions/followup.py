"""Follow-up of the board's recommendations: was it done, and if not, why.

When a consensus version is signed, its recommendation gets follow-up points at the months
the board set (Board.followup_months, 3, 6 and 12 by default). When a point falls due, the
referring doctor who submitted the case is asked by email with a link, and the point waits
on their work list; for a case a patient submitted, the board's data managers are asked.
The referrer, a data manager or a manager of the board records it once: the status, a coded
reason when the recommendation was not (fully) implemented and what was done instead, and
optionally the outcome. Recording writes a "follow-up addendum" PDF beside the signed report
(the report itself never changes), and may send the case back to the board (progression).

Reminders and the first emails go out from the ``followup_reminders`` command, run daily by
cron like ``close_due_votes``. A point is overdue OVERDUE_AFTER past its due date; the
managers see overdue points on their home page.

The rights live in FollowUpAccess, once. A data manager has no seat on the board
(board.models.DataManager): they read the pseudonymous follow-up, never the case page.
"""

from __future__ import annotations

import calendar
import datetime
import logging
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from board.models import DataManager, Membership, User
from cases.access import case_access
from cases.audit import audit
from cases.models import Case
from cases.services import case_transition
from decisions.models import (
    FOLLOWUP_NEEDS_REASON,
    Consensus,
    DeviationReason,
    FollowUp,
    FollowUpAddendum,
    FollowUpStatus,
)
from decisions.render import (
    STATIC_PREFIX,
    STYLESHEET,
    page_css,
    render_html_pdf,
    report_sha256,
)

logger = logging.getLogger(__name__)

# A point not recorded this long after its due date is overdue (managers' list); reminders go
# out this often until it is recorded.
OVERDUE_AFTER = datetime.timedelta(days=30)
REMIND_EVERY = datetime.timedelta(days=14)
# After this many reminders the point is left to the managers' overdue list.
MAX_REMINDERS = 3

OUTCOME_FIELDS = ("recurrence_on", "metastasis_on", "death_on")


class FollowUpConflict(Exception):
    """The point was recorded already: HTTP 409, nothing written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later; the month's last day where it is shorter (31 Jan + 1
    month = 28 or 29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- who may ------------------------------------------------------------------------------------


@dataclass
class FollowUpAccess:
    """What one user may do with the follow-up of one case."""

    case: Case
    user: User
    membership: Membership | None
    is_data_manager: bool

    @property
    def is_referrer(self) -> bool:
        """The referring doctor who submitted the case (a patient records nothing)."""
        return self.case.submitted_by_id == self.user.pk and self.user.kind == User.Kind.CLINICIAN

    @property
    def is_manager(self) -> bool:
        return self.membership is not None and self.membership.is_manager

    @property
    def can_view(self) -> bool:
        return self.is_referrer or self.is_data_manager or self.membership is not None

    @property
    def can_record(self) -> bool:
        return self.is_referrer or self.is_data_manager or self.is_manager

    def require(self, allowed: bool, action: str) -> None:
        """403 (audited) unless ``allowed``."""
        if not allowed:
            audit(actor=self.user, action=action, case=self.case, target=self.case, allowed=False)
            raise PermissionDenied


def followup_access(user: User, case: Case) -> FollowUpAccess:
    membership = None
    is_data_manager = False
    if user.is_authenticated and user.is_active:
        membership = Membership.objects.filter(user=user, board_id=case.board_id).first()
        is_data_manager = DataManager.objects.filter(user=user, board_id=case.board_id).exists()
    return FollowUpAccess(
        case=case, user=user, membership=membership, is_data_manager=is_data_manager
    )


def get_followup_for_user(user: User, followup_id: UUID) -> tuple[FollowUpAccess, FollowUp]:
    """The follow-up point and the user's rights on its case, or 404 (audited)."""
    followup = (
        FollowUp.objects.select_related(
            "case__board", "case__submitted_by", "consensus__signed_by", "recorded_by"
        )
        .filter(uuid=followup_id)
        .first()
    )
    access = followup_access(user, followup.case) if followup is not None else None
    if access is None or not access.can_view:
        audit(
            actor=user,
            action="followup.view",
            case=followup.case if followup is not None else None,
            allowed=False,
            detail={} if followup is not None else {"requested": str(followup_id)},
        )
        raise Http404
    return access, followup


def data_manager_followups(user: User) -> QuerySet[FollowUp]:
    """Every follow-up point on the boards where the user is a data manager."""
    return FollowUp.objects.filter(case__board__data_managers__user=user)


# --- scheduling (at the signature) --------------------------------------------------------------


def followup_schedule(*, consensus: Consensus) -> list[FollowUp]:
    """Inside the signature's transaction: the signed version's follow-up points.

    A correction takes over the pending points of the version it corrects (their dates run
    from the first signature: the recommendation is the same decision, worded anew). A
    version signed after a re-presentation starts a schedule of its own: the board decided
    again, and the old version's pending points are dropped (nothing was recorded on them).
    """
    previous = consensus.supersedes
    if previous is not None:
        pending = FollowUp.objects.filter(consensus=previous, status=FollowUpStatus.PENDING)
        if not FollowUp.objects.filter(consensus=previous, represent=True).exists():
            pending.update(consensus=consensus)
            return list(consensus.followups.all())
        pending.delete()
    board = consensus.case.board
    # The day of the signature where the board works.
    signed_on = consensus.signed_at.astimezone(zoneinfo.ZoneInfo(board.time_zone)).date()
    return [
        FollowUp.objects.create(
            case_id=consensus.case_id,
            consensus=consensus,
            months=months,
            due_on=add_months(signed_on, months),
        )
        for months in board.followup_points
    ]


# --- recording ----------------------------------------------------------------------------------


def _clean(data: Mapping[str, Any], today: datetime.date) -> dict[str, Any]:
    status = data.get("status") or ""
    if status not in FollowUpStatus.values or status == FollowUpStatus.PENDING:
        raise ValidationError({"status": _("Say whether the recommendation was implemented.")})
    reason = data.get("reason") or ""
    values: dict[str, Any] = {
        "status": status,
        "reason": "",
        "reason_other": "",
        "done_instead": (data.get("done_instead") or "").strip(),
        "represent": bool(data.get("represent")),
    }
    if status in FOLLOWUP_NEEDS_REASON:
        if reason not in DeviationReason.values:
            raise ValidationError(
                {"reason": _("Give the reason the recommendation was not (fully) implemented.")}
            )
        values["reason"] = reason
        if reason == DeviationReason.OTHER:
            values["reason_other"] = (data.get("reason_other") or "").strip()
            if not values["reason_other"]:
                raise ValidationError({"reason_other": _("Say what the other reason was.")})
        if not values["done_instead"]:
            raise ValidationError({"done_instead": _("Say what was done instead.")})
    elif reason:
        raise ValidationError(
            {"reason": _("A reason is given only when the recommendation was not implemented.")}
        )
    for name in OUTCOME_FIELDS:
        day = data.get(name)
        if day and day > today:
            raise ValidationError({name: _("This date is in the future.")})
        values[name] = day or None
    return values


def followup_record(
    *, access: FollowUpAccess, followup: FollowUp, data: Mapping[str, Any]
) -> FollowUp:
    """Record one follow-up point, once. Raises ValidationError for incomplete answers and
    FollowUpConflict when it was recorded meanwhile; nothing is written then. After the
    commit, the follow-up addendum PDF is made."""
    access.require(access.can_record, "followup.record")
    if followup.case_id != access.case.pk:
        raise ValueError("the follow-up is not this case's")
    values = _clean(data, timezone.localdate())
    with transaction.atomic():
        followup = FollowUp.objects.select_for_update().get(pk=followup.pk)
        if followup.is_recorded:
            raise FollowUpConflict(_("This follow-up point has been recorded already."))
        for name, value in values.items():
            setattr(followup, name, value)
        followup.recorded_by = access.user
        followup.recorded_at = timezone.now()
        followup.save()
        audit(
            actor=access.user,
            action="followup.record",
            case=access.case,
            target=followup,
            detail={
                "months": followup.months,
                "status": followup.status,
                "reason": followup.reason,
                "represent": followup.represent,
            },
        )
        if followup.represent:
            _represent(access, followup)
        transaction.on_commit(lambda: addendum_generate(followup=followup), robust=True)
    return followup


def _represent(access: FollowUpAccess, followup: FollowUp) -> None:
    """Send the case back to the board: a concluded case returns to review (one case, one
    timeline: its next signed version corrects this one). A case still open stays where it
    is; the managers see the request on their list either way."""
    case = Case.objects.select_for_update().get(pk=access.case.pk)
    if case.status == Case.Status.CONCLUDED:
        case_transition(
            access=case_access(access.user, case),
            to=Case.Status.IN_REVIEW,
            by_followup=True,
            note=_("The follow-up of the recommendation asks the board to discuss it again."),
        )
    audit(
        actor=access.user,
        action="followup.represent",
        case=case,
        target=followup,
        detail={"from": case.status},
    )


# --- the follow-up addendum (PDF) -------------------------------------------------------------


def addendum_html(consensus: Consensus, *, at: datetime.datetime) -> str:
    case = consensus.case
    board = case.board
    running = _("Case %(case)s · follow-up of report version %(version)s") % {
        "case": case.pseudonym,
        "version": consensus.version,
    }
    with timezone.override(board.time_zone):
        return render_to_string(
            "decisions/followup/addendum.html",
            {
                "board": board,
                "case": case,
                "consensus": consensus,
                "followups": list(
                    consensus.followups.select_related("recorded_by").order_by("months")
                ),
                "zone": board.time_zone,
                "generated_at": at,
                "language": translation.get_language() or "en",
                "stylesheet_url": STATIC_PREFIX + STYLESHEET,
                "page_css": page_css(
                    board=board.name, running=running, generated_at=at, zone=board.time_zone
                ),
            },
        )


def addendum_generate(*, followup: FollowUp) -> FollowUpAddendum | None:
    """Render and store the next addendum of the point's signed version. A failure is logged
    and audited; the follow-up stays recorded (the case page shows it regardless)."""
    consensus = Consensus.objects.select_related("case__board", "signed_by").get(
        pk=followup.consensus_id
    )
    at = timezone.now()
    try:
        pdf = render_html_pdf(addendum_html(consensus, at=at), at=at)
        with transaction.atomic():
            number = (consensus.addenda.aggregate(n=Max("number"))["n"] or 0) + 1
            addendum = FollowUpAddendum(
                consensus=consensus,
                number=number,
                followup=followup,
                sha256=report_sha256(pdf),
                size=len(pdf),
                created_at=at,
            )
            addendum.file.save("addendum.pdf", ContentFile(pdf), save=False)
            addendum.save()
            audit(
                actor=followup.recorded_by,
                action="followup.addendum",
                case=consensus.case,
                target=addendum,
                detail={"number": number, "sha256": addendum.sha256},
            )
    except Exception as exc:
        logger.exception("could not make the follow-up addendum of consensus %s", consensus.uuid)
        audit(
            actor=followup.recorded_by,
            action="followup.addendum",
            case=consensus.case,
            target=followup,
            allowed=False,
            detail={"error": type(exc).__name__},
        )
        return None
    return addendum


# --- who is asked, and when ---------------------------------------------------------------------


def followup_url(followup: FollowUp) -> str:
    return settings.BASE_URL.rstrip("/") + reverse(
        "followup-record", kwargs={"followup_id": followup.uuid}
    )


def recipients(followup: FollowUp) -> list[User]:
    """The referring doctor who submitted the case; for a patient's own request, the board's
    data managers (or, with none, its managers)."""
    case = followup.case
    if case.submitted_by.kind == User.Kind.CLINICIAN:
        return [case.submitted_by]
    managers = User.objects.filter(data_manager_seats__board_id=case.board_id)
    if not managers.exists():
        managers = User.objects.filter(
            memberships__board_id=case.board_id,
            memberships__role__in=list(Membership.MANAGING_ROLES),
        )
    return list(managers)


def _email(followup: FollowUp, *, reminder: bool) -> int:
    case = followup.case
    values = {
        "board": case.board.name,
        "pseudonym": case.pseudonym,
        "months": followup.months,
        "url": followup_url(followup),
    }
    if reminder:
        subject = _("Reminder: follow-up of the board's recommendation on case %(pseudonym)s")
    else:
        subject = _("Follow-up of the board's recommendation on case %(pseudonym)s")
    body = _(
        "%(board)s asks how its recommendation on case %(pseudonym)s was followed, "
        "%(months)d months after it was signed.\n\n"
        "Sign in to record whether it was implemented (and, if not, why):\n%(url)s\n"
    )
    sent = 0
    for user in recipients(followup):
        # Re-checked at send time: someone who can no longer record it is not asked.
        if not (user.is_active and user.email and followup_access(user, case).can_record):
            continue
        try:
            send_mail(
                f"[Consilium] {subject % values}",
                body % values,
                settings.DEFAULT_FROM_EMAIL,
                [user.email],
            )
        except Exception:
            logger.exception("could not send the follow-up email of %s", followup.uuid)
            continue
        sent += 1
    return sent


def followups_remind(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """The daily run (``followup_reminders``): ask for each point that fell due, remind for
    each still pending REMIND_EVERY after the last email, up to MAX_REMINDERS."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = {"asked": 0, "reminded": 0}
    due = FollowUp.objects.filter(
        status=FollowUpStatus.PENDING, due_on__lte=today, case__status__in=_FOLLOWED
    ).select_related("case__board", "case__submitted_by")
    for followup in due.filter(asked_at__isnull=True):
        # Claimed before sending: a second run at the same time asks nobody twice.
        if FollowUp.objects.filter(pk=followup.pk, asked_at__isnull=True).update(asked_at=now):
            _email(followup, reminder=False)
            audit(actor=None, action="followup.ask", case=followup.case, target=followup)
            counts["asked"] += 1
    last = Q(reminded_at__isnull=True, asked_at__lte=now - REMIND_EVERY) | Q(
        reminded_at__lte=now - REMIND_EVERY
    )
    for followup in due.filter(last, reminders__lt=MAX_REMINDERS):
        claimed = FollowUp.objects.filter(pk=followup.pk, reminders=followup.reminders).update(
            reminded_at=now, reminders=followup.reminders + 1
        )
        if claimed:
            _email(followup, reminder=True)
            audit(
                actor=None,
                action="followup.remind",
                case=followup.case,
                target=followup,
                detail={"reminder": followup.reminders + 1},
            )
            counts["reminded"] += 1
    return counts


# Cases whose recommendation is followed up: a withdrawn case is not.
_FOLLOWED = [
    Case.Status.IN_REVIEW,
    Case.Status.SCHEDULED,
    Case.Status.DISCUSSED,
    Case.Status.CONCLUDED,
]


def due_for(user: User, *, today: datetime.date | None = None) -> QuerySet[FollowUp]:
    """Pending points that fell due and that this user is asked to record: as the referring
    doctor who submitted the case, or as a data manager of its board."""
    today = today or timezone.localdate()
    if not user.is_authenticated or not user.is_active:
        return FollowUp.objects.none()
    mine = Q(case__submitted_by=user) & Q(case__submitted_by__kind=User.Kind.CLINICIAN)
    managed = Q(case__board__data_managers__user=user)
    return (
        FollowUp.objects.filter(mine | managed)
        .filter(status=FollowUpStatus.PENDING, due_on__lte=today, case__status__in=_FOLLOWED)
        .select_related("case__board")
        .distinct()
        .order_by("due_on", "pk")
    )


def overdue_for(user: User, *, today: datetime.date | None = None) -> QuerySet[FollowUp]:
    """Pending points OVERDUE_AFTER past due on the boards the user runs (or is data manager
    of): the managers chase them."""
    today = today or timezone.localdate()
    if not user.is_authenticated or not user.is_active:
        return FollowUp.objects.none()
    boards = Membership.objects.filter(user=user, role__in=list(Membership.MANAGING_ROLES))
    return (
        FollowUp.objects.filter(
            status=FollowUpStatus.PENDING,
            due_on__lt=today - OVERDUE_AFTER,
            case__status__in=_FOLLOWED,
            case__board__in=boards.values("board"),
        )
        .select_related("case__board", "case__submitted_by")
        .order_by("due_on", "pk")
    )


def represent_requests_for(user: User) -> QuerySet[FollowUp]:
    """Points recorded with a request to discuss the case again, whose case is back in
    review and waiting for a meeting, on the boards the user runs."""
    boards = Membership.objects.filter(user=user, role__in=list(Membership.MANAGING_ROLES))
    return (
        FollowUp.objects.filter(
            represent=True,
            case__status=Case.Status.IN_REVIEW,
            case__board__in=boards.values("board"),
        )
        .select_related("case__board")
        .order_by("recorded_at", "pk")
    )
