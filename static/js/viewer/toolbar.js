// The viewer's controls around the images: the series browser, the toolbar (tools,
// presets, actions, the slice slider), the help with its shortcuts, the flash message and
// the redraw time. The frame is the server's (imaging/_viewer.html); this fills it in and
// keeps it in step with the viewer's state.

import { CT_PRESETS } from "./lut.js";
import { LAYOUTS } from "./state.js";
import { TOOLS } from "./annotations.js";
import { fill } from "../text.js";

export class Toolbar {
  constructor(viewer) {
    this.viewer = viewer;
    this.root = viewer.root;
    this.text = viewer.text;
  }

  build() {
    this.buildBrowser();
    this.buildTools();
    this.buildActions();
    this.buildHelp();
    this.buildDrawers();
  }

  // On a narrow screen (viewer.css) the series strip and the tools are drawers: each button
  // opens or closes its own, and the images take the space that is left.
  buildDrawers() {
    const viewer = this.viewer;
    const open = new Set();
    this.root.querySelectorAll("[data-drawer]").forEach((button) => {
      button.addEventListener("click", () => {
        const name = button.dataset.drawer;
        if (open.has(name)) open.delete(name);
        else open.add(name);
        button.setAttribute("aria-expanded", String(open.has(name)));
        this.root.dataset.open = [...open].join(" ");
        viewer.onResize();
      });
    });
  }

  buildBrowser() {
    const viewer = this.viewer;
    const list = this.root.querySelector("[data-series-list]");
    for (const series of viewer.config.series) {
      const item = document.createElement("li");
      item.className = "series-item";
      item.dataset.series = series.uuid;
      item.draggable = true;
      const button = document.createElement("button");
      button.type = "button";
      button.innerHTML = `<img alt="" width="96" height="96" src="${series.thumbnail}"><span></span><span class="series-progress"></span>`;
      button.querySelector("span").textContent = `${series.modality} ${series.description} (${series.count})`;
      if (series.date) {
        const when = document.createElement("small");
        when.className = "series-date";
        when.textContent = series.date;
        button.querySelector("span").append(document.createElement("br"), when);
      }
      button.addEventListener("click", () => viewer.openSeries(series.uuid));
      item.addEventListener("dragstart", (ev) => ev.dataTransfer.setData("text/x-series", series.uuid));
      item.append(button);
      list.append(item);
    }
    viewer.viewports.forEach((vp) => {
      vp.root.addEventListener("dragover", (ev) => ev.preventDefault());
      vp.root.addEventListener("drop", (ev) => {
        ev.preventDefault();
        const id = ev.dataTransfer.getData("text/x-series");
        if (id) viewer.openSeries(id, vp.index);
      });
    });
  }

