"""WebSocket consumers. Each authorizes in connect, joins its groups and relays events."""

from __future__ import annotations

from channels.generic.websocket import AsyncWebsocketConsumer

from realtime.events import AccessRevoked, SessionReady
from realtime.groups import session_group, user_group

CLOSE_FORBIDDEN = 4403
CLOSE_REVOKED = 4401


class AccountConsumer(AsyncWebsocketConsumer):
    """The signed-in user's own channel: notices, and the end of their session.

    A page holding this socket learns at once when its session is logged out
    elsewhere or its account is deactivated, and goes back to the login page.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or not user.is_active or session is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.groups = [user_group(user.uuid), session_group(session.session_key)]
        for group in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send(text_data=SessionReady(user=user.display_name).to_json())

    async def receive(self, text_data=None, bytes_data=None) -> None:
        # This socket only listens; anything the client says is ignored.
        return

    async def relay(self, message: dict) -> None:
        await self.send(text_data=message["text"])
        if message.get("event") == AccessRevoked.type:
            await self.close(code=CLOSE_REVOKED)
