"""WebSocket consumers. Each authorizes in connect, joins its groups and relays events."""

from __future__ import annotations

import json
import time
from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError

from realtime.events import (
    AccessRevoked,
    CaseAccessRevoked,
    Event,
    LiveItem,
    LivePresenter,
    LiveState,
    SessionReady,
)
from realtime.groups import case_group, meeting_group, session_group, user_group
from realtime.publish import apublish

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


CLOSE_FLOOD = 4429
MAX_MESSAGE_BYTES = 16 * 1024
# A presenter sends at most at the display rate; a token bucket allows bursts up to this.
RATE_PER_SECOND = 60
RATE_BURST = 120


class MeetingConsumer(SessionBoundConsumer):
    """A live meeting: the snapshot on connect, then the presenter's states, hand-offs and
    agenda moves, each checked and stored by meetings.live before it is broadcast."""

    async def authorize(self) -> bool:
        try:
            self.meeting_uuid = UUID(str(self.scope["url_route"]["kwargs"]["meeting_id"]))
        except (KeyError, ValueError):
            return False
        return await database_sync_to_async(self._may_join)()

    def _may_join(self) -> bool:
        from meetings.access import membership_of
        from meetings.models import Meeting

        meeting = Meeting.objects.filter(uuid=self.meeting_uuid).first()
        if meeting is None or meeting.status == Meeting.Status.CANCELLED:
            return False
        self.meeting = meeting
        return membership_of(self.user, meeting) is not None

    def topics(self) -> list[str]:
        return [meeting_group(self.meeting_uuid)]

    async def connect(self) -> None:
        self.attendance = None
        self.tokens = float(RATE_BURST)
        self.refilled = time.monotonic()
        await super().connect()
        if getattr(self, "meeting", None) is None or not self.groups:
            return
        self.attendance = await database_sync_to_async(self._join)()
        await self.send(text_data=await database_sync_to_async(self._snapshot)())

    def _join(self):
        from meetings.services import attendance_join

        return attendance_join(user=self.user, meeting=self.meeting)

    def _snapshot(self) -> str:
        from meetings.live import live_session, snapshot

        return json.dumps(snapshot(live_session(self.meeting)), separators=(",", ":"))

    async def disconnect(self, code) -> None:
        if getattr(self, "attendance", None) is not None:
            from meetings.services import attendance_leave

            await database_sync_to_async(attendance_leave)(attendance=self.attendance)

    def _allowed_by_rate(self) -> bool:
        now = time.monotonic()
        self.tokens = min(RATE_BURST, self.tokens + (now - self.refilled) * RATE_PER_SECOND)
        self.refilled = now
        self.tokens -= 1
        return self.tokens >= 0

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if bytes_data is not None or text_data is None or len(text_data) > MAX_MESSAGE_BYTES:
            await self.close(code=CLOSE_FLOOD)
            return
        if not self._allowed_by_rate():
            await self.close(code=CLOSE_FLOOD)
            return
        try:
            message = json.loads(text_data)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            await self._error("not a JSON object with a type")
            return
        if kind == "sync":
            await self.send(text_data=await database_sync_to_async(self._snapshot)())
            return
        handler = {
            "viewer.state": self._viewer_state,
            "presenter.assign": self._assign,
            "agenda.goto": self._goto,
        }.get(kind)
        if handler is None:
            await self._error(f"unknown message type {str(kind)[:40]!r}")
            return
        try:
            event = await database_sync_to_async(handler)(message)
        except (ValidationError, ValueError, TypeError) as exc:
            await self._error("; ".join(getattr(exc, "messages", [str(exc)])))
            return
        except PermissionDenied:
            await self._error("not allowed")
            return
        if event is not None:
            # Stored and committed: now everyone (this socket too) hears of it.
            await apublish(meeting_group(self.meeting_uuid), event)

    async def _error(self, text: str) -> None:
        await self.send(text_data=json.dumps({"type": "error", "error": text}))

    def _viewer_state(self, message: dict) -> Event | None:
        from meetings.live import live_apply_state

        epoch = message.get("epoch")
        if not isinstance(epoch, int):
            raise ValidationError("epoch is not a number")
        session = live_apply_state(
            meeting=self.meeting, user=self.user, epoch=epoch, state=message.get("state")
        )
        if session is None:
            return None  # not the presenter, or a stale epoch: ignored
        return LiveState(seq=session.seq, epoch=session.epoch, state=session.viewer_state)

    def _assign(self, message: dict) -> Event:
        from board.models import User
        from meetings.live import live_assign_presenter

        presenter = None
        if message.get("user"):
            presenter = User.objects.filter(uuid=UUID(str(message["user"]))).first()
            if presenter is None:
                raise ValidationError("no such user")
        session = live_assign_presenter(by=self.user, meeting=self.meeting, presenter=presenter)
        return LivePresenter(
            seq=session.seq,
            epoch=session.epoch,
            presenter=str(presenter.uuid) if presenter else None,
        )

    def _goto(self, message: dict) -> Event:
        from meetings.live import live_goto
        from meetings.models import AgendaItem

        item = AgendaItem.objects.filter(
            meeting=self.meeting, uuid=UUID(str(message.get("item")))
        ).first()
        if item is None:
            raise ValidationError("no such agenda item")
        session = live_goto(by=self.user, meeting=self.meeting, item=item)
        presenter = session.presenter
        return LiveItem(
            seq=session.seq,
            epoch=session.epoch,
            item=str(item.uuid),
            presenter=str(presenter.uuid) if presenter else None,
        )
