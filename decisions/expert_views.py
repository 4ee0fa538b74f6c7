"""The expert review section of a case page (issue #16) and its forms.

Each form posts to its own URL and comes back to the case page with a message (no script
needed). The rights are the access object's (cases.access.CaseAccess: holds_review,
can_assign_review, ...); the writes are the services' (cases.services for who holds a
review, decisions.expert for the opinion).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from board.second_factor import require_recent_second_factor
from cases import services as case_services
from cases.access import CaseAccess, get_case_for_user
from cases.models import ExpertReview
from decisions import expert
from decisions.forms import (
    ExpertAssignForm,
    ExpertOpinionForm,
    ExpertRequestForm,
    ExpertWaiveForm,
    SignForm,
)
from decisions.models import ExpertOpinion


def _back(access: CaseAccess) -> HttpResponse:
    return redirect(reverse("case-detail", kwargs={"case_id": access.case.uuid}) + "#expert")


def _review_for(access: CaseAccess, review_id: UUID) -> ExpertReview:
    review = (
        ExpertReview.objects.filter(case=access.case, uuid=review_id)
        .select_related("service", "expert")
        .first()
    )
    if review is None:
        raise Http404
    return review


def _errors(request: HttpRequest, form: Form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _refusal(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def expert_context(access: CaseAccess) -> dict[str, Any]:
    """What the case page's expert section shows this reader."""
    case = access.case
    reviews = list(
        case.expert_reviews.select_related(
            "service", "expert", "requested_by", "waived_by"
        ).order_by("requested_at")
    )
    opinions = {
        o.review_id: o
        for o in ExpertOpinion.objects.filter(review__in=reviews).select_related("signed_by")
    }
    rows = []
    for review in reviews:
        opinion = opinions.get(review.pk)
        pathology = review.service.review_kind == "pathology"
        readable = opinion is not None and (
            opinion.is_signed or access.can_read_expert_draft(review)
        )
        row: dict[str, Any] = {
            "review": review,
            "opinion": opinion if readable else None,
            "pathology": pathology,
            "referring": expert.referring_of(case, opinion),
        }
        if access.holds_review(review):
            row["opinion_form"] = ExpertOpinionForm(instance=opinion, pathology=pathology)
            row["sign_form"] = SignForm(prefix="expert") if opinion is not None else None
        if access.can_assign_review(review):
            row["assign_form"] = ExpertAssignForm(
                service=review.service,
                initial={"expert": review.expert.uuid if review.expert else None},
            )
        row["can_take"] = access.can_take_review(review)
        if access.can_waive_review(review):
            row["waive_form"] = ExpertWaiveForm()
        rows.append(row)
    has_open_step = any(r.blocks_agenda for r in reviews)
    return {
        "case": case,
        "access": access,
        "expert_rows": rows,
        "request_form": (
            ExpertRequestForm() if access.can_request_review and not has_open_step else None
        ),
        "expert_service": case.board.is_expert_service,
    }


@require_POST
def expert_review_request(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    access.require(access.can_request_review, "expert_review.request")
    form = ExpertRequestForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return _back(access)
    try:
        case_services.expert_review_request(
            access=access,
            service=form.cleaned_data["service"],
            expert=form.cleaned_data["expert"],
            question=form.cleaned_data["question"],
        )
    except ValidationError as exc:
        _refusal(request, exc)
        return _back(access)
    messages.success(request, _("Expert review asked for. The case waits for it."))
    return _back(access)


@require_POST
def expert_review_assign(request: HttpRequest, case_id: UUID, review_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    review = _review_for(access, review_id)
    access.require(access.can_assign_review(review), "expert_review.assign")
    form = ExpertAssignForm(request.POST, service=review.service)
    if not form.is_valid():
        _errors(request, form)
        return _back(access)
    try:
        review = case_services.expert_review_assign(
            access=access, review=review, expert=form.cleaned_data["expert"]
        )
    except ValidationError as exc:
        _refusal(request, exc)
        return _back(access)
    messages.success(
        request, _("The review is assigned to %(expert)s.") % {"expert": review.expert}
    )
    return _back(access)


@require_POST
def expert_review_take(request: HttpRequest, case_id: UUID, review_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    review = _review_for(access, review_id)
    try:
        case_services.expert_review_take(access=access, review=review)
    except ValidationError as exc:
        _refusal(request, exc)
        return _back(access)
    messages.success(request, _("You hold this review now."))
    return _back(access)


@require_POST
def expert_review_waive(request: HttpRequest, case_id: UUID, review_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    review = _review_for(access, review_id)
    access.require(access.can_waive_review(review), "expert_review.waive")
    form = ExpertWaiveForm(request.POST)
    if not form.is_valid():
        _errors(request, form)
        return _back(access)
    try:
        case_services.expert_review_waive(
            access=access, review=review, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        _refusal(request, exc)
        return _back(access)
    messages.success(request, _("The board goes ahead without the expert review."))
    return _back(access)


@require_POST
def expert_opinion_save(request: HttpRequest, case_id: UUID, review_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    review = _review_for(access, review_id)
    access.require(access.holds_review(review), "expert_opinion.save")
    opinion = ExpertOpinion.objects.filter(review=review).first()
    form = ExpertOpinionForm(
        request.POST, instance=opinion, pathology=review.service.review_kind == "pathology"
    )
    if not form.is_valid():
        _errors(request, form)
        return _back(access)
    try:
        expert.expert_opinion_save(access=access, review=review, data=form.cleaned_data)
    except expert.OpinionLocked as exc:
        messages.error(request, exc.message)
        return _back(access)
    messages.success(request, _("Draft saved. Only the panel sees it until you sign."))
    return _back(access)


@require_POST
# A signature binds the expert: the second factor again, not only the password.
@require_recent_second_factor
def expert_opinion_sign(request: HttpRequest, case_id: UUID, review_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id)
    review = _review_for(access, review_id)
    access.require(access.holds_review(review), "expert_opinion.sign")
    form = SignForm(request.POST, prefix="expert")
    if not form.is_valid():
        _errors(request, form)
        return _back(access)
    try:
        expert.expert_opinion_sign(
            access=access, review=review, password=form.cleaned_data["password"]
        )
    except expert.WrongPassword:
        messages.error(request, _("That is not your password. Nothing was signed."))
        return _back(access)
    except expert.OpinionLocked as exc:
        messages.error(request, exc.message)
        return _back(access)
    except ValidationError as exc:
        _refusal(request, exc)
        return _back(access)
    messages.success(request, _("Opinion signed. It can no longer change."))
    return _back(access)
