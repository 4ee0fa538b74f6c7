"""The board's imaging option: keep cleaned descriptions (PS3.15 Clean Descriptors Option)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.board.test_views import RULES
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


def settings_url(board) -> str:
    return reverse("board-settings", kwargs={"board_id": board.uuid})


def test_new_boards_keep_cleaned_descriptions(cast):
    assert cast.board.keep_clean_descriptors is True


def test_the_chair_turns_cleaned_descriptions_off_and_on(cast):
    chair = signed_in(cast.chair)
    page = chair.get(settings_url(cast.board)).content.decode()
    assert 'name="keep_clean_descriptors"' in page
    assert "Clean Descriptors Option" in page
    form = {"description": "x", "deidentify_imaging": "on", **RULES}
    chair.post(settings_url(cast.board), form)
    cast.board.refresh_from_db()
    assert cast.board.keep_clean_descriptors is False
    chair.post(settings_url(cast.board), {**form, "keep_clean_descriptors": "on"})
    cast.board.refresh_from_db()
    assert cast.board.keep_clean_descriptors is True
