"""The audit trail is append-only in the database (cases 0005) and a hash chain (cases.audit):
raw SQL cannot change or delete an event, and whatever gets past the triggers is named by
``manage.py verify_audit``. Runs on SQLite and PostgreSQL; the concurrency test on PostgreSQL."""

from __future__ import annotations

import itertools
import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory

from cases.audit import (
    GENESIS,
    ChainReport,
    _client_ip,
    audit,
    audit_chain_verify,
    audit_event_sha256,
    client_ip,
)
from cases.models import AuditChainHead, AuditEvent
from tests.cases.factories import make_case
from tests.helpers import skip_or_fail

WRITERS = 8
EACH = 10


def raw(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def trail(cast, count: int = 4) -> list[AuditEvent]:
    case = make_case(cast)
    return [
        audit(actor=cast.chair, action="case.view", case=case, detail={"n": n, "note": "é"})
        for n in range(count)
    ]


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def verify_fails() -> str:
    with pytest.raises(CommandError) as failure:
        verify()
    return str(failure.value)


def without_guard(sql: str, params=()) -> None:
    """Run ``sql`` as someone who got past the triggers (the test's transaction restores
    them: DDL is transactional on both databases)."""
    if connection.vendor == "postgresql":
        # A superuser's way past every ordinary trigger (and so past the guard).
        raw("SET LOCAL session_replication_role = replica")
        raw(sql, params)
        raw("SET LOCAL session_replication_role = origin")
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'cases_auditevent'"
            )
            triggers = cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            cursor.execute(sql, params)
            for _, definition in triggers:
                cursor.execute(definition)


@pytest.mark.django_db
def test_raw_update_and_delete_of_an_event_are_refused(cast):
    event = trail(cast, 1)[0]
    for sql, params in [
        ("UPDATE cases_auditevent SET outcome = 'denied' WHERE id = %s", [event.pk]),
        ("UPDATE cases_auditevent SET detail = %s WHERE id = %s", ['{"n": 9}', event.pk]),
        ("DELETE FROM cases_auditevent WHERE id = %s", [event.pk]),
    ]:
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            raw(sql, params)
    event.refresh_from_db()
    assert event.outcome == "allowed" and event.detail == {"n": 0, "note": "é"}


@pytest.mark.django_db
def test_events_are_chained_in_id_order(cast):
    events = trail(cast)
    stored = list(AuditEvent.objects.order_by("id"))
    assert stored[0].previous_sha256 == GENESIS
    for before, after in itertools.pairwise(stored):
        assert after.previous_sha256 == before.sha256
    head = AuditChainHead.objects.get()
    assert (head.event_id, head.sha256) == (events[-1].pk, stored[-1].sha256)


@pytest.mark.django_db
def test_details_read_back_keep_their_hash(cast):
    # jsonb gives 1e20 back as an integer and reorders keys; IPv6 is stored compressed.
    detail = {"z": 1e20, "a": 1.5, "small": 1e-7, "one": 1.0, "text": "ü😀", "pair": (1, 2)}
    token = _client_ip.set(client_ip(RequestFactory().get("/", REMOTE_ADDR="::ffff:10.0.0.1")))
    try:
        event = audit(actor=cast.chair, action="case.view", detail=detail)
    finally:
        _client_ip.reset(token)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.detail["z"] == 10**20 and stored.detail["pair"] == [1, 2]
    assert stored.ip == "::ffff:10.0.0.1"
    assert audit_event_sha256(stored) == stored.sha256
    assert audit_chain_verify().broken is None


@pytest.mark.django_db
def test_an_intact_chain_passes(cast):
    trail(cast)
    assert verify() == f"Audit trail intact: {AuditEvent.objects.count()} events chained.\n"
    assert verify("--quiet") == ""


@pytest.mark.django_db
def test_an_empty_trail_passes():
    assert verify() == "Audit trail intact: 0 events chained.\n"


@pytest.mark.django_db
def test_an_altered_event_is_named(cast):
    events = trail(cast)
    without_guard(
        "UPDATE cases_auditevent SET detail = %s WHERE id = %s", ['{"n": 99}', events[2].pk]
    )
    message = verify_fails()
    assert f"event #{events[2].pk} was altered" in message
    assert audit_chain_verify().broken.event_id == events[2].pk


@pytest.mark.django_db
def test_an_altered_event_with_its_hash_made_again_breaks_the_next_link(cast):
    events = trail(cast)
    forged = AuditEvent.objects.get(pk=events[1].pk)
    forged.outcome = "denied"
    without_guard(
        "UPDATE cases_auditevent SET outcome = 'denied', sha256 = %s WHERE id = %s",
        [audit_event_sha256(forged), forged.pk],
    )
    message = verify_fails()
    assert f"event #{events[2].pk} does not follow event #{events[1].pk}" in message


@pytest.mark.django_db
def test_a_deleted_middle_event_is_named(cast):
    events = trail(cast)
    without_guard("DELETE FROM cases_auditevent WHERE id = %s", [events[1].pk])
    message = verify_fails()
    assert f"event #{events[2].pk} does not follow event #{events[0].pk}" in message
    assert "deleted" in message


