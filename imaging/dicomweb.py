"""DICOMweb (PS3.18) for one case: QIDO-RS search, WADO-RS retrieve, STOW-RS store.

The root is ``/dicomweb/cases/<case uuid>/``. A client is either the browser (its
session; a write then needs the CSRF token) or a program holding a personal token
(``Authorization: Bearer <token>``; tokens are not sent by browsers on their own, so
no CSRF check applies). After that the case's rules apply exactly as on its pages:
outsiders get 404, storing needs the right to upload (403).

UIDs in URLs and answers are the stored ones: a de-identified upload gets new UIDs.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

import numpy as np
import pydicom
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_header_parameters
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from board.security import bearer_failed, bearer_refused, cool_off
from board.tokens import token_for_bearer
from cases.access import CaseAccess, get_case_for_user
from cases.audit import audit, client_ip
from cases.reads import audit_series_read
from imaging import dicom_json, pixels
from imaging.deid import deid_uid
from imaging.ingest import FileResult, Ingest, deid_context
from imaging.models import Instance, Series, Study
from imaging.multipart import CappedReader, MultipartError, Part, boundary_valid, read_parts
from imaging.thumbnails import ordered_instances

DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"
OCTET_STREAM = "application/octet-stream"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
# Rows in one search answer; a client asks for the rest with offset (PS3.18 8.3.4.4).
MAX_RESULTS = 1000
MAX_STARS = 2
READ_CHUNK = 256 * 1024


# --- authentication ---------------------------------------------------------------------------

_csrf = CsrfViewMiddleware(lambda request: None)


def _unauthorized(error: str = "") -> JsonResponse:
    response = JsonResponse(
        {"error": "Sign in, or send Authorization: Bearer <token> (see your account page)."},
        status=401,
    )
    challenge = 'Bearer realm="Consilium DICOMweb"'
    if error:
        challenge += f', error="{error}"'
    response["WWW-Authenticate"] = challenge
    return response


def _too_many_failures(request: HttpRequest) -> JsonResponse:
    # Too many refused tokens or passwords from this address: no token is even looked up.
    response = JsonResponse({"error": "Too many failed attempts; try again later."}, status=429)
    response["Retry-After"] = str(int(cool_off(request).total_seconds()))
    return response


def dicomweb(*methods: str) -> Callable:
    """Authenticate (session or bearer token), then open the case: the view gets its access.

    The view is exempt from the login redirect and from the CSRF middleware: a client
    that is not a browser needs a 401 it can act on, and a bearer token is never sent by
    a browser unasked. A session-authenticated write still passes the CSRF check here.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, case_id: uuid.UUID, **kwargs: Any) -> HttpResponse:
            authorization = request.headers.get("Authorization", "")
            api_token = None
            if authorization[:7].lower() == "bearer ":
                if bearer_refused(request):
                    return _too_many_failures(request)
                api_token = token_for_bearer(authorization, ip=client_ip(request))
                if api_token is None:
                    bearer_failed(request)
                    return _unauthorized("invalid_token")
                request.user = api_token.user
                request.bearer = True  # the reader is the token's user, not a session
            elif request.user.is_authenticated:
                refused = _csrf.process_view(request, None, (), {})
                if refused is not None:
                    return refused
            else:
                return _unauthorized()
            action = "dicomweb.store" if request.method == "POST" else "dicomweb.read"
            access = get_case_for_user(request.user, case_id, action=action)
            writes = request.method not in ("GET", "HEAD")
            if writes and api_token is not None and not api_token.may_upload:
                audit(
                    actor=request.user,
                    action=action,
                    case=access.case,
                    target=api_token,
                    allowed=False,
                    detail={"scope": api_token.scope},
                )
                return _error("This token may only read images; make one that may upload.", 403)
            response = view(request, access, **kwargs)
            # Patient data reached by a program: nothing is kept in shared or disk caches.
            response.setdefault("Cache-Control", "private, no-store")
            patch_vary_headers(response, ["Authorization", "Cookie"])
            return response

        return login_not_required(csrf_exempt(require_http_methods(list(methods))(wrapper)))

    return decorator


