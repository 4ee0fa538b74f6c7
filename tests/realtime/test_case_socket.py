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


async def _post_opinion(cast, case, body="Grade 3."):
    def post():
        from cases.access import case_access
        from cases.services import opinion_post

        return opinion_post(access=case_access(cast.pathologist, case), body=body)

    return await sync_to_async(post)()


async def test_an_expired_expert_receives_no_further_opinion(cast, channel_layer):
    from django.utils import timezone

    from cases.models import CaseInvite

    case = await sync_to_async(make_case)(cast)
    granted = await sync_to_async(invite)(cast, case)
    expert, connected, _ = await follow(cast.expert, case)
    assert connected
    await expert.receive_from()  # session.ready
    # Expired, and no sweep has run yet (expire_invites is cron's).
    await sync_to_async(CaseInvite.objects.filter(pk=granted.pk).update)(expires_at=timezone.now())
    await _post_opinion(cast, case)
    output = await expert.receive_output(timeout=2)
    assert output["type"] == "websocket.close"
    assert output["code"] == CLOSE_REVOKED


async def test_the_expert_socket_closes_by_itself_when_the_invite_expires(cast, channel_layer):
    case = await sync_to_async(make_case)(cast)
    await sync_to_async(invite)(cast, case, days=1.5 / 86400)  # 1.5 seconds
    expert, connected, _ = await follow(cast.expert, case)
    assert connected
    await expert.receive_from()  # session.ready
    output = await expert.receive_output(timeout=10)
    assert (output["type"], output["code"]) == ("websocket.close", CLOSE_REVOKED)


async def test_a_renewed_invite_keeps_the_socket_open_past_the_old_expiry(cast, channel_layer):
    case = await sync_to_async(make_case)(cast)
    first = await sync_to_async(invite)(cast, case, days=1.0 / 86400)
    expert, connected, _ = await follow(cast.expert, case)
    assert connected
    await expert.receive_from()

    def renew():
        from django.utils import timezone

        from cases.models import CaseInvite

        CaseInvite.objects.filter(pk=first.pk).update(revoked_at=timezone.now())
        return invite(cast, case, days=7)

    await sync_to_async(renew)()
    assert await expert.receive_nothing(timeout=2)
    posted = await _post_opinion(cast, case)
    event = json.loads(await expert.receive_from(timeout=2))
    assert event["opinion"] == str(posted.uuid)
    await expert.disconnect()


async def test_the_expiry_sweep_closes_the_experts_socket(cast, channel_layer):
    from django.core.management import call_command
    from django.utils import timezone

    from cases.models import CaseInvite

    case = await sync_to_async(make_case)(cast)
    granted = await sync_to_async(invite)(cast, case)
    expert, connected, _ = await follow(cast.expert, case)
    assert connected
    await expert.receive_from()
    member, _, _ = await follow(cast.surgeon, case)
    await member.receive_from()

    def expire_and_sweep():
        CaseInvite.objects.filter(pk=granted.pk).update(expires_at=timezone.now())
        call_command("expire_invites", verbosity=0)

    await sync_to_async(expire_and_sweep)()
    output = await expert.receive_output(timeout=2)
    assert (output["type"], output["code"]) == ("websocket.close", CLOSE_REVOKED)
    assert await member.receive_nothing(timeout=0.3)
    await member.disconnect()


async def test_leaving_the_board_closes_the_members_case_socket(cast, channel_layer):
    from board.models import Membership

    case = await sync_to_async(make_case)(cast)
    member, connected, _ = await follow(cast.surgeon, case)
    assert connected
    await member.receive_from()
    await sync_to_async(Membership.objects.filter(user=cast.surgeon, board=cast.board).delete)()
    output = await member.receive_output(timeout=2)
    assert (output["type"], output["code"]) == ("websocket.close", CLOSE_REVOKED)


async def test_deactivation_closes_the_case_socket_and_revokes_tokens(cast, channel_layer):
    from board.models import ApiToken
    from board.tokens import token_create

    case = await sync_to_async(make_case)(cast)
    api_token, _ = await sync_to_async(token_create)(user=cast.surgeon, name="x")
    member, connected, _ = await follow(cast.surgeon, case)
    assert connected
    await member.receive_from()

    def deactivate():
        cast.surgeon.is_active = False
        cast.surgeon.save()

    await sync_to_async(deactivate)()
    assert json.loads(await member.receive_from(timeout=2))["type"] == "access.revoked"
    output = await member.receive_output(timeout=2)
    assert (output["type"], output["code"]) == ("websocket.close", CLOSE_REVOKED)
    revoked_at = await sync_to_async(
        lambda: ApiToken.objects.values_list("revoked_at", flat=True).get(pk=api_token.pk)
    )()
    assert revoked_at is not None
