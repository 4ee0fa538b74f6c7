"""Fan-out of a meeting's events: one channel-layer message per process, not per socket.

A naive consumer joins the meeting's group itself, so every update costs one channel-layer
message per follower: at 200 followers and 30 states a second that is 6,000 messages a
second, each decoded, dispatched and re-encoded, and Daphne falls behind without bound.

Instead each process (each event loop) runs one ``LiveHub``. The hub's own channel joins
the group ``meeting.<hex>`` once, when the first local socket of that meeting registers, so
``group_send`` (from a consumer, or from ``publish_on_commit`` after a write) costs one
message per process, in memory or over Redis alike. The hub then writes the already-encoded
text to each local socket.

Latest state wins: messages that arrive while the hub is still writing the previous ones
wait in a short list, where a new state replaces a waiting one of the same kind
(``COALESCED``) instead of queueing behind it. A process that falls behind therefore skips
intermediate viewer states rather than delivering them late; states are full replacements,
so nothing is lost but the past.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Protocol

from channels.layers import get_channel_layer
from redis.exceptions import TimeoutError as RedisTimeout

from realtime.groups import meeting_group

logger = logging.getLogger(__name__)

# Event types a newer message of the same type makes worthless (see module docstring).
COALESCED = frozenset({"live.state", "live.pointer", "live.presence"})
RETRY_SECONDS = (0.5, 1, 2, 5)


class Listener(Protocol):
    async def live_deliver(self, texts: list[str]) -> None: ...

    async def live_lost(self) -> None: ...


class LiveHub:
    """One per event loop: the process's single subscriber to the meetings it serves."""

    def __init__(self, layer) -> None:
        self.layer = layer
        self.listeners: dict[str, set[Listener]] = {}
        self.pending: dict[str, list[tuple[str, str]]] = {}
        self.flushing: set[str] = set()
        self.channel: str | None = None
        self.reader: asyncio.Task | None = None
        self.lock = asyncio.Lock()

    async def register(self, meeting_uuid, listener: Listener) -> None:
        group = meeting_group(meeting_uuid)
        async with self.lock:
            if self.channel is None:
                # The default prefix matters: channels-redis reads all of a process's
                # channels with one shared loop per prefix, and a second prefix would starve.
                self.channel = await self.layer.new_channel()
            if self.reader is None or self.reader.done():
                self.reader = asyncio.get_running_loop().create_task(self._read())
            listeners = self.listeners.setdefault(group, set())
            if not listeners:
                # Re-added on every first listener: it also refreshes the group's expiry.
                await self.layer.group_add(group, self.channel)
            listeners.add(listener)

    async def unregister(self, meeting_uuid, listener: Listener) -> None:
        group = meeting_group(meeting_uuid)
        async with self.lock:
            listeners = self.listeners.get(group)
            if listeners is None:
                return
            listeners.discard(listener)
            if not listeners:
                del self.listeners[group]
                self.pending.pop(group, None)
                try:
                    await self.layer.group_discard(group, self.channel)
                except Exception:
                    # The layer is down; the group expires by itself.
                    logger.warning("could not leave %s", group, exc_info=True)

    async def _read(self) -> None:
        attempt = 0
        while True:
            try:
                message = await self.layer.receive(self.channel)
                attempt = 0
            except asyncio.CancelledError:
                raise
            except RedisTimeout:
                # An idle blocking read timed out: Redis is there, nothing was lost.
                continue
            except Exception:
                # The layer (Redis) is gone: whatever was published meanwhile is lost, so
                # every local socket is told to reconnect, which resyncs from the snapshot.
                logger.warning("live hub lost its channel layer", exc_info=True)
                await self._lost()
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
                continue
            group = message.get("group")
            text = message.get("text")
            if group in self.listeners and isinstance(text, str):
                self._queue(group, message.get("event", ""), text)

    def _queue(self, group: str, event_type: str, text: str) -> None:
        pending = self.pending.setdefault(group, [])
        if pending and event_type in COALESCED and pending[-1][0] == event_type:
            pending[-1] = (event_type, text)
        else:
            pending.append((event_type, text))
        if group not in self.flushing:
            self.flushing.add(group)
            asyncio.get_running_loop().create_task(self._flush(group))

    async def _flush(self, group: str) -> None:
        """Deliver until nothing waits. What arrives during a round waits for the next one,
        coalesced: a process that cannot keep up sends fewer, newer states, never a queue."""
        try:
            while pending := self.pending.pop(group, None):
                texts = [text for _, text in pending]
                for listener in list(self.listeners.get(group, ())):
                    try:
                        await listener.live_deliver(texts)
                    except Exception:
                        logger.warning("could not deliver to a socket of %s", group, exc_info=True)
                # Let the reader drain what arrived meanwhile before the next round.
                await asyncio.sleep(0)
        finally:
            self.flushing.discard(group)

    async def _lost(self) -> None:
        self.pending.clear()
        for listeners in list(self.listeners.values()):
            for listener in list(listeners):
                try:
                    await listener.live_lost()
                except Exception:
                    logger.debug("socket already gone", exc_info=True)
        # Re-join on the next registration, when the layer is back.
        self.listeners.clear()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LiveHub] = weakref.WeakKeyDictionary()


def live_hub() -> LiveHub:
    """This event loop's hub, for the current channel layer (tests swap layers)."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        hub = _hubs[loop] = LiveHub(layer)
    return hub
