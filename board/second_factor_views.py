"""Pages of the second factor: verify (after the password, and again for step-up), enrol,
and manage one's factors; plus the passkey ceremonies of django-otp-webauthn, adapted so a
passkey counts as a step-up and a new passkey needs one."""

from __future__ import annotations

import base64
import io
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn import urls as webauthn_urls
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.models import WebAuthnCredential

from board import second_factor as sf


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6 digits of your authenticator app, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def second_factor_verify(request: HttpRequest) -> HttpResponse:
    """After the password, or again before a sensitive action (step-up)."""
    next_url = sf._safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if not sf.second_factor_enrolled(request.user):
        # Nothing to verify with: enrol first (a step-up needs a factor, required or not).
        query = urlencode({"next": next_url})
        return HttpResponseRedirect(f"{reverse('second-factor-enrol')}?{query}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if sf.second_factor_check_code(request=request, code=form.cleaned_data["code"]):
            return HttpResponseRedirect(next_url)
        form.add_error(
            "code",
            _("That code was not accepted. After several wrong codes, wait a little and retry."),
        )
    has_passkey = WebAuthnCredential.objects.filter(user=request.user, confirmed=True).exists()
    return render(
        request,
        "board/second_factor_verify.html",
        {
            "form": form,
            "next": next_url,
            "has_passkey": has_passkey,
            "step_up": request.user.is_verified(),
        },
    )


def _qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


@never_cache
@require_http_methods(["GET", "POST"])
def second_factor_enrol(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app (QR code, then a code from it), then show the recovery
    codes once. An enrolled session that has not passed its factor may not add one here."""
    user = request.user
    enrolled = sf.second_factor_enrolled(user)
    if enrolled and not user.is_verified():
        return redirect("second-factor-verify")
    if enrolled and not sf.recently_verified(request):
        # Replacing the app of an enrolled account is a change of factor: step-up first.
        return HttpResponseRedirect(sf.verify_url(request, request.get_full_path()))
    next_url = sf._safe_next(request, request.POST.get("next") or request.GET.get("next"))
    device = sf.second_factor_totp_begin(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if sf.second_factor_totp_confirm(
            request=request, device=device, code=form.cleaned_data["code"]
        ):
            codes = sf.second_factor_recovery_codes_create(user=user)
            return render(
                request,
                "board/second_factor_codes.html",
                {"codes": codes, "next": next_url},
            )
        form.add_error("code", _("That code does not match. Check the phone's clock and retry."))
    return render(
        request,
        "board/second_factor_enrol.html",
        {
            "form": form,
            "next": next_url,
            "qr_svg": _qr_svg(device.config_url),
            "secret": _base32(device),
            "required": sf.second_factor_required(user),
        },
    )


def _base32(device) -> str:
    secret = base64.b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@sf.require_recent_second_factor
def second_factor_manage(request: HttpRequest) -> HttpResponse:
    user = request.user
    static = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return render(
        request,
        "board/second_factor_manage.html",
        {
            "totp": sf.totp_device_of(user),
            "recovery_left": static.token_set.count() if static else 0,
            "passkeys": WebAuthnCredential.objects.filter(user=user, confirmed=True),
        },
    )


@require_POST
@sf.require_recent_second_factor
def second_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = sf.second_factor_recovery_codes_create(user=request.user)
    return render(
        request,
        "board/second_factor_codes.html",
        {"codes": codes, "next": reverse("second-factor-manage")},
    )


@require_POST
@sf.require_recent_second_factor
def second_factor_passkey_remove(request: HttpRequest, credential_id: int) -> HttpResponse:
    if sf.second_factor_passkey_remove(user=request.user, credential_id=credential_id):
        messages.success(request, _("The passkey was removed."))
    return redirect("second-factor-manage")


# --- Passkey ceremonies ---------------------------------------------------------------------


class StepUpRequired(webauthn_errors.OTPWebAuthnApiError):
    status_code = 403
    default_code = "step_up_required"
    default_detail = _("Confirm it is you with your second factor before adding a passkey.")


class _RegistrationGate:
    def check_can_register(self):
        # Adding a factor is changing the factors: a recent second factor, unless this is
        # the account's first factor (enrolment).
        user = self.request.user
        if sf.second_factor_enrolled(user) and not sf.recently_verified(self.request):
            raise StepUpRequired()


class BeginRegistration(_RegistrationGate, webauthn_views.BeginCredentialRegistrationView):
    pass


class CompleteRegistration(_RegistrationGate, webauthn_views.CompleteCredentialRegistrationView):
    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        sf._audit(actor=self.request.user, action="auth.second_factor.passkey_added")
        return response


class CompleteAuthentication(webauthn_views.CompleteCredentialAuthenticationView):
    def complete_auth(self, device):
        # Second factor only (passwordless sign-in is off): the password came first.
        sf.second_factor_login(self.request, device)


webauthn_patterns = [
    path(
        "registration/begin/",
        BeginRegistration.as_view(),
        name="credential-registration-begin",
    ),
    path(
        "registration/complete/",
        CompleteRegistration.as_view(),
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        webauthn_views.BeginCredentialAuthenticationView.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        CompleteAuthentication.as_view(),
        name="credential-authentication-complete",
    ),
    *[p for p in webauthn_urls.urlpatterns if p.name == "js-i18n-catalog"],
]

urlpatterns = [
    path("accounts/second-factor/", second_factor_verify, name="second-factor-verify"),
    path("accounts/second-factor/enrol/", second_factor_enrol, name="second-factor-enrol"),
    path("account/second-factor/", second_factor_manage, name="second-factor-manage"),
    path(
        "account/second-factor/recovery-codes/",
        second_factor_recovery_codes,
        name="second-factor-recovery-codes",
    ),
    path(
        "account/second-factor/passkeys/<int:credential_id>/remove/",
        second_factor_passkey_remove,
        name="second-factor-passkey-remove",
    ),
    path("accounts/webauthn/", include((webauthn_patterns, "otp_webauthn"))),
]
