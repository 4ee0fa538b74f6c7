"""Writes to boards and accounts: keyword-only, typed, atomic."""

from __future__ import annotations

from collections.abc import Iterable

from board.access import BoardAccess, check_then_do
from board.models import Board, QuorumRequirement


@check_then_do("board.settings", lambda access, **_: access.is_manager)
def board_update_settings(
    *,
    access: BoardAccess,
    description: str,
    required_specialties: Iterable[str],
    accepts_referrals: bool = True,
    blinded_opinions: bool = False,
    share_opinions_with_referrers: bool = False,
    send_report_to_patient: bool = True,
    deidentify_imaging: bool = True,
    vote_mode: str | None = None,
    tally_visibility: str | None = None,
    consensus_rule: str | None = None,
    qualified_majority: str | None = None,
) -> Board:
    """Save the board's settings (its managers only). The decision rules (None: unchanged)
    apply to vote rounds opened from now on; a round under way keeps the rules it opened
    with."""
    board = access.board
    board.description = description
    board.accepts_referrals = accepts_referrals
    board.blinded_opinions = blinded_opinions
    board.share_opinions_with_referrers = share_opinions_with_referrers
    board.send_report_to_patient = send_report_to_patient
    board.deidentify_imaging = deidentify_imaging
    rules = {
        "vote_mode": vote_mode,
        "tally_visibility": tally_visibility,
        "consensus_rule": consensus_rule,
        "qualified_majority": qualified_majority,
    }
    for name, value in rules.items():
        if value is not None:
            setattr(board, name, value)
    board.save(
        update_fields=[
            "description",
            "accepts_referrals",
            "blinded_opinions",
            "share_opinions_with_referrers",
            "send_report_to_patient",
            "deidentify_imaging",
            *rules,
        ]
    )
    wanted = set(required_specialties)
    board.quorum_requirements.exclude(specialty__in=wanted).delete()
    existing = set(board.quorum_requirements.values_list("specialty", flat=True))
    QuorumRequirement.objects.bulk_create(
        QuorumRequirement(board=board, specialty=specialty) for specialty in wanted - existing
    )
    return board