# --- addresses --------------------------------------------------------------------------------


class Urls:
    """Absolute DICOMweb addresses within one case, for RetrieveURL and BulkDataURI."""

    def __init__(self, request: HttpRequest, access: CaseAccess):
        studies = reverse("dicomweb-studies", kwargs={"case_id": access.case.uuid})
        self.root = request.build_absolute_uri(studies).removesuffix("studies")

    def study(self, study_uid: str) -> str:
        return f"{self.root}studies/{study_uid}"

    def series(self, study_uid: str, series_uid: str) -> str:
        return f"{self.study(study_uid)}/series/{series_uid}"

    def instance(self, instance: Instance) -> str:
        series = instance.series
        base = self.series(series.study.study_instance_uid, series.series_instance_uid)
        return f"{base}/instances/{instance.sop_instance_uid}"

    def frames(self, instance: Instance) -> str:
        numbers = ",".join(str(n) for n in range(1, instance.frames + 1))
        return f"{self.instance(instance)}/frames/{numbers}"


def _study(access: CaseAccess, study_uid: str) -> Study:
    study = Study.objects.filter(case=access.case, study_instance_uid=study_uid).first()
    if study is None:
        raise Http404
    return study


def _series(access: CaseAccess, study_uid: str, series_uid: str) -> Series:
    series = (
        Series.objects.select_related("study")
        .filter(
            study__case=access.case,
            study__study_instance_uid=study_uid,
            series_instance_uid=series_uid,
        )
        .first()
    )
    if series is None:
        raise Http404
    return series


def _instance(access: CaseAccess, study_uid: str, series_uid: str, instance_uid: str) -> Instance:
    instance = (
        Instance.objects.select_related("series__study")
        .filter(
            series__study__case=access.case,
            series__study__study_instance_uid=study_uid,
            series__series_instance_uid=series_uid,
            sop_instance_uid=instance_uid,
        )
        .first()
    )
    if instance is None:
        raise Http404
    return instance


def _json(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(data, separators=(",", ":")), content_type=DICOM_JSON, status=status
    )


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


# --- QIDO-RS: search ------------------------------------------------------------------------


class BadQuery(ValueError):
    pass


# Matching keys per level: keyword → (field, kind). Lower levels also match on the
# keys of the levels above (PS3.18 8.3.4.1: "relational" keys of the parents).
STUDY_KEYS = {
    "StudyInstanceUID": ("study_instance_uid", "uid"),
    "StudyDate": ("study_date", "date"),
    "StudyDescription": ("description", "text"),
    "AccessionNumber": ("accession_number", "text"),
    "PatientName": ("patient_name", "text"),
    "PatientID": ("patient_id", "text"),
}
SERIES_KEYS = {
    "SeriesInstanceUID": ("series_instance_uid", "uid"),
    "Modality": ("modality", "list"),
    "SeriesDescription": ("description", "text"),
    "SeriesNumber": ("series_number", "int"),
    "BodyPartExamined": ("body_part", "text"),
}
INSTANCE_KEYS = {
    "SOPInstanceUID": ("sop_instance_uid", "uid"),
    "SOPClassUID": ("sop_class_uid", "uid"),
    "InstanceNumber": ("instance_number", "int"),
}
LEVEL_KEYS = {
    "studies": [("", STUDY_KEYS)],
    "series": [("", SERIES_KEYS), ("study__", STUDY_KEYS)],
    "instances": [("", INSTANCE_KEYS), ("series__", SERIES_KEYS), ("series__study__", STUDY_KEYS)],
}


def _wildcard_regex(value: str) -> str:
    """DICOM wildcards (PS3.4 C.2.2.2.4): ``*`` any run of characters, ``?`` one character.

    At most two ``*``: each one more multiplies the backtracking a non-matching value
    can cost (three already take a second per row of 200 characters).
    """
    value = re.sub(r"\*+", "*", value)
    if value.count("*") > MAX_STARS:
        raise BadQuery(f"At most {MAX_STARS} '*' wildcards in one value.")
    parts = {"*": ".*", "?": "."}
    return "^" + "".join(parts.get(c, re.escape(c)) for c in value) + "$"