@pytest.mark.django_db
def test_a_deleted_first_event_is_found(cast):
    events = trail(cast)
    without_guard("DELETE FROM cases_auditevent WHERE id = %s", [events[0].pk])
    assert f"event #{events[1].pk} does not start the chain" in verify_fails()


@pytest.mark.django_db
def test_deleted_newest_events_are_found_by_the_head(cast):
    events = trail(cast)
    without_guard("DELETE FROM cases_auditevent WHERE id >= %s", [events[2].pk])
    message = verify_fails()
    assert f"ends at event #{events[1].pk}" in message
    assert f"records event #{events[3].pk}" in message


@pytest.mark.django_db
def test_reordered_events_are_found(cast):
    events = trail(cast)
    first, second = (AuditEvent.objects.get(pk=e.pk) for e in events[1:3])
    # Swap the two rows' contents, hashes and all: each stays self-consistent.
    for target, source in ((first, second), (second, first)):
        without_guard(
            "UPDATE cases_auditevent SET detail = %s, at = %s, previous_sha256 = %s, "
            "sha256 = %s WHERE id = %s",
            [
                f'{{"n": {source.detail["n"]}, "note": "é"}}',
                source.at,
                source.previous_sha256,
                source.sha256,
                target.pk,
            ],
        )
    assert f"event #{events[1].pk} does not follow event #{events[0].pk}" in verify_fails()


@pytest.mark.django_db
def test_a_row_written_with_a_wrong_hash_is_named(cast):
    trail(cast)
    forged = AuditEvent.objects.create(
        actor_label="mallory",
        action="case.view",
        outcome="allowed",
        previous_sha256=AuditChainHead.objects.get().sha256,
        sha256="f" * 64,
    )
    assert f"event #{forged.pk} was altered" in verify_fails()


@pytest.mark.django_db
def test_a_row_written_past_the_chain_is_named(cast):
    trail(cast)
    forged = AuditEvent.objects.create(
        actor_label="mallory",
        action="case.view",
        outcome="allowed",
        previous_sha256=GENESIS,
        sha256="f" * 64,
    )
    assert f"event #{forged.pk} does not follow" in verify_fails()


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_the_events_already_written(cast):
    case = make_case(cast)
    executor = MigrationExecutor(connection)
    old = executor.migrate([("cases", "0003_move_decisions")]).apps
    OldAuditEvent = old.get_model("cases", "AuditEvent")
    for n in range(3):
        OldAuditEvent.objects.create(
            actor_id=cast.chair.pk,
            actor_label="chair",
            action="case.view",
            case_id=case.pk,
            outcome="allowed",
            ip="2001:db8::1",
            detail={"n": n},
        )
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert verify() == "Audit trail intact: 3 events chained.\n"
    audit(actor=cast.chair, action="case.view", case=case)
    assert verify("--quiet") == ""
    with pytest.raises(IntegrityError), transaction.atomic():
        raw("DELETE FROM cases_auditevent")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_leave_one_unbroken_chain(cast):
    if connection.vendor != "postgresql":
        skip_or_fail("REQUIRE_SERVICES", "the concurrency test needs PostgreSQL (DATABASE_URL)")
    case = make_case(cast)
    barrier = threading.Barrier(WRITERS)
    errors: list[str] = []

    def write(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(EACH):
                # Half inside a longer transaction, as services write them.
                if n % 2:
                    with transaction.atomic():
                        audit(actor=cast.chair, action="case.view", case=case, detail={"i": i})
                else:
                    audit(actor=cast.surgeon, action="case.view", case=case, detail={"i": i})
        except Exception as exc:  # reported below, with its type
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    report = audit_chain_verify()
    assert report.broken is None
    assert report.checked == AuditEvent.objects.count() == WRITERS * EACH


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_writer_holding_the_case_and_a_reader_of_it_do_not_deadlock(cast):
    # The chair's transaction locks the case row and audits last (as services do); a reader
    # audits a view of the same case meanwhile. The reader's event points at the case, and
    # PostgreSQL checks that reference against the chair's lock: were the reader to hold the
    # chain's head while it waits, the chair would wait for the head - a deadlock.
    if connection.vendor != "postgresql":
        skip_or_fail("REQUIRE_SERVICES", "the deadlock test needs PostgreSQL (DATABASE_URL)")
    from cases.models import Case

    case = make_case(cast)
    locked, reader_started = threading.Event(), threading.Event()
    errors: list[str] = []

    def chair() -> None:
        try:
            with transaction.atomic():
                Case.objects.select_for_update().get(pk=case.pk)
                locked.set()
                reader_started.wait(timeout=30)
                time.sleep(0.5)  # the reader is now waiting on the case row
                audit(actor=cast.chair, action="case.update", case=case)
        except Exception as exc:  # reported below, with its type
            errors.append(f"chair: {type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    def reader() -> None:
        try:
            locked.wait(timeout=30)
            reader_started.set()
            audit(actor=cast.pathologist, action="case.view", case=case)
        except Exception as exc:  # reported below, with its type
            errors.append(f"reader: {type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=chair), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert audit_chain_verify() == ChainReport(AuditEvent.objects.count(), None)
    assert AuditEvent.objects.filter(case=case).count() == 2
