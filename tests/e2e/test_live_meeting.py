"""A live meeting in real Chromium: the chair and two members, each in their own browser.

The presenter's screen drives the others' (same viewer state, same pixels); a member can
browse on their own and come back; a reload resyncs; the chair hands control over and moves
the agenda. Run once with everyone on one Daphne and once with the chair on one process and
the members on another, sharing Redis (skipped without REDIS_URL).
"""

from __future__ import annotations

import io
import json

import pytest

from imaging import phantom
from imaging.ingest import ingest_many
from imaging.models import Series
from tests.e2e.browser import join, start_daphne
from tests.meetings.factories import make_meeting, put_on_agenda, ready_case

pytestmark = pytest.mark.browser

SLICES, SIZE = 12, 128


def phantom_case(cast, seed: int):
    case = ready_case(cast)
    files = []
    for i, ds in enumerate(phantom.phantom_series(slices=SLICES, size=SIZE, seed=seed)):
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        buf.seek(0)
        files.append((f"IM{i}", buf))
    assert ingest_many(case=case, by=cast.radiologist, files=files).stored == SLICES
    return case


@pytest.fixture
def meeting(cast, transactional_db):
    meeting = make_meeting(cast)
    for position, seed in ((1, 7), (2, 11)):
        put_on_agenda(meeting, phantom_case(cast, seed), position)
    return meeting


@pytest.fixture(params=["one", "two"])
def servers(request, transactional_db, tmp_path):
    """(the chair's server, the members' server): the same Daphne, or two sharing Redis."""
    if request.param == "one":
        started = [start_daphne(tmp_path)]
        yield started[0], started[0]
    else:
        env = {"REDIS_URL": request.getfixturevalue("redis_url")}
        started = [start_daphne(tmp_path, env=env), start_daphne(tmp_path, env=env)]
        yield started[0], started[1]
    for server in started:
        server.stop()


def viewer_ready(page, series_uuid: str) -> None:
    """The viewer shows that series, every frame of it loaded and drawn."""
    page.wait_for_function(
        """(series) => window.viewer && window.viewer.getState().viewports[0].series === series
             && [...window.viewer.loaders.values()].every(e => e.manifest && e.loader.loaded === e.loader.count)""",
        arg=series_uuid,
    )
    page.evaluate("window.viewer.rendered()")


def state(page) -> str:
    page.evaluate("window.viewer.rendered()")
    return page.evaluate("JSON.stringify(window.viewer.getState())")


def digest(page) -> str:
    """SHA-256 of the first viewport's canvas pixels, once the current view is drawn."""
    return page.evaluate(
        """async () => {
          await window.viewer.rendered();
          const c = window.viewer.viewports[0].canvas;
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          const h = await crypto.subtle.digest('SHA-256', d);
          return c.width + 'x' + c.height + ':' + [...new Uint8Array(h)].map(b => b.toString(16).padStart(2, '0')).join('');
        }"""
    )


def follows(presenter, *others) -> None:
    """Every other page reaches the presenter's viewer state and shows the same pixels."""
    expected = state(presenter)
    pixels = digest(presenter)
    width, height = (int(n) for n in pixels.split(":")[0].split("x"))
    assert width > 300 and height > 300  # a real image, not an unlaid canvas
    for page in others:
        page.wait_for_function(
            "(s) => JSON.stringify(window.viewer.getState()) === s", arg=expected
        )
        assert digest(page) == pixels


def viewport_centre(page) -> tuple[float, float]:
    box = page.locator(".vp").first.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def scroll(page, notches: int) -> None:
    x, y = viewport_centre(page)
    page.mouse.move(x, y)
    for _ in range(abs(notches)):
        page.mouse.wheel(0, 100 if notches > 0 else -100)


def window_level(page, dx: float, dy: float) -> None:
    """Drag with the window/level tool (the viewer's default)."""
    x, y = viewport_centre(page)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=3)
    page.mouse.move(x + dx, y + dy, steps=3)
    page.mouse.up()


def slice_of(page) -> int:
    return page.evaluate("window.viewer.getState().viewports[0].slice")


