"""Access helpers: the only way views look up boards, and the one place that says who may
do what with a board.

Outsiders get 404 (they must not learn that a board exists); members without the right role
get 403. "Manager" is the one name for who runs a board (``Membership.is_manager``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from board.models import Board, Membership, User


@dataclass
class MemberAccess:
    """A member's seat on a board: who acts, and whether they run the board."""

    membership: Membership

    @property
    def user(self) -> User:
        return self.membership.user

    @property
    def is_manager(self) -> bool:
        return self.membership.is_manager

    def require(self, allowed: bool, action: str) -> None:
        """403 unless ``allowed`` (board pages hold no patient data: not audited)."""
        if not allowed:
            raise PermissionDenied(action)


@dataclass
class BoardAccess(MemberAccess):
    """What board services are handed as who acts."""

    board: Board


def check_then_do(action: str, right: Callable[..., bool]):
    """Make a service check, then do (Zulip's actions): ``right(access, **kwargs)`` is asked
    of the access object the service is handed as ``access`` before its transaction opens,
    so a refusal and its audit event outlive each other; then the write runs atomically."""

    def wrap(func):
        atomic = transaction.atomic(func)

        @functools.wraps(func)
        def run(*, access, **kwargs):
            access.require(right(access, **kwargs), action)
            return atomic(access=access, **kwargs)

        return run

    return wrap


def boards_for_user(user: User) -> QuerySet[Board]:
    if not user.is_authenticated or not user.is_active:
        return Board.objects.none()
    return Board.objects.filter(memberships__user=user)


def get_board_for_user(user: User, board_id: UUID) -> BoardAccess:
    """The board and the user's membership in it, or 404."""
    if not user.is_authenticated or not user.is_active:
        raise Http404
    membership = (
        Membership.objects.select_related("board", "user")
        .filter(user=user, board__uuid=board_id)
        .first()
    )
    if membership is None:
        raise Http404
    return BoardAccess(board=membership.board, membership=membership)


def get_board_for_manager(user: User, board_id: UUID) -> BoardAccess:
    """The board for its chair or coordinator; 404 for outsiders, 403 for members."""
    access = get_board_for_user(user, board_id)
    access.require(access.is_manager, "board.manage")
    return access
