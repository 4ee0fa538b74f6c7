from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from board.access import get_board_for_manager, get_board_for_user
from board.models import Board, Membership, Specialty, User
from cases.access import get_case_for_user
from cases.audit import audit
from cases.forms import OpinionForm
from cases.models import Case, awaiting_information
from cases.opinions import visible_thread
from imaging.views import viewer_config
from meetings import ical, services
from meetings.access import MeetingAccess, get_meeting_for_manager, get_meeting_for_user
from meetings.consumers import meeting_socket_path
from meetings.forms import AgendaAddForm, MeetingForm, MoveForm, PresenterForm, TimeBoxForm
from meetings.models import AgendaItem, Attendance, LiveSession, Meeting


def _members(board: Board):
    return User.objects.filter(memberships__board=board).order_by("last_name", "first_name")


def _schedulable_cases(meeting: Meeting):
    return (
        Case.objects.filter(
            board_id=meeting.board_id, status=Case.Status.IN_REVIEW, ready_at__isnull=False
        )
        .exclude(agenda_items__meeting=meeting)
        # Shown in the picker; the chair may still schedule a case awaiting information.
        .annotate(awaiting_information=awaiting_information())
        # A case waiting for the expert review its board asked for is not offered (issue #16).
        .exclude(
            expert_reviews__purpose="step",
            expert_reviews__completed_at__isnull=True,
            expert_reviews__waived_at__isnull=True,
        )
        .order_by("ready_at")
    )


def _meeting_url(meeting: Meeting):
    return redirect("meeting-detail", meeting_id=meeting.uuid)


@require_GET
def board_meetings(request: HttpRequest, board_id: UUID) -> HttpResponse:
    access = get_board_for_user(request.user, board_id)
    board, membership = access.board, access.membership
    meetings = board.meetings.annotate(item_count=Count("agenda_items")).order_by("-starts_at")
    now = timezone.now()
    upcoming, past = [], []
    for meeting in meetings:
        (upcoming if meeting.is_scheduled and meeting.ends_at > now else past).append(meeting)
    return render(
        request,
        "meetings/board_meetings.html",
        {
            "board": board,
            "membership": membership,
            "upcoming": upcoming[::-1],
            "past": past,
        },
    )


