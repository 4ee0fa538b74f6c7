"""The live hub: one subscription per process, latest state wins, and a lost layer resyncs."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.layers import InMemoryChannelLayer

from realtime.events import LivePresenter, LiveState
from realtime.groups import meeting_group
from realtime.hub import LiveHub
from realtime.publish import layer_message

pytestmark = pytest.mark.asyncio


class Socket:
    def __init__(self):
        self.texts: list[str] = []
        self.lost = False

    async def live_deliver(self, texts):
        self.texts.extend(texts)

    async def live_lost(self):
        self.lost = True


def state_event(seq: int, epoch: int = 1):
    return LiveState(seq=seq, epoch=epoch, state={"layout": "1x1", "n": seq})


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


class SlowSocket(Socket):
    """A socket whose first write blocks until released (a saturated process)."""

    def __init__(self):
        super().__init__()
        self.release = asyncio.Event()

    async def live_deliver(self, texts):
        self.texts.extend(texts)
        await self.release.wait()


async def send(layer, meeting, *events):
    group = meeting_group(meeting)
    for event in events:
        await layer.group_send(group, layer_message(group, event))


async def test_what_arrives_while_the_hub_is_busy_is_coalesced_to_the_latest_state():
    layer = InMemoryChannelLayer()
    hub, meeting = LiveHub(layer), uuid.uuid4()
    slow, fast = SlowSocket(), Socket()
    await hub.register(meeting, slow)
    await hub.register(meeting, fast)
    await send(layer, meeting, state_event(1))
    await settle()
    assert slow.texts == [state_event(1).to_json()]
    # Nine more states while the hub is stuck writing the first: only the last is worth it.
    await send(layer, meeting, *(state_event(seq) for seq in range(2, 11)))
    await settle()
    slow.release.set()
    await settle()
    expected = [state_event(1).to_json(), state_event(10).to_json()]
    assert slow.texts == expected
    assert fast.texts == expected


async def test_events_between_states_are_kept_in_order():
    layer = InMemoryChannelLayer()
    hub, meeting = LiveHub(layer), uuid.uuid4()
    slow = SlowSocket()
    await hub.register(meeting, slow)
    await send(layer, meeting, state_event(1))
    await settle()
    handoff = LivePresenter(seq=4, epoch=2, presenter=None)
    await send(layer, meeting, state_event(2), state_event(3), handoff)
    await send(layer, meeting, state_event(5, 2), state_event(6, 2))
    await settle()
    slow.release.set()
    await settle()
    assert slow.texts == [
        state_event(1).to_json(),
        state_event(3).to_json(),
        handoff.to_json(),
        state_event(6, 2).to_json(),
    ]


async def test_other_meetings_and_departed_sockets_hear_nothing():
    layer = InMemoryChannelLayer()
    hub = LiveHub(layer)
    mine, other = uuid.uuid4(), uuid.uuid4()
    stays, leaves, elsewhere = Socket(), Socket(), Socket()
    await hub.register(mine, stays)
    await hub.register(mine, leaves)
    await hub.register(other, elsewhere)
    await hub.unregister(mine, leaves)
    group = meeting_group(mine)
    await layer.group_send(group, layer_message(group, state_event(1)))
    await settle()
    assert (len(stays.texts), leaves.texts, elsewhere.texts) == (1, [], [])


class BrokenLayer(InMemoryChannelLayer):
    async def receive(self, channel):
        raise ConnectionError("Redis went away")


async def test_a_lost_channel_layer_sends_every_socket_to_reconnect():
    hub = LiveHub(BrokenLayer())
    sockets = [Socket(), Socket()]
    for socket in sockets:
        await hub.register(uuid.uuid4(), socket)
    await settle()
    assert all(socket.lost for socket in sockets)
    assert hub.listeners == {}
    hub.reader.cancel()


class SlowRedis(InMemoryChannelLayer):
    """A layer whose first blocking reads time out, as an idle Redis read does."""

    def __init__(self):
        super().__init__()
        self.timeouts = 3

    async def receive(self, channel):
        if self.timeouts:
            self.timeouts -= 1
            from redis.exceptions import TimeoutError as RedisTimeout

            raise RedisTimeout("Timeout reading from socket")
        return await super().receive(channel)


async def test_an_idle_read_timing_out_is_not_an_outage():
    layer = SlowRedis()
    hub, meeting = LiveHub(layer), uuid.uuid4()
    socket = Socket()
    await hub.register(meeting, socket)
    await send(layer, meeting, state_event(1))
    await settle()
    assert not socket.lost
    assert socket.texts == [state_event(1).to_json()]
    hub.reader.cancel()
