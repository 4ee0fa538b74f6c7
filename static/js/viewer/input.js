// What the mouse, the wheel, touch (as pointer events) and the keyboard do in the viewer.
// Each handler turns a gesture into one of the viewer's own calls (update, setTool, ...).

import { CT_PRESETS } from "./lut.js";
import { POINTS, TOOLS } from "./annotations.js";

// Dragging on one viewport: a tool (window/level, pan, zoom, scroll), drawing an annotation,
// or moving a handle of one's own annotation; the laser pointer; the wheel; double-click.
export function bindPointer(viewer, vp) {
  let drag = null;
  vp.root.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0 && ev.button !== 1) return;
    viewer.setActive(vp.index);
    viewer.placing = null;
    vp.canvas.focus({ preventScroll: true });
    const point = [ev.offsetX, ev.offsetY];
    const image = vp.canvasToImage(point);
    const info = vp.sliceInfo();
    const tool = ev.button === 1 || ev.shiftKey ? "pan" : viewer.tool;
    if (!info) return;
    const hit = ev.button === 0 && !viewer.draft ? viewer.annotations.handleAt(vp, point) : null;
    if (hit) {
      // Drag a handle of one's own annotation: the edit is saved when the mouse lets go.
      drag = { edit: hit, before: hit.ann.points.map((p) => [...p]) };
      vp.root.setPointerCapture(ev.pointerId);
      return;
    }
    if (POINTS[tool]) {
      // A draft's last point is the loose one, following the mouse: a press pins it where
      // it is (never adds one more: the angle tool used to send four points for three).
      if (!viewer.draft || viewer.draft.viewport !== vp.index) {
        viewer.draft = { viewport: vp.index, kind: tool, instance: info.instance.uuid, frame: info.slice.frame, points: [image], mine: true };
        if (POINTS[tool] === 1) { viewer.saveDraft(); return; }
        viewer.draft.points.push(image);
      } else {
        viewer.draft.points[viewer.draft.points.length - 1] = image;
      }
      drag = { tool, draw: true };
    } else {
      drag = { tool, start: point, view: { ...vp.view, pan: [...vp.view.pan] } };
    }
    vp.root.setPointerCapture(ev.pointerId);
  });
  vp.root.addEventListener("pointermove", (ev) => {
    const point = [ev.offsetX, ev.offsetY];
    if (!drag) {
      // Between the clicks of a drawing, the loose point follows the mouse.
      if (viewer.draft?.viewport === vp.index) {
        viewer.draft.points[viewer.draft.points.length - 1] = vp.canvasToImage(point);
        viewer.requestRender();
      }
      return;
    }
    if (drag.edit) {
      drag.edit.ann.points[drag.edit.index] = vp.canvasToImage(point);
      drag.moved = true;
      viewer.requestRender();
      return;
    }
    if (drag.draw && viewer.draft) {
      viewer.draft.points[viewer.draft.points.length - 1] = vp.canvasToImage(point);
      viewer.requestRender();
      return;
    }
    const dx = point[0] - drag.start[0];
    const dy = point[1] - drag.start[1];
    const v = drag.view;
    if (drag.tool === "wl") {
      viewer.update(vp.index, { width: Math.max(1, v.width + dx * 2), center: v.center + dy * 2, preset: null });
    } else if (drag.tool === "pan") {
      const m = vp.transform;
      const det = m[0] * m[3] - m[1] * m[2];
      const ix = (m[3] * dx - m[2] * dy) / det;
      const iy = (-m[1] * dx + m[0] * dy) / det;
      viewer.update(vp.index, { pan: [v.pan[0] - ix, v.pan[1] - iy] });
    } else if (drag.tool === "zoom") {
      viewer.update(vp.index, { zoom: v.zoom * Math.exp(-dy / 150) });
    } else if (drag.tool === "scroll") {
      viewer.update(vp.index, { slice: v.slice + Math.round(dy / 8) });
    }
  });
  const end = () => {
    if (drag?.edit) {
      if (drag.moved) viewer.annotations.save(drag.edit.ann, drag.before);
      drag = null;
      return;
    }
    const draft = drag?.draw ? viewer.draft : null;
    drag = null;
    if (!draft) return;
    // Press-drag-release places two points, a click (no move) one: after a click the loose
    // point stays loose for the next click. When the points are all placed, save.
    const [before, last] = draft.points.slice(-2);
    const moved = before[0] !== last[0] || before[1] !== last[1];
    if (!moved) return;
    if (draft.points.length >= POINTS[draft.kind]) viewer.saveDraft();
    else draft.points.push([...last]);
  };
  vp.root.addEventListener("pointermove", (ev) => {
    if (!viewer.pointerListeners.size) return;
    const info = vp.sliceInfo();
    if (!info) return viewer.pointerMoved(null);
    const [x, y] = vp.canvasToImage([ev.offsetX, ev.offsetY]);
    const inside = x >= 0 && y >= 0 && x <= info.instance.columns && y <= info.instance.rows;
    viewer.pointerMoved(inside ? { viewport: vp.index, x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10 } : null);
  });
  vp.root.addEventListener("pointerleave", () => viewer.pointerListeners.size && viewer.pointerMoved(null));
  vp.root.addEventListener("pointerup", end);
  vp.root.addEventListener("pointercancel", () => { drag = null; });
  vp.root.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    viewer.setActive(vp.index);
    if (ev.ctrlKey) viewer.zoomBy(ev.deltaY < 0 ? 1.1 : 1 / 1.1);
    else viewer.scroll(ev.deltaY > 0 ? 1 : -1, vp.index);
  }, { passive: false });
  vp.root.addEventListener("dblclick", (ev) => {
    const hit = viewer.annotations.handleAt(vp, [ev.offsetX, ev.offsetY]);
    if (hit?.ann.kind !== "arrow") return;
    const text = window.prompt(viewer.text.arrowLabel, hit.ann.text || "");
    if (text !== null) viewer.annotations.save({ ...hit.ann, text }, hit.ann.points);
  });
  vp.layer.addEventListener("keydown", (ev) => {
    const id = ev.target.closest?.("g.ann")?.dataset.id;
    if (id && (ev.key === "Delete" || ev.key === "Backspace")) {
      ev.preventDefault();
      viewer.annotations.remove(id);
      vp.canvas.focus({ preventScroll: true });
    }
  });
  // Tabbing into a pane makes it the active one, as a click does.
  vp.canvas.addEventListener("focus", () => viewer.setActive(vp.index));
  vp.canvas.addEventListener("blur", () => {
    if (viewer.placing?.viewport === vp.index) viewer.cancelPlacing();
  });
}

