"""The case socket: opinions appear live for those who may see them."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from realtime.consumers import CLOSE_FORBIDDEN, CLOSE_REVOKED
from tests.cases.factories import invite, make_case
from tests.realtime.sockets import communicator, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def follow(user, case):
    _, cookie = await sync_to_async(session_cookie)(user)
    comm = communicator(f"/ws/cases/{case.uuid}/", cookie=cookie)
    connected, code = await comm.connect()
    return comm, connected, code


async def test_member_sees_a_new_opinion_event_after_commit(cast, channel_layer):
    case = await sync_to_async(make_case)(cast)
    comm, connected, _ = await follow(cast.radiologist, case)
    assert connected
    assert json.loads(await comm.receive_from())["type"] == "session.ready"

    def post():
        from cases.access import case_access
        from cases.services import opinion_post

        return opinion_post(access=case_access(cast.pathologist, case), body="Grade 3.")

    posted = await sync_to_async(post)()
    event = json.loads(await comm.receive_from())
    assert event == {
        "type": "opinion.posted",
        "case": str(case.uuid),
        "opinion": str(posted.uuid),
        "parent": None,
        "change": "created",
    }
    await comm.disconnect()


@pytest.mark.parametrize("who", ["outsider", "other_member", "patient"])
async def test_outsiders_cannot_follow(cast, channel_layer, who):
    case = await sync_to_async(make_case)(cast)
    _, connected, code = await follow(getattr(cast, who), case)
    assert not connected
    assert code == CLOSE_FORBIDDEN


async def test_submitter_without_shared_opinions_cannot_follow(cast, channel_layer):
    case = await sync_to_async(make_case)(cast)
    _, connected, _ = await follow(cast.referrer, case)
    assert not connected


async def test_revoked_expert_is_disconnected(cast, channel_layer):
    case = await sync_to_async(make_case)(cast)
    granted = await sync_to_async(invite)(cast, case)
    expert, connected, _ = await follow(cast.expert, case)
    assert connected
    await expert.receive_from()  # session.ready
    member, _, _ = await follow(cast.surgeon, case)
    await member.receive_from()

    def revoke():
        from cases.access import case_access
        from cases.services import invite_revoke

        invite_revoke(access=case_access(cast.chair, case), invite=granted)

    await sync_to_async(revoke)()
    assert (await expert.receive_output())["code"] == CLOSE_REVOKED
    # the others are not told who lost access
    assert await member.receive_nothing(timeout=0.3)
    await member.disconnect()
