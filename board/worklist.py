"""The home page's work lists: what waits for this user, one function per list.

A wiring module of board/, like home.py: it reads across every app (cases, meetings,
decisions), so it sits above them all. Each list is one query whatever its length, and each
says who it is for in its docstring; the rights are the ones the apps check when the user
acts (cases.access, decisions): a list never offers what the page behind its link refuses.

Meetings end at ``starts_at + duration``, which the database cannot add per row on every
backend (as home.py says): lists that depend on a meeting having ended take the meetings that
started within the longest duration in one query and finish the test in Python.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from board.models import DataManager, Membership, User
from cases.access import active_invites
from cases.models import Case, ExpertReview, Opinion, SubmitterRequest
from decisions import followup
from decisions.models import Consensus, FollowUp, Report, Vote, VoteRound
from decisions.reports import REPORT_PENDING_FOR
from meetings.models import MAX_DURATION, AgendaItem, Meeting

S = Case.Status
# Cases the panel still works on: opinions are asked for until the board has discussed them.
UNDER_REVIEW = (S.IN_REVIEW, S.SCHEDULED)
WEEK = datetime.timedelta(days=7)
# Urgent first: "treatment decision pending this week" (Case.Urgency).
URGENCY_ORDER = models.Case(
    When(urgency=Case.Urgency.URGENT, then=Value(0)),
    When(urgency=Case.Urgency.PRIORITY, then=Value(1)),
    default=Value(2),
    output_field=models.IntegerField(),
)


URGENCY_ORDER_OF_CASE = models.Case(
    When(case__urgency=Case.Urgency.URGENT, then=Value(0)),
    When(case__urgency=Case.Urgency.PRIORITY, then=Value(1)),
    default=Value(2),
    output_field=models.IntegerField(),
)


def _seat(user: User, roles) -> Exists:
    """The case's board has the user in one of ``roles``."""
    return Exists(
        Membership.objects.filter(user=user, board=OuterRef("board"), role__in=list(roles))
    )


def _managed_boards(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user, role__in=list(Membership.MANAGING_ROLES))


def _next_meeting_start(now: datetime.datetime) -> Subquery:
    """When the case is next on a scheduled meeting's agenda (None: on none)."""
    return Subquery(
        AgendaItem.objects.filter(
            case=OuterRef("pk"),
            meeting__status=Meeting.Status.SCHEDULED,
            meeting__starts_at__gte=now - datetime.timedelta(minutes=MAX_DURATION),
        )
        .order_by("meeting__starts_at")
        .values("meeting__starts_at")[:1]
    )


# --- panelists (members, the chair as a member, invited experts) -----------------------------


def awaiting_opinion(user: User, *, now: datetime.datetime | None = None) -> QuerySet[Case]:
    """Cases under review that ask for this user's opinion and have none of theirs yet.

    Chair and members of the case's board give opinions (coordinators organise and do not:
    cases.access); an invited expert gives one on the cases of their live invitations. A
    reply in someone else's thread is not an opinion, a withdrawn opinion no longer stands.
    Urgent cases first, then those on the soonest agenda, then the oldest.
    """
    now = now or timezone.now()
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    invited = Exists(active_invites(user).filter(case=OuterRef("pk")))
    opined = Exists(
        Opinion.objects.filter(
            case=OuterRef("pk"), author=user, parent__isnull=True, withdrawn_at__isnull=True
        )
    )
    return (
        Case.objects.filter(status__in=UNDER_REVIEW)
        .filter(_seat(user, (Membership.Role.CHAIR, Membership.Role.MEMBER)) | invited)
        .exclude(opined)
        # One expert answers an expert service's case: it is in their held reviews instead.
        .exclude(board__kind="expert_service")
        .select_related("board")
        .annotate(next_meeting_at=_next_meeting_start(now), urgency_rank=URGENCY_ORDER)
        .order_by("urgency_rank", F("next_meeting_at").asc(nulls_last=True), "submitted_at", "pk")
    )


def votes_to_cast(user: User, *, now: datetime.datetime | None = None) -> QuerySet[VoteRound]:
    """Open vote rounds on the user's boards that still take ballots and have none of theirs.

    Chair and members vote; coordinators and invited experts do not (CaseAccess.can_vote). A
    round whose deadline has passed takes no ballot: it waits for its closing, not for them.
    """
    now = now or timezone.now()
    if not user.is_authenticated or not user.is_active:
        return VoteRound.objects.none()
    voter = Exists(
        Membership.objects.filter(
            user=user,
            board=OuterRef("case__board"),
            role__in=[Membership.Role.CHAIR, Membership.Role.MEMBER],
        )
    )
    voted = Exists(Vote.objects.filter(round=OuterRef("pk"), voter=user))
    return (
        VoteRound.objects.filter(status=VoteRound.Status.OPEN)
        .filter(Q(deadline__isnull=True) | Q(deadline__gt=now))
        .filter(voter)
        .exclude(voted)
        .exclude(case__status__in=[S.CONCLUDED, S.WITHDRAWN])
        .select_related("case__board", "meeting")
        # Live votes (no deadline: the meeting is on now) first, then the soonest deadline.
        .order_by(F("deadline").asc(nulls_first=True), "opened_at", "pk")
    )


