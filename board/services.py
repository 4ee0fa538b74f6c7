"""Writes to boards and accounts: keyword-only, typed, atomic."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from board.models import Board, QuorumRequirement


@transaction.atomic
def board_update_settings(
    *, board: Board, description: str, required_specialties: Iterable[str]
) -> Board:
    board.description = description
    board.save(update_fields=["description"])
    wanted = set(required_specialties)
    board.quorum_requirements.exclude(specialty__in=wanted).delete()
    existing = set(board.quorum_requirements.values_list("specialty", flat=True))
    QuorumRequirement.objects.bulk_create(
        QuorumRequirement(board=board, specialty=specialty) for specialty in wanted - existing
    )
    return board
