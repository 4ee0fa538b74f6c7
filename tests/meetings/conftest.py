from __future__ import annotations

import pytest

from meetings.models import Meeting
from tests.meetings.factories import make_meeting


@pytest.fixture
def emails(cast):
    """Give every member of the cast an address, so invites have somewhere to go."""
    for name in (
        "chair",
        "coordinator",
        "pathologist",
        "radiologist",
        "oncologist",
        "surgeon",
        "referrer",
        "other_member",
    ):
        user = getattr(cast, name)
        user.email = f"{name}@board.example"
        user.save(update_fields=["email"])
    return cast


@pytest.fixture
def meeting(cast) -> Meeting:
    return make_meeting(cast)
