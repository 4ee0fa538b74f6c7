"""Accessibility in real Chromium (issue #19): axe-core over every page of the walk-through as
each role, the keyboard alone from sign-in to a vote, and a live meeting that no keystroke and
no vote refresh can derail."""

from __future__ import annotations

import io
import math
import re

import pytest
from django.utils import timezone

from board.models import Board, User
from cases.access import case_access
from cases.models import Case
from decisions import services as actions
from decisions.models import Vote
from imaging import phantom
from imaging.ingest import ingest_many
from imaging.models import Annotation
from meetings.live import live_goto
from tests.cases.factories import make_case, opinion
from tests.decisions.factories import close, draft, open_round, propose, sign, vote
from tests.e2e.axe import axe_problems
from tests.e2e.browser import SCREEN, join, shot, sign_in
from tests.helpers import totp_device, unused_totp_code
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


# --- the keyboard alone -------------------------------------------------------------------------


def tab_to(page, selector: str, *, back: bool = False, limit: int = 120) -> None:
    """Press Tab (or Shift+Tab) until focus is on an element matching ``selector``."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if page.evaluate("(s) => !!document.activeElement?.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector} (focus on {focused(page)})")


def focused(page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement; return e ? e.outerHTML.slice(0, 120) : ''; }"
    )


def view(page) -> dict:
    return page.evaluate("window.viewer.getState().viewports[window.viewer.state.active]")


@pytest.fixture
def voting_case(cast, transactional_db):
    case = ready_case(cast)
    add_phantom(case, cast.radiologist)
    propose(cast, case)
    open_round(cast, case)
    return case


def test_keyboard_alone_signs_in_posts_measures_and_votes(voting_case, daphne_server, new_context):
    base = daphne_server.url
    case = voting_case
    page = new_context(viewport=SCREEN).new_page()
    user = User.objects.get(username="radiologist")
    totp_device(user)
    page.goto(f"{base}/accounts/login/")
    tab_to(page, "input[name=username]")
    page.keyboard.type("radiologist")
    tab_to(page, "input[name=password]")
    from tests.cast import PASSWORD

    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/accounts/second-factor/**")
    tab_to(page, "input[name=code]")
    page.keyboard.type(unused_totp_code(user))
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")

    # Open the case and post an opinion: the status region says it went through.
    tab_to(page, 'a[href="/queue/"]')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/(queue|boards/[^/]+/cases)/$"))
    tab_to(page, f'a[href^="/cases/{case.uuid}/"]')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{case.uuid}/**")
    tab_to(page, "form.opinion-form textarea")
    page.keyboard.type("Typed with the keyboard alone.")
    tab_to(page, "form.opinion-form [type=submit]")
    page.keyboard.press("Enter")
    page.locator(".messages[role=status]", has_text="Your opinion was posted.").wait_for()

    # The viewer: choose Length and zoom in from the toolbar, then Tab into the image.
    tab_to(page, "a.series-open")
    page.keyboard.press("Enter")
    page.wait_for_url("**/viewer/**")
    wait_ready(page)
    before = view(page)
    tab_to(page, "[data-tool=length]")
    page.keyboard.press("Enter")
    tab_to(page, "[data-action=zoom-in]")
    page.keyboard.press("Space")
    tab_to(page, "[data-pane]")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.evaluate("window.viewer.rendered()")
    after = view(page)
    assert after["slice"] == before["slice"] + 3
    step = max(1, round(before["width"] / 20))
    assert after["width"] == pytest.approx(
        before["width"] + step + max(1, round((before["width"] + step) / 20))
    )
    assert after["zoom"] == pytest.approx(before["zoom"] * 1.2)
    # The pane's label and the slider say the slice as a person counts it.
    label = page.locator("[data-pane]").first.get_attribute("aria-label")
    assert f"slice {after['slice'] + 1} of {SLICES}" in label
    assert page.locator("[data-slider]").get_attribute("aria-valuetext") == (
        f"Slice {after['slice'] + 1} of {SLICES}"
    )
    # Place a length: Enter starts at the centre, Enter pins, arrows move, Enter pins the end.
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_function("[...window.viewer.annotations.values()].flat().length === 1")
    annotation = Annotation.objects.get()
    assert annotation.kind == "length"
    (x0, y0), (x1, y1) = annotation.points
    # 10 steps of 2 screen px, at the zoom shown: the image distance follows from the scale.
    scale = page.evaluate(
        "(() => { const m = window.viewer.activeViewport().transform; return Math.hypot(m[0], m[1]); })()"
    )
    assert math.hypot(x1 - x0, y1 - y0) == pytest.approx(20 / scale, rel=0.02)
    assert y1 == pytest.approx(y0, abs=0.01)

    # Back to the case and vote: Space picks the position, Enter sends.
    tab_to(page, "a.viewer-back", back=True)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{case.uuid}/**")
    page.locator("#vote-form").wait_for()
    tab_to(page, "#vote-form input[type=radio]")
    page.keyboard.press("Space")
    tab_to(page, "#vote-form textarea")
    page.keyboard.type("Agree.")
    tab_to(page, "#vote-form [type=submit]")
    page.keyboard.press("Enter")
    page.locator("#my-vote").wait_for()
    # Focus moved to the result, and the polite status region says it.
    # (The vote's own event may refresh the panel after; focus then stays on the vote, or on the
    # panel's heading when the refresh replaced the element that held it - never on <body>.)
    assert page.evaluate(
        "document.activeElement.matches('#panel-message, #my-vote, [id^=decisions-heading]')"
    ), focused(page)
    page.wait_for_function(
        "document.querySelector('[data-panel-status]').textContent.trim().length > 0"
    )
    assert Vote.objects.filter(voter=user, comment="Agree.").count() == 1


# --- a live meeting no keystroke can derail ------------------------------------------------------


def test_a_vote_arriving_while_typing_keeps_focus_text_and_every_viewer(
    board_day, daphne_server, new_context
):
    base = daphne_server.url
    meeting = board_day["meeting"]
    pages = {
        name: join(new_context, base, name, meeting) for name in ("chair", "radiologist", "surgeon")
    }
    for page in pages.values():
        page.locator("#vote-panel #vote-form").wait_for()
        page.wait_for_function("window.viewer && window.viewer.viewports[0].series")
        page.evaluate("window.viewer.rendered()")
    states = {name: page.evaluate("window.viewer.getState()") for name, page in pages.items()}

    chair = pages["chair"]
    comment = chair.locator("#vote-panel #id_vote-comment")
    comment.click()
    chair.keyboard.type("Half a comment r")
    # The radiologist votes: every panel is refreshed by the event.
    radiologist = pages["radiologist"].locator("#vote-panel")
    radiologist.locator("#vote-form input[type=radio]").first.check()
    radiologist.get_by_role("button", name="Cast my vote").click()
    chair.locator("#vote-panel [data-vote-count]", has_text="1 of").wait_for()
    # The chair goes on typing letters that are also the viewer's shortcuts.
    chair.keyboard.type("hvci0x+ and on")
    assert comment.input_value() == "Half a comment rhvci0x+ and on"
    assert chair.evaluate("document.activeElement.id") == "id_vote-comment"
    # Keys with focus outside the viewer (the page itself) do not reach it either.
    chair.evaluate("document.activeElement.blur()")
    for key in ("r", "h", "c", "ArrowDown", "End", "PageDown"):
        chair.keyboard.press(key)
    for name, page in pages.items():
        page.evaluate("window.viewer.rendered()")
        assert page.evaluate("window.viewer.getState()") == states[name], name
        assert page.evaluate("window.viewer.cine") is None, name


# --- overlays over bright and inverted images -------------------------------------------------


def luminance(rgb) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def rgba(text: str) -> tuple[list[float], float]:
    numbers = [float(n) for n in re.findall(r"[\d.]+", text)]
    return numbers[:3], numbers[3] if len(numbers) > 3 else 1.0


def test_overlays_stay_readable_over_bright_and_inverted_images(
    voting_case, daphne_server, new_context, tmp_path
):
    page = sign_in(
        new_context(viewport={"width": 1000, "height": 760}), daphne_server.url, "radiologist"
    )
    page.goto(f"{daphne_server.url}/cases/{voting_case.uuid}/viewer/")
    wait_ready(page)
    # Every pixel white: the worst background for light text.
    page.evaluate("window.viewer.setWindow(-2000, 1); window.viewer.rendered()")
    page.evaluate("window.viewer.rendered()")
    assert (
        page.evaluate(
            """(() => { const c = window.viewer.viewports[0].canvas;
            const d = c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data;
            return d[0]; })()"""
        )
        == 255
    )
    shot(page, "a11y-viewer-bright.png")
    checks = {
        ".vp-tr > div": 4.5,  # text: WCAG 1.4.3
        ".vp-br > div": 4.5,
        ".vp-orient-left": 3.0,  # large bold letters
        ".vp-scalebar span": 4.5,
    }
    white = [255, 255, 255]
    for selector, minimum in checks.items():
        style = page.locator(selector).first.evaluate(
            "e => { const s = getComputedStyle(e); return [s.color, s.backgroundColor]; }"
        )
        (text, _), (backing, alpha) = rgba(style[0]), rgba(style[1])
        seen = [alpha * b + (1 - alpha) * w for b, w in zip(backing, white, strict=True)]
        assert contrast(text, seen) >= minimum, (selector, style)
    page.evaluate("window.viewer.applyPreset('soft'); window.viewer.toggleInvert()")
    page.evaluate("window.viewer.rendered()")
    assert "inverted" in page.locator("[data-pane]").first.get_attribute("aria-label")
    shot(page, "a11y-viewer-inverted.png")
    # The focus ring on the app's white pages: 3:1 or more against white.
    case_page = page.context.new_page()
    case_page.goto(f"{daphne_server.url}/cases/{voting_case.uuid}/")
    tab_to(case_page, "main a")
    ring = rgba(case_page.evaluate("getComputedStyle(document.activeElement).outlineColor"))[0]
    assert contrast(ring, white) >= 3.0
