"""WebSocket consumers. Each authorizes in connect, joins its groups and relays events."""

from __future__ import annotations

from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from realtime.events import AccessRevoked, CaseAccessRevoked, Event, SessionReady
from realtime.groups import case_group, session_group, user_group

CLOSE_FORBIDDEN = 4403
CLOSE_REVOKED = 4401


class SessionBoundConsumer(AsyncWebsocketConsumer):
    """A socket that lives as long as its session: logout or deactivation closes it."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        session = self.scope.get("session")
        if user is None or not user.is_authenticated or not user.is_active or session is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        if not await self.authorize():
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.groups = [user_group(user.uuid), session_group(session.session_key), *self.topics()]
        for group in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send(text_data=SessionReady(user=user.display_name).to_json())

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


class CaseConsumer(SessionBoundConsumer):
    """Live changes to one case (opinions, status) for those who may see its opinions."""

    async def authorize(self) -> bool:
        try:
            self.case_uuid = UUID(str(self.scope["url_route"]["kwargs"]["case_id"]))
        except (KeyError, ValueError):
            return False
        return await database_sync_to_async(self._may_follow)()

    def _may_follow(self) -> bool:
        from cases.access import case_access
        from cases.audit import audit
        from cases.models import Case

        case = Case.objects.select_related("board").filter(uuid=self.case_uuid).first()
        access = case_access(self.user, case) if case is not None else None
        allowed = access is not None and access.can_view and access.can_see_opinions
        if not allowed:
            audit(actor=self.user, action="case.follow", case=case, allowed=False)
        return allowed

    def topics(self) -> list[str]:
        return [case_group(self.case_uuid)]

    async def relay(self, message: dict) -> None:
        if message.get("event") == CaseAccessRevoked.type:
            event = Event.from_json(message["text"])
            if event.user == str(self.user.uuid):
                await self.close(code=CLOSE_REVOKED)
            return  # other people's revocations are none of this client's business
        await super().relay(message)
