"""Personal API tokens: for DICOMweb clients, which cannot hold a browser session.

A token is ``csl_`` and 43 random URL-safe characters. It is shown once, when
made; the database keeps its SHA-256 only, so a leaked database opens nothing.
It expires (``API_TOKEN_DAYS``), has a scope (read, or read and upload), and ends
with its owner's account: deactivation revokes every token of the user.

Creation, use from an address the token was not last used from, and revocation are
audited. The audit trail lives in ``cases`` (an app above this one), so it registers
an observer here at start-up (``register_token_observer``); this module never imports it.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from board.models import ApiToken, User

TOKEN_PREFIX = "csl_"  # noqa: S105 (a public marker, not a secret)
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)

# (action, token, actor, detail): action is one of "api_token.create", "api_token.revoke",
# "api_token.new_address".
TokenObserver = Callable[[str, ApiToken, User | None, dict], None]
_observers: list[TokenObserver] = []


def register_token_observer(observer: TokenObserver) -> None:
    if observer not in _observers:
        _observers.append(observer)


def _tell(action: str, token: ApiToken, actor: User | None, detail: dict) -> None:
    for observer in _observers:
        observer(action, token, actor, detail)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(
    *, user: User, name: str, scope: str = ApiToken.Scope.IMAGING_READ
) -> tuple[ApiToken, str]:
    """A new token for ``user``: the saved row and the token itself (never stored).

    The account page asks for the password first (board.views.api_token_create); the
    command line (``create_api_token``) is the operator's, who already holds the server.
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        api_token = ApiToken.objects.create(
            user=user,
            name=name.strip()[:100],
            key_hash=hash_token(token),
            prefix=token[:8],
            scope=ApiToken.Scope(scope),
            expires_at=timezone.now() + datetime.timedelta(days=settings.API_TOKEN_DAYS),
        )
        _tell(
            "api_token.create",
            api_token,
            user,
            {"scope": api_token.scope, "expires_at": api_token.expires_at.isoformat()},
        )
    return api_token, token


def token_revoke(*, token: ApiToken, by: User | None = None, reason: str = "owner") -> None:
    """Revoke for good; revoking twice keeps the first time (and audits once)."""
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            _tell("api_token.revoke", token, by, {"reason": reason})
    token.refresh_from_db(fields=["revoked_at"])


def tokens_revoke_all(*, user: User, reason: str) -> int:
    """Revoke every open token of ``user`` (deactivation); how many were open."""
    with transaction.atomic():
        open_tokens = list(
            ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True)
        )
        for api_token in open_tokens:
            token_revoke(token=api_token, by=None, reason=reason)
    return len(open_tokens)


def token_for_bearer(header_value: str | None, *, ip: str | None = None) -> ApiToken | None:
    """The live token an ``Authorization: Bearer <token>`` header presents, or None.

    None for a malformed, unknown, revoked or expired token and for an inactive owner:
    the client cannot tell these apart. The lookup is by SHA-256 of the presented token,
    so the database compares hashes, never secrets: how long a lookup takes says nothing
    about how much of a real token an attacker has guessed.
    """
    scheme, _, token = (header_value or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    api_token = ApiToken.objects.select_related("user").filter(key_hash=digest).first()
    if api_token is None or not hmac.compare_digest(api_token.key_hash, digest):
        return None
    now = timezone.now()
    if api_token.revoked_at is not None or api_token.expires_at <= now:
        return None
    if not api_token.user.is_active:
        return None
    new_address = ip is not None and ip != api_token.last_used_ip
    if (
        new_address
        or api_token.last_used_at is None
        or (now - api_token.last_used_at >= LAST_USED_RESOLUTION)
    ):
        ApiToken.objects.filter(pk=api_token.pk).update(
            last_used_at=now, last_used_ip=ip or api_token.last_used_ip
        )
        if new_address:
            # A token copied to another machine shows up here, in the audit trail.
            _tell(
                "api_token.new_address",
                api_token,
                api_token.user,
                {"ip": ip, "previous_ip": api_token.last_used_ip},
            )
        api_token.last_used_at, api_token.last_used_ip = now, ip or api_token.last_used_ip
    return api_token


def user_for_bearer(header_value: str | None, *, ip: str | None = None) -> User | None:
    """The active user a bearer header speaks for, or None (see ``token_for_bearer``)."""
    api_token = token_for_bearer(header_value, ip=ip)
    return api_token.user if api_token is not None else None
