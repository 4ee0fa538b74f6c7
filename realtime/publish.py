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
from realtime.groups import case_group, meeting_group

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


def publish_case_event(case, event: Event) -> None:
    """After commit, to the case's followers and to every scheduled meeting that has the case
    on its agenda (a live session shows the case's opinions and annotations as they change)."""

    def send() -> None:
        from meetings.models import AgendaItem, Meeting

        publish_now(case_group(case.uuid), event)
        meetings = AgendaItem.objects.filter(
            case_id=case.pk, meeting__status=Meeting.Status.SCHEDULED
        ).values_list("meeting__uuid", flat=True)
        for meeting_uuid in meetings:
            publish_now(meeting_group(meeting_uuid), event)

    transaction.on_commit(send, robust=True)
