"""Access helpers: the only way views and sockets look up meetings, and the one place that
says who may do what with a meeting.

Members of the meeting's board see it; everyone else gets 404 (a meeting's agenda names
cases). Only the board's managers (chair, coordinators) change it: 403, audited, for other
members.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from board.access import MemberAccess, check_then_do
from board.models import Membership, User
from cases.audit import audit
from meetings.models import Meeting


@dataclass
class MeetingAccess(MemberAccess):
    """One member's rights on one meeting: what meeting services are handed as who acts."""

    meeting: Meeting

    def require(self, allowed: bool, action: str) -> None:
        """403 (audited) unless ``allowed``."""
        if not allowed:
            audit(actor=self.user, action=action, target=self.meeting, allowed=False)
            raise PermissionDenied


def meetings_for_user(user: User) -> QuerySet[Meeting]:
    if not user.is_authenticated or not user.is_active:
        return Meeting.objects.none()
    return Meeting.objects.filter(board__memberships__user=user)


def meeting_access(user: User, meeting: Meeting) -> MeetingAccess | None:
    """The user's access to ``meeting``, or None for those outside its board."""
    if not user.is_authenticated or not user.is_active:
        return None
    membership = (
        Membership.objects.select_related("user")
        .filter(user=user, board_id=meeting.board_id)
        .first()
    )
    return MeetingAccess(meeting=meeting, membership=membership) if membership else None


def get_meeting_for_user(user: User, meeting_id: UUID) -> MeetingAccess:
    """The meeting and the user's rights on it, or 404."""
    meeting = Meeting.objects.select_related("board").filter(uuid=meeting_id).first()
    access = meeting_access(user, meeting) if meeting is not None else None
    if access is None:
        # The agenda names cases: a refused look is audited like a refused case.
        audit(
            actor=user,
            action="meeting.view",
            target=meeting,
            allowed=False,
            detail={} if meeting is not None else {"requested": str(meeting_id)},
        )
        raise Http404
    return access


def get_meeting_for_manager(user: User, meeting_id: UUID) -> MeetingAccess:
    """The meeting for its board's managers; 404 for outsiders, 403 (audited) for members."""
    access = get_meeting_for_user(user, meeting_id)
    access.require(access.is_manager, "meeting.manage")
    return access


def managers_only(action: str):
    """A service of the board's managers (chair, coordinators): check, then do."""
    return check_then_do(action, lambda access, **_: access.is_manager)
