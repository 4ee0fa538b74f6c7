"""The chair edits the agenda on the meeting page; a member's open live page follows.

Two browser contexts on one Daphne: the pathologist keeps the live session open while the
chair, on the meeting page, moves an item, sets a time box and a presenter, adds and
removes a case, and finally cancels the meeting. The live page shows each change without
a reload, and says when the meeting is cancelled.
"""

from __future__ import annotations

import pytest

from tests.e2e.browser import sign_in as browser_sign_in
from tests.meetings.factories import make_meeting, put_on_agenda, ready_case

pytestmark = pytest.mark.browser


def sign_in(new_context, base: str, username: str):
    return browser_sign_in(new_context(), base, username)


def live_agenda(page) -> list[str]:
    """The live page's agenda as it reads: 'position pseudonym meta' per item."""
    return page.eval_on_selector_all(
        "[data-agenda] li",
        "items => items.map(li => li.querySelector('strong') ? "
        "[li.querySelector('.live-agenda-pos').textContent, li.querySelector('strong').textContent,"
        " li.querySelector('small').textContent].join(' ') : li.textContent.trim())",
    )


def shows(page, expected: list[str]) -> None:
    page.wait_for_function(
        """(expected) => JSON.stringify([...document.querySelectorAll('[data-agenda] li')]
             .map(li => li.querySelector('strong') ? [li.querySelector('.live-agenda-pos').textContent,
               li.querySelector('strong').textContent, li.querySelector('small').textContent].join(' ')
               : li.textContent.trim())) === JSON.stringify(expected)""",
        arg=expected,
    )


def test_a_members_live_page_follows_the_chairs_agenda_edits(
    cast, daphne_server, new_context, transactional_db
):
    meeting = make_meeting(cast)
    first = put_on_agenda(meeting, ready_case(cast), 1, time_box_minutes=10)
    second = put_on_agenda(meeting, ready_case(cast), 2, time_box_minutes=15)
    waiting = ready_case(cast)
    a, b, c = first.case.pseudonym, second.case.pseudonym, waiting.pseudonym
    base = daphne_server.url

    member = sign_in(new_context, base, "pathologist")
    member.goto(f"{base}/meetings/{meeting.uuid}/live/")
    member.wait_for_function("document.body.dataset.connection === 'live'")
    member.evaluate("window.notReloaded = true")
    assert live_agenda(member) == [f"1 {a} 10 min", f"2 {b} 15 min"]

    chair = sign_in(new_context, base, "chair")
    chair.goto(f"{base}/meetings/{meeting.uuid}/")

    chair.get_by_role("button", name=f"Move {a} down").click()
    shows(member, [f"1 {b} 15 min", f"2 {a} 10 min"])

    chair.get_by_label(f"Time box for {a} (minutes)", exact=True).fill("25")
    chair.locator(f"form:has(#time-box-{first.uuid})").get_by_role("button", name="Set").click()
    shows(member, [f"1 {b} 15 min", f"2 {a} 25 min"])

    chair.get_by_label(f"Presenter for {b}").select_option(str(cast.radiologist.uuid))
    chair.locator(f"form:has(#presenter-{second.uuid})").get_by_role("button", name="Set").click()
    radiologist = cast.radiologist.display_name
    shows(member, [f"1 {b} 15 min · {radiologist}", f"2 {a} 25 min"])

    add = chair.locator("form.agenda-add")
    add.locator("select[name=case]").select_option(str(waiting.uuid))
    add.locator("input[name=time_box_minutes]").fill("5")
    add.get_by_role("button", name="Add to agenda").click()
    shows(member, [f"1 {b} 15 min · {radiologist}", f"2 {a} 25 min", f"3 {c} 5 min"])

    chair.locator(f"#item-{second.uuid}").get_by_role("button", name="Remove").click()
    shows(member, [f"1 {a} 25 min", f"2 {c} 5 min"])
    assert member.evaluate("window.notReloaded") is True

    chair.get_by_role("button", name="Cancel meeting").click()
    notice = member.locator("[data-ended-notice]")
    notice.wait_for()
    assert "cancelled" in notice.inner_text()
    member.wait_for_function("document.body.dataset.connection === 'ended'")
    assert member.evaluate("window.notReloaded") is True


