"""Changing one's email address: ask (with the password), then confirm by the emailed link."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from board.forms import EmailChangeForm
from board.second_factor import require_recent_second_factor
from board.services import email_change_confirm, email_change_request


@require_POST
@require_recent_second_factor
def email_change(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST, prefix="email", request=request)
    if not form.is_valid():
        return render(request, "board/email_change.html", {"form": form}, status=400)
    email_change_request(user=request.user, new_email=form.cleaned_data["email"])
    messages.success(
        request,
        _("We sent a link to %(email)s. Your address changes when you open it.")
        % {"email": request.user.pending_email},
    )
    return redirect("account")


@require_http_methods(["GET", "POST"])
def email_change_confirm_view(request: HttpRequest, code: str) -> HttpResponse:
    # GET only shows a button: mail scanners open links, and a GET must change nothing.
    if request.method == "GET":
        return render(request, "board/email_confirm.html", {"code": code})
    try:
        email = email_change_confirm(user=request.user, code=code)
    except ValidationError as exc:
        return render(request, "board/email_confirm.html", {"error": exc.messages[0]}, status=400)
    messages.success(request, _("Your email address is now %(email)s.") % {"email": email})
    return redirect("account")
