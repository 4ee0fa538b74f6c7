"""The decision models moved from cases to decisions without copying a row: a database of the
old layout migrates, and its signed consensus and report read back unchanged."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from decisions.models import Consensus, Report

OLD_LAYOUT = [("cases", "0002_decisions"), ("decisions", None)]


def migrate(targets):
    """Migrate to ``targets`` and give the models as they then are (every app's)."""
    state = MigrationExecutor(connection).migrate(targets)
    return state.apps


@pytest.mark.django_db(transaction=True)
def test_a_signed_consensus_and_its_report_survive_the_move():
    old = migrate(OLD_LAYOUT)
    assert "proposal" not in old.all_models["decisions"]
    User = old.get_model("board", "User")
    Board = old.get_model("board", "Board")
    Case = old.get_model("cases", "Case")
    OldConsensus = old.get_model("cases", "Consensus")
    OldReport = old.get_model("cases", "Report")
    AuditEvent = old.get_model("cases", "AuditEvent")

    chair = User.objects.create(username="chair-of-old", password="!")
    board = Board.objects.create(name="Old board")
    case = Case.objects.create(board=board, submitted_by=chair, pseudonym="OLD234")
    signed_at = timezone.now()
    first = OldConsensus.objects.create(
        case=case,
        version=1,
        category="surgery",
        text="Wide resection.",
        drafted_by=chair,
        signed_by=chair,
        signed_at=signed_at,
    )
    pdf = b"%PDF-1.7 the report as it was signed"
    name = default_storage.save(
        f"reports/{case.uuid.hex}/{first.uuid.hex}-v1.pdf", ContentFile(pdf)
    )
    digest = hashlib.sha256(pdf).hexdigest()
    old_report = OldReport.objects.create(consensus=first, file=name, sha256=digest, size=len(pdf))
    # A corrected version whose report failed: the old layout knew it from the audit trail.
    second = OldConsensus.objects.create(
        case=case,
        version=2,
        supersedes=first,
        category="surgery",
        text="Wide resection, then radiotherapy.",
        drafted_by=chair,
        signed_by=chair,
        signed_at=signed_at,
    )
    AuditEvent.objects.create(
        actor=chair,
        actor_label="chair-of-old",
        action="report.generate",
        case=case,
        object_type="consensus",
        object_id=str(second.uuid),
        outcome="denied",
    )

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    consensus = Consensus.objects.prefetch_related("reports").get(uuid=first.uuid)
    assert (consensus.version, consensus.text, consensus.signed_by_id) == (
        1,
        "Wide resection.",
        chair.pk,
    )
    assert consensus.signed_at == signed_at
    [report] = consensus.reports.all()
    assert (report.uuid, report.status, report.size) == (old_report.uuid, "ready", len(pdf))
    assert report.audience == "panel"  # a report from before audiences held everything
    with report.file.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == report.sha256 == digest
    failed = Report.objects.get(consensus__uuid=second.uuid)
    assert (failed.status, failed.sha256) == ("failed", "")
    # The signed rows are still final under their new app.
    with pytest.raises(TypeError):
        consensus.save()
