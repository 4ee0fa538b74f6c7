"""Pages of the follow-up of recommendations (decisions.followup) and of meeting minutes
(decisions.minutes). Thin: the access helper first (404 to outsiders, 403 to readers who may
not act), then a service."""

from __future__ import annotations

import hashlib
import io
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from board.models import User
from board.second_factor import require_recent_second_factor
from cases.audit import audit
from decisions import followup as followups
from decisions import minutes as minutes_service
from decisions.forms import SignForm
from decisions.models import (
    DeviationReason,
    FollowUp,
    FollowUpAddendum,
    FollowUpStatus,
    MeetingMinutes,
    MinutesItem,
)
from meetings.access import get_meeting_for_user

DATE = forms.DateInput(attrs={"type": "date"})


class FollowUpForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Was the recommendation implemented?"),
        choices=[c for c in FollowUpStatus.choices if c[0] != FollowUpStatus.PENDING],
        widget=forms.RadioSelect,
    )
    reason = forms.ChoiceField(
        label=gettext_lazy("If not, or only partly: why?"),
        choices=[("", "—"), *DeviationReason.choices],
        required=False,
    )
    reason_other = forms.CharField(
        label=gettext_lazy("Other reason"), max_length=200, required=False
    )
    done_instead = forms.CharField(
        label=gettext_lazy("What was done instead"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    recurrence_on = forms.DateField(
        label=gettext_lazy("Local recurrence (date)"), required=False, widget=DATE
    )
    metastasis_on = forms.DateField(
        label=gettext_lazy("Metastasis (date)"), required=False, widget=DATE
    )
    death_on = forms.DateField(label=gettext_lazy("Death (date)"), required=False, widget=DATE)
    represent = forms.BooleanField(
        label=gettext_lazy("Ask the board to discuss the case again (e.g. progression)"),
        required=False,
    )


def _history(case) -> list[FollowUp]:
    return list(
        FollowUp.objects.filter(case=case)
        .select_related("consensus", "recorded_by")
        .order_by("consensus__version", "months")
    )


@require_http_methods(["GET", "POST"])
def followup_record(request: HttpRequest, followup_id: UUID) -> HttpResponse:
    """The page the follow-up email links to: the recommendation, the case's follow-up so
    far, and the form for this point while it waits."""
    access, followup = followups.get_followup_for_user(request.user, followup_id)
    form = FollowUpForm()
    status = 200
    if request.method == "POST":
        access.require(access.can_record, "followup.record")
        form = FollowUpForm(request.POST)
        if form.is_valid():
            try:
                followups.followup_record(access=access, followup=followup, data=form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
                status = 400
            except followups.FollowUpConflict as exc:
                messages.error(request, exc.message)
                return redirect("followup-record", followup_id=followup.uuid)
            else:
                messages.success(request, _("Thank you: the follow-up is recorded."))
                return redirect("followup-record", followup_id=followup.uuid)
        else:
            status = 400
    else:
        audit(actor=request.user, action="followup.view", case=access.case, target=followup)
    context = {
        "access": access,
        "followup": followup,
        "case": access.case,
        "consensus": followup.consensus,
        "history": _history(access.case),
        "addenda": FollowUpAddendum.objects.filter(consensus__case=access.case).order_by(
            "consensus__version", "number"
        ),
        "form": form if access.can_record and not followup.is_recorded else None,
    }
    return render(request, "decisions/followup/record.html", context, status=status)


@require_GET
def addendum_download(request: HttpRequest, addendum_id: UUID) -> HttpResponse:
    addendum = (
        FollowUpAddendum.objects.select_related("consensus__case__board", "followup")
        .filter(uuid=addendum_id)
        .first()
    )
    if addendum is None:
        audit(
            actor=request.user,
            action="followup.addendum.download",
            allowed=False,
            detail={"requested": str(addendum_id)},
        )
        raise Http404
    access, _followup = followups.get_followup_for_user(request.user, addendum.followup.uuid)
    with addendum.file.open("rb") as handle:
        pdf = handle.read()
    if hashlib.sha256(pdf).hexdigest() != addendum.sha256:
        return HttpResponse(
            _("The stored addendum does not match its record. Contact the board."),
            status=500,
            content_type="text/plain; charset=utf-8",
        )
    audit(
        actor=request.user,
        action="followup.addendum.download",
        case=access.case,
        target=addendum,
    )
    return _pdf(
        pdf,
        f"consilium-{access.case.pseudonym}-followup-{addendum.consensus.version}-"
        f"{addendum.number}.pdf",
    )


def _pdf(pdf: bytes, filename: str) -> FileResponse:
    response = FileResponse(
        io.BytesIO(pdf), as_attachment=True, filename=filename, content_type="application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# --- minutes ------------------------------------------------------------------------------------


class MinutesNotesForm(forms.Form):
    notes = forms.CharField(
        label=gettext_lazy("General notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class MinutesItemForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=MinutesItem.Outcome.choices)
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    action = forms.CharField(label=gettext_lazy("Open action"), max_length=300, required=False)
    action_owner = forms.ModelChoiceField(
        label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args, board, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action_owner"].queryset = User.objects.filter(
            memberships__board=board
        ).order_by("last_name", "first_name")

    def clean(self):
        data = super().clean()
        if data.get("action") and not data.get("action_owner"):
            self.add_error("action_owner", _("An open action needs an owner."))
        return data


def _item_forms(minutes: MeetingMinutes, data=None) -> list[tuple[MinutesItem, MinutesItemForm]]:
    board = minutes.meeting.board
    return [
        (
            item,
            MinutesItemForm(
                data,
                board=board,
                prefix=f"item-{item.pk}",
                initial={
                    "outcome": item.outcome,
                    "note": item.note,
                    "action": item.action,
                    "action_owner": item.action_owner_id,
                },
            ),
        )
        for item in minutes.items.select_related("case", "action_owner")
    ]


@require_http_methods(["GET", "POST"])
def minutes_page(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    """Members read signed minutes; managers draft (POST), edit and sign them."""
    access = get_meeting_for_user(request.user, meeting_id)
    meeting = access.meeting
    if request.method == "POST":
        access.require(access.is_manager, "minutes.draft")
        try:
            minutes_service.minutes_draft(access=access)
        except minutes_service.MinutesConflict as exc:
            messages.error(request, exc.message)
        return redirect("meeting-minutes", meeting_id=meeting.uuid)
    minutes = MeetingMinutes.objects.filter(meeting=meeting).first()
    if minutes is not None and not minutes.is_signed and not access.is_manager:
        minutes = None  # a draft is the managers'
    return _minutes_render(request, access, minutes)


def _minutes_render(
    request, access, minutes, *, notes_form=None, items=None, sign_form=None, status=200
):
    meeting = access.meeting
    present = minutes_service.attendees(meeting)
    context = {
        "access": access,
        "meeting": meeting,
        "minutes": minutes,
        "attendees": present,
        "shortfall": minutes_service.quorum_shortfall(meeting, present),
        "can_draft": access.is_manager and minutes is None and minutes_service.is_over(meeting),
    }
    if minutes is not None and not minutes.is_signed and access.is_manager:
        context["notes_form"] = notes_form or MinutesNotesForm(initial={"notes": minutes.notes})
        context["item_forms"] = items or _item_forms(minutes)
        context["sign_form"] = sign_form or SignForm(prefix="sign")
    elif minutes is not None:
        context["items"] = minutes.items.select_related("case", "action_owner")
    return render(request, "decisions/minutes/page.html", context, status=status)


def _draft_for(access) -> MeetingMinutes:
    minutes = MeetingMinutes.objects.filter(meeting=access.meeting).first()
    if minutes is None:
        raise Http404
    return minutes


@require_POST
def minutes_edit(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    access = get_meeting_for_user(request.user, meeting_id)
    access.require(access.is_manager, "minutes.edit")
    minutes = _draft_for(access)
    notes_form = MinutesNotesForm(request.POST)
    items = _item_forms(minutes, request.POST)
    if notes_form.is_valid() and all(form.is_valid() for _item, form in items):
        try:
            minutes_service.minutes_update(
                access=access,
                minutes=minutes,
                notes=notes_form.cleaned_data["notes"],
                items={item.pk: form.cleaned_data for item, form in items},
            )
        except minutes_service.MinutesConflict as exc:
            return HttpResponse(exc.message, status=409, content_type="text/plain; charset=utf-8")
        messages.success(request, _("The draft minutes are saved."))
        return redirect("meeting-minutes", meeting_id=access.meeting.uuid)
    return _minutes_render(request, access, minutes, notes_form=notes_form, items=items, status=400)


@require_POST
# A signature binds the board: the second factor again, not only the password.
@require_recent_second_factor
def minutes_sign(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    access = get_meeting_for_user(request.user, meeting_id)
    access.require(access.is_manager, "minutes.sign")
    minutes = _draft_for(access)
    form = SignForm(request.POST, prefix="sign")
    if not form.is_valid():
        return _minutes_render(request, access, minutes, sign_form=form, status=400)
    try:
        minutes_service.minutes_sign(
            access=access, minutes=minutes, password=form.cleaned_data["password"]
        )
    except minutes_service.WrongPassword:
        form.add_error("password", _("That is not your password."))
        return _minutes_render(request, access, minutes, sign_form=form, status=400)
    except minutes_service.MinutesConflict as exc:
        return HttpResponse(exc.message, status=409, content_type="text/plain; charset=utf-8")
    messages.success(request, _("The minutes are signed."))
    return redirect("meeting-minutes", meeting_id=access.meeting.uuid)


@require_GET
def minutes_download(request: HttpRequest, meeting_id: UUID) -> HttpResponse:
    access = get_meeting_for_user(request.user, meeting_id)
    minutes = MeetingMinutes.objects.filter(meeting=access.meeting, signed_at__isnull=False).first()
    if minutes is None:
        raise Http404
    with minutes.file.open("rb") as handle:
        pdf = handle.read()
    if hashlib.sha256(pdf).hexdigest() != minutes.sha256:
        return HttpResponse(
            _("The stored minutes do not match their record. Contact the board."),
            status=500,
            content_type="text/plain; charset=utf-8",
        )
    audit(actor=request.user, action="minutes.download", target=minutes)
    return _pdf(pdf, f"consilium-minutes-{access.meeting.starts_at:%Y-%m-%d}.pdf")
