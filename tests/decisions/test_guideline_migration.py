"""decisions 0006: the old guideline values map to catalogue rows by the case's diagnosis, a
signed consensus is re-coded and stays write-once, and the reverse keeps what was cited.

Which ESMO-EURACAN guideline covers what (the guidelines' own scope sections): GIST has its
own (Casali 2022); bone sarcomas, and Ewing and Ewing-like round cell sarcomas of bone and
soft tissue, the bone guideline (Strauss 2021); every other soft tissue and visceral sarcoma,
desmoid and extraskeletal osteosarcoma included, the soft tissue guideline (Gronchi 2021).
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("decisions", "0005_report_audiences")]
AFTER = [("decisions", "0006_guideline_catalogue")]

# (entity, histotype recorded before WHO coding, old value) → new key
CASES = [
    ("gist", "", "esmo_euracan", "esmo_gist_2022"),
    ("conventional_osteosarcoma", "", "esmo_euracan", "esmo_bone_2021"),
    ("giant_cell_tumour_of_bone", "", "esmo_euracan", "esmo_bone_2021"),
    ("ewing_sarcoma", "", "esmo_euracan", "esmo_bone_2021"),
    ("cic_rearranged_sarcoma", "", "esmo_euracan", "esmo_bone_2021"),
    ("extraskeletal_osteosarcoma", "", "esmo_euracan", "esmo_sts_2021"),
    ("leiomyosarcoma", "", "esmo_euracan", "esmo_sts_2021"),
    ("desmoid_fibromatosis", "", "esmo_euracan", "esmo_sts_2021"),
    # Not coded to a WHO entity (migration 0008 left it for review): the old histotype.
    ("", "chondrosarcoma", "esmo_euracan", "esmo_bone_2021"),
    ("", "liposarcoma_wd_dd", "esmo_euracan", "esmo_sts_2021"),
    ("", "", "esmo_euracan", "esmo_sts_2021"),
    ("conventional_osteosarcoma", "", "nccn", "nccn_bone"),
    ("leiomyosarcoma", "", "nccn", "nccn_sts"),
    ("leiomyosarcoma", "", "national", "national"),
    ("leiomyosarcoma", "", "institutional", "institutional"),
    ("leiomyosarcoma", "", "none", "none"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_guidelines_map_by_diagnosis_and_signed_versions_stay_write_once():
    old = migrate(BEFORE)
    User = old.get_model("board", "User")
    Board = old.get_model("board", "Board")
    Case = old.get_model("cases", "Case")
    Proposal = old.get_model("decisions", "Proposal")
    Consensus = old.get_model("decisions", "Consensus")
    chair = User.objects.create(username="chair-before-catalogue", password="!")
    board = Board.objects.create(name="Board")
    proposals, signed = {}, {}
    for index, (entity, histotype, value, _new) in enumerate(CASES):
        case = Case.objects.create(
            board=board,
            submitted_by=chair,
            pseudonym=f"GDL{index:03d}",
            entity=entity,
            histotype=histotype,
        )
        proposals[index] = Proposal.objects.create(
            case=case,
            number=1,
            author=chair,
            author_specialty="surgical_oncology",
            category="surgery",
            text="Resect.",
            guideline=value,
            guideline_reference="4.2",
        ).pk
        signed[index] = Consensus.objects.create(
            case=case,
            version=1,
            category="surgery",
            text="Resect.",
            guideline=value,
            guideline_reference="4.2",
            drafted_by=chair,
            signed_by=chair,
            signed_at=timezone.now(),
        ).pk

    new = migrate(AFTER)
    Proposal = new.get_model("decisions", "Proposal")
    Consensus = new.get_model("decisions", "Consensus")
    for index, (entity, histotype, value, expected) in enumerate(CASES):
        case = (entity, histotype, value)
        proposal = Proposal.objects.get(pk=proposals[index])
        consensus = Consensus.objects.get(pk=signed[index])
        assert (proposal.guideline, proposal.guideline_version) == (expected, ""), case
        assert (consensus.guideline, consensus.guideline_reference) == (expected, "4.2"), case
        assert consensus.signed_at is not None

    # The guard is back on the rebuilt table: a signed version refuses UPDATE and DELETE.
    with (
        pytest.raises(IntegrityError, match="never changes"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE cases_consensus SET guideline = %s WHERE id = %s", ["none", signed[0]]
        )
    with (
        pytest.raises(IntegrityError, match="never changes"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM cases_consensus WHERE id = %s", [signed[0]])

    # A new proposal may cite a catalogue row the old list did not have.
    Proposal.objects.filter(pk=proposals[0]).update(
        guideline="tarpswg_rps_2021", guideline_reference="statement 12"
    )
    Proposal.objects.filter(pk=proposals[1]).update(guideline_version="2.2025")

    back = migrate(BEFORE)
    Proposal = back.get_model("decisions", "Proposal")
    Consensus = back.get_model("decisions", "Consensus")
    # Back to the old keys; nothing cited is lost: the title or version moves to the reference.
    first = Proposal.objects.get(pk=proposals[0])
    assert first.guideline == "none"
    assert first.guideline_reference.startswith("Management of primary retroperitoneal sarcoma")
    assert first.guideline_reference.endswith("— statement 12")
    second = Proposal.objects.get(pk=proposals[1])
    assert (second.guideline, second.guideline_reference) == (
        "esmo_euracan",
        "4.2 (version 2.2025)",
    )
    assert Consensus.objects.get(pk=signed[0]).guideline == "esmo_euracan"
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
