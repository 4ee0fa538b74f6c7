// The viewer: series browser, 1x1/1x2/2x2 viewports, tools, presets, cine, key images.
// Its whole state is plain data: getState() / setState(state) / onChange(callback) are
// all the live session needs to make every panelist's screen follow the presenter's.

import { CT_PRESETS, autoWindow } from "./lut.js";
import { SeriesLoader } from "./loader.js";
import { Viewport } from "./viewport.js";
import { ReconnectingSocket } from "../socket.js";

const LAYOUTS = { "1x1": [1, 1], "1x2": [1, 2], "2x2": [2, 2] };
const TOOLS = [
  { id: "wl", name: "Window/level", key: "w" },
  { id: "pan", name: "Pan", key: "p" },
  { id: "zoom", name: "Zoom", key: "z" },
  { id: "scroll", name: "Scroll", key: "s" },
  { id: "length", name: "Length", key: "l" },
  { id: "angle", name: "Angle", key: "a" },
  { id: "ellipse", name: "Ellipse ROI", key: "e" },
  { id: "probe", name: "HU probe", key: "u" },
  { id: "arrow", name: "Arrow", key: "t" },
];
const POINTS = { length: 2, angle: 3, ellipse: 2, probe: 1, arrow: 2 };
const VIEWPORTS = 4;

export function emptyView() {
  return {
    series: null,
    slice: 0,
    center: 40,
    width: 400,
    preset: null,
    invert: false,
    zoom: 1,
    pan: [0, 0],
    rotation: 0,
    flipH: false,
    flipV: false,
  };
}

const round = (x, digits = 4) => Number(Number(x).toFixed(digits));

export function normaliseView(view) {
  const v = { ...emptyView(), ...(view || {}) };
  return {
    series: v.series || null,
    slice: Math.max(0, Math.trunc(v.slice) || 0),
    center: round(v.center, 2),
    width: Math.max(1, round(v.width, 2)),
    preset: v.preset || null,
    invert: Boolean(v.invert),
    zoom: Math.min(50, Math.max(0.05, round(v.zoom))),
    pan: [round(v.pan?.[0] || 0, 2), round(v.pan?.[1] || 0, 2)],
    rotation: (((Math.round((v.rotation || 0) / 90) * 90) % 360) + 360) % 360,
    flipH: Boolean(v.flipH),
    flipV: Boolean(v.flipV),
  };
}

export function normaliseState(state) {
  const s = state || {};
  const layout = LAYOUTS[s.layout] ? s.layout : "1x1";
  const viewports = [];
  for (let i = 0; i < VIEWPORTS; i += 1) viewports.push(normaliseView(s.viewports?.[i]));
  const active = Math.min(VIEWPORTS - 1, Math.max(0, Math.trunc(s.active) || 0));
  return { layout, active, viewports };
}

export function sameState(a, b) {
  return JSON.stringify(normaliseState(a)) === JSON.stringify(normaliseState(b));
}

export class Viewer {
  constructor(root, config) {
    this.root = root;
    this.config = config; // { caseUrl, series: [...], annotationsUrl, keyImagesUrl, csrf, user }
    this.listeners = new Set();
    this.pointerListeners = new Set();
    this.pointer = null; // someone else's laser pointer: { viewport, x, y } in image pixels
    this.loaders = new Map(); // series uuid -> { loader, manifest, ready: Promise }
    this.annotations = new Map(); // instance uuid -> [annotation]
    this.tool = "wl";
    this.draft = null;
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
    document.removeEventListener("keydown", this.onKey);
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
        this.loadAnnotations(seriesId);
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
    const inst = entry.manifest.instances[0];
    const view = { ...emptyView(), series: seriesId, slice: Math.floor(entry.manifest.slices.length / 2) };
    const preset = inst?.windows?.[0];
    if (preset) Object.assign(view, { center: preset.center, width: preset.width, preset: "file-0" });
    else if (entry.manifest.modality !== "CT") view.preset = "auto";
    this.state.viewports[index] = normaliseView(view);
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
    const card = this.root.querySelector(`[data-series="${seriesId}"] .series-progress`);
    if (card) card.style.width = `${(100 * loaded) / count}%`;
    if (loaded === count) this.root.querySelector(`[data-series="${seriesId}"]`)?.classList.add("loaded");
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
    if (id === "auto") {
      const frame = vp.frame();
      if (frame && frame.header.samples === 1) {
        const w = autoWindow(frame.values, frame.header.slope, frame.header.intercept);
        this.setWindow(w.center, w.width, "auto");
      }
      return;
    }
    if (id.startsWith("file-")) {
      const inst = vp.sliceInfo()?.instance;
      const preset = inst?.windows?.[Number(id.slice(5))];
      if (preset) this.setWindow(preset.center, preset.width, id);
      return;
    }
    const preset = CT_PRESETS.find((p) => p.id === id);
    if (preset) this.setWindow(preset.center, preset.width, id);
  }