def test_the_presenter_drives_every_screen(meeting, servers, new_context, cast):
    chair_server, member_server = servers
    item1, item2 = meeting.agenda_items.order_by("position").select_related("case")
    series1 = str(Series.objects.get(study__case=item1.case).uuid)
    series2 = str(Series.objects.get(study__case=item2.case).uuid)
    chair = join(new_context, chair_server.url, "chair", meeting)
    radiologist = join(new_context, member_server.url, "radiologist", meeting)
    pathologist = join(new_context, member_server.url, "pathologist", meeting)
    members = (radiologist, pathologist)

    # Everyone is seen to be here, wherever they connected; the surgeon is missing.
    chair.wait_for_function("document.querySelectorAll('[data-person].is-present').length === 3")
    assert chair.locator("[data-quorum]").inner_text() == "Missing: 1 surgical oncologist"

    # The chair opens the first case and presents it.
    chair.get_by_role("button", name=f"Go to case {item1.case.pseudonym}").click()
    for page in (chair, *members):
        viewer_ready(page, series1)
    chair.get_by_role("button", name="Take control").click()
    chair.wait_for_function("document.body.dataset.follow === 'presenting'")
    name = cast.chair.display_name
    for page in members:
        page.wait_for_function(
            "(n) => document.querySelector('[data-presenter-name]').textContent === n", arg=name
        )
        assert page.evaluate("document.body.dataset.follow") == "following"

    # (a) Real input on the presenter's screen: scroll, then window/level.
    start = slice_of(chair)
    scroll(chair, 3)
    window_level(chair, 60, -40)
    assert slice_of(chair) == start + 3
    follows(chair, *members)

    # (b) The radiologist scrolls on their own: they leave follow mode ...
    scroll(radiologist, -2)
    radiologist.wait_for_function("document.body.dataset.follow === 'free'")
    assert radiologist.get_by_role("button", name="Return to presenter").is_visible()
    own = state(radiologist)
    # ... and the chair's next change reaches the pathologist but not them ...
    scroll(chair, 2)
    follows(chair, pathologist)
    assert state(radiologist) == own
    # ... until one click brings them back.
    radiologist.get_by_role("button", name="Return to presenter").click()
    radiologist.wait_for_function("document.body.dataset.follow === 'following'")
    follows(chair, radiologist)

    # (c) The pathologist reloads mid-meeting: the snapshot puts them where the chair is.
    pathologist.reload()
    pathologist.wait_for_function("document.body.dataset.connection === 'live'")
    viewer_ready(pathologist, series1)
    follows(chair, pathologist)

    # (d) The radiologist asks for control; the chair hands it over from the request, and
    # the radiologist's screen now drives the others.
    radiologist.get_by_role("button", name="Ask for control").click()
    request = chair.locator("[data-requests] li")
    request.get_by_text(f"{cast.radiologist.display_name} asks for control").wait_for()
    request.get_by_role("button", name="Give control").click()
    radiologist.wait_for_function("document.body.dataset.follow === 'presenting'")
    chair.wait_for_function("document.body.dataset.follow === 'following'")
    assert request.count() == 0  # answered
    # The viewer's shortcuts act only with focus inside it (issue #19): focus the image first.
    radiologist.locator("[data-pane]").first.focus()
    radiologist.keyboard.press("i")  # invert
    scroll(radiologist, -4)
    follows(radiologist, chair, pathologist)
    assert json.loads(state(chair))["viewports"][0]["invert"] is True
    # Their laser pointer shows on the others' images.
    x, y = viewport_centre(radiologist)
    radiologist.mouse.move(x + 20, y + 10)
    for page in (chair, pathologist):
        page.wait_for_function("!document.querySelector('.vp .vp-pointer').hidden")

    # (e) The chair moves the agenda: everyone is on the second case, with its images.
    chair.get_by_role("button", name=f"Go to case {item2.case.pseudonym}").click()
    for page in (chair, *members):
        page.wait_for_function("(item) => document.body.dataset.item === item", arg=str(item2.uuid))
        viewer_ready(page, series2)
        summary = page.locator("#live-case-heading").inner_text()
        assert item2.case.pseudonym in summary
        current = page.locator("[data-agenda] .is-current")
        assert current.get_attribute("data-item") == str(item2.uuid)

    # An opinion posted from the live page stays on it and reaches the others' threads.
    pathologist.get_by_label("Your opinion").fill("Margins look close on the second MRI.")
    pathologist.get_by_role("button", name="Post opinion").click()
    for page in (pathologist, chair, radiologist):
        page.locator("#thread").get_by_text("Margins look close on the second MRI.").wait_for()
    assert pathologist.url.endswith(f"/meetings/{meeting.uuid}/live/")


