"""Redis stopped under connected meeting sockets (WebsocketCommunicator, channels-redis).

The test runs its own redis-server on a free port and stops it: the sockets close with 4013
(try again later), their attendance ends, their heartbeat stops, and a socket opened while
Redis is down is refused with the same clean close, not an HTTP 500.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid

import pytest
from asgiref.sync import sync_to_async

from meetings.live import present_users
from meetings.models import Attendance
from realtime.consumers import CLOSE_TRY_AGAIN
from tests.e2e.browser import free_port
from tests.e2e.test_redis_outage import PrivateRedis
from tests.helpers import skip_or_fail
from tests.meetings.factories import make_meeting
from tests.realtime.sockets import communicator, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_layer(settings):
    if shutil.which("redis-server") is None:
        skip_or_fail("REQUIRE_SERVICES", "redis-server is not installed")
    server = PrivateRedis(free_port())
    server.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [server.url], "prefix": f"consilium-test-{uuid.uuid4().hex[:8]}"},
        }
    }
    yield server
    server.stop()


async def join(user, meeting):
    _, cookie = await sync_to_async(session_cookie)(user)
    comm = communicator(f"/ws/meetings/{meeting.uuid}/", cookie=cookie)
    connected, code = await comm.connect(timeout=10)
    assert connected, code
    assert json.loads(await comm.receive_from(timeout=10))["type"] == "session.ready"
    assert json.loads(await comm.receive_from(timeout=10))["type"] == "live.snapshot"
    return comm


async def closed_with(comm) -> int | None:
    """The close code the socket ends with (messages before it are read and dropped)."""
    while True:
        message = await comm.receive_output(timeout=15)
        if message["type"] == "websocket.close":
            return message.get("code")


async def test_redis_stopped_closes_sockets_with_try_again_and_ends_attendance(cast, redis_layer):
    meeting = await sync_to_async(make_meeting)(cast)
    chair = await join(cast.chair, meeting)
    member = await join(cast.radiologist, meeting)
    second_tab = await join(cast.radiologist, meeting)
    open_joins = Attendance.objects.filter(meeting=meeting, left_at__isnull=True)
    assert await sync_to_async(open_joins.count)() == 3
    # Presence counts people, not rows: the second tab is the same person.
    assert len(await sync_to_async(present_users)(meeting.pk)) == 2

    redis_layer.stop()
    for comm in (chair, member, second_tab):
        assert await closed_with(comm) == CLOSE_TRY_AGAIN
    assert await sync_to_async(open_joins.count)() == 0

    # While Redis is down a new socket is refused cleanly: accepted, then closed with 4013.
    _, cookie = await sync_to_async(session_cookie)(cast.surgeon)
    late = communicator(f"/ws/meetings/{meeting.uuid}/", cookie=cookie)
    connected, _ = await late.connect(timeout=15)
    assert connected
    assert await closed_with(late) == CLOSE_TRY_AGAIN
    assert await sync_to_async(open_joins.count)() == 0

    # No heartbeat lives on: seen_at stays where it was when the sockets closed.
    seen = await sync_to_async(
        lambda: sorted(Attendance.objects.filter(meeting=meeting).values_list("seen_at", flat=True))
    )()
    await asyncio.sleep(0.2)
    again = await sync_to_async(
        lambda: sorted(Attendance.objects.filter(meeting=meeting).values_list("seen_at", flat=True))
    )()
    assert again == seen

    # Redis back: a client that retries (as static/js does on 4013) is served again.
    redis_layer.start()
    for _ in range(20):
        try:
            back = await join(cast.radiologist, meeting)
            break
        except AssertionError:
            await asyncio.sleep(0.3)
    else:
        pytest.fail("the meeting socket did not open again after Redis came back")
    assert await sync_to_async(open_joins.count)() == 1
    await back.disconnect()
