// One reconnecting WebSocket, used by every socket client of the site (the account, the
// case page, the viewer, the live session). The server gives the path; this module builds
// the URL, parses the messages, and comes back after a drop with exponential backoff and
// jitter, so that a restarted server is not stampeded by every open tab at once.
//
// The server's close codes (realtime/consumers.py): 4401 (session revoked) and 4403
// (forbidden) stop for good and say so; 4429 (too many messages) waits at least 5 s;
// 4013 (try again: the server lost its channel layer; 1013 in the range Daphne lets an
// application send) and anything else retry.
//
// Events (detail in brackets): "status" (connecting | open | reconnecting | flood |
// forbidden), "open" ({ reopened }), "message" (the parsed JSON), "close" ({ code }).
// `resync` is called on every open that follows an earlier attempt: events may have been
// missed meanwhile, so the caller fetches again what it shows.

export const CLOSE_REVOKED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_FLOOD = 4429;
export const CLOSE_TRY_AGAIN = 4013;
const FLOOD_PAUSE_MS = 5000;

// Exponential backoff with jitter.
export function backoff(attempt, random = Math.random) {
  return Math.min(30000, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + random());
}

export function socketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

export class ReconnectingSocket extends EventTarget {
  // `settleOnOpen`: whether an open connection counts as healthy at once (the backoff starts
  // afresh). A caller that knows better (the live session waits for its snapshot) passes
  // false and calls settled() itself, so a server that accepts and then drops at once is
  // still backed off from.
  constructor(path, { resync = null, settleOnOpen = true } = {}) {
    super();
    this.path = path;
    this.resync = resync;
    this.settleOnOpen = settleOnOpen;
    this.status = "connecting";
    this.attempt = 0; // failed attempts since the connection was last healthy
    this.tries = 0; // connect() calls, ever
    this.retryAt = null; // when the next attempt is due (ms since the epoch), while waiting
    this.retryTimer = null;
    this.ws = null;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setStatus(status) {
    this.status = status;
    this.emit("status", status);
  }

  // Open the socket (again). Also listens to the browser coming back online, once.
  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryAt = null;
    if (!this.onOnline) {
      this.onOnline = () => this.retryNow();
      window.addEventListener("online", this.onOnline);
    }
    this.tries += 1;
    const reopening = this.tries > 1;
    const ws = new WebSocket(socketUrl(this.path));
    this.ws = ws;
    this.setStatus(this.attempt ? "reconnecting" : "connecting");
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      if (this.settleOnOpen) this.settled();
      this.setStatus("open");
      this.emit("open", { reopened: reopening });
      if (reopening) this.resync?.();
    });
    ws.addEventListener("message", (msg) => {
      if (this.ws !== ws) return;
      let message;
      try {
        message = JSON.parse(msg.data);
      } catch {
        console.warn("socket: not JSON", msg.data);
        return;
      }
      this.emit("message", message);
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.emit("close", { code: ev.code });
      if (ev.code === CLOSE_REVOKED || ev.code === CLOSE_FORBIDDEN) {
        this.setStatus("forbidden");
        return;
      }
      let delay = backoff(this.attempt);
      this.attempt += 1;
      if (ev.code === CLOSE_FLOOD) delay = Math.max(delay, FLOOD_PAUSE_MS);
      this.retryAt = Date.now() + delay;
      this.retryTimer = setTimeout(() => this.connect(), delay);
      this.setStatus(ev.code === CLOSE_FLOOD ? "flood" : "reconnecting");
    });
  }

  // The connection proved good: the next drop starts the backoff afresh.
  settled() {
    this.attempt = 0;
  }

  // Back online (the browser says so): try now rather than at the end of the backoff.
  retryNow() {
    if (this.retryAt !== null) this.connect();
  }

  // For good: no more attempts (a page part that goes away).
  close() {
    clearTimeout(this.retryTimer);
    this.retryAt = null;
    if (this.onOnline) window.removeEventListener("online", this.onOnline);
    this.onOnline = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close();
  }

  get isOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  // Sent now if the socket is open; false otherwise.
  send(message) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }
}
