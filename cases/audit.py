"""The audit trail: who read, wrote or was refused patient data, when and from where.

Views and services call ``audit()``; the client IP comes from the request
through a context variable set by ``AuditContextMiddleware``, so services do
not need the request. Audit details never carry patient identifiers.

The trail is a hash chain: each event stores the SHA-256 of the event before it (by id) and
of its own canonical content, previous hash included. Database triggers refuse UPDATE and
DELETE of events (cases/migrations/0005); whoever gets past them (a superuser dropping the
triggers, a restored old backup spliced in) breaks the chain, and ``audit_chain_verify``
(``manage.py verify_audit``) names the first event where it breaks.
"""

from __future__ import annotations

import contextvars
import datetime
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction

from board.security import client_ip as board_client_ip
from cases.models import AuditChainHead, AuditEvent, Case

# The "previous hash" of the first event.
GENESIS = "0" * 64

_client_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_ip", default=None)


def client_ip(request) -> str | None:
    # One rule for the trail and for sign-in throttling (board.security.client_ip).
    return board_client_ip(request)


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
    event = AuditEvent(
        actor=actor if authenticated else None,
        actor_label=actor.get_username() if authenticated else "anonymous",
        action=action,
        case=case,
        object_type=target._meta.model_name if target is not None else "",
        object_id=str(getattr(target, "uuid", target.pk)) if target is not None else "",
        # As the database will give it back (IPv6 in its compressed form), for the hash.
        ip=AuditEvent._meta.get_field("ip").get_prep_value(_client_ip.get()),
        outcome=AuditEvent.Outcome.ALLOWED if allowed else AuditEvent.Outcome.DENIED,
        detail=_as_stored(detail or {}),
    )
    with transaction.atomic():
        if case is not None and connection.vendor == "postgresql":
            _share_case_key(case)
        head = _lock_chain_head()
        event.previous_sha256 = head.sha256
        event.sha256 = audit_event_sha256(event)
        event.save(force_insert=True)
        head.event_id = event.pk
        head.sha256 = event.sha256
        head.save(update_fields=["event_id", "sha256"])
    return event


def _share_case_key(case: Case) -> None:
    """Take now, before the chain's head, the lock PostgreSQL's check of the event's case
    reference takes at commit (FOR KEY SHARE on the case row).

    A service locks its case (``select_for_update``) and audits last. Were a reader of that
    case to lock the head first, its commit would wait for the service's case lock while
    holding the head the service waits for: a deadlock. Waiting for the case row before the
    head breaks that cycle. (The actor's row needs nothing: nothing locks users FOR UPDATE.)
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM cases_case WHERE id = %s FOR KEY SHARE", [case.pk])


def _as_stored(detail: dict[str, Any]) -> Any:
    """The detail as the database gives it back, so that its hash holds when read: lists for
    tuples, and whole floats as integers (PostgreSQL's jsonb reads 1e20 back as an integer,
    1.0 as 1.0: an integer either way is the same on both databases)."""
    return json.loads(json.dumps(detail), parse_float=_whole_as_int)


def _whole_as_int(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() else number


def _lock_chain_head() -> AuditChainHead:
    """The chain's head row, locked until the caller's transaction ends.

    Why a row of its own and not ``select_for_update`` on the newest event: on PostgreSQL
    (READ COMMITTED) two writers would both lock event N; the second, once the first commits,
    re-reads event N itself - still unchanged, and still the one it picked before the first
    writer's event N+1 existed - and appends to N too: a fork. The head row is *updated* by
    each writer, so the second writer waits for the first and then reads the new head. The
    lock is held to the end of the surrounding transaction, so audit writes are serialized
    across the site for that long; ids are taken under the lock, so id order is chain order.
    On SQLite (transaction_mode IMMEDIATE) the atomic block's write lock already serializes.
    """
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # A fresh (or flushed) database: the head starts at the newest event, if any.
        last = AuditEvent.objects.order_by("-id").first()
        AuditChainHead.objects.get_or_create(
            pk=1,
            defaults={
                "event_id": last.pk if last else None,
                "sha256": last.sha256 if last else GENESIS,
            },
        )
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def audit_event_content(event: AuditEvent) -> bytes:
    """The canonical bytes an event's hash covers: every column but its id and own hash."""
    at = event.at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    content = {
        "previous_sha256": event.previous_sha256,
        "at": at,
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "case": event.case_id,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "ip": event.ip,
        "outcome": str(event.outcome),
        "detail": event.detail,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def audit_event_sha256(event: AuditEvent) -> str:
    return hashlib.sha256(audit_event_content(event)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """Where the audit chain breaks: the event named, and what is wrong there."""

    event_id: int | None
    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken: ChainBreak | None


def audit_chain_verify() -> ChainReport:
    """Walk the audit trail in id order and stop at the first broken link."""
    previous_sha256, previous_id, checked = GENESIS, None, 0
    events = AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    for event in events:
        if event.previous_sha256 != previous_sha256:
            if previous_id is None:
                reason = (
                    f"event #{event.pk} does not start the chain: events before it were "
                    "deleted, or it was written outside the app"
                )
            else:
                reason = (
                    f"event #{event.pk} does not follow event #{previous_id}: an event between "
                    "them was deleted, or events were reordered"
                )
            return ChainReport(checked, ChainBreak(event.pk, reason))
        if audit_event_sha256(event) != event.sha256:
            return ChainReport(
                checked,
                ChainBreak(
                    event.pk,
                    f"event #{event.pk} was altered: its content no longer matches its hash",
                ),
            )
        previous_sha256, previous_id, checked = event.sha256, event.pk, checked + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        if previous_id is None:
            return ChainReport(checked, None)
        return ChainReport(
            checked,
            ChainBreak(previous_id, f"the chain head is missing (last event #{previous_id})"),
        )
    if head.event_id != previous_id or head.sha256 != previous_sha256:
        return ChainReport(
            checked,
            ChainBreak(
                previous_id,
                f"the chain ends at event #{previous_id} but its head records event "
                f"#{head.event_id}: the newest events were deleted",
            ),
        )
    return ChainReport(checked, None)
