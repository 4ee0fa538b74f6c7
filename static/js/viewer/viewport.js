// One viewport: a canvas showing one slice of one series under a view (W/L, zoom, pan,
// rotation, flips), with text overlays, orientation markers, a scale bar and annotations.

import { applyLut, applyRgb, buildLut } from "./lut.js";
import { apply, fitScale, invert, orientationLabels, scaleBar, viewTransform } from "./geometry.js";
import { angleDeg, ellipseStats, lengthMm, probe } from "./measure.js";
import { fill } from "../text.js";

const SVG = "http://www.w3.org/2000/svg";

function el(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.append(node);
  return node;
}

function svg(tag, attrs, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.append(node);
  return node;
}

export class Viewport {
  constructor(root, index, viewer) {
    this.viewer = viewer;
    this.index = index;
    this.root = el("div", "vp", root);
    this.root.dataset.index = index;
    // The image is what takes focus (Tab reaches it) and what a screen reader names: a
    // role=img whose label says what is shown, kept current by draw(). The annotation layer
    // is a sibling, so one's own annotations can be focusable (a focusable child of an img
    // is hidden from assistive technology).
    this.canvas = el("canvas", "vp-image", this.root);
    this.canvas.setAttribute("role", "img");
    this.canvas.tabIndex = 0;
    this.canvas.dataset.pane = "";
    this.layer = svg("svg", { class: "vp-annotations", role: "group", "aria-label": viewer.text.annotations || "" }, this.root);
    this.label = "";
    this.topLeft = el("div", "vp-text vp-tl", this.root);
    this.topRight = el("div", "vp-text vp-tr", this.root);
    this.bottomLeft = el("div", "vp-text vp-bl", this.root);
    this.bottomRight = el("div", "vp-text vp-br", this.root);
    this.marks = {};
    for (const side of ["top", "bottom", "left", "right"]) {
      this.marks[side] = el("div", `vp-orient vp-orient-${side}`, this.root);
    }
    this.bar = el("div", "vp-scalebar", this.root);
    // The overlays repeat, for the eye, what the pane's label says.
    for (const node of [this.topLeft, this.topRight, this.bottomLeft, this.bottomRight, this.bar, ...Object.values(this.marks)]) {
      node.setAttribute("aria-hidden", "true");
    }
    this.warning = el("div", "vp-warning", this.root);
    this.warning.hidden = true;
    this.progress = el("div", "vp-progress", this.root);
    this.pointerDot = el("div", "vp-pointer", this.root);
    this.pointerDot.hidden = true;
    this.image = document.createElement("canvas"); // the slice at native size, windowed
    this.imageKey = null;
    this.lutKey = null;
    this.lut = null;
    this.series = null; // { loader, manifest }
    this.view = null;
    this.transform = [1, 0, 0, 1, 0, 0];
    this.lastDrawMs = 0;
    this.resize();
  }

  resize() {
    const rect = this.root.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    this.cssWidth = Math.max(1, rect.width);
    this.cssHeight = Math.max(1, rect.height);
    this.canvas.width = Math.round(this.cssWidth * ratio);
    this.canvas.height = Math.round(this.cssHeight * ratio);
    this.layer.setAttribute("viewBox", `0 0 ${this.cssWidth} ${this.cssHeight}`);
  }

  sliceInfo() {
    if (!this.series || !this.view) return null;
    const { manifest } = this.series;
    const slice = manifest.slices[this.view.slice];
    if (!slice) return null;
    return { slice, instance: manifest.instances[slice.instance] };
  }

  frame() {
    if (!this.series || !this.view) return null;
    return this.series.loader.frames[this.view.slice];
  }

  imageToCanvas(point) {
    return apply(this.transform, point);
  }

  canvasToImage(point) {
    return apply(invert(this.transform), point);
  }

