"""Access helpers: the only way views look up boards.

Outsiders get 404 (they must not learn that a board exists); members without
the right role get 403.
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from board.models import Board, Membership, User


def boards_for_user(user: User) -> QuerySet[Board]:
    if not user.is_authenticated or not user.is_active:
        return Board.objects.none()
    return Board.objects.filter(memberships__user=user)


def get_board_for_user(user: User, board_id: UUID) -> tuple[Board, Membership]:
    """The board and the user's membership in it, or 404."""
    if not user.is_authenticated or not user.is_active:
        raise Http404
    membership = (
        Membership.objects.select_related("board").filter(user=user, board__uuid=board_id).first()
    )
    if membership is None:
        raise Http404
    return membership.board, membership


def get_board_for_manager(user: User, board_id: UUID) -> tuple[Board, Membership]:
    """The board for its chair or coordinator; 404 for outsiders, 403 for members."""
    board, membership = get_board_for_user(user, board_id)
    if not membership.is_manager:
        raise PermissionDenied
    return board, membership
