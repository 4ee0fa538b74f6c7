"""Accessibility in real Chromium (issue #19): axe-core over every page of the walk-through as
each role, the keyboard alone from sign-in to a vote, and a live meeting that no keystroke and
no vote refresh can derail."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone

from board.models import Board, User
from cases.access import case_access
from cases.models import Case
from decisions import services as actions
from imaging import phantom
from imaging.ingest import ingest_many
from meetings.live import live_goto
from tests.cases.factories import make_case, opinion
from tests.decisions.factories import close, draft, open_round, propose, sign, vote
from tests.e2e.axe import axe_problems
from tests.e2e.browser import SCREEN, sign_in
from tests.helpers import totp_device
from tests.meetings.factories import acting, make_meeting, put_on_agenda, ready_case

pytestmark = pytest.mark.browser

SLICES, SIZE = 12, 128


def add_phantom(case, by) -> None:
    files = []
    for i, ds in enumerate(phantom.phantom_series(slices=SLICES, size=SIZE)):
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        buf.seek(0)
        files.append((f"IM{i}", buf))
    assert ingest_many(case=case, by=by, files=files).stored == SLICES


@pytest.fixture
def board_day(cast, transactional_db):
    """A meeting on show with a case with images, a proposal and an open vote; a patient's
    answered request. Made before the browsers start (writes publish outside their loop)."""
    Board.objects.filter(pk=cast.board.pk).update(tally_visibility="live")
    meeting = make_meeting(cast)
    case = ready_case(cast)
    add_phantom(case, cast.radiologist)
    opinion(case, cast.pathologist)
    item = put_on_agenda(meeting, case, 1)
    actions.proposal_create(
        access=case_access(cast.surgeon, item.case),
        data={"category": "surgery", "text": "Wide resection.", "guideline": "none"},
    )
    actions.vote_round_open(access=case_access(cast.chair, case), meeting=meeting)
    live_goto(access=acting(cast.chair, meeting), item=item)
    answered = make_case(
        cast, submitted_by=cast.patient, status=Case.Status.SCHEDULED, ready_at=timezone.now()
    )
    p1 = propose(cast, answered)
    round_ = open_round(cast, answered)
    for user in (cast.chair, cast.pathologist, cast.oncologist, cast.surgeon, cast.radiologist):
        vote(user, answered, round_, agree=[p1])
    close(cast, answered, round_)
    sign(cast, answered, draft(cast, answered, text="Radiotherapy first, then surgery."))
    return {"meeting": meeting, "case": case, "answered": answered}


# --- axe-core over the walk-through -----------------------------------------------------------


def wait_ready(page) -> None:
    """Let the page's scripts draw what they draw (the viewer, the live page, the panel)."""
    page.wait_for_load_state("networkidle")
    if page.evaluate("!!document.querySelector('[data-viewer]')"):
        page.wait_for_function("window.viewer && window.viewer.viewports[0].series")
        page.evaluate("window.viewer.rendered()")


def test_no_serious_axe_violation_on_any_page_as_any_role(board_day, daphne_server, new_context):
    base = daphne_server.url
    case, answered, meeting = board_day["case"], board_day["answered"], board_day["meeting"]
    problems: list[str] = []

    def check(page, path: str, label: str) -> None:
        page.goto(base + path)
        wait_ready(page)
        problems.extend(axe_problems(page, f"{label} {path}"))

    # Signing in: the login page and the second factor, before anyone is in.
    anonymous = new_context().new_page()
    check(anonymous, "/accounts/login/", "anonymous")
    totp_device(User.objects.get(username="chair"))
    from tests.e2e.browser import type_password

    type_password(anonymous, "chair")
    anonymous.wait_for_url("**/accounts/second-factor/**")
    wait_ready(anonymous)
    problems.extend(axe_problems(anonymous, "chair second factor"))

    walk = {
        "chair": [
            "/",
            "/queue/",
            f"/cases/{case.uuid}/",
            f"/cases/{case.uuid}/viewer/",
            f"/cases/{case.uuid}/decisions/",
            "/meetings/",
            f"/meetings/{meeting.uuid}/",
            f"/meetings/{meeting.uuid}/live/",
            f"/boards/{board_day['meeting'].board.uuid}/",
            f"/boards/{board_day['meeting'].board.uuid}/settings/",
            "/account/",
        ],
        "radiologist": [
            "/",
            "/queue/",
            f"/cases/{case.uuid}/",
            f"/cases/{case.uuid}/viewer/",
            f"/meetings/{meeting.uuid}/live/",
            f"/cases/{answered.uuid}/",
        ],
        "referrer": ["/", "/cases/", "/cases/new/", f"/cases/{case.uuid}/", "/account/"],
        "patient": ["/", f"/cases/{answered.uuid}/", "/account/"],
    }
    for username, paths in walk.items():
        page = sign_in(new_context(viewport=SCREEN), base, username)
        for path in paths:
            check(page, path, username)
            if path.endswith("/viewer/"):
                # The help dialog open, and a pane focused: both states are part of the page.
                page.get_by_role("button", name="Keyboard shortcuts").click()
                problems.extend(axe_problems(page, f"{username} {path} (help open)"))
                page.keyboard.press("Escape")
    assert not problems, "\n".join(problems)


def test_the_axe_check_fails_on_a_known_violation(new_context):
    # So that an empty answer above means a clean page, not a check that never ran.
    page = new_context().new_page()
    page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
    problems = axe_problems(page, "fixture")
    assert any("image-alt (critical)" in line for line in problems), problems
    assert page.evaluate("window.axe.version") == "4.14.1"