  // Draw the current slice; returns the time it took in ms.
  draw() {
    const started = performance.now();
    const ctx = this.canvas.getContext("2d");
    const ratio = this.canvas.width / this.cssWidth;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const info = this.sliceInfo();
    const frame = this.frame();
    if (!info) {
      this.clearOverlays(this.series ? "" : this.viewer.text.dropSeries);
      return 0;
    }
    const { header } = frame || { header: info.instance };
    const width = header.columns;
    const height = header.rows;
    this.transform = viewTransform(this.view, width, height, this.cssWidth, this.cssHeight);
    if (frame) {
      this.paintImage(frame);
      const m = this.transform;
      ctx.setTransform(m[0] * ratio, m[1] * ratio, m[2] * ratio, m[3] * ratio, m[4] * ratio, m[5] * ratio);
      ctx.imageSmoothingEnabled = this.view.zoom * fitScale(width, height, this.cssWidth, this.cssHeight, this.view.rotation) < 3;
      ctx.drawImage(this.image, 0, 0);
    } else {
      this.series.loader.prioritise(this.view.slice);
    }
    this.drawOverlays(info, frame);
    this.drawAnnotations(info, frame);
    this.placePointer();
    this.lastDrawMs = performance.now() - started;
    return this.lastDrawMs;
  }

  paintImage(frame) {
    const v = this.view;
    const key = `${this.view.slice}|${v.center}|${v.width}|${v.invert}`;
    if (this.imageKey === key && this.imageFrame === frame) return;
    const { header, values } = frame;
    if (this.image.width !== header.columns || this.image.height !== header.rows) {
      this.image.width = header.columns;
      this.image.height = header.rows;
      this.imageData = null;
    }
    const ictx = this.image.getContext("2d");
    if (!this.imageData) this.imageData = ictx.createImageData(header.columns, header.rows);
    const invertGrey = v.invert !== (header.photometric === "MONOCHROME1");
    if (header.samples === 3) {
      applyRgb(values, v.invert, this.imageData.data);
    } else {
      const lutKey = `${header.min}|${header.max}|${header.slope}|${header.intercept}|${v.center}|${v.width}|${invertGrey}`;
      if (lutKey !== this.lutKey) {
        this.lut = buildLut({ ...header, center: v.center, width: v.width, invert: invertGrey });
        this.lutKey = lutKey;
      }
      applyLut(values, this.lut, header.min, this.imageData.data);
    }
    ictx.putImageData(this.imageData, 0, 0);
    this.imageKey = key;
    this.imageFrame = frame;
  }

  // The presenter's laser pointer (viewer.pointer), where its image point is now shown.
  placePointer() {
    const p = this.viewer.pointer;
    const show = Boolean(p && p.viewport === this.index && this.sliceInfo());
    this.pointerDot.hidden = !show;
    if (!show) return;
    const [x, y] = this.imageToCanvas([p.x, p.y]);
    this.pointerDot.style.transform = `translate(${x}px, ${y}px)`;
  }

  setLabel(text) {
    if (text === this.label) return;
    this.label = text;
    this.canvas.setAttribute("aria-label", text);
  }

  clearOverlays(message) {
    this.setLabel(fill(this.viewer.text.paneEmpty || "%(n)s", { n: this.index + 1 }));
    for (const node of [this.topLeft, this.topRight, this.bottomLeft, this.bottomRight, this.bar]) node.textContent = "";
    for (const node of Object.values(this.marks)) node.textContent = "";
    this.warning.hidden = true;
    this.pointerDot.hidden = true;
    this.layer.replaceChildren();
    this.bottomLeft.textContent = message;
  }