  zoomBy(factor) {
    const view = this.state.viewports[this.state.active];
    this.update(this.state.active, { zoom: view.zoom * factor });
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
    const inst = vp.series.manifest.instances[0];
    const preset = inst?.windows?.[0] || { center: 40, width: 400 };
    this.update(this.state.active, {
      zoom: 1, pan: [0, 0], rotation: 0, flipH: false, flipV: false, invert: false,
      center: preset.center, width: preset.width, preset: inst?.windows?.[0] ? "file-0" : null,
    });
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
    this.root.querySelector("[data-action=cine]").setAttribute("aria-pressed", "true");
  }

  stopCine() {
    if (!this.cine) return;
    clearInterval(this.cine);
    this.cine = null;
    this.root.querySelector("[data-action=cine]")?.setAttribute("aria-pressed", "false");
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
    const node = this.root.querySelector("[data-redraw]");
    if (node) node.textContent = `${ms.toFixed(2)} ms`;
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
    return (this.annotations.get(instance) || []).filter((a) => a.frame === frame);
  }

  async loadAnnotations(seriesId) {
    if (!this.config.annotationsUrl) return;
    const response = await fetch(`${this.config.annotationsUrl}?series=${seriesId}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const { annotations } = await response.json();
    for (const ann of annotations) this.storeAnnotation(ann);
    this.requestRender();
  }

  // After someone changed an annotation on an instance: fetch that instance's list again
  // (with this user's rights) and show it.
  async refreshAnnotations(instance) {
    const response = await fetch(`${this.config.annotationsUrl}?instance=${instance}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const { annotations } = await response.json();
    this.annotations.set(instance, annotations);
    this.requestRender();
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

  storeAnnotation(ann) {
    const list = (this.annotations.get(ann.instance) || []).filter((a) => a.id !== ann.id);
    list.push(ann);
    this.annotations.set(ann.instance, list);
  }

  forgetAnnotation(id) {
    for (const [instance, list] of this.annotations) this.annotations.set(instance, list.filter((a) => a.id !== id));
  }

  async request(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": this.config.csrf },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    return { ok: response.ok, status: response.status, data };
  }

  async saveDraft() {
    const draft = this.draft;
    this.draft = null;
    if (!draft || !this.config.annotationsUrl) return this.requestRender();
    if (draft.kind === "arrow") draft.text = window.prompt("Arrow label (optional)", "") || "";
    const answer = await this.request("POST", this.config.annotationsUrl, {
      instance: draft.instance,
      frame: draft.frame,
      kind: draft.kind,
      points: draft.points,
      text: draft.text || "",
    });
    if (answer.ok) this.storeAnnotation(answer.data);
    else this.flash(answer.data?.error || `Not saved (HTTP ${answer.status})`);
    this.requestRender();
  }

  // The handle (a point of one's own annotation) under a canvas point, if any.
  hitHandle(vp, point) {
    const info = vp.sliceInfo();
    if (!info) return null;
    for (const ann of this.annotationsFor(info.instance.uuid, info.slice.frame)) {
      if (!ann.mine) continue;
      for (let index = 0; index < ann.points.length; index += 1) {
        const [x, y] = vp.imageToCanvas(ann.points[index]);
        if (Math.hypot(x - point[0], y - point[1]) <= 7) return { ann, index };
      }
    }
    return null;
  }

  // Save an edited annotation with the version it was edited from; the server refuses a
  // stale version (409) and sends the current one, which then replaces ours.
  async saveEdit(ann, before) {
    const answer = await this.request("PUT", `${this.config.annotationsUrl}${ann.id}/`, {
      points: ann.points,
      text: ann.text || "",
      version: ann.version,
    });
    if (answer.ok) {
      this.storeAnnotation(answer.data);
    } else if (answer.status === 409 && answer.data?.annotation) {
      this.storeAnnotation(answer.data.annotation);
      this.flash("Someone changed this annotation first; showing their version");
    } else {
      ann.points = before;
      this.flash(answer.data?.error || `Not saved (HTTP ${answer.status})`);
    }
    this.requestRender();
  }

  async deleteAnnotation(id) {
    const answer = await this.request("DELETE", `${this.config.annotationsUrl}${id}/`);
    if (answer.ok) this.forgetAnnotation(id);
    else this.flash(`Not deleted (HTTP ${answer.status})`);
    this.requestRender();
  }

  // --- key images --------------------------------------------------------------------------------

  async markKeyImage(caption) {
    const vp = this.activeViewport();
    const info = vp.sliceInfo();
    if (!info || !this.config.keyImagesUrl) return null;
    const text = caption ?? window.prompt("Caption for this key image", "");
    if (text === null) return null;
    const v = vp.view;
    const answer = await this.request("POST", this.config.keyImagesUrl, {
      instance: info.instance.uuid,
      frame: info.slice.frame,
      caption: text,
      state: {
        center: v.center, width: v.width, invert: v.invert, zoom: v.zoom, pan: v.pan,
        rotation: v.rotation, flip_h: v.flipH, flip_v: v.flipV,
      },
    });
    this.flash(answer.ok ? "Key image saved" : `Key image not saved (HTTP ${answer.status})`);
    return answer.data;
  }

  flash(message) {
    const node = this.root.querySelector("[data-flash]");
    node.textContent = message;
    node.hidden = false;
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => { node.hidden = true; }, 2500);
  }

  // --- the page ------------------------------------------------------------------------------------

  build() {
    const root = this.root;
    this.grid = root.querySelector("[data-viewports]");
    this.viewports = [];
    for (let i = 0; i < VIEWPORTS; i += 1) {
      const vp = new Viewport(this.grid, i, this);
      vp.view = this.state.viewports[i];
      this.bindPointer(vp);
      this.viewports.push(vp);
    }
    this.buildBrowser();
    this.buildToolbar();
    this.bindKeys();
  }

  buildBrowser() {
    const list = this.root.querySelector("[data-series-list]");
    for (const series of this.config.series) {
      const item = document.createElement("li");
      item.className = "series-item";
      item.dataset.series = series.uuid;
      item.draggable = true;
      const button = document.createElement("button");
      button.type = "button";
      button.innerHTML = `<img alt="" width="96" height="96" src="${series.thumbnail}"><span></span><span class="series-progress"></span>`;
      button.querySelector("span").textContent = `${series.modality} ${series.description} (${series.count})`;
      button.addEventListener("click", () => this.openSeries(series.uuid));
      item.addEventListener("dragstart", (ev) => ev.dataTransfer.setData("text/x-series", series.uuid));
      item.append(button);
      list.append(item);
    }
    this.viewports.forEach((vp) => {
      vp.root.addEventListener("dragover", (ev) => ev.preventDefault());
      vp.root.addEventListener("drop", (ev) => {
        ev.preventDefault();
        const id = ev.dataTransfer.getData("text/x-series");
        if (id) this.openSeries(id, vp.index);
      });
    });
  }

  buildToolbar() {
    const tools = this.root.querySelector("[data-tools]");
    for (const tool of TOOLS) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.tool = tool.id;
      b.textContent = tool.name;
      b.title = `${tool.name} (${tool.key.toUpperCase()})`;
      b.setAttribute("aria-pressed", String(tool.id === this.tool));
      b.addEventListener("click", () => this.setTool(tool.id));
      tools.append(b);
    }
    const presets = this.root.querySelector("[data-presets]");
    presets.addEventListener("change", () => presets.value && this.applyPreset(presets.value));
    const actions = {
      "layout-1x1": () => this.setLayout("1x1"),
      "layout-1x2": () => this.setLayout("1x2"),
      "layout-2x2": () => this.setLayout("2x2"),
      first: () => this.setSlice(0),
      last: () => this.setSlice(1e9),
      "rotate-left": () => this.rotate(-90),
      "rotate-right": () => this.rotate(90),
      "flip-h": () => this.flip("h"),
      "flip-v": () => this.flip("v"),
      invert: () => this.toggleInvert(),
      fit: () => this.fit(),
      "one-to-one": () => this.oneToOne(),
      reset: () => this.reset(),
      cine: () => (this.cine ? this.stopCine() : this.startCine(Number(this.root.querySelector("[data-fps]").value))),
      key: () => this.markKeyImage(),
      help: () => this.toggleHelp(),
    };
    for (const [name, fn] of Object.entries(actions)) {
      this.root.querySelector(`[data-action="${name}"]`)?.addEventListener("click", fn);
    }
    const slider = this.root.querySelector("[data-slider]");
    slider.addEventListener("input", () => this.setSlice(Number(slider.value)));
    this.buildHelp();
  }

