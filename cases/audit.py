"""The audit trail: who read, wrote or was refused patient data, when and from where.

Views and services call ``audit()``; the client IP comes from the request
through a context variable set by ``AuditContextMiddleware``, so services do
not need the request. Audit details never carry patient identifiers.
"""

from __future__ import annotations

import contextvars
import ipaddress
from typing import Any

from django.conf import settings
from django.db import models

from cases.models import AuditEvent, Case

_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


def client_ip(request) -> str | None:
    if getattr(settings, "CONSILIUM_BEHIND_PROXY", False):
        # The proxy appends the address it saw; earlier entries are the client's to forge.
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        candidates = [part.strip() for part in forwarded.split(",") if part.strip()]
        if candidates:
            return _valid_ip(candidates[-1])
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _client_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)


def audit(
    *,
    actor,
    action: str,
    case: Case | None = None,
    target: models.Model | None = None,
    allowed: bool = True,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    authenticated = actor is not None and actor.is_authenticated
    return AuditEvent.objects.create(
        actor=actor if authenticated else None,
        actor_label=actor.get_username() if authenticated else "anonymous",
        action=action,
        case=case,
        object_type=target._meta.model_name if target is not None else "",
        object_id=str(getattr(target, "uuid", target.pk)) if target is not None else "",
        ip=_client_ip.get(),
        outcome=AuditEvent.Outcome.ALLOWED if allowed else AuditEvent.Outcome.DENIED,
        detail=detail or {},
    )