  drawOverlays(info, frame) {
    const { manifest } = this.series;
    const v = this.view;
    const inst = info.instance;
    this.topLeft.replaceChildren(
      line(manifest.pseudonym),
      line(manifest.study_description || ""),
      line(manifest.study_date_label || ""),
      line(`${manifest.modality} ${manifest.description || ""}`.trim()),
    );
    const t = this.viewer.text;
    const position = inst.slice_position != null ? `${inst.slice_position.toFixed(1)} mm` : "";
    const frameText = inst.frames > 1 ? ` · ${fill(t.frame, { frame: info.slice.frame + 1, frames: inst.frames })}` : "";
    this.topRight.replaceChildren(
      line(`${fill(t.slice, { slice: v.slice + 1, count: manifest.slices.length })}${frameText}`),
      line(position ? fill(t.location, { position }) : ""),
    );
    const scale = fitScale(inst.columns, inst.rows, this.cssWidth, this.cssHeight, v.rotation) * v.zoom;
    this.bottomRight.replaceChildren(
      line(`${fill(t.window, { width: Math.round(v.width), center: Math.round(v.center) })}${v.invert ? ` · ${t.inverted}` : ""}`),
      line(fill(t.zoomLevel, { percent: `${(scale * 100).toFixed(0)}%` })),
    );
    this.bottomLeft.textContent = frame ? "" : t.loading;
    const series = manifest.series_number != null ? fill(t.paneSeries, { number: manifest.series_number }) : manifest.description || "";
    const label = [
      fill(t.pane, {
        modality: manifest.modality,
        series,
        slice: v.slice + 1,
        count: manifest.slices.length,
        width: Math.round(v.width),
        center: Math.round(v.center),
      }),
      v.invert ? t.paneInverted : "",
      fill(t.paneZoom, { percent: `${(scale * 100).toFixed(0)}%` }),
      frame ? "" : t.loading,
    ];
    this.setLabel(label.filter(Boolean).join(", "));
    const labels = orientationLabels(inst.orientation, v);
    for (const [side, node] of Object.entries(this.marks)) node.textContent = labels ? labels[side] : "";
    const bar = inst.spacing ? scaleBar(inst.spacing[1], scale, this.cssWidth) : null;
    if (bar) {
      this.bar.style.width = `${bar.px}px`;
      this.bar.replaceChildren(Object.assign(document.createElement("span"), { textContent: `${bar.mm} mm` }));
      this.bar.hidden = false;
    } else {
      this.bar.hidden = true;
    }
    this.warning.hidden = !(manifest.burned_in_risk || inst.burned_in);
    this.warning.textContent = t.burnedIn;
    const loader = this.series.loader;
    this.progress.style.width = `${(100 * loader.loaded) / Math.max(1, loader.count)}%`;
    this.progress.hidden = loader.loaded === loader.count;
  }

  // Annotations on this slice, plus the one being drawn (viewer.draft).
  drawAnnotations(info, frame) {
    this.layer.replaceChildren();
    const inst = info.instance;
    const items = this.viewer.annotationsFor(inst.uuid, info.slice.frame);
    const draft = this.viewer.draft && this.viewer.draft.viewport === this.index ? [this.viewer.draft] : [];
    for (const ann of [...items, ...draft]) this.drawAnnotation(ann, inst, frame);
    const cursor = this.viewer.placing;
    if (cursor && cursor.viewport === this.index) {
      // Where Enter places the next point (keyboard measuring).
      const [x, y] = this.imageToCanvas(cursor.point);
      svg("path", { class: "vp-cursor", d: `M${x - 10},${y}H${x - 3}M${x + 3},${y}H${x + 10}M${x},${y - 10}V${y - 3}M${x},${y + 3}V${y + 10}`, "aria-hidden": "true" }, this.layer);
    }
  }

