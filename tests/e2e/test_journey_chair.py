"""The chair's journey with a live vote and quorum (issue #16), in real Chromium: the chair
builds the agenda and starts the meeting, two members join from their own browsers, the chair
opens a live vote; a member who never joined cannot vote, the present ones do; the chair
closes. The meeting lacked the pathologist its quorum asks for, so signing asks for the
chair's reason, and the report prints it beside the quorum line. Screenshots at each step
(SCREENSHOT_DIR)."""

from __future__ import annotations

import datetime
import re
import subprocess

import pytest
from django.utils import timezone

from board.models import Board, User
from cases.access import case_access
from cases.models import Case
from decisions import services as actions
from decisions.models import Consensus, Vote
from tests.cast import PASSWORD
from tests.e2e.browser import SCREEN, join, shot, sign_in
from tests.meetings.factories import make_meeting, ready_case

pytestmark = pytest.mark.browser

REASON = "The pathology was reviewed at the reference centre last week; the patient cannot wait."
RECOMMENDATION = "Wide resection after preoperative radiotherapy"


@pytest.fixture
def meeting_and_case(cast, transactional_db):
    """Made before the browsers start: a meeting starting now with an empty agenda, and a
    case ready for the board with the surgeon's proposal. Absent members may not vote live."""
    Board.objects.filter(pk=cast.board.pk).update(
        tally_visibility=Board.TallyVisibility.LIVE,
        absentees_vote_live=False,
        time_zone="Europe/Paris",
    )
    # Pages speak the reader's zone, the report the board's.
    User.objects.filter(pk=cast.chair.pk).update(time_zone="America/New_York")
    meeting = make_meeting(
        cast, title="Sarcoma board, live", starts_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    case = ready_case(cast)
    actions.proposal_create(
        access=case_access(cast.surgeon, case),
        data={"category": "surgery", "text": RECOMMENDATION + ".", "guideline": "none"},
    )
    return meeting, case


def test_the_chair_runs_a_live_vote_without_quorum_and_signs_with_a_reason(
    cast, meeting_and_case, daphne_server, new_context, tmp_path
):
    meeting, case = meeting_and_case
    base = daphne_server.url

    # 1. The chair builds the agenda on the meeting page; its time reads in the chair's zone.
    chair = sign_in(new_context(viewport=SCREEN, accept_downloads=True), base, "chair")
    chair.goto(f"{base}/meetings/{meeting.uuid}/")
    assert re.search(r"\d{2}:\d{2}–\d{2}:\d{2} E[SD]T", chair.locator("#your-time").inner_text())
    add = chair.locator("form.agenda-add")
    add.locator("select[name=case]").select_option(str(case.uuid))
    add.get_by_role("button", name="Add to agenda").click()
    chair.get_by_text(case.pseudonym).first.wait_for()
    case.refresh_from_db()
    assert case.status == Case.Status.SCHEDULED
    shot(chair, "journey-chair-01-agenda.png")

    # 2. Starts the meeting: joins the live session and brings the case on screen.
    chair.get_by_role("link", name="Join live session").click()
    chair.wait_for_function("document.body.dataset.connection === 'live'")
    chair.get_by_role("button", name=f"Go to case {case.pseudonym}").click()
    chair.locator("#vote-panel #decisions").wait_for()

    # 3. Two members join, each from their own browser.
    members = [join(new_context, base, name, meeting) for name in ("radiologist", "surgeon")]
    for page in members:
        page.locator("#vote-panel #decisions").wait_for()
    shot(chair, "journey-chair-02-live.png")

    # 4. The chair opens a live vote, in this meeting.
    chair.locator("#vote-panel summary", has_text="Open a vote").click()
    assert chair.locator("#vote-panel select[name=round-meeting]").input_value() == str(
        meeting.uuid
    )
    chair.locator("#vote-panel").get_by_role("button", name="Open the vote").click()
    chair.locator("#vote-panel [data-vote-count]").wait_for()
    shot(chair, "journey-chair-03-vote-open.png")

    # 5. A member who never joined the meeting cannot vote: the page says why, and a ballot
    # sent anyway is refused.
    absent = sign_in(new_context(viewport=SCREEN), base, "oncologist")
    absent.goto(f"{base}/cases/{case.uuid}/")
    absent.locator("#vote-absent").wait_for()
    form = absent.locator("#vote-form")
    form.locator("input[value=agree]").first.check()
    form.get_by_role("button", name="Cast my vote").click()
    absent.get_by_text("only the members present in it vote").first.wait_for()
    assert not Vote.objects.filter(voter=cast.oncologist).exists()
    shot(absent, "journey-chair-04-absent-refused.png")

    # 6. The present members vote; the count moves on the chair's screen.
    for page in members:
        panel = page.locator("#vote-panel")
        panel.locator("#vote-form").wait_for()
        panel.locator("#vote-form input[value=agree]").first.check()
        panel.get_by_role("button", name="Cast my vote").click()
        panel.locator("#my-vote").wait_for()
    chair.locator("#vote-panel [data-vote-count]", has_text="2 of").wait_for()
    shot(members[0], "journey-chair-05-member-voted.png")

    # 7. The chair closes the vote.
    chair.locator("#vote-panel").get_by_role("button", name="Close the vote and count").click()
    chair.locator("#vote-panel #vote-outcome").wait_for()
    shot(chair, "journey-chair-06-closed.png")

    # 8. Drafts and signs: the meeting's quorum was not met, so signing asks for the reason.
    chair.goto(f"{base}/cases/{case.uuid}/")
    chair.get_by_text("Draft the recommendation").click()
    chair.locator("#consensus-form textarea[name=consensus-text]").fill(f"**{RECOMMENDATION}**.")
    # The vote made no quorum of its own either, so nothing was adopted to start the draft
    # from: the chair picks the category.
    chair.locator("#consensus-form select[name=consensus-category]").select_option("surgery")
    chair.get_by_role("button", name="Save draft").click()
    chair.locator("#consensus .badge", has_text="draft").wait_for()
    quorum = chair.locator("#sign-quorum")
    # Present: the chair (medical oncology), the radiologist and the surgeon; the board's
    # quorum also asks for pathology.
    assert "Missing: Pathology ×1" in quorum.inner_text()
    chair.locator("input[name=sign-password]").fill(PASSWORD)
    chair.get_by_role("button", name="Sign version 1").click()
    chair.get_by_text("say why you sign anyway").first.wait_for()
    assert not Consensus.objects.get(case=case).is_signed
    shot(chair, "journey-chair-07-reason-asked.png")
    chair.locator("[name=sign-quorum_reason]").fill(REASON)
    chair.locator("input[name=sign-password]").fill(PASSWORD)
    chair.get_by_role("button", name="Sign version 1").click()
    chair.locator("#decisions #report-download").wait_for()
    assert Consensus.objects.get(case=case).quorum_reason == REASON
    shot(chair, "journey-chair-08-signed.png")

    # 9. The report prints the quorum line and the reason after it; its times are in the
    # board's zone (Paris), named, whoever prints it.
    with chair.expect_download() as download_info:
        chair.locator("#decisions #report-download").first.click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    text = " ".join(
        subprocess.run(
            ["pdftotext", "-layout", str(saved), "-"], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    assert "quorum not met" in text and REASON in text, text
    assert text.index("quorum not met") < text.index(REASON)
    assert re.search(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} CES?T\b", text), text
