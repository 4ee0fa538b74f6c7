"""WebSocket consumers. Each authorizes in connect, joins its groups and relays events."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from uuid import UUID

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import aclose_old_connections, database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections

from realtime.events import (
    AccessRevoked,
    BoardAccessRevoked,
    CaseAccessRevoked,
    Event,
    LiveControlRequest,
    LiveItem,
    LivePointer,
    LivePresence,
    LivePresenter,
    LiveState,
    SessionReady,
)
from realtime.groups import case_group, meeting_group, session_group, user_group
from realtime.hub import live_hub
from realtime.publish import apublish


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
                if connection.errors_occurred and not connection.is_usable():
                    connection.close()

    return run


logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_REVOKED = 4401


class SessionBoundConsumer(AsyncWebsocketConsumer):
    """A socket that lives as long as its session: logout or deactivation closes it."""

    accepted = False

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
        if message.get("event") == BoardAccessRevoked.type:
            # Sent to this user only; whether this case depended on that board, ask again.
            if not await database_sync_to_async(self._may_follow)():
                await self.close(code=CLOSE_REVOKED)
            return
        await super().relay(message)


CLOSE_FLOOD = 4429
# The live hub lost the channel layer (Redis): reconnect, and resync from the snapshot.
CLOSE_TRY_AGAIN = 1013
MAX_MESSAGE_BYTES = 16 * 1024
# A presenter sends at most at the display rate; a token bucket allows bursts up to this.
RATE_PER_SECOND = 60
RATE_BURST = 120
# Hub deliveries held while the snapshot is read (more means the client resyncs anyway).
EARLY_LIMIT = 100


class MeetingConsumer(SessionBoundConsumer):
    """A live meeting: the snapshot on connect, then the presenter's states and pointer,
    hand-offs, agenda moves and presence, each checked by meetings.live before it is
    broadcast.

    The socket does not join the meeting's group itself: the process's live hub
    (realtime.hub) does, once, and hands this socket the already-encoded texts.
    The presenter's states are coalesced on the way in, too: while one is being stored, a
    newer one replaces the waiting one, so a slow database never builds a backlog.
    """

    async def authorize(self) -> bool:
        try:
            self.meeting_uuid = UUID(str(self.scope["url_route"]["kwargs"]["meeting_id"]))
        except (KeyError, ValueError):
            return False
        return await database_sync_to_async(self._may_join)()

    def _may_join(self) -> bool:
        from meetings.access import membership_of
        from meetings.models import Meeting

        meeting = Meeting.objects.select_related("board").filter(uuid=self.meeting_uuid).first()
        if meeting is None or meeting.status == Meeting.Status.CANCELLED:
            return False
        self.meeting = meeting
        return membership_of(self.user, meeting) is not None

    async def connect(self) -> None:
        self.hub = None
        self.attendance = None
        self.ready = False
        self.early: list[str] = []
        self.tokens = float(RATE_BURST)
        self.refilled = time.monotonic()
        self.pending: dict[str, dict] = {}
        self.worker: asyncio.Task | None = None
        await super().connect()
        if not self.accepted:
            return
        # Listen first, then read the snapshot: nothing published in between is missed
        # (what arrives meanwhile waits in self.early; the client drops what the snapshot
        # already holds by its seq).
        self.hub = live_hub()
        await self.hub.register(self.meeting_uuid, self)
        self.attendance, arrived = await database_sync_to_async(self._join)()
        self.heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())
        await self.send(text_data=await database_sync_to_async(self._snapshot)())
        self.ready = True
        early, self.early = self.early, []
        for text in early:
            await self.send(text_data=text)
        if arrived:
            await self._publish_presence()

    def _join(self):
        from meetings.models import Attendance
        from meetings.services import attendance_join

        attendance = attendance_join(user=self.user, meeting=self.meeting)
        tabs = Attendance.objects.present().filter(meeting=self.meeting, user=self.user).count()
        return attendance, tabs == 1

    def _snapshot(self) -> str:
        from meetings.live import live_session, snapshot

        return snapshot(live_session(self.meeting)).to_json()

    async def _heartbeat(self) -> None:
        from meetings.models import HEARTBEAT
        from meetings.services import attendance_seen

        seen = database_sync_to_async(attendance_seen)
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            try:
                if not await seen(attendance=self.attendance):
                    return
            except Exception:
                logger.warning("attendance heartbeat failed", exc_info=True)

    async def disconnect(self, code) -> None:
        for task in (getattr(self, "worker", None), getattr(self, "heartbeat", None)):
            if task is not None:
                task.cancel()
        if getattr(self, "hub", None) is not None:
            await self.hub.unregister(self.meeting_uuid, self)
        attended = getattr(self, "attendance", None) is not None
        if attended and await database_sync_to_async(self._leave)():
            await self._publish_presence()

    def _leave(self) -> bool:
        """Close this socket's attendance; True when it was the user's last one."""
        from meetings.models import Attendance
        from meetings.services import attendance_leave

        attendance_leave(attendance=self.attendance)
        return (
            not Attendance.objects.present().filter(meeting=self.meeting, user=self.user).exists()
        )

    async def _publish_presence(self) -> None:
        from meetings.live import present_users

        present = await database_sync_to_async(present_users)(self.meeting.pk)
        await apublish(meeting_group(self.meeting_uuid), LivePresence(present=present))

    # --- from the hub -----------------------------------------------------------------

    async def live_deliver(self, texts: list[str]) -> None:
        if not self.ready:
            self.early = (self.early + texts)[-EARLY_LIMIT:]
            return
        for text in texts:
            await self.send(text_data=text)

    async def live_lost(self) -> None:
        self.hub = None  # the hub forgot this socket already
        await self.close(code=CLOSE_TRY_AGAIN)

    async def relay(self, message: dict) -> None:
        if message.get("event") == BoardAccessRevoked.type:
            event = Event.from_json(message["text"])
            if event.board == str(self.meeting.board.uuid):
                await self.close(code=CLOSE_REVOKED)
            return
        await super().relay(message)

    # --- from the client --------------------------------------------------------------

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
        if kind in ("viewer.state", "pointer"):
            # Latest wins: a newer state replaces one still waiting to be stored.
            self.pending[kind] = message
            if self.worker is None or self.worker.done():
                self.worker = asyncio.get_running_loop().create_task(self._drain())
            return
        handler = {
            "presenter.assign": self._assign,
            "presenter.request": self._request_control,
            "agenda.goto": self._goto,
        }.get(kind)
        if handler is None:
            await self._error(f"unknown message type {str(kind)[:40]!r}")
            return
        await self._handle(handler, message)

    async def _drain(self) -> None:
        handlers = {"viewer.state": self._viewer_state, "pointer": self._pointer}
        while self.pending:
            kind = next(iter(self.pending))
            await self._handle(handlers[kind], self.pending.pop(kind), hot=True)

    async def _handle(self, handler, message: dict, *, hot: bool = False) -> None:
        # The presenter's 30-a-second messages keep the database connection open between
        # calls (see keep_connection); everything else closes it as Channels always does.
        run = sync_to_async(keep_connection(handler)) if hot else database_sync_to_async(handler)
        try:
            event = await run(message)
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

    @staticmethod
    def _epoch(message: dict) -> int:
        epoch = message.get("epoch")
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            raise ValidationError("epoch is not a number")
        return epoch

    def _viewer_state(self, message: dict) -> Event | None:
        from meetings.live import live_apply_state

        session = live_apply_state(
            meeting=self.meeting,
            user=self.user,
            epoch=self._epoch(message),
            state=message.get("state"),
        )
        if session is None:
            return None  # not the presenter, or a stale epoch: ignored
        return LiveState(seq=session.seq, epoch=session.epoch, state=session.viewer_state)

    def _pointer(self, message: dict) -> Event | None:
        from meetings.live import clean_pointer, is_presenter

        epoch = self._epoch(message)
        pointer = clean_pointer(message.get("pointer"))
        if not is_presenter(meeting=self.meeting, user=self.user, epoch=epoch):
            return None
        return LivePointer(epoch=epoch, pointer=pointer)

    def _request_control(self, message: dict) -> Event:
        return LiveControlRequest(user=str(self.user.uuid), name=self.user.display_name)

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
