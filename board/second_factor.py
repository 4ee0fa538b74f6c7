"""The second factor: who must have one, when a session has passed it, and step-up.

django-otp keeps the devices (TOTP, single-use recovery codes, passkeys through
django-otp-webauthn) and throttles failed codes with growing delays; this module holds the
policy around them. A session passes its second factor once after the password (the
middleware lets it reach nothing else before) and again, within a few minutes, before it
signs a consensus or changes its own factors (``require_recent_second_factor``). The time of
the last pass is kept in the session, next to django-otp's record of which device passed.

Sign-in events go to the audit trail as ``board.security.security_event`` signals: the audit
trail lives in ``cases``, above this layer, and listens from start-up.
"""

from __future__ import annotations

import functools
import time
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.helpers import WebAuthnHelper as LibraryWebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from guardian.models import UserObjectPermission

from board.models import User
from board.security import security_event
from realtime.consumers import CLOSE_FORBIDDEN

VERIFIED_AT_SESSION_KEY = "second_factor_verified_at"
RECOVERY_CODES = 10

# --- The audit hook -------------------------------------------------------------------------


def _audit(
    *, actor, action: str, account=None, allowed: bool = True, detail: dict | None = None
) -> None:
    # Into the audit trail with the other sign-in events (cases.security_audit listens).
    security_event.send(
        sender=__name__,
        action=action,
        actor=actor,
        account=account or actor,
        allowed=allowed,
        detail=detail or {},
    )


# --- Who must enrol -------------------------------------------------------------------------


def categories_of(user: User) -> set[str]:
    """The SECOND_FACTOR_REQUIRED_FOR categories ``user`` falls in."""
    found = set()
    if user.is_staff or user.is_superuser:
        found.add("staff")
    if user.kind == User.Kind.PATIENT:
        found.add("patients")
        return found
    # A board's data manager (board.models.DataManager) signs in as its members do.
    if user.memberships.exists() or user.data_manager_seats.exists():
        found.add("members")
    # An invited expert holds a per-object grant on the case (cases.services.invite_create).
    if UserObjectPermission.objects.filter(user=user).exists():
        found.add("experts")
    if not found & {"members", "experts"}:
        found.add("referrers")
    return found


def second_factor_required(user: User) -> bool:
    if settings.SECOND_FACTOR_DISABLED:
        return False
    return bool(categories_of(user) & settings.SECOND_FACTOR_REQUIRED_FOR)


def second_factor_enrolled(user: User) -> bool:
    return django_otp.user_has_device(user, confirmed=True)


def second_factor_owed(request: HttpRequest) -> bool:
    """Whether this signed-in session must still pass (or enrol) a second factor."""
    user = request.user
    if settings.SECOND_FACTOR_DISABLED or not user.is_authenticated or user.is_verified():
        return False
    # Enrolled users always use their factor, even where it is only offered.
    return second_factor_enrolled(user) or second_factor_required(user)


# --- A session passes -----------------------------------------------------------------------


def second_factor_login(request: HttpRequest, device) -> None:
    """Record that this session passed ``device`` now (sign-in or step-up)."""
    # A session that gains a privilege gets a new key, as at sign-in (no fixation).
    request.session.cycle_key()
    django_otp.login(request, device)
    request.session[VERIFIED_AT_SESSION_KEY] = int(time.time())
    _audit(
        actor=request.user,
        action="auth.second_factor.passed",
        detail={"device": type(device).__name__},
    )


def recently_verified(request: HttpRequest) -> bool:
    if settings.SECOND_FACTOR_DISABLED:
        return True
    if not request.user.is_authenticated or not request.user.is_verified():
        return False
    verified_at = request.session.get(VERIFIED_AT_SESSION_KEY)
    if not isinstance(verified_at, int):
        return False
    return time.time() - verified_at <= settings.SECOND_FACTOR_STEP_UP_MINUTES * 60