  buildTools() {
    const tools = this.root.querySelector("[data-tools]");
    for (const tool of TOOLS) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.tool = tool.id;
      const name = this.text.tools[tool.id];
      b.textContent = name;
      b.title = fill(this.text.toolTitle, { name, key: tool.key.toUpperCase() });
      b.setAttribute("aria-pressed", String(tool.id === this.viewer.tool));
      b.addEventListener("click", () => this.viewer.setTool(tool.id));
      tools.append(b);
    }
  }

  buildActions() {
    const viewer = this.viewer;
    const presets = this.root.querySelector("[data-presets]");
    presets.addEventListener("change", () => presets.value && viewer.applyPreset(presets.value));
    const actions = {
      "layout-1x1": () => viewer.setLayout("1x1"),
      "layout-1x2": () => viewer.setLayout("1x2"),
      "layout-2x2": () => viewer.setLayout("2x2"),
      first: () => viewer.setSlice(0),
      last: () => viewer.setSlice(1e9),
      "rotate-left": () => viewer.rotate(-90),
      "rotate-right": () => viewer.rotate(90),
      "flip-h": () => viewer.flip("h"),
      "flip-v": () => viewer.flip("v"),
      invert: () => viewer.toggleInvert(),
      fit: () => viewer.fit(),
      "zoom-in": () => viewer.zoomBy(1.2),
      "zoom-out": () => viewer.zoomBy(1 / 1.2),
      "one-to-one": () => viewer.oneToOne(),
      reset: () => viewer.reset(),
      cine: () => viewer.toggleCine(),
      key: () => viewer.markKeyImage(),
      help: () => this.toggleHelp(),
    };
    for (const [name, fn] of Object.entries(actions)) {
      this.root.querySelector(`[data-action="${name}"]`)?.addEventListener("click", fn);
    }
    const slider = this.root.querySelector("[data-slider]");
    slider.addEventListener("input", () => viewer.setSlice(Number(slider.value)));
  }

  buildHelp() {
    const t = this.text;
    const rows = [
      ...TOOLS.map((tool) => [tool.key.toUpperCase(), fill(t.toolHelp, { name: t.tools[tool.id] })]),
      ...CT_PRESETS.map((p) => [p.key, fill(t.presetHelp, { ...p, name: t.presets[p.id] })]),
      ...t.help,
    ];
    // No inline handler in the markup: the Content-Security-Policy refuses those.
    this.root.querySelector("[data-help-close]").addEventListener("click", () => this.closeHelp());
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

  // The slider, the preset menu and the layout buttons, as the state has them.
  sync() {
    const viewer = this.viewer;
    const vp = viewer.activeViewport();
    const slider = this.root.querySelector("[data-slider]");
    const count = vp.series?.manifest?.slices.length || 1;
    slider.max = String(count - 1);
    slider.value = String(vp.view?.slice || 0);
    slider.disabled = !vp.series;
    // The slider counts from 0, a person from 1: say what the overlay says (WCAG 4.1.2).
    slider.setAttribute("aria-valuetext", fill(this.text.sliceOf, { slice: (vp.view?.slice || 0) + 1, count }));
    const presets = this.root.querySelector("[data-presets]");
    const inst = vp.sliceInfo()?.instance;
    const t = this.text;
    const options = [["", t.presetMenu], ...CT_PRESETS.map((p) => [p.id, `${t.presets[p.id]} ${p.center}/${p.width}`])];
    (inst?.windows || []).forEach((w, i) => {
      const name = w.name || fill(t.filePresetName, { n: i + 1 });
      options.push([`file-${i}`, fill(t.filePreset, { name, center: w.center, width: w.width })]);
    });
    options.push(["auto", t.autoPreset]);
    const signature = options.map((o) => o[0]).join("|");
    if (presets.dataset.signature !== signature) {
      presets.replaceChildren(...options.map(([value, label]) => new Option(label, value)));
      presets.dataset.signature = signature;
    }
    presets.value = vp.view?.preset && options.some((o) => o[0] === vp.view.preset) ? vp.view.preset : "";
    for (const [layout] of Object.entries(LAYOUTS)) {
      this.root.querySelector(`[data-action="layout-${layout}"]`)?.setAttribute("aria-pressed", String(layout === viewer.state.layout));
    }
  }

  showTool(id) {
    this.root.querySelectorAll("[data-tool]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.tool === id)));
    this.root.dataset.tool = id;
  }

  showCine(on) {
    this.root.querySelector("[data-action=cine]")?.setAttribute("aria-pressed", String(on));
  }

  fps() {
    return Number(this.root.querySelector("[data-fps]").value);
  }

  // A series' loading bar in the browser.
  showProgress(seriesId, loaded, count) {
    const card = this.root.querySelector(`[data-series="${seriesId}"] .series-progress`);
    if (card) card.style.width = `${(100 * loaded) / count}%`;
    if (loaded === count) this.root.querySelector(`[data-series="${seriesId}"]`)?.classList.add("loaded");
  }

  showRedraw(ms) {
    const node = this.root.querySelector("[data-redraw]");
    if (node) node.textContent = `${ms.toFixed(2)} ms`;
  }

  flash(message) {
    const node = this.root.querySelector("[data-flash]");
    node.textContent = message;
    node.hidden = false;
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => { node.hidden = true; }, 2500);
  }

  helpOpen() {
    return !this.root.querySelector("[data-help]").hidden;
  }

  // A modal dialog: focus moves in, Tab cycles inside, Esc or Close gives focus back to
  // whatever opened it (the ? button, or the image where "?" was pressed).
  toggleHelp() {
    if (this.helpOpen()) return this.closeHelp();
    const help = this.root.querySelector("[data-help]");
    this.helpReturn = document.activeElement;
    help.hidden = false;
    if (!this.helpTrap) {
      this.helpTrap = (ev) => {
        if (ev.key !== "Tab") return;
        const focusable = [...help.querySelectorAll("button, [href], [tabindex='0']")];
        const first = focusable[0];
        const last = focusable[focusable.length - 1];
        if (ev.shiftKey && document.activeElement === first) {
          ev.preventDefault();
          last.focus();
        } else if (!ev.shiftKey && document.activeElement === last) {
          ev.preventDefault();
          first.focus();
        }
      };
      help.addEventListener("keydown", this.helpTrap);
    }
    help.querySelector("[data-help-box]").focus();
  }

  closeHelp() {
    const help = this.root.querySelector("[data-help]");
    if (help.hidden) return;
    help.hidden = true;
    const back = this.helpReturn && this.helpReturn.isConnected ? this.helpReturn : this.root.querySelector("[data-action=help]");
    back?.focus();
    this.helpReturn = null;
  }
}
