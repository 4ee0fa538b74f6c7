"""Publishing events to channel-layer groups, after the database commits.

The database is the source of truth; a socket only tells clients what
changed. Publishing must never break a write: if the channel layer (Redis) is
down, the write stands and the failure is logged.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from realtime.events import Event

logger = logging.getLogger(__name__)


def layer_message(event: Event) -> dict[str, str]:
    # Encoded once here; every consumer forwards `text` untouched.
    return {"type": "relay", "event": event.type, "text": event.to_json()}


async def apublish(group: str, event: Event) -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        await layer.group_send(group, layer_message(event))
    except Exception:
        logger.exception("could not publish %s to %s", event.type, group)
        return False
    return True


def publish_now(group: str, event: Event) -> bool:
    return async_to_sync(apublish)(group, event)


def publish_on_commit(group: str, event: Event) -> None:
    """Publish once the surrounding transaction commits (never if it rolls back)."""
    transaction.on_commit(lambda: publish_now(group, event), robust=True)
