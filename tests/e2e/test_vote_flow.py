"""A decision from the vote to the referring doctor's PDF, in real Chromium: the chair opens
a vote in the meeting, three members vote from their own browsers while the others' tallies
move without a reload, the chair closes, drafts and signs, and the referring doctor
downloads the signed report, byte for byte the file whose SHA-256 was recorded."""

from __future__ import annotations

import datetime
import hashlib
import io
import os
from pathlib import Path

import pytest
from django.utils import timezone
from pypdf import PdfReader

from board.models import Board, QuorumRequirement, Specialty
from cases.access import case_access
from cases.models import Case
from decisions import services as actions
from decisions.models import Report, Vote
from meetings.models import AgendaItem, Attendance, Meeting
from tests.cases.factories import PATIENT_NAME, make_case
from tests.cast import PASSWORD
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.browser

RECOMMENDATION = "Wide en bloc resection at the reference centre"


@pytest.fixture
def meeting_case(cast, transactional_db):
    """Made before the browser starts: its events publish outside Playwright's event loop.
    The referring doctor's case, two proposals, on the agenda of a meeting the members have
    joined. Quorum asks for a pathologist, a radiologist and a surgeon (the three voters)."""
    Board.objects.filter(pk=cast.board.pk).update(tally_visibility=Board.TallyVisibility.LIVE)
    QuorumRequirement.objects.filter(
        board=cast.board, specialty=Specialty.MEDICAL_ONCOLOGY
    ).delete()
    case = make_case(cast, status=Case.Status.SCHEDULED, submitted_by=cast.referrer)
    proposals = [
        actions.proposal_create(
            access=case_access(cast.surgeon, case),
            data={"category": "surgery", "text": "Wide en bloc resection.", "guideline": "none"},
        ),
        actions.proposal_create(
            access=case_access(cast.oncologist, case),
            data={"category": "radiotherapy", "text": "Preoperative RT 50 Gy."},
        ),
    ]
    meeting = Meeting.objects.create(
        board=cast.board,
        title="Sarcoma tumor board",
        starts_at=timezone.now() - datetime.timedelta(minutes=20),
        created_by=cast.chair,
    )
    AgendaItem.objects.create(meeting=meeting, case=case, position=1)
    # Open joins with a recent heartbeat: present, so they vote in the meeting's live vote.
    for user in (cast.chair, cast.pathologist, cast.radiologist, cast.surgeon):
        Attendance.objects.create(
            meeting=meeting, user=user, joined_at=meeting.starts_at, seen_at=timezone.now()
        )
    return case, proposals, meeting


def shot(locator, name):
    if os.environ.get("SCREENSHOT_DIR"):  # for a person to look at
        locator.screenshot(path=Path(os.environ["SCREENSHOT_DIR"]) / name)


def cast_vote(page, p1, p2, *, p1_position, p2_position, comment=""):
    form = page.locator("#decisions #vote-form")
    form.locator(f"input[name='vote-p-{p1.uuid}'][value={p1_position}]").check()
    form.locator(f"input[name='vote-p-{p2.uuid}'][value={p2_position}]").check()
    if comment:
        form.get_by_label("Comment").fill(comment)
    form.get_by_role("button", name="Cast my vote").click()
    page.locator("#decisions #my-vote").wait_for()


def tally_row(page, proposal):
    return page.locator(f"#decisions #tally tr[data-proposal='{proposal.uuid}']")


