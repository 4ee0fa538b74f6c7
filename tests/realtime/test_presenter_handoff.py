"""The presenter who left (issue #16): when the presenter's last socket has been gone for
MEETING_PRESENTER_GRACE_SECONDS, the viewer goes back to the chair and every participant hears
it as any hand-off. Gone is read from the attendance all processes share, so the hand-back
happens whichever process notices: the one that closed the presenter's socket, or any socket's
heartbeat (a presenter whose process died)."""

from __future__ import annotations

import asyncio
import datetime
import json

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from meetings.live import live_assign_presenter, live_return_control, live_session
from meetings.models import PRESENCE_TIMEOUT, Attendance, LiveSession
from tests.meetings.factories import acting, make_meeting
from tests.realtime.test_meeting_socket import join, next_event, quiet

GRACE = 30


@pytest.fixture
def meeting(cast):
    return make_meeting(cast)


def hand_to(cast, meeting, user, *, ago: float = 0) -> LiveSession:
    session = live_assign_presenter(access=acting(cast.chair, meeting), presenter=user)
    if ago:
        since = timezone.now() - datetime.timedelta(seconds=ago)
        LiveSession.objects.filter(pk=session.pk).update(presenter_since=since)
    return live_session(meeting)


def attend(meeting, user, *, left_ago=None, seen_ago=0.0) -> Attendance:
    now = timezone.now()
    joined = now - datetime.timedelta(seconds=600)
    return Attendance.objects.create(
        meeting=meeting,
        user=user,
        joined_at=joined,
        seen_at=now - datetime.timedelta(seconds=seen_ago),
        left_at=None if left_ago is None else now - datetime.timedelta(seconds=left_ago),
    )


# --- when control returns (the rule, without sockets) ---------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("left_ago", "returned"),
    [(GRACE + 1, True), (GRACE - 5, False)],
)
def test_control_returns_once_the_presenters_last_join_is_gone_for_the_grace(
    cast, meeting, settings, left_ago, returned
):
    settings.MEETING_PRESENTER_GRACE_SECONDS = GRACE
    before = hand_to(cast, meeting, cast.radiologist, ago=600)
    attend(meeting, cast.radiologist, left_ago=600)  # an earlier tab
    attend(meeting, cast.radiologist, left_ago=left_ago)  # the last one
    session = live_return_control(meeting=meeting)
    assert (session is not None) is returned
    after = live_session(meeting)
    if returned:
        assert after.presenter == cast.chair
        assert (after.epoch, after.seq) == (before.epoch + 1, before.seq + 1)
        assert live_return_control(meeting=meeting) is None  # once
    else:
        assert after.presenter == cast.radiologist and after.epoch == before.epoch


@pytest.mark.django_db
def test_a_presenter_with_one_tab_still_open_keeps_control(cast, meeting, settings):
    settings.MEETING_PRESENTER_GRACE_SECONDS = GRACE
    hand_to(cast, meeting, cast.radiologist, ago=600)
    attend(meeting, cast.radiologist, left_ago=500)
    attend(meeting, cast.radiologist)  # open, heartbeat now
    assert live_return_control(meeting=meeting) is None
    assert live_session(meeting).presenter == cast.radiologist


@pytest.mark.django_db
def test_a_presenter_whose_process_died_is_gone_since_the_last_heartbeat(cast, meeting, settings):
    settings.MEETING_PRESENTER_GRACE_SECONDS = GRACE
    hand_to(cast, meeting, cast.radiologist, ago=600)
    stale = PRESENCE_TIMEOUT.total_seconds() + 1
    attend(meeting, cast.radiologist, seen_ago=stale)  # never closed
    assert live_return_control(meeting=meeting).presenter == cast.chair


@pytest.mark.django_db
@pytest.mark.parametrize(("given_ago", "returned"), [(GRACE + 1, True), (5, False)])
def test_a_presenter_who_never_came_has_the_grace_from_being_given_control(
    cast, meeting, settings, given_ago, returned
):
    settings.MEETING_PRESENTER_GRACE_SECONDS = GRACE
    hand_to(cast, meeting, cast.radiologist, ago=given_ago)
    assert (live_return_control(meeting=meeting) is not None) is returned