SYNC_RULES = """async () => {
  const sent = [];
  class FakeSocket extends EventTarget {
    static OPEN = 1;
    constructor(url) { super(); this.url = url; this.readyState = 1; FakeSocket.last = this; }
    send(text) { sent.push(JSON.parse(text)); }
    close() {}
  }
  window.WebSocket = FakeSocket;
  const { LiveSync } = await import('/static/js/live/sync.js');
  const sync = new LiveSync('/ws/meetings/x/');
  const seen = [];
  for (const type of ['snapshot', 'state', 'presenter', 'item']) {
    sync.addEventListener(type, () => seen.push([type, sync.seq, sync.epoch]));
  }
  sync.connect();
  const ws = FakeSocket.last;
  const say = (m) => ws.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(m) }));
  const sends = () => sent.filter(m => m.type === 'sync').length;
  const out = {};
  say({ type: 'live.state', seq: 1, epoch: 1, state: {} });  // before any snapshot: dropped
  say({ type: 'live.snapshot', seq: 5, epoch: 2, presenter: 'p', item: 'i', state: null, present: [] });
  say({ type: 'live.state', seq: 5, epoch: 2, state: { old: true } });  // already in the snapshot
  say({ type: 'live.state', seq: 8, epoch: 2, state: { n: 8 } });  // coalesced: applied
  out.afterCoalesced = [sync.seq, JSON.stringify(sync.state), sends()];
  say({ type: 'live.presenter', seq: 9, epoch: 3, presenter: 'q' });
  say({ type: 'live.state', seq: 12, epoch: 4, state: { n: 12 } });  // another epoch after a gap
  out.afterGap = [sync.seq, sync.presenter, sends(), sync.synced];
  say({ type: 'live.item', seq: 13, epoch: 4, item: 'j', presenter: null });  // waits for the snapshot
  say({ type: 'live.snapshot', seq: 14, epoch: 5, presenter: null, item: 'j', state: { n: 14 } });
  say({ type: 'live.item', seq: 16, epoch: 6, item: 'k', presenter: null });  // a missed move
  out.afterMissedMove = [sync.item, sends()];
  out.seen = seen;
  // Latest wins under the send budget: 200 states in one go, a handful sent, the last one last.
  for (let n = 0; n < 200; n += 1) sync.sendLatest('viewer.state', { type: 'viewer.state', n });
  out.sentAtOnce = sent.filter(m => m.type === 'viewer.state').length;
  await new Promise(r => setTimeout(r, 200));
  const states = sent.filter(m => m.type === 'viewer.state');
  out.lastSent = states[states.length - 1].n;
  out.sentInAll = states.length;
  // Closing: a refusal stops, anything else retries with a countdown.
  ws.dispatchEvent(new CloseEvent('close', { code: 1006 }));
  out.afterDrop = [sync.status, sync.retryAt > Date.now()];
  const second = new LiveSync('/ws/meetings/x/');
  second.connect();
  FakeSocket.last.dispatchEvent(new CloseEvent('close', { code: 4403 }));
  out.afterRefusal = [second.status, second.retryAt];
  clearTimeout(sync.retryTimer);
  return out;
}"""


def test_the_sync_client_follows_the_protocol(daphne_server, new_context):
    """seq and epoch rules, the send budget and close codes, against a stand-in socket."""
    page = new_context().new_page()
    page.goto(f"{daphne_server.url}/accounts/login/")
    out = page.evaluate(SYNC_RULES)
    assert out["afterCoalesced"] == [8, '{"n":8}', 0]
    assert out["afterGap"] == [9, "q", 1, False]  # the hand-off applied, then a gap: resync
    assert out["afterMissedMove"] == ["j", 2]
    assert out["seen"] == [
        ["snapshot", 5, 2],
        ["state", 8, 2],
        ["presenter", 9, 3],
        ["snapshot", 14, 5],
    ]
    assert 1 <= out["sentAtOnce"] <= 20
    assert out["lastSent"] == 199
    assert out["sentInAll"] <= 21
    assert out["afterDrop"] == ["reconnecting", True]
    assert out["afterRefusal"] == ["forbidden", None]
