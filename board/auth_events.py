"""Sign-in, sign-out, failures, lockouts, unlocks and password changes, as security events.

Receivers of Django's and django-axes' signals. Each sends ``security_event`` (the audit trail
records it) and keeps the session rows in step. A failed attempt names the account it was
against only when that account exists, and never the name that was typed: a mistyped
password in the user-name field must not end up in the trail.
"""

from __future__ import annotations

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone

from board.models import User, UserSession
from board.security import (
    cool_off,
    cool_off_for,
    current_request,
    lockout_started,
    security_event,
)
from board.sessions import session_start, sessions_end_others
from board.tokens import tokens_revoke_all


def _account(username: str | None) -> User | None:
    if not username:
        return None
    return User.objects.filter(**{User.USERNAME_FIELD: username}).first()


def _signed_in_user(request):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


@receiver(user_logged_in)
def record_sign_in(sender, request, user, **kwargs) -> None:
    session_start(request=request, user=user)
    security_event.send(
        sender=__name__, action="auth.login", actor=user, account=user, allowed=True, detail={}
    )


@receiver(user_logged_out)
def record_sign_out(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    key = session.session_key if session is not None else None
    if key:
        # board.signals already closes this session's sockets.
        UserSession.objects.filter(session_key=key, ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason=UserSession.EndReason.LOGOUT, session_key=""
        )
    if user is not None:
        security_event.send(
            sender=__name__,
            action="auth.logout",
            actor=user,
            account=user,
            allowed=True,
            detail={},
        )


@receiver(user_login_failed)
def record_failure(sender, credentials, request=None, **kwargs) -> None:
    if request is None:
        return
    signed_in = _signed_in_user(request)
    if getattr(request, "consilium_failure_kind", None) == "token":
        step, account = "token", None
    elif signed_in is not None and credentials.get("username") == signed_in.get_username():
        # A password asked again of someone signed in (signing a report).
        step, account = "password_reentry", signed_in
    else:
        step, account = "password", _account(credentials.get("username"))
    detail = {"step": step, "locked": bool(getattr(request, "axes_locked_out", False))}
    if account is None and step == "password":
        detail["account"] = "unknown"
    security_event.send(
        sender=__name__,
        action="auth.login.failed",
        actor=signed_in,
        account=account,
        allowed=False,
        detail=detail,
    )


@receiver(user_locked_out)
def record_lockout(sender, request, username=None, ip_address=None, **kwargs) -> None:
    if not lockout_started(request, username=username, ip=ip_address):
        return
    account = _account(username)
    detail = {"minutes": int(cool_off(request).total_seconds() // 60)}
    if account is None:
        detail["account"] = "unknown" if username else "none"
    security_event.send(
        sender=__name__,
        action="auth.lockout",
        actor=_signed_in_user(request),
        account=account,
        allowed=False,
        detail=detail,
    )


@receiver(post_delete, sender=AccessAttempt)
def record_unlock(sender, instance: AccessAttempt, **kwargs) -> None:
    # Axes deletes attempts when they expire, after a successful sign-in, and when an
    # administrator resets them (admin, `axes_reset*` commands): only the last lifts a lock.
    if instance.failures_since_start < settings.AXES_FAILURE_LIMIT:
        return
    if instance.attempt_time <= timezone.now() - cool_off_for(
        username=instance.username, ip=instance.ip_address
    ):
        return
    request = current_request()
    security_event.send(
        sender=__name__,
        action="auth.unlock",
        actor=_signed_in_user(request) if request is not None else None,
        account=_account(instance.username),
        allowed=True,
        detail={},
    )


# --- a changed password ends the other sessions and revokes API tokens ----------------------


@receiver(pre_save, sender=User)
def note_password_change(sender, instance: User, **kwargs) -> None:
    # set_password() leaves the clear text in _password until the save; a new password set
    # any other way (admin form, reset, shell) goes through set_password too.
    instance._consilium_password_changed = (
        instance.pk is not None and getattr(instance, "_password", None) is not None
    )


@receiver(post_save, sender=User)
def end_sessions_after_password_change(sender, instance: User, created, **kwargs) -> None:
    if created or not getattr(instance, "_consilium_password_changed", False):
        return
    instance._consilium_password_changed = False
    request = current_request()
    by = _signed_in_user(request) if request is not None else None
    # Whoever changes their own password stays signed in here (Django re-keys this session
    # with update_session_auth_hash); every other session of the account ends.
    keep = None
    if by is not None and by.pk == instance.pk:
        # By row, not by key: the key changes before this runs when the change is inside a
        # larger transaction.
        keep = (
            UserSession.objects.filter(
                session_key=request.session.session_key, ended_at__isnull=True
            )
            .values_list("pk", flat=True)
            .first()
        )

    def end() -> None:
        ended = sessions_end_others(
            user=instance, keep_pk=keep, reason=UserSession.EndReason.PASSWORD, actor=by
        )
        revoked = tokens_revoke_all(user=instance, reason="password_changed")
        security_event.send(
            sender=__name__,
            action="auth.password.changed",
            actor=by,
            account=instance,
            allowed=True,
            detail={
                "by": "self" if by == instance else ("administrator" if by else "system"),
                "sessions_ended": ended,
                "tokens_revoked": revoked,
            },
        )

    transaction.on_commit(end, robust=False)
