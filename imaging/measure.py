"""Measurement maths shared by the server (key images) and the browser viewer.

The viewer implements the same functions in JavaScript and a test compares the two,
so the conventions here are a contract; change them in both places or not at all.

Conventions
-----------
- Points are ``(x, y)`` in image pixel coordinates: ``x`` is the column, ``y`` the row.
  The *centre* of the pixel in column ``c`` and row ``r`` is at ``(c, r)``: integer
  coordinates are pixel centres, and the image spans ``-0.5 .. columns - 0.5``.
- ``spacing`` is DICOM PixelSpacing order: ``(row_spacing, column_spacing)`` in mm, i.e.
  the distance between rows (along y) first, then between columns (along x).
- All arithmetic is IEEE double (float64 in numpy, Number in JavaScript).

Functions
---------
- ``length_mm(p0, p1, spacing)``: ``hypot((x1 - x0) * column_spacing, (y1 - y0) * row_spacing)``.
- ``angle_deg(a, vertex, b)``: the angle at ``vertex`` between the arms to ``a`` and ``b``,
  in degrees, 0 to 180, from ``atan2(|cross|, dot)`` of the two arm vectors. With
  ``spacing`` the arms are scaled to mm first (it matters only for non-square pixels).
  0 when an arm has zero length.
- ``ellipse_stats(values, p0, p1, spacing)``: the ellipse inscribed in the axis-aligned box
  with opposite corners ``p0`` and ``p1``: centre ``cx = (x0 + x1) / 2``, ``cy = (y0 + y1) / 2``,
  radii ``rx = |x1 - x0| / 2``, ``ry = |y1 - y0| / 2``. A pixel belongs to it when its centre
  ``(c, r)`` lies inside the image and ``dx * dx + dy * dy <= 1`` with ``dx = (c - cx) / rx``,
  ``dy = (r - cy) / ry``. A degenerate ellipse (``rx`` or ``ry`` is 0) holds no pixels.
  ``mean``; ``sd`` is the population standard deviation (ddof = 0, divide by n); ``min``,
  ``max``; ``pixels`` is the count; ``area_mm2 = pixels * row_spacing * column_spacing``
  (``None`` without spacing). With no pixels inside, mean/sd/min/max are ``None``.
- ``probe(values, x, y)``: the value of the pixel whose centre is nearest, i.e. column
  ``floor(x + 0.5)`` and row ``floor(y + 0.5)`` (JavaScript ``Math.floor(x + 0.5)``; not
  Python's ``round``, which rounds halves to even). ``None`` outside the image.

``values`` are modality values (for CT, Hounsfield units): stored values times the rescale
slope plus the intercept, see ``modality_values``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

Point = Sequence[float]
Spacing = Sequence[float] | None


def modality_values(stored: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """Stored pixel values to modality values (HU for CT), as float64."""
    return stored.astype(np.float64) * slope + intercept


def length_mm(p0: Point, p1: Point, spacing: Sequence[float]) -> float:
    row_spacing, column_spacing = float(spacing[0]), float(spacing[1])
    return math.hypot((p1[0] - p0[0]) * column_spacing, (p1[1] - p0[1]) * row_spacing)


def angle_deg(a: Point, vertex: Point, b: Point, spacing: Spacing = None) -> float:
    row_spacing, column_spacing = (1.0, 1.0) if spacing is None else map(float, spacing)
    ux, uy = (a[0] - vertex[0]) * column_spacing, (a[1] - vertex[1]) * row_spacing
    vx, vy = (b[0] - vertex[0]) * column_spacing, (b[1] - vertex[1]) * row_spacing
    if (ux == 0 and uy == 0) or (vx == 0 and vy == 0):
        return 0.0
    return math.degrees(math.atan2(abs(ux * vy - uy * vx), ux * vx + uy * vy))


def ellipse_mask(shape: tuple[int, ...], p0: Point, p1: Point) -> tuple[slice, slice, np.ndarray]:
    """The pixels inside the ellipse, as a boolean mask over a (row, column) window."""
    rows, columns = shape[0], shape[1]
    cx, cy = (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2
    rx, ry = abs(p1[0] - p0[0]) / 2, abs(p1[1] - p0[1]) / 2
    empty = (slice(0, 0), slice(0, 0), np.zeros((0, 0), dtype=bool))
    if rx == 0 or ry == 0:
        return empty
    # Only the bounding box can hold pixels inside; clip it to the image.
    c0, c1 = max(math.ceil(cx - rx), 0), min(math.floor(cx + rx), columns - 1)
    r0, r1 = max(math.ceil(cy - ry), 0), min(math.floor(cy + ry), rows - 1)
    if c0 > c1 or r0 > r1:
        return empty
    dx = (np.arange(c0, c1 + 1, dtype=np.float64) - cx) / rx
    dy = (np.arange(r0, r1 + 1, dtype=np.float64) - cy) / ry
    inside = dy[:, None] * dy[:, None] + dx[None, :] * dx[None, :] <= 1.0
    return slice(r0, r1 + 1), slice(c0, c1 + 1), inside


def ellipse_stats(
    values: np.ndarray, p0: Point, p1: Point, spacing: Spacing = None
) -> dict[str, Any]:
    row_slice, column_slice, inside = ellipse_mask(values.shape, p0, p1)
    picked = np.asarray(values[row_slice, column_slice], dtype=np.float64)[inside]
    count = int(picked.size)
    area = None
    if spacing is not None:
        area = count * float(spacing[0]) * float(spacing[1])
    if count == 0:
        return {"mean": None, "sd": None, "min": None, "max": None, "area_mm2": area, "pixels": 0}
    return {
        "mean": float(picked.mean()),
        "sd": float(picked.std(ddof=0)),
        "min": float(picked.min()),
        "max": float(picked.max()),
        "area_mm2": area,
        "pixels": count,
    }


def probe(values: np.ndarray, x: float, y: float) -> float | list[int] | None:
    column, row = math.floor(x + 0.5), math.floor(y + 0.5)
    if not (0 <= row < values.shape[0] and 0 <= column < values.shape[1]):
        return None
    value = values[row, column]
    if np.ndim(value):  # a colour pixel
        return [int(v) for v in value]
    return float(value)
