"""Signing a consensus asks for the second factor again, not only the password: a session
whose last second factor is older than SECOND_FACTOR_STEP_UP_MINUTES signs nothing."""

from __future__ import annotations

import datetime
import time

import pytest
from django.urls import reverse

from board.second_factor import VERIFIED_AT_SESSION_KEY
from decisions.models import Consensus
from tests.cast import PASSWORD
from tests.decisions.factories import decided_case, draft, sign
from tests.helpers import signed_in, totp_code, totp_device

pytestmark = pytest.mark.django_db

VERIFY = reverse("second-factor-verify")


def url(name, case, **kwargs):
    return reverse(name, kwargs={"case_id": case.uuid, **kwargs})


def stale(client, minutes=6):
    session = client.session
    session[VERIFIED_AT_SESSION_KEY] = int(time.time()) - minutes * 60
    session.save()
    return client


def test_signing_without_a_recent_second_factor_signs_nothing(cast):
    case, *_ = decided_case(cast)
    consensus = draft(cast, case)
    chair = stale(signed_in(cast.chair))
    case_page = url("case-detail", case)
    target = url("consensus-sign", case, consensus_id=consensus.uuid)
    response = chair.post(target, {"sign-password": PASSWORD}, HTTP_REFERER=case_page)
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY + "?next=")
    consensus.refresh_from_db()
    assert not consensus.is_signed
    # The second factor again, then the same signature goes through.
    code = totp_code(totp_device(cast.chair))
    back = chair.post(VERIFY, {"code": code, "next": case_page})
    assert back["Location"] == case_page
    assert chair.post(target, {"sign-password": PASSWORD}).status_code == 302
    consensus.refresh_from_db()
    assert consensus.signed_by == cast.chair


def test_a_second_factor_within_the_window_signs(cast, settings):
    settings.SECOND_FACTOR_STEP_UP_MINUTES = 10
    case, *_ = decided_case(cast)
    consensus = draft(cast, case)
    chair = stale(signed_in(cast.chair), minutes=6)
    target = url("consensus-sign", case, consensus_id=consensus.uuid)
    assert chair.post(target, {"sign-password": PASSWORD}).status_code == 302
    consensus.refresh_from_db()
    assert consensus.is_signed


def test_co_signing_without_a_recent_second_factor_signs_nothing(cast):
    case, *_ = decided_case(cast)
    consensus = sign(cast, case, draft(cast, case))
    surgeon = stale(signed_in(cast.surgeon))
    target = url("consensus-cosign", case, consensus_id=consensus.uuid)
    response = surgeon.post(target, {"cosign-password": PASSWORD})
    assert response["Location"].startswith(VERIFY)
    assert not consensus.cosignatures.exists()


def test_brute_force_against_the_signing_step_up_is_throttled(cast):
    case, *_ = decided_case(cast)
    consensus = draft(cast, case)
    chair = stale(signed_in(cast.chair))
    device = totp_device(cast.chair)
    right = totp_code(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for attempt in range(4):
        if attempt:
            device.refresh_from_db()
            device.throttling_failure_timestamp -= datetime.timedelta(seconds=60)
            device.save(update_fields=["throttling_failure_timestamp"])
        assert chair.post(VERIFY, {"code": wrong}).status_code == 200
    # The right code inside the cool-off fails, and signing stays refused.
    assert chair.post(VERIFY, {"code": right}).status_code == 200
    target = url("consensus-sign", case, consensus_id=consensus.uuid)
    assert chair.post(target, {"sign-password": PASSWORD})["Location"].startswith(VERIFY)
    assert not Consensus.objects.get(pk=consensus.pk).is_signed
    device.refresh_from_db()
    device.throttling_failure_timestamp -= datetime.timedelta(seconds=60)
    device.save(update_fields=["throttling_failure_timestamp"])
    assert chair.post(VERIFY, {"code": right}).status_code == 302
    assert chair.post(target, {"sign-password": PASSWORD}).status_code == 302
    assert Consensus.objects.get(pk=consensus.pk).is_signed
