// The signed-in user's socket: when the session ends elsewhere (logout in
// another tab, account deactivated) this page leaves for the login page.
const body = document.body;
const path = body.dataset.accountSocket;
const loginUrl = body.dataset.loginUrl;

const CLOSE_FORBIDDEN = 4403;
const CLOSE_REVOKED = 4401;

function socketUrl(p) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${p}`;
}

let attempt = 0;

function connect() {
  const ws = new WebSocket(socketUrl(path));
  ws.addEventListener("open", () => {
    attempt = 0;
    body.dataset.socketState = "open";
  });
  ws.addEventListener("message", (msg) => {
    const event = JSON.parse(msg.data);
    body.dispatchEvent(new CustomEvent("consilium:event", { detail: event }));
  });
  ws.addEventListener("close", (ev) => {
    body.dataset.socketState = "closed";
    if (ev.code === CLOSE_REVOKED || ev.code === CLOSE_FORBIDDEN) {
      window.location.assign(`${loginUrl}?next=${encodeURIComponent(window.location.pathname)}`);
      return;
    }
    // Back off exponentially with jitter so a restarted server is not stampeded.
    attempt += 1;
    const delay = Math.min(30000, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random());
    setTimeout(connect, delay);
  });
}

if (path && "WebSocket" in window) {
  connect();
}
