"""The meeting socket: a live session's snapshot on connect, then the presenter's states and
pointer, hand-offs, agenda moves and presence, each checked by meetings.live before it is
broadcast."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from uuid import UUID

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from board.models import User
from cases.audit import audit
from meetings.access import meeting_access
from meetings.live import (
    clean_pointer,
    is_presenter,
    live_apply_state,
    live_assign_presenter,
    live_goto,
    live_return_control,
    live_session,
    present_users,
    snapshot,
)
from meetings.models import HEARTBEAT, AgendaItem, Attendance, Meeting
from meetings.services import attendance_join, attendance_leave, attendance_seen
from realtime.consumers import CLOSE_REVOKED, SessionBoundConsumer, keep_connection
from realtime.consumers import CLOSE_TRY_AGAIN as LAYER_TRY_AGAIN
from realtime.events import (
    BoardAccessRevoked,
    Event,
    LiveControlRequest,
    LiveItem,
    LivePointer,
    LivePresence,
    LivePresenter,
    LiveState,
)
from realtime.groups import meeting_group
from realtime.hub import live_hub
from realtime.publish import apublish

logger = logging.getLogger(__name__)


def meeting_socket_path(meeting: Meeting) -> str:
    """Where the live page opens the meeting's socket (the route is board.routing's)."""
    return f"/ws/meetings/{meeting.uuid}/"


CLOSE_FLOOD = 4429
# The live hub lost the channel layer (Redis): reconnect, and resync from the snapshot
# (realtime.consumers.CLOSE_TRY_AGAIN says why not RFC 6455's 1013).
CLOSE_TRY_AGAIN = LAYER_TRY_AGAIN
MAX_MESSAGE_BYTES = 16 * 1024
# A presenter sends at most at the display rate; a token bucket allows bursts up to this.
RATE_PER_SECOND = 60
RATE_BURST = 120
# A snapshot is the dearest answer (the whole meeting read from the database), asked for only
# after a reconnect or a gap: it costs as many tokens as this many messages, so a flood of
# "sync" is stopped as surely as any other flood, however long each snapshot takes to read.
SYNC_COST = 10
# Hub deliveries held while the snapshot is read (more means the client resyncs anyway).
EARLY_LIMIT = 100


async def return_control(meeting: Meeting) -> None:
    """Hand the viewer back to the chair if the presenter has been gone for the grace period
    (meetings.live.live_return_control), and tell everyone as any hand-off."""
    session = await database_sync_to_async(live_return_control)(meeting=meeting)
    if session is not None:
        presenter = await database_sync_to_async(
            lambda: str(session.presenter.uuid) if session.presenter_id else None
        )()
        await apublish(
            meeting_group(meeting.uuid),
            LivePresenter(seq=session.seq, epoch=session.epoch, presenter=presenter),
        )


# The delayed checks under way (a task nobody references may be collected before it runs).
_LATER: set[asyncio.Task] = set()


async def return_control_later(meeting: Meeting) -> None:
    await asyncio.sleep(settings.MEETING_PRESENTER_GRACE_SECONDS)
    try:
        await return_control(meeting)
    except Exception:
        # The heartbeats of the sockets still open try again.
        logger.warning("could not return control to the chair", exc_info=True)


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
        meeting = Meeting.objects.select_related("board").filter(uuid=self.meeting_uuid).first()
        access = meeting_access(self.user, meeting) if meeting is not None else None
        if access is None or meeting.status == Meeting.Status.CANCELLED:
            # A refused join is a refused read of the agenda's cases: audited like the page.
            audit(
                actor=self.user,
                action="meeting.follow",
                target=meeting,
                allowed=False,
                detail={} if meeting is not None else {"requested": str(self.meeting_uuid)},
            )
            return False
        self.meeting = meeting
        self.access = access
        return True

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
        # A presenter who left while no socket of this meeting was open anywhere: caught now.
        try:
            await return_control(self.meeting)
        except Exception:
            logger.warning("could not return control to the chair", exc_info=True)
        self.heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())
        await self.send(text_data=await database_sync_to_async(self._snapshot)())
        self.ready = True
        early, self.early = self.early, []
        for text in early:
            await self.send(text_data=text)
        if arrived:
            await self._publish_presence()

    def _join(self):
        attendance = attendance_join(access=self.access)
        tabs = Attendance.objects.present().filter(meeting=self.meeting, user=self.user).count()
        return attendance, tabs == 1

    def _snapshot(self) -> str:
        return snapshot(live_session(self.meeting)).to_json()

    async def _heartbeat(self) -> None:
        seen = database_sync_to_async(attendance_seen)
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            try:
                if not await seen(attendance=self.attendance):
                    return
                await return_control(self.meeting)
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
            # If they presented, the viewer goes back to the chair once the grace has run,
            # unless they are back by then. Not tied to this socket, which is closing.
            task = asyncio.get_running_loop().create_task(return_control_later(self.meeting))
            _LATER.add(task)
            task.add_done_callback(_LATER.discard)

    def _leave(self) -> bool:
        """Close this socket's attendance; True when it was the user's last one."""

        attendance_leave(attendance=self.attendance)
        return (
            not Attendance.objects.present().filter(meeting=self.meeting, user=self.user).exists()
        )

    async def _publish_presence(self) -> None:
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

    def _allowed_by_rate(self, cost: int = 1) -> bool:
        now = time.monotonic()
        self.tokens = min(RATE_BURST, self.tokens + (now - self.refilled) * RATE_PER_SECOND)
        self.refilled = now
        self.tokens -= cost
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
            if not self._allowed_by_rate(SYNC_COST - 1):
                await self.close(code=CLOSE_FLOOD)
                return
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
        session = live_apply_state(
            access=self.access, epoch=self._epoch(message), state=message.get("state")
        )
        if session is None:
            return None  # not the presenter, or a stale epoch: ignored
        return LiveState(seq=session.seq, epoch=session.epoch, state=session.viewer_state)

    def _pointer(self, message: dict) -> Event | None:
        epoch = self._epoch(message)
        pointer = clean_pointer(message.get("pointer"))
        if not is_presenter(meeting=self.meeting, user=self.user, epoch=epoch):
            return None
        return LivePointer(epoch=epoch, pointer=pointer)

    def _request_control(self, message: dict) -> Event:
        return LiveControlRequest(user=str(self.user.uuid), name=self.user.display_name)

    def _assign(self, message: dict) -> Event:
        presenter = None
        if message.get("user"):
            presenter = User.objects.filter(uuid=UUID(str(message["user"]))).first()
            if presenter is None:
                raise ValidationError("no such user")
        session = live_assign_presenter(access=self.access, presenter=presenter)
        return LivePresenter(
            seq=session.seq,
            epoch=session.epoch,
            presenter=str(presenter.uuid) if presenter else None,
        )

    def _goto(self, message: dict) -> Event:
        item = AgendaItem.objects.filter(
            meeting=self.meeting, uuid=UUID(str(message.get("item")))
        ).first()
        if item is None:
            raise ValidationError("no such agenda item")
        session = live_goto(access=self.access, item=item)
        presenter = session.presenter
        return LiveItem(
            seq=session.seq,
            epoch=session.epoch,
            item=str(item.uuid),
            presenter=str(presenter.uuid) if presenter else None,
        )
