"""The viewer and the live page on a phone (390x844) and a tablet in portrait (820x1180).

On a phone a person follows a meeting and reads images: nothing runs off the side of the
screen, the image gets most of the height, the series strip and the tools open as drawers and
every control is reachable there. On a tablet a presenter has the whole toolbar at hand.
"""

from __future__ import annotations

import io

import pytest

from imaging import phantom
from imaging.ingest import ingest_many
from imaging.models import Series
from tests.e2e import test_live_meeting as live
from tests.e2e.browser import join, shot, sign_in
from tests.meetings.factories import make_meeting, put_on_agenda, ready_case

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
SLICES, SIZE = 12, 128


def ingest(case, cast, seed: int) -> None:
    files = []
    for i, ds in enumerate(phantom.phantom_series(slices=SLICES, size=SIZE, seed=seed)):
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        buf.seek(0)
        files.append((f"IM{seed}-{i}", buf))
    assert ingest_many(case=case, by=cast.radiologist, files=files).stored == SLICES


@pytest.fixture
def two_series_case(cast, transactional_db):
    case = ready_case(cast)
    ingest(case, cast, 7)
    ingest(case, cast, 11)
    assert Series.objects.filter(study__case=case).count() == 2
    return case


def no_horizontal_overflow(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide on a {widths[1]} px screen"


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def unreachable_controls(page, scope: str) -> list[str]:
    """The toolbar's buttons, selects and slider under ``scope`` that a finger cannot reach:
    not displayed, (partly) outside the screen's width, under another control, or a button
    too narrow for its label."""
    return page.evaluate(
        """(scope) => {
             const textWidth = (el) => {
               const range = document.createRange();
               range.selectNodeContents(el);
               const style = getComputedStyle(el);
               return range.getBoundingClientRect().width + parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
             };
             const all = [...document.querySelectorAll(scope + ' .viewer-bar :is(button, select, input)')];
             const shown = all.filter((el) => el.getBoundingClientRect().width > 0);
             const covered = (el) => {
               const r = el.getBoundingClientRect();
               return shown.some((other) => {
                 const o = other.getBoundingClientRect();
                 return other !== el && Math.min(r.right, o.right) - Math.max(r.left, o.left) > 1
                   && Math.min(r.bottom, o.bottom) - Math.max(r.top, o.top) > 1;
               });
             };
             return all.filter((el) => !el.dataset.drawer).filter((el) => {
               const r = el.getBoundingClientRect();
               return r.width === 0 || r.height === 0 || r.left < 0 || r.right > window.innerWidth
                 || (el.tagName === 'BUTTON' && textWidth(el) > r.width) || covered(el);
             })
             .map((el) => el.dataset.action || el.dataset.tool || el.dataset.drawer || el.id);
           }""",
        scope,
    )


def open_viewer(new_context, base, case, viewport):
    page = sign_in(new_context(viewport=viewport, has_touch=True), base, "radiologist")
    page.goto(f"{base}/cases/{case.uuid}/viewer/")
    page.wait_for_function(
        "window.viewer && [...window.viewer.loaders.values()].some(e => e.loader.loaded === e.loader.count && e.loader.count > 0)"
    )
    page.evaluate("window.viewer.rendered()")
    return page


def test_the_viewer_on_a_phone(two_series_case, daphne_server, new_context):
    page = open_viewer(new_context, daphne_server.url, two_series_case, PHONE)
    no_horizontal_overflow(page)
    # The image has most of the screen: no thumbnail column, no wall of buttons above it.
    canvas = box(page, ".vp")
    assert canvas["height"] >= 0.6 * PHONE["height"], canvas
    assert canvas["width"] >= 0.95 * PHONE["width"], canvas
    assert not page.locator(".viewer-browser").is_visible()
    # The slices stay at hand; the other tools wait in their drawer.
    assert page.locator("[data-slider]").is_visible()
    assert not page.locator("[data-tools] button").first.is_visible()
    shot(page, "mobile-viewer-phone.png")

    # The tools drawer: every control of the toolbar is now on the screen and works.
    page.get_by_role("button", name="Tools", exact=True).click()
    assert (
        page.get_by_role("button", name="Tools", exact=True).get_attribute("aria-expanded")
        == "true"
    )
    assert unreachable_controls(page, ".viewer-page") == []
    no_horizontal_overflow(page)
    page.get_by_role("button", name="Invert").click()
    assert page.evaluate("window.viewer.getState().viewports[0].invert") is True
    shot(page, "mobile-viewer-phone-tools.png")
    page.get_by_role("button", name="Tools", exact=True).click()
    assert not page.locator("[data-tools] button").first.is_visible()

    # The series strip: a row of small thumbnails, not one filling the screen; a tap on the
    # other series opens it.
    page.get_by_role("button", name="Series", exact=True).click()
    strip = box(page, ".viewer-browser")
    assert strip["height"] <= 0.15 * PHONE["height"], strip
    thumbs = page.locator(".series-item")
    assert thumbs.count() == 2
    assert thumbs.nth(1).is_visible()
    assert box(page, ".vp")["height"] >= 0.6 * PHONE["height"]
    no_horizontal_overflow(page)
    shot(page, "mobile-viewer-phone-series.png")
    other = thumbs.nth(1).get_attribute("data-series")
    thumbs.nth(1).locator("button").tap()
    page.wait_for_function("(s) => window.viewer.getState().viewports[0].series === s", arg=other)
    # The canvas follows the space it has: drawn at its box's size, not the wide one.
    page.evaluate("window.viewer.rendered()")
    drawn = page.evaluate(
        "(() => { const c = window.viewer.viewports[0].canvas; return [c.clientWidth, c.clientHeight]; })()"
    )
    assert abs(drawn[1] - box(page, ".vp")["height"]) <= 2


def test_the_viewer_on_a_tablet_has_the_whole_toolbar(two_series_case, daphne_server, new_context):
    page = open_viewer(new_context, daphne_server.url, two_series_case, TABLET)
    no_horizontal_overflow(page)
    assert unreachable_controls(page, ".viewer-page") == []  # no drawer needed
    assert not page.get_by_role("button", name="Tools", exact=True).is_visible()
    assert page.locator(".viewer-browser").is_visible()
    assert box(page, ".vp")["height"] >= 0.6 * TABLET["height"]
    shot(page, "mobile-viewer-tablet.png")


@pytest.fixture
def meeting(cast, transactional_db):
    meeting = make_meeting(cast)
    for position, seed in ((1, 7), (2, 11)):
        case = ready_case(cast)
        ingest(case, cast, seed)
        put_on_agenda(meeting, case, position)
    return meeting


def test_a_tablet_presenter_and_a_phone_follower(meeting, daphne_server, new_context, cast):
    item1, _ = meeting.agenda_items.order_by("position").select_related("case")
    series1 = str(Series.objects.get(study__case=item1.case).uuid)
    base = daphne_server.url
    chair = sign_in(new_context(viewport=TABLET, has_touch=True), base, "chair")
    chair.goto(f"{base}/meetings/{meeting.uuid}/live/")
    chair.wait_for_function("document.body.dataset.connection === 'live'")
    phone = sign_in(new_context(viewport=PHONE, has_touch=True), base, "pathologist")
    phone.goto(f"{base}/meetings/{meeting.uuid}/live/")
    phone.wait_for_function("document.body.dataset.connection === 'live'")
    desk = join(new_context, base, "radiologist", meeting)

    # The chair, on a tablet in portrait, opens the first case and presents it.
    chair.get_by_role("button", name=f"Go to case {item1.case.pseudonym}").click()
    for page in (chair, phone, desk):
        live.viewer_ready(page, series1)
    chair.get_by_role("button", name="Take control").click()
    chair.wait_for_function("document.body.dataset.follow === 'presenting'")
    no_horizontal_overflow(chair)
    assert unreachable_controls(chair, ".live") == [], "a presenter on a tablet has every tool"
    stage = box(chair, "[data-stage]")
    assert stage["height"] >= 0.6 * TABLET["height"]
    assert stage["y"] < box(chair, ".live-left")["y"]  # the images come before the agenda
    shot(chair, "mobile-live-tablet-presenter.png")

    # Real input on the tablet: scroll, window/level, and a toolbar button.
    start = live.slice_of(chair)
    live.scroll(chair, 3)
    live.window_level(chair, 60, -40)
    chair.get_by_role("button", name="Invert").click()
    assert live.slice_of(chair) == start + 3
    expected = live.state(chair)
    assert '"invert":true' in expected

    # The phone follows: the same view, and the image is what it shows first and biggest.
    for page in (phone, desk):
        page.wait_for_function(
            "(s) => JSON.stringify(window.viewer.getState()) === s", arg=expected
        )
    assert phone.evaluate("document.body.dataset.follow") == "following"
    no_horizontal_overflow(phone)
    canvas = box(phone, ".vp")
    assert canvas["height"] >= 0.6 * PHONE["height"], canvas
    assert canvas["width"] >= 0.9 * PHONE["width"], canvas
    assert canvas["y"] < box(phone, ".live-right")["y"] < box(phone, ".live-left")["y"]
    assert not phone.locator(".live .viewer-browser").is_visible()
    shot(phone, "mobile-live-phone-following.png")

    # The agenda is folded under its button; the case (where votes appear) is open.
    agenda = phone.get_by_role("button", name="Agenda and participants")
    assert agenda.get_attribute("aria-expanded") == "false"
    assert not phone.get_by_role("heading", name="Participants").is_visible()
    assert phone.get_by_role("heading", name="Agenda", exact=True).is_hidden()
    case_panel = phone.get_by_role("button", name="Case, votes and opinions")
    assert case_panel.get_attribute("aria-expanded") == "true"
    assert phone.locator("[data-case-summary]").is_visible()
    agenda.tap()
    assert phone.get_by_role("heading", name="Participants").is_visible()
    case_panel.tap()
    assert not phone.locator("[data-case-summary]").is_visible()
    no_horizontal_overflow(phone)
    shot(phone, "mobile-live-phone-agenda.png")

    # The phone's tools drawer holds every control of the viewer.
    phone.locator(".live [data-drawer='tools']").tap()
    assert unreachable_controls(phone, ".live") == []
    no_horizontal_overflow(phone)
    shot(phone, "mobile-live-phone-tools.png")

    # The presenter's next change still reaches the phone.
    live.scroll(chair, -2)
    expected = live.state(chair)
    phone.wait_for_function("(s) => JSON.stringify(window.viewer.getState()) === s", arg=expected)
