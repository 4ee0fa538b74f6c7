"""Publishing events to channel-layer groups, after the database commits.

The database is the source of truth; a socket only tells clients what
changed. Publishing must never break a write: if the channel layer (Redis) is
down, the write stands and the failure is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from realtime.events import Event
from realtime.groups import case_group

logger = logging.getLogger(__name__)


def layer_message(group: str, event: Event) -> dict[str, str]:
    # Encoded once here; every consumer forwards `text` untouched. `group` tells a process's
    # live hub (realtime.hub), which listens to many meetings on one channel, whose it is.
    return {"type": "relay", "group": group, "event": event.type, "text": event.to_json()}


async def apublish(group: str, event: Event) -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        await layer.group_send(group, layer_message(group, event))
    except Exception:
        logger.exception("could not publish %s to %s", event.type, group)
        return False
    return True


def publish_now(group: str, event: Event) -> bool:
    return async_to_sync(apublish)(group, event)


def publish_on_commit(group: str, event: Event) -> None:
    """Publish once the surrounding transaction commits (never if it rolls back)."""
    transaction.on_commit(lambda: publish_now(group, event), robust=True)


# Who else hears a case's events: apps above the bus register a function from a case to
# group names at start-up (meetings: the scheduled meetings with the case on their agenda),
# so the bus never imports them.
CaseAudience = Callable[[Any], Iterable[str]]
_case_audiences: list[CaseAudience] = []


def register_case_audience(audience: CaseAudience) -> None:
    if audience not in _case_audiences:
        _case_audiences.append(audience)


def publish_case_event(case, event: Event) -> None:
    """After commit, to the case's followers and to every audience registered for cases."""

    def send() -> None:
        publish_now(case_group(case.uuid), event)
        for audience in _case_audiences:
            for group in audience(case):
                publish_now(group, event)

    transaction.on_commit(send, robust=True)