  drawAnnotation(ann, inst, frame) {
    const g = svg("g", { class: `ann ann-${ann.kind}${ann.mine ? " mine" : ""}`, "data-id": ann.id || "draft" }, this.layer);
    const pts = ann.points.map((p) => this.imageToCanvas(p));
    const spacing = inst.spacing;
    const label = (text, [x, y]) => {
      const t = svg("text", { x: x + 6, y: y - 6 }, g);
      t.textContent = text;
    };
    if (ann.kind === "length" && pts.length === 2) {
      svg("line", { x1: pts[0][0], y1: pts[0][1], x2: pts[1][0], y2: pts[1][1] }, g);
      const mm = lengthMm(ann.points[0], ann.points[1], spacing);
      label(spacing ? `${mm.toFixed(1)} mm` : `${mm.toFixed(1)} px`, pts[1]);
    } else if (ann.kind === "angle" && pts.length >= 2) {
      svg("polyline", { points: pts.map((p) => p.join(",")).join(" "), fill: "none" }, g);
      if (pts.length === 3) label(`${angleDeg(ann.points[0], ann.points[1], ann.points[2], spacing).toFixed(1)}°`, pts[1]);
    } else if (ann.kind === "ellipse" && pts.length === 2) {
      const [p0, p1] = ann.points;
      const cx = (p0[0] + p1[0]) / 2;
      const cy = (p0[1] + p1[1]) / 2;
      const rx = Math.abs(p1[0] - p0[0]) / 2;
      const ry = Math.abs(p1[1] - p0[1]) / 2;
      const outline = [];
      for (let i = 0; i < 64; i += 1) {
        const t = (i / 64) * 2 * Math.PI;
        outline.push(this.imageToCanvas([cx + rx * Math.cos(t), cy + ry * Math.sin(t)]).join(","));
      }
      svg("polygon", { points: outline.join(" "), fill: "none" }, g);
      if (frame && frame.header.samples === 1) {
        const h = frame.header;
        const stats = ellipseStats(frame.values, h.columns, h.rows, p0, p1, h.slope, h.intercept, spacing);
        if (stats) {
          const unit = this.series.manifest.modality === "CT" ? " HU" : "";
          const area = spacing ? `${(stats.areaMm2 / 100).toFixed(2)} cm²` : `${stats.pixels} px`;
          const text = svg("text", { x: Math.max(...pts.map((p) => p[0])) + 6, y: Math.min(...pts.map((p) => p[1])) }, g);
          const t = this.viewer.text;
          const rows = [
            fill(t.mean, { value: `${stats.mean.toFixed(1)}${unit}` }),
            fill(t.sd, { value: stats.sd.toFixed(1) }),
            fill(t.minMax, { min: stats.min.toFixed(0), max: stats.max.toFixed(0) }),
            fill(t.area, { value: area }),
          ];
          rows.forEach((r, i) => {
            const span = svg("tspan", { x: text.getAttribute("x"), dy: i ? "1.2em" : "0" }, text);
            span.textContent = r;
          });
          g.dataset.mean = stats.mean.toFixed(2);
          g.dataset.sd = stats.sd.toFixed(2);
        }
      }
    } else if (ann.kind === "probe" && pts.length === 1) {
      const [x, y] = pts[0];
      svg("path", { d: `M${x - 6},${y}H${x + 6}M${x},${y - 6}V${y + 6}` }, g);
      if (frame && frame.header.samples === 1) {
        const h = frame.header;
        const value = probe(frame.values, h.columns, h.rows, ann.points[0], h.slope, h.intercept);
        if (value != null) label(`${value.toFixed(0)}${this.series.manifest.modality === "CT" ? " HU" : ""}`, pts[0]);
      }
    } else if (ann.kind === "arrow" && pts.length === 2) {
      const [[x0, y0], [x1, y1]] = pts;
      svg("line", { x1: x0, y1: y0, x2: x1, y2: y1 }, g);
      const angle = Math.atan2(y1 - y0, x1 - x0);
      const head = [angle + 2.7, angle - 2.7].map((a) => `${x1 + 12 * Math.cos(a)},${y1 + 12 * Math.sin(a)}`);
      svg("polygon", { points: `${x1},${y1} ${head.join(" ")}`, class: "head" }, g);
      if (ann.text) label(ann.text, pts[0]);
    }
    if (ann.mine && ann.id) {
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      const t = this.viewer.text;
      const kind = t.tools?.[ann.kind] || ann.kind;
      const value = g.querySelector("text")?.textContent || "";
      g.setAttribute("aria-label", fill(t.yourAnnotation || "%(kind)s %(value)s", { kind, value }));
    }
  }
}

function line(text) {
  const div = document.createElement("div");
  div.textContent = text;
  return div;
}
