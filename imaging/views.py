"""Imaging pages and the pixel API. Every URL carries its case; the case's rules apply."""

from __future__ import annotations

import hashlib
import json
import tempfile
from urllib.parse import unquote
from uuid import UUID

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases.access import CaseAccess, get_case_for_user
from cases.audit import audit
from cases.consumers import case_socket_path
from cases.reads import audit_series_read
from imaging import pixels
from imaging.dates import shown_dates
from imaging.ingest import ingest_many
from imaging.models import Instance, Series
from imaging.multipart import CappedReader, MultipartError, boundary_valid, read_parts
from imaging.thumbnails import ordered_instances, refresh_thumbnail, thumbnail_is_current

# Kept by the browser but asked for again each time: the view checks access before it
# answers 304, so a person who lost access is refused rather than served from the cache.
REVALIDATE = "private, no-cache"


def _series(access: CaseAccess, series_id: UUID) -> Series:
    series = (
        Series.objects.select_related("study")
        .filter(study__case=access.case, uuid=series_id)
        .first()
    )
    if series is None:
        raise Http404
    return series


def _instance(access: CaseAccess, instance_id: UUID) -> Instance:
    instance = (
        Instance.objects.select_related("series")
        .filter(series__study__case=access.case, uuid=instance_id)
        .first()
    )
    if instance is None:
        raise Http404
    return instance


def _frame_index(instance: Instance, frame: int) -> int:
    if not 0 <= frame < instance.frames:
        raise Http404
    return frame


def _not_modified(request: HttpRequest, etag: str) -> bool:
    return etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]


def not_modified(etag: str) -> HttpResponseNotModified:
    """A 304 that repeats the validator and the caching rule: a browser updates its stored
    headers from it, and a 304 without them would fall to the no-store default."""
    response = HttpResponseNotModified()
    response["ETag"] = etag
    response["Cache-Control"] = REVALIDATE
    return response


def thumbnail_url(case, series: Series) -> str:
    url = reverse("series-thumbnail", kwargs={"case_id": case.uuid, "series_id": series.uuid})
    return f"{url}?n={series.instance_count}"


def viewer_config(access: CaseAccess) -> dict:
    """What the browser viewer (static/js/viewer/viewer.js) needs for one case: its series
    and where to read and write. Shared by the case viewer and the live meeting page."""
    case = access.case
    series = Series.objects.filter(study__case=case).select_related("study")
    case_url = reverse("case-detail", kwargs={"case_id": case.uuid})
    dates = shown_dates(access, case.studies.all())
    return {
        "caseUrl": case_url,
        "annotationsUrl": f"{case_url}annotations/",
        "keyImagesUrl": f"{case_url}key-images/",
        "text": viewer_text(),
        # Others' annotations arrive over the case socket, for those who may follow it.
        "caseSocket": case_socket_path(case) if access.can_see_opinions else None,
        "series": [
            {
                "uuid": str(s.uuid),
                "modality": s.modality,
                "description": s.description or s.study.description,
                "count": s.frame_count,
                "date": dates[s.study_id].label,  # shifted and labelled unless identity
                "thumbnail": thumbnail_url(case, s),
            }
            for s in series.order_by("study__created_at", "series_number", "created_at")
        ],
    }


