"""What was signed stays as it was signed, below Django too: raw SQL cannot change or delete
a signed consensus, a co-signature or a ready report (decisions 0004, board.write_once),
while a draft and a report on its way to ready still change. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from decisions.models import Consensus, ConsensusCosignature, Report
from tests.cases.factories import make_case
from tests.cast import make_cast

TRIGGERS = {
    "postgresql": [
        "decisions_consensus_signed_is_final",
        "decisions_cosignature_is_final",
        "decisions_report_ready_is_final",
    ],
    "sqlite": [
        f"{name}_{event}"
        for name in (
            "decisions_consensus_signed_is_final",
            "decisions_cosignature_is_final",
            "decisions_report_ready_is_final",
        )
        for event in ("update", "delete")
    ],
}


def raw(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def refused(sql: str, params=()) -> None:
    # atomic: on PostgreSQL the refusal aborts the transaction; the savepoint keeps the test's.
    with pytest.raises(IntegrityError, match="never changes"), transaction.atomic():
        raw(sql, params)


def consensus(cast, case=None, *, signed: bool, version: int = 1) -> Consensus:
    return Consensus.objects.create(
        case=case or make_case(cast),
        version=version,
        category="surgery",
        text="Wide resection.",
        drafted_by=cast.chair,
        signed_by=cast.chair if signed else None,
        signed_at=timezone.now() if signed else None,
    )


def ready_report(signed: Consensus, audience: str = "panel") -> Report:
    return Report.objects.create(
        consensus=signed,
        audience=audience,
        status=Report.Status.READY,
        file=f"reports/signed-{audience}.pdf",
        sha256="a" * 64,
        size=42,
        generated_at=timezone.now(),
    )


def installed_triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_the_guards_are_installed():
    # A later migration that rebuilds one of these tables (SQLite does for many ALTERs)
    # drops its triggers silently: this test then fails.
    assert set(TRIGGERS[connection.vendor]) <= installed_triggers()


@pytest.mark.django_db
def test_a_signed_consensus_refuses_raw_update_and_delete(cast):
    signed = consensus(cast, signed=True)
    refused("UPDATE cases_consensus SET text = %s WHERE id = %s", ["Watch and wait.", signed.pk])
    refused(
        "UPDATE cases_consensus SET signed_at = NULL, signed_by_id = NULL WHERE id = %s",
        [signed.pk],
    )
    refused("DELETE FROM cases_consensus WHERE id = %s", [signed.pk])
    signed.refresh_from_db()
    assert signed.text == "Wide resection." and signed.is_signed


@pytest.mark.django_db
def test_a_draft_changes_is_signed_and_a_draft_is_deleted(cast):
    draft = consensus(cast, signed=False)
    assert raw("UPDATE cases_consensus SET text = %s WHERE id = %s", ["Resect.", draft.pk]) == 1
    # Signing is an UPDATE of a row not yet signed.
    assert (
        raw(
            "UPDATE cases_consensus SET signed_at = %s, signed_by_id = %s WHERE id = %s",
            [timezone.now(), cast.chair.pk, draft.pk],
        )
        == 1
    )
    draft.refresh_from_db()
    assert draft.text == "Resect." and draft.is_signed
    refused("UPDATE cases_consensus SET text = %s WHERE id = %s", ["Again.", draft.pk])
    second = consensus(cast, draft.case, signed=False, version=2)
    assert raw("DELETE FROM cases_consensus WHERE id = %s", [second.pk]) == 1
    assert not Consensus.objects.filter(pk=second.pk).exists()


@pytest.mark.django_db
def test_a_cosignature_refuses_raw_update_and_delete(cast):
    cosignature = ConsensusCosignature.objects.create(
        consensus=consensus(cast, signed=True), signer=cast.oncologist
    )
    refused(
        "UPDATE cases_consensuscosignature SET signer_id = %s WHERE id = %s",
        [cast.surgeon.pk, cosignature.pk],
    )
    refused("DELETE FROM cases_consensuscosignature WHERE id = %s", [cosignature.pk])
    cosignature.refresh_from_db()
    assert cosignature.signer == cast.oncologist


@pytest.mark.django_db
def test_a_ready_report_refuses_raw_update_and_delete(cast):
    report = ready_report(consensus(cast, signed=True))
    refused("UPDATE cases_report SET sha256 = %s WHERE id = %s", ["b" * 64, report.pk])
    refused(
        "UPDATE cases_report SET status = 'failed', sha256 = '', file = '' WHERE id = %s",
        [report.pk],
    )
    refused("DELETE FROM cases_report WHERE id = %s", [report.pk])
    report.refresh_from_db()
    assert report.is_ready and report.sha256 == "a" * 64


@pytest.mark.django_db
@pytest.mark.parametrize("audience", ["referrer", "patient"])
def test_every_copy_once_ready_refuses_raw_update_and_delete(cast, audience):
    signed = consensus(cast, signed=True)
    ready_report(signed, "panel")
    report = ready_report(signed, audience)
    refused("UPDATE cases_report SET sha256 = %s WHERE id = %s", ["b" * 64, report.pk])
    # Relabelling a copy for another audience is a change too.
    refused("UPDATE cases_report SET audience = 'panel' WHERE id = %s", [report.pk])
    refused("DELETE FROM cases_report WHERE id = %s", [report.pk])
    report.refresh_from_db()
    assert (report.audience, report.sha256) == (audience, "a" * 64)


@pytest.mark.django_db
def test_one_copy_per_version_and_audience(cast):
    signed = consensus(cast, signed=True)
    Report.objects.create(consensus=signed, audience="referrer")
    with pytest.raises(IntegrityError, match=r"(?i)unique"), transaction.atomic():
        Report.objects.create(consensus=signed, audience="referrer")
    # A failed copy goes on through its lifecycle while another copy is ready.
    ready = ready_report(signed, "panel")
    failed = Report.objects.get(consensus=signed, audience="referrer")
    assert raw("UPDATE cases_report SET status = 'failed' WHERE id = %s", [failed.pk]) == 1
    refused("UPDATE cases_report SET error = 'x' WHERE id = %s", [ready.pk])


@pytest.mark.django_db
def test_a_report_goes_pending_failed_pending_ready_then_stops(cast):
    report = Report.objects.create(consensus=consensus(cast, signed=True))
    for status in ("failed", "pending"):
        assert raw("UPDATE cases_report SET status = %s WHERE id = %s", [status, report.pk]) == 1
    assert (
        raw(
            "UPDATE cases_report SET status = 'ready', file = 'reports/r.pdf', sha256 = %s, "
            "size = 3 WHERE id = %s",
            ["c" * 64, report.pk],
        )
        == 1
    )
    refused("UPDATE cases_report SET error = 'x' WHERE id = %s", [report.pk])


@pytest.mark.django_db
def test_a_pending_or_failed_report_may_be_deleted(cast):
    pending = Report.objects.create(consensus=consensus(cast, signed=True))
    assert raw("DELETE FROM cases_report WHERE id = %s", [pending.pk]) == 1
    failed = Report.objects.create(
        consensus=consensus(cast, signed=True), status=Report.Status.FAILED
    )
    assert raw("DELETE FROM cases_report WHERE id = %s", [failed.pk]) == 1


@pytest.mark.django_db
def test_the_orm_refuses_a_ready_report_too(cast):
    report = ready_report(consensus(cast, signed=True))
    report.error = "edited"
    with pytest.raises(TypeError):
        report.save()
    with pytest.raises(TypeError):
        report.delete()
    with pytest.raises(TypeError):
        Report.objects.filter(pk=report.pk).update(error="edited")
    with pytest.raises(TypeError):
        Report.objects.filter(pk=report.pk).delete()
    # A stale instance that still reads pending does not slip through either.
    stale = Report.objects.get(pk=report.pk)
    stale.status = Report.Status.PENDING
    with pytest.raises(TypeError):
        stale.save()
    assert Report.objects.get(pk=report.pk).error == ""


@pytest.mark.django_db
def test_the_orm_changes_a_report_on_its_way(cast):
    report = Report.objects.create(consensus=consensus(cast, signed=True))
    report.status = Report.Status.FAILED
    report.save()
    assert Report.objects.exclude(status="ready").update(status=Report.Status.PENDING) == 1
    Report.objects.filter(pk=report.pk).delete()
    assert not Report.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_the_tables_and_keeps_the_guards(cast):
    # SQLite's flush is a DELETE per table (board.sqlite lifts the triggers for it);
    # PostgreSQL's is a TRUNCATE, which fires no row trigger.
    signed = consensus(cast, signed=True)
    ConsensusCosignature.objects.create(consensus=signed, signer=cast.oncologist)
    ready_report(signed)
    call_command("flush", interactive=False, verbosity=0)
    assert not Consensus.objects.exists() and not Report.objects.exists()
    assert set(TRIGGERS[connection.vendor]) <= installed_triggers()

    again = consensus(make_cast(), signed=True)
    refused("DELETE FROM cases_consensus WHERE id = %s", [again.pk])
