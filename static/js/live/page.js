// The live session page: one LivePage object (window.live), its viewer as window.viewer.
//
// The server is the authority (static/js/live/sync.js keeps its state). This page makes
// the screen agree with it: the agenda item on show, the presenter's view for those who
// follow, the presenter's own view sent to everyone else, who is here and the quorum.

import { mountDecisionPanel } from "../decisions.js";
import { Viewer, sameState } from "../viewer/viewer.js";
import { renderAgenda } from "./agenda.js";
import { LiveSync } from "./sync.js";
import { bindPanels } from "./panels.js";
import { OpinionThread } from "../opinions.js";
import { fill } from "../text.js";
import { keepPlace, restorePlace } from "../keep.js";

class LivePage {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.text = config.text;
    this.me = config.user;
    this.names = new Map(config.members.map((m) => [m.uuid, m.name]));
    this.csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
    this.viewerRoot = root.querySelector("[data-viewer]");
    this.pristine = this.viewerRoot.cloneNode(true); // a fresh frame for each case's viewer
    this.viewer = null;
    this.loadedItem = null;
    this.caseId = null;
    this.mode = "following"; // following | free | presenting
    this.announce = false; // as presenter: make sure the server has this screen's view
    this.primed = false; // the viewer shows something (the first series or a received view)
    this.touched = false; // the user acted in this viewer since it was made
    this.shown = null; // the last view this page put in the viewer itself
    this.pointer = null;
    this.present = new Set([...root.querySelectorAll("[data-person].is-present")].map((li) => li.dataset.person));
    this.sync = new LiveSync(config.socket);
    // Posting stays on the page (the meeting goes on).
    this.thread = new OpinionThread(root.querySelector("[data-thread]"), {
      reload: () => this.reloadThread(),
      onError: (error) => this.flash(fill(this.text.notPosted, { error })),
      onPosted: () => this.announce(this.text.posted),
      blindedText: this.text.blindedNew,
    });
    // Said politely to screen readers; always in the page, as a live region must be before
    // its text changes (the flash comes and goes).
    this.status = document.createElement("p");
    this.status.className = "visually-hidden";
    this.status.setAttribute("role", "status");
    this.status.dataset.liveStatus = "";
    root.append(this.status);
    this.bindControls();
    this.bindSync();
    // The viewer measures itself on window resizes; its column also changes with the page.
    new ResizeObserver(() => this.viewer?.onResize()).observe(root.querySelector("[data-stage]"));
    if (config.item) {
      this.mountViewer(config.viewer, config.item, root.querySelector("[data-case]")?.dataset.case);
    } else {
      this.showStage(false);
    }
    this.render();
    this.sync.connect();
  }

  // --- the socket ---------------------------------------------------------------------

  bindSync() {
    const s = this.sync;
    s.addEventListener("status", () => {
      this.renderConnection();
      if (!s.synced) this.reconcile(); // offline: at least show the case's first series
    });
    s.addEventListener("snapshot", () => {
      this.decisions?.refresh(); // votes may have been cast while this page was away
      this.updateMode();
      if (this.mode === "presenting") this.announce = true;
      this.render();
      this.reconcile();
    });
    s.addEventListener("state", () => {
      if (this.mode === "following") this.reconcile();
    });
    s.addEventListener("presenter", () => {
      this.showPointer(null);
      this.updateMode();
      this.render();
      this.reconcile();
    });
    s.addEventListener("item", () => {
      this.showPointer(null);
      // The agenda moves everyone, including those browsing on their own.
      if (this.mode === "free") this.mode = "following";
      this.updateMode();
      this.render();
      this.reconcile();
    });
    s.addEventListener("pointer", (ev) => this.showPointer(ev.detail));
    s.addEventListener("presence", (ev) => {
      this.present = new Set(ev.detail);
      this.renderPeople();
    });
    s.addEventListener("control-request", (ev) => this.controlRequested(ev.detail));
    s.addEventListener("server-error", (ev) => {
      console.warn("live session:", ev.detail);
      this.flash(ev.detail);
    });
    s.addEventListener("event", (ev) => this.domainEvent(ev.detail));
    // After the listeners above: the agenda is drawn with the item they settled on.
    for (const type of ["snapshot", "agenda", "meeting-status"]) {
      s.addEventListener(type, () => this.agendaChanged());
    }
    window.addEventListener("offline", () => this.renderConnection());
  }

  domainEvent(event) {
    // Proposals, votes and the consensus belong to the decisions panel (static/js/decisions.js)
    // of the case on show, mounted in #vote-panel by mountViewer.
    if (/^(proposal|vote|consensus)\./.test(event.type)) {
      this.decisions?.handleEvent(event);
      return;
    }
    if (!event.case || event.case !== this.caseId) return;
    if (event.type === "opinion.posted") this.thread.show(event);
    else if (event.type === "annotation.changed") this.viewer?.refreshAnnotations(event.instance);
    else if (event.type === "case.status") {
      const badge = this.root.querySelector("[data-case-summary] .status");
      if (badge) badge.textContent = this.text.statuses[event.status] ?? event.status;
    }
  }

  // --- the agenda and the meeting (static/js/live/agenda.js) ----------------------------

  agendaChanged() {
    const s = this.sync;
    if (s.meetingStatus === "cancelled") return this.meetingCancelled();
    if (!s.agenda || this.ended) return;
    renderAgenda(this.root.querySelector("[data-agenda]"), s.agenda, {
      current: s.item,
      canGo: this.config.isManager,
      names: this.names,
      text: this.text,
    });
    if (!s.item) {
      const waiting = this.root.querySelector("[data-waiting]");
      if (!s.agenda.length) waiting.textContent = this.text.emptyAgenda;
      else waiting.textContent = this.config.isManager ? this.text.choose : this.text.waiting;
    }
  }

  // The chair cancelled the meeting: say so, show no case, and stop listening.
  meetingCancelled() {
    if (this.ended) return;
    this.ended = true;
    this.root.dataset.ended = "cancelled";
    this.unmountViewer();
    for (const part of ["[data-case-summary]", "[data-thread]", "[data-vote-panel]"]) {
      this.root.querySelector(part).replaceChildren();
    }
    this.root.querySelector("[data-waiting]").textContent = this.text.cancelled;
    const notice = document.createElement("p");
    notice.className = "live-ended";
    notice.setAttribute("role", "alert");
    notice.dataset.endedNotice = "";
    notice.textContent = this.text.cancelled;
    this.root.querySelector(".live-bar").append(notice);
    renderAgenda(this.root.querySelector("[data-agenda]"), this.sync.agenda || [], {
      names: this.names,
      text: this.text,
    });
    this.sync.stop();
  }

  updateMode() {
    const presenting = this.sync.presenter === this.me;
    if (presenting && this.mode !== "presenting") {
      this.mode = "presenting";
      this.announce = true;
    } else if (!presenting && this.mode === "presenting") {
      this.mode = "following";
    }
  }

  // --- making the screen agree with the server -------------------------------------------

  // One pass at a time; whatever arrives meanwhile asks for another pass, which then uses
  // the latest state only (a slow follower skips intermediate views).
  async reconcile() {
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = true;
    try {
      do {
        this.again = false;
        await this.reconcileOnce();
      } while (this.again);
    } catch (err) {
      console.error(err);
    } finally {
      this.reconciling = false;
    }
  }

  async reconcileOnce() {
    const s = this.sync;
    if (!s.synced) {
      // Not connected: show the case as it was, so the page is still of use.
      if (this.viewer && !this.primed && s.status !== "connecting") await this.showDefault();
      return;
    }
    if (s.item !== this.loadedItem) {
      const loaded = await this.loadItem(s.item);
      if (!loaded) return;
    }
    const viewer = this.viewer;
    if (!viewer) return;
    if (this.mode === "presenting") {
      if (!this.announce && this.primed) return;
      this.announce = false;
      if (!this.touched && s.state) await this.show(s.state);
      else if (!this.primed) await this.showDefault();
      if (!sameState(viewer.getState(), s.state)) this.sendState(viewer.getState());
    } else if (this.mode === "following") {
      if (s.state) {
        if (!sameState(viewer.getState(), s.state)) await this.show(s.state);
        viewer.showPointer(this.pointer);
      } else if (!this.primed) {
        await this.showDefault();
      }
    } else if (!this.primed) {
      await this.showDefault();
    }
  }

  async show(state) {
    const viewer = this.viewer;
    this.primed = true;
    this.shown = state;
    await viewer.setState(state);
    if (viewer === this.viewer) this.shown = viewer.getState();
  }

  // The case's first series, as the case viewer opens it (the presenter starts from the
  // same, so followers rarely see a jump).
  async showDefault() {
    const viewer = this.viewer;
    this.primed = true;
    const first = viewer.config.series[0]?.uuid;
    if (!first) return;
    await viewer.openSeries(first);
    if (viewer === this.viewer) this.shown = viewer.getState();
  }

  sendState(state) {
    this.sync.sendLatest("viewer.state", { type: "viewer.state", epoch: this.sync.epoch, state });
  }

  // A user action in the viewer (onChange reports nothing else).
  viewerChanged(state) {
    if (this.mode === "presenting") {
      this.touched = true;
      this.sendState(state);
      return;
    }
    if (this.shown && sameState(state, this.shown)) return; // this page's own doing
    this.touched = true;
    if (this.mode === "following") this.setMode("free");
  }

  pointerMoved(pointer) {
    if (this.mode !== "presenting") return;
    this.sync.sendLatest("pointer", { type: "pointer", epoch: this.sync.epoch, pointer });
  }

  showPointer(pointer) {
    this.pointer = pointer;
    this.viewer?.showPointer(this.mode === "following" ? pointer : null);
  }

  setMode(mode) {
    this.mode = mode;
    if (mode !== "following") this.viewer?.showPointer(null);
    this.render();
    if (mode === "following") this.reconcile();
  }

  // --- the case on show -----------------------------------------------------------------

  async loadItem(itemId) {
    if (!itemId) {
      this.unmountViewer();
      this.loadedItem = null;
      this.caseId = null;
      this.root.querySelector("[data-case-summary]").replaceChildren();
      this.root.querySelector("[data-thread]").replaceChildren();
      this.render();
      return true;
    }
    let data;
    try {
      const response = await fetch(`${this.config.itemUrl}${itemId}/`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.status === 404) {
        // Not this user's to see (or gone): say so, and do not ask again.
        this.unmountViewer();
        this.loadedItem = itemId;
        this.caseId = null;
        this.root.querySelector("[data-case-summary]").replaceChildren();
        this.root.querySelector("[data-thread]").replaceChildren();
        this.root.querySelector("[data-waiting]").textContent = this.text.unavailable;
        this.render();
        return true;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      data = await response.json();
    } catch (err) {
      console.error(err);
      this.flash(err.message);
      setTimeout(() => this.reconcile(), 3000);
      return false;
    }
    if (this.sync.item !== itemId) return false; // moved on meanwhile; the next pass loads that
    this.root.querySelector("[data-case-summary]").innerHTML = data.html.case;
    this.root.querySelector("[data-thread]").innerHTML = data.html.thread;
    this.mountViewer(data.viewer, itemId, data.case);
    this.render();
    return true;
  }

  async reloadThread() {
    if (!this.loadedItem) return;
    const response = await fetch(`${this.config.itemUrl}${this.loadedItem}/`, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    if (data.item !== this.loadedItem) return;
    // Someone else's post must not wipe a half-typed reply or take the focus away.
    const thread = this.root.querySelector("[data-thread]");
    const place = keepPlace(thread, { typed: true });
    thread.innerHTML = data.html.thread;
    restorePlace(thread, place);
  }

  announce(message) {
    this.status.textContent = "";
    setTimeout(() => { this.status.textContent = message; }, 50);
  }

  mountViewer(viewerConfig, itemId, caseId) {
    this.unmountViewer();
    const frame = this.pristine.cloneNode(true);
    this.viewerRoot.replaceWith(frame);
    this.viewerRoot = frame;
    this.showStage(true); // before the viewer measures its viewports
    this.viewer = new Viewer(frame, { ...viewerConfig, csrf: this.csrf });
    window.viewer = this.viewer;
    this.viewer.onChange((state) => this.viewerChanged(state));
    this.viewer.onPointer((pointer) => this.pointerMoved(pointer));
    this.loadedItem = itemId;
    this.caseId = caseId || null;
    this.primed = false;
    this.touched = false;
    this.shown = null;
    const votes = this.root.querySelector("[data-vote-panel]");
    votes.dataset.item = itemId;
    votes.dataset.case = this.caseId || "";
    votes.replaceChildren();
    this.decisions = null;
    if (this.caseId) {
      // The same frame as the case page's panel (decisions/_panel.html), filled by fetch.
      const frame = document.createElement("div");
      frame.className = "decision-panel";
      frame.id = "decisions";
      frame.dataset.panelUrl = `${viewerConfig.caseUrl}decisions/?meeting=${this.config.meeting}`;
      votes.append(frame);
      this.decisions = mountDecisionPanel(frame, { panelUrl: frame.dataset.panelUrl, caseId: this.caseId });
      this.decisions.refresh();
    }
    window.decisionPanel = this.decisions;
    document.dispatchEvent(new CustomEvent("live:item", { detail: { item: itemId, case: this.caseId } }));
  }

  unmountViewer() {
    if (!this.viewer) return;
    this.viewer.destroy();
    this.viewer = null;
    window.viewer = null;
    this.showStage(false);
  }

  showStage(on) {
    const stage = this.root.querySelector("[data-stage]");
    stage.toggleAttribute("data-empty", !on);
    stage.querySelector("[data-waiting]").hidden = on;
  }

  // --- buttons ------------------------------------------------------------------------------

  bindControls() {
    const root = this.root;
    bindPanels(root);
    root.querySelector("[data-return]").addEventListener("click", () => this.setMode("following"));
    root.querySelector("[data-take]")?.addEventListener("click", () => this.assign(this.me));
    root.querySelector("[data-release]")?.addEventListener("click", () => this.assign(null));
    root.querySelector("[data-ask]")?.addEventListener("click", (ev) => {
      if (!this.sync.send({ type: "presenter.request" })) return this.flash(this.text.notConnected);
      const button = ev.currentTarget;
      button.disabled = true;
      button.title = this.text.asked;
      setTimeout(() => { button.disabled = false; }, 10000);
    });
    root.addEventListener("click", (ev) => {
      const goto = ev.target.closest("[data-goto]");
      if (goto) this.command({ type: "agenda.goto", item: goto.dataset.goto });
      const give = ev.target.closest("[data-give]");
      if (give) this.assign(give.dataset.give);
      const dismiss = ev.target.closest("[data-dismiss]");
      if (dismiss) dismiss.closest("li").remove();
    });
  }

  assign(user) {
    this.command({ type: "presenter.assign", user });
  }

  command(message) {
    if (!this.sync.send(message)) this.flash(this.text.notConnected);
  }

  controlRequested(message) {
    const list = this.root.querySelector("[data-requests]");
    if (!list || message.user === this.sync.presenter) return;
    list.querySelector(`[data-request="${CSS.escape(message.user)}"]`)?.remove();
    const li = document.createElement("li");
    li.dataset.request = message.user;
    const name = message.name || this.names.get(message.user) || "";
    const text = document.createElement("span");
    text.textContent = fill(this.text.asks, { name });
    const give = this.root.querySelector("[data-give]")?.cloneNode(true);
    if (give) {
      give.dataset.give = message.user;
      give.hidden = false;
      give.removeAttribute("aria-label"); // it named someone else; the line names this one
      give.classList.remove("button-quiet");
    }
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "link-button";
    dismiss.dataset.dismiss = "";
    dismiss.textContent = "×";
    dismiss.setAttribute("aria-label", this.text.dismiss);
    li.append(text, ...(give ? [give] : []), dismiss);
    list.append(li);
  }

  flash(message) {
    const node = this.root.querySelector("[data-live-flash]");
    node.textContent = message;
    node.hidden = false;
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => { node.hidden = true; }, 4000);
  }

  // --- drawing the page ---------------------------------------------------------------------

  render() {
    const s = this.sync;
    const focused = document.activeElement;
    const presenter = s.seq === null ? this.config.presenter : s.presenter;
    const mode = this.mode;
    document.body.dataset.follow = mode;
    this.root.dataset.follow = mode;
    document.body.dataset.presenter = presenter || "";
    document.body.dataset.item = this.loadedItem || "";
    this.root.querySelector("[data-presenter-name]").textContent = presenter ? this.names.get(presenter) || "?" : this.text.nobody;
    const followText = {
      presenting: this.text.presenting,
      free: this.text.free,
      following: presenter ? this.text.following : this.text.noPresenter,
    }[mode];
    this.root.querySelector("[data-follow-text]").textContent = followText;
    this.root.querySelector("[data-return]").hidden = mode !== "free";
    const take = this.root.querySelector("[data-take]");
    if (take) take.hidden = mode === "presenting";
    const release = this.root.querySelector("[data-release]");
    if (release) release.hidden = mode !== "presenting";
    const ask = this.root.querySelector("[data-ask]");
    if (ask) ask.hidden = mode === "presenting";
    // Taking or giving back control hides the button pressed: focus goes to its counterpart
    // rather than to <body>.
    if (focused === take && take?.hidden && release && !release.hidden) release.focus();
    if (focused === release && release?.hidden && take && !take.hidden) take.focus();
    for (const li of this.root.querySelectorAll("[data-agenda] [data-item]")) {
      const current = li.dataset.item === (s.seq === null ? this.loadedItem : s.item);
      li.classList.toggle("is-current", current);
      if (current) li.setAttribute("aria-current", "step");
      else li.removeAttribute("aria-current");
    }
    this.root.querySelector("[data-requests]")?.querySelector(`[data-request="${CSS.escape(presenter || "")}"]`)?.remove();
    this.renderPeople();
    this.renderConnection();
  }

  renderPeople() {
    const presenter = this.sync.seq === null ? this.config.presenter : this.sync.presenter;
    const counts = {};
    for (const li of this.root.querySelectorAll("[data-person]")) {
      const here = this.present.has(li.dataset.person);
      li.classList.toggle("is-present", here);
      const label = li.querySelector("[data-presence-text]");
      if (label) label.textContent = here ? this.text.present : this.text.away;
      li.querySelector("[data-presenting]").hidden = li.dataset.person !== presenter;
      const give = li.querySelector("[data-give]");
      if (give) give.hidden = !here || li.dataset.person === presenter;
    }
    for (const member of this.config.members) {
      if (this.present.has(member.uuid)) counts[member.specialty] = (counts[member.specialty] || 0) + 1;
    }
    const quorum = this.config.quorum;
    const missing = Object.entries(quorum.required)
      .filter(([specialty, minimum]) => (counts[specialty] || 0) < minimum)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([specialty, minimum]) => {
        const n = minimum - (counts[specialty] || 0);
        const [one, many] = quorum.labels[specialty] || ["%(n)d", "%(n)d"];
        return fill(n === 1 ? one : many, { n });
      });
    const node = this.root.querySelector("[data-quorum]");
    node.textContent = missing.length ? fill(quorum.missing, { missing: missing.join(", ") }) : quorum.met;
    node.classList.toggle("is-met", !missing.length);
  }

  renderConnection() {
    const s = this.sync;
    const node = this.root.querySelector("[data-connection]");
    const seconds = s.retryAt ? Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000)) : 0;
    let state = s.status;
    let text = {
      connecting: this.text.connecting,
      live: this.text.live,
      reconnecting: s.retryAt ? fill(this.text.reconnecting, { seconds }) : this.text.reconnectingNow,
      flood: fill(this.text.flood, { seconds }),
      forbidden: this.text.forbidden,
      ended: this.text.ended,
    }[s.status];
    if (!navigator.onLine && s.status !== "live") {
      state = "offline";
      text = this.text.offline;
    }
    node.dataset.state = state;
    document.body.dataset.connection = state;
    node.querySelector("[data-connection-text]").textContent = text;
    clearTimeout(this.countdown);
    if (s.retryAt) this.countdown = setTimeout(() => this.renderConnection(), 1000);
  }
}

const config = JSON.parse(document.getElementById("live-config").textContent);
window.live = new LivePage(document.querySelector("[data-live]"), config);
