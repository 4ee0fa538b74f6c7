"""The live meeting socket on the real ASGI app, over the in-memory and the Redis layer."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from meetings.models import Attendance, LiveSession
from realtime.consumers import CLOSE_FLOOD, CLOSE_FORBIDDEN
from tests.meetings.conftest import make_meeting, put_on_agenda, ready_case
from tests.realtime.conftest import communicator, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def state(zoom: float = 1.0, slice_: int = 3) -> dict:
    view = {
        "series": None,
        "slice": slice_,
        "center": 40,
        "width": 400,
        "preset": None,
        "invert": False,
        "zoom": zoom,
        "pan": [0, 0],
        "rotation": 0,
        "flipH": False,
        "flipV": False,
    }
    return {"layout": "1x1", "active": 0, "viewports": [view, dict(view), dict(view), dict(view)]}


async def join(user, meeting, origin=None):
    _, cookie = await sync_to_async(session_cookie)(user)
    kwargs = {"cookie": cookie}
    if origin is not None:
        kwargs["origin"] = origin
    comm = communicator(f"/ws/meetings/{meeting.uuid}/", **kwargs)
    connected, code = await comm.connect()
    if not connected:
        return comm, code, None
    assert json.loads(await comm.receive_from())["type"] == "session.ready"
    snapshot = json.loads(await comm.receive_from())
    assert snapshot["type"] == "live.snapshot"
    return comm, None, snapshot


async def next_event(comm, kind):
    while True:
        event = json.loads(await comm.receive_from())
        if event["type"] == kind:
            return event


@pytest.fixture
def meeting(cast):
    return make_meeting(cast)


async def test_members_join_and_get_the_snapshot_and_attendance_is_recorded(
    cast, meeting, channel_layer
):
    comm, _, snapshot = await join(cast.radiologist, meeting)
    assert snapshot == {
        "type": "live.snapshot",
        "seq": 0,
        "epoch": 0,
        "presenter": None,
        "item": None,
        "state": None,
    }
    rows = await sync_to_async(list)(Attendance.objects.filter(user=cast.radiologist))
    assert len(rows) == 1 and rows[0].left_at is None
    await comm.disconnect()
    rows = await sync_to_async(list)(Attendance.objects.filter(user=cast.radiologist))
    assert rows[0].left_at is not None


@pytest.mark.parametrize("who", ["outsider", "other_member", "referrer", "patient"])
async def test_outsiders_are_refused(cast, meeting, channel_layer, who):
    _, code, _ = await join(getattr(cast, who), meeting)
    assert code == CLOSE_FORBIDDEN


async def test_anonymous_and_foreign_origins_are_refused(cast, meeting, channel_layer):
    comm = communicator(f"/ws/meetings/{meeting.uuid}/")
    connected, code = await comm.connect()
    assert (connected, code) == (False, CLOSE_FORBIDDEN)
    _, code, _ = await join(cast.chair, meeting, origin=(b"origin", b"https://evil.example"))
    assert code is not None


async def test_only_the_presenter_of_the_current_epoch_drives_the_viewer(
    cast, meeting, channel_layer
):
    chair, _, _ = await join(cast.chair, meeting)
    follower, _, _ = await join(cast.surgeon, meeting)
    presenter, _, _ = await join(cast.radiologist, meeting)

    await chair.send_json_to({"type": "presenter.assign", "user": str(cast.radiologist.uuid)})
    handoff = await next_event(follower, "live.presenter")
    assert (handoff["presenter"], handoff["epoch"]) == (str(cast.radiologist.uuid), 1)

    # A non-presenter's state and a stale epoch are ignored: nobody hears anything.
    await follower.send_json_to({"type": "viewer.state", "epoch": 1, "state": state(zoom=9)})
    await presenter.send_json_to({"type": "viewer.state", "epoch": 0, "state": state(zoom=8)})
    assert await follower.receive_nothing(timeout=0.3)

    seqs = []
    for zoom in (1.5, 2.0, 2.5):
        await presenter.send_json_to({"type": "viewer.state", "epoch": 1, "state": state(zoom)})
        event = await next_event(follower, "live.state")
        assert event["state"]["viewports"][0]["zoom"] == zoom
        seqs.append(event["seq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == 3

    # A late joiner starts from the snapshot: the latest state, seq and presenter.
    late, _, snapshot = await join(cast.oncologist, meeting)
    assert snapshot["seq"] == seqs[-1]
    assert snapshot["state"]["viewports"][0]["zoom"] == 2.5
    assert snapshot["presenter"] == str(cast.radiologist.uuid)

    # Hand-off: the old presenter's states no longer count.
    await chair.send_json_to({"type": "presenter.assign", "user": str(cast.surgeon.uuid)})
    assert (await next_event(late, "live.presenter"))["epoch"] == 2
    await presenter.send_json_to({"type": "viewer.state", "epoch": 1, "state": state(7)})
    await follower.send_json_to({"type": "viewer.state", "epoch": 2, "state": state(3.0)})
    assert (await next_event(late, "live.state"))["state"]["viewports"][0]["zoom"] == 3.0
    for comm in (chair, follower, presenter, late):
        await comm.disconnect()


async def test_bad_states_are_refused_with_a_reason(cast, meeting, channel_layer):
    chair, _, _ = await join(cast.chair, meeting)
    await chair.send_json_to({"type": "presenter.assign", "user": str(cast.chair.uuid)})
    await next_event(chair, "live.presenter")
    bad = state()
    bad["viewports"][0]["zoom"] = 1e9
    await chair.send_json_to({"type": "viewer.state", "epoch": 1, "state": bad})
    error = await next_event(chair, "error")
    assert "zoom" in error["error"]
    session = await sync_to_async(LiveSession.objects.get)(meeting=meeting)
    assert session.viewer_state is None
    await chair.disconnect()


async def test_members_cannot_hand_off_or_move_the_agenda(cast, meeting, channel_layer):
    member, _, _ = await join(cast.pathologist, meeting)
    await member.send_json_to({"type": "presenter.assign", "user": str(cast.pathologist.uuid)})
    assert (await next_event(member, "error"))["error"] == "not allowed"
    session = await sync_to_async(LiveSession.objects.get)(meeting=meeting)
    assert (session.presenter_id, session.epoch) == (None, 0)
    await member.disconnect()


async def test_the_chair_moves_everyone_to_the_next_case(cast, meeting, channel_layer):
    def agenda():
        return put_on_agenda(meeting, ready_case(cast), 1, presenter=cast.radiologist)

    item = await sync_to_async(agenda)()
    chair, _, _ = await join(cast.chair, meeting)
    member, _, _ = await join(cast.surgeon, meeting)
    await chair.send_json_to({"type": "agenda.goto", "item": str(item.uuid)})
    moved = await next_event(member, "live.item")
    assert moved["item"] == str(item.uuid)
    assert moved["presenter"] == str(cast.radiologist.uuid)
    await chair.disconnect()
    await member.disconnect()


async def test_a_flood_closes_the_socket(cast, meeting, channel_layer):
    comm, _, _ = await join(cast.surgeon, meeting)
    for _ in range(200):
        await comm.send_json_to({"type": "sync"})
    closed = None
    while closed is None:
        output = await comm.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            closed = output["code"]
    assert closed == CLOSE_FLOOD


async def test_an_oversized_message_closes_the_socket(cast, meeting, channel_layer):
    comm, _, _ = await join(cast.surgeon, meeting)
    await comm.send_to(text_data="x" * (17 * 1024))
    assert (await comm.receive_output())["code"] == CLOSE_FLOOD


async def test_a_cancelled_meeting_cannot_be_joined(cast, meeting, channel_layer):
    meeting.status = "cancelled"
    await sync_to_async(meeting.save)()
    _, code, _ = await join(cast.chair, meeting)
    assert code == CLOSE_FORBIDDEN


async def test_logout_closes_the_meeting_socket(cast, meeting, channel_layer):
    from django.urls import reverse

    client, cookie = await sync_to_async(session_cookie)(cast.surgeon)
    comm = communicator(f"/ws/meetings/{meeting.uuid}/", cookie=cookie)
    assert (await comm.connect())[0]
    await comm.receive_from()
    await comm.receive_from()
    await sync_to_async(client.post)(reverse("logout"))
    revoked = json.loads(await comm.receive_from())
    assert revoked["type"] == "access.revoked"
    assert (await comm.receive_output())["type"] == "websocket.close"