def meetings_this_week(user: User, *, now: datetime.datetime | None = None) -> list[Meeting]:
    """Scheduled meetings of the user's boards under way or starting in the next 7 days."""
    now = now or timezone.now()
    if not user.is_authenticated or not user.is_active:
        return []
    started_since = now - datetime.timedelta(minutes=MAX_DURATION)
    meetings = (
        Meeting.objects.filter(
            board__memberships__user=user,
            status=Meeting.Status.SCHEDULED,
            starts_at__gte=started_since,
            starts_at__lt=now + WEEK,
        )
        .select_related("board")
        .order_by("starts_at", "pk")
    )
    return [meeting for meeting in meetings if meeting.ends_at > now]


# --- managers (chair, coordinators) ------------------------------------------------------------


def to_triage(user: User) -> QuerySet[Case]:
    """Submitted cases on the boards the user runs: they wait to be accepted for review."""
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    return (
        Case.objects.filter(status=S.SUBMITTED, board__in=_managed_boards(user).values("board"))
        # An expert service's new cases wait to be assigned (expert_reviews_unassigned).
        .exclude(board__kind="expert_service")
        .select_related("board")
        .annotate(urgency_rank=URGENCY_ORDER)
        .order_by("urgency_rank", "submitted_at", "pk")
    )


def _open_reviews() -> QuerySet[ExpertReview]:
    return (
        ExpertReview.objects.filter(completed_at__isnull=True, waived_at__isnull=True)
        .exclude(case__status__in=[S.DRAFT, S.WITHDRAWN, S.CONCLUDED])
        .select_related("case__board", "service", "expert")
        .annotate(urgency_rank=URGENCY_ORDER_OF_CASE)
        .order_by("urgency_rank", "requested_at", "pk")
    )


def expert_reviews_held(user: User) -> QuerySet[ExpertReview]:
    """Expert reviews (issue #16) this expert holds and has not signed yet."""
    return _open_reviews().filter(expert=user)


def expert_reviews_unassigned(user: User) -> QuerySet[ExpertReview]:
    """Reviews no expert holds yet, on the expert services the user sits on: their managers
    assign them, their experts may take them."""
    seats = Membership.objects.filter(user=user, board__kind="expert_service")
    return _open_reviews().filter(expert__isnull=True, service__in=seats.values("board"))


def ready_without_meeting(user: User, *, now: datetime.datetime | None = None) -> list[Case]:
    """Cases marked ready for the board, on the boards the user runs, that are on no
    meeting's agenda still to come (or under way): they wait for a meeting.

    A case whose meeting was cancelled, or has ended without the case being discussed,
    is back here. Two queries: the candidates, then their agenda items on meetings that
    may not have ended.
    """
    now = now or timezone.now()
    if not user.is_authenticated or not user.is_active:
        return []
    candidates = list(
        Case.objects.filter(
            status__in=UNDER_REVIEW,
            ready_at__isnull=False,
            board__in=_managed_boards(user).values("board"),
        )
        .select_related("board")
        .annotate(urgency_rank=URGENCY_ORDER)
        .order_by("urgency_rank", "ready_at", "pk")
    )
    if not candidates:
        return []
    booked = {
        item.case_id
        for item in AgendaItem.objects.filter(
            case__in=candidates,
            meeting__status=Meeting.Status.SCHEDULED,
            meeting__starts_at__gte=now - datetime.timedelta(minutes=MAX_DURATION),
        ).select_related("meeting")
        if item.meeting.ends_at > now
    }
    return [case for case in candidates if case.pk not in booked]


def consensus_to_sign(user: User) -> QuerySet[Consensus]:
    """Draft consensus versions (unsigned) on the open cases of the boards the user runs."""
    if not user.is_authenticated or not user.is_active:
        return Consensus.objects.none()
    return (
        Consensus.objects.filter(
            signed_at__isnull=True,
            case__board__in=_managed_boards(user).values("board"),
        )
        .exclude(case__status=S.WITHDRAWN)
        .select_related("case__board")
        .order_by("updated_at", "pk")
    )


