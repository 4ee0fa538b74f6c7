"""The case socket: live changes to one case (opinions, status, annotations, decisions) for
those who may see its opinions."""

from __future__ import annotations

import asyncio
import datetime
from uuid import UUID

from channels.db import database_sync_to_async
from django.utils import timezone

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
    """Live changes to one case (opinions, status) for those who may see its opinions.

    An invited expert's socket ends when the invitation does. ``expire_invites`` announces
    expiries, but only when cron runs it; until then the socket asks the database again at
    the expiry it was opened under (a timer) and before relaying any event, so an expired
    expert never receives one more opinion.
    """

    access_ends_at: datetime.datetime | None = None
    _expiry_timer: asyncio.Task | None = None

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
        # Membership or authorship do not expire by themselves; an invitation does.
        only_invited = allowed and access.is_expert and not access.is_submitter
        self.access_ends_at = access.invite.expires_at if only_invited else None
        return allowed

    async def connect(self) -> None:
        await super().connect()
        if self.accepted and self.access_ends_at is not None:
            self._expiry_timer = asyncio.create_task(self._close_at_expiry())

    async def disconnect(self, code) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
        await super().disconnect(code)

    async def _close_at_expiry(self) -> None:
        while self.access_ends_at is not None:
            delay = (self.access_ends_at - timezone.now()).total_seconds()
            await asyncio.sleep(max(delay, 0) + 0.05)
            if await self._lapsed():
                await self.close(code=CLOSE_REVOKED)
                return

    async def _lapsed(self) -> bool:
        """Does a socket opened on an invitation still have it (not expired, not revoked,
        not shortened by an administrator, or replaced by a newer one)? Asked of the
        database: a case's events are few (opinions, status changes), one query each for
        the invited experts following it is cheap, and the database is the authority."""
        if self.access_ends_at is None:
            return False
        return not await database_sync_to_async(self._may_follow)()

    def topics(self) -> list[str]:
        return [case_group(self.case_uuid)]

    async def relay(self, message: dict) -> None:
        if await self._lapsed():
            await self.close(code=CLOSE_REVOKED)
            return
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