@require_http_methods(["GET", "POST"])
def meeting_new(request: HttpRequest, board_id: UUID) -> HttpResponse:
    access = get_board_for_manager(request.user, board_id)
    board, membership = access.board, access.membership
    if request.method == "POST":
        form = MeetingForm(request.POST, board=board, user=request.user)
        if form.is_valid():
            try:
                meeting = services.meeting_schedule(access=access, **form.service_kwargs())
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The meeting is scheduled and invites are sent."))
                return _meeting_url(meeting)
    else:
        form = MeetingForm(
            initial={"title": board.name, "duration_minutes": 60},
            board=board,
            user=request.user,
        )
    status = 400 if form.is_bound else 200
    return render(
        request,
        "meetings/meeting_form.html",
        {"board": board, "membership": membership, "form": form, "meeting": None},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def meeting_edit(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    access = get_meeting_for_manager(request.user, meeting_id)
    meeting, membership = access.meeting, access.membership
    if request.method == "POST":
        form = MeetingForm(request.POST, board=meeting.board, user=request.user, meeting=meeting)
        if form.is_valid():
            try:
                services.meeting_update(access=access, **form.service_kwargs())
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The meeting was updated and invites re-sent."))
                return _meeting_url(meeting)
    else:
        form = MeetingForm(
            initial=MeetingForm.initial_for(meeting),
            board=meeting.board,
            user=request.user,
            meeting=meeting,
        )
    return render(
        request,
        "meetings/meeting_form.html",
        {"board": meeting.board, "membership": membership, "form": form, "meeting": meeting},
        status=400 if form.is_bound else 200,
    )


@require_GET
def meeting_detail(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    access = get_meeting_for_user(request.user, meeting_id)
    meeting, membership = access.meeting, access.membership
    items = list(meeting.agenda_items.select_related("case", "presenter").order_by("position"))
    context = {
        "meeting": meeting,
        "board": meeting.board,
        "membership": membership,
        "items": items,
        "total_minutes": sum(item.time_box_minutes for item in items),
        "can_edit_agenda": membership.is_manager and meeting.is_scheduled,
    }
    if context["can_edit_agenda"]:
        members = list(_members(meeting.board))
        context["members"] = members
        context["add_form"] = AgendaAddForm(
            cases=_schedulable_cases(meeting), members=_members(meeting.board)
        )
    return render(request, "meetings/meeting_detail.html", context)


@require_GET
def meeting_invite(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    meeting = get_meeting_for_user(request.user, meeting_id).meeting
    method = ical.CANCEL if meeting.status == Meeting.Status.CANCELLED else ical.REQUEST
    response = HttpResponse(
        ical.meeting_ics(meeting, method),
        content_type=f"text/calendar; charset=utf-8; method={method}",
    )
    response["Content-Disposition"] = 'attachment; filename="invite.ics"'
    return response


@require_POST
def meeting_cancel(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    access = get_meeting_for_user(request.user, meeting_id)
    meeting = access.meeting
    try:
        services.meeting_cancel(access=access)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The meeting is cancelled; its cases are back in review."))
    return _meeting_url(meeting)


@require_POST
def agenda_add(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    access = get_meeting_for_user(request.user, meeting_id)
    meeting = access.meeting
    # Any case of the board is accepted here so that the service, not the select, says why
    # one that is not ready cannot be scheduled.
    form = AgendaAddForm(
        request.POST,
        cases=Case.objects.filter(board_id=meeting.board_id),
        members=_members(meeting.board),
    )
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return _meeting_url(meeting)
    try:
        item = services.agenda_add(
            access=access,
            case=form.cleaned_data["case"],
            time_box_minutes=form.cleaned_data["time_box_minutes"],
            presenter=form.cleaned_data["presenter"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("Case %(pseudonym)s is on the agenda.") % {"pseudonym": item.case.pseudonym}
        )
    return _meeting_url(meeting)


def _agenda_item(
    request: HttpRequest, meeting_id: UUID, item_id: UUID
) -> tuple[MeetingAccess, AgendaItem]:
    """The item of the meeting, for its board's members (the service asks for a manager)."""
    access = get_meeting_for_user(request.user, meeting_id)
    item = get_object_or_404(
        AgendaItem.objects.select_related("case"), uuid=item_id, meeting=access.meeting
    )
    item.meeting = access.meeting
    return access, item


def _apply(request: HttpRequest, item: AgendaItem, action, success: str) -> HttpResponse:
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success)
    return _meeting_url(item.meeting)


@require_POST
def agenda_remove(request: HttpRequest, meeting_id: UUID, item_id: UUID) -> HttpResponse:
    access, item = _agenda_item(request, meeting_id, item_id)
    return _apply(
        request,
        item,
        lambda: services.agenda_remove(access=access, item=item),
        _("Case %(pseudonym)s is off the agenda and back in review.")
        % {"pseudonym": item.case.pseudonym},
    )


@require_POST
def agenda_move(request: HttpRequest, meeting_id: UUID, item_id: UUID) -> HttpResponse:
    access, item = _agenda_item(request, meeting_id, item_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Say whether to move the item up or down."), status=400)
    offset = -1 if form.cleaned_data["direction"] == "up" else 1
    return _apply(
        request,
        item,
        lambda: services.agenda_move(access=access, item=item, offset=offset),
        _("The agenda order was changed."),
    )


@require_POST
def agenda_presenter(request: HttpRequest, meeting_id: UUID, item_id: UUID) -> HttpResponse:
    access, item = _agenda_item(request, meeting_id, item_id)
    form = PresenterForm(request.POST, members=_members(item.meeting.board))
    if not form.is_valid():
        messages.error(request, _("The presenter must be a member of the board."))
        return _meeting_url(item.meeting)
    return _apply(
        request,
        item,
        lambda: services.agenda_set_presenter(
            access=access, item=item, presenter=form.cleaned_data["presenter"]
        ),
        _("The presenter was set."),
    )


@require_POST
def agenda_time_box(request: HttpRequest, meeting_id: UUID, item_id: UUID) -> HttpResponse:
    access, item = _agenda_item(request, meeting_id, item_id)
    form = TimeBoxForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The time box must be between 1 and 240 minutes."))
        return _meeting_url(item.meeting)
    minutes = form.cleaned_data["time_box_minutes"]
    return _apply(
        request,
        item,
        lambda: services.agenda_set_time_box(access=access, item=item, minutes=minutes),
        _("The time box was set."),
    )


# --- the live session ---------------------------------------------------------------------


def _specialists_format(specialty: str, count: int) -> str:
    """ "%(n)d pathologist(s)": how a quorum shortfall reads to a clinician."""
    return {
        Specialty.PATHOLOGY: ngettext("%(n)d pathologist", "%(n)d pathologists", count),
        Specialty.RADIOLOGY: ngettext("%(n)d radiologist", "%(n)d radiologists", count),
        Specialty.MEDICAL_ONCOLOGY: ngettext(
            "%(n)d medical oncologist", "%(n)d medical oncologists", count
        ),
        Specialty.SURGICAL_ONCOLOGY: ngettext(
            "%(n)d surgical oncologist", "%(n)d surgical oncologists", count
        ),
        Specialty.RADIATION_ONCOLOGY: ngettext(
            "%(n)d radiation oncologist", "%(n)d radiation oncologists", count
        ),
    }.get(specialty, ngettext("%(n)d other member", "%(n)d other members", count))


def _quorum_text(shortfall: dict[str, int]) -> str:
    if not shortfall:
        return _("Quorum met")
    missing = ", ".join(_specialists_format(s, n) % {"n": n} for s, n in sorted(shortfall.items()))
    return _("Missing: %(missing)s") % {"missing": missing}


def _live_item_parts(request: HttpRequest, meeting: Meeting, item: AgendaItem) -> dict:
    """The current case's summary and opinion thread (as HTML) and its viewer's config, with
    the user's own rights on the case (404 for a case they may not see)."""
    access = get_case_for_user(request.user, item.case.uuid)
    case = access.case
    audit(
        actor=request.user,
        action="case.view",
        case=case,
        target=case,
        detail={"meeting": str(meeting.uuid)},
    )
    context = {
        "meeting": meeting,
        "item": item,
        "case": case,
        "access": access,
        "thread": visible_thread(access) if access.can_see_opinions else None,
        "opinion_form": OpinionForm() if access.can_write_opinion else None,
    }
    return {
        "item": str(item.uuid),
        "case": str(case.uuid),
        "pseudonym": case.pseudonym,
        "html": {
            "case": render_to_string("meetings/live/_case.html", context, request=request),
            "thread": render_to_string("cases/_thread.html", context, request=request),
        },
        "viewer": viewer_config(access),
    }


@require_GET
def meeting_live(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    """The live session: agenda, the current case with its images and opinions, who is here.

    The page is drawn from the database; static/js/live/page.js then follows the meeting's
    socket (realtime.consumers.MeetingConsumer), which is the authority from there on."""
    access = get_meeting_for_user(request.user, meeting_id)
    meeting, membership = access.meeting, access.membership
    if meeting.status == Meeting.Status.CANCELLED:
        messages.info(request, _("This meeting was cancelled; it has no live session."))
        return _meeting_url(meeting)
    items = list(meeting.agenda_items.select_related("case", "presenter").order_by("position"))
    # Read, not created: the socket creates the live state when the first member joins.
    session = LiveSession.objects.select_related("presenter").filter(meeting=meeting).first()
    current = next((i for i in items if session and i.pk == session.current_item_id), None)
    members = list(
        Membership.objects.filter(board=meeting.board)
        .select_related("user")
        .order_by("role", "user__last_name", "user__first_name")
    )
    present = set(
        Attendance.objects.present().filter(meeting=meeting).values_list("user_id", flat=True)
    )
    prefetch_related_objects([meeting.board], "quorum_requirements")
    board = meeting.board
    shortfall = board.quorum_shortfall(m.specialty for m in members if m.user_id in present)
    parts = _live_item_parts(request, meeting, current) if current else None
    specialties = {req.specialty for req in board.quorum_requirements.all()} | {
        m.specialty for m in members
    }
    config = {
        "meeting": str(meeting.uuid),
        "socket": meeting_socket_path(meeting),
        "itemUrl": reverse("meeting-live", kwargs={"meeting_id": meeting.uuid}) + "items/",
        "user": str(request.user.uuid),
        "isManager": membership.is_manager,
        "item": parts["item"] if parts else None,
        "presenter": str(session.presenter.uuid) if session and session.presenter_id else None,
        "viewer": parts["viewer"] if parts else None,
        "members": [
            {"uuid": str(m.user.uuid), "name": m.user.display_name, "specialty": m.specialty}
            for m in members
        ],
        "quorum": {
            "required": {req.specialty: req.minimum for req in board.quorum_requirements.all()},
            # One and many of each specialty, for the page to word a shortfall as it changes.
            "labels": {
                s: [_specialists_format(s, 1), _specialists_format(s, 2)]
                for s in sorted(specialties)
            },
            "met": _("Quorum met"),
            "missing": _("Missing: %(missing)s"),
        },
        "text": {
            "connecting": _("Connecting…"),
            "live": _("Live"),
            "reconnecting": _("Offline: reconnecting in %(seconds)s s"),
            "reconnectingNow": _("Offline: reconnecting…"),
            "notConnected": _("Not connected: try again in a moment."),
            "unavailable": _("This case is not available to you."),
            "offline": _("Offline"),
            "forbidden": _("Signed out or no access to this meeting"),
            "flood": _("Too many messages; reconnecting in %(seconds)s s"),
            "following": _("Following the presenter"),
            "free": _("You are browsing on your own"),
            "presenting": _("You are presenting: everyone follows your view"),
            "noPresenter": _("Nobody is presenting"),
            "nobody": _("nobody"),
            "asks": _("%(name)s asks for control"),
            "asked": _("The chair has been asked"),
            "waiting": _("Waiting for the chair to open the first case."),
            "present": _("present"),
            "away": _("away"),
            "dismiss": _("Dismiss"),
            "blindedNew": _("A new opinion was posted. Post your own to see the others."),
            "notPosted": _("Not posted: %(error)s"),
            "posted": _("Your opinion was posted."),
            # The agenda, as static/js/live/agenda.js draws it when it changes.
            "minutes": [ngettext("%(n)d min", "%(n)d min", n) for n in (1, 2)],
            "goTo": _("Go to"),
            "goToCase": _("Go to case %(pseudonym)s"),
            "emptyAgenda": _("No case is on the agenda."),
            "choose": _("Choose a case on the agenda to begin."),
            "cancelled": _("This meeting was cancelled: the live session has ended."),
            "ended": _("Ended"),
            "statuses": dict(Case.Status.choices),
        },
    }
    context = {
        "meeting": meeting,
        "board": board,
        "membership": membership,
        "items": items,
        "current": current,
        "presenter": session.presenter if session else None,
        "members": members,
        "present": present,
        "quorum_met": not shortfall,
        "quorum_text": _quorum_text(shortfall),
        "parts": parts,
        "config": config,
    }
    return render(request, "meetings/live.html", context)


@require_GET
def meeting_live_item(request: HttpRequest, meeting_id: UUID, item_id: UUID) -> JsonResponse:
    """One agenda item's case for the live page, when the meeting moves to it."""
    meeting = get_meeting_for_user(request.user, meeting_id).meeting
    if meeting.status == Meeting.Status.CANCELLED:
        raise Http404
    item = get_object_or_404(
        AgendaItem.objects.select_related("case"), uuid=item_id, meeting=meeting
    )
    return JsonResponse(_live_item_parts(request, meeting, item))
