// The viewer: series browser, 1x1/1x2/2x2 viewports, tools, presets, cine, key images.
// Its whole state is plain data: getState() / setState(state) / onChange(callback) are
// all the live session needs to make every panelist's screen follow the presenter's.

// The parts: state.js (the state as data, presets), input.js (mouse, wheel, keys),
// annotations.js (tools, annotations and their server calls), toolbar.js (the controls
// around the images), viewport.js (one image), loader.js (a series' pixels).

import { autoWindow } from "./lut.js";
import { SeriesLoader } from "./loader.js";
import { Viewport } from "./viewport.js";
import { ReconnectingSocket } from "../socket.js";
import { Annotations, POINTS, request } from "./annotations.js";
import { bindKeys, bindPointer } from "./input.js";
import {
  LAYOUTS, VIEWPORTS, normaliseState, normaliseView, openingView, presetWindow, resetPatch, sameState,
} from "./state.js";
import { Toolbar } from "./toolbar.js";
import { fill } from "../text.js";

export { sameState };

export class Viewer {
  constructor(root, config) {
    this.root = root;
    this.config = config; // { caseUrl, series: [...], annotationsUrl, keyImagesUrl, csrf, text }
    this.text = config.text; // the words it shows, translated (imaging/views.py, viewer_text)
    this.listeners = new Set();
    this.pointerListeners = new Set();
    this.pointer = null; // someone else's laser pointer: { viewport, x, y } in image pixels
    this.loaders = new Map(); // series uuid -> { loader, manifest, ready: Promise }
    this.annotations = new Annotations({
      url: config.annotationsUrl,
      csrf: config.csrf,
      text: config.text,
      changed: () => this.requestRender(),
      flash: (message) => this.flash(message),
    });
    this.toolbar = new Toolbar(this);
    this.tool = "wl";
    this.draft = null;
    this.placing = null; // keyboard measuring: { viewport, point } where Enter places next
    this.cine = null;
    this.stats = { last: 0, max: 0, count: 0, total: 0 };
    this.state = normaliseState({});
    this.build();
    this.applyLayout();
    this.onResize = () => {
      this.viewports.forEach((vp) => vp.resize());
      this.requestRender();
    };
    window.addEventListener("resize", this.onResize);
  }

  // --- the public API -------------------------------------------------------------------

  getState() {
    return JSON.parse(JSON.stringify(this.state));
  }

  // Replace the whole state. Resolves once every visible viewport shows it.
  // It does not call the onChange listeners: those hear about user actions only.
  async setState(next) {
    const target = normaliseState(next);
    if (sameState(target, this.state)) return this.getState();
    const layoutChanged = target.layout !== this.state.layout;
    this.state = target;
    if (layoutChanged) this.applyLayout();
    await Promise.all(
      target.viewports.map((view, i) => (view.series ? this.attach(i, view.series) : this.detach(i))),
    );
    this.syncControls();
    this.requestRender();
    await this.rendered();
    return this.getState();
  }

  onChange(callback) {
    this.listeners.add(callback);
    return () => this.listeners.delete(callback);
  }

  // The mouse over an image, in that image's pixels: { viewport, x, y }, or null when it
  // leaves. At most once per animation frame (the live session's laser pointer).
  onPointer(callback) {
    this.pointerListeners.add(callback);
    return () => this.pointerListeners.delete(callback);
  }

  // Show someone's pointer (image pixels of one viewport) as a dot; null hides it.
  showPointer(pointer) {
    this.pointer = pointer ? { viewport: pointer.viewport, x: pointer.x, y: pointer.y } : null;
    this.viewports.forEach((vp) => vp.placePointer());
  }

