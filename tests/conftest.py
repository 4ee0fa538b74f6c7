from __future__ import annotations

import os

import pytest
from django.contrib.auth.hashers import make_password

from board.models import User
from tests.cast import PASSWORD, Cast, make_cast
from tests.helpers import signed_in, skip_or_fail


@pytest.fixture
def cast(db) -> Cast:
    return make_cast()


@pytest.fixture
def admin_client(db, admin_user):
    """pytest-django's admin client, past the second factor the admin site requires (and
    signed in as tests/helpers.signed_in signs in: no auth.login audit event to count)."""
    return signed_in(admin_user)


@pytest.fixture
def fast_passwords(settings, cast) -> None:
    """Tests that check passwords many times (signing, sign-in): the production hasher is
    slow on purpose, so the cast gets a cheap hash of the same password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    hashed = make_password(PASSWORD)
    User.objects.update(password=hashed)
    for user in vars(cast).values():
        if isinstance(user, User):
            user.password = hashed


@pytest.fixture
def redis_url() -> str:
    """The Redis to test against: REDIS_URL, reachable, or skip (fail under REQUIRE_SERVICES)."""
    url = os.environ.get("REDIS_URL")
    if not url:
        skip_or_fail("REQUIRE_SERVICES", "REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        skip_or_fail("REQUIRE_SERVICES", f"Redis at REDIS_URL is unreachable: {exc}")
    return url


@pytest.fixture(autouse=True)
def fresh_sign_in_counters():
    """Lockout counters live in the cache (board.security): one test's failed sign-ins must
    not lock the next test out. (Axes' own attempts live in the database, rolled back.)"""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded files go to a fresh folder per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty cache: audit read windows (cases.reads) live there."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
