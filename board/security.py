"""Sign-in protection: the client address rule, lockout cool-off and page, security events.

django-axes counts failed password checks (``django.contrib.auth.authenticate`` with the
request) per account and per client address and refuses both once AXES_FAILURE_LIMIT is
reached. This module gives it three things it asks for: the client address (one rule, shared
with the audit trail, so an address in the trail is the one that was locked), a cool-off that
doubles with each lockout within a day, and a lockout page that reads the same whether or not
the account exists. Security events (sign-in, failure, lockout, unlock, session ended,
password changed) are sent on ``security_event``; the audit trail (cases, a layer above)
listens, and registers the reader of a user's own recent events for the account page.
"""

from __future__ import annotations

import contextvars
import datetime
import hashlib
import ipaddress
import math
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.db.models import Q
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

# action (str), actor (User | None), account (User | None), allowed (bool), detail (dict).
security_event = Signal()

# Lockouts within this window make the next cool-off longer.
LOCKOUT_MEMORY = datetime.timedelta(days=1)
MAX_COOL_OFF = datetime.timedelta(days=1)

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "current_request", default=None
)


def client_ip(request) -> str | None:
    """The client's address: behind the proxy, the last X-Forwarded-For entry only."""
    if getattr(settings, "CONSILIUM_BEHIND_PROXY", False):
        # The proxy appends the address it saw; earlier entries are the client's to forge.
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        candidates = [part.strip() for part in forwarded.split(",") if part.strip()]
        if candidates:
            return _valid_ip(candidates[-1])
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def current_request() -> HttpRequest | None:
    """The request being served in this context (set by board.sessions' middleware)."""
    return _current_request.get()


# --- Lockout ---------------------------------------------------------------------------------


def _subjects(username: str | None, ip: str | None) -> list[str]:
    # Hashed: a cache key must not carry an attempted user name (it may be a mistyped password).
    found = []
    if username:
        found.append("u." + hashlib.sha256(username.casefold().encode()).hexdigest()[:32])
    if ip:
        found.append("ip." + ip)
    return found


def _lockouts(subjects: Iterable[str]) -> int:
    return max((cache.get(f"axes-lockouts:{s}", 0) for s in subjects), default=0)


def _request_subjects(request: HttpRequest | None) -> list[str]:
    if request is None:
        return []
    credentials = getattr(request, "axes_credentials", None) or {}
    username = credentials.get("username") or request.POST.get("username")
    return _subjects(username, getattr(request, "axes_ip_address", None) or client_ip(request))


def cool_off(request: HttpRequest | None = None) -> datetime.timedelta:
    """AUTH_LOCKOUT_MINUTES for the first lockout, doubled for each further one within a day.

    Axes also uses this as the window in which failures count, so a longer cool-off keeps
    older failures in view: an attacker who comes back finds the lock quicker to trip.
    """
    return _cool_off(_request_subjects(request))


def cool_off_for(*, username: str | None, ip: str | None) -> datetime.timedelta:
    """The cool-off now in force for an account name and an address."""
    return _cool_off(_subjects(username, ip))


def _cool_off(subjects: list[str]) -> datetime.timedelta:
    base = datetime.timedelta(minutes=settings.AUTH_LOCKOUT_MINUTES)
    return min(base * 2 ** max(_lockouts(subjects) - 1, 0), MAX_COOL_OFF)


def lockout_parameters(request_or_attempt, credentials: dict | None = None) -> list[str]:
    """Per account and per address; an attempt without an account name (a refused API token)
    counts against its address only, or every such attempt would share one "account"."""
    if credentials is not None and not credentials.get("username"):
        return ["ip_address"]
    return ["username", "ip_address"]


def lockout_started(request: HttpRequest, *, username: str | None, ip: str | None) -> bool:
    """Note a lockout; True when it is a new one, not a refused try during a lockout.

    Axes sends ``user_locked_out`` for both; only when a failure trips the lock has its
    handler just counted the failures (during a lockout it returns before counting).
    """
    if getattr(request, "axes_failures_since_start", None) is None:
        return False
    memory = int(LOCKOUT_MEMORY.total_seconds())
    subjects = _subjects(username, ip)
    for subject in subjects:
        cache.set(f"axes-lockouts:{subject}", cache.get(f"axes-lockouts:{subject}", 0) + 1, memory)
    _keep_attempts_for(_cool_off(subjects), username=username, ip=ip)
    return True


def _keep_attempts_for(period: datetime.timedelta, *, username: str | None, ip: str | None):
    """Keep the attempts behind a lockout as long as it lasts: axes set their expiry with
    the cool-off in force before this lockout lengthened it, and tidies them away by it."""
    from axes.models import AccessAttempt, AccessAttemptExpiration

    matching = Q(ip_address=ip) if ip else Q(pk__in=[])
    if username:
        matching |= Q(username=username)
    AccessAttemptExpiration.objects.filter(
        access_attempt__in=AccessAttempt.objects.filter(matching),
        expires_at__lt=timezone.now() + period,
    ).update(expires_at=timezone.now() + period)


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """The page for a locked-out sign-in: no user name, nothing that differs between an
    account that exists and one that does not."""
    minutes = math.ceil(cool_off(request).total_seconds() / 60)
    if getattr(request, "consilium_failure_kind", None) == "token":
        response = JsonResponse({"error": "Too many failed attempts; try again later."}, status=429)
        response["Retry-After"] = str(minutes * 60)
        return response
    response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


# --- Password checks outside the sign-in form ---------------------------------------------


def password_confirm(*, user, password: str) -> bool:
    """Whether ``password`` is ``user``'s, checked through ``authenticate`` so that a wrong
    password counts towards the lockout and a locked-out account is refused, as at sign-in.

    Outside a request (a management command, a test calling a service) there is nobody to
    throttle by address, so the password is compared directly.
    """
    request = current_request()
    if request is None:
        return user.check_password(password)
    checked = authenticate(request, username=user.get_username(), password=password)
    return checked is not None and checked.pk == user.pk


def bearer_refused(request: HttpRequest) -> bool:
    """Whether the client's address is locked out (by failed tokens or failed passwords)."""
    from axes.handlers.proxy import AxesProxyHandler

    AxesProxyHandler.update_request(request)
    return AxesProxyHandler.is_locked(request, {"username": None})


def bearer_failed(request: HttpRequest) -> None:
    """Count a refused bearer token against the client's address, as a failed sign-in."""
    from django.contrib.auth.signals import user_login_failed

    request.consilium_failure_kind = "token"
    user_login_failed.send(
        sender=__name__, credentials={"username": None, "token": "********"}, request=request
    )


# --- The account page's "recent security events" --------------------------------------------

_event_reader: Callable[[Any, int], list] | None = None


def register_security_event_reader(reader: Callable[[Any, int], list]) -> None:
    """The audit trail (cases) registers how to read a user's own recent security events."""
    global _event_reader
    _event_reader = reader


def recent_security_events(user, limit: int = 20) -> list:
    return _event_reader(user, limit) if _event_reader is not None else []
