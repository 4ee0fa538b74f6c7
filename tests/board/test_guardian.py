"""django-guardian is wired for per-object grants (invited experts on one case)."""

import pytest
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

pytestmark = pytest.mark.django_db


def test_object_grant_applies_to_that_object_only(cast):
    assert not cast.expert.has_perm("board.view_board", cast.board)
    assign_perm("board.view_board", cast.expert, cast.board)
    # Permission caches live on the user object; a fresh instance sees the grant.
    expert = type(cast.expert).objects.get(pk=cast.expert.pk)
    assert expert.has_perm("board.view_board", cast.board)
    assert not expert.has_perm("board.view_board", cast.other_board)
    assert list(get_objects_for_user(expert, "board.view_board")) == [cast.board]


def test_revoked_grant_is_gone(cast):
    assign_perm("board.view_board", cast.expert, cast.board)
    remove_perm("board.view_board", cast.expert, cast.board)
    expert = type(cast.expert).objects.get(pk=cast.expert.pk)
    assert not expert.has_perm("board.view_board", cast.board)


def test_membership_alone_grants_no_object_permission(cast):
    # Membership is checked by the access helpers, not stored as guardian rows.
    assert not cast.pathologist.has_perm("board.view_board", cast.board)
