import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from board.access import boards_for_user, get_board_for_manager, get_board_for_user

pytestmark = pytest.mark.django_db


def test_member_gets_board_and_membership(cast):
    access = get_board_for_user(cast.pathologist, cast.board.uuid)
    board, membership = access.board, access.membership
    assert board == cast.board
    assert membership.user == cast.pathologist


@pytest.mark.parametrize("who", ["outsider", "other_member", "patient", "referrer", "expert"])
def test_outsiders_get_404(cast, who):
    with pytest.raises(Http404):
        get_board_for_user(getattr(cast, who), cast.board.uuid)


def test_anonymous_gets_404(cast):
    with pytest.raises(Http404):
        get_board_for_user(AnonymousUser(), cast.board.uuid)
    assert not boards_for_user(AnonymousUser()).exists()


def test_inactive_member_gets_404(cast):
    cast.radiologist.is_active = False
    with pytest.raises(Http404):
        get_board_for_user(cast.radiologist, cast.board.uuid)
    assert not boards_for_user(cast.radiologist).exists()


def test_unknown_board_gets_404(cast):
    with pytest.raises(Http404):
        get_board_for_user(cast.chair, uuid.uuid4())


def test_manager_helper_refuses_members_with_403(cast):
    assert get_board_for_manager(cast.chair, cast.board.uuid).is_manager
    assert get_board_for_manager(cast.coordinator, cast.board.uuid).is_manager
    with pytest.raises(PermissionDenied):
        get_board_for_manager(cast.surgeon, cast.board.uuid)
    with pytest.raises(Http404):
        get_board_for_manager(cast.outsider, cast.board.uuid)


def test_boards_for_user_lists_only_own_boards(cast):
    assert list(boards_for_user(cast.surgeon)) == [cast.board]
    assert list(boards_for_user(cast.other_member)) == [cast.other_board]
    assert list(boards_for_user(cast.outsider)) == []


def test_superuser_is_not_a_member_by_default(cast):
    cast.outsider.is_superuser = True
    with pytest.raises(Http404):
        get_board_for_user(cast.outsider, cast.board.uuid)
