from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from board.access import get_board_for_manager, get_board_for_user
from board.models import Board, User
from cases.models import Case
from meetings import ical, services
from meetings.access import get_meeting_for_manager, get_meeting_for_user
from meetings.forms import AgendaAddForm, MeetingForm, MoveForm, PresenterForm
from meetings.models import AgendaItem, Meeting


def _members(board: Board):
    return User.objects.filter(memberships__board=board).order_by("last_name", "first_name")


def _schedulable_cases(meeting: Meeting):
    return (
        Case.objects.filter(
            board_id=meeting.board_id, status=Case.Status.IN_REVIEW, ready_at__isnull=False
        )
        .exclude(agenda_items__meeting=meeting)
        .order_by("ready_at")
    )


def _meeting_url(meeting: Meeting):
    return redirect("meeting-detail", meeting_id=meeting.uuid)


@require_GET
def board_meetings(request: HttpRequest, board_id: UUID) -> HttpResponse:
    board, membership = get_board_for_user(request.user, board_id)
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
    board, membership = get_board_for_manager(request.user, board_id)
    if request.method == "POST":
        form = MeetingForm(request.POST)
        if form.is_valid():
            try:
                meeting = services.meeting_schedule(
                    by=request.user, board=board, **form.service_kwargs()
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The meeting is scheduled and invites are sent."))
                return _meeting_url(meeting)
    else:
        form = MeetingForm(
            initial={
                "time_zone": request.user.time_zone,
                "title": board.name,
                "duration_minutes": 60,
            }
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
    meeting, membership = get_meeting_for_manager(request.user, meeting_id)
    if request.method == "POST":
        form = MeetingForm(request.POST)
        if form.is_valid():
            try:
                services.meeting_update(by=request.user, meeting=meeting, **form.service_kwargs())
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The meeting was updated and invites re-sent."))
                return _meeting_url(meeting)
    else:
        form = MeetingForm(initial=MeetingForm.initial_for(meeting))
    return render(
        request,
        "meetings/meeting_form.html",
        {"board": meeting.board, "membership": membership, "form": form, "meeting": meeting},
        status=400 if form.is_bound else 200,
    )


@require_GET
def meeting_detail(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    meeting, membership = get_meeting_for_user(request.user, meeting_id)
    items = list(meeting.agenda_items.select_related("case", "presenter").order_by("position"))
    context = {
        "meeting": meeting,
        "board": meeting.board,
        "membership": membership,
        "items": items,
        "total_minutes": sum(item.time_box_minutes for item in items),
        "can_edit_agenda": membership.can_manage and meeting.is_scheduled,
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
    meeting, _membership = get_meeting_for_user(request.user, meeting_id)
    method = ical.CANCEL if meeting.status == Meeting.Status.CANCELLED else ical.REQUEST
    response = HttpResponse(
        ical.meeting_ics(meeting, method),
        content_type=f"text/calendar; charset=utf-8; method={method}",
    )
    response["Content-Disposition"] = 'attachment; filename="invite.ics"'
    return response


@require_POST
def meeting_cancel(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    meeting, _membership = get_meeting_for_manager(request.user, meeting_id)
    try:
        services.meeting_cancel(by=request.user, meeting=meeting)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The meeting is cancelled; its cases are back in review."))
    return _meeting_url(meeting)


@require_POST
def agenda_add(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    meeting, _membership = get_meeting_for_manager(request.user, meeting_id)
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
            by=request.user,
            meeting=meeting,
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


def _item_for_manager(request: HttpRequest, meeting_id: UUID, item_id: UUID) -> AgendaItem:
    meeting, _membership = get_meeting_for_manager(request.user, meeting_id)
    item = get_object_or_404(
        AgendaItem.objects.select_related("case"), uuid=item_id, meeting=meeting
    )
    item.meeting = meeting
    return item


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
    item = _item_for_manager(request, meeting_id, item_id)
    return _apply(
        request,
        item,
        lambda: services.agenda_remove(by=request.user, item=item),
        _("Case %(pseudonym)s is off the agenda and back in review.")
        % {"pseudonym": item.case.pseudonym},
    )


@require_POST
def agenda_move(request: HttpRequest, meeting_id: UUID, item_id: UUID) -> HttpResponse:
    item = _item_for_manager(request, meeting_id, item_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Say whether to move the item up or down."), status=400)
    offset = -1 if form.cleaned_data["direction"] == "up" else 1
    return _apply(
        request,
        item,
        lambda: services.agenda_move(by=request.user, item=item, offset=offset),
        _("The agenda order was changed."),
    )


@require_POST
def agenda_presenter(request: HttpRequest, meeting_id: UUID, item_id: UUID) -> HttpResponse:
    item = _item_for_manager(request, meeting_id, item_id)
    form = PresenterForm(request.POST, members=_members(item.meeting.board))
    if not form.is_valid():
        messages.error(request, _("The presenter must be a member of the board."))
        return _meeting_url(item.meeting)
    return _apply(
        request,
        item,
        lambda: services.agenda_set_presenter(
            by=request.user, item=item, presenter=form.cleaned_data["presenter"]
        ),
        _("The presenter was set."),
    )