const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

// The keyboard shortcuts (listed by the help, toolbar.js and imaging/views.py). They listen on
// the viewer's own element and act only when focus is inside it: single-key shortcuts on the
// whole document turned a chair's typing elsewhere on the live page into rotations and cine on
// every follower's screen (issue #19; WCAG 2.1.4). Returns the handler, for destroy().
export function bindKeys(viewer) {
  const keys = {
    ArrowDown: () => viewer.scroll(1), ArrowRight: () => viewer.scroll(1),
    ArrowUp: () => viewer.scroll(-1), ArrowLeft: () => viewer.scroll(-1),
    PageDown: () => viewer.scroll(10), PageUp: () => viewer.scroll(-10),
    Home: () => viewer.setSlice(0), End: () => viewer.setSlice(1e9),
    i: () => viewer.toggleInvert(), r: () => viewer.rotate(90), R: () => viewer.rotate(-90),
    h: () => viewer.flip("h"), v: () => viewer.flip("v"), f: () => viewer.fit(), 0: () => viewer.oneToOne(),
    x: () => viewer.reset(), c: () => viewer.toggleCine(),
    k: () => viewer.markKeyImage(), "?": () => viewer.toolbar.toggleHelp(), Escape: () => viewer.closeHelpOrDraft(),
    "+": () => viewer.zoomBy(1.2), "-": () => viewer.zoomBy(1 / 1.2),
  };
  for (const tool of TOOLS) keys[tool.key] = () => viewer.setTool(tool.id);
  for (const preset of CT_PRESETS) keys[preset.key] = () => viewer.applyPreset(preset.id);
  const onKey = (ev) => {
    if (!(ev.target instanceof Element) || !viewer.root.contains(ev.target)) return;
    if (viewer.toolbar.helpOpen()) {
      // A modal dialog: Esc closes it, Tab stays inside (toolbar.js), nothing else acts.
      if (ev.key === "Escape") {
        ev.preventDefault();
        viewer.toolbar.closeHelp();
      }
      return;
    }
    if (ev.target.closest("input, select, textarea") || ev.metaKey || ev.altKey) return;
    const pane = ev.target.closest("[data-pane]");
    const arrow = ARROWS[ev.key];
    if (pane && viewer.placing && (arrow || ev.key === "Enter" || ev.key === " " || ev.key === "Escape")) {
      ev.preventDefault();
      if (arrow) viewer.movePlacing(arrow[0] * (ev.shiftKey ? 20 : 2), arrow[1] * (ev.shiftKey ? 20 : 2));
      else if (ev.key === "Escape") viewer.cancelPlacing();
      else viewer.placePoint();
      return;
    }
    if (pane && (ev.key === "Enter" || ev.key === " ") && POINTS[viewer.tool]) {
      ev.preventDefault();
      viewer.startPlacing();
      return;
    }
    if (arrow && ev.ctrlKey) {
      // Pan: the image moves with the arrow, a tenth of the pane at a time.
      ev.preventDefault();
      viewer.panBy(arrow[0] * 0.1, arrow[1] * 0.1);
      return;
    }
    if (arrow && ev.shiftKey) {
      // Window: ← → narrower / wider, ↑ ↓ a higher / lower level.
      ev.preventDefault();
      viewer.windowBy(arrow[0], -arrow[1]);
      return;
    }
    if (ev.ctrlKey) return;
    // Keys that buttons and links use for themselves stay theirs.
    if ((ev.key === "Enter" || ev.key === " ") && !pane) return;
    const fn = keys[ev.key];
    if (fn) {
      ev.preventDefault();
      fn();
    }
  };
  viewer.root.addEventListener("keydown", onKey);
  return onKey;
}