def _values(value: str) -> list[str]:
    """A list of values, as UIDs and codes may be sent: comma or backslash separated."""
    return [v.strip() for v in re.split(r"[,\\]", value) if v.strip()]


def _date(text: str, keyword: str) -> datetime.date:
    try:
        if not re.fullmatch(r"\d{8}", text):
            raise ValueError(text)
        return datetime.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise BadQuery(f"{keyword}: {text!r} is not a date (YYYYMMDD).") from None


def _condition(path: str, kind: str, keyword: str, value: str) -> Q:
    if kind in ("uid", "list"):
        return Q(**{f"{path}__in": _values(value)})
    if kind == "int":
        try:
            return Q(**{path: int(value)})
        except ValueError:
            raise BadQuery(f"{keyword} must be a whole number.") from None
    if kind == "date":
        low, dash, high = value.partition("-")
        if not dash:
            return Q(**{path: _date(low, keyword)})
        if not low and not high:
            raise BadQuery(f"{keyword}: a range needs at least one end (YYYYMMDD-YYYYMMDD).")
        condition = Q()
        if low:
            condition &= Q(**{f"{path}__gte": _date(low, keyword)})
        if high:
            condition &= Q(**{f"{path}__lte": _date(high, keyword)})
        return condition
    # Text (LO, SH, PN): case-insensitive, as clinicians type names and descriptions.
    if "*" in value or "?" in value:
        return Q(**{f"{path}__iregex": _wildcard_regex(value)})
    return Q(**{f"{path}__iexact": value})


def _matching(request: HttpRequest, level: str) -> Q:
    condition = Q()
    for key, values in request.GET.lists():
        keyword = dicom_json.keyword_of(key)
        if keyword is None:
            continue  # limit, offset, includefield, fuzzymatching and unknown keys
        for value in values:
            if value == "":
                continue  # universal matching: return the attribute, match anything
            if level == "studies" and keyword in ("ModalitiesInStudy", "Modality"):
                in_study = Series.objects.filter(study=OuterRef("pk"), modality__in=_values(value))
                condition &= Q(Exists(in_study))
                continue
            for prefix, keys in LEVEL_KEYS[level]:
                if keyword in keys:
                    field, kind = keys[keyword]
                    condition &= _condition(prefix + field, kind, keyword, value)
                    break
    return condition


def _page(request: HttpRequest) -> tuple[int, int, bool]:
    """(offset, rows to return, whether the server's cap cut the client's limit)."""
    try:
        offset = int(request.GET.get("offset") or 0)
        limit = int(request.GET["limit"]) if request.GET.get("limit") else None
    except ValueError:
        raise BadQuery("limit and offset must be whole numbers.") from None
    if offset < 0 or (limit is not None and limit < 0):
        raise BadQuery("limit and offset must not be negative.")
    if limit is None or limit > MAX_RESULTS:
        return offset, MAX_RESULTS, True
    return offset, limit, False


def _search(
    request: HttpRequest, access: CaseAccess, level: str, queryset: QuerySet
) -> HttpResponse:
    try:
        queryset = queryset.filter(_matching(request, level))
        offset, size, capped = _page(request)
    except BadQuery as exc:
        return _error(str(exc), 400)
    rows = list(queryset[offset : offset + size + 1])
    more = len(rows) > size
    rows = rows[:size]
    audit(
        actor=request.user,
        action="dicomweb.search",
        case=access.case,
        detail={"level": level, "results": len(rows)},
    )
    response = _json(RESULTS[level](rows, Urls(request, access)))
    if more and capped:
        host = request.get_host()
        response["Warning"] = f'299 {host} "There are additional results that can be requested"'
    return response


def _study_results(studies: list[Study], urls: Urls) -> list[dict]:
    # One query for the modalities of the whole page, not one per study.
    modalities: dict[int, set[str]] = {}
    pairs = (
        Series.objects.filter(study__in=[s.pk for s in studies])
        .order_by()  # the default ordering would join the DISTINCT
        .values_list("study_id", "modality")
        .distinct()
    )
    for study_id, modality in pairs:
        modalities.setdefault(study_id, set()).add(modality)
    return [
        dicom_json.study_result(
            s, modalities=modalities.get(s.pk, ()), retrieve_url=urls.study(s.study_instance_uid)
        )
        for s in studies
    ]


