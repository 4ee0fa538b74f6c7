"""Personal API tokens: for DICOMweb clients, which cannot hold a browser session.

A token is ``csl_`` and 43 random URL-safe characters. It is shown once, when
made; the database keeps its SHA-256 only, so a leaked database opens nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from board.models import ApiToken, User

TOKEN_PREFIX = "csl_"  # noqa: S105 (a public marker, not a secret)
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``: the saved row and the token itself (never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        api_token = ApiToken.objects.create(
            user=user,
            name=name.strip()[:100],
            key_hash=hash_token(token),
            prefix=token[:8],
        )
    return api_token, token


def token_revoke(*, token: ApiToken) -> None:
    """Revoke for good; revoking twice keeps the first time."""
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    token.refresh_from_db(fields=["revoked_at"])


def token_revoke_all(*, user: User) -> int:
    """Revoke every live token of ``user`` (a changed password); how many were live."""
    with transaction.atomic():
        return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )


def user_for_bearer(header_value: str | None) -> User | None:
    """The active user an ``Authorization: Bearer <token>`` header speaks for, or None.

    The lookup is by SHA-256 of the presented token, so the database compares
    hashes, never secrets: how long a lookup takes says nothing about how much
    of a real token an attacker has guessed.
    """
    scheme, _, token = (header_value or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    api_token = ApiToken.objects.select_related("user").filter(key_hash=digest).first()
    if api_token is None or not hmac.compare_digest(api_token.key_hash, digest):
        return None
    if api_token.revoked_at is not None or not api_token.user.is_active:
        return None
    now = timezone.now()
    if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
    return api_token.user
