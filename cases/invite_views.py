"""The invitation link: whoever opens it signs in (or creates an account) and accepts.

Opening the link (GET) changes nothing: mail scanners open links. Accepting is a POST by a
signed-in user; signing up through the link makes the account and accepts in one step.
"""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from board.models import User
from cases import services
from cases.forms import InviteSignupForm
from cases.models import CaseInvite

# The account made through a link signs in with the ordinary backend.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _unavailable(request: HttpRequest, problem: services.InviteUnavailable) -> HttpResponse:
    status = 404 if problem.reason == "unknown" else 410
    return render(
        request, "cases/invite_unavailable.html", {"message": problem.messages[0]}, status=status
    )


def _page(
    request: HttpRequest,
    token: str,
    invite: CaseInvite,
    *,
    signup_form: InviteSignupForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {"token": token, "invite": invite, "error": error}
    if not request.user.is_authenticated:
        context["signup_form"] = signup_form or InviteSignupForm()
    return render(request, "cases/invite_open.html", context, status=status)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def invite_open(request: HttpRequest, token: str) -> HttpResponse:
    invite = services.invite_for_token(token)
    if request.method == "GET":
        problem = services.invite_unavailable_reason(invite)
        if problem is not None:
            return _unavailable(request, problem)
        return _page(request, token, invite)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        accepted = services.invite_accept(token=token, user=request.user)
    except services.InviteUnavailable as problem:
        if problem.reason in {"unknown", "used", "revoked", "expired"}:
            return _unavailable(request, problem)
        return _page(request, token, invite, error=problem.messages[0], status=403)
    return redirect("case-detail", case_id=accepted.case.uuid)


@login_not_required
@never_cache
@require_POST
def invite_signup(request: HttpRequest, token: str) -> HttpResponse:
    invite = services.invite_for_token(token)
    problem = services.invite_unavailable_reason(invite)
    if problem is not None:
        return _unavailable(request, problem)
    if request.user.is_authenticated:
        return redirect("invite-open", token=token)  # signed in: accept, do not sign up
    form = InviteSignupForm(request.POST)
    if not form.is_valid():
        return _page(request, token, invite, signup_form=form, status=400)
    try:
        with transaction.atomic():
            user = form.save(commit=False)
            user.kind = User.Kind.CLINICIAN
            # The address the link was sent to: whoever holds the link received it there.
            user.email = invite.email
            user.save()
            accepted = services.invite_accept(token=token, user=user)
    except services.InviteUnavailable as problem:  # taken meanwhile: no account is left over
        return _unavailable(request, problem)
    login(request, user, backend=MODEL_BACKEND)
    return redirect("case-detail", case_id=accepted.case.uuid)
