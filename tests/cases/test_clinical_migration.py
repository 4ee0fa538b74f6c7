"""cases 0008: cases recorded before WHO coding keep their data, and nothing is guessed.

A histotype naming one WHO 2020 entity maps to it; one naming several (well-/dedifferentiated
liposarcoma, rhabdomyosarcoma, osteosarcoma, chondrosarcoma), "other" and "unknown" leave the
entity empty and say why in `coding_review`. "bone" (which of AJCC 8 ch. 38's three site
groups?) and a GIST recorded as "visceral" (which organ, ch. 43?) are flagged the same way.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("cases", "0007_audit_read_window")]
AFTER = [("cases", "0008_clinical_record")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets).apps


@pytest.mark.django_db(transaction=True)
def test_histotypes_map_to_who_entities_or_are_flagged_for_review():
    old = migrate(BEFORE)
    User = old.get_model("board", "User")
    Board = old.get_model("board", "Board")
    Case = old.get_model("cases", "Case")
    user = User.objects.create(username="before-who-coding", password="!")
    board = Board.objects.create(name="Board")
    rows = {
        "MIG234": {"histotype": "ups", "primary_site": "extremity_trunk", "margins": "R1"},
        "MIG235": {"histotype": "liposarcoma_wd_dd", "primary_site": "retroperitoneum"},
        "MIG236": {"histotype": "gist", "primary_site": "visceral", "margins": "none"},
        "MIG237": {"histotype": "osteosarcoma", "primary_site": "bone"},
        "MIG238": {"histotype": "other", "histotype_other": "Sarcoma, NOS"},
        "MIG239": {"histotype": "synovial", "primary_site": "head_neck", "margins": "R0"},
        "MIG242": {},
    }
    for pseudonym, fields in rows.items():
        Case.objects.create(board=board, submitted_by=user, pseudonym=pseudonym, **fields)

    new = migrate(AFTER)
    Case = new.get_model("cases", "Case")
    got = {c.pseudonym: c for c in Case.objects.filter(pseudonym__in=rows).order_by("pseudonym")}
    ups = got["MIG234"]
    assert (ups.entity, ups.primary_site, ups.r_class, ups.coding_review) == (
        "undifferentiated_pleomorphic_sarcoma",
        "trunk_extremity",
        "R1",
        "",
    )
    lps = got["MIG235"]
    assert (lps.entity, lps.primary_site) == ("", "retroperitoneum")
    assert "Well-/dedifferentiated liposarcoma" in lps.coding_review
    assert "8851/3" in lps.coding_review and "8858/3" in lps.coding_review
    gist = got["MIG236"]
    assert (gist.entity, gist.primary_site, gist.resection) == ("gist", "", "not_resected")
    assert "organ" in gist.coding_review
    bone = got["MIG237"]
    assert (bone.entity, bone.primary_site) == ("", "")
    assert "Osteosarcoma" in bone.coding_review and "pelvis" in bone.coding_review
    other = got["MIG238"]
    assert (other.entity, other.diagnosis_other) == ("", "Sarcoma, NOS")
    assert "matched to a WHO entity by a person" in other.coding_review
    synovial = got["MIG239"]
    assert (synovial.entity, synovial.primary_site, synovial.r_class) == (
        "synovial_sarcoma",
        "head_neck",
        "R0",
    )
    blank = got["MIG242"]
    assert (blank.entity, blank.primary_site, blank.coding_review) == ("", "", "")
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