  // Stop listening to the page (keys, resizes) and loading: the live session replaces the
  // viewer when the meeting moves on to another case.
  destroy() {
    this.destroyed = true;
    this.socket?.close();
    this.stopCine();
    this.listeners.clear();
    this.pointerListeners.clear();
    this.root.removeEventListener("keydown", this.onKey);
    clearTimeout(this.announceTimer);
    window.removeEventListener("resize", this.onResize);
    for (const entry of this.loaders.values()) entry.loader.abort();
    if (this.frameRequest) cancelAnimationFrame(this.frameRequest);
    this.frameRequest = null;
    (this.renderWaiters || []).forEach((resolve) => resolve());
    this.renderWaiters = [];
  }

  // --- series ------------------------------------------------------------------------------

  seriesEntry(seriesId) {
    let entry = this.loaders.get(seriesId);
    if (!entry) {
      const loader = new SeriesLoader(this.config.caseUrl, seriesId, {
        onFrame: (position) => this.frameArrived(seriesId, position),
        onProgress: (loaded, count) => this.progress(seriesId, loaded, count),
      });
      entry = { loader, manifest: null, ready: null };
      entry.ready = loader.load(0).then((manifest) => {
        entry.manifest = manifest;
        this.annotations.load(seriesId);
        return entry;
      });
      this.loaders.set(seriesId, entry);
    }
    return entry.ready;
  }

  async attach(index, seriesId) {
    const entry = await this.seriesEntry(seriesId);
    const vp = this.viewports[index];
    vp.series = entry;
    vp.view = this.state.viewports[index];
    const count = entry.manifest.slices.length;
    if (vp.view.slice >= count) vp.view.slice = count - 1;
    entry.loader.prioritise(vp.view.slice);
  }

  detach(index) {
    const vp = this.viewports[index];
    vp.series = null;
    vp.view = this.state.viewports[index];
  }

  // Put a series into a viewport (a click or a drop in the series browser).
  async openSeries(seriesId, index = this.state.active) {
    this.stopCine();
    const entry = await this.seriesEntry(seriesId);
    this.state.viewports[index] = openingView(seriesId, entry.manifest);
    this.state.active = index;
    await this.attach(index, seriesId);
    this.changed();
  }

  frameArrived(seriesId, position) {
    for (const vp of this.visible()) {
      if (vp.view?.series !== seriesId) continue;
      if (vp.view.preset === "auto" && position === vp.view.slice) {
        const { header, values } = vp.series.loader.frames[position];
        if (header.samples === 1) Object.assign(vp.view, autoWindow(values, header.slope, header.intercept));
        vp.view.preset = "auto-done";
      }
      if (position === vp.view.slice) this.requestRender();
    }
  }

  progress(seriesId, loaded, count) {
    this.toolbar.showProgress(seriesId, loaded, count);
    this.requestRender();
  }

  // --- viewing -------------------------------------------------------------------------------

  activeViewport() {
    return this.viewports[this.state.active];
  }

  visible() {
    const [rows, cols] = LAYOUTS[this.state.layout];
    return this.viewports.slice(0, rows * cols);
  }

  update(index, patch, { emit = true } = {}) {
    const vp = this.viewports[index];
    if (!vp.series) return;
    Object.assign(vp.view, patch);
    const count = vp.series.manifest.slices.length;
    vp.view.slice = Math.min(count - 1, Math.max(0, vp.view.slice));
    Object.assign(vp.view, normaliseView(vp.view));
    this.state.viewports[index] = vp.view;
    if (emit) this.changed();
    this.requestRender();
  }

  scroll(delta, index = this.state.active) {
    const view = this.state.viewports[index];
    this.update(index, { slice: view.slice + delta });
  }

  setSlice(slice, index = this.state.active) {
    this.update(index, { slice });
  }

  setWindow(center, width, preset = null) {
    this.update(this.state.active, { center, width, preset });
  }

  applyPreset(id) {
    const vp = this.activeViewport();
    if (!vp.series) return;
    const chosen = presetWindow(id, vp);
    if (chosen) this.setWindow(chosen.center, chosen.width, chosen.preset);
  }

