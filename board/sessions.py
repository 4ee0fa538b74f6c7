"""Signed-in sessions: idle timeout, absolute lifetime, "Your sessions", and ending them.

Each sign-in writes a ``UserSession`` row and two stamps in the session itself (signed in,
last activity). The middleware checks the stamps on every request - they come with the
session Django loads anyway, so the check costs no query - and writes the last activity at
most once a TOUCH interval, so a busy page is not a write per request. Ending a session, for
whatever reason, deletes it from the session store, marks its row and publishes
``AccessRevoked`` to its group, which closes its sockets. Sockets that stay open while their
session goes idle are closed by ``manage.py end_idle_sessions`` (scheduled every minute) and
refused on connect by ``session_refusal``.
"""

from __future__ import annotations

import datetime
import math
import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from board.models import User, UserSession
from board.security import _current_request, client_ip, security_event
from realtime.consumers import CLOSE_REVOKED
from realtime.events import AccessRevoked
from realtime.groups import session_group
from realtime.publish import publish_on_commit

SIGNED_IN_AT = "_consilium_signed_in_at"
LAST_ACTIVITY = "_consilium_last_activity"
USER_AGENT_LENGTH = 200


def touch_interval() -> float:
    """How stale the stored last activity may be: a minute, less for very short timeouts."""
    return max(1.0, min(60.0, settings.SESSION_IDLE_TIMEOUT / 10))


def limits_exceeded(session, now: float) -> str | None:
    """``idle`` or ``lifetime`` when the session is past a limit, else None."""
    signed_in = session.get(SIGNED_IN_AT)
    last = session.get(LAST_ACTIVITY)
    if signed_in is None or last is None:
        return None
    if now - signed_in >= settings.SESSION_ABSOLUTE_LIFETIME:
        return UserSession.EndReason.LIFETIME
    if now - last >= settings.SESSION_IDLE_TIMEOUT:
        return UserSession.EndReason.IDLE
    return None


def idle_remaining(session, now: float | None = None) -> int:
    """Whole seconds until the session ends by either limit, rounded up: 0 means ended."""
    now = time.time() if now is None else now
    signed_in = session.get(SIGNED_IN_AT, now)
    last = session.get(LAST_ACTIVITY, now)
    return max(
        0,
        math.ceil(
            min(
                last + settings.SESSION_IDLE_TIMEOUT - now,
                signed_in + settings.SESSION_ABSOLUTE_LIFETIME - now,
            )
        ),
    )


def session_is_current(session) -> bool:
    return limits_exceeded(session, time.time()) is None


def session_refusal(user: User, session) -> int | None:
    """The check every socket runs at connect: the session of a sign-in past its limits has
    ended (4401), even before the sweep closes its sockets."""
    return None if session_is_current(session) else CLOSE_REVOKED


def _store(session_key: str):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


# --- services ---------------------------------------------------------------------------------


def session_start(*, request, user: User) -> UserSession:
    """Called on sign-in (user_logged_in): stamp the session and record it."""
    now = timezone.now()
    request.session[SIGNED_IN_AT] = request.session[LAST_ACTIVITY] = now.timestamp()
    if request.session.session_key is None:
        request.session.save()
    with transaction.atomic():
        existing = UserSession.objects.filter(
            session_key=request.session.session_key, ended_at__isnull=True
        ).first()
        if existing is not None and existing.user_id == user.pk:
            return existing
        if existing is not None:
            existing.ended_at, existing.end_reason = now, UserSession.EndReason.LOGOUT
            existing.session_key = ""
            existing.save(update_fields=["ended_at", "end_reason", "session_key"])
        return UserSession.objects.create(
            user=user,
            session_key=request.session.session_key,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH],
            ip=client_ip(request),
            signed_in_at=now,
            last_activity_at=now,
        )


def session_touch(*, session, now: datetime.datetime | None = None) -> None:
    """Record activity now, in the session and in its row."""
    now = now or timezone.now()
    session[LAST_ACTIVITY] = now.timestamp()
    if session.session_key:
        UserSession.objects.filter(session_key=session.session_key, ended_at__isnull=True).update(
            last_activity_at=now
        )


