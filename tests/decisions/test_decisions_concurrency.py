"""One ballot per member per round, even when the same member votes 20 times at once.

Needs PostgreSQL: SQLite serializes every write, so it could not show a race either way.
"""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from cases.access import case_access
from decisions import services as actions
from decisions.models import Vote, VoteChoice
from tests.cases.factories import make_case
from tests.helpers import skip_or_fail

ATTEMPTS = 20


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_ballots_leave_exactly_one(cast):
    if connection.vendor != "postgresql":
        skip_or_fail("REQUIRE_SERVICES", "the concurrency test needs PostgreSQL (DATABASE_URL)")
    case = make_case(cast)
    proposal = actions.proposal_create(
        access=case_access(cast.surgeon, case),
        data={"category": "surgery", "text": "Resect.", "guideline": "none"},
    )
    round_ = actions.vote_round_open(
        access=case_access(cast.chair, case), deadline=timezone.now() + datetime.timedelta(days=1)
    )
    barrier = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(position: str) -> None:
        try:
            access = case_access(cast.pathologist, case)  # each thread: its own connection
            barrier.wait(timeout=30)
            try:
                actions.vote_cast(
                    access=access, round=round_, positions={str(proposal.uuid): position}
                )
                result = "voted"
            except actions.AlreadyVoted:
                result = "already"
            except Exception as exc:  # reported below, with its type
                result = f"error: {type(exc).__name__}: {exc}"
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=attempt, args=("agree" if i % 2 else "disagree",))
        for i in range(ATTEMPTS)
    ]
    # Every thread holds its own connection at the barrier: the pool (DATABASE_POOL_SIZE, 4 by
    # default) would starve them, so it is widened for this test only.
    pool = getattr(connection, "pool", None)
    bounds = (pool.min_size, pool.max_size) if pool else None
    if pool:
        pool.resize(min_size=bounds[0], max_size=max(bounds[1], ATTEMPTS + 2))
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        if pool:
            pool.resize(min_size=bounds[0], max_size=bounds[1])
    assert sorted(outcomes) == ["already"] * (ATTEMPTS - 1) + ["voted"]
    assert Vote.objects.filter(round=round_, voter=cast.pathologist).count() == 1
    assert VoteChoice.objects.filter(vote__round=round_).count() == 1
