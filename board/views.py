from __future__ import annotations

import logging
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from board.access import get_board_for_manager, get_board_for_user
from board.errors import DATABASE_RETRY_AFTER_S, cause_of
from board.forms import BoardSettingsForm, EmailChangeForm, ProfileForm
from board.models import ApiToken, Specialty, User
from board.reauth import PasswordConfirmationForm
from board.second_factor import require_recent_second_factor
from board.services import board_update_settings
from board.tokens import token_create, token_revoke

logger = logging.getLogger(__name__)


@require_GET
def board_detail(request: HttpRequest, board_id: UUID) -> HttpResponse:
    access = get_board_for_user(request.user, board_id)
    board, membership = access.board, access.membership
    members = board.memberships.select_related("user").order_by("role", "specialty")
    requirements = list(board.quorum_requirements.all())
    shortfall = board.quorum_shortfall(m.specialty for m in members)
    return render(
        request,
        "board/board_detail.html",
        {
            "board": board,
            "membership": membership,
            "members": members,
            "requirements": requirements,
            "shortfall": {Specialty(s).label: n for s, n in shortfall.items()},
        },
    )


@require_http_methods(["GET", "POST"])
def board_settings(request: HttpRequest, board_id: UUID) -> HttpResponse:
    access = get_board_for_manager(request.user, board_id)
    board, membership = access.board, access.membership
    if request.method == "POST":
        form = BoardSettingsForm(request.POST)
        if form.is_valid():
            board_update_settings(access=access, **form.cleaned_data)
            messages.success(request, _("Board settings saved."))
            return redirect("board-detail", board_id=board.uuid)
    else:
        form = BoardSettingsForm(
            initial={
                **{name: getattr(board, name) for name in BoardSettingsForm.BOARD_FIELDS},
                "required_specialties": list(
                    board.quorum_requirements.values_list("specialty", flat=True)
                ),
            }
        )
    return render(
        request,
        "board/board_settings.html",
        {"board": board, "membership": membership, "form": form},
    )


class ApiTokenForm(PasswordConfirmationForm):
    name = forms.CharField(
        label=_lazy("Token name"),
        max_length=100,
        help_text=_lazy("Where you will use it, e.g. “3D Slicer on my workstation”."),
    )
    scope = forms.ChoiceField(
        label=_lazy("It may"),
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.IMAGING_READ,
        help_text=_lazy("Give upload only to a client that sends images (a PACS, a modality)."),
    )
    field_order = ["name", "scope", "password"]


def _may_have_tokens(user: User) -> bool:
    return user.kind != User.Kind.PATIENT


def _refuse_patient_tokens(request: HttpRequest) -> None:
    if not _may_have_tokens(request.user):
        raise PermissionDenied(_("Patients' accounts have no API tokens."))


def _account_page(
    request: HttpRequest,
    *,
    form: ProfileForm,
    token_form: ApiTokenForm,
    new_token: str | None = None,
    status: int = 200,
) -> HttpResponse:
    # API tokens are for clinicians' DICOMweb clients; a patient's page has no such section.
    may_have_tokens = _may_have_tokens(request.user)
    tokens = ApiToken.objects.filter(
        user=request.user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    return render(
        request,
        "board/account.html",
        {
            "form": form,
            "token_form": token_form,
            "tokens": tokens,
            "new_token": new_token,
            "email_form": EmailChangeForm(request=request, prefix="email"),
            "token_days": settings.API_TOKEN_DAYS,
            "may_have_tokens": may_have_tokens,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ProfileForm(request.POST, instance=request.user)
        if form.is_valid():
            form.save()
            messages.success(request, _("Your profile was saved."))
            return redirect("account")
    else:
        form = ProfileForm(instance=request.user)
    return _account_page(
        request, form=form, token_form=ApiTokenForm(prefix="token", request=request)
    )


@require_POST
@require_recent_second_factor
def api_token_create(request: HttpRequest) -> HttpResponse:
    _refuse_patient_tokens(request)
    token_form = ApiTokenForm(request.POST, prefix="token", request=request)
    profile_form = ProfileForm(instance=request.user)
    if not token_form.is_valid():
        return _account_page(request, form=profile_form, token_form=token_form, status=400)
    _, token = token_create(
        user=request.user,
        name=token_form.cleaned_data["name"],
        scope=token_form.cleaned_data["scope"],
    )
    # The page is rendered here rather than after a redirect: the token then travels once,
    # in this response, and is never kept in a session or a message cookie.
    response = _account_page(
        request,
        form=profile_form,
        token_form=ApiTokenForm(prefix="token", request=request),
        new_token=token,
        status=201,
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def api_token_revoke(request: HttpRequest, token_id: UUID) -> HttpResponse:
    _refuse_patient_tokens(request)
    api_token = get_object_or_404(ApiToken, uuid=token_id, user=request.user)
    token_revoke(token=api_token, by=request.user)
    messages.success(request, _("The token “%(name)s” was revoked.") % {"name": api_token.name})
    return redirect("account")


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: is the database reachable from this process?"""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception as exc:
        # One line with the cause; the response is what the load balancer reads.
        logger.warning("healthz: database unavailable: %s", cause_of(exc))
        response = JsonResponse({"status": "unavailable"}, status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        response._has_been_logged = True  # the line above says it all; Django's would not
        return response