def viewer_text() -> dict:
    """The words the browser viewer shows, translated; %(name)s placeholders are filled in
    by the page (static/js/text.js)."""
    return {
        "tools": {
            "wl": _("Window/level"),
            "pan": _("Pan"),
            "zoom": _("Zoom"),
            "scroll": _("Scroll"),
            "length": _("Length"),
            "angle": _("Angle"),
            "ellipse": _("Ellipse ROI"),
            "probe": _("HU probe"),
            "arrow": _("Arrow"),
        },
        "presets": {
            "soft": _("Soft tissue"),
            "lung": _("Lung"),
            "bone": _("Bone"),
            "brain": _("Brain"),
            "liver": _("Liver"),
            "mediastinum": _("Mediastinum"),
        },
        "toolTitle": _("%(name)s (%(key)s)"),
        "toolHelp": _("%(name)s tool"),
        "presetHelp": _("%(name)s window (%(center)s/%(width)s)"),
        # The rest of the shortcuts table (static/js/viewer/input.js binds the keys).
        "help": [
            ["↑ ↓ ← →", _("Previous / next slice")],
            [_("Page Up / Down"), _("10 slices back / on")],
            [_("Home / End"), _("First / last slice")],
            [_("Wheel"), _("Scroll slices")],
            [_("Ctrl + wheel, + / −"), _("Zoom")],
            [_("Shift + drag, middle drag"), _("Pan")],
            # Keyboard equivalents of the mouse (WCAG 2.1.1); they act with the image focused.
            [_("Shift + ← →"), _("Narrower / wider window")],
            [_("Shift + ↑ ↓"), _("Higher / lower level")],
            [_("Ctrl + ↑ ↓ ← →"), _("Pan")],
            [_("Enter or Space"), _("With a measuring tool: start placing, then place each point")],
            [_("↑ ↓ ← → while placing"), _("Move the point (Shift: 10 times as far)")],
            ["F", _("Fit to window")],
            ["0", _("1:1 pixels")],
            [_("R / Shift+R"), _("Rotate right / left")],
            ["H / V", _("Flip horizontally / vertically")],
            ["I", _("Invert")],
            ["X", _("Reset the view")],
            ["C", _("Cine on/off")],
            ["K", _("Mark key image")],
            [_("Delete"), _("Delete the focused annotation (yours)")],
            ["?", _("This help")],
            [_("Esc"), _("Close / cancel drawing")],
            [_("Tab"), _("To and from the image; shortcuts act only in the viewer")],
        ],
        "presetMenu": _("Presets…"),
        "filePreset": _("File: %(name)s %(center)s/%(width)s"),
        "filePresetName": _("preset %(n)s"),
        "autoPreset": _("Auto (from the image)"),
        "arrowLabel": _("Arrow label"),
        "arrowLabelOptional": _("Arrow label (optional)"),
        "notSaved": _("Not saved (HTTP %(status)s)"),
        "staleEdit": _("Someone changed this annotation first; showing their version"),
        "notDeleted": _("Not deleted (HTTP %(status)s)"),
        "keyCaption": _("Caption for this key image"),
        "keySaved": _("Key image saved"),
        "keyNotSaved": _("Key image not saved (HTTP %(status)s)"),
        "dropSeries": _("Drop a series here"),
        "loading": _("Loading…"),
        "slice": _("Slice %(slice)s / %(count)s"),
        "frame": _("frame %(frame)s/%(frames)s"),
        "location": _("Loc %(position)s"),
        "window": _("W %(width)s L %(center)s"),
        "inverted": _("inverted"),
        "zoomLevel": _("Zoom %(percent)s"),
        "burnedIn": _("May contain burned-in patient data"),
        "mean": _("Mean %(value)s"),
        "sd": _("SD %(value)s"),
        "minMax": _("Min %(min)s Max %(max)s"),
        "area": _("Area %(value)s"),
        # What a screen reader hears of an image pane (role=img) and of the slice slider.
        "pane": _(
            "%(modality)s, %(series)s, slice %(slice)s of %(count)s, W %(width)s L %(center)s"
        ),
        "paneSeries": _("series %(number)s"),
        "paneEmpty": _("Image pane %(n)s, empty"),
        "paneInverted": _("inverted"),
        "paneZoom": _("zoom %(percent)s"),
        "sliceOf": _("Slice %(slice)s of %(count)s"),
        "annotations": _("Annotations"),
        "yourAnnotation": _("Your %(kind)s %(value)s; Delete removes it"),
        "placing": _(
            "Placing %(tool)s: arrows move, Enter places point %(n)s of %(count)s, Esc cancels"
        ),
        "placed": _("%(tool)s placed"),
    }


@require_GET
def viewer_page(request: HttpRequest, case_id: UUID) -> HttpResponse:
    """The full-window viewer for a case's imaging."""
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    case = access.case
    config = viewer_config(access)
    audit(actor=request.user, action="imaging.viewer", case=case, target=case)
    return render(request, "imaging/viewer.html", {"case": case, "config": config})


