"""Requests to the submitter (issue #16): the board asks, the submitter answers, the asker
closes. Views are thin: the access object decides (cases.access), the services write."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases import services
from cases.access import CaseAccess, get_case_for_user
from cases.attachments import AttachmentRejected
from cases.audit import audit
from cases.forms import RequestAnswerForm, SubmitterRequestForm
from cases.models import SubmitterRequest


def requests_context(access: CaseAccess) -> dict:
    """What templates/cases/_requests.html reads; the case page includes it too."""
    if not access.can_see_requests:
        return {"requests": None, "awaiting_information": False}
    requests = list(
        access.case.requests.select_related("asked_by", "closed_by").prefetch_related(
            "replies__author", "replies__attachments"
        )
    )
    for asked in requests:
        # One answer form per request still taking answers; its ids are the request's own.
        asked.answer_form = (
            RequestAnswerForm(auto_id=f"id_answer_{asked.uuid.hex}_%s")
            if access.can_answer_requests and asked.is_pending
            else None
        )
        asked.can_settle = access.can_settle_request(asked)
    return {
        "requests": requests,
        "awaiting_information": any(r.status == SubmitterRequest.Status.OPEN for r in requests),
        "request_form": (
            SubmitterRequestForm(auto_id="id_request_%s") if access.can_ask_submitter else None
        ),
    }


def _requests_url(access: CaseAccess) -> str:
    return reverse("case-detail", kwargs={"case_id": access.case.uuid}) + "#requests"


def _request_for(access: CaseAccess, request_id: UUID, action: str) -> SubmitterRequest:
    found = access.case.requests.filter(uuid=request_id).first()
    if found is None:
        audit(actor=access.user, action=action, case=access.case, allowed=False)
        raise Http404
    return found


@require_GET
def request_list(request: HttpRequest, case_id: UUID) -> HttpResponse:
    """The case's requests as HTML, for the live case page (same rules as the page)."""
    access = get_case_for_user(request.user, case_id, action="request.view")
    access.require(access.can_see_requests, "request.view")
    audit(actor=request.user, action="request.view", case=access.case, target=access.case)
    context = {"case": access.case, "access": access, **requests_context(access)}
    return render(request, "cases/_requests.html", context)


@require_POST
def request_create(request: HttpRequest, case_id: UUID) -> HttpResponse:
    access = get_case_for_user(request.user, case_id, action="request.open")
    access.require(access.can_ask_submitter, "request.open")
    form = SubmitterRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The request is empty or too long."))
        return redirect(_requests_url(access))
    try:
        services.request_open(access=access, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("The request was sent; the submitter is told by email (case pseudonym only)."),
        )
    return redirect(_requests_url(access))


@require_POST
def request_answer(request: HttpRequest, case_id: UUID, request_id: UUID) -> HttpResponse:
    """Text and files in one post: the reports upload form (templates/cases/_upload_form.html)
    with an answer field. Answers in JSON to the upload script, else redirects with messages."""
    access = get_case_for_user(request.user, case_id, action="request.answer")
    access.require(access.can_answer_requests, "request.answer")
    asked = _request_for(access, request_id, "request.answer")
    form = RequestAnswerForm(request.POST)
    files = request.FILES.getlist("files")
    results: list[dict] = []
    if not form.is_valid():
        results = [{"name": "", "ok": False, "reason": _("The answer is too long.")}]
    else:
        try:
            _reply, refused = services.request_answer(
                access=access,
                request=asked,
                text=form.cleaned_data["text"],
                files=files,
                document_type=request.POST.get("document_type") or "other",
            )
        except (ValidationError, AttachmentRejected) as exc:
            reasons = [exc.reason] if isinstance(exc, AttachmentRejected) else exc.messages
            results = [{"name": "", "ok": False, "reason": reason} for reason in reasons]
        else:
            refused_names = {name for name, _reason in refused}
            results = [{"name": name, "ok": False, "reason": reason} for name, reason in refused]
            results += [{"name": f.name, "ok": True} for f in files if f.name not in refused_names]
            if form.cleaned_data["text"].strip():
                results.append({"name": _("Your answer"), "ok": True})
            messages.success(request, _("Your answer was sent to the board."))
    ok = any(r["ok"] for r in results)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"results": results}, status=200 if ok else 400)
    for result in results:
        if not result["ok"]:
            name = result["name"]
            messages.error(request, f"{name}: {result['reason']}" if name else result["reason"])
    return redirect(_requests_url(access))


def _settle(request: HttpRequest, case_id: UUID, request_id: UUID, *, close: bool):
    action = "request.close" if close else "request.withdraw"
    access = get_case_for_user(request.user, case_id, action=action)
    access.require(access.can_see_requests, action)
    asked = _request_for(access, request_id, action)
    access.require(access.can_settle_request(asked), action)
    if close:
        services.request_close(access=access, request=asked)
        messages.success(request, _("The request is closed."))
    else:
        services.request_withdraw(access=access, request=asked)
        messages.success(request, _("The request is withdrawn."))
    return redirect(_requests_url(access))


@require_POST
def request_close(request: HttpRequest, case_id: UUID, request_id: UUID) -> HttpResponse:
    return _settle(request, case_id, request_id, close=True)


@require_POST
def request_withdraw(request: HttpRequest, case_id: UUID, request_id: UUID) -> HttpResponse:
    return _settle(request, case_id, request_id, close=False)
