"""decisions 0005: reports made before audiences become panel copies, and stay write-once.

SQLite rebuilds cases_report to turn the one-to-one link into a foreign key, which drops the
table's triggers; the migration puts the guard back. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("decisions", "0004_write_once")]
AFTER = [("decisions", "0005_report_audiences")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_reports_become_panel_copies_and_stay_write_once():
    old = migrate(BEFORE)
    User = old.get_model("board", "User")
    Board = old.get_model("board", "Board")
    Case = old.get_model("cases", "Case")
    Consensus = old.get_model("decisions", "Consensus")
    Report = old.get_model("decisions", "Report")
    chair = User.objects.create(username="chair-before-audiences", password="!")
    case = Case.objects.create(
        board=Board.objects.create(name="Board"), submitted_by=chair, pseudonym="AUD234"
    )
    signed = Consensus.objects.create(
        case=case,
        version=1,
        category="surgery",
        text="Resect.",
        drafted_by=chair,
        signed_by=chair,
        signed_at=timezone.now(),
    )
    ready = Report.objects.create(
        consensus=signed, status="ready", file="reports/old.pdf", sha256="a" * 64, size=3
    )

    new = migrate(AFTER)
    Report = new.get_model("decisions", "Report")
    copy = Report.objects.get(pk=ready.pk)
    assert (copy.audience, copy.status, copy.sha256, copy.file.name) == (
        "panel",
        "ready",
        "a" * 64,
        "reports/old.pdf",
    )
    with (
        pytest.raises(IntegrityError, match="never changes"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE cases_report SET sha256 = %s WHERE id = %s", ["b" * 64, ready.pk])
    with (
        pytest.raises(IntegrityError, match="never changes"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM cases_report WHERE id = %s", [ready.pk])
    # The same version now takes a copy for another audience beside it.
    Report.objects.create(consensus_id=signed.pk, audience="referrer")
    assert Report.objects.filter(consensus_id=signed.pk).count() == 2
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