def session_end(*, user_session: UserSession, reason: str, actor: User | None = None) -> bool:
    """End one session: gone from the store, its sockets closed, the ending audited.

    False when it had already ended (two tabs ending it at once end it once).
    """
    key = user_session.session_key
    with transaction.atomic():
        ended = UserSession.objects.filter(pk=user_session.pk, ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason=reason, session_key=""
        )
        if not ended:
            return False
        if key:
            _store(key).delete()
            publish_on_commit(session_group(key), AccessRevoked(reason=reason))
        security_event.send(
            sender=__name__,
            action="auth.session.ended",
            actor=actor or user_session.user,
            account=user_session.user,
            allowed=True,
            detail={"reason": reason, "session": str(user_session.uuid)},
        )
    user_session.refresh_from_db()
    return True


def sessions_end_others(
    *,
    user: User,
    keep_key: str | None = None,
    keep_pk: int | None = None,
    reason: str,
    actor: User | None = None,
) -> int:
    """End every open session of ``user`` but the one kept (by key or row); how many."""
    others = UserSession.objects.filter(user=user, ended_at__isnull=True)
    if keep_key:
        others = others.exclude(session_key=keep_key)
    if keep_pk:
        others = others.exclude(pk=keep_pk)
    return sum(
        session_end(user_session=s, reason=reason, actor=actor) for s in others.order_by("pk")
    )


def sessions_end_expired(*, now: datetime.datetime | None = None) -> int:
    """End the open sessions past their idle timeout or absolute lifetime (the command)."""
    now = now or timezone.now()
    idle_since = now - datetime.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT)
    born_before = now - datetime.timedelta(seconds=settings.SESSION_ABSOLUTE_LIFETIME)
    expired = UserSession.objects.filter(ended_at__isnull=True).filter(
        Q(last_activity_at__lte=idle_since) | Q(signed_in_at__lte=born_before)
    )
    count = 0
    for user_session in expired.select_related("user").order_by("pk"):
        reason = (
            UserSession.EndReason.LIFETIME
            if user_session.signed_in_at <= born_before
            else UserSession.EndReason.IDLE
        )
        count += session_end(user_session=user_session, reason=reason)
    return count


# --- the middleware -----------------------------------------------------------------------------


class SessionLimitsMiddleware:
    """Ends a session past its idle timeout or absolute lifetime, and records activity.

    Sits before LoginRequiredMiddleware: a request whose session just ended is anonymous and
    is sent to the login page like any other.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.status_path = reverse("session-status")

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            key_before = self._check(request)
            response = self.get_response(request)
            self._follow_new_key(request, key_before)
            return response
        finally:
            _current_request.reset(token)

    def _check(self, request) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        session = request.session
        now = time.time()
        if session.get(SIGNED_IN_AT) is None:
            # Signed in before this middleware existed: its clock starts now.
            session_start(request=request, user=user)
            return session.session_key
        reason = limits_exceeded(session, now)
        if reason is not None:
            self._end(request, reason)
            return None
        # The idle warning's "how long is left?" asks without counting as activity.
        if request.path != self.status_path and now - session[LAST_ACTIVITY] >= touch_interval():
            session_touch(session=session)
        return session.session_key

    def _end(self, request, reason: str) -> None:
        key = request.session.session_key
        user_session = UserSession.objects.filter(session_key=key, ended_at__isnull=True).first()
        if user_session is not None:
            session_end(user_session=user_session, reason=reason)
        request.session.flush()
        request.user = AnonymousUser()

    def _follow_new_key(self, request, key_before: str | None) -> None:
        # Django gives a session a new key when the password changes (update_session_auth_hash)
        # and at sign-in; the row follows the key so "this session" and ending it still work.
        session = getattr(request, "session", None)
        key_after = session.session_key if session is not None else None
        if not key_before or not key_after or key_after == key_before:
            return
        before = UserSession.objects.filter(session_key=key_before, ended_at__isnull=True)
        if UserSession.objects.filter(session_key=key_after, ended_at__isnull=True).exists():
            # Someone else signed in on this browser: the earlier session is over.
            before.update(
                ended_at=timezone.now(), end_reason=UserSession.EndReason.LOGOUT, session_key=""
            )
        else:
            before.update(session_key=key_after)