def failed_reports(user: User, *, now: datetime.datetime | None = None) -> QuerySet[Report]:
    """Report copies whose rendering failed, on the boards the user runs: marked failed, or
    pending for longer than a rendering takes (decisions.reports.report_status). Only the
    current version's copies: a superseded version's report is history."""
    now = now or timezone.now()
    if not user.is_authenticated or not user.is_active:
        return Report.objects.none()
    stale = Q(status=Report.Status.PENDING, requested_at__lte=now - REPORT_PENDING_FOR)
    return (
        Report.objects.filter(Q(status=Report.Status.FAILED) | stale)
        .filter(
            consensus__case__board__in=_managed_boards(user).values("board"),
            consensus__superseded_by__isnull=True,
        )
        .select_related("consensus__case__board")
        .order_by("requested_at", "pk")
    )


# Meetings of the last 30 days stay on the managers' list until their minutes are signed.
MINUTES_WINDOW = datetime.timedelta(days=30)


def minutes_to_sign(user: User, *, now: datetime.datetime | None = None) -> list[Meeting]:
    """Meetings of the boards the user runs that are over (held, or past their end) in the
    last 30 days and have no signed minutes (decisions.minutes): to draft, edit and sign."""
    now = now or timezone.now()
    if not user.is_authenticated or not user.is_active:
        return []
    meetings = (
        Meeting.objects.filter(
            board__in=_managed_boards(user).values("board"),
            status__in=[Meeting.Status.HELD, Meeting.Status.SCHEDULED],
            starts_at__gte=now - MINUTES_WINDOW,
            starts_at__lt=now,
        )
        .exclude(minutes__signed_at__isnull=False)
        .select_related("board")
        .order_by("starts_at", "pk")
    )
    return [m for m in meetings if m.status == Meeting.Status.HELD or m.ends_at <= now]


# --- submitters (referring doctors, patients) ----------------------------------------------------

# Concluded cases stay on the home page this long, to read the answer; all are under My cases.
RECENTLY_CONCLUDED = datetime.timedelta(days=30)
# A data manager's seat, as worklist_for reads it beside the board roles.
DATA_MANAGER = "data_manager"


def submitted_cases(user: User, *, now: datetime.datetime | None = None) -> QuerySet[Case]:
    """The user's own cases that are open, or concluded in the last 30 days; drafts first
    (they wait for the user), then the newest."""
    now = now or timezone.now()
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    open_or_recent = ~Q(status__in=[S.CONCLUDED, S.WITHDRAWN]) | Q(
        status=S.CONCLUDED, updated_at__gte=now - RECENTLY_CONCLUDED
    )
    drafts_first = models.Case(When(status=S.DRAFT, then=Value(0)), default=Value(1))
    return (
        Case.objects.filter(submitted_by=user)
        .filter(open_or_recent)
        .select_related("board")
        .annotate(draft_rank=drafts_first)
        .order_by("draft_rank", "-created_at", "-pk")
    )


def open_requests(user: User) -> QuerySet[SubmitterRequest]:
    """Requests from a board to this submitter still waiting for their answer (issue #16),
    on their cases that are not closed; the oldest first (it has waited longest)."""
    if not user.is_authenticated or not user.is_active:
        return SubmitterRequest.objects.none()
    return (
        SubmitterRequest.objects.filter(
            case__submitted_by=user, status=SubmitterRequest.Status.OPEN
        )
        .exclude(case__status__in=[S.CONCLUDED, S.WITHDRAWN])
        .select_related("case__board")
        .order_by("created_at", "pk")
    )


def awaiting_information_cases(user: User) -> QuerySet[Case]:
    """Cases of the boards the user runs that wait on their submitter: a request is open
    (issue #16), or answered and waiting for the board to read the answer and close it."""
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    pending = SubmitterRequest.objects.filter(
        case=OuterRef("pk"),
        status__in=[SubmitterRequest.Status.OPEN, SubmitterRequest.Status.ANSWERED],
    )
    answered = pending.filter(status=SubmitterRequest.Status.ANSWERED)
    return (
        Case.objects.filter(Exists(pending), board__in=_managed_boards(user).values("board"))
        .exclude(status__in=[S.CONCLUDED, S.WITHDRAWN])
        .select_related("board")
        .annotate(has_answer=Exists(answered), urgency_rank=URGENCY_ORDER)
        # Answers to read first: the board can act on them now.
        .order_by(F("has_answer").desc(), "urgency_rank", "submitted_at", "pk")
    )


# --- the page's whole list -----------------------------------------------------------------------


