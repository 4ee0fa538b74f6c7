// The meeting's socket, as the live session protocol has it (DESIGN.md, "Live session
// protocol"): the server's live state (seq, epoch, presenter, agenda item, viewer state,
// who is here) kept current from its messages, a snapshot whenever something was missed,
// and reconnection with backoff. No DOM here: the page listens to the events it emits.
//
// Events (detail in brackets): "status" (status), "snapshot", "state", "presenter",
// "item", "pointer" (pointer or null), "presence" (user uuids), "control-request"
// (message), "server-error" (text), "event" (any other message: opinions, votes, ...),
// "agenda" (the agenda, see ./agenda.js), "meeting-status" (e.g. "cancelled").

import { foldAgenda } from "./agenda.js";

// The connection itself (backoff, close codes, back online) is static/js/socket.js's.
import { ReconnectingSocket } from "../socket.js";

export class LiveSync extends EventTarget {
  // The server closes a socket that sends more than 60 messages a second (burst 120);
  // the client stays well under that whatever the display rate.
  constructor(path, { rate = 40, burst = 20 } = {}) {
    super();
    this.path = path;
    this.seq = null;
    this.epoch = null;
    this.presenter = null;
    this.item = null;
    this.state = null;
    this.present = null;
    this.agenda = null; // the agenda items in order (see ./agenda.js)
    this.meetingStatus = null; // "scheduled", "cancelled" or "held"
    this.snapshotSeq = null; // the seq of the last snapshot
    this.synced = false; // a snapshot arrived since the socket (re)opened and no gap since
    this.status = "connecting"; // connecting | live | reconnecting | flood | forbidden | ended
    // Healthy once a snapshot arrived, not merely open: a server that accepts and then
    // drops at once is still backed off from.
    this.socket = new ReconnectingSocket(path, { settleOnOpen: false });
    this.socket.addEventListener("message", (ev) => this.receive(ev.detail));
    this.socket.addEventListener("close", () => {
      this.synced = false;
    });
    this.socket.addEventListener("status", (ev) => {
      if (ev.detail === "connecting" || ev.detail === "reconnecting") this.synced = false;
      // Open is not live yet: the snapshot says so (applySnapshot).
      if (ev.detail !== "open") this.setStatus(ev.detail);
    });
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.refilled = performance.now();
    this.pending = new Map(); // latest-wins messages waiting for the budget, by kind
    this.pumpTimer = null;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setStatus(status) {
    this.status = status;
    this.emit("status", status);
  }

  // --- the connection ------------------------------------------------------------------

  connect() {
    this.synced = false;
    this.socket.connect();
  }

  // When the next attempt is due, while waiting for it (the page counts down).
  get retryAt() {
    return this.socket.retryAt;
  }

  get retryTimer() {
    return this.socket.retryTimer;
  }

  // Back online (the browser says so): try now rather than at the end of the backoff.
  retryNow() {
    this.socket.retryNow();
  }

  // --- from the server ----------------------------------------------------------------

  receive(message) {
    switch (message.type) {
      case "session.ready":
        return;
      case "live.snapshot":
        return this.applySnapshot(message);
      case "live.state":
      case "live.presenter":
      case "live.item":
      case "agenda.item_added":
      case "agenda.item_removed":
      case "agenda.reordered":
      case "agenda.presenter":
      case "agenda.time_box":
      case "meeting.status":
        return this.applySequenced(message);
      case "live.pointer":
        if (this.synced && message.epoch === this.epoch) this.emit("pointer", message.pointer || null);
        return;
      case "live.presence":
        this.present = message.present || [];
        return this.emit("presence", this.present);
      case "live.control_request":
        return this.emit("control-request", message);
      case "error":
        return this.emit("server-error", message.error);
      default:
        return this.emit("event", message);
    }
  }

  applySnapshot(message) {
    this.seq = message.seq;
    this.epoch = message.epoch;
    this.presenter = message.presenter ?? null;
    this.item = message.item ?? null;
    this.state = message.state ?? null;
    if (Array.isArray(message.present)) this.present = message.present;
    if (Array.isArray(message.agenda)) this.agenda = message.agenda;
    this.meetingStatus = message.status ?? this.meetingStatus;
    this.snapshotSeq = message.seq;
    this.synced = true;
    this.socket.settled();
    if (this.status !== "live") this.setStatus("live");
    this.emit("snapshot", message);
    if (Array.isArray(message.present)) this.emit("presence", this.present);
  }

  applySequenced(message) {
    if (!this.synced) return; // waiting for the snapshot, which holds this or later
    if (message.seq <= this.seq) {
      // Already in the snapshot; or overtaken on its way by a later viewer state, taken
      // for coalesced below: a change other than a state must not be lost, so resync.
      if (message.seq > this.snapshotSeq && message.type !== "live.state") this.resync();
      return;
    }
    // The server coalesces the presenter's states: a gap before a state of the same epoch
    // is states nobody needs. Any other gap is a missed hand-off or agenda move.
    const coalesced = message.type === "live.state" && message.epoch === this.epoch;
    if (message.seq !== this.seq + 1 && !coalesced) {
      this.resync();
      return;
    }
    this.seq = message.seq;
    this.epoch = message.epoch ?? this.epoch; // agenda and meeting events keep the epoch
    if (message.type === "live.state") {
      this.state = message.state;
      this.emit("state", message.state);
    } else if (message.type === "live.presenter") {
      this.presenter = message.presenter ?? null;
      this.emit("presenter", this.presenter);
    } else if (message.type === "live.item") {
      this.item = message.item;
      this.presenter = message.presenter ?? null;
      this.state = null; // the new case starts afresh until the presenter sends a view
      this.emit("item", this.item);
    } else if (message.type === "meeting.status") {
      this.meetingStatus = message.status;
      this.emit("meeting-status", message.status);
    } else {
      // The server forgets a removed current item too (the meeting shows none).
      const current = message.type === "agenda.item_removed" && message.item === this.item;
      this.agenda = foldAgenda(this.agenda, message);
      if (current) this.item = null;
      this.emit("agenda", this.agenda);
      if (current) this.emit("item", this.item);
    }
  }

  // The meeting is over (cancelled): close the socket for good, without reconnecting.
  stop() {
    this.synced = false;
    this.socket.close();
    this.setStatus("ended");
  }

  resync() {
    this.synced = false;
    this.send({ type: "sync" });
  }

  // --- to the server ------------------------------------------------------------------

  takeToken() {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilled) * this.rate) / 1000);
    this.refilled = now;
    this.tokens -= 1;
  }

  // A command (hand-off, agenda move, sync): sent now if the socket is open.
  send(message) {
    if (!this.socket.isOpen) return false;
    this.takeToken();
    return this.socket.send(message);
  }

  // A message where only the latest matters (the viewer state, the pointer): sent now if
  // the budget allows, else it waits and a newer one of the same kind replaces it.
  sendLatest(kind, message) {
    this.pending.delete(kind);
    this.pending.set(kind, message);
    this.pump();
  }

  pump() {
    for (;;) {
      if (!this.pending.size) return;
      const now = performance.now();
      const tokens = Math.min(this.burst, this.tokens + ((now - this.refilled) * this.rate) / 1000);
      if (tokens < 1) break;
      const [kind, message] = this.pending.entries().next().value;
      this.pending.delete(kind);
      this.send(message);
    }
    if (!this.pumpTimer) {
      this.pumpTimer = setTimeout(() => {
        this.pumpTimer = null;
        this.pump();
      }, Math.ceil(1000 / this.rate));
    }
  }
}
