// Window/level: stored values -> 8-bit grey, as DICOM PS3.3 C.11.2.1.2 defines it.
// Pure functions; the page and the Python tests call them alike.

// The CT window presets; their names are the server's (config.text.presets, by id).
export const CT_PRESETS = [
  { id: "soft", center: 40, width: 400, key: "1" },
  { id: "lung", center: -600, width: 1500, key: "2" },
  { id: "bone", center: 400, width: 1800, key: "3" },
  { id: "brain", center: 40, width: 80, key: "4" },
  { id: "liver", center: 60, width: 160, key: "5" },
  { id: "mediastinum", center: 50, width: 350, key: "6" },
];

// The grey level (0-255) of one modality value (HU for CT) under a window.
export function windowValue(value, center, width) {
  const w = Math.max(width, 1);
  const low = center - 0.5 - (w - 1) / 2;
  const high = center - 0.5 + (w - 1) / 2;
  if (value <= low) return 0;
  if (value > high) return 255;
  return Math.round(((value - (center - 0.5)) / (w - 1) + 0.5) * 255);
}

// A lookup table from stored value (offset by `min`) to grey, for a whole frame at once.
// Building it costs one pass over the value range; applying it one pass over the pixels.
export function buildLut({ min, max, slope, intercept, center, width, invert }) {
  const size = Math.max(1, max - min + 1);
  const lut = new Uint8ClampedArray(size);
  for (let i = 0; i < size; i += 1) {
    const grey = windowValue((min + i) * slope + intercept, center, width);
    lut[i] = invert ? 255 - grey : grey;
  }
  return lut;
}

// Fill RGBA `out` from grey stored values through `lut` (indices offset by `min`).
export function applyLut(values, lut, min, out) {
  const last = lut.length - 1;
  for (let i = 0, j = 0; i < values.length; i += 1, j += 4) {
    let k = values[i] - min;
    if (k < 0) k = 0;
    else if (k > last) k = last;
    const g = lut[k];
    out[j] = g;
    out[j + 1] = g;
    out[j + 2] = g;
    out[j + 3] = 255;
  }
  return out;
}

// Colour images (US, SC) are shown as stored; invert still applies.
export function applyRgb(values, invert, out) {
  for (let i = 0, j = 0; i < values.length; i += 3, j += 4) {
    out[j] = invert ? 255 - values[i] : values[i];
    out[j + 1] = invert ? 255 - values[i + 1] : values[i + 1];
    out[j + 2] = invert ? 255 - values[i + 2] : values[i + 2];
    out[j + 3] = 255;
  }
  return out;
}

// A window that shows the bulk of a frame: the 1st to 99th percentile of modality values.
// Used for MR, whose values have no fixed meaning, and for files without presets.
export function autoWindow(values, slope, intercept) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i += 1) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  if (!Number.isFinite(lo)) return { center: 0, width: 1 };
  const bins = Math.min(4096, hi - lo + 1);
  const hist = new Uint32Array(bins);
  const scale = (bins - 1) / Math.max(1, hi - lo);
  for (let i = 0; i < values.length; i += 1) hist[Math.round((values[i] - lo) * scale)] += 1;
  const quantile = (q) => {
    let target = q * values.length;
    for (let b = 0; b < bins; b += 1) {
      target -= hist[b];
      if (target <= 0) return lo + b / scale;
    }
    return hi;
  };
  const a = quantile(0.01) * slope + intercept;
  const b = quantile(0.99) * slope + intercept;
  return { center: (a + b) / 2, width: Math.max(1, b - a) };
}