  zoomBy(factor) {
    const view = this.state.viewports[this.state.active];
    this.update(this.state.active, { zoom: view.zoom * factor });
  }

  // Window by keyboard: steps of a twentieth of the width (at least 1).
  windowBy(widthSteps, centerSteps) {
    const view = this.state.viewports[this.state.active];
    if (!view) return;
    const step = Math.max(1, Math.round(view.width / 20));
    this.setWindow(view.center + centerSteps * step, Math.max(1, view.width + widthSteps * step));
  }

  // Pan by keyboard: the image moves by a fraction of the pane, as a drag of that size would.
  panBy(fx, fy) {
    const vp = this.activeViewport();
    if (!vp.series) return;
    const dx = fx * vp.cssWidth;
    const dy = fy * vp.cssHeight;
    const m = vp.transform;
    const det = m[0] * m[3] - m[1] * m[2];
    const ix = (m[3] * dx - m[2] * dy) / det;
    const iy = (-m[1] * dx + m[0] * dy) / det;
    this.update(this.state.active, { pan: [vp.view.pan[0] - ix, vp.view.pan[1] - iy] });
  }

  fit() {
    this.update(this.state.active, { zoom: 1, pan: [0, 0] });
  }

  oneToOne() {
    const vp = this.activeViewport();
    const inst = vp.sliceInfo()?.instance;
    if (!inst) return;
    const r = vp.view.rotation % 180 !== 0;
    const fit = Math.min(vp.cssWidth / (r ? inst.rows : inst.columns), vp.cssHeight / (r ? inst.columns : inst.rows));
    // One image pixel per device pixel.
    this.update(this.state.active, { zoom: 1 / (fit * (window.devicePixelRatio || 1)) });
  }

  rotate(degrees) {
    const view = this.state.viewports[this.state.active];
    this.update(this.state.active, { rotation: view.rotation + degrees });
  }

  flip(axis) {
    const view = this.state.viewports[this.state.active];
    this.update(this.state.active, axis === "h" ? { flipH: !view.flipH } : { flipV: !view.flipV });
  }

  toggleInvert() {
    const view = this.state.viewports[this.state.active];
    this.update(this.state.active, { invert: !view.invert });
  }

  reset() {
    const vp = this.activeViewport();
    if (!vp.series) return;
    this.update(this.state.active, resetPatch(vp.series.manifest));
  }

  setLayout(layout) {
    if (!LAYOUTS[layout]) return;
    this.state.layout = layout;
    if (this.state.active >= LAYOUTS[layout][0] * LAYOUTS[layout][1]) this.state.active = 0;
    this.applyLayout();
    this.changed();
  }

  setActive(index) {
    if (index === this.state.active) return;
    this.state.active = index;
    this.syncControls();
    this.changed();
    this.requestRender();
  }

  // --- cine ------------------------------------------------------------------------------------

  startCine(fps) {
    this.stopCine();
    const index = this.state.active;
    const vp = this.viewports[index];
    if (!vp.series) return;
    this.cine = setInterval(() => {
      const count = vp.series.manifest.slices.length;
      this.update(index, { slice: (vp.view.slice + 1) % count });
    }, 1000 / Math.max(1, fps));
    this.toolbar.showCine(true);
  }

  stopCine() {
    if (!this.cine) return;
    clearInterval(this.cine);
    this.cine = null;
    this.toolbar.showCine(false);
  }

  toggleCine() {
    if (this.cine) this.stopCine();
    else this.startCine(this.toolbar.fps());
  }

  // --- rendering ---------------------------------------------------------------------------------

  requestRender() {
    if (this.frameRequest) return;
    this.frameRequest = requestAnimationFrame(() => {
      this.frameRequest = null;
      let total = 0;
      for (const vp of this.visible()) {
        vp.view = this.state.viewports[vp.index];
        total += vp.draw();
        vp.root.classList.toggle("active", vp.index === this.state.active);
      }
      this.record(total);
      this.syncControls();
      this.announceView();
      const waiters = this.renderWaiters || [];
      this.renderWaiters = [];
      waiters.forEach((resolve) => resolve());
    });
  }

