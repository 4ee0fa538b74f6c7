"""The session-bound base of every socket, and the account socket.

Each app's socket lives with the data it serves (cases.consumers, meetings.consumers) and is
built on ``SessionBoundConsumer``: it authorizes in ``connect`` (4403 when refused), joins its
groups, and closes when the session or the access it depended on ends (4401).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

import redis.exceptions
from channels.consumer import get_handler_name
from channels.db import aclose_old_connections, database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import connections

from realtime.events import AccessRevoked, SessionReady
from realtime.groups import session_group, user_group


def keep_connection(func):
    """Run ``func`` in the thread of every database_sync_to_async call, without closing the
    connection afterwards. With CONN_MAX_AGE 0, database_sync_to_async reconnects on every
    call: 6 ms on SQLite, a TCP and auth handshake on PostgreSQL, 30 times a second for the
    presenter. The next ordinary call closes the connection anyway; a broken one is closed
    here at once."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            for connection in connections.all(initialized_only=True):
                if getattr(connection, "pool", None) is not None:
                    # Pooled (DATABASE_POOL_SIZE): handing the connection back costs nothing,
                    # and one kept by an idle socket's thread would be lost to every request.
                    connection.close()
                elif connection.errors_occurred and not connection.is_usable():
                    connection.close()

    return run


logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_REVOKED = 4401
# "Try again later": the channel layer (Redis) is unreachable; the client retries. RFC 6455's
# own 1013 cannot be sent: Daphne's WebSocket stack (Autobahn) lets an application close with
# 1000 or 3000-4999 only and raises on anything else, leaving the socket open. 4013 is 1013 in
# the range kept for applications.
CLOSE_TRY_AGAIN = 4013
# What channels-redis raises while its Redis is down or unreachable.
LAYER_LOST = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

# Checks an upper app adds at start-up (board: the second factor, the session's idle and
# absolute limits), each ``(user, session) -> close code or None``, run together in one
# database thread at connect: a socket opens only for a session that passes them all.
_session_checks: list[Callable[[Any, Any], int | None]] = []


def register_session_check(check: Callable[[Any, Any], int | None]) -> None:
    if check not in _session_checks:
        _session_checks.append(check)


@database_sync_to_async
def _session_refusal(user, session) -> int | None:
    for check in _session_checks:
        code = check(user, session)
        if code is not None:
            return code
    return None


class SessionBoundConsumer(AsyncWebsocketConsumer):
    """A socket that lives as long as its session: logout or deactivation closes it."""

    accepted = False

    async def __call__(self, scope, receive, send) -> None:
        # Without this, a lost layer (Redis stopped) escapes the consumer: Daphne closes the
        # socket with 1011 (or answers the handshake with 500) and disconnect() never runs,
        # leaving attendance open and heartbeats running.
        try:
            await super().__call__(scope, receive, send)
        except LAYER_LOST as exc:
            logger.warning(
                "channel layer unreachable, socket closed with 4013 (try again): %s", exc
            )
            await self._layer_lost(send)

    async def _layer_lost(self, send) -> None:
        if self.accepted:
            try:
                await self.disconnect(CLOSE_TRY_AGAIN)
            except LAYER_LOST:
                pass  # what it could do without the layer is done (it publishes last)
            except Exception:
                logger.warning("disconnect after the layer was lost failed", exc_info=True)
        else:
            # A clean refusal the client understands (retry later), not an HTTP 500.
            with contextlib.suppress(Exception):
                await send({"type": "websocket.accept"})
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})
        await aclose_old_connections()

    async def connect(self) -> None:
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or not user.is_active or session is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        refusal = await _session_refusal(user, session) if _session_checks else None
        if refusal is not None:
            await self.close(code=refusal)
            return
        self.user = user
        if not await self.authorize():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.groups = [user_group(user.uuid), session_group(session.session_key), *self.topics()]
        for group in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        self.accepted = True
        await self.send(text_data=SessionReady(user=user.display_name).to_json())

    async def dispatch(self, message) -> None:
        # Channels closes stale database connections before every message it dispatches: a
        # hop to the database thread and, with CONN_MAX_AGE 0, a reconnect, for each of the
        # presenter's 30 states a second. Here every database call goes through
        # database_sync_to_async (which does the same cleaning) or keep_connection.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message) -> None:
        # Channels discards the groups first and only then calls disconnect(): when the layer
        # refuses (Redis down, or a pool exhausted by hundreds of sockets closing at once),
        # disconnect() would never run and attendance would stay open. Ours runs first, and
        # a group that cannot be left expires in the layer by itself.
        try:
            await self.disconnect(message["code"])
        finally:
            for group in self.groups:
                try:
                    await self.channel_layer.group_discard(group, self.channel_name)
                except Exception:
                    logger.warning("could not leave %s", group, exc_info=True)
            await aclose_old_connections()
        raise StopConsumer

    async def authorize(self) -> bool:
        return True

    def topics(self) -> list[str]:
        return []

    async def receive(self, text_data=None, bytes_data=None) -> None:
        # These sockets only listen; anything a client says is ignored.
        return

    async def relay(self, message: dict) -> None:
        await self.send(text_data=message["text"])
        if message.get("event") == AccessRevoked.type:
            await self.close(code=CLOSE_REVOKED)


class AccountConsumer(SessionBoundConsumer):
    """The signed-in user's own channel: notices, and the end of their session."""


ACCOUNT_SOCKET_PATH = "/ws/account/"
