"""A session that owes its second factor opens no socket: it reaches no page either."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from realtime.consumers import CLOSE_FORBIDDEN
from tests.helpers import totp_device
from tests.realtime.sockets import communicator, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

PATH = "/ws/account/"


def password_only_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(cookie: bytes):
    comm = communicator(PATH, cookie=cookie)
    connected, code = await comm.connect()
    if connected:
        await comm.disconnect()
    return connected, code


async def test_a_required_member_without_a_factor_is_refused(cast, channel_layer):
    cookie = await sync_to_async(password_only_cookie)(cast.chair)
    assert await connect(cookie) == (False, CLOSE_FORBIDDEN)


async def test_an_enrolled_user_with_the_password_alone_is_refused(cast, channel_layer):
    await sync_to_async(totp_device)(cast.referrer)
    cookie = await sync_to_async(password_only_cookie)(cast.referrer)
    assert await connect(cookie) == (False, CLOSE_FORBIDDEN)


async def test_a_referrer_who_is_only_offered_it_connects(cast, channel_layer):
    cookie = await sync_to_async(password_only_cookie)(cast.referrer)
    assert (await connect(cookie))[0]


async def test_a_session_that_passed_its_factor_connects(cast, channel_layer):
    _, cookie = await sync_to_async(session_cookie)(cast.chair)
    assert (await connect(cookie))[0]
