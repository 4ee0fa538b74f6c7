"""The FHIR export of a case, for the referrer: from the case page (session) or by API token.

GET /cases/<uuid>/fhir/ answers the Bundle (application/fhir+json) of the latest signed
version whose referrer copy is ready. A personal API token (``Authorization: Bearer``, any
scope: the token's owner reads through it only what their session would) serves programs.
"""

from __future__ import annotations

import hashlib
import logging
from uuid import UUID

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from board.security import bearer_failed, bearer_refused, cool_off
from board.tokens import token_for_bearer
from cases.access import CaseAccess, get_case_for_user
from cases.audit import audit, client_ip
from cases.models import ReportAudience
from decisions.fhir import FHIR_JSON, case_bundle
from decisions.models import Consensus, Report

logger = logging.getLogger(__name__)
ACTION = "report.fhir"


def _unauthorized(error: str = "") -> JsonResponse:
    response = JsonResponse(
        {"error": "Sign in, or send Authorization: Bearer <token> (see your account page)."},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="Consilium FHIR"' + (
        f', error="{error}"' if error else ""
    )
    return response


def _ready_referrer_copy(access: CaseAccess) -> Report | None:
    """The referrer copy of the latest signed version, if it is ready (never an older
    version's: a superseded recommendation is not exported in place of the current one)."""
    latest = (
        Consensus.objects.filter(case=access.case, signed_at__isnull=False)
        .order_by("-version")
        .first()
    )
    if latest is None:
        return None
    return (
        Report.objects.filter(
            consensus=latest, audience=ReportAudience.REFERRER, status=Report.Status.READY
        )
        .select_related("consensus__case__board", "consensus__signed_by")
        .first()
    )


def _readable_report(request: HttpRequest, case_id: UUID) -> Report:
    """The referrer copy this reader may export; 404 to outsiders, 403 to other readers."""
    access = get_case_for_user(request.user, case_id, action=ACTION)
    # Exactly the readers of the referrer copy: the referring doctor who submitted the case.
    access.require(access.report_audience == ReportAudience.REFERRER, ACTION)
    report = _ready_referrer_copy(access)
    if report is None:
        audit(actor=request.user, action=ACTION, case=access.case, allowed=False,
              detail={"reason": "no signed report"})  # fmt: skip
        raise Http404
    return report


@login_not_required  # a program authenticates with its token; a browser with its session
@require_GET
def case_fhir_export(request: HttpRequest, case_id: UUID) -> HttpResponse:
    authorization = request.headers.get("Authorization", "")
    # A program gets its refusals as JSON (the HTML error pages assume a browser session).
    program = authorization[:7].lower() == "bearer "
    if program:
        if bearer_refused(request):
            response = JsonResponse(
                {"error": "Too many failed attempts; try again later."}, status=429
            )
            response["Retry-After"] = str(int(cool_off(request).total_seconds()))
            return response
        api_token = token_for_bearer(authorization, ip=client_ip(request))
        if api_token is None:
            bearer_failed(request)
            return _unauthorized("invalid_token")
        request.user = api_token.user
    elif not request.user.is_authenticated:
        return _unauthorized()
    try:
        report = _readable_report(request, case_id)
    except Http404:
        if not program:
            raise
        return JsonResponse({"error": "Not found."}, status=404)
    except PermissionDenied:
        if not program:
            raise
        return JsonResponse({"error": "Only the referring doctor's copy is exported."}, status=403)
    access_case = report.consensus.case
    with report.file.open("rb") as handle:
        pdf = handle.read()
    if hashlib.sha256(pdf).hexdigest() != report.sha256:
        logger.error("report %s no longer matches its SHA-256", report.uuid)
        audit(actor=request.user, action=ACTION, case=access_case, target=report,
              allowed=False, detail={"reason": "integrity"})  # fmt: skip
        return JsonResponse({"error": "The stored report does not match its record."}, status=500)
    bundle = case_bundle(consensus=report.consensus, report=report, pdf=pdf)
    audit(
        actor=request.user,
        action=ACTION,
        case=access_case,
        target=report,
        detail={
            "version": report.consensus.version,
            "via": "token" if program else "session",
        },
    )
    response = HttpResponse(
        bundle.model_dump_json(by_alias=True, exclude_none=True), content_type=FHIR_JSON
    )
    name = f"consilium-{access_case.pseudonym}-v{report.consensus.version}.fhir.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    patch_vary_headers(response, ["Authorization", "Cookie"])
    return response
