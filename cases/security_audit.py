"""Security events of board (sign-in, failures, lockouts, sessions, passwords) in the audit
trail, and the reader of a user's own recent ones for their account page.

board sits below cases and cannot import the trail; it sends ``board.security.security_event``
and this module, connected at start-up, writes each one with ``audit()``.
"""

from __future__ import annotations

from django.db.models import Q

from board.security import register_security_event_reader, security_event
from cases.audit import audit
from cases.models import AuditEvent

SECURITY_ACTIONS = "auth."


def record_security_event(sender, *, action, actor, account, allowed, detail, **kwargs) -> None:
    audit(actor=actor, action=action, target=account, allowed=allowed, detail=detail)


def recent_security_events(user, limit: int) -> list[AuditEvent]:
    """The user's own: what they did, and what was done to their account (failed sign-ins
    against it, a lockout, a session ended by an administrator)."""
    mine = Q(actor=user) | Q(object_type=user._meta.model_name, object_id=str(user.uuid))
    return list(AuditEvent.objects.filter(mine, action__startswith=SECURITY_ACTIONS)[:limit])


def connect() -> None:
    security_event.connect(record_security_event, dispatch_uid="cases.security_audit")
    register_security_event_reader(recent_security_events)
