"""A refused meeting socket is a refused read (the agenda names cases): it is audited."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async

from cases.models import AuditEvent
from realtime.consumers import CLOSE_FORBIDDEN
from tests.meetings.factories import make_meeting
from tests.realtime.sockets import communicator, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def connect(user, path: str) -> int | None:
    _, cookie = await sync_to_async(session_cookie)(user)
    comm = communicator(path, cookie=cookie)
    connected, code = await comm.connect()
    if connected:
        await comm.disconnect()
    return None if connected else code


def events() -> list[tuple]:
    return list(
        AuditEvent.objects.order_by("id").values_list(
            "actor__username", "action", "object_id", "outcome", "detail"
        )
    )


async def test_a_refused_meeting_socket_leaves_a_denied_event(cast, channel_layer):
    meeting = await sync_to_async(make_meeting)(cast)
    before = await sync_to_async(AuditEvent.objects.count)()
    assert await connect(cast.outsider, f"/ws/meetings/{meeting.uuid}/") == CLOSE_FORBIDDEN
    found = (await sync_to_async(events)())[before:]
    assert found == [("outsider", "meeting.follow", str(meeting.uuid), "denied", {})]


async def test_probing_an_unknown_meeting_is_audited_too(cast, channel_layer):
    unknown = uuid.uuid4()
    assert await connect(cast.outsider, f"/ws/meetings/{unknown}/") == CLOSE_FORBIDDEN
    found = await sync_to_async(events)()
    assert found[-1] == ("outsider", "meeting.follow", "", "denied", {"requested": str(unknown)})


async def test_a_member_joining_leaves_no_denied_event(cast, channel_layer):
    meeting = await sync_to_async(make_meeting)(cast)
    assert await connect(cast.pathologist, f"/ws/meetings/{meeting.uuid}/") is None
    found = await sync_to_async(events)()
    assert not [event for event in found if event[3] == "denied"]
