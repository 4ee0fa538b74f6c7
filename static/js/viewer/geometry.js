// Where image pixels land on the canvas, and what the patient's axes are. Pure functions.
// A transform is [a, b, c, d, e, f]: canvas = (a*x + c*y + e, b*x + d*y + f), as in Canvas 2D.

export function fitScale(imageW, imageH, canvasW, canvasH, rotation) {
  const turned = rotation % 180 !== 0;
  const w = turned ? imageH : imageW;
  const h = turned ? imageW : imageH;
  return Math.min(canvasW / w, canvasH / h);
}

// The view: zoom is relative to "fit to window"; pan is the image point (in image pixels,
// relative to the image centre) shown at the canvas centre, so views agree across screens.
export function viewTransform(view, imageW, imageH, canvasW, canvasH) {
  const scale = fitScale(imageW, imageH, canvasW, canvasH, view.rotation) * view.zoom;
  const rad = (view.rotation * Math.PI) / 180;
  const cos = Math.round(Math.cos(rad));
  const sin = Math.round(Math.sin(rad));
  const fx = view.flipH ? -1 : 1;
  const fy = view.flipV ? -1 : 1;
  // image -> centred -> flipped -> rotated -> scaled -> canvas centre
  const a = scale * cos * fx;
  const b = scale * sin * fx;
  const c = -scale * sin * fy;
  const d = scale * cos * fy;
  const cx = imageW / 2 + view.pan[0];
  const cy = imageH / 2 + view.pan[1];
  const e = canvasW / 2 - (a * cx + c * cy);
  const f = canvasH / 2 - (b * cx + d * cy);
  return [a, b, c, d, e, f];
}

export function apply(m, [x, y]) {
  return [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]];
}

export function invert(m) {
  const det = m[0] * m[3] - m[1] * m[2];
  const [a, b, c, d, e, f] = m;
  return [d / det, -b / det, -c / det, a / det, (c * f - d * e) / det, (b * e - a * f) / det];
}

// Patient directions (LPS: +x left, +y posterior, +z head) of a direction cosine vector.
export function directionLetters(v, threshold = 0.25) {
  const axes = [
    [Math.abs(v[0]), v[0] > 0 ? "L" : "R"],
    [Math.abs(v[1]), v[1] > 0 ? "P" : "A"],
    [Math.abs(v[2]), v[2] > 0 ? "H" : "F"],
  ].sort((p, q) => q[0] - p[0]);
  return axes.filter(([m]) => m >= threshold).map(([, l]) => l).join("") || "?";
}

const OPPOSITE = { L: "R", R: "L", A: "P", P: "A", H: "F", F: "H", "?": "?" };
const opposite = (letters) => [...letters].map((l) => OPPOSITE[l]).join("");

// The letters at the four canvas edges for ImageOrientationPatient and the view.
export function orientationLabels(iop, view) {
  if (!iop || iop.length !== 6) return null;
  const right = directionLetters(iop.slice(0, 3)); // increasing column
  const bottom = directionLetters(iop.slice(3, 6)); // increasing row
  // Where each image edge ends up on the canvas: follow the edge's outward direction.
  const m = viewTransform({ ...view, pan: [0, 0], zoom: 1 }, 2, 2, 2, 2);
  const dirs = { right: [1, 0], left: [-1, 0], bottom: [0, 1], top: [0, -1] };
  const labels = { right, left: opposite(right), bottom, top: opposite(bottom) };
  const out = {};
  for (const [edge, [dx, dy]] of Object.entries(dirs)) {
    const x = m[0] * dx + m[2] * dy;
    const y = m[1] * dx + m[3] * dy;
    const side = Math.abs(x) > Math.abs(y) ? (x > 0 ? "right" : "left") : y > 0 ? "bottom" : "top";
    out[side] = labels[edge];
  }
  return out;
}

// A scale bar of a round length (mm) about a fifth of the canvas wide.
export function scaleBar(spacingMm, canvasPxPerImagePx, canvasWidth) {
  if (!spacingMm || !canvasPxPerImagePx) return null;
  const mmPerCanvasPx = spacingMm / canvasPxPerImagePx;
  const target = (canvasWidth / 5) * mmPerCanvasPx;
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500];
  const mm = steps.reduce((best, s) => (s <= target ? s : best), steps[0]);
  return { mm, px: mm / mmPerCanvasPx };
}
