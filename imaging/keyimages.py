"""A key image as the board chose it: the frame with its window, orientation and annotations,
drawn as PNG. The key-image URL (imaging.annotation_views) and the signed report
(decisions.report_data) both draw it here, so the PDF shows exactly what the case page shows.
"""

from __future__ import annotations

import io
import math
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from imaging import measure, pixels, services
from imaging.models import Instance, KeyImage

# Bump when the drawing changes: key image pictures are cached as immutable.
RENDER_VERSION = 1
MAX_SIZE = 2048
COLOUR = (255, 214, 0)
OUTLINE = (0, 0, 0)


class _View:
    """Where image points land in the picture: flip first, then turn clockwise, then scale.

    That is the order in which the viewer applies ``flip_h``/``flip_v`` and ``rotation``.
    Pixel centres are at integer coordinates before and after (see ``imaging.measure``).
    """

    def __init__(self, instance: Instance, state: dict[str, Any], size: int | None):
        self.columns, self.rows = instance.columns, instance.rows
        self.flip_h, self.flip_v = bool(state.get("flip_h")), bool(state.get("flip_v"))
        self.rotation = int(state.get("rotation") or 0) % 360
        turned = (
            (self.rows, self.columns)
            if self.rotation in (90, 270)
            else (
                self.columns,
                self.rows,
            )
        )
        longest = max(turned)
        target = min(size or longest, MAX_SIZE)
        self.width = max(1, round(turned[0] * target / longest))
        self.height = max(1, round(turned[1] * target / longest))
        self.sx, self.sy = self.width / turned[0], self.height / turned[1]
        self.scale = target / longest

    def image(self, image: Image.Image) -> Image.Image:
        if self.flip_h:
            image = ImageOps.mirror(image)
        if self.flip_v:
            image = ImageOps.flip(image)
        if self.rotation:
            turn = {
                90: Image.Transpose.ROTATE_270,  # PIL turns counter-clockwise
                180: Image.Transpose.ROTATE_180,
                270: Image.Transpose.ROTATE_90,
            }
            image = image.transpose(turn[self.rotation])
        if image.size != (self.width, self.height):
            smaller = self.width < image.size[0]
            resample = Image.Resampling.LANCZOS if smaller else Image.Resampling.BILINEAR
            image = image.resize((self.width, self.height), resample)
        return image

    def point(self, p: list[float]) -> tuple[float, float]:
        x, y = p
        if self.flip_h:
            x = self.columns - 1 - x
        if self.flip_v:
            y = self.rows - 1 - y
        if self.rotation == 90:
            x, y = self.rows - 1 - y, x
        elif self.rotation == 180:
            x, y = self.columns - 1 - x, self.rows - 1 - y
        elif self.rotation == 270:
            x, y = y, self.columns - 1 - x
        return (x + 0.5) * self.sx - 0.5, (y + 0.5) * self.sy - 0.5