def _series_results(rows: list[Series], urls: Urls) -> list[dict]:
    return [
        dicom_json.series_result(
            s, retrieve_url=urls.series(s.study.study_instance_uid, s.series_instance_uid)
        )
        for s in rows
    ]


def _instance_results(rows: list[Instance], urls: Urls) -> list[dict]:
    return [dicom_json.instance_result(i, retrieve_url=urls.instance(i)) for i in rows]


RESULTS = {"studies": _study_results, "series": _series_results, "instances": _instance_results}


def _studies_queryset(access: CaseAccess) -> QuerySet[Study]:
    return (
        Study.objects.filter(case=access.case)
        .annotate(
            series_total=Count("series", distinct=True),
            instance_total=Sum("series__instance_count"),
        )
        .order_by(F("study_date").desc(nulls_last=True), "created_at", "pk")
    )


def _series_queryset(access: CaseAccess) -> QuerySet[Series]:
    return (
        Series.objects.filter(study__case=access.case)
        .select_related("study")
        .order_by(
            "study__created_at",
            "study_id",
            F("series_number").asc(nulls_last=True),
            "created_at",
            "pk",
        )
    )


def _instances_queryset(access: CaseAccess) -> QuerySet[Instance]:
    return (
        Instance.objects.filter(series__study__case=access.case)
        .select_related("series__study")
        .order_by(
            "series__study__created_at",
            "series__study_id",
            F("series__series_number").asc(nulls_last=True),
            "series_id",
            F("slice_position").asc(nulls_last=True),
            F("instance_number").asc(nulls_last=True),
            "created_at",
            "pk",
        )
    )


# --- WADO-RS: retrieve ------------------------------------------------------------------


def _media_ranges(request: HttpRequest) -> list[tuple[str, dict[str, str]]]:
    accept = request.headers.get("Accept", "").strip()
    return [parse_header_parameters(item) for item in accept.split(",") if item.strip()]


def _accepts(request: HttpRequest, media_type: str, transfer_syntax: str | None = None) -> bool:
    """Whether the Accept header allows a multipart/related answer of ``media_type`` parts."""
    ranges = _media_ranges(request)
    if not ranges:
        return True
    family = media_type.split("/")[0] + "/*"
    for kind, params in ranges:
        syntax = params.get("transfer-syntax", "*")
        syntax_ok = syntax == "*" or transfer_syntax is None or syntax == transfer_syntax
        if kind in ("*/*", media_type) and syntax_ok:
            return True
        part_type = params.get("type", "*/*").lower()
        if kind == "multipart/related" and syntax_ok and part_type in ("*/*", family, media_type):
            return True
    return False


def _not_acceptable(what: str) -> JsonResponse:
    return _error(f"This resource is available as {what} only.", 406)


def _streaming(request: HttpRequest, chunks: Iterator[bytes], content_type: str) -> HttpResponse:
    """A streamed body; under ASGI each chunk is produced in a worker thread (files, codecs)."""
    if isinstance(request, ASGIRequest):
        step = sync_to_async(next)

        async def body():
            while (chunk := await step(chunks, None)) is not None:
                yield chunk

        return StreamingHttpResponse(body(), content_type=content_type)
    return StreamingHttpResponse(chunks, content_type=content_type)


def _multipart(parts: Iterator[tuple[str, Iterator[bytes]]], boundary: str) -> Iterator[bytes]:
    for content_type, chunks in parts:
        yield f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode()
        yield from chunks
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def _file_chunks(instance: Instance) -> Iterator[bytes]:
    with instance.file.storage.open(instance.file.name, "rb") as fh:
        while chunk := fh.read(READ_CHUNK):
            yield chunk


