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
    # Second factor (README "Sign-in and the second factor"): TOTP, recovery codes, passkeys.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
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
    # request.user.is_verified(): which second factor, if any, this session passed.
    "django_otp.middleware.OTPMiddleware",
    # Default deny: every view needs a login unless decorated @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # A session that owes a second factor reaches only the pages that settle it.
    "board.second_factor.SecondFactorMiddleware",
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
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
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
# ... and picks up edited files without a restart, debug pages or not (`make run`).
WHITENOISE_AUTOREFRESH = not PRODUCTION

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
    # Any log line quoting a URL (runserver's request lines, a library's) loses its query's
    # values: a DICOMweb search names the patient there (board.logredact).
    "filters": {
        "redact_query": {"()": "board.logredact.RedactQueryFilter"},
        # A refused request (403) is logged in one line, without a traceback (board.errors).
        "routine_refusal": {"()": "board.errors.RoutineRefusalFilter"},
        # The database unreachable: one line with the cause, no traceback (board.errors).
        "database_down": {"()": "board.errors.DatabaseDownFilter"},
        "one_line": {"()": "board.errors.OneLineFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_query"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django.request": {"filters": ["routine_refusal", "database_down"]},
        # The pool's failed (re)connections, with their cause, one line each.
        "psycopg.pool": {"filters": ["one_line"]},
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
# The DICOM listener (imaging.dimse, `manage.py dicom_listener`, and `make run`): loopback
# by default; a PACS on another host needs DICOM_HOST=0.0.0.0 (or the interface's address).
DICOM_HOST = env_str("DICOM_HOST") or "127.0.0.1"
DICOM_PORT = env_int("DICOM_PORT", 11112, minimum=1, maximum=65535)
# Simultaneous associations (each is a thread with its own database connection).
DICOM_MAX_ASSOCIATIONS = env_int("DICOM_MAX_ASSOCIATIONS", 10, minimum=1, maximum=200)
# A CD export sent as a folder is many files; the browser sends them in batches.
DATA_UPLOAD_MAX_NUMBER_FILES = 500

# --- Audit of reads (cases.reads) ----------------------------------------------------
# Frames and images of one series read by one session within this many seconds are one
# audit event (with a count of the reads) rather than one event per frame.
AUDIT_READ_WINDOW_SECONDS = env_int("AUDIT_READ_WINDOW_SECONDS", 300, minimum=10, maximum=86400)

# --- Live meetings ------------------------------------------------------------------
# A presenter whose last socket has been gone this long hands control back to the chair
# (meetings.live.live_return_control); a reconnect within it keeps the viewer.
MEETING_PRESENTER_GRACE_SECONDS = env_int(
    "MEETING_PRESENTER_GRACE_SECONDS", 30, minimum=0, maximum=3600
)

# --- Access that ends (invitations, email changes, API tokens) --------------------------
# How long a new API token lasts; the account page shows each token's expiry.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90, minimum=1, maximum=366)
# How long the link that confirms a new email address stays valid.
EMAIL_CHANGE_LINK_HOURS = env_int("EMAIL_CHANGE_LINK_HOURS", 24, minimum=1, maximum=168)

# --- Second factor (README "Sign-in and the second factor") --------------------------
# Who must enrol: any of "staff", "members" (chairs, coordinators, members of a board),
# "experts" (invited on a case), "referrers" (other clinicians), "patients". Those left out
# are offered a second factor and, once enrolled, must use it.
SECOND_FACTOR_CATEGORIES = frozenset({"staff", "members", "experts", "referrers", "patients"})
SECOND_FACTOR_REQUIRED_FOR = frozenset(
    env_list("SECOND_FACTOR_REQUIRED_FOR", ["staff", "members", "experts"])
)
if not SECOND_FACTOR_REQUIRED_FOR <= SECOND_FACTOR_CATEGORIES:
    raise ImproperlyConfigured(
        "SECOND_FACTOR_REQUIRED_FOR may name only " + ", ".join(sorted(SECOND_FACTOR_CATEGORIES))
    )
# Local development only: nobody is asked for a second factor (enrolled or not).
SECOND_FACTOR_DISABLED = env_bool("SECOND_FACTOR_DISABLED", False)
if PRODUCTION and SECOND_FACTOR_DISABLED:
    raise ImproperlyConfigured("SECOND_FACTOR_DISABLED=1 is refused under CONSILIUM_PRODUCTION=1")
# Signing a consensus, making an API token, asking for a new email address and managing one's
# need a second factor passed within this many minutes.
SECOND_FACTOR_STEP_UP_MINUTES = env_int("SECOND_FACTOR_STEP_UP_MINUTES", 5, minimum=1, maximum=60)
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER") or "Consilium"
# Failed codes lock the device for 1, 2, 4, 8 ... seconds (django-otp's ThrottlingMixin).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# Passkeys are a second factor here, never a password replacement.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_NAME = "Consilium"
# The relying party: WEBAUTHN_RP_ID (a domain; an IP address is not a valid RP ID), else the
# host of the page (already checked against ALLOWED_HOSTS). Origins: WEBAUTHN_ORIGINS, and
# outside production the page's own origin too (board.second_factor.WebAuthnHelper).
WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID") or ""
OTP_WEBAUTHN_RP_ID_CALLABLE = "board.second_factor.webauthn_rp_id"
OTP_WEBAUTHN_ALLOWED_ORIGINS = env_list(
    "WEBAUTHN_ORIGINS",
    [f"https://{host}" for host in ALLOWED_HOSTS if host != "*" and not host.startswith(".")]
    if PRODUCTION
    else ["http://localhost:8000"],
)
OTP_WEBAUTHN_HELPER_CLASS = "board.second_factor.WebAuthnHelper"

# --- Sign-in throttling, lockout and sessions (README "Sign-in and sessions") -----------
# django-axes counts failed password checks per account and per client address; the
# session middleware ends idle sessions and sessions past their absolute lifetime.
INSTALLED_APPS += ["axes"]
# Axes first: a locked-out account or address is refused before any password is hashed.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", *AUTHENTICATION_BACKENDS]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.LoginRequiredMiddleware"),
    "board.sessions.SessionLimitsMiddleware",
)
# Last, so that it sees the lockout flag whatever the view did.
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AXES_FAILURE_LIMIT = env_int("AUTH_FAILURE_LIMIT", 5, minimum=2, maximum=100)
# Either trips the lock: failures against one account from anywhere, or failures from one
# address against any accounts (password spraying, guessed API tokens).
AXES_LOCKOUT_PARAMETERS = "board.security.lockout_parameters"
# The first lockout lasts AUTH_LOCKOUT_MINUTES; each further one within a day doubles it,
# up to a day (board.security.cool_off).
AUTH_LOCKOUT_MINUTES = env_int("AUTH_LOCKOUT_MINUTES", 15, minimum=1, maximum=1440)
AXES_COOLOFF_TIME = "board.security.cool_off"
# Failures while locked out do not restart the clock: repeated lockouts lengthen it instead.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# Each attempt expires by its own cool-off: without this, axes deletes every attempt older
# than the cool-off of whoever signs in next, which would cut a doubled lockout short.
AXES_USE_ATTEMPT_EXPIRATION = True
# Sign-ins are in the audit trail; axes' own log of them would be a second, unguarded copy.
AXES_DISABLE_ACCESS_LOG = True
# One rule for the client address, shared with the audit trail (CONSILIUM_BEHIND_PROXY).
AXES_CLIENT_IP_CALLABLE = "board.security.client_ip"
# The same neutral page whether or not the account exists.
AXES_LOCKOUT_CALLABLE = "board.security.lockout_response"
# The audit trail records every failure; axes' own per-attempt POST copies are not kept.
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False
# Axes narrates every attempt at INFO; failures are in the audit trail already.
LOGGING["loggers"]["axes"] = {"level": "WARNING"}
# Idle timeout and absolute lifetime of a signed-in session, in seconds.
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 30 * 60, minimum=20, maximum=24 * 3600)
SESSION_ABSOLUTE_LIFETIME = env_int(
    "SESSION_ABSOLUTE_LIFETIME", 12 * 3600, minimum=60, maximum=30 * 24 * 3600
)
if SESSION_IDLE_TIMEOUT > SESSION_ABSOLUTE_LIFETIME:
    raise ImproperlyConfigured("SESSION_IDLE_TIMEOUT is longer than SESSION_ABSOLUTE_LIFETIME")
# The cookie never outlives the session's absolute lifetime.
SESSION_COOKIE_AGE = min(SESSION_COOKIE_AGE, SESSION_ABSOLUTE_LIFETIME)
# The idle warning's numbers and addresses on every page (static/js/idle.js).
TEMPLATES[0]["OPTIONS"]["context_processors"].append("board.session_context.idle_config")

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
