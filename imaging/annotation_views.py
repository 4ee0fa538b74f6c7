"""The annotation and key-image API (JSON), and key images as PNG (drawn by imaging.keyimages).

Every URL carries its case and starts with ``get_case_for_user``; the writes go through
``imaging.services``. CSRF applies to the writes: the browser sends ``X-CSRFToken``.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from cases.access import CaseAccess, get_case_for_user
from cases.audit import audit
from cases.reads import audit_series_read
from imaging import services
from imaging.keyimages import MAX_SIZE, RENDER_VERSION, released_annotations, render_key_image
from imaging.models import Annotation, Instance, KeyImage
from imaging.views import REVALIDATE, not_modified


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
    panel = access.sees_panel_annotations
    mine = key_image.author_id == access.user.pk
    return {
        "id": str(key_image.uuid),
        "instance": str(key_image.instance.uuid),
        "series": str(key_image.instance.series.uuid),
        "frame": key_image.frame,
        "caption": key_image.caption,
        "state": key_image.state,
        "annotations": (
            key_image.annotations if panel else released_annotations(key_image.annotations)
        ),
        # The submitter does not learn which panelist chose a released key image.
        "author": _author(key_image.author) if panel or mine else None,
        "released_with_report": key_image.released_with_report,
        "created_at": key_image.created_at.isoformat(),
        "image_url": reverse(
            "key-image-png",
            kwargs={"case_id": access.case.uuid, "key_image_id": key_image.uuid},
        ),
        "mine": key_image.author_id == access.user.pk,
        "can_delete": access.can_delete_key_image(key_image),
    }


# --- annotations --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def annotations(request: HttpRequest, case_id: UUID) -> HttpResponse:
    """GET ?instance=<uuid> or ?series=<uuid> (or neither: the whole case); POST creates one."""
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    if request.method == "POST":
        access.require(access.can_annotate, "annotation.create")
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
    if not access.sees_panel_annotations:
        found = found.filter(author=access.user)
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
    access.require(mine and access.can_annotate, action)
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
        access.require(access.can_annotate, "key_image.create")
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
    found = [
        k
        for k in access.case.key_images.select_related("author", "instance__series")
        if access.can_see_key_image(k)
    ]
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
    if not access.can_see_key_image(key_image):
        # Not released to the submitter: as if it did not exist, but on the record.
        audit(
            actor=access.user,
            action="key_image.view",
            case=access.case,
            target=key_image,
            allowed=False,
        )
        raise Http404
    return key_image


@require_http_methods(["DELETE", "POST"])
def key_image_detail(request: HttpRequest, case_id: UUID, key_image_id: UUID) -> HttpResponse:
    """DELETE answers 204; POST (the case page's form, which cannot send DELETE) redirects."""
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    key_image = _key_image(access, key_image_id)
    access.require(access.can_delete_key_image(key_image), "key_image.delete")
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
    series = key_image.instance.series
    audit_series_read(request=request, case=access.case, series=series, what="key_image")
    labels = access.sees_panel_annotations
    # Two pictures per key image (with and without the panel's labels): two ETags.
    etag = f'"key-{key_image.uuid.hex}-{size}-r{RENDER_VERSION}{"" if labels else "-s"}"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return not_modified(etag)
    response = HttpResponse(
        render_key_image(key_image, size, labels=labels), content_type="image/png"
    )
    response["ETag"] = etag
    response["Cache-Control"] = REVALIDATE
    return response
