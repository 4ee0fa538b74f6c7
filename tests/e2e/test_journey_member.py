"""A board member's journey (issue #16), in real Chromium: the home work list shows a case
awaiting their opinion; they open it, look at its CT in the viewer, write their opinion; a vote
opens, the home page lists it with its closing time in the member's zone, named; they vote.
Screenshots at each step (SCREENSHOT_DIR)."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.utils import timezone

from board.models import User
from cases.models import Opinion
from decisions.models import Vote
from imaging import phantom
from imaging.ingest import ingest_many
from tests.cases.factories import make_case
from tests.decisions.factories import open_round, propose
from tests.e2e.browser import SCREEN, off_the_browser_loop, shot, sign_in

pytestmark = pytest.mark.browser

OPINION = "MRI: deep, 11 cm, abutting the femoral vessels; no bone invasion."
# Dubai's zone has no letters in the tz database: its times read "UTC+4" (board/dates.py).
IN_DUBAI = re.compile(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC\+4\b")


@pytest.fixture
def case_with_ct(cast, transactional_db):
    """Made before the browser starts: a case in review with a small CT, no opinion yet."""
    case = make_case(cast, status="in_review", ready_at=timezone.now())
    files = []
    for i, ds in enumerate(phantom.phantom_series(slices=6, size=128)):
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        buffer.seek(0)
        files.append((f"IM{i}", buffer))
    assert ingest_many(case=case, by=cast.radiologist, files=files).stored == 6
    User.objects.filter(pk=cast.radiologist.pk).update(time_zone="Asia/Dubai")
    return case


def test_a_member_reviews_a_case_writes_an_opinion_and_votes(
    cast, case_with_ct, daphne_server, new_context
):
    base = daphne_server.url
    case = case_with_ct

    # 1. Home: the case awaits this member's opinion.
    member = sign_in(new_context(viewport=SCREEN), base, "radiologist")
    awaiting = member.locator("#awaiting-opinion")
    row = awaiting.locator(f".work-row[data-case='{case.pseudonym}']")
    row.wait_for()
    shot(member, "journey-member-01-home.png")

    # 2. Opens the case.
    row.get_by_role("link", name="Give your opinion").click()
    member.wait_for_url(f"**/cases/{case.uuid}/**")
    member.locator("#opinions").wait_for()
    shot(member, "journey-member-02-case.png")

    # 3. Opens the CT in the viewer; its slices load and draw.
    member.locator("a.series-open").first.click()
    member.wait_for_url("**/viewer/**")
    member.wait_for_function(
        "window.viewer && [...window.viewer.loaders.values()]"
        ".some(e => e.loader.loaded === e.loader.count && e.loader.count > 0)"
    )
    member.evaluate("window.viewer.rendered()")
    shot(member, "journey-member-03-viewer.png")

    # 4. Back on the case, writes an opinion.
    member.goto(f"{base}/cases/{case.uuid}/")
    member.get_by_label("Your opinion").fill(OPINION)
    member.get_by_role("button", name="Post opinion").click()
    member.locator(".opinion-body", has_text="femoral vessels").wait_for()
    opinion = Opinion.objects.get(case=case, author=cast.radiologist)
    # Its time in the member's zone, named, and ISO for machines.
    posted = member.locator(f"#opinion-{opinion.uuid} time").first
    assert IN_DUBAI.search(posted.inner_text()), posted.inner_text()
    assert posted.get_attribute("datetime").endswith("+00:00")
    shot(member, "journey-member-04-opinion.png")

    # 5. The chair opens a vote (seeded through the services); the home page lists it and no
    # longer lists the case as awaiting this member's opinion.
    deadline = timezone.now().replace(microsecond=0) + datetime.timedelta(days=2)
    proposal = off_the_browser_loop(propose, cast, case)
    off_the_browser_loop(open_round, cast, case, deadline=deadline)
    member.goto(f"{base}/")
    vote_row = member.locator(f"#open-votes .work-row[data-case='{case.pseudonym}']")
    vote_row.wait_for()
    closes = vote_row.inner_text()
    assert IN_DUBAI.search(closes), closes
    assert member.locator(f"#awaiting-opinion .work-row[data-case='{case.pseudonym}']").count() == 0
    shot(member, "journey-member-05-open-vote.png")

    # 6. Votes.
    vote_row.get_by_role("link", name="Vote").click()
    form = member.locator("#vote-form")
    form.locator(f"input[name='vote-p-{proposal.uuid}'][value=agree]").check()
    form.get_by_role("button", name="Cast my vote").click()
    mine = member.locator("#my-vote")
    mine.wait_for()
    assert IN_DUBAI.search(mine.inner_text()), mine.inner_text()
    assert Vote.objects.filter(voter=cast.radiologist, round__case=case).count() == 1
    shot(member, "journey-member-06-voted.png")
    member.goto(f"{base}/")
    assert member.locator(f"#open-votes .work-row[data-case='{case.pseudonym}']").count() == 0
