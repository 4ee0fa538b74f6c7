"""The live meeting socket on the real ASGI app, over the in-memory and the Redis layer."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from meetings.consumers import CLOSE_FLOOD
from meetings.models import Attendance, LiveSession
from realtime.consumers import CLOSE_FORBIDDEN, CLOSE_REVOKED
from tests.meetings.factories import acting, make_meeting, put_on_agenda, ready_case
from tests.realtime.sockets import communicator, session_cookie

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


async def quiet(*comms) -> None:
    """Read what the sockets have been told so far (presence, hand-offs) until they go quiet."""
    for comm in comms:
        while not await comm.receive_nothing(timeout=0.2):
            await comm.receive_from()


async def close_code(comm) -> int:
    """Skip what the socket still says until it closes; the close code."""
    while (output := await comm.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    return output["code"]


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
        "present": [str(cast.radiologist.uuid)],
        "status": "scheduled",
        "agenda": [],
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
    await quiet(follower)
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
    assert await close_code(comm) == CLOSE_FLOOD


async def test_an_oversized_message_closes_the_socket(cast, meeting, channel_layer):
    comm, _, _ = await join(cast.surgeon, meeting)
    await comm.send_to(text_data="x" * (17 * 1024))
    assert await close_code(comm) == CLOSE_FLOOD


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
    assert (await next_event(comm, "access.revoked"))["reason"] == "logout"
    assert await close_code(comm) == CLOSE_REVOKED


async def test_presence_counts_a_user_once_across_tabs(cast, meeting, channel_layer):
    chair, _, _ = await join(cast.chair, meeting)
    tab1, _, _ = await join(cast.surgeon, meeting)
    both = sorted([str(cast.chair.uuid), str(cast.surgeon.uuid)])
    while (await next_event(chair, "live.presence"))["present"] != both:
        pass
    tab2, _, snapshot = await join(cast.surgeon, meeting)
    assert str(cast.surgeon.uuid) in snapshot["present"]
    # Closing one of two tabs changes nothing; closing the last one does.
    await quiet(chair)
    await tab1.disconnect()
    assert await chair.receive_nothing(timeout=0.3)
    await tab2.disconnect()
    assert (await next_event(chair, "live.presence"))["present"] == [str(cast.chair.uuid)]
    await chair.disconnect()


async def test_the_presenters_pointer_reaches_followers_and_nobody_elses_does(
    cast, meeting, channel_layer
):
    chair, _, _ = await join(cast.chair, meeting)
    member, _, _ = await join(cast.pathologist, meeting)
    await chair.send_json_to({"type": "presenter.assign", "user": str(cast.chair.uuid)})
    epoch = (await next_event(member, "live.presenter"))["epoch"]
    await quiet(chair, member)
    await member.send_json_to(
        {"type": "pointer", "epoch": epoch, "pointer": {"viewport": 0, "x": 1, "y": 2}}
    )
    assert await chair.receive_nothing(timeout=0.3)
    pointer = {"viewport": 1, "x": 120.5, "y": 64}
    await chair.send_json_to({"type": "pointer", "epoch": epoch, "pointer": pointer})
    event = await next_event(member, "live.pointer")
    assert event == {"type": "live.pointer", "epoch": epoch, "pointer": {**pointer, "y": 64.0}}
    await chair.send_json_to({"type": "pointer", "epoch": epoch, "pointer": {"viewport": 9}})
    assert "viewport" in (await next_event(chair, "error"))["error"]
    await chair.disconnect()
    await member.disconnect()


async def test_a_member_asks_for_control_and_the_chair_hears_it(cast, meeting, channel_layer):
    chair, _, _ = await join(cast.chair, meeting)
    member, _, _ = await join(cast.radiologist, meeting)
    await member.send_json_to({"type": "presenter.request"})
    request = await next_event(chair, "live.control_request")
    assert request["user"] == str(cast.radiologist.uuid)
    await chair.disconnect()
    await member.disconnect()


async def test_a_process_subscribes_once_per_meeting_however_many_sockets(
    cast, meeting, channel_layer
):
    """The fan-out costs one channel-layer message per process, not one per socket."""
    from realtime.groups import meeting_group

    sockets = [(await join(user, meeting))[0] for user in [cast.chair, *cast.members]]
    if hasattr(channel_layer, "groups"):  # in memory: the group's members are visible
        assert len(channel_layer.groups[meeting_group(meeting.uuid)]) == 1
    else:
        key = channel_layer._group_key(meeting_group(meeting.uuid))
        async with channel_layer.connection(channel_layer.consistent_hash(key)) as redis:
            assert await redis.zcard(key) == 1
    await sockets[0].send_json_to({"type": "presenter.assign", "user": str(cast.chair.uuid)})
    for comm in sockets:
        assert (await next_event(comm, "live.presenter"))["presenter"] == str(cast.chair.uuid)
    for comm in sockets:
        await comm.disconnect()


async def test_opinions_on_an_agenda_case_are_announced_in_the_meeting(
    cast, meeting, channel_layer
):
    from cases.access import case_access
    from cases.services import opinion_post

    case = await sync_to_async(lambda: put_on_agenda(meeting, ready_case(cast), 1).case)()
    member, _, _ = await join(cast.surgeon, meeting)

    def post():
        access = case_access(cast.pathologist, case)
        return opinion_post(access=access, body="Dedifferentiated liposarcoma.")

    opinion = await sync_to_async(post)()
    event = await next_event(member, "opinion.posted")
    assert (event["case"], event["opinion"]) == (str(case.uuid), str(opinion.uuid))
    await member.disconnect()


async def test_leaving_the_board_closes_the_meeting_socket(cast, meeting, channel_layer):
    from board.models import Membership

    member, _, _ = await join(cast.surgeon, meeting)
    await sync_to_async(Membership.objects.filter(user=cast.surgeon, board=cast.board).delete)()
    assert await close_code(member) == CLOSE_REVOKED


async def test_attendance_closes_even_when_the_layer_refuses_to_let_go(
    cast, meeting, channel_layer, monkeypatch
):
    """Hundreds of sockets closing at once can exhaust the Redis pool; leaving still counts."""
    comm, _, _ = await join(cast.surgeon, meeting)

    async def refuse(group, channel):
        raise ConnectionError("Too many connections")

    monkeypatch.setattr(channel_layer, "group_discard", refuse)
    await comm.disconnect()
    rows = await sync_to_async(list)(Attendance.objects.filter(user=cast.surgeon))
    assert rows[0].left_at is not None


async def test_a_heartbeat_keeps_the_join_alive_and_ghosts_do_not_count(
    cast, meeting, channel_layer, monkeypatch
):
    import datetime

    from django.utils import timezone

    from meetings import consumers, models

    monkeypatch.setattr(consumers, "HEARTBEAT", datetime.timedelta(seconds=0.05))
    # A join left open by a process that died: older than the presence timeout.
    ghost = timezone.now() - models.PRESENCE_TIMEOUT - datetime.timedelta(seconds=1)
    await sync_to_async(Attendance.objects.create)(
        meeting=meeting, user=cast.pathologist, joined_at=ghost, seen_at=ghost
    )
    comm, _, snapshot = await join(cast.surgeon, meeting)
    assert snapshot["present"] == [str(cast.surgeon.uuid)]
    row = await sync_to_async(Attendance.objects.get)(user=cast.surgeon)
    first = row.seen_at
    await asyncio.sleep(0.3)
    await sync_to_async(row.refresh_from_db)()
    assert row.seen_at > first
    await comm.disconnect()


async def test_a_member_hears_the_new_order_when_the_chair_moves_an_item_over_http(
    cast, meeting, channel_layer
):
    from django.urls import reverse

    def agenda():
        return [put_on_agenda(meeting, ready_case(cast), n) for n in (1, 2)]

    first, second = await sync_to_async(agenda)()
    member, _, snapshot = await join(cast.surgeon, meeting)
    assert [i["uuid"] for i in snapshot["agenda"]] == [str(first.uuid), str(second.uuid)]

    def move_down():
        client, _ = session_cookie(cast.chair)
        url = reverse("agenda-move", kwargs={"meeting_id": meeting.uuid, "item_id": first.uuid})
        return client.post(url, {"direction": "down"}).status_code

    assert await sync_to_async(move_down)() == 302
    event = await next_event(member, "agenda.reordered")
    assert event["order"] == [str(second.uuid), str(first.uuid)]
    assert event["seq"] == snapshot["seq"] + 1
    await member.disconnect()


async def test_another_meetings_socket_hears_nothing_of_an_agenda_change(
    cast, meeting, channel_layer
):
    from meetings.services import agenda_set_time_box

    item = await sync_to_async(lambda: put_on_agenda(meeting, ready_case(cast), 1))()
    other = await sync_to_async(make_meeting)(cast, title="April")
    member, _, _ = await join(cast.surgeon, other)
    await quiet(member)
    await sync_to_async(
        lambda: agenda_set_time_box(access=acting(cast.chair, meeting), item=item, minutes=20)
    )()
    assert await member.receive_nothing(timeout=0.5)
    await member.disconnect()
