"""The shared reconnecting socket (static/js/socket.js) against a stand-in WebSocket:
close codes, backoff, the resync hook and message parsing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

SOCKET_RULES = """async () => {
  class FakeSocket extends EventTarget {
    static OPEN = 1;
    constructor(url) { super(); this.url = url; this.readyState = 1; FakeSocket.all.push(this); }
    send() {}
    close() {}
  }
  FakeSocket.all = [];
  window.WebSocket = FakeSocket;
  const { ReconnectingSocket } = await import('/static/js/socket.js');
  const out = {};
  const close = (s, code) => FakeSocket.all.at(-1).dispatchEvent(new CloseEvent('close', { code }));
  const open = () => FakeSocket.all.at(-1).dispatchEvent(new Event('open'));

  let resyncs = 0;
  const messages = [];
  const s = new ReconnectingSocket('/ws/x/', { resync: () => { resyncs += 1; } });
  s.addEventListener('message', (ev) => messages.push(ev.detail));
  s.connect();
  out.url = FakeSocket.all[0].url;
  open();
  out.firstOpen = [s.status, resyncs];
  FakeSocket.all[0].dispatchEvent(new MessageEvent('message', { data: 'not json' }));
  FakeSocket.all[0].dispatchEvent(new MessageEvent('message', { data: '{"type": "x"}' }));
  out.messages = messages;
  close(s, 4013);
  out.tryAgain = [s.status, s.retryAt > Date.now()];
  s.retryNow();  // what the browser's "online" event does
  out.retried = FakeSocket.all.length;
  open();
  out.reopened = [s.status, resyncs];
  close(s, 4429);
  out.flood = [s.status, s.retryAt - Date.now() >= 4900];
  s.retryNow();
  close(s, 4401);
  out.revoked = [s.status, s.retryAt];
  s.retryNow();
  out.staysDown = FakeSocket.all.length;
  return out;
}"""


def test_the_socket_reconnects_as_the_server_asks(daphne_server, new_context):
    page = new_context().new_page()
    page.goto(f"{daphne_server.url}/accounts/login/")
    out = page.evaluate(SOCKET_RULES)
    assert out["url"] == daphne_server.url.replace("http://", "ws://") + "/ws/x/"
    assert out["firstOpen"] == ["open", 0]
    assert out["messages"] == [{"type": "x"}]  # the unparsable one dropped
    assert out["tryAgain"] == ["reconnecting", True]
    assert out["retried"] == 2
    assert out["reopened"] == ["open", 1]  # resync on every re-open, not the first
    assert out["flood"] == ["flood", True]
    assert out["revoked"] == ["forbidden", None]
    assert out["staysDown"] == 3