def _retrieve_instances(
    request: HttpRequest, access: CaseAccess, instances: list[Instance], target
) -> HttpResponse:
    if not _accepts(request, DICOM):
        return _not_acceptable('multipart/related; type="application/dicom"')
    audit(
        actor=request.user,
        action="dicomweb.retrieve",
        case=access.case,
        target=target,
        detail={"what": "instances", "count": len(instances)},
    )
    boundary = uuid.uuid4().hex
    # Stored files go out as stored (their own transfer syntax), named in each part.
    parts = (
        (f"{DICOM}; transfer-syntax={i.transfer_syntax_uid}", _file_chunks(i)) for i in instances
    )
    return _streaming(
        request,
        _multipart(parts, boundary),
        f'multipart/related; type="{DICOM}"; boundary={boundary}',
    )


def _retrieve_metadata(
    request: HttpRequest, access: CaseAccess, instances: list[Instance], target
) -> HttpResponse:
    urls = Urls(request, access)
    audit(
        actor=request.user,
        action="dicomweb.retrieve",
        case=access.case,
        target=target,
        detail={"what": "metadata", "count": len(instances)},
    )
    answer = []
    for instance in instances:
        with instance.file.storage.open(instance.file.name, "rb") as fh:
            ds = pydicom.dcmread(fh, stop_before_pixels=True)
        answer.append(
            dicom_json.metadata(ds, instance=instance, pixel_data_uri=urls.frames(instance))
        )
    return _json(answer)


def _study_instances(study: Study) -> list[Instance]:
    return list(
        Instance.objects.filter(series__study=study)
        .select_related("series__study")
        .order_by(
            F("series__series_number").asc(nulls_last=True),
            "series__created_at",
            "series_id",
            F("slice_position").asc(nulls_last=True),
            F("instance_number").asc(nulls_last=True),
            "created_at",
            "pk",
        )
    )


def _series_instances(series: Series) -> list[Instance]:
    return list(ordered_instances(series).select_related("series__study"))


class TooManyFrames(Exception):
    pass


def _frame_numbers(instance: Instance, frame_list: str) -> list[int]:
    """1-based frame numbers (PS3.18 8.3.1.2.3) in the order asked, each once; any outside
    the instance → 404, more than ``settings.WADO_MAX_FRAMES`` → TooManyFrames.

    Without both bounds a short URL (``frames/1,1,1,…``) makes a response thousands of
    frames long; deduplicated, a list costs at most the instance itself.
    """
    numbers = list(dict.fromkeys(int(n) for n in frame_list.split(",")))
    if not all(1 <= n <= instance.frames for n in numbers):
        raise Http404
    if len(numbers) > settings.WADO_MAX_FRAMES:
        raise TooManyFrames
    return numbers


def _too_many_frames() -> JsonResponse:
    return _error(
        f"At most {settings.WADO_MAX_FRAMES} frames a request; ask for the rest in another.",
        400,
    )


def _frame_payload(instance: Instance, index: int) -> bytes:
    """One frame uncompressed, little-endian, in the stored BitsAllocated."""
    values = pixels.frame(instance, index)
    if instance.bits_allocated == 1:
        # Each frame packed on its own, least significant bit first (PS3.5 8.1.1).
        return np.packbits(values.astype(bool).ravel(), bitorder="little").tobytes()
    if instance.bits_allocated == 8 and values.dtype.itemsize > 1:
        # The pixel API widens 8-bit grey to 16 bits; the wire keeps the stored width.
        values = values.astype(np.int8 if instance.pixel_representation else np.uint8)
    return pixels.frame_bytes(values)


def _render_format(request: HttpRequest) -> str | None:
    """jpeg or png by the Accept header (PS3.18 default: JPEG), None if neither is accepted."""
    ranges = _media_ranges(request)
    if not ranges:
        return "jpeg"
    for kind, _params in ranges:
        if kind in ("image/jpeg", "image/*", "*/*"):
            return "jpeg"
        if kind == "image/png":
            return "png"
    return None


