"""A session's sockets end with it: ended from another session, idle, past its lifetime, or
after a password change (which also stops the old API token)."""

from __future__ import annotations

import datetime
import json

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from board.models import UserSession
from board.sessions import LAST_ACTIVITY
from board.tokens import token_create, user_for_bearer
from realtime.consumers import CLOSE_REVOKED
from tests.cast import PASSWORD
from tests.realtime.sockets import communicator, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

PATH = "/ws/account/"


async def open_socket(cookie: bytes):
    comm = communicator(PATH, cookie=cookie)
    connected, _ = await comm.connect()
    assert connected
    assert json.loads(await comm.receive_from())["type"] == "session.ready"
    return comm


async def assert_revoked(comm, reason: str) -> None:
    assert json.loads(await comm.receive_from()) == {"type": "access.revoked", "reason": reason}
    assert (await comm.receive_output())["code"] == CLOSE_REVOKED


def row_for(client: Client) -> UserSession:
    return UserSession.objects.get(session_key=client.session.session_key)


async def test_ending_a_session_from_the_account_page_closes_its_socket(cast, channel_layer):
    a, cookie_a = await sync_to_async(session_cookie)(cast.pathologist)
    b, cookie_b = await sync_to_async(session_cookie)(cast.pathologist)
    socket_a = await open_socket(cookie_a)
    socket_b = await open_socket(cookie_b)
    session_b = await sync_to_async(row_for)(b)
    url = reverse("session-end", kwargs={"session_id": session_b.uuid})
    assert (await sync_to_async(a.post)(url)).status_code == 302
    await assert_revoked(socket_b, "ended")
    assert await socket_a.receive_nothing(timeout=0.3)
    await socket_a.disconnect()


async def test_the_idle_sweep_closes_the_socket_of_an_idle_session(cast, channel_layer, settings):
    idle, cookie_idle = await sync_to_async(session_cookie)(cast.radiologist)
    _, cookie_busy = await sync_to_async(session_cookie)(cast.radiologist)
    idle_socket = await open_socket(cookie_idle)
    busy_socket = await open_socket(cookie_busy)

    def go_idle():
        long_ago = timezone.now() - datetime.timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + 1)
        UserSession.objects.filter(pk=row_for(idle).pk).update(last_activity_at=long_ago)
        call_command("end_idle_sessions", verbosity=0)

    await sync_to_async(go_idle)()
    await assert_revoked(idle_socket, "idle")
    assert await busy_socket.receive_nothing(timeout=0.3)
    await busy_socket.disconnect()


async def test_a_request_after_the_idle_timeout_closes_that_sessions_socket(
    cast, channel_layer, settings
):
    client, cookie = await sync_to_async(session_cookie)(cast.surgeon)
    socket = await open_socket(cookie)

    def idle_then_request():
        session = client.session
        session[LAST_ACTIVITY] -= settings.SESSION_IDLE_TIMEOUT + 1
        session.save()
        return client.get(reverse("home")).status_code

    assert await sync_to_async(idle_then_request)() == 302
    await assert_revoked(socket, "idle")


async def test_a_session_past_its_limit_cannot_open_a_socket(cast, channel_layer, settings):
    client, cookie = await sync_to_async(session_cookie)(cast.chair)

    def go_idle():
        session = client.session
        session[LAST_ACTIVITY] -= settings.SESSION_IDLE_TIMEOUT + 1
        session.save()

    await sync_to_async(go_idle)()
    comm = communicator(PATH, cookie=cookie)
    connected, code = await comm.connect()
    assert not connected
    assert code == CLOSE_REVOKED


async def test_a_password_change_closes_the_other_sessions_socket_and_stops_the_token(
    cast, channel_layer, settings
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def prepare():
        cast.oncologist.set_password(PASSWORD)
        cast.oncologist.save()  # nobody signed in yet: nothing to end
        _, token = token_create(user=cast.oncologist, name="Old viewer")
        return token

    token = await sync_to_async(prepare)()
    here, cookie_here = await sync_to_async(session_cookie)(cast.oncologist)
    _, cookie_old = await sync_to_async(session_cookie)(cast.oncologist)
    socket_here = await open_socket(cookie_here)
    socket_old = await open_socket(cookie_old)
    assert await sync_to_async(user_for_bearer)(f"Bearer {token}") == cast.oncologist

    new = "an-entirely-new-passphrase"
    response = await sync_to_async(here.post)(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    await assert_revoked(socket_old, "password_changed")
    assert await sync_to_async(user_for_bearer)(f"Bearer {token}") is None
    # The session that changed the password stays; its socket was not told to close.
    assert await socket_here.receive_nothing(timeout=0.3)
    await socket_here.disconnect()
