"""A case's emails go to who may open the case when they are sent, not to who once could."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from board.models import Membership
from cases.access import case_access
from cases.models import CaseInvite
from cases.services import invite_revoke, opinion_post
from tests.cases.factories import invite, make_case, opinion

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(cast):
    for user in (cast.chair, cast.coordinator, cast.surgeon, cast.expert, cast.radiologist):
        user.email = f"{user.username}@example.org"
        user.save()
    return make_case(cast)


def post_opinion(cast, case, capture) -> list[str]:
    mail.outbox.clear()
    with capture(execute=True):
        opinion_post(access=case_access(cast.pathologist, case), body="New view.")
    return sorted(m.to[0] for m in mail.outbox)


def test_an_invited_expert_hears_of_new_opinions(cast, case, django_capture_on_commit_callbacks):
    invite(cast, case)
    assert "expert@example.org" in post_opinion(cast, case, django_capture_on_commit_callbacks)


def test_an_expired_expert_hears_nothing(cast, case, django_capture_on_commit_callbacks):
    granted = invite(cast, case)
    opinion(case, cast.expert, "My earlier view.")  # an author, too
    CaseInvite.objects.filter(pk=granted.pk).update(expires_at=timezone.now())
    recipients = post_opinion(cast, case, django_capture_on_commit_callbacks)
    assert "expert@example.org" not in recipients
    assert "chair@example.org" in recipients  # the others still do


def test_a_revoked_expert_hears_nothing(cast, case, django_capture_on_commit_callbacks):
    granted = invite(cast, case)
    opinion(case, cast.expert, "My earlier view.")
    invite_revoke(access=case_access(cast.chair, case), invite=granted)
    assert "expert@example.org" not in post_opinion(cast, case, django_capture_on_commit_callbacks)


def test_a_former_member_hears_nothing(cast, case, django_capture_on_commit_callbacks):
    opinion(case, cast.surgeon, "Resect.")
    assert "surgeon@example.org" in post_opinion(cast, case, django_capture_on_commit_callbacks)
    Membership.objects.filter(user=cast.surgeon, board=cast.board).delete()
    assert "surgeon@example.org" not in post_opinion(cast, case, django_capture_on_commit_callbacks)


def test_a_deactivated_account_hears_nothing(cast, case, django_capture_on_commit_callbacks):
    opinion(case, cast.surgeon, "Resect.")
    cast.surgeon.is_active = False
    cast.surgeon.save()
    assert "surgeon@example.org" not in post_opinion(cast, case, django_capture_on_commit_callbacks)
