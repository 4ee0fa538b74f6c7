"""Reads of frames and images, audited once per series, reader and window.

A viewer scrolling a 300-slice series asks for 300 frames in a few seconds; an event per
frame would bury the trail (and serialize every frame behind the chain's lock). So the
first frame, rendered image, thumbnail or key image of a series that one reader (their
session; a bearer token's user) takes opens a *window* of ``AUDIT_READ_WINDOW_SECONDS``:
one audit event (action ``imaging.read``, the series as its object), written then, and a
companion row (``AuditReadWindow``) that counts the reads. Audit events are write-once
(cases 0005), which is why the count lives in that mutable row and not in the event.

Inside the window a read costs one cache look-up and one cache increment, no database
write. The row is brought up to date every ``FLUSH_EVERY`` reads and when the reader's
next window on that series opens (the old one is closed then), so its count is exact once
the reader comes back, and otherwise short by fewer than ``FLUSH_EVERY`` reads if the
cache forgets the window (a restart, or no return within two windows).

The trade-off: with the embedded local-memory cache each Daphne process keeps its own
windows, so N processes may open up to N windows for one reader; with Redis (REDIS_URL)
they share them.
"""

from __future__ import annotations

import contextlib
import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cases.audit import audit
from cases.models import AuditReadWindow, Case

FLUSH_EVERY = 32
# How long a window's opening may take before another request may try again.
OPENING_SECONDS = 10
ACTION = "imaging.read"


def window_seconds() -> int:
    return settings.AUDIT_READ_WINDOW_SECONDS


def reader_key(request) -> str:
    """Whose window: the browser session, or (a program with a bearer token) the user."""
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if key and not getattr(request, "bearer", False):
        return f"s:{key}"
    return f"u:{request.user.pk}"


def audit_series_read(*, request, case: Case, series, what: str, frames: int = 1) -> None:
    """Record that ``request``'s reader took ``frames`` frames or images (``what``) of
    ``series``."""
    key = f"audit-read:{reader_key(request)}:{series.uuid.hex}"
    count_key = f"{key}:n"
    now = timezone.now()
    state = cache.get(key)  # (window row id, closes at as a timestamp) or None
    if state is not None and now.timestamp() < state[1]:
        try:
            reads = cache.incr(count_key, frames)
        except ValueError:  # the count was evicted alone: count on from the row's
            reads = None
        if reads is not None and reads // FLUSH_EVERY == (reads - frames) // FLUSH_EVERY:
            return
        _flush(state[0], reads, now, frames=frames)
        if reads is None:
            row = AuditReadWindow.objects.filter(pk=state[0]).first()
            if row is not None:
                cache.set(count_key, row.reads, 2 * window_seconds())
        return
    # A viewer asks for its first frames over several connections at once: one request
    # opens the window, the others that arrive meanwhile count themselves into it.
    opening = f"{key}:opening"
    if not cache.add(opening, True, OPENING_SECONDS):
        # (Without a count to add to, this one read is lost to the count, not to the trail.)
        with contextlib.suppress(ValueError):
            cache.incr(count_key, frames)
        return
    try:
        previous = cache.get(count_key)
        cache.set(count_key, 0, 2 * window_seconds())
        if state is not None:
            # The reader's previous window on this series is over: record its final count.
            _flush(state[0], previous, now, final=True)
        _open(request=request, case=case, series=series, what=what, frames=frames, key=key, now=now)
    finally:
        cache.delete(opening)


def _open(
    *, request, case: Case, series, what: str, frames: int, key: str, now: datetime.datetime
) -> None:
    seconds = window_seconds()
    closes_at = now + datetime.timedelta(seconds=seconds)
    with transaction.atomic():
        event = audit(
            actor=request.user,
            action=ACTION,
            case=case,
            target=series,
            detail={"first": what, "window_seconds": seconds},
        )
        window = AuditReadWindow.objects.create(
            event=event, reads=frames, last_read_at=now, closes_at=closes_at
        )
    # Kept for two windows, so that the next window's opening still finds this one to close.
    cache.set(key, (window.pk, closes_at.timestamp()), 2 * seconds)
    # Added, not set: reads that joined while the window opened are counted already.
    try:
        cache.incr(f"{key}:n", frames)
    except ValueError:
        cache.set(f"{key}:n", frames, 2 * seconds)


def _flush(
    window_id: int, reads: int | None, now: datetime.datetime, *, frames: int = 0, final=False
) -> None:
    if reads is None:
        # Only the count was forgotten: these reads on top of what the row knows.
        AuditReadWindow.objects.filter(pk=window_id).update(
            reads=F("reads") + frames, last_read_at=now
        )
        return
    updates = {"reads": reads}
    if not final:
        updates["last_read_at"] = now
    # Never lower a count (a slower process flushing an older figure).
    AuditReadWindow.objects.filter(pk=window_id, reads__lt=reads).update(**updates)