  // Resolves after the next frame has been drawn with every visible slice available.
  rendered() {
    const ready = () => this.visible().every((vp) => !vp.series || vp.series.loader.has(vp.view.slice));
    return new Promise((resolve) => {
      const check = () => {
        if (this.destroyed) {
          resolve();
        } else if (ready() && !this.frameRequest) {
          this.requestRender();
          (this.renderWaiters ||= []).push(resolve);
        } else {
          setTimeout(check, 16);
        }
      };
      check();
    });
  }

  record(ms) {
    const s = this.stats;
    s.last = ms;
    s.count += 1;
    s.total += ms;
    s.max = Math.max(s.max, ms);
    s.mean = s.total / s.count;
    this.toolbar.showRedraw(ms);
  }

  pointerMoved(pointer) {
    const first = this.pointerPending === undefined;
    this.pointerPending = pointer;
    if (!first) return;
    requestAnimationFrame(() => {
      const latest = this.pointerPending;
      this.pointerPending = undefined;
      for (const listener of this.pointerListeners) listener(latest);
    });
  }

  changed() {
    if (this.changePending) return;
    this.changePending = true;
    requestAnimationFrame(() => {
      this.changePending = false;
      const state = this.getState();
      for (const listener of this.listeners) listener(state);
    });
  }

  // --- annotations -------------------------------------------------------------------------------

  annotationsFor(instance, frame) {
    return this.annotations.onFrame(instance, frame);
  }

  // After someone changed an annotation on an instance (the live session calls this too).
  refreshAnnotations(instance) {
    return this.annotations.refresh(instance);
  }

  // The draft (the annotation being drawn) is complete: save it.
  saveDraft() {
    const draft = this.draft;
    this.draft = null;
    if (!draft) return this.requestRender();
    return this.annotations.create(draft);
  }

  // Live changes to the case: annotations drawn, moved or deleted by others.
  follow(path) {
    if (!path || !("WebSocket" in window)) return;
    this.socket = new ReconnectingSocket(path);
    this.socket.addEventListener("open", () => {
      this.root.dataset.live = "open";
    });
    this.socket.addEventListener("close", () => {
      this.root.dataset.live = "closed";
    });
    this.socket.addEventListener("message", ({ detail: event }) => {
      if (event.type === "annotation.changed") this.refreshAnnotations(event.instance);
    });
    this.socket.connect();
  }

  // --- key images --------------------------------------------------------------------------------

  async markKeyImage(caption) {
    const vp = this.activeViewport();
    const info = vp.sliceInfo();
    if (!info || !this.config.keyImagesUrl) return null;
    const text = caption ?? window.prompt(this.text.keyCaption, "");
    if (text === null) return null;
    const v = vp.view;
    const answer = await request(this.config.csrf, "POST", this.config.keyImagesUrl, {
      instance: info.instance.uuid,
      frame: info.slice.frame,
      caption: text,
      state: {
        center: v.center, width: v.width, invert: v.invert, zoom: v.zoom, pan: v.pan,
        rotation: v.rotation, flip_h: v.flipH, flip_v: v.flipV,
      },
    });
    this.flash(answer.ok ? this.text.keySaved : fill(this.text.keyNotSaved, answer));
    return answer.data;
  }

  flash(message) {
    this.toolbar.flash(message);
  }

  // --- the page ------------------------------------------------------------------------------------

  build() {
    this.grid = this.root.querySelector("[data-viewports]");
    this.viewports = [];
    for (let i = 0; i < VIEWPORTS; i += 1) {
      const vp = new Viewport(this.grid, i, this);
      vp.view = this.state.viewports[i];
      bindPointer(this, vp);
      this.viewports.push(vp);
    }
    this.toolbar.build();
    this.onKey = bindKeys(this);
  }