def _rendered(request: HttpRequest, access: CaseAccess, instance: Instance, index: int):
    fmt = _render_format(request)
    if fmt is None:
        return _not_acceptable("image/jpeg or image/png")
    center = width = size = None
    try:
        if request.GET.get("window"):
            # window=center,width[,function] (PS3.18 8.3.5.1.4); only linear is offered.
            center_text, width_text, *_function = request.GET["window"].split(",")
            center, width = float(center_text), float(width_text)
        if request.GET.get("viewport"):
            sizes = [int(v) for v in request.GET["viewport"].split(",")[:2] if v]
            size = max(sizes) if sizes else None
    except ValueError:
        return _error("window is center,width and viewport is width,height (numbers).", 400)
    if (width is not None and width <= 0) or (size is not None and not 16 <= size <= 4096):
        return _error("The window width must be positive and the viewport 16 to 4096.", 400)
    audit_series_read(request=request, case=access.case, series=instance.series, what="rendered")
    body = pixels.render(instance, index, center=center, width=width, size=size, fmt=fmt)
    return HttpResponse(body, content_type=f"image/{fmt}")


# --- STOW-RS: store ----------------------------------------------------------------------


def _uids(data: bytes) -> tuple[str, str, str]:
    """(SOP class, SOP instance, study) as uploaded, or empty strings if unreadable."""
    try:
        ds = pydicom.dcmread(
            io.BytesIO(data),
            stop_before_pixels=True,
            specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"],
        )
        return tuple(
            str(ds.get(k, "") or "") for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID")
        )
    except Exception:  # anything a hostile part makes pydicom raise: ingest says why
        return "", "", ""


def _in_study(access: CaseAccess, uploaded_study: str, study_uid: str) -> bool:
    """Whether an uploaded study UID is the one in the URL, before or after de-identification."""
    if uploaded_study == study_uid:
        return True
    case = access.case
    return (
        case.board.deidentify_imaging and deid_uid(uploaded_study, deid_context(case)) == study_uid
    )


def _stow_parts(request: HttpRequest) -> Iterator[Part] | HttpResponse:
    """The parts of a STOW-RS request, or the answer refusing the request as a whole."""
    media_type, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    if media_type != "multipart/related" or params.get("type", DICOM).lower() != DICOM:
        return _error('Send multipart/related; type="application/dicom".', 415)
    boundary = params.get("boundary", "")
    if not boundary_valid(boundary):
        return _error("The Content-Type has no valid boundary.", 400)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.STOW_MAX_BYTES:
        return _error(f"The request is over the {settings.STOW_MAX_BYTES // 2**20} MB limit.", 413)
    return read_parts(
        CappedReader(request, settings.STOW_MAX_BYTES),
        boundary.encode(),
        max_part_bytes=settings.DICOM_MAX_FILE_BYTES,
    )


def _failure(reason: int, comment: str, sent: tuple[str, str] = ("", "")) -> dict:
    """A FailedSOPSequence item, naming the SOP Class and Instance UIDs as sent if known."""
    sop_class, sop_instance = sent
    return dicom_json.failed_sop(
        sop_class_uid=sop_class, sop_instance_uid=sop_instance, reason=reason, comment=comment
    )


def _store_part(
    access: CaseAccess, ingest: Ingest, part: Part, number: int, study_uid: str | None
) -> FileResult | dict:
    """Queue one part for the upload pipeline: its result, or a FailedSOPSequence item."""
    if part.data is None:
        limit = settings.DICOM_MAX_FILE_BYTES // 2**20
        return _failure(dicom_json.FAILURE_OUT_OF_RESOURCES, f"Over the {limit} MB file limit.")
    part_type = parse_header_parameters(part.content_type)[0] if part.content_type else DICOM
    if part_type != DICOM:
        return _failure(
            dicom_json.FAILURE_CANNOT_UNDERSTAND,
            f"A {part_type[:40]} part, not DICOM.",
            _uids(part.data)[:2],
        )
    if study_uid:
        uploaded = _uids(part.data)
        if uploaded[2] and not _in_study(access, uploaded[2], study_uid):
            comment = "Not part of the study in the URL."
            return _failure(dicom_json.FAILURE_CANNOT_UNDERSTAND, comment, uploaded[:2])
    return ingest.add(f"part {number}", part.data)


