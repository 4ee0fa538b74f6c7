"""The environment decides the backends; bad values stop the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from board.env import (
    caches_for,
    channel_layers_for,
    database_from_url,
    env_bool,
    env_int,
    env_list,
)

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 30 + "0123456789abcdefghijklmnopqrst"
GOOD_DEID = "d" * 16 + "0123456789abcdefghij"

PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "db_host": settings.DATABASES["default"].get("HOST", ""),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG,
    "media_root": str(settings.MEDIA_ROOT),
    "storage": settings.STORAGES["default"]["BACKEND"],
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "secret_key_len": len(settings.SECRET_KEY),
}))
"""


def run_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    for name in ("CONSILIUM_PRODUCTION", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DEID_SECRET"):
        clean.pop(name, None)
    clean.update(DJANGO_SETTINGS_MODULE="board.settings", CONSILIUM_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def resolved(tmp_path: Path, **env: str) -> dict:
    result = run_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refused(tmp_path: Path, **env: str) -> str:
    result = run_settings(tmp_path, **env)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    return result.stderr


def test_embedded_defaults(tmp_path):
    got = resolved(tmp_path)
    assert got["engine"] == "board.sqlite"
    assert got["db_name"] == str(tmp_path / "consilium.sqlite3")
    assert got["layer"] == "channels.layers.InMemoryChannelLayer"
    assert got["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert got["media_root"] == str(tmp_path / "media")
    assert got["storage"] == "django.core.files.storage.FileSystemStorage"
    assert got["debug"] is True


def test_dev_secret_key_is_generated_once_into_var(tmp_path):
    resolved(tmp_path)
    key_file = tmp_path / "secret_key"
    first = key_file.read_text()
    assert len(first) >= 50
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    resolved(tmp_path)
    assert key_file.read_text() == first


def test_database_url_switches_to_postgresql(tmp_path):
    got = resolved(tmp_path, DATABASE_URL="postgres://consilium:s3cret@db.internal:6543/boards")
    assert got["engine"] == "django.db.backends.postgresql"
    assert got["db_name"] == "boards"
    assert got["db_host"] == "db.internal"


def test_redis_url_switches_channel_layer_and_cache(tmp_path):
    got = resolved(tmp_path, REDIS_URL="redis://cache.internal:6379/3")
    assert got["layer"] == "channels_redis.core.RedisChannelLayer"
    assert got["layer_hosts"] == [
        {"address": "redis://cache.internal:6379/3", "max_connections": 1000}
    ]
    assert got["cache"] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "scheme 'mysql' is not supported"),
        ({"DATABASE_URL": "postgres://localhost"}, "names no database"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL scheme 'http'"),
        ({"REDIS_URL": "redis://localhost:6379/abc"}, "database index 'abc'"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"SESSION_COOKIE_AGE": "twelve hours"}, "SESSION_COOKIE_AGE='twelve hours'"),
        ({"SESSION_COOKIE_AGE": "10"}, "below the minimum 300"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD'"),
        ({"EMAIL_PORT": "70000"}, "above the maximum 65535"),
    ],
)
def test_bad_values_are_refused(tmp_path, env, message):
    assert message in refused(tmp_path, **env)


def test_production_requires_secret_key(tmp_path):
    err = refused(tmp_path, CONSILIUM_PRODUCTION="1", ALLOWED_HOSTS="consilium.example.org")
    assert "requires SECRET_KEY" in err


def test_production_requires_a_deidentification_secret(tmp_path):
    err = refused(
        tmp_path,
        CONSILIUM_PRODUCTION="1",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="consilium.example.org",
    )
    assert "requires DEID_SECRET" in err


def test_production_refuses_a_weak_secret_key(tmp_path):
    err = refused(
        tmp_path,
        CONSILIUM_PRODUCTION="1",
        SECRET_KEY="short",
        ALLOWED_HOSTS="consilium.example.org",
    )
    assert "at least 50" in err


def test_production_requires_allowed_hosts(tmp_path):
    err = refused(tmp_path, CONSILIUM_PRODUCTION="1", SECRET_KEY=GOOD_KEY)
    assert "requires ALLOWED_HOSTS" in err


def test_production_refuses_debug(tmp_path):
    err = refused(
        tmp_path,
        CONSILIUM_PRODUCTION="1",
        SECRET_KEY=GOOD_KEY,
        DEID_SECRET=GOOD_DEID,
        ALLOWED_HOSTS="consilium.example.org",
        DEBUG="1",
    )
    assert "DEBUG=1 is refused" in err


def test_production_refuses_to_turn_the_second_factor_off(tmp_path):
    err = refused(
        tmp_path,
        CONSILIUM_PRODUCTION="1",
        SECRET_KEY=GOOD_KEY,
        DEID_SECRET=GOOD_DEID,
        ALLOWED_HOSTS="consilium.example.org",
        SECOND_FACTOR_DISABLED="1",
    )
    assert "SECOND_FACTOR_DISABLED=1 is refused" in err


def test_second_factor_categories_are_checked(tmp_path):
    err = refused(tmp_path, SECOND_FACTOR_REQUIRED_FOR="members,everyone")
    assert "SECOND_FACTOR_REQUIRED_FOR may name only" in err


def test_production_profile_is_hardened(tmp_path):
    got = resolved(
        tmp_path,
        CONSILIUM_PRODUCTION="1",
        SECRET_KEY=GOOD_KEY,
        DEID_SECRET=GOOD_DEID,
        ALLOWED_HOSTS="consilium.example.org, board.example.org",
    )
    assert got["debug"] is False
    assert got["session_secure"] is True
    assert got["csrf_secure"] is True
    assert got["hsts"] >= 31_536_000
    assert got["allowed_hosts"] == ["consilium.example.org", "board.example.org"]
    assert not (tmp_path / "secret_key").exists()
    assert not (tmp_path / "deid_secret").exists()


def test_check_deploy_is_clean_under_the_production_profile(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(
        CONSILIUM_PRODUCTION="1",
        SECRET_KEY=GOOD_KEY,
        DEID_SECRET=GOOD_DEID,
        ALLOWED_HOSTS="consilium.example.org",
        CONSILIUM_VAR_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- the helpers themselves ---------------------------------------------------


def test_env_bool_reads_common_spellings():
    assert env_bool("X", False, environ={"X": "Yes"}) is True
    assert env_bool("X", True, environ={"X": "0"}) is False
    assert env_bool("X", True, environ={}) is True
    with pytest.raises(ImproperlyConfigured):
        env_bool("X", False, environ={"X": "2"})


def test_env_int_bounds():
    assert env_int("N", 5, environ={"N": " 42 "}) == 42
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        env_int("N", 5, minimum=10, environ={"N": "3"})


def test_env_list_splits_and_trims():
    assert env_list("L", environ={"L": "a, b,,c "}) == ["a", "b", "c"]
    assert env_list("L", ["x"], environ={}) == ["x"]


def test_database_url_parses_credentials_and_options(tmp_path):
    db = database_from_url(
        "postgresql://u%40x:p%2Fw@h:5433/n?sslmode=require",
        base_dir=tmp_path,
        var_dir=tmp_path,
        environ={},
    )
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "u@x",
        "p/w",
        "h",
        "5433",
        "n",
    )
    assert db["OPTIONS"] == {
        "sslmode": "require",
        "pool": {"min_size": 1, "max_size": 4, "timeout": 30},
    }
    assert db["CONN_MAX_AGE"] == 0  # Django refuses a pool beside persistent connections


def test_database_pool_bounded_from_the_environment(tmp_path):
    environ = {"DATABASE_POOL_SIZE": "12", "DATABASE_POOL_TIMEOUT": "3"}
    db = database_from_url("postgres://h/n", base_dir=tmp_path, var_dir=tmp_path, environ=environ)
    assert db["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 12, "timeout": 3}
    off = database_from_url(
        "postgres://h/n", base_dir=tmp_path, var_dir=tmp_path, environ={"DATABASE_POOL_SIZE": "0"}
    )
    assert "pool" not in off["OPTIONS"]


@pytest.mark.parametrize("size", ["many", "-1", "1000"])
def test_database_pool_size_fails_loudly(tmp_path, size):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOL_SIZE"):
        database_from_url(
            "postgres://h/n",
            base_dir=tmp_path,
            var_dir=tmp_path,
            environ={"DATABASE_POOL_SIZE": size},
        )


def test_sqlite_url_relative_and_absolute(tmp_path):
    rel = database_from_url("sqlite:///var/x.sqlite3", base_dir=tmp_path, var_dir=tmp_path)
    assert rel["NAME"] == str(tmp_path / "var" / "x.sqlite3")
    absolute = database_from_url("sqlite:////srv/x.sqlite3", base_dir=tmp_path, var_dir=tmp_path)
    assert absolute["NAME"] == "/srv/x.sqlite3"


def test_redis_helpers_fall_back_to_embedded():
    assert channel_layers_for(None, prefix="p")["default"]["BACKEND"].endswith(
        "InMemoryChannelLayer"
    )
    assert caches_for("", prefix="p")["default"]["BACKEND"].endswith("LocMemCache")
    assert caches_for("redis://h:1/2", prefix="p")["default"]["KEY_PREFIX"] == "p"
