// The viewer's state as plain data: a layout, the active viewport and four views (series,
// slice, window, zoom, pan, rotation, flips). Normalised, so that two screens showing the
// same thing hold equal states (the live session compares them), and the window presets.

import { CT_PRESETS, autoWindow } from "./lut.js";

export const LAYOUTS = { "1x1": [1, 1], "1x2": [1, 2], "2x2": [2, 2] };
export const VIEWPORTS = 4;

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

// --- presets ---------------------------------------------------------------------------

// How a series opens: its middle slice, under the file's first window if it has one, else
// the CT default or a window computed from the image ("auto", once the slice arrives).
export function openingView(seriesId, manifest) {
  const view = { ...emptyView(), series: seriesId, slice: Math.floor(manifest.slices.length / 2) };
  const preset = manifest.instances[0]?.windows?.[0];
  if (preset) Object.assign(view, { center: preset.center, width: preset.width, preset: "file-0" });
  else if (manifest.modality !== "CT") view.preset = "auto";
  return normaliseView(view);
}

// The view as it opened, keeping the series and slice (the "reset" button).
export function resetPatch(manifest) {
  const inst = manifest.instances[0];
  const preset = inst?.windows?.[0] || { center: 40, width: 400 };
  return {
    zoom: 1, pan: [0, 0], rotation: 0, flipH: false, flipV: false, invert: false,
    center: preset.center, width: preset.width, preset: inst?.windows?.[0] ? "file-0" : null,
  };
}

// A preset's window for the slice a viewport shows: { center, width, preset }, or null.
// "auto" is computed from the image, "file-N" is the Nth window the file itself names.
export function presetWindow(id, vp) {
  if (id === "auto") {
    const frame = vp.frame();
    if (!frame || frame.header.samples !== 1) return null;
    const w = autoWindow(frame.values, frame.header.slope, frame.header.intercept);
    return { center: w.center, width: w.width, preset: "auto" };
  }
  if (id.startsWith("file-")) {
    const preset = vp.sliceInfo()?.instance?.windows?.[Number(id.slice(5))];
    return preset ? { center: preset.center, width: preset.width, preset: id } : null;
  }
  const preset = CT_PRESETS.find((p) => p.id === id);
  return preset ? { center: preset.center, width: preset.width, preset: id } : null;
}