def totp_device_of(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def second_factor_check_code(*, request: HttpRequest, code: str) -> bool:
    """Pass the session if ``code`` is the user's current TOTP code or an unused recovery
    code. Each device throttles its own failures (a wrong code locks it for 1, 2, 4 ...
    seconds, during which even the right code fails); every failure is audited."""
    user = request.user
    code = "".join(code.split())
    device = None
    if code.isdigit() and len(code) == 6:
        totp = totp_device_of(user)
        if totp is not None:
            device = django_otp.verify_token(user, totp.persistent_id, code)
    else:
        for static in StaticDevice.objects.filter(user=user, confirmed=True):
            device = django_otp.verify_token(user, static.persistent_id, code.lower())
            if device is not None:
                break
    if device is None:
        _audit(actor=user, action="auth.second_factor.failed", allowed=False)
        return False
    second_factor_login(request, device)
    return True


# --- Enrolment and reset (services) ---------------------------------------------------------


def second_factor_totp_begin(*, user: User) -> TOTPDevice:
    """The unconfirmed TOTP device whose QR code the enrolment page shows (reused until
    confirmed, so reloading the page keeps the secret the phone may already hold)."""
    with transaction.atomic():
        device = totp_device_of(user, confirmed=False)
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
        return device


def second_factor_totp_confirm(*, request: HttpRequest, device: TOTPDevice, code: str) -> bool:
    """Confirm ``device`` with a code it generated; replace the user's former TOTP device."""
    user = request.user
    if device.user_id != user.pk or device.confirmed:
        return False
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if not device.verify_token("".join(code.split())):
            _audit(actor=user, action="auth.second_factor.enrol_failed", allowed=False)
            return False
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    _audit(actor=user, action="auth.second_factor.totp_enrolled")
    second_factor_login(request, device)
    return True


def second_factor_recovery_codes_create(*, user: User) -> list[str]:
    """New single-use recovery codes (the former ones stop working); shown once."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    _audit(actor=user, action="auth.second_factor.recovery_codes_created")
    return codes


def second_factor_passkey_remove(*, user: User, credential_id: int) -> bool:
    with transaction.atomic():
        deleted, _ = WebAuthnCredential.objects.filter(user=user, pk=credential_id).delete()
    if deleted:
        _audit(actor=user, action="auth.second_factor.passkey_removed")
    return bool(deleted)


def second_factor_reset(*, actor: User, user: User) -> int:
    """An administrator removes every factor of ``user`` (lost phone and codes): at their
    next sign-in they enrol again. Audited with who did it."""
    with transaction.atomic():
        removed = sum(
            model.objects.filter(user=user).delete()[1].get(model._meta.label, 0)
            for model in (TOTPDevice, StaticDevice, WebAuthnCredential)
        )
    _audit(
        actor=actor,
        action="auth.second_factor.reset",
        account=user,
        detail={"user": str(user.uuid), "devices": removed},
    )
    return removed


# --- Step-up ---------------------------------------------------------------------------------


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def verify_url(request: HttpRequest, next_url: str | None) -> str:
    return f"{reverse('second-factor-verify')}?{urlencode({'next': _safe_next(request, next_url)})}"


def require_recent_second_factor(view):
    """The view runs only for a session that passed its second factor in the last
    SECOND_FACTOR_STEP_UP_MINUTES; any other request goes to the verify page and comes back
    (a GET to itself, a POST to the page it was posted from), having done nothing."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if recently_verified(request):
            return view(request, *args, **kwargs)
        if request.method in {"GET", "HEAD"}:
            back = request.get_full_path()
        else:
            back = request.META.get("HTTP_REFERER")
            messages.warning(
                request, _("Confirm it is you with your second factor, then try again.")
            )
        # The verify page sends an account without a factor (where it is only offered) to
        # enrolment: these actions need one whatever SECOND_FACTOR_REQUIRED_FOR says.
        return HttpResponseRedirect(verify_url(request, back))

    return wrapped


# --- The gate ----------------------------------------------------------------------------------

# What a session that owes its second factor may still reach (by URL name).
ALLOWED_WHILE_OWED = frozenset(
    {
        "second-factor-verify",
        "second-factor-enrol",
        "logout",
        "login",
        "healthz",
        "otp_webauthn:credential-authentication-begin",
        "otp_webauthn:credential-authentication-complete",
        "otp_webauthn:js-i18n-catalog",
    }
)


class SecondFactorMiddleware:
    """An account that must pass (or first enrol) a second factor, and has not in this
    session, reaches nothing but the pages that settle it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is not None and match.view_name in ALLOWED_WHILE_OWED:
            return None
        if not second_factor_owed(request):
            return None
        enrolled = second_factor_enrolled(request.user)
        target = "second-factor-verify" if enrolled else "second-factor-enrol"
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse(target)}?{query}")


def socket_allowed(user: User, session) -> bool:
    """A session that owes its second factor opens no socket, as it reaches no page."""
    if settings.SECOND_FACTOR_DISABLED:
        return True
    device_id = session.get(django_otp.DEVICE_ID_SESSION_KEY)
    if device_id:
        device = Device.from_persistent_id(device_id)
        if device is not None and device.user_id == user.pk:
            return True
    return not (second_factor_enrolled(user) or second_factor_required(user))


def socket_refusal(user: User, session) -> int | None:
    """The check every socket runs at connect (realtime.consumers.register_session_check)."""
    return None if socket_allowed(user, session) else CLOSE_FORBIDDEN


# --- Passkeys ---------------------------------------------------------------------------------


def webauthn_rp_id(request: HttpRequest) -> str:
    """WEBAUTHN_RP_ID, else the page's host (validated against ALLOWED_HOSTS by get_host)."""
    if settings.WEBAUTHN_RP_ID:
        return settings.WEBAUTHN_RP_ID
    host = request.get_host()
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host


class WebAuthnHelper(LibraryWebAuthnHelper):
    def get_allowed_origins(self) -> list[str]:
        origins = list(settings.OTP_WEBAUTHN_ALLOWED_ORIGINS)
        if not settings.PRODUCTION:
            # Development and tests serve on any localhost port.
            origins.append(f"{self.request.scheme}://{self.request.get_host()}")
        return origins
