"""The account socket on the real ASGI app, over the in-memory and the Redis layer."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from realtime.consumers import CLOSE_FORBIDDEN, CLOSE_REVOKED
from realtime.events import Notice
from realtime.groups import user_group
from realtime.publish import apublish
from tests.realtime.sockets import communicator, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

PATH = "/ws/account/"


async def connect_as(user):
    client, cookie = await sync_to_async(session_cookie)(user)
    comm = communicator(PATH, cookie=cookie)
    connected, _ = await comm.connect()
    assert connected
    hello = json.loads(await comm.receive_from())
    assert hello["type"] == "session.ready"
    return client, comm


async def test_member_connects_and_receives_a_published_event(cast, channel_layer):
    _, comm = await connect_as(cast.pathologist)
    assert await apublish(user_group(cast.pathologist.uuid), Notice(text="Meeting moved to 9:00"))
    event = json.loads(await comm.receive_from())
    assert event == {"type": "notice", "text": "Meeting moved to 9:00"}
    await comm.disconnect()


async def test_events_reach_only_their_user(cast, channel_layer):
    _, mine = await connect_as(cast.pathologist)
    _, theirs = await connect_as(cast.radiologist)
    await apublish(user_group(cast.pathologist.uuid), Notice(text="for the pathologist"))
    assert json.loads(await mine.receive_from())["text"] == "for the pathologist"
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()


async def test_anonymous_is_refused(cast, channel_layer):
    comm = communicator(PATH)
    connected, code = await comm.connect()
    assert not connected
    assert code == CLOSE_FORBIDDEN


async def test_foreign_origin_is_refused(cast, channel_layer):
    _, cookie = await sync_to_async(session_cookie)(cast.chair)
    comm = communicator(PATH, cookie=cookie, origin=(b"origin", b"https://evil.example"))
    connected, _ = await comm.connect()
    assert not connected


async def test_missing_origin_is_refused(cast, channel_layer):
    _, cookie = await sync_to_async(session_cookie)(cast.chair)
    comm = communicator(PATH, cookie=cookie, origin=None)
    connected, _ = await comm.connect()
    assert not connected


async def test_logout_closes_the_socket_of_that_session_only(cast, channel_layer):
    client, comm = await connect_as(cast.surgeon)
    _, other_device = await connect_as(cast.surgeon)
    response = await sync_to_async(client.post)(reverse("logout"))
    assert response.status_code == 302
    revoked = json.loads(await comm.receive_from())
    assert revoked == {"type": "access.revoked", "reason": "logout"}
    assert (await comm.receive_output())["code"] == CLOSE_REVOKED
    # The same user's other session is untouched.
    assert await other_device.receive_nothing(timeout=0.3)
    await other_device.disconnect()


async def test_deactivation_closes_every_socket_of_the_user(cast, channel_layer):
    _, laptop = await connect_as(cast.oncologist)
    _, tablet = await connect_as(cast.oncologist)

    def deactivate():
        cast.oncologist.is_active = False
        cast.oncologist.save()

    await sync_to_async(deactivate)()
    for comm in (laptop, tablet):
        assert json.loads(await comm.receive_from())["reason"] == "deactivated"
        assert (await comm.receive_output())["code"] == CLOSE_REVOKED


async def test_the_socket_ignores_what_clients_send(cast, channel_layer):
    _, comm = await connect_as(cast.chair)
    await comm.send_to(text_data='{"type": "notice", "text": "spoofed"}')
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()