  syncControls() {
    const vp = this.activeViewport();
    const slider = this.root.querySelector("[data-slider]");
    const count = vp.series?.manifest?.slices.length || 1;
    slider.max = String(count - 1);
    slider.value = String(vp.view?.slice || 0);
    slider.disabled = !vp.series;
    const presets = this.root.querySelector("[data-presets]");
    const inst = vp.sliceInfo()?.instance;
    const options = [["", "Presets…"], ...CT_PRESETS.map((p) => [p.id, `${p.name} ${p.center}/${p.width}`])];
    (inst?.windows || []).forEach((w, i) => options.push([`file-${i}`, `File: ${w.name || `preset ${i + 1}`} ${w.center}/${w.width}`]));
    options.push(["auto", "Auto (from the image)"]);
    const signature = options.map((o) => o[0]).join("|");
    if (presets.dataset.signature !== signature) {
      presets.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
      presets.dataset.signature = signature;
    }
    presets.value = vp.view?.preset && options.some((o) => o[0] === vp.view.preset) ? vp.view.preset : "";
    for (const [layout] of Object.entries(LAYOUTS)) {
      this.root.querySelector(`[data-action="layout-${layout}"]`)?.setAttribute("aria-pressed", String(layout === this.state.layout));
    }
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
    this.root.querySelectorAll("[data-tool]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.tool === id)));
    this.root.dataset.tool = id;
    this.requestRender();
  }

  bindPointer(vp) {
    let drag = null;
    vp.root.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0 && ev.button !== 1) return;
      this.setActive(vp.index);
      vp.root.focus({ preventScroll: true });
      const point = [ev.offsetX, ev.offsetY];
      const image = vp.canvasToImage(point);
      const info = vp.sliceInfo();
      const tool = ev.button === 1 || ev.shiftKey ? "pan" : this.tool;
      if (!info) return;
      const hit = ev.button === 0 && !this.draft ? this.hitHandle(vp, point) : null;
      if (hit) {
        // Drag a handle of one's own annotation: the edit is saved when the mouse lets go.
        drag = { edit: hit, before: hit.ann.points.map((p) => [...p]) };
        vp.root.setPointerCapture(ev.pointerId);
        return;
      }
      if (POINTS[tool]) {
        if (!this.draft || this.draft.viewport !== vp.index) {
          this.draft = { viewport: vp.index, kind: tool, instance: info.instance.uuid, frame: info.slice.frame, points: [image], mine: true };
          if (POINTS[tool] === 1) { this.saveDraft(); return; }
          this.draft.points.push(image);
        } else {
          this.draft.points.push(image);
        }
        drag = { tool, draw: true };
      } else {
        drag = { tool, start: point, view: { ...vp.view, pan: [...vp.view.pan] } };
      }
      vp.root.setPointerCapture(ev.pointerId);
    });
    vp.root.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const point = [ev.offsetX, ev.offsetY];
      if (drag.edit) {
        drag.edit.ann.points[drag.edit.index] = vp.canvasToImage(point);
        drag.moved = true;
        this.requestRender();
        return;
      }
      if (drag.draw && this.draft) {
        this.draft.points[this.draft.points.length - 1] = vp.canvasToImage(point);
        this.requestRender();
        return;
      }
      const dx = point[0] - drag.start[0];
      const dy = point[1] - drag.start[1];
      const v = drag.view;
      if (drag.tool === "wl") {
        this.update(vp.index, { width: Math.max(1, v.width + dx * 2), center: v.center + dy * 2, preset: null });
      } else if (drag.tool === "pan") {
        const m = vp.transform;
        const det = m[0] * m[3] - m[1] * m[2];
        const ix = (m[3] * dx - m[2] * dy) / det;
        const iy = (-m[1] * dx + m[0] * dy) / det;
        this.update(vp.index, { pan: [v.pan[0] - ix, v.pan[1] - iy] });
      } else if (drag.tool === "zoom") {
        this.update(vp.index, { zoom: v.zoom * Math.exp(-dy / 150) });
      } else if (drag.tool === "scroll") {
        this.update(vp.index, { slice: v.slice + Math.round(dy / 8) });
      }
    });
    const end = () => {
      if (drag?.edit) {
        if (drag.moved) this.saveEdit(drag.edit.ann, drag.before);
        drag = null;
        return;
      }
      if (drag?.draw && this.draft && this.draft.points.length >= POINTS[this.draft.kind]) this.saveDraft();
      else if (drag?.draw && this.draft) this.draft.points.push([...this.draft.points.at(-1)]);
      drag = null;
    };
    vp.root.addEventListener("pointermove", (ev) => {
      if (!this.pointerListeners.size) return;
      const info = vp.sliceInfo();
      if (!info) return this.pointerMoved(null);
      const [x, y] = vp.canvasToImage([ev.offsetX, ev.offsetY]);
      const inside = x >= 0 && y >= 0 && x <= info.instance.columns && y <= info.instance.rows;
      this.pointerMoved(inside ? { viewport: vp.index, x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10 } : null);
    });
    vp.root.addEventListener("pointerleave", () => this.pointerListeners.size && this.pointerMoved(null));
    vp.root.addEventListener("pointerup", end);
    vp.root.addEventListener("pointercancel", () => { drag = null; });
    vp.root.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      this.setActive(vp.index);
      if (ev.ctrlKey) this.zoomBy(ev.deltaY < 0 ? 1.1 : 1 / 1.1);
      else this.scroll(ev.deltaY > 0 ? 1 : -1, vp.index);
    }, { passive: false });
    vp.root.addEventListener("dblclick", (ev) => {
      const hit = this.hitHandle(vp, [ev.offsetX, ev.offsetY]);
      if (hit?.ann.kind !== "arrow") return;
      const text = window.prompt("Arrow label", hit.ann.text || "");
      if (text !== null) this.saveEdit({ ...hit.ann, text }, hit.ann.points);
    });
    vp.layer.addEventListener("keydown", (ev) => {
      const id = ev.target.closest?.("g.ann")?.dataset.id;
      if (id && (ev.key === "Delete" || ev.key === "Backspace")) this.deleteAnnotation(id);
    });
  }

  bindKeys() {
    const keys = {
      ArrowDown: () => this.scroll(1), ArrowRight: () => this.scroll(1),
      ArrowUp: () => this.scroll(-1), ArrowLeft: () => this.scroll(-1),
      PageDown: () => this.scroll(10), PageUp: () => this.scroll(-10),
      Home: () => this.setSlice(0), End: () => this.setSlice(1e9),
      i: () => this.toggleInvert(), r: () => this.rotate(90), R: () => this.rotate(-90),
      h: () => this.flip("h"), v: () => this.flip("v"), f: () => this.fit(), 0: () => this.oneToOne(),
      x: () => this.reset(), c: () => (this.cine ? this.stopCine() : this.startCine(Number(this.root.querySelector("[data-fps]").value))),
      k: () => this.markKeyImage(), "?": () => this.toggleHelp(), Escape: () => this.closeHelpOrDraft(),
      "+": () => this.zoomBy(1.2), "-": () => this.zoomBy(1 / 1.2),
    };
    for (const tool of TOOLS) keys[tool.key] = () => this.setTool(tool.id);
    for (const preset of CT_PRESETS) keys[preset.key] = () => this.applyPreset(preset.id);
    this.onKey = (ev) => {
      if (ev.target.closest("input, select, textarea") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const fn = keys[ev.key];
      if (fn) {
        ev.preventDefault();
        fn();
      }
    };
    document.addEventListener("keydown", this.onKey);
    this.shortcuts = keys;
  }

  buildHelp() {
    const rows = [
      ...TOOLS.map((t) => [t.key.toUpperCase(), `${t.name} tool`]),
      ...CT_PRESETS.map((p) => [p.key, `${p.name} window (${p.center}/${p.width})`]),
      ["↑ ↓ ← →", "Previous / next slice"], ["Page Up / Down", "10 slices back / on"],
      ["Home / End", "First / last slice"], ["Wheel", "Scroll slices"], ["Ctrl + wheel, + / −", "Zoom"],
      ["Shift + drag, middle drag", "Pan"], ["F", "Fit to window"], ["0", "1:1 pixels"],
      ["R / Shift+R", "Rotate right / left"], ["H / V", "Flip horizontally / vertically"],
      ["I", "Invert"], ["X", "Reset the view"], ["C", "Cine on/off"], ["K", "Mark key image"],
      ["Delete", "Delete the focused annotation (yours)"], ["?", "This help"], ["Esc", "Close / cancel drawing"],
    ];
    const tbody = this.root.querySelector("[data-help] tbody");
    tbody.replaceChildren(...rows.map(([key, what]) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.innerHTML = `<kbd></kbd>`;
      th.firstChild.textContent = key;
      const td = document.createElement("td");
      td.textContent = what;
      tr.append(th, td);
      return tr;
    }));
  }

  toggleHelp() {
    const help = this.root.querySelector("[data-help]");
    help.hidden = !help.hidden;
    if (!help.hidden) help.querySelector("button").focus();
  }

  closeHelpOrDraft() {
    const help = this.root.querySelector("[data-help]");
    if (!help.hidden) help.hidden = true;
    this.draft = null;
    this.requestRender();
  }
}