@require_POST
def upload(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id, action="imaging.upload")
    access.require(access.can_upload, "imaging.upload")
    media_type, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    if media_type == "multipart/related":
        # What the page's uploader sends (see imaging.multipart for why not a form).
        files = _related_files(request, params.get("boundary", ""))
        if isinstance(files, JsonResponse):
            return files
    else:
        files = [(f.name, f) for f in request.FILES.getlist("files")]
    try:
        batch = ingest_many(case=access.case, by=request.user, files=files)
    finally:
        _close(files)
    results = [r.as_json() for r in batch.results]
    if not results:
        results = [
            {"name": "", "status": "refused", "ok": False, "reason": _("No file was chosen.")}
        ]
    status = 200 if any(r.ok for r in batch.results) else 400
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"stored": batch.stored, "results": results}, status=status)
    # Without JavaScript the form posts here: the case page says what happened.
    if batch.stored:
        messages.success(request, _("%(n)d image(s) stored.") % {"n": batch.stored})
    for result in results:
        if not result["ok"] and result["status"] != "skipped":
            name = result["name"]
            messages.error(request, f"{name}: {result['reason']}" if name else result["reason"])
    return redirect("case-detail", case_id=access.case.uuid)


def _related_files(request: HttpRequest, boundary: str):
    if not boundary_valid(boundary):
        return JsonResponse({"error": "The Content-Type has no valid boundary."}, status=400)
    reader = CappedReader(request, settings.STOW_MAX_BYTES)
    files = []
    try:
        for number, part in enumerate(
            read_parts(reader, boundary.encode(), max_part_bytes=settings.DICOM_MAX_FILE_BYTES),
            start=1,
        ):
            if number > settings.ZIP_MAX_ENTRIES:
                break
            # The page percent-encodes names (folders and non-ASCII survive the header).
            name = unquote(part.name) or f"file {number}"
            if part.data is None:  # over the size limit: read past, kept nowhere
                limit = settings.DICOM_MAX_FILE_BYTES // 2**20
                _close(files)
                return JsonResponse({"error": f"{name} is over the {limit} MB limit."}, status=413)
            # Spooled to disk past FILE_UPLOAD_MAX_MEMORY_SIZE, like a form upload: a
            # request of many files then costs one file's memory, not the whole request's.
            spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by _close)
                max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE
            )
            files.append((name, spool))
            spool.write(part.data)
            spool.seek(0)
    except MultipartError as exc:
        _close(files)
        return JsonResponse({"error": str(exc)}, status=400)
    return files


def _close(files) -> None:
    for _name, fileobj in files:
        fileobj.close()


@require_GET
def series_manifest(request: HttpRequest, case_id: UUID, series_id: UUID) -> JsonResponse:
    """Everything the viewer needs to lay out a series, in spatial order, in two queries."""
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    series = _series(access, series_id)
    instances = list(ordered_instances(series))
    audit(actor=request.user, action="imaging.view", case=access.case, target=series)
    slices = [
        {"instance": i, "frame": f} for i, inst in enumerate(instances) for f in range(inst.frames)
    ]
    shown = shown_dates(access, access.case.studies.all())[series.study.pk]
    return JsonResponse(
        {
            "series": str(series.uuid),
            "study": str(series.study.uuid),
            "modality": series.modality,
            "description": series.description,
            "series_number": series.series_number,
            "study_description": series.study.description,
            # The date this reader may see (real only for identity readers), labelled.
            "study_date": shown.date.isoformat() if shown.date else None,
            "study_date_shifted": shown.shifted,
            "study_date_label": shown.label,
            "pseudonym": access.case.pseudonym,
            "burned_in_risk": series.burned_in_risk,
            "instances": [
                {
                    "uuid": str(inst.uuid),
                    "frames": inst.frames,
                    "rows": inst.rows,
                    "columns": inst.columns,
                    "samples": inst.samples_per_pixel,
                    "photometric": inst.photometric,
                    "slope": inst.rescale_slope,
                    "intercept": inst.rescale_intercept,
                    "windows": inst.window_presets,
                    "spacing": inst.pixel_spacing,
                    "position": inst.image_position,
                    "orientation": inst.image_orientation,
                    "thickness": inst.slice_thickness,
                    "slice_position": inst.slice_position,
                    "number": inst.instance_number,
                    "burned_in": inst.burned_in,
                }
                for inst in instances
            ],
            "slices": slices,
        }
    )


