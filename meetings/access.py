"""Access helpers: the only way views look up meetings.

Members of the meeting's board see it; everyone else gets 404 (a meeting's agenda names
cases). Only the board's chair or coordinator manages it (403 for other members).
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from board.models import Membership, User
from meetings.models import Meeting


def meetings_for_user(user: User) -> QuerySet[Meeting]:
    if not user.is_authenticated or not user.is_active:
        return Meeting.objects.none()
    return Meeting.objects.filter(board__memberships__user=user)


def membership_of(user: User, meeting: Meeting) -> Membership | None:
    if not user.is_authenticated or not user.is_active:
        return None
    return Membership.objects.filter(user=user, board_id=meeting.board_id).first()


def get_meeting_for_user(user: User, meeting_id: UUID) -> tuple[Meeting, Membership]:
    """The meeting and the user's membership of its board, or 404."""
    if not user.is_authenticated or not user.is_active:
        raise Http404
    meeting = Meeting.objects.select_related("board").filter(uuid=meeting_id).first()
    membership = membership_of(user, meeting) if meeting is not None else None
    if membership is None:
        raise Http404
    return meeting, membership


def get_meeting_for_manager(user: User, meeting_id: UUID) -> tuple[Meeting, Membership]:
    """The meeting for its board's chair or coordinator; 404 for outsiders, 403 for members."""
    meeting, membership = get_meeting_for_user(user, meeting_id)
    if not membership.is_manager:
        raise PermissionDenied
    return meeting, membership