  syncControls() {
    this.toolbar.sync();
  }

  applyLayout() {
    const [rows, cols] = LAYOUTS[this.state.layout];
    this.grid.style.gridTemplateRows = `repeat(${rows}, 1fr)`;
    this.grid.style.gridTemplateColumns = `repeat(${cols}, 1fr)`;
    this.viewports.forEach((vp, i) => { vp.root.hidden = i >= rows * cols; });
    this.viewports.forEach((vp) => vp.resize());
    this.syncControls();
    this.requestRender();
  }

  setTool(id) {
    this.tool = id;
    this.draft = null;
    this.toolbar.showTool(id);
    this.requestRender();
  }

  closeHelpOrDraft() {
    this.toolbar.closeHelp();
    this.draft = null;
    this.placing = null;
    this.requestRender();
  }

  // --- measuring with the keyboard (WCAG 2.1.1) ---------------------------------------------
  // Enter on a pane with a measuring tool starts: a cross at the pane's centre, moved by the
  // arrows; each Enter pins one point where the cross is, the last one saves, as clicks do.

  startPlacing() {
    const vp = this.activeViewport();
    const info = vp.sliceInfo();
    if (!info || !POINTS[this.tool]) return;
    this.draft = null;
    this.placing = { viewport: vp.index, kind: this.tool, point: vp.canvasToImage([vp.cssWidth / 2, vp.cssHeight / 2]) };
    this.sayPlacing();
    this.requestRender();
  }

  movePlacing(dx, dy) {
    const p = this.placing;
    if (!p) return;
    const vp = this.viewports[p.viewport];
    const [x, y] = vp.imageToCanvas(p.point);
    p.point = vp.canvasToImage([x + dx, y + dy]);
    if (this.draft?.viewport === p.viewport) this.draft.points[this.draft.points.length - 1] = [...p.point];
    this.requestRender();
  }

  placePoint() {
    const p = this.placing;
    if (!p) return;
    const vp = this.viewports[p.viewport];
    const info = vp.sliceInfo();
    if (!info) return this.cancelPlacing();
    const need = POINTS[p.kind];
    if (!this.draft || this.draft.viewport !== p.viewport) {
      this.draft = { viewport: p.viewport, kind: p.kind, instance: info.instance.uuid, frame: info.slice.frame, points: [[...p.point]], mine: true };
    } else {
      this.draft.points[this.draft.points.length - 1] = [...p.point];
    }
    if (this.draft.points.length >= need) {
      this.placing = null;
      this.say(fill(this.text.placed, { tool: this.text.tools[p.kind] }));
      this.saveDraft();
      return;
    }
    this.draft.points.push([...p.point]); // the loose one, following the cross
    this.sayPlacing();
    this.requestRender();
  }

  cancelPlacing() {
    this.placing = null;
    this.draft = null;
    this.requestRender();
  }

  sayPlacing() {
    const p = this.placing;
    const n = this.draft && this.draft.viewport === p.viewport ? this.draft.points.length : 1;
    this.say(fill(this.text.placing, { tool: this.text.tools[p.kind], n, count: POINTS[p.kind] }));
  }

  // --- what a screen reader hears -------------------------------------------------------------

  // At once (an answer to a key the user pressed).
  say(message) {
    const node = this.root.querySelector("[data-announce]");
    if (!node) return;
    clearTimeout(this.announceTimer);
    node.textContent = message;
    this.announced = message;
  }

  // The active pane's label after the view settles: debounced, so cine, a drag or a
  // presenter's scrolling is not read out frame by frame.
  announceView() {
    clearTimeout(this.announceTimer);
    this.announceTimer = setTimeout(() => {
      const label = this.activeViewport()?.label;
      const node = this.root.querySelector("[data-announce]");
      if (!node || !label || label === this.announced || this.cine) return;
      node.textContent = label;
      this.announced = label;
    }, 800);
  }
}