def released_annotations(annotations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The annotations of a key image as the submitter sees them: the shapes and what they
    measure, without the panel's words (labels) or who drew them."""
    return [{"kind": item.get("kind"), "points": item.get("points")} for item in annotations]


def render_key_image(key_image: KeyImage, size: int | None, *, labels: bool = True) -> bytes:
    """The key image as PNG; ``labels=False`` leaves out the annotations' text (the
    submitter's pictures: see ``released_annotations``)."""
    instance = key_image.instance
    state = key_image.state
    stored = pixels.frame(instance, key_image.frame)
    array = pixels.windowed(instance, stored, center=state.get("center"), width=state.get("width"))
    if state.get("invert"):
        array = 255 - array
    view = _View(instance, state, size)
    image = view.image(Image.fromarray(array).convert("RGB"))
    if key_image.annotations:
        if instance.is_rgb:
            values = stored
        else:
            values = measure.modality_values(
                stored, instance.rescale_slope, instance.rescale_intercept
            )
        items = key_image.annotations if labels else released_annotations(key_image.annotations)
        _Drawing(image, view, instance, values).draw_all(items)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


class _Drawing:
    def __init__(self, image: Image.Image, view: _View, instance: Instance, values):
        self.image, self.view, self.instance, self.values = image, view, instance, values
        self.draw = ImageDraw.Draw(image)
        longest = max(image.size)
        self.line = max(1, round(longest / 400))
        self.font = ImageFont.load_default(size=max(10, round(longest / 45)))
        self.spacing = instance.pixel_spacing
        self.unit = " HU" if instance.series.modality == "CT" else ""

    def draw_all(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            method = getattr(self, f"_{item.get('kind')}", None)
            points = item.get("points") or []
            if method is not None and len(points) == services.POINTS.get(item["kind"]):
                method(points, item.get("text", ""))

    def _segment(self, a: tuple[float, float], b: tuple[float, float]) -> None:
        self.draw.line([a, b], fill=COLOUR, width=self.line)

    def _label(self, at: tuple[float, float], lines: list[str]) -> None:
        text = "\n".join(line for line in lines if line)
        if not text:
            return
        left, top, right, bottom = self.draw.multiline_textbbox((0, 0), text, font=self.font)
        x = min(max(at[0] + 4, 0), self.image.width - (right - left))
        y = min(max(at[1] + 4, 0), self.image.height - (bottom - top))
        self.draw.multiline_text(
            (x, y), text, fill=COLOUR, font=self.font, stroke_width=1, stroke_fill=OUTLINE
        )

    def _length(self, points, text: str) -> None:
        a, b = (self.view.point(p) for p in points)
        self._segment(a, b)
        if self.spacing:
            measured = f"{measure.length_mm(points[0], points[1], self.spacing):.1f} mm"
        else:
            measured = f"{measure.length_mm(points[0], points[1], (1, 1)):.1f} px"
        self._label(b, [measured, text])

    def _angle(self, points, text: str) -> None:
        a, vertex, b = (self.view.point(p) for p in points)
        self._segment(vertex, a)
        self._segment(vertex, b)
        degrees = measure.angle_deg(points[0], points[1], points[2], self.spacing)
        self._label(vertex, [f"{degrees:.1f}°", text])

    def _ellipse(self, points, text: str) -> None:
        a, b = (self.view.point(p) for p in points)
        box = [min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])]
        self.draw.ellipse(box, outline=COLOUR, width=self.line)
        lines = []
        if not self.instance.is_rgb:
            stats = measure.ellipse_stats(self.values, points[0], points[1], self.spacing)
            if stats["pixels"]:
                lines.append(f"{stats['mean']:.1f} ± {stats['sd']:.1f}{self.unit}")
            if stats["area_mm2"] is not None:
                # "mm2": the bundled font has no superscript two.
                lines.append(f"{stats['area_mm2']:.1f} mm2")
        self._label((box[2], box[3]), [*lines, text])

    def _probe(self, points, text: str) -> None:
        x, y = self.view.point(points[0])
        arm = max(4, 4 * self.line)
        self._segment((x - arm, y), (x + arm, y))
        self._segment((x, y - arm), (x, y + arm))
        value = measure.probe(self.values, points[0][0], points[0][1])
        if isinstance(value, list):
            reading = " ".join(str(v) for v in value)
        else:
            reading = "" if value is None else f"{value:.0f}{self.unit}"
        self._label((x, y), [reading, text])

    def _arrow(self, points, text: str) -> None:
        tail, head = (self.view.point(p) for p in points)
        self._segment(tail, head)
        direction = math.atan2(head[1] - tail[1], head[0] - tail[0])
        barb = max(6, 5 * self.line)
        wings = [
            (
                head[0] - barb * math.cos(direction + turn),
                head[1] - barb * math.sin(direction + turn),
            )
            for turn in (math.radians(25), -math.radians(25))
        ]
        self.draw.polygon([head, *wings], fill=COLOUR)
        self._label(tail, [text])
