"""Upgrading keeps what worked: invitations made before links count as accepted, and API
tokens made before scopes keep read-and-upload and get an expiry."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from board.models import ApiToken
from cases.models import CaseInvite

BEFORE = [("board", "0006_board_send_report_to_patient"), ("cases", "0005_audit_append_only")]


def migrate(targets):
    """Migrate to ``targets`` and give the models as they are there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_invitations_and_tokens_keep_working_after_the_upgrade(settings):
    old = migrate(BEFORE)
    User = old.get_model("board", "User")
    Board = old.get_model("board", "Board")
    Case = old.get_model("cases", "Case")
    OldInvite = old.get_model("cases", "CaseInvite")
    OldToken = old.get_model("board", "ApiToken")
    chair = User.objects.create(username="old-chair", password="!")
    expert = User.objects.create(username="old-expert", password="!", email="old@x.example")
    case = Case.objects.create(board=Board.objects.create(name="B"), submitted_by=chair)
    invite = OldInvite.objects.create(
        case=case,
        expert=expert,
        invited_by=chair,
        expires_at=timezone.now() + datetime.timedelta(days=3),
    )
    token = OldToken.objects.create(user=expert, name="PACS", key_hash="a" * 64, prefix="csl_abcd")

    settings.API_TOKEN_DAYS = 90
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    upgraded = CaseInvite.objects.get(uuid=invite.uuid)
    assert upgraded.expert_id == expert.pk
    assert upgraded.accepted_at == upgraded.created_at
    assert upgraded.email == "old@x.example"
    assert upgraded.token_hash == ""
    assert upgraded.is_active
    kept = ApiToken.objects.get(uuid=token.uuid)
    assert kept.scope == ApiToken.Scope.IMAGING_UPLOAD
    expected = timezone.now() + datetime.timedelta(days=90)
    assert abs((kept.expires_at - expected).total_seconds()) < 600