def _failed(result: FileResult) -> dict:
    reason = (
        dicom_json.FAILURE_SOP_CLASS_NOT_SUPPORTED
        if result.status == "skipped"
        else dicom_json.FAILURE_CANNOT_UNDERSTAND
    )
    return _failure(reason, result.reason, result.sent)


def _store(request: HttpRequest, access: CaseAccess, study_uid: str | None) -> HttpResponse:
    access.require(access.can_upload, "dicomweb.store")
    parts = _stow_parts(request)
    if isinstance(parts, HttpResponse):
        return parts
    outcomes: list[FileResult | dict] = []
    seen = 0
    with Ingest(case=access.case, by=request.user) as ingest:
        try:
            for seen, part in enumerate(parts, start=1):
                if seen > settings.ZIP_MAX_ENTRIES:
                    comment = f"Over {settings.ZIP_MAX_ENTRIES} parts; the rest was not read."
                    outcomes.append(_failure(dicom_json.FAILURE_OUT_OF_RESOURCES, comment))
                    break
                outcomes.append(_store_part(access, ingest, part, seen, study_uid))
        except MultipartError as exc:
            if seen == 0:
                return _error(str(exc), 400)
            outcomes.append(_failure(dicom_json.FAILURE_CANNOT_UNDERSTAND, str(exc)))
        if seen == 0:
            return _error("The request holds no part.", 400)
        ingest.close()  # every result is final from here

    results = [o for o in outcomes if isinstance(o, FileResult) and o.ok]
    failed = [
        o if isinstance(o, dict) else _failed(o)
        for o in outcomes
        if isinstance(o, dict) or not o.ok
    ]
    counts = {
        "stored": sum(r.status == "stored" for r in results),
        "duplicate": sum(r.status == "duplicate" for r in results),
        "refused": len(failed),
    }
    audit(
        actor=request.user,
        action="imaging.upload",
        case=access.case,
        detail={"via": "stow-rs", **counts},
    )
    return _store_answer(request, access, results, failed)


def _store_answer(
    request: HttpRequest, access: CaseAccess, results: list[FileResult], failed: list[dict]
) -> HttpResponse:
    urls = Urls(request, access)
    # One query for what the answer names, whatever the number of instances.
    stored = Instance.objects.filter(pk__in={r.instance.pk for r in results})
    by_pk = {i.pk: i for i in stored.select_related("series__study")}
    instances = [by_pk[r.instance.pk] for r in results if r.instance.pk in by_pk]
    referenced = [
        dicom_json.referenced_sop(
            sop_class_uid=i.sop_class_uid,
            sop_instance_uid=i.sop_instance_uid,
            retrieve_url=urls.instance(i),
        )
        for i in instances
    ]
    studies = {i.series.study.study_instance_uid for i in instances}
    retrieve_url = urls.study(studies.pop()) if len(studies) == 1 else None
    body = dicom_json.store_response(
        referenced=referenced, failed=failed, retrieve_url=retrieve_url
    )
    # PS3.18 10.5.3: 200 all stored, 202 some stored, 409 none.
    status = 200 if not failed else 202 if referenced else 409
    return _json(body, status=status)


# --- the resources ------------------------------------------------------------------------


@dicomweb("GET", "POST")
def studies_resource(request: HttpRequest, access: CaseAccess) -> HttpResponse:
    if request.method == "POST":
        return _store(request, access, None)
    return _search(request, access, "studies", _studies_queryset(access))


@dicomweb("GET", "POST")
def study_resource(request: HttpRequest, access: CaseAccess, study_uid: str) -> HttpResponse:
    if request.method == "POST":
        return _store(request, access, study_uid)
    found = _study(access, study_uid)
    return _retrieve_instances(request, access, _study_instances(found), found)


@dicomweb("GET")
def study_metadata(request: HttpRequest, access: CaseAccess, study_uid: str) -> HttpResponse:
    found = _study(access, study_uid)
    return _retrieve_metadata(request, access, _study_instances(found), found)


@dicomweb("GET")
def all_series(request: HttpRequest, access: CaseAccess) -> HttpResponse:
    return _search(request, access, "series", _series_queryset(access))