@require_GET
def frame_raw(request: HttpRequest, case_id: UUID, instance_id: UUID, frame: int) -> HttpResponse:
    """One frame's stored values, little-endian, with its header as JSON in X-Frame-Header."""
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    instance = _instance(access, instance_id)
    index = _frame_index(instance, frame)
    audit_series_read(request=request, case=access.case, series=instance.series, what="frame")
    etag = f'"{instance.sha256[:20]}-{index}"'
    if _not_modified(request, etag):
        return not_modified(etag)
    values = pixels.frame(instance, index)
    response = HttpResponse(pixels.frame_bytes(values), content_type="application/octet-stream")
    response["X-Frame-Header"] = json.dumps(
        pixels.frame_header(instance, index, values), separators=(",", ":")
    )
    response["ETag"] = etag
    response["Cache-Control"] = REVALIDATE
    return response


@require_GET
def series_stream(request: HttpRequest, case_id: UUID, series_id: UUID) -> HttpResponse:
    """Every frame of a series in one streamed response, the slice asked for first.

    Records: u32 header length, JSON header, u32 body length, body (see pixels.frame_record).
    """
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    series = _series(access, series_id)
    instances = list(ordered_instances(series))
    slices = [(inst, f) for inst in instances for f in range(inst.frames)]
    try:
        first = int(request.GET.get("first", "0"))
    except ValueError:
        first = 0
    order = pixels.outward(first, len(slices))
    audit_series_read(
        request=request, case=access.case, series=series, what="stream", frames=len(slices)
    )

    def record(position: int) -> bytes:
        instance, index = slices[position]
        # The slice index in the series leads each record so the client can place it.
        return position.to_bytes(4, "little") + pixels.frame_record(instance, index)

    if isinstance(request, ASGIRequest):

        async def body():
            for position in order:
                yield await sync_to_async(record)(position)

        content = body()
    else:
        content = (record(position) for position in order)
    response = StreamingHttpResponse(content, content_type="application/octet-stream")
    response["Cache-Control"] = "private, no-store"
    response["X-Slice-Count"] = str(len(slices))
    return response


@require_GET
def frame_rendered(
    request: HttpRequest, case_id: UUID, instance_id: UUID, frame: int
) -> HttpResponse:
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    instance = _instance(access, instance_id)
    index = _frame_index(instance, frame)
    try:
        center = float(request.GET["wc"]) if "wc" in request.GET else None
        width = float(request.GET["ww"]) if "ww" in request.GET else None
        size = int(request.GET["size"]) if "size" in request.GET else None
    except ValueError:
        return JsonResponse({"error": "wc, ww and size must be numbers"}, status=400)
    if (width is not None and width <= 0) or (size is not None and not 16 <= size <= 4096):
        return JsonResponse({"error": "ww must be positive and size 16 to 4096"}, status=400)
    fmt = "jpeg" if request.GET.get("format") == "jpeg" else "png"
    audit_series_read(request=request, case=access.case, series=instance.series, what="rendered")
    etag = f'"{instance.sha256[:20]}-{index}-{center}-{width}-{size}-{fmt}"'
    if _not_modified(request, etag):
        return not_modified(etag)
    body = pixels.render(instance, index, center=center, width=width, size=size, fmt=fmt)
    response = HttpResponse(body, content_type=f"image/{fmt}")
    response["ETag"] = etag
    response["Cache-Control"] = REVALIDATE
    return response


@require_GET
def series_thumbnail(request: HttpRequest, case_id: UUID, series_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id, action="imaging.view")
    series = _series(access, series_id)
    if not thumbnail_is_current(series) and not refresh_thumbnail(series):
        raise Http404
    audit_series_read(request=request, case=access.case, series=series, what="thumbnail")
    # The thumbnail is redrawn (under a new file name) when the series grows.
    drawn = f"{series.thumbnail.name}:{series.thumbnail_count}".encode()
    etag = f'"thumb-{hashlib.sha256(drawn).hexdigest()[:20]}"'
    if _not_modified(request, etag):
        return not_modified(etag)
    try:
        with series.thumbnail.open("rb") as fh:
            body = fh.read()
    except FileNotFoundError:
        raise Http404 from None
    response = HttpResponse(body, content_type="image/png")
    response["ETag"] = etag
    response["Cache-Control"] = REVALIDATE
    return response
