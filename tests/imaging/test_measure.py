"""The measurement maths the key images draw and the browser viewer repeats."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imaging import measure

SQUARE = (0.7, 0.7)


@pytest.mark.parametrize(
    ("p0", "p1", "spacing", "expected"),
    [
        ((0, 0), (10, 0), SQUARE, 7.0),  # along a row: column spacing
        ((0, 0), (0, 10), SQUARE, 7.0),
        ((2, 3), (5, 7), SQUARE, 3.5),  # a 3-4-5 triangle
        ((5, 7), (2, 3), SQUARE, 3.5),  # direction does not matter
        ((0, 0), (10, 0), (0.5, 2.0), 20.0),  # (row, column): x runs over columns
        ((0, 0), (0, 10), (0.5, 2.0), 5.0),
        ((1.5, 1.5), (1.5, 1.5), SQUARE, 0.0),
    ],
)
def test_length_mm(p0, p1, spacing, expected):
    assert measure.length_mm(p0, p1, spacing) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("a", "vertex", "b", "expected"),
    [
        ((10, 0), (0, 0), (0, 10), 90.0),
        ((0, 10), (0, 0), (10, 0), 90.0),  # the order of the arms does not matter
        ((10, 0), (0, 0), (10, 10), 45.0),
        ((10, 0), (0, 0), (-10, 0), 180.0),
        ((10, 0), (0, 0), (20, 0), 0.0),
        ((5, 5), (5, 5), (10, 0), 0.0),  # a zero-length arm
        ((4, 2), (1, 2), (1, 8), 90.0),  # away from the origin
        ((1, 0), (0, 0), (-0.5, math.sqrt(3) / 2), 120.0),
    ],
)
def test_angle_deg(a, vertex, b, expected):
    assert measure.angle_deg(a, vertex, b) == pytest.approx(expected)


def test_angle_uses_millimetres_when_pixels_are_not_square():
    # In pixels 45°; with rows twice as far apart as columns the y arm is twice as long.
    assert measure.angle_deg((10, 0), (0, 0), (10, 10)) == pytest.approx(45.0)
    expected = math.degrees(math.atan2(20, 10))
    assert measure.angle_deg((10, 0), (0, 0), (10, 10), (2.0, 1.0)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("p0", "p1"),
    [
        ((20, 30), (80, 70)),
        ((80, 70), (20, 30)),
        ((10.5, 10.5), (89.5, 49.5)),
        ((30, 20), (70, 80)),
    ],
)
def test_ellipse_on_a_constant_image(p0, p1):
    values = np.full((100, 100), 40.0)
    stats = measure.ellipse_stats(values, p0, p1, SQUARE)
    assert stats["mean"] == 40.0
    assert stats["sd"] == 0.0
    assert stats["min"] == stats["max"] == 40.0
    rx, ry = abs(p1[0] - p0[0]) / 2, abs(p1[1] - p0[1]) / 2
    expected = math.pi * rx * ry * SQUARE[0] * SQUARE[1]
    assert stats["area_mm2"] == pytest.approx(expected, rel=0.03)
    assert stats["area_mm2"] == pytest.approx(stats["pixels"] * 0.49)


def test_ellipse_counts_pixel_centres_inside_inclusive():
    # Centre (2, 2), radii 1: the centre and its four neighbours lie inside (on the edge).
    stats = measure.ellipse_stats(np.arange(25.0).reshape(5, 5), (1, 1), (3, 3))
    assert stats["pixels"] == 5
    assert stats["mean"] == pytest.approx((7 + 11 + 12 + 13 + 17) / 5)
    assert stats["min"] == 7.0 and stats["max"] == 17.0
    assert stats["area_mm2"] is None  # no spacing, no area


def test_ellipse_sd_is_the_population_sd():
    values = np.zeros((10, 10))
    values[:, 5:] = 10.0
    stats = measure.ellipse_stats(values, (0, 0), (9, 9))
    picked = values[measure.ellipse_mask(values.shape, (0, 0), (9, 9))[2]]
    assert stats["sd"] == pytest.approx(np.std(picked, ddof=0))
    assert stats["sd"] != pytest.approx(np.std(picked, ddof=1))


def test_ellipse_ignores_what_lies_outside_the_image():
    values = np.full((10, 10), 5.0)
    inside = measure.ellipse_stats(values, (2, 2), (8, 8))["pixels"]
    clipped = measure.ellipse_stats(values, (-4, 2), (2, 8))["pixels"]
    assert clipped < inside
    assert measure.ellipse_stats(values, (20, 20), (30, 30))["pixels"] == 0


@pytest.mark.parametrize(("p0", "p1"), [((2, 2), (2, 8)), ((2, 5), (8, 5))])
def test_a_flat_ellipse_holds_nothing(p0, p1):
    stats = measure.ellipse_stats(np.ones((10, 10)), p0, p1, SQUARE)
    assert stats["pixels"] == 0 and stats["mean"] is None and stats["area_mm2"] == 0.0


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (0, 0, 0.0),
        (3, 1, 13.0),  # x is the column, y the row
        (2.49, 0.51, 12.0),
        (2.5, 0.5, 13.0),  # halves go up (floor(x + 0.5)), never to even
        (1.5, 1.5, 22.0),
        (-0.5, 0, 0.0),  # the left half of the first pixel
        (-0.51, 0, None),
        (9.6, 0, None),
    ],
)
def test_probe(x, y, expected):
    values = np.arange(100.0).reshape(10, 10)
    assert measure.probe(values, x, y) == expected


def test_probe_on_colour_gives_the_triple():
    values = np.zeros((2, 2, 3), dtype=np.uint8)
    values[1, 0] = (10, 20, 30)
    assert measure.probe(values, 0, 1) == [10, 20, 30]


def test_modality_values_apply_slope_and_intercept():
    stored = np.array([[0, 1024, 1064]], dtype=np.uint16)
    assert measure.modality_values(stored, 1.0, -1024.0).tolist() == [[-1024.0, 0.0, 40.0]]
    assert measure.modality_values(stored, 2.0, 0.0).tolist() == [[0.0, 2048.0, 2128.0]]
