"""The case socket: live changes to one case (opinions, status, annotations, decisions) for
those who may see its opinions."""

from __future__ import annotations

from uuid import UUID

from channels.db import database_sync_to_async

from cases.access import case_access
from cases.audit import audit
from cases.models import Case
from realtime.consumers import CLOSE_REVOKED, SessionBoundConsumer
from realtime.events import BoardAccessRevoked, CaseAccessRevoked, Event
from realtime.groups import case_group


def case_socket_path(case: Case) -> str:
    """Where a page opens the case's socket (the route is board.routing's)."""
    return f"/ws/cases/{case.uuid}/"


class CaseConsumer(SessionBoundConsumer):
    """Live changes to one case (opinions, status) for those who may see its opinions."""

    async def authorize(self) -> bool:
        try:
            self.case_uuid = UUID(str(self.scope["url_route"]["kwargs"]["case_id"]))
        except (KeyError, ValueError):
            return False
        return await database_sync_to_async(self._may_follow)()

    def _may_follow(self) -> bool:
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
        if message.get("event") == BoardAccessRevoked.type:
            # Sent to this user only; whether this case depended on that board, ask again.
            if not await database_sync_to_async(self._may_follow)():
                await self.close(code=CLOSE_REVOKED)
            return
        await super().relay(message)
