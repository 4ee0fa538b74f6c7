"""The chair drafts the minutes of a meeting that is over, records an open action, signs
them, and a member downloads the PDF. Real Chromium, real Daphne."""

import pytest

from decisions.models import MeetingMinutes
from tests.decisions.test_minutes import held_meeting
from tests.e2e.browser import shot, sign_in

pytestmark = pytest.mark.browser


def test_the_chair_drafts_edits_and_signs_the_minutes(cast, daphne_server, new_context):
    base = daphne_server.url
    meeting, _decided, deferred = held_meeting(cast)

    chair = sign_in(new_context(), base, "chair")
    chair.locator(f'#minutes-to-sign [data-meeting="{meeting.uuid}"] a.button').click()
    chair.get_by_role("button", name="Draft the minutes").click()
    item = chair.locator(f'fieldset[data-case="{deferred.pseudonym}"]')
    item.get_by_label("Outcome").select_option("more_information")
    item.get_by_label("Open action").fill("Ask the referrer for a chest CT")
    item.get_by_label("Owner").select_option(label=cast.coordinator.display_name)
    chair.get_by_label("General notes").fill("Next meeting in two weeks.")
    chair.get_by_role("button", name="Save the draft").click()
    chair.get_by_text("The draft minutes are saved.").wait_for()
    shot(chair, "minutes-draft.png")
    chair.get_by_label("Your password").fill("cast-password-7Q!")
    chair.get_by_role("button", name="Sign the minutes").click()
    chair.locator("#minutes-signed").wait_for()
    shot(chair, "minutes-signed.png")
    minutes = MeetingMinutes.objects.get(meeting=meeting)
    assert minutes.is_signed and len(minutes.sha256) == 64

    member = sign_in(new_context(), base, "pathologist")
    member.goto(f"{base}/meetings/{meeting.uuid}/minutes/")
    assert "Ask the referrer for a chest CT" in member.locator("#minutes").inner_text()
    with member.expect_download() as download:
        member.get_by_role("link", name="Download the PDF").click()
    assert download.value.suggested_filename.startswith("consilium-minutes-")