@dicomweb("GET")
def study_series(request: HttpRequest, access: CaseAccess, study_uid: str) -> HttpResponse:
    found = _study(access, study_uid)
    return _search(request, access, "series", _series_queryset(access).filter(study=found))


@dicomweb("GET")
def all_instances(request: HttpRequest, access: CaseAccess) -> HttpResponse:
    return _search(request, access, "instances", _instances_queryset(access))


@dicomweb("GET")
def study_instances(request: HttpRequest, access: CaseAccess, study_uid: str) -> HttpResponse:
    found = _study(access, study_uid)
    queryset = _instances_queryset(access).filter(series__study=found)
    return _search(request, access, "instances", queryset)


@dicomweb("GET")
def series_instances(
    request: HttpRequest, access: CaseAccess, study_uid: str, series_uid: str
) -> HttpResponse:
    found = _series(access, study_uid, series_uid)
    queryset = _instances_queryset(access).filter(series=found)
    return _search(request, access, "instances", queryset)


@dicomweb("GET")
def series_retrieve(
    request: HttpRequest, access: CaseAccess, study_uid: str, series_uid: str
) -> HttpResponse:
    found = _series(access, study_uid, series_uid)
    return _retrieve_instances(request, access, _series_instances(found), found)


@dicomweb("GET")
def series_metadata(
    request: HttpRequest, access: CaseAccess, study_uid: str, series_uid: str
) -> HttpResponse:
    found = _series(access, study_uid, series_uid)
    return _retrieve_metadata(request, access, _series_instances(found), found)


@dicomweb("GET")
def instance_retrieve(
    request: HttpRequest, access: CaseAccess, study_uid: str, series_uid: str, instance_uid: str
) -> HttpResponse:
    found = _instance(access, study_uid, series_uid, instance_uid)
    return _retrieve_instances(request, access, [found], found)


@dicomweb("GET")
def instance_metadata(
    request: HttpRequest, access: CaseAccess, study_uid: str, series_uid: str, instance_uid: str
) -> HttpResponse:
    found = _instance(access, study_uid, series_uid, instance_uid)
    return _retrieve_metadata(request, access, [found], found)


@dicomweb("GET")
def instance_frames(
    request: HttpRequest,
    access: CaseAccess,
    study_uid: str,
    series_uid: str,
    instance_uid: str,
    frames: str,
) -> HttpResponse:
    found = _instance(access, study_uid, series_uid, instance_uid)
    try:
        numbers = _frame_numbers(found, frames)
    except TooManyFrames:
        return _too_many_frames()
    if not _accepts(request, OCTET_STREAM, EXPLICIT_VR_LITTLE_ENDIAN):
        return _not_acceptable('multipart/related; type="application/octet-stream"')
    audit_series_read(
        request=request, case=access.case, series=found.series, what="frames", frames=len(numbers)
    )
    boundary = uuid.uuid4().hex
    part_type = f"{OCTET_STREAM}; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}"
    parts = ((part_type, iter((_frame_payload(found, n - 1),))) for n in numbers)
    return _streaming(
        request,
        _multipart(parts, boundary),
        f'multipart/related; type="{OCTET_STREAM}"; boundary={boundary}',
    )


@dicomweb("GET")
def instance_rendered(
    request: HttpRequest, access: CaseAccess, study_uid: str, series_uid: str, instance_uid: str
) -> HttpResponse:
    found = _instance(access, study_uid, series_uid, instance_uid)
    return _rendered(request, access, found, 0)


@dicomweb("GET")
def frames_rendered(
    request: HttpRequest,
    access: CaseAccess,
    study_uid: str,
    series_uid: str,
    instance_uid: str,
    frames: str,
) -> HttpResponse:
    found = _instance(access, study_uid, series_uid, instance_uid)
    try:
        numbers = _frame_numbers(found, frames)
    except TooManyFrames:
        return _too_many_frames()
    if len(numbers) != 1:
        return _error("A rendered image is one frame: ask for one frame number.", 400)
    return _rendered(request, access, found, numbers[0] - 1)