AGENDA_RULES = """async () => {
  const sent = [];
  class FakeSocket extends EventTarget {
    static OPEN = 1;
    constructor(url) { super(); this.url = url; this.readyState = 1; FakeSocket.last = this; }
    send(text) { sent.push(JSON.parse(text)); }
    close() { this.closed = true; }
  }
  window.WebSocket = FakeSocket;
  const { LiveSync } = await import('/static/js/live/sync.js');
  const sync = new LiveSync('/ws/meetings/x/');
  const seen = [];
  for (const type of ['agenda', 'item', 'meeting-status']) {
    sync.addEventListener(type, () => seen.push([type, sync.seq]));
  }
  sync.connect();
  const ws = FakeSocket.last;
  const say = (m) => ws.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(m) }));
  const sends = () => sent.filter(m => m.type === 'sync').length;
  const entry = (uuid, time_box = 10) => ({ uuid, case: 'c' + uuid, pseudonym: 'P' + uuid, time_box, presenter: null });
  const order = () => sync.agenda.map(i => i.uuid + ':' + i.time_box + ':' + (i.presenter || '-')).join(' ');
  const out = {};
  say({ type: 'live.snapshot', seq: 5, epoch: 2, presenter: null, item: 'a', state: null,
        present: [], status: 'scheduled', agenda: [entry('a'), entry('b')] });
  say({ type: 'agenda.item_added', seq: 6, item: entry('c', 5), position: 3 });
  say({ type: 'agenda.reordered', seq: 7, order: ['c', 'a', 'b'] });
  say({ type: 'agenda.time_box', seq: 8, item: 'a', minutes: 25 });
  say({ type: 'agenda.presenter', seq: 9, item: 'b', presenter: 'u' });
  out.applied = [order(), sync.seq, sync.epoch, sends()];
  say({ type: 'agenda.item_removed', seq: 10, item: 'a' });  // the case on show
  out.removedCurrent = [order(), sync.item, sends()];
  say({ type: 'agenda.time_box', seq: 12, item: 'b', minutes: 1 });  // a gap: resync
  out.afterGap = [order(), sends(), sync.synced];
  say({ type: 'live.snapshot', seq: 20, epoch: 2, presenter: null, item: null, state: null,
        present: [], status: 'scheduled', agenda: [entry('b'), entry('c')] });
  // A later viewer state overtakes an agenda change on its way: taken for coalesced, but the
  // agenda change that arrives after it is not lost: resync.
  say({ type: 'live.state', seq: 22, epoch: 2, state: { n: 22 } });
  say({ type: 'agenda.time_box', seq: 21, item: 'b', minutes: 40 });
  out.overtaken = [sync.seq, sends(), sync.synced];
  say({ type: 'live.snapshot', seq: 22, epoch: 2, presenter: null, item: null, state: { n: 22 },
        present: [], status: 'scheduled', agenda: [entry('b', 40), entry('c')] });
  say({ type: 'agenda.time_box', seq: 21, item: 'b', minutes: 40 });  // in the snapshot already
  out.inSnapshot = [order(), sends()];
  say({ type: 'meeting.status', seq: 23, status: 'cancelled' });
  out.cancelled = [sync.meetingStatus, sync.seq];
  sync.stop();
  out.stopped = [sync.status, ws.closed, sync.retryAt];
  out.seen = seen;
  return out;
}"""


def test_the_sync_client_applies_agenda_events_in_seq_order(daphne_server, new_context):
    """Agenda rules against a stand-in socket: in order applied, a gap or a late one resyncs."""
    page = new_context().new_page()
    page.goto(f"{daphne_server.url}/accounts/login/")
    out = page.evaluate(AGENDA_RULES)
    assert out["applied"] == ["c:5:- a:25:- b:10:u", 9, 2, 0]
    assert out["removedCurrent"] == ["c:5:- b:10:u", None, 0]
    assert out["afterGap"] == ["c:5:- b:10:u", 1, False]
    assert out["overtaken"] == [22, 2, False]
    assert out["inSnapshot"] == ["b:40:- c:10:-", 2]
    assert out["cancelled"] == ["cancelled", 23]
    assert out["stopped"] == ["ended", True, None]
    assert out["seen"] == [
        ["agenda", 6],
        ["agenda", 7],
        ["agenda", 8],
        ["agenda", 9],
        ["agenda", 10],
        ["item", 10],
        ["meeting-status", 23],
    ]
