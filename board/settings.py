"""Consilium settings: one module, configured from the environment.

Embedded by default (SQLite under var/, in-memory channel layer, local-memory
cache, files under var/media/); DATABASE_URL and REDIS_URL switch to the
distributed backends; CONSILIUM_PRODUCTION=1 is the production profile.
Every variable is documented in README.md.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import django
from csp.constants import NONCE as CSP_NONCE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from board.env import (
    caches_for,
    channel_layers_for,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    sqlite_database,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CONSILIUM_VAR_DIR") or BASE_DIR / "var").resolve()

PRODUCTION = env_bool("CONSILIUM_PRODUCTION", False)


def _dev_secret(name: str) -> str:
    """A development secret generated once into var/, so it survives restarts."""
    key_file = VAR_DIR / name
    if key_file.exists():
        return key_file.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    if not SECRET_KEY:
        raise ImproperlyConfigured("CONSILIUM_PRODUCTION=1 requires SECRET_KEY")
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 varied characters")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("CONSILIUM_PRODUCTION=1 requires ALLOWED_HOSTS")
    if env_bool("DEBUG", False):
        raise ImproperlyConfigured("DEBUG=1 is refused under CONSILIUM_PRODUCTION=1")
    DEBUG = False
else:
    SECRET_KEY = env_str("SECRET_KEY") or _dev_secret("secret_key")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
    DEBUG = env_bool("DEBUG", True)

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # daphne first: its runserver replaces Django's, so dev serves WebSockets too.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "guardian",
    # The apps in their layers' order: each imports only those above it (tests/test_layers.py).
    "realtime",
    "board",
    "cases",
    "imaging",
    "meetings",
    "decisions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Default deny: every view needs a login unless decorated @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "board.middleware.UserTimezoneMiddleware",
    "cases.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "board.urls"
ASGI_APPLICATION = "board.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "board.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL, base_dir=BASE_DIR, var_dir=VAR_DIR)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": sqlite_database(VAR_DIR / "consilium.sqlite3", var_dir=VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache -------------------------------------------
REDIS_URL = env_str("REDIS_URL") or None
REDIS_PREFIX = env_str("REDIS_PREFIX") or "consilium"
CHANNEL_LAYERS = channel_layers_for(REDIS_URL, prefix=REDIS_PREFIX)
CACHES = caches_for(REDIS_URL, prefix=REDIS_PREFIX)

# --- Accounts -------------------------------------------------------------------
AUTH_USER_MODEL = "board.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    # Per-object grants (an invited expert on one case), never plain membership.
    "guardian.backends.ObjectPermissionBackend",
]
# No guardian "AnonymousUser" row: anonymous visitors are never granted anything.
ANONYMOUS_USER_NAME = None
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=300)

# --- Internationalisation: English source, times stored in UTC ------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE") or "UTC"
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "static")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "media/"  # never served directly: files go through access-checked views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production WhiteNoise serves straight from the source folders.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# --- Email ---------------------------------------------------------------------
# Development prints mail to the console; production sends it over SMTP.
_email_backend = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend"
)
_smtp = {
    "host": env_str("EMAIL_HOST") or "localhost",
    "port": env_int("EMAIL_PORT", 25, minimum=1, maximum=65535),
    "username": env_str("EMAIL_HOST_USER") or "",
    "password": env_str("EMAIL_HOST_PASSWORD") or "",
    "use_tls": env_bool("EMAIL_USE_TLS", False),
}
if django.VERSION >= (6, 1):
    # Django 6.1 replaces the EMAIL_* settings with MAILERS.
    MAILERS = {
        "default": {
            "BACKEND": _email_backend,
            "OPTIONS": _smtp if _email_backend.endswith("smtp.EmailBackend") else {},
        }
    }
else:
    EMAIL_BACKEND = _email_backend
    EMAIL_HOST = _smtp["host"]
    EMAIL_PORT = _smtp["port"]
    EMAIL_HOST_USER = _smtp["username"]
    EMAIL_HOST_PASSWORD = _smtp["password"]
    EMAIL_USE_TLS = _smtp["use_tls"]
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "Consilium <consilium@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address people use to reach Consilium, for links in emails.
BASE_URL = env_str("BASE_URL") or "http://127.0.0.1:8000"

# --- Security -------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# Behind a proxy (production default) trust the proxy's X-Forwarded-Proto and
# the last X-Forwarded-For entry (audit IPs); only safe if the proxy sets both.
CONSILIUM_BEHIND_PROXY = PRODUCTION and env_bool("CONSILIUM_BEHIND_PROXY", True)
if CONSILIUM_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging --------------------------------------------------------------------
LOG_LEVEL = (env_str("LOG_LEVEL") or "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} is not a logging level")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # pydicom's warnings quote tag values, which may identify a patient.
        "pydicom": {"level": "ERROR"},
        # WeasyPrint narrates every layout step at INFO, and quotes refused URLs.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- Cases ------------------------------------------------------------------------
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_MB", 50, minimum=1, maximum=2048) * 1024 * 1024
ATTACHMENTS_PER_REQUEST = env_int("ATTACHMENTS_PER_REQUEST", 10, minimum=1, maximum=100)
# Default length of an external expert's invitation.
INVITE_DAYS = env_int("INVITE_DAYS", 30, minimum=1, maximum=365)

# --- Imaging --------------------------------------------------------------------------
# Key for de-identified UIDs and date shifts: the same original UID maps to the same new
# one across uploads and processes. Changing it breaks that mapping for new uploads.
if PRODUCTION:
    DEID_SECRET = env_str("DEID_SECRET")
    if not DEID_SECRET or len(DEID_SECRET) < 32:
        raise ImproperlyConfigured("CONSILIUM_PRODUCTION=1 requires DEID_SECRET (32+ characters)")
else:
    DEID_SECRET = env_str("DEID_SECRET") or _dev_secret("deid_secret")
DICOM_MAX_FILE_BYTES = env_int("DICOM_MAX_FILE_MB", 512, minimum=1, maximum=8192) * 2**20
# Rows x columns x frames x samples x bytes: refused before any decoding.
DICOM_MAX_DECODED_BYTES = env_int("DICOM_MAX_DECODED_MB", 1024, minimum=1, maximum=16384) * 2**20
DICOM_MAX_FRAMES = env_int("DICOM_MAX_FRAMES", 5000, minimum=1, maximum=100000)
ZIP_MAX_ENTRIES = env_int("ZIP_MAX_ENTRIES", 10000, minimum=1, maximum=1000000)
ZIP_MAX_TOTAL_BYTES = env_int("ZIP_MAX_TOTAL_MB", 4096, minimum=1, maximum=65536) * 2**20
# Decoded frames kept in memory per process, for the pixel API.
FRAME_CACHE_BYTES = env_int("FRAME_CACHE_MB", 256, minimum=0, maximum=65536) * 2**20
STOW_MAX_BYTES = env_int("STOW_MAX_MB", 2048, minimum=1, maximum=65536) * 2**20  # per request
# A CD export sent as a folder is many files; the browser sends them in batches.
DATA_UPLOAD_MAX_NUMBER_FILES = 500

# --- Bounded resources and response headers (issue #13, points 5 to 7) -----------------
# Uploads past this size go to a temporary file, not memory (Django's default is the
# same 2.5 MB; stated here because the memory bounds in README rely on it).
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_KB", 2560, minimum=64) * 1024
# WADO-RS frame lists: repeated numbers are served once, and a list may name at most this
# many frames (and never more than the instance has).
WADO_MAX_FRAMES = env_int("WADO_MAX_FRAMES", 1000, minimum=1, maximum=100000)
# Pages that may open a WebSocket besides the socket's own origin: scheme://host:port each.
# By default the address in BASE_URL and CSRF_TRUSTED_ORIGINS (a proxy's public name).
WEBSOCKET_ALLOWED_ORIGINS = env_list("WEBSOCKET_ALLOWED_ORIGINS") or [
    BASE_URL,
    *CSRF_TRUSTED_ORIGINS,
]
for _origin in WEBSOCKET_ALLOWED_ORIGINS:
    _parts = urlsplit(_origin)
    if _parts.scheme not in ("http", "https") or not _parts.hostname:
        raise ImproperlyConfigured(f"WEBSOCKET_ALLOWED_ORIGINS: {_origin!r} is not scheme://host")
# Authenticated responses that set no Cache-Control of their own are never stored by a
# browser or proxy (board.headers); frames and images revalidate with an ETag instead.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware"),
    "board.headers.NoStoreMiddleware",
)
# Content-Security-Policy (django-csp, on Django 5.2 and 6.x alike): scripts and styles only
# from our own static files, or inline with the per-response nonce ({{ request.csp_nonce }}),
# which is added to the header only on responses whose template used it.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
INSTALLED_APPS.append("csp")


def _socket_origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest.split("/")[0]


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", CSP_NONCE],
        "style-src": ["'self'", CSP_NONCE],
        # 'self' covers ws: of the same origin in current browsers; the socket origins are
        # named too, for browsers that read CSP Level 2 literally.
        "connect-src": ["'self'", *sorted({_socket_origin(o) for o in WEBSOCKET_ALLOWED_ORIGINS})],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
