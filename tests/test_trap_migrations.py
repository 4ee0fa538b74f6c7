"""The migrations of the meeting traps (issue #16), on SQLite and PostgreSQL:

- meetings 0004: a case the old "Schedule" button left scheduled without a meeting goes back
  to review (keeping "ready"); a case on a scheduled meeting's agenda stays scheduled;
- decisions 0007: a signed consensus gets an empty quorum reason and stays write-once (SQLite
  rebuilds cases_consensus, which drops its triggers; the migration puts the guard back); a
  live round opened before keeps letting anyone vote, as it did."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets).apps


def latest():
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_cases_scheduled_without_a_meeting_go_back_to_review():
    old = migrate([("meetings", "0003_attendance_seen_at")])
    User = old.get_model("board", "User")
    Board = old.get_model("board", "Board")
    Case = old.get_model("cases", "Case")
    Meeting = old.get_model("meetings", "Meeting")
    AgendaItem = old.get_model("meetings", "AgendaItem")
    chair = User.objects.create(username="chair-before-agenda-only", password="!")
    board = Board.objects.create(name="Board")
    ready = timezone.now()

    def case(pseudonym):
        return Case.objects.create(
            board=board, submitted_by=chair, pseudonym=pseudonym, status="scheduled", ready_at=ready
        )

    stranded, on_agenda, on_cancelled = case("STR234"), case("AGE234"), case("CAN234")
    meeting = Meeting.objects.create(
        board=board, title="Board", starts_at=ready, created_by=chair, status="scheduled"
    )
    cancelled = Meeting.objects.create(
        board=board, title="Old", starts_at=ready, created_by=chair, status="cancelled"
    )
    AgendaItem.objects.create(meeting=meeting, case=on_agenda, position=1)
    AgendaItem.objects.create(meeting=cancelled, case=on_cancelled, position=1)

    new = migrate([("meetings", "0004_presenter_since_and_stray_scheduled_cases")])
    Case = new.get_model("cases", "Case")
    status = dict(Case.objects.values_list("pseudonym", "status"))
    assert status == {"STR234": "in_review", "AGE234": "scheduled", "CAN234": "in_review"}
    assert Case.objects.get(pk=stranded.pk).ready_at == ready
    latest()


@pytest.mark.django_db(transaction=True)
def test_signed_consensus_gets_no_reason_and_stays_write_once():
    old = migrate([("decisions", "0005_report_audiences")])
    User = old.get_model("board", "User")
    Board = old.get_model("board", "Board")
    Case = old.get_model("cases", "Case")
    Consensus = old.get_model("decisions", "Consensus")
    Meeting = old.get_model("meetings", "Meeting")
    VoteRound = old.get_model("decisions", "VoteRound")
    chair = User.objects.create(username="chair-before-quorum-reason", password="!")
    board = Board.objects.create(name="Board")
    case = Case.objects.create(board=board, submitted_by=chair, pseudonym="QRM234")
    meeting = Meeting.objects.create(
        board=board, title="B", starts_at=timezone.now(), created_by=chair
    )
    rules = {
        "vote_mode": "per_proposal",
        "consensus_rule": "majority",
        "qualified_majority": "2/3",
        "tally_visibility": "hidden",
        "opened_by": chair,
    }
    live = VoteRound.objects.create(case=case, number=1, meeting=meeting, **rules)
    signed = Consensus.objects.create(
        case=case,
        version=1,
        category="surgery",
        text="Resect.",
        drafted_by=chair,
        signed_by=chair,
        signed_at=timezone.now(),
    )

    new = migrate([("decisions", "0007_live_vote_presence_and_quorum_reason")])
    Consensus = new.get_model("decisions", "Consensus")
    VoteRound = new.get_model("decisions", "VoteRound")
    assert Consensus.objects.get(pk=signed.pk).quorum_reason == ""
    assert VoteRound.objects.get(pk=live.pk).absentees_may_vote is True
    with (
        pytest.raises(IntegrityError, match="never changes"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE cases_consensus SET quorum_reason = %s WHERE id = %s", ["later", signed.pk]
        )
    latest()
