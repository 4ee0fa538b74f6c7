"""Applying what a live page hears to its old snapshot gives the fresh snapshot (Zulip's
verify_action): a chair's socket records everything the meeting publishes while the chair
drives the session and edits the agenda, each event goes through JSON as over Redis, and
``meetings.live.apply_event`` folds them into the snapshot the socket started from.
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from meetings import services
from meetings.live import SeqGap, apply_event, live_session, snapshot
from meetings.models import AgendaItem
from realtime.events import AgendaTimeBoxSet, Event, LiveSnapshot
from tests.meetings.factories import acting, make_meeting, put_on_agenda, ready_case
from tests.realtime.sockets import communicator, session_cookie


def viewer_state(zoom: float) -> dict:
    view = {"series": None, "slice": 2, "center": 40, "width": 400, "zoom": zoom}
    return {"layout": "1x1", "active": 0, "viewports": [view, view, view, view]}


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_folding_the_published_events_into_the_old_snapshot_gives_the_new_one(cast, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

    def setup():
        meeting = make_meeting(cast)
        first = put_on_agenda(meeting, ready_case(cast), 1, presenter=cast.radiologist)
        return meeting, first, ready_case(cast), ready_case(cast)

    meeting, first, case_a, case_b = await sync_to_async(setup)()
    _, cookie = await sync_to_async(session_cookie)(cast.chair)
    chair = communicator(f"/ws/meetings/{meeting.uuid}/", cookie=cookie)
    assert (await chair.connect())[0]
    assert json.loads(await chair.receive_from())["type"] == "session.ready"
    old = Event.from_json(await chair.receive_from())
    assert isinstance(old, LiveSnapshot)
    heard: list[str] = []

    async def until_sequenced() -> None:
        """Record what the socket hears up to the next sequenced event."""
        while True:
            text = await chair.receive_from(timeout=5)
            heard.append(text)
            message = json.loads(text)
            assert message["type"] != "error", message
            if "seq" in message:
                return

    async def service(call) -> None:
        await sync_to_async(call)()
        await until_sequenced()

    async def command(message: dict) -> None:
        await chair.send_json_to(message)
        await until_sequenced()

    def item(case) -> AgendaItem:
        return AgendaItem.objects.get(meeting=meeting, case=case)

    await service(
        lambda: services.agenda_add(
            access=acting(cast.chair, meeting), case=case_a, presenter=cast.pathologist
        )
    )
    await service(
        lambda: services.agenda_add(
            access=acting(cast.chair, meeting), case=case_b, time_box_minutes=5
        )
    )
    await command({"type": "agenda.goto", "item": str(first.uuid)})
    await command({"type": "presenter.assign", "user": str(cast.chair.uuid)})
    await command({"type": "viewer.state", "epoch": 2, "state": viewer_state(1.5)})
    await service(
        lambda: services.agenda_reorder(
            access=acting(cast.chair, meeting),
            order=[item(case_b).uuid, first.uuid, item(case_a).uuid],
        )
    )
    await service(
        lambda: services.agenda_set_presenter(
            access=acting(cast.chair, meeting), item=item(case_a), presenter=cast.surgeon
        )
    )
    await service(
        lambda: services.agenda_set_time_box(
            access=acting(cast.chair, meeting), item=item(case_b), minutes=30
        )
    )
    await service(
        lambda: services.agenda_move(
            access=acting(cast.chair, meeting), item=item(case_a), offset=-1
        )
    )
    await command({"type": "viewer.state", "epoch": 2, "state": viewer_state(2.5)})
    # The case on show comes off the agenda: the live state shows none.
    await service(lambda: services.agenda_remove(access=acting(cast.chair, meeting), item=first))
    await service(lambda: services.meeting_cancel(access=acting(cast.chair, meeting)))
    assert await chair.receive_nothing(timeout=0.3)

    fresh = await sync_to_async(lambda: snapshot(live_session(meeting)))()
    await chair.disconnect()

    events = [Event.from_json(text) for text in heard]
    sequenced = [e.type for e in events if hasattr(e, "seq")]
    assert sequenced == [
        "agenda.item_added",
        "agenda.item_added",
        "live.item",
        "live.presenter",
        "live.state",
        "agenda.reordered",
        "agenda.presenter",
        "agenda.time_box",
        "agenda.reordered",
        "live.state",
        "agenda.item_removed",
        "meeting.status",
    ]
    folded = old
    for event in events:
        # The JSON round trip a Redis layer makes (the in-memory one passes the same text).
        folded = apply_event(folded, Event.from_json(event.to_json()))
    assert folded == fresh
    # ... and that is a real change, not two equal empty states.
    assert (fresh.seq, fresh.status, fresh.item) == (12, "cancelled", None)
    assert [(i["pseudonym"], i["time_box"]) for i in fresh.agenda] == [
        (case_b.pseudonym, 30),
        (case_a.pseudonym, 10),
    ]
    assert fresh.agenda[1]["presenter"] == str(cast.surgeon.uuid)
    assert fresh.state["viewports"][0]["zoom"] == 2.5


def test_a_gap_in_seq_is_refused():
    old = LiveSnapshot(
        seq=3,
        epoch=1,
        presenter=None,
        item=None,
        state=None,
        present=[],
        status="scheduled",
        agenda=[{"uuid": "a", "case": "c", "pseudonym": "P", "time_box": 10, "presenter": None}],
    )
    assert (
        apply_event(old, AgendaTimeBoxSet(seq=4, item="a", minutes=20)).agenda[0]["time_box"] == 20
    )
    with pytest.raises(SeqGap):
        apply_event(old, AgendaTimeBoxSet(seq=5, item="a", minutes=20))
    with pytest.raises(SeqGap):
        apply_event(old, AgendaTimeBoxSet(seq=3, item="a", minutes=20))
