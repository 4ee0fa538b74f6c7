"""Typed readers for configuration from the environment.

Every reader fails loudly (``ImproperlyConfigured`` naming the variable) on a
value it cannot use, so a typo in a deployment stops the process at start-up
instead of silently falling back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None, *, environ: Mapping[str, str] = os.environ):
    value = environ.get(name)
    if value is None:
        return default
    return value.strip()


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] = os.environ,
) -> int:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum {maximum}")
    return value


def env_list(
    name: str, default: list[str] | None = None, *, environ: Mapping[str, str] = os.environ
) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_pool(environ: Mapping[str, str] = os.environ) -> dict[str, Any] | None:
    """The PostgreSQL connection pool's bounds, or None when DATABASE_POOL_SIZE=0.

    Each server process holds at most DATABASE_POOL_SIZE connections, whatever its threads
    and sockets do: under ASGI every request runs in a thread of its own and holds a
    connection until it ends, so the others queue for one, up to DATABASE_POOL_TIMEOUT
    seconds (then 503). processes x DATABASE_POOL_SIZE must stay below PostgreSQL's
    max_connections.
    Without a pool every request opened and closed its own connection.
    """
    size = env_int("DATABASE_POOL_SIZE", 4, minimum=0, maximum=200, environ=environ)
    if size == 0:
        return None
    timeout = env_int("DATABASE_POOL_TIMEOUT", 30, minimum=1, maximum=300, environ=environ)
    # min_size 1: an idle process keeps one connection, not max_size of them.
    return {"min_size": 1, "max_size": size, "timeout": timeout}


def database_from_url(
    url: str, *, base_dir: Path, var_dir: Path, environ: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """Translate ``DATABASE_URL`` into a Django ``DATABASES['default']`` entry.

    Supported: ``postgres://`` / ``postgresql://`` (psycopg 3, pooled: database_pool) and
    ``sqlite:///relative/or/absolute/path``.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured(f"DATABASE_URL {_redact(url)!r} names no database")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"DATABASE_URL {_redact(url)!r} has a bad port") from None
        options: dict[str, Any] = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        pool = database_pool(environ)
        if pool is not None:
            options["pool"] = pool
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            # 0 with the pool too: Django hands the connection back to the pool at the end
            # of each request (a persistent connection per thread leaked until PostgreSQL
            # refused everyone).
            "CONN_MAX_AGE": 0,
            # With the pool: a connection is checked when borrowed, so the first request
            # after a database restart gets a fresh one instead of a dead one.
            "CONN_HEALTH_CHECKS": pool is not None,
            "OPTIONS": options,
        }
    if scheme == "sqlite":
        raw_path = unquote(parts.path)
        if not raw_path or raw_path == "/":
            raise ImproperlyConfigured("DATABASE_URL sqlite:// needs a file path")
        # sqlite:///var/db.sqlite3 is relative to the project; sqlite:////srv/db is absolute.
        path = Path(raw_path[1:])
        if not path.is_absolute():
            path = base_dir / path
        return sqlite_database(path, var_dir=var_dir)
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {scheme!r} is not supported; use postgres:// or sqlite:///"
    )


def sqlite_database(path: Path, *, var_dir: Path) -> dict[str, Any]:
    return {
        "ENGINE": "board.sqlite",  # Django's, with a flush that lifts triggers
        "NAME": str(path),
        "OPTIONS": {
            # IMMEDIATE avoids "database is locked" when a read transaction
            # later upgrades to a write while Daphne serves other requests.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # The test database is a file so a Daphne subprocess (browser tests)
        # sees the same data as the test process; one per process, so two
        # test runs on one checkout do not trample each other.
        "TEST": {"NAME": str(var_dir / f"test-db-{os.getpid()}.sqlite3")},
    }


def redis_url_checked(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"REDIS_URL scheme {parts.scheme!r} is not supported; use redis:// or rediss://"
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise ImproperlyConfigured("REDIS_URL names no host")
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise ImproperlyConfigured(f"REDIS_URL database index {db!r} is not a number")
    return url


def channel_layers_for(redis_url: str | None, *, prefix: str) -> dict[str, Any]:
    if not redis_url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's pool refuses a 101st connection by default; a process with a few
                # hundred sockets opens (and, when a meeting ends, closes) that many at once.
                "hosts": [{"address": redis_url_checked(redis_url), "max_connections": 1000}],
                "prefix": prefix,
            },
        }
    }


def caches_for(redis_url: str | None, *, prefix: str) -> dict[str, Any]:
    if not redis_url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url_checked(redis_url),
            "KEY_PREFIX": prefix,
        }
    }


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(parts.password, "***")
    return url
