"""Which pages may open a WebSocket: the same origin as the socket, or one configured.

Channels' AllowedHostsOriginValidator compares the Origin's host with ALLOWED_HOSTS and
ignores the scheme and the port, so any other service on an allowed host (a dev server on
another port, a forgotten admin tool) could open a socket with the user's cookies. Here an
origin is the triple scheme, host, port, as browsers define it (RFC 6454), and it must equal
either the socket's own origin (its Host header, itself in ALLOWED_HOSTS, and ws/wss mapped
to http/https) or one of ``settings.WEBSOCKET_ALLOWED_ORIGINS``. A socket without an Origin
header is refused: browsers always send one, and nothing else needs a socket.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(text: str) -> Origin | None:
    """(scheme, host, port) of an http(s) origin, the port filled in; None if it is none."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:  # a port that is no number, or out of range
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def configured_origins(values: list[str]) -> list[Origin]:
    """Settings' origins, parsed; a value that is no origin fails loudly at start-up."""
    origins = []
    for value in values:
        origin = parse_origin(value)
        if origin is None:
            raise ImproperlyConfigured(f"{value!r} is not an origin (scheme://host[:port])")
        origins.append(origin)
    return origins


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def own_origin(scope) -> Origin | None:
    """The origin of the socket itself, from its Host header, if that host is allowed."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return parse_origin(f"{scheme}://{host}")


def origin_allowed(scope) -> bool:
    sent = _header(scope, b"origin")
    origin = parse_origin(sent) if sent else None
    if origin is None:
        return False
    if origin == own_origin(scope):
        return True
    return origin in configured_origins(settings.WEBSOCKET_ALLOWED_ORIGINS)


class OriginValidator:
    """ASGI middleware: a WebSocket whose Origin is not allowed is closed before it opens."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
