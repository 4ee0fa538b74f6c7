// Measurements in image pixel coordinates (x = column, y = row; a pixel's centre sits at
// integer coordinates). The same conventions as imaging/measure.py, tested against it.

export function lengthMm([x0, y0], [x1, y1], spacing) {
  const [rowMm, colMm] = spacing || [1, 1];
  return Math.hypot((x1 - x0) * colMm, (y1 - y0) * rowMm);
}

export function angleDeg(a, vertex, b, spacing) {
  const [rowMm, colMm] = spacing || [1, 1];
  const ux = (a[0] - vertex[0]) * colMm;
  const uy = (a[1] - vertex[1]) * rowMm;
  const vx = (b[0] - vertex[0]) * colMm;
  const vy = (b[1] - vertex[1]) * rowMm;
  const cos = (ux * vx + uy * vy) / (Math.hypot(ux, uy) * Math.hypot(vx, vy));
  return (Math.acos(Math.min(1, Math.max(-1, cos))) * 180) / Math.PI;
}

// Statistics of modality values (HU) over the pixels whose centres fall inside the ellipse
// bounded by corners p0 and p1. SD is the population SD; area = pixels x pixel area.
export function ellipseStats(values, width, height, p0, p1, slope, intercept, spacing) {
  const cx = (p0[0] + p1[0]) / 2;
  const cy = (p0[1] + p1[1]) / 2;
  const rx = Math.abs(p1[0] - p0[0]) / 2;
  const ry = Math.abs(p1[1] - p0[1]) / 2;
  if (rx <= 0 || ry <= 0) return null;
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  let min = Infinity;
  let max = -Infinity;
  const x0 = Math.max(0, Math.ceil(cx - rx));
  const x1 = Math.min(width - 1, Math.floor(cx + rx));
  const y0 = Math.max(0, Math.ceil(cy - ry));
  const y1 = Math.min(height - 1, Math.floor(cy + ry));
  for (let y = y0; y <= y1; y += 1) {
    for (let x = x0; x <= x1; x += 1) {
      const dx = (x - cx) / rx;
      const dy = (y - cy) / ry;
      if (dx * dx + dy * dy > 1) continue;
      const v = values[y * width + x] * slope + intercept;
      n += 1;
      sum += v;
      sumSq += v * v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!n) return null;
  const mean = sum / n;
  const [rowMm, colMm] = spacing || [1, 1];
  return {
    mean,
    sd: Math.sqrt(Math.max(0, sumSq / n - mean * mean)),
    min,
    max,
    pixels: n,
    areaMm2: n * rowMm * colMm,
  };
}

export function probe(values, width, height, [x, y], slope, intercept) {
  const col = Math.round(x);
  const row = Math.round(y);
  if (col < 0 || row < 0 || col >= width || row >= height) return null;
  return values[row * width + col] * slope + intercept;
}
