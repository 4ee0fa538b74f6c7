"""Two people accepting one invitation link at the same moment: one gets the case."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from cases.access import case_access
from cases.models import CaseInvite
from cases.services import InviteUnavailable, invite_accept, invite_create
from tests.cases.factories import make_case
from tests.cast import make_user
from tests.helpers import skip_or_fail

ACCEPTORS = 6


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_link_accepted_at_once_by_many_binds_to_exactly_one(cast):
    if connection.vendor != "postgresql":
        skip_or_fail("REQUIRE_SERVICES", "the race test needs PostgreSQL (DATABASE_URL)")
    case = make_case(cast)
    _, token = invite_create(
        access=case_access(cast.chair, case),
        email="expert@abroad.example",
        expires_at=timezone.now() + datetime.timedelta(days=3),
    )
    people = [make_user(f"acceptor{n}", specialty="radiology") for n in range(ACCEPTORS)]
    barrier = threading.Barrier(ACCEPTORS)
    won, refused, errors = [], [], []

    def accept(user) -> None:
        try:
            barrier.wait(timeout=30)
            invite_accept(token=token, user=user)
            won.append(user.pk)
        except InviteUnavailable as exc:
            refused.append(exc.reason)
        except Exception as exc:  # reported below, with its type
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept, args=(user,)) for user in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(won) == 1
    assert refused == ["used"] * (ACCEPTORS - 1)
    bound = CaseInvite.objects.get()
    assert bound.expert_id == won[0]
    granted = [u for u in people if case_access(u, case).can_view]
    assert [u.pk for u in granted] == won