def test_vote_sign_and_the_referring_doctor_downloads_the_report(
    cast, meeting_case, daphne_server, new_context
):
    case, (p1, p2), meeting = meeting_case
    base = daphne_server.url
    case_url = f"{base}/cases/{case.uuid}/"

    chair = sign_in(new_context(), base, "chair")
    chair.goto(case_url)
    chair.locator("#opinions[data-live='open']").wait_for()
    chair.get_by_text("Open a vote").click()
    chair.locator("select[name=round-meeting]").select_option(str(meeting.uuid))
    chair.get_by_role("button", name="Open the vote").click()
    chair.locator("#vote-round[data-round-status=open]").wait_for()

    members = {}
    for username in ("pathologist", "radiologist", "surgeon"):
        page = sign_in(new_context(), base, username)
        page.goto(case_url)
        page.locator("#opinions[data-live='open']").wait_for()
        page.evaluate("window.__notReloaded = true")
        members[username] = page

    cast_vote(members["surgeon"], p1, p2, p1_position="agree", p2_position="disagree")
    # The tally is live on this board: the others' panels move without a reload.
    for page in (members["pathologist"], members["radiologist"], chair):
        tally_row(page, p1).locator("td").first.filter(has_text="1").wait_for()
    cast_vote(members["pathologist"], p1, p2, p1_position="agree", p2_position="abstain")
    cast_vote(
        members["radiologist"],
        p1,
        p2,
        p1_position="disagree",
        p2_position="agree",
        comment="Margins unlikely without RT.",
    )
    chair.locator("[data-vote-count]", has_text="3 of 5").wait_for()
    # The ballot kept the comment typed with it (live refreshes must not drop it).
    assert Vote.objects.get(voter=cast.radiologist).comment == "Margins unlikely without RT."
    assert [c.inner_text() for c in tally_row(chair, p1).locator("td").all()] == ["2", "1", "0"]
    assert [c.inner_text() for c in tally_row(chair, p2).locator("td").all()] == ["1", "1", "1"]

    chair.get_by_role("button", name="Close the vote and count").click()
    chair.locator("#vote-outcome", has_text="Proposal adopted: P1").wait_for()
    members["surgeon"].locator("#vote-outcome", has_text="Proposal adopted").wait_for()

    chair.get_by_text("Draft the recommendation").click()
    chair.locator("#consensus-form textarea[name=consensus-text]").fill(f"**{RECOMMENDATION}**.")
    chair.get_by_role("button", name="Save draft").click()
    chair.locator("#consensus .badge", has_text="draft").wait_for()
    chair.locator("input[name=sign-password]").fill(PASSWORD)
    chair.get_by_role("button", name="Sign version 1").click()
    chair.locator("#decisions #report-download").wait_for()
    # The others learn of the signature and of the report over the socket.
    members["radiologist"].locator("#decisions #report-download").wait_for()
    assert all(page.evaluate("window.__notReloaded") for page in members.values())

    panel_copy, stored = (
        Report.objects.select_related("consensus").get(consensus__case=case, audience=audience)
        for audience in ("panel", "referrer")
    )
    assert stored.consensus == panel_copy.consensus and stored.consensus.signed_by == cast.chair

    referrer = sign_in(new_context(accept_downloads=True), base, "referrer")
    referrer.goto(case_url)
    area = referrer.locator("#decisions")
    area.get_by_text(RECOMMENDATION).wait_for()
    shot(area, "report-area-referrer.png")
    with referrer.expect_download() as download_info:
        area.get_by_role("link", name="Download the report (PDF, version 1, Referrer copy)").click()
    download = download_info.value
    assert download.suggested_filename == f"consilium-{case.pseudonym}-report-v1-referrer.pdf"
    pdf = Path(download.path()).read_bytes()
    # The referrer's copy is rendered after the panel's: read its row as it is now.
    stored.refresh_from_db()
    assert hashlib.sha256(pdf).hexdigest() == stored.sha256
    text = " ".join(
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )
    assert RECOMMENDATION in text and "Referrer copy" in text
    # The board does not share opinions with referrers: the dissent is recorded, not who
    # dissented or why (on failure, the votes page as extracted).
    assert "A dissent was recorded." in text, text[text.find("Proposals and votes") :]
    assert "Margins unlikely without RT." not in text
    assert cast.radiologist.display_name not in text and case.pseudonym in text
    assert PATIENT_NAME in text  # fileable in the referrer's chart