@dataclass
class WorkList:
    """Everything the home page lists for one user, each list evaluated once."""

    is_panelist: bool = False  # member or chair of a board, or an invited expert
    is_voter: bool = False  # member or chair of a board
    is_manager: bool = False
    is_member: bool = False  # has a seat on any board (also coordinators)
    is_submitter: bool = False
    awaiting_opinion: list[Case] = field(default_factory=list)
    votes_to_cast: list[VoteRound] = field(default_factory=list)
    meetings_this_week: list[Meeting] = field(default_factory=list)
    to_triage: list[Case] = field(default_factory=list)
    ready_without_meeting: list[Case] = field(default_factory=list)
    consensus_to_sign: list[Consensus] = field(default_factory=list)
    failed_reports: list[Report] = field(default_factory=list)
    submitted_cases: list[Case] = field(default_factory=list)
    open_requests: list[SubmitterRequest] = field(default_factory=list)
    awaiting_information: list[Case] = field(default_factory=list)
    # Follow-up of recommendations (decisions.followup): points to record (referring doctors,
    # data managers), overdue points and re-presentations (managers).
    is_data_manager: bool = False
    followups_due: list[FollowUp] = field(default_factory=list)
    followups_overdue: list[FollowUp] = field(default_factory=list)
    represent_requests: list[FollowUp] = field(default_factory=list)
    minutes_to_sign: list[Meeting] = field(default_factory=list)
    is_expert: bool = False  # has a seat on an expert service
    expert_reviews_held: list[ExpertReview] = field(default_factory=list)
    expert_reviews_unassigned: list[ExpertReview] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.is_member or self.is_panelist or self.is_submitter or self.is_data_manager)


def worklist_for(user: User, *, now: datetime.datetime | None = None) -> WorkList:
    """The lists that concern this user's roles; the others are not asked for."""
    now = now or timezone.now()
    # The board roles with their board's kind and, in the same query, a data manager's seat
    # (board.DataManager, no kind: a data manager is never an expert).
    dm_seats = DataManager.objects.filter(user=user).annotate(
        role=Value(DATA_MANAGER), kind=Value("")
    )
    seats = set(
        Membership.objects.filter(user=user)
        .order_by()
        .values_list("role", "board__kind")
        .union(dm_seats.order_by().values_list("role", "kind"))
        .order_by()
    )
    roles = {role for role, _kind in seats}
    seated = bool(roles & {Membership.Role.CHAIR, Membership.Role.MEMBER})
    # Only asked when no seat makes the user a panelist anyway.
    invited = not seated and active_invites(user).exclude(case__status=S.DRAFT).exists()
    work = WorkList(
        is_member=bool(roles - {DATA_MANAGER}),
        is_manager=bool(roles & Membership.MANAGING_ROLES),
        is_panelist=seated or invited,
        is_voter=seated,
    )
    if work.is_panelist:
        work.awaiting_opinion = list(awaiting_opinion(user, now=now))
    if seated:
        work.votes_to_cast = list(votes_to_cast(user, now=now))
    if work.is_member:
        work.meetings_this_week = meetings_this_week(user, now=now)
        # Only experts' lists are asked for: a board member's page costs no query more.
        work.is_expert = any(kind == "expert_service" for _role, kind in seats)
        if work.is_expert:
            work.expert_reviews_held = list(expert_reviews_held(user))
            work.expert_reviews_unassigned = list(expert_reviews_unassigned(user))
    if work.is_manager:
        work.to_triage = list(to_triage(user))
        work.ready_without_meeting = ready_without_meeting(user, now=now)
        work.consensus_to_sign = list(consensus_to_sign(user))
        work.failed_reports = list(failed_reports(user, now=now))
        work.awaiting_information = list(awaiting_information_cases(user))
        # Where each ready case can go: its board's next meeting this week, if any.
        next_meetings: dict[int, Meeting] = {}
        for meeting in work.meetings_this_week:
            if meeting.starts_at > now:
                next_meetings.setdefault(meeting.board_id, meeting)
        for case in work.ready_without_meeting:
            case.next_meeting = next_meetings.get(case.board_id)
        work.followups_overdue = list(followup.overdue_for(user, today=now.date()))
        work.represent_requests = list(followup.represent_requests_for(user))
        work.minutes_to_sign = minutes_to_sign(user, now=now)
    work.is_data_manager = DATA_MANAGER in roles
    work.submitted_cases = list(submitted_cases(user, now=now))
    # A doctor without a seat on any board is a referrer even before their first case.
    work.is_submitter = bool(work.submitted_cases) or not (work.is_member or work.is_data_manager)
    # Asked of referrers and data managers only (a member's own referrals show while they
    # are open or recent: the home page's query budget stays the same for the panel).
    if work.is_data_manager or (work.is_submitter and user.kind == User.Kind.CLINICIAN):
        work.followups_due = list(followup.due_for(user, today=now.date()))
    if work.is_submitter:
        work.open_requests = list(open_requests(user))
    return work