@pytest.mark.django_db
def test_the_chair_presenting_or_nobody_presenting_changes_nothing(cast, meeting, settings):
    settings.MEETING_PRESENTER_GRACE_SECONDS = 0
    assert live_return_control(meeting=meeting) is None  # no live state yet
    hand_to(cast, meeting, None, ago=600)
    assert live_return_control(meeting=meeting) is None
    hand_to(cast, meeting, cast.chair, ago=600)
    assert live_return_control(meeting=meeting) is None


@pytest.mark.django_db
def test_on_a_board_without_a_chair_control_returns_to_nobody(cast, meeting, settings):
    settings.MEETING_PRESENTER_GRACE_SECONDS = GRACE
    hand_to(cast, meeting, cast.radiologist, ago=600)
    cast.chair.memberships.filter(board=cast.board).update(role="member")
    session = live_return_control(meeting=meeting)
    assert session is not None and session.presenter_id is None


# --- over the socket -----------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_everyone_sees_control_return_to_the_chair_after_the_presenter_leaves(
    cast, meeting, channel_layer, settings
):
    settings.MEETING_PRESENTER_GRACE_SECONDS = 0.3
    chair, _, _ = await join(cast.chair, meeting)
    follower, _, _ = await join(cast.pathologist, meeting)
    presenter, _, _ = await join(cast.radiologist, meeting)
    await chair.send_json_to({"type": "presenter.assign", "user": str(cast.radiologist.uuid)})
    handed = await next_event(follower, "live.presenter")
    assert handed["presenter"] == str(cast.radiologist.uuid)
    await quiet(chair, follower, presenter)
    await presenter.disconnect()
    for comm in (follower, chair):
        back = await asyncio.wait_for(next_event(comm, "live.presenter"), timeout=5)
        assert back["presenter"] == str(cast.chair.uuid)
        assert back["epoch"] == handed["epoch"] + 1
    # The old presenter's states no longer count; a late joiner's snapshot names the chair.
    late, _, snapshot = await join(cast.surgeon, meeting)
    assert snapshot["presenter"] == str(cast.chair.uuid)
    for comm in (chair, follower, late):
        await comm.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_presenter_back_within_the_grace_keeps_control(
    cast, meeting, channel_layer, settings
):
    settings.MEETING_PRESENTER_GRACE_SECONDS = 0.5
    chair, _, _ = await join(cast.chair, meeting)
    presenter, _, _ = await join(cast.radiologist, meeting)
    await chair.send_json_to({"type": "presenter.assign", "user": str(cast.radiologist.uuid)})
    await next_event(chair, "live.presenter")
    await quiet(chair, presenter)
    await presenter.disconnect()
    again, _, snapshot = await join(cast.radiologist, meeting)  # a reload
    assert snapshot["presenter"] == str(cast.radiologist.uuid)
    await asyncio.sleep(0.8)
    for comm in (chair, again):
        while not await comm.receive_nothing(timeout=0.2):
            assert json.loads(await comm.receive_from())["type"] != "live.presenter"
    session = await sync_to_async(live_session)(meeting)
    assert session.presenter_id == cast.radiologist.pk
    for comm in (chair, again):
        await comm.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_heartbeat_in_any_process_returns_control_from_a_presenter_whose_process_died(
    cast, meeting, channel_layer, settings, monkeypatch
):
    """No socket of this process ever served the presenter (their process died): the follower's
    heartbeat, reading the shared attendance, hands control back."""
    from meetings import consumers

    settings.MEETING_PRESENTER_GRACE_SECONDS = 1
    monkeypatch.setattr(consumers, "HEARTBEAT", datetime.timedelta(seconds=0.1))
    follower, _, _ = await join(cast.pathologist, meeting)
    await sync_to_async(hand_to)(cast, meeting, cast.radiologist)
    stale = PRESENCE_TIMEOUT.total_seconds() + 1
    await sync_to_async(attend)(meeting, cast.radiologist, seen_ago=stale)
    # Given control just now: the grace runs from then, then a heartbeat notices.
    while (back := json.loads(await follower.receive_from(timeout=5)))["type"] != "live.presenter":
        pass
    assert back["presenter"] == str(cast.chair.uuid)
    await follower.disconnect()
