"""The vote panel in a live meeting: the chair opens a vote on the case on show, members
vote from their own browsers, and the panel opens, counts and closes on every screen
through events sent after commit, without a reload."""

from __future__ import annotations

import pytest

from board.models import Board
from cases.access import case_access
from decisions import services as actions
from meetings.live import live_goto
from tests.e2e.browser import join
from tests.meetings.factories import acting, make_meeting, put_on_agenda, ready_case

pytestmark = pytest.mark.browser


@pytest.fixture
def meeting(cast, transactional_db):
    """Made before the browsers start: its writes publish outside Playwright's event loop."""
    Board.objects.filter(pk=cast.board.pk).update(tally_visibility="live")
    meeting = make_meeting(cast)
    item = put_on_agenda(meeting, ready_case(cast), 1)
    actions.proposal_create(
        access=case_access(cast.surgeon, item.case),
        data={"category": "surgery", "text": "Wide resection.", "guideline": "none"},
    )
    live_goto(access=acting(cast.chair, meeting), item=item)
    return meeting


def test_the_vote_panel_opens_counts_and_closes_live(meeting, daphne_server, new_context):
    base = daphne_server.url
    chair = join(new_context, base, "chair", meeting)
    members = [join(new_context, base, name, meeting) for name in ("radiologist", "surgeon")]
    for page in (chair, *members):
        page.evaluate("window.__notReloaded = true")
        page.locator("#vote-panel #decisions").wait_for()

    chair.locator("#vote-panel summary", has_text="Open a vote").click()
    # Opened from the meeting, the vote is this meeting's unless the chair says otherwise.
    assert chair.locator("#vote-panel select[name=round-meeting]").input_value() == str(
        meeting.uuid
    )
    chair.locator("#vote-panel").get_by_role("button", name="Open the vote").click()

    for page, choice in zip(members, ("agree", "disagree"), strict=True):
        panel = page.locator("#vote-panel")
        panel.locator("#vote-form").wait_for()  # opened by the event, not by a reload
        panel.locator(f"#vote-form input[value={choice}]").check()
        panel.get_by_role("button", name="Cast my vote").click()
        panel.locator("#my-vote").wait_for()
    chair.locator("#vote-panel [data-vote-count]", has_text="2 of").wait_for()

    chair.locator("#vote-panel").get_by_role("button", name="Close the vote and count").click()
    for page in (chair, *members):
        page.locator("#vote-panel #vote-outcome").wait_for()
        assert page.evaluate("window.__notReloaded") is True
