"""The annotation and key-image API (JSON), and key images drawn as PNG.

Every URL carries its case and starts with ``get_case_for_user``; the writes go through
``imaging.services``. CSRF applies to the writes: the browser sends ``X-CSRFToken``.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
)
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from PIL import Image, ImageDraw, ImageFont, ImageOps

from cases.access import CaseAccess, get_case_for_user
from cases.audit import audit
from imaging import measure, pixels, services
from imaging.models import Annotation, Instance, KeyImage

IMMUTABLE = "private, max-age=31536000, immutable"
# Bump when the drawing changes: key image pictures are cached as immutable.
RENDER_VERSION = 1
MAX_SIZE = 2048


class BadRequest(Exception):
    pass


def _error(message: str, status: int = 400, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(_("The body must be JSON.")) from exc
    if not isinstance(data, dict):
        raise BadRequest(_("The body must be a JSON object."))
    return data


def _uuid(value: Any, name: str) -> UUID:
    try:
        return UUID(str(value))
    except ValueError as exc:
        raise BadRequest(_("%(name)s must be an id.") % {"name": name}) from exc


def _instance_in(access: CaseAccess, value: Any) -> Instance:
    if value is None:
        raise BadRequest(_("instance is missing."))
    instance = Instance.objects.filter(
        series__study__case=access.case, uuid=_uuid(value, "instance")
    ).first()
    if instance is None:
        raise BadRequest(_("instance is not an image of this case."))
    return instance


def _author(user) -> dict[str, str]:
    return {"name": user.display_name, "specialty": str(user.get_specialty_display())}


def annotation_json(annotation: Annotation, user) -> dict[str, Any]:
    return {
        "id": str(annotation.uuid),
        "instance": str(annotation.instance.uuid),
        "frame": annotation.frame,
        "kind": annotation.kind,
        "points": annotation.points,
        "text": annotation.text,
        "version": annotation.version,
        "author": _author(annotation.author),
        "mine": annotation.author_id == user.pk,
        "created_at": annotation.created_at.isoformat(),
        "updated_at": annotation.updated_at.isoformat(),
    }


def key_image_json(key_image: KeyImage, access: CaseAccess) -> dict[str, Any]:
    return {
        "id": str(key_image.uuid),
        "instance": str(key_image.instance.uuid),
        "series": str(key_image.instance.series.uuid),
        "frame": key_image.frame,
        "caption": key_image.caption,
        "state": key_image.state,
        "annotations": key_image.annotations,
        "author": _author(key_image.author),
        "created_at": key_image.created_at.isoformat(),
        "image_url": reverse(
            "key-image-png",
            kwargs={"case_id": access.case.uuid, "key_image_id": key_image.uuid},
        ),
        "mine": key_image.author_id == access.user.pk,
        "can_delete": services.can_delete_key_image(access, key_image),
    }


# --- annotations --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def annotations(request: HttpRequest, case_id: UUID) -> HttpResponse:
    """GET ?instance=<uuid> or ?series=<uuid> (or neither: the whole case); POST creates one."""
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    if request.method == "POST":
        access.require(services.can_annotate(access), "annotation.create")
        try:
            data = _body(request)
            annotation = services.annotation_create(
                access=access,
                instance=_instance_in(access, data.get("instance")),
                frame=data.get("frame", 0),
                kind=data.get("kind"),
                points=data.get("points"),
                text=data.get("text", ""),
            )
        except BadRequest as exc:
            return _error(str(exc))
        except ValidationError as exc:
            return _error(" ".join(exc.messages))
        return JsonResponse(annotation_json(annotation, request.user), status=201)

    found = Annotation.objects.filter(case=access.case, deleted_at__isnull=True).select_related(
        "author", "instance"
    )
    scope: dict[str, str] = {}
    try:
        if "instance" in request.GET:
            scope["instance"] = str(_uuid(request.GET["instance"], "instance"))
            found = found.filter(instance__uuid=scope["instance"])
        elif "series" in request.GET:
            scope["series"] = str(_uuid(request.GET["series"], "series"))
            found = found.filter(instance__series__uuid=scope["series"])
    except BadRequest as exc:
        return _error(str(exc))
    audit(actor=request.user, action="annotation.list", case=access.case, detail=scope)
    return JsonResponse({"annotations": [annotation_json(a, request.user) for a in found]})


@require_http_methods(["PUT", "DELETE"])
def annotation_detail(request: HttpRequest, case_id: UUID, annotation_id: UUID) -> HttpResponse:
    """PUT {points, text?, version} replaces the points of that version; DELETE removes it."""
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    annotation = (
        Annotation.objects.select_related("author", "instance")
        .filter(case=access.case, uuid=annotation_id, deleted_at__isnull=True)
        .first()
    )
    if annotation is None:
        raise Http404
    action = "annotation.update" if request.method == "PUT" else "annotation.delete"
    mine = annotation.author_id == request.user.pk
    access.require(mine and services.can_annotate(access), action)
    try:
        if request.method == "DELETE":
            services.annotation_delete(access=access, annotation=annotation)
            return HttpResponse(status=204)
        data = _body(request)
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise BadRequest(_("version must be the version you edited (a whole number ≥ 1)."))
        if "points" not in data:
            raise BadRequest(_("points is missing."))
        updated = services.annotation_update(
            access=access,
            annotation=annotation,
            points=data["points"],
            text=data.get("text"),
            version=version,
        )
    except Annotation.DoesNotExist as exc:
        raise Http404 from exc  # deleted by its author in another tab meanwhile
    except services.StaleVersion as exc:
        current = exc.current
        current.author = annotation.author
        return _error(
            _("Someone changed this annotation first (now version %(v)d).")
            % {"v": current.version},
            status=409,
            annotation=annotation_json(current, request.user),
        )
    except BadRequest as exc:
        return _error(str(exc))
    except ValidationError as exc:
        return _error(" ".join(exc.messages))
    return JsonResponse(annotation_json(updated, request.user))


# --- key images ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def key_images(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    if request.method == "POST":
        access.require(services.can_annotate(access), "key_image.create")
        try:
            data = _body(request)
            key_image = services.key_image_create(
                access=access,
                instance=_instance_in(access, data.get("instance")),
                frame=data.get("frame", 0),
                state=data.get("state", {}),
                caption=data.get("caption", ""),
            )
        except BadRequest as exc:
            return _error(str(exc))
        except ValidationError as exc:
            return _error(" ".join(exc.messages))
        key_image = KeyImage.objects.select_related("author", "instance__series").get(
            pk=key_image.pk
        )
        return JsonResponse(key_image_json(key_image, access), status=201)
    found = access.case.key_images.select_related("author", "instance__series")
    audit(actor=request.user, action="key_image.list", case=access.case)
    return JsonResponse({"key_images": [key_image_json(k, access) for k in found]})


def _key_image(access: CaseAccess, key_image_id: UUID) -> KeyImage:
    key_image = (
        KeyImage.objects.select_related("author", "instance__series")
        .filter(case=access.case, uuid=key_image_id)
        .first()
    )
    if key_image is None:
        raise Http404
    return key_image


@require_http_methods(["DELETE", "POST"])
def key_image_detail(request: HttpRequest, case_id: UUID, key_image_id: UUID) -> HttpResponse:
    """DELETE answers 204; POST (the case page's form, which cannot send DELETE) redirects."""
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    key_image = _key_image(access, key_image_id)
    access.require(services.can_delete_key_image(access, key_image), "key_image.delete")
    services.key_image_delete(access=access, key_image=key_image)
    if request.method == "POST":
        case_url = reverse("case-detail", kwargs={"case_id": access.case.uuid})
        return redirect(f"{case_url}#key-images")
    return HttpResponse(status=204)


@require_GET
def key_image_png(request: HttpRequest, case_id: UUID, key_image_id: UUID) -> HttpResponse:
    """The frame with the key image's window, orientation and annotations; ?size= is the
    longest side in pixels (default: the image's own, at most 2048)."""
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    key_image = _key_image(access, key_image_id)
    size = None
    if "size" in request.GET:
        try:
            size = int(request.GET["size"])
        except ValueError:
            size = 0
        if not 16 <= size <= MAX_SIZE:
            return _error(_("size must be a whole number from 16 to %(max)d.") % {"max": MAX_SIZE})
    etag = f'"key-{key_image.uuid.hex}-{size}-r{RENDER_VERSION}"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return HttpResponseNotModified()
    response = HttpResponse(render_key_image(key_image, size), content_type="image/png")
    response["ETag"] = etag
    response["Cache-Control"] = IMMUTABLE
    return response


# --- the key image picture ----------------------------------------------------------------

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


def render_key_image(key_image: KeyImage, size: int | None) -> bytes:
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
        _Drawing(image, view, instance, values).draw_all(key_image.annotations)
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
